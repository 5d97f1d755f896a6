//! Hand-made JWTs for tests, of this crate and of the servers built on it: a compact JWS over
//! any header and claims with any signature (to forge what verification must refuse), and the
//! decoded parts of a compact JWT. Nothing here verifies anything; the helpers panic on bad
//! input, as test code may.

use serde_json::Value;

use crate::keys::SigningKey;
use crate::util::{b64url, b64url_decode};

/// A compact JWS over `header` and `claims` with the signature `sign` makes of the signing
/// input (whatever `alg` the header claims).
pub fn compact_jws(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64url(serde_json::to_vec(header).expect("a json header")),
        b64url(serde_json::to_vec(claims).expect("json claims"))
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64url(signature))
}

/// A compact JWS signed with `key` (whatever `alg` the header claims).
pub fn signed(key: &SigningKey, header: &Value, claims: &Value) -> String {
    compact_jws(header, claims, |m| key.sign(m).expect("signing"))
}

/// The decoded header and claims of a compact JWT.
pub fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let mut decode = || {
        let bytes = b64url_decode(it.next().expect("a jwt part")).expect("base64url");
        serde_json::from_slice(&bytes).expect("a json part")
    };
    (decode(), decode())
}
