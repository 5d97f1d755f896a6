//! The key ring: first key, files and modes, rotation, retirement, reload, corruption.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use ecohub_jose::{
    JwtError, KeyError, KeyRing, KeySource, KeyState, SigningAlgorithm, TokenError, jwk_thumbprint,
    verify_access_token,
};

use crate::access_tokens::{issue, new_token};
use crate::support::*;

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn opening_an_empty_directory_creates_one_es256_key_in_private_files() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::open(dir.path(), t0()).unwrap();
    let keys_dir = dir.path().join("keys");
    assert_eq!(ring.dir(), keys_dir);
    assert_eq!(mode(&keys_dir), 0o700);

    let key = ring.signing_key(t0()).unwrap();
    assert_eq!(key.algorithm(), SigningAlgorithm::Es256);
    assert_eq!(key.kid(), jwk_thumbprint(key.public_jwk()).unwrap());
    let key_file = keys_dir.join(format!("{}.json", key.kid()));
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(&keys_dir.join("keyring.json")), 0o600);
    let stored: serde_json::Value = serde_json::from_slice(&fs::read(&key_file).unwrap()).unwrap();
    assert_eq!(stored["version"], 1);
    assert_eq!(stored["alg"], "ES256");

    // Reopening loads the same key rather than creating another.
    let again = KeyRing::open(dir.path(), at(3600)).unwrap();
    assert_eq!(again.signing_key(at(3600)).unwrap().kid(), key.kid());
    assert_eq!(again.keys(at(3600)).len(), 1);
}

#[test]
fn jwks_publishes_public_members_only() {
    for alg in SigningAlgorithm::ALL {
        let (_dir, ring) = ring(alg);
        let jwks = serde_json::to_value(ring.jwks(t0())).unwrap();
        let published = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["alg"] == alg.as_str())
            .unwrap()
            .as_object()
            .unwrap()
            .clone();
        let mut members: Vec<&str> = published.keys().map(String::as_str).collect();
        members.sort_unstable();
        let expected: &[&str] = match alg {
            SigningAlgorithm::Es256 => &["alg", "crv", "kid", "kty", "use", "x", "y"],
            SigningAlgorithm::Ps256 => &["alg", "e", "kid", "kty", "n", "use"],
            SigningAlgorithm::EdDsa => &["alg", "crv", "kid", "kty", "use", "x"],
        };
        assert_eq!(members, expected, "{alg}");
        assert_eq!(published["use"], "sig");
        assert_eq!(
            published["kid"],
            ring.signing_key(t0()).unwrap().kid(),
            "{alg}"
        );
    }
}

#[test]
fn rotation_publishes_the_new_key_before_it_signs() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let old = ring.signing_key(t0()).unwrap();
    let new = ring
        .rotate(SigningAlgorithm::EdDsa, at(100), secs(60), LIFETIME)
        .unwrap();
    assert_eq!(new.state, KeyState::Pending);
    assert_eq!(new.activates_at, at(160));

    // Published at once...
    let kids: Vec<_> = ring
        .jwks(at(100))
        .keys
        .into_iter()
        .map(|k| k.kid.unwrap())
        .collect();
    assert!(kids.contains(&new.kid) && kids.contains(&old.kid().to_owned()));
    // ...but the old key signs until the new one activates.
    assert_eq!(ring.signing_key(at(159)).unwrap().kid(), old.kid());
    assert_eq!(ring.signing_key(at(160)).unwrap().kid(), new.kid);

    let states = |t| {
        ring.keys(t)
            .into_iter()
            .map(|k| (k.kid, k.state))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        states(at(100)),
        [
            (old.kid().to_owned(), KeyState::Active),
            (new.kid.clone(), KeyState::Pending)
        ]
    );
    assert_eq!(
        states(at(160)),
        [
            (old.kid().to_owned(), KeyState::VerifyOnly),
            (new.kid.clone(), KeyState::Active)
        ]
    );
}

