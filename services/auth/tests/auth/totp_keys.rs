//! The keys that seal staff TOTP secrets (`<data_dir>/totp-keys`): AES-256-GCM with a fresh
//! nonce per secret and the person's id as associated data; the first key created once on
//! first use, shared by every process on the directory; files that are not our keys refused
//! by name; nothing of a key in `Debug`.

use std::fs;

use ecohub_auth::domain::{SealedTotpSecret, StaffId, TotpSecret};
use ecohub_auth::{TotpKeyError, TotpKeys};

use crate::support::at;

fn person(n: u8) -> StaffId {
    StaffId::parse(&format!("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a{n:02x}")).unwrap()
}

fn secret() -> TotpSecret {
    TotpSecret::new((0u8..20).collect()).unwrap()
}

#[test]
fn a_secret_opens_only_for_its_person_and_unaltered() {
    let dir = tempfile::tempdir().unwrap();
    let keys = TotpKeys::open(dir.path()).unwrap();
    assert!(keys.key_ids().is_empty(), "no key before the first use");
    let sealed = keys.seal(&person(1), &secret(), at(0)).unwrap();
    let again = keys.seal(&person(1), &secret(), at(0)).unwrap();
    assert_eq!(keys.key_ids(), [sealed.key_id().to_owned()]);
    assert_ne!(sealed.nonce(), again.nonce(), "a fresh nonce per secret");
    assert_ne!(sealed.ciphertext(), again.ciphertext());
    assert_eq!(sealed.ciphertext().len(), 20 + SealedTotpSecret::TAG_LEN);
    for s in [&sealed, &again] {
        assert_eq!(keys.unseal(&person(1), s).unwrap(), secret());
    }
    let fails = |result: Result<TotpSecret, TotpKeyError>| {
        assert!(
            matches!(result, Err(TotpKeyError::DoesNotOpen { .. })),
            "{result:?}"
        );
    };
    fails(keys.unseal(&person(2), &sealed));
    let altered = |nonce: &[u8], ciphertext: &[u8]| {
        SealedTotpSecret::new(sealed.key_id().into(), nonce.to_vec(), ciphertext.to_vec()).unwrap()
    };
    for i in 0..sealed.ciphertext().len() {
        let mut bytes = sealed.ciphertext().to_vec();
        bytes[i] ^= 0x80;
        fails(keys.unseal(&person(1), &altered(sealed.nonce(), &bytes)));
    }
    let mut nonce = sealed.nonce().to_vec();
    nonce[11] ^= 1;
    fails(keys.unseal(&person(1), &altered(&nonce, sealed.ciphertext())));
    fails(keys.unseal(&person(1), &altered(again.nonce(), sealed.ciphertext())));
    let unknown = SealedTotpSecret::new(
        "elsewhere".into(),
        sealed.nonce().to_vec(),
        sealed.ciphertext().to_vec(),
    )
    .unwrap();
    let missing = keys.unseal(&person(1), &unknown).unwrap_err();
    assert!(
        matches!(&missing, TotpKeyError::UnknownKey { kid, .. } if kid == "elsewhere"),
        "{missing:?}"
    );
    let message = missing.to_string();
    assert!(
        message.contains("elsewhere") && message.contains("totp-keys"),
        "names the key and the directory: {message}"
    );
}

#[test]
fn processes_on_one_directory_share_one_key() {
    let dir = tempfile::tempdir().unwrap();
    // Two processes opened before any key exists: the first to seal creates it, the other
    // finds it under the lock instead of creating a second.
    let (one, two, three) = (
        TotpKeys::open(dir.path()).unwrap(),
        TotpKeys::open(dir.path()).unwrap(),
        TotpKeys::open(dir.path()).unwrap(),
    );
    let sealed = one.seal(&person(1), &secret(), at(0)).unwrap();
    let other = two.seal(&person(2), &secret(), at(1)).unwrap();
    assert_eq!(sealed.key_id(), other.key_id());
    assert_eq!(two.unseal(&person(1), &sealed).unwrap(), secret());
    // One opened before the key existed, that never sealed, reads it when asked to open a
    // secret it names.
    assert!(three.key_ids().is_empty());
    assert_eq!(three.unseal(&person(2), &other).unwrap(), secret());
    assert_eq!(three.key_ids(), one.key_ids());
    // A restart reads the same file.
    let restarted = TotpKeys::open(dir.path()).unwrap();
    assert_eq!(restarted.key_ids(), one.key_ids());
    assert_eq!(restarted.unseal(&person(1), &sealed).unwrap(), secret());
    let files: Vec<String> = fs::read_dir(restarted.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(files, [format!("{}.json", sealed.key_id())]);
}

#[test]
fn files_that_are_not_our_keys_are_refused_by_name_and_debug_shows_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = TotpKeys::open(dir.path()).unwrap();
    keys.seal(&person(1), &secret(), at(0)).unwrap();
    let kid = keys.key_ids()[0].clone();
    let path = keys.dir().join(format!("{kid}.json"));
    let good = fs::read_to_string(&path).unwrap();
    let file: serde_json::Value = serde_json::from_str(&good).unwrap();
    let material = file["key"].as_str().unwrap().to_owned();
    assert_eq!(file["format"], "ecohub-totp-key");
    assert_eq!(file["alg"], "A256GCM");
    let shown = format!("{keys:?}");
    assert!(
        shown.contains(&kid) && !shown.contains(&material),
        "{shown}"
    );

    let refused = |contents: &str, name: &str| {
        let other = tempfile::tempdir().unwrap();
        let keys_dir = other.path().join("totp-keys");
        fs::create_dir(&keys_dir).unwrap();
        fs::write(keys_dir.join(name), contents).unwrap();
        let error = TotpKeys::open(other.path()).unwrap_err();
        assert!(
            matches!(&error, TotpKeyError::Corrupt { path, .. } if path.ends_with(name)),
            "{error:?}"
        );
    };
    let name = format!("{kid}.json");
    let with = |field: &str, value: serde_json::Value| {
        let mut f = file.clone();
        f[field] = value;
        f.to_string()
    };
    refused("not json", &name);
    refused(&good, "other.json");
    refused(&with("format", "ecohub-signing-key".into()), &name);
    refused(&with("version", 2.into()), &name);
    refused(&with("alg", "A128GCM".into()), &name);
    refused(&with("key", "AAAA".into()), &name);
    refused(&with("extra", 1.into()), &name);
    // Hidden entries (the lock, temporary files, Kubernetes' `..data`) are not keys.
    fs::write(keys.dir().join(".something"), "x").unwrap();
    assert_eq!(TotpKeys::open(dir.path()).unwrap().key_ids(), [kid]);
    // A directory that cannot be read is an error, not an empty ring.
    let not_a_dir = tempfile::tempdir().unwrap();
    fs::write(not_a_dir.path().join("totp-keys"), "a file").unwrap();
    assert!(matches!(
        TotpKeys::open(not_a_dir.path()),
        Err(TotpKeyError::Io { .. })
    ));
}