#[test]
fn the_old_key_verifies_until_retirement_then_is_pruned() {
    let (dir, ring) = ring(SigningAlgorithm::Es256);
    let old_kid = ring.signing_key(t0()).unwrap().kid().to_owned();
    // A token signed by the old key just before the rotation takes effect.
    let rotated = ring
        .rotate(SigningAlgorithm::Es256, t0(), secs(30), LIFETIME)
        .unwrap();
    let token = issue(&ring, new_token(), at(29));
    assert_eq!(crate::support::parts(&token.token).0["kid"], old_kid);

    // retires_at = activation (t0 + 30) + lifetime (300) + skew (10).
    let retires_at = at(340);
    let info = ring
        .keys(t0())
        .into_iter()
        .find(|k| k.kid == old_kid)
        .unwrap();
    assert_eq!(info.retires_at, Some(retires_at));
    assert_eq!(
        verify_access_token(&token.token, &ring, ISSUER, AUDIENCE, at(338)).map(|c| c.jti),
        Ok(token.claims.jti.clone())
    );
    assert!(ring.verifying_key(&old_kid, at(339)).is_some());

    // Retired: gone from the JWKS and no longer trusted, even before the file is pruned.
    assert!(ring.verifying_key(&old_kid, retires_at).is_none());
    assert!(
        ring.jwks(retires_at)
            .keys
            .iter()
            .all(|k| k.kid.as_deref() != Some(old_kid.as_str()))
    );
    let old_file = dir.path().join("keys").join(format!("{old_kid}.json"));
    assert!(old_file.exists());
    assert_eq!(
        ring.prune(retires_at).unwrap(),
        std::slice::from_ref(&old_kid)
    );
    assert!(!old_file.exists());
    assert_eq!(ring.keys(retires_at).len(), 1);
    assert_eq!(ring.signing_key(retires_at).unwrap().kid(), rotated.kid);
    // A token signed with the pruned key now has an unknown kid.
    let late = verify_access_token(&token.token, &ring, ISSUER, AUDIENCE, retires_at);
    assert_eq!(
        late,
        Err(TokenError::Invalid(JwtError::UnknownKeyId(old_kid)))
    );
}

#[test]
fn rotation_prunes_keys_retired_by_an_earlier_rotation() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let first = ring.signing_key(t0()).unwrap().kid().to_owned();
    ring.rotate(SigningAlgorithm::Es256, t0(), Duration::ZERO, LIFETIME)
        .unwrap();
    // The first key retires at t0 + 310; a rotation after that prunes it.
    ring.rotate(SigningAlgorithm::Ps256, at(400), Duration::ZERO, LIFETIME)
        .unwrap();
    let kids: Vec<_> = ring.keys(at(400)).into_iter().map(|k| k.kid).collect();
    assert_eq!(kids.len(), 2);
    assert!(!kids.contains(&first));
}

#[test]
fn reload_picks_up_a_rotation_made_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let writer = KeyRing::open(dir.path(), t0()).unwrap();
    let reader = KeyRing::open(dir.path(), t0()).unwrap();
    let before = reader.signing_key(t0()).unwrap().kid().to_owned();
    assert_eq!(writer.signing_key(t0()).unwrap().kid(), before);

    let new = writer
        .rotate(SigningAlgorithm::EdDsa, t0(), secs(60), LIFETIME)
        .unwrap();
    // Until it reloads, the reader knows nothing of the new key.
    assert!(reader.verifying_key(&new.kid, t0()).is_none());
    reader.reload().unwrap();
    assert!(reader.verifying_key(&new.kid, t0()).is_some());
    assert_eq!(reader.signing_key(at(59)).unwrap().kid(), before);
    assert_eq!(reader.signing_key(at(60)).unwrap().kid(), new.kid);

    // Tokens signed by one instance verify on the other.
    let token = issue(&writer, new_token(), at(60));
    assert!(verify_access_token(&token.token, &reader, ISSUER, AUDIENCE, at(61)).is_ok());
}

#[test]
fn a_corrupted_key_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::open(dir.path(), t0()).unwrap();
    let kid = ring.signing_key(t0()).unwrap().kid().to_owned();
    let path = dir.path().join("keys").join(format!("{kid}.json"));
    fs::write(
        &path,
        b"{\"format\": \"ecohub-signing-key\", \"version\": 1, \"kid\": ",
    )
    .unwrap();

    let err = KeyRing::open(dir.path(), t0()).unwrap_err();
    assert!(
        matches!(err, KeyError::Corrupt { ref path, .. } if path.ends_with(format!("{kid}.json")))
    );
    assert!(err.to_string().contains(&format!("{kid}.json")), "{err}");

    // A running ring keeps its keys when a reload fails.
    assert!(ring.reload().is_err());
    assert_eq!(ring.signing_key(t0()).unwrap().kid(), kid);
}

#[test]
fn foreign_files_and_tampered_keys_are_errors_naming_the_file() {
    let cases: [(&str, &[u8]); 4] = [
        ("notes.txt", b"hello"),
        ("other.json", b"{\"kty\": \"EC\"}"),
        // A real key file renamed: the name no longer matches the key's thumbprint.
        ("renamed.json", b""),
        // A key file whose private key is not a key.
        ("broken.json", b""),
    ];
    for (name, contents) in cases {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::open(dir.path(), t0()).unwrap();
        let kid = ring.signing_key(t0()).unwrap().kid().to_owned();
        let keys = dir.path().join("keys");
        let original = keys.join(format!("{kid}.json"));
        match name {
            "renamed.json" => fs::rename(&original, keys.join(name)).unwrap(),
            "broken.json" => {
                let mut value: serde_json::Value =
                    serde_json::from_slice(&fs::read(&original).unwrap()).unwrap();
                value["private_key_pkcs8"] = "AAAA".into();
                fs::write(&original, serde_json::to_vec(&value).unwrap()).unwrap();
            }
            _ => fs::write(keys.join(name), contents).unwrap(),
        }
        let expected_name = if name == "broken.json" {
            format!("{kid}.json")
        } else {
            name.to_owned()
        };
        let err = KeyRing::open(dir.path(), t0()).unwrap_err();
        assert!(matches!(err, KeyError::Corrupt { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains(&expected_name), "{name}: {err}");
    }
}

#[test]
fn a_newer_directory_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    KeyRing::open(dir.path(), t0()).unwrap();
    let marker = dir.path().join("keys").join("keyring.json");
    fs::write(&marker, br#"{"format": "ecohub-keyring", "version": 2}"#).unwrap();
    let err = KeyRing::open(dir.path(), t0()).unwrap_err();
    assert!(
        matches!(err, KeyError::UnsupportedVersion { version: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("keyring.json"));
}

#[test]
fn keys_without_a_format_marker_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    KeyRing::open(dir.path(), t0()).unwrap();
    fs::remove_file(dir.path().join("keys").join("keyring.json")).unwrap();
    let err = KeyRing::open(dir.path(), t0()).unwrap_err();
    assert!(err.to_string().contains("keyring.json"), "{err}");
}

#[test]
fn debug_output_never_shows_private_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::open(dir.path(), t0()).unwrap();
    let kid = ring.signing_key(t0()).unwrap().kid().to_owned();
    let stored: serde_json::Value = serde_json::from_slice(
        &fs::read(dir.path().join("keys").join(format!("{kid}.json"))).unwrap(),
    )
    .unwrap();
    let private = stored["private_key_pkcs8"].as_str().unwrap();
    let debug = format!("{ring:?} {:?}", ring.signing_key(t0()).unwrap());
    assert!(debug.contains(&kid));
    assert!(!debug.contains(private));
}

#[test]
fn algorithm_names_parse_exactly() {
    for alg in SigningAlgorithm::ALL {
        assert_eq!(alg.as_str().parse::<SigningAlgorithm>().unwrap(), alg);
    }
    for refused in ["none", "HS256", "RS256", "es256", "ES384", "EdDsa", ""] {
        assert!(SigningAlgorithm::parse(refused).is_none(), "{refused}");
    }
}

#[test]
fn a_later_rotation_supersedes_a_pending_key_for_good() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    // A planned rotation (active at 160), then an emergency one (active at once).
    let planned = ring
        .rotate(SigningAlgorithm::Es256, at(100), secs(60), LIFETIME)
        .unwrap();
    let emergency = ring
        .rotate(SigningAlgorithm::Es256, at(120), Duration::ZERO, LIFETIME)
        .unwrap();
    assert!(emergency.generation > planned.generation);
    assert_eq!(ring.signing_key(at(120)).unwrap().kid(), emergency.kid);
    // The planned key's activation time passing does not make it sign.
    assert_eq!(ring.signing_key(at(200)).unwrap().kid(), emergency.kid);
    let planned_state = ring
        .keys(at(200))
        .into_iter()
        .find(|k| k.kid == planned.kid)
        .unwrap()
        .state;
    assert_eq!(planned_state, KeyState::VerifyOnly);
}
