//! Staff TOTP secrets at rest, through the console's sign-in over HTTP (ADR 0023): a new
//! person's stream holds their secret only sealed, and their codes sign in; a secret that does
//! not open — altered, copied from another person's stream, its key gone — refuses the
//! sign-in and never lets it through without the code; a restart reading the same key file
//! still verifies codes; a person an earlier build stored in the clear still signs in, and a
//! new second factor replaces that secret.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use base64::Engine;
use ecohub_auth::application::staff::{staff_username_stream, totp};
use ecohub_auth::domain::{
    SealedTotpSecret, StaffEvent, StaffId, StaffMember, StaffRole, TotpFactor, TotpSecret,
};
use ecohub_auth::{AuthState, StaffDirectory, TotpKeys};
use ecohub_eventstore::{EventFilter, ExpectedRevision, NewEvent};
use ecohub_kernel::EventMetadata;

use super::console::{Console, PASSWORD, html, setup, signed_in};
use super::{Hub, Reply};

/// Every text form the secret could be stored in.
fn spellings(secret: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let base32 = totp(&TotpSecret::new(secret.to_vec()).unwrap(), "x")
        .unwrap()
        .get_secret_base32();
    vec![
        base32.trim_end_matches('=').to_owned(),
        base32.to_lowercase().trim_end_matches('=').to_owned(),
        URL_SAFE_NO_PAD.encode(secret),
        URL_SAFE.encode(secret),
        STANDARD_NO_PAD.encode(secret),
        STANDARD.encode(secret),
        secret.iter().map(|b| format!("{b:02x}")).collect(),
    ]
}

/// Asserts that no event of the store, payload or metadata, holds `secret` in any spelling.
async fn assert_nowhere_in_the_store(hub: &Hub, secret: &[u8]) {
    let all = hub
        .store
        .read_all(None, &EventFilter::default(), 10_000)
        .await
        .unwrap();
    assert!(!all.is_empty());
    for e in &all {
        let raw = format!(
            "{} {}",
            String::from_utf8_lossy(&e.data),
            serde_json::to_string(&e.metadata).unwrap()
        );
        for spelling in spellings(secret) {
            assert!(
                !raw.contains(&spelling),
                "{} ({}) holds the secret as {spelling}: {raw}",
                e.event_type,
                e.stream
            );
        }
    }
}

/// Appends a person as the directory would (username claim, then `StaffAdded` in the version
/// the domain writes for `totp`: v1 for a secret in the clear, v2 otherwise), with Grace's
/// password hash — for stores an earlier build wrote, and for altered ones.
async fn forge(c: &Console, username: &str, totp: Option<TotpFactor>) -> StaffId {
    forge_as(c, username, StaffId::new_v7(c.hub.now()), totp).await
}

async fn forge_as(
    c: &Console,
    username: &str,
    staff_id: StaffId,
    totp: Option<TotpFactor>,
) -> StaffId {
    let grace = grace(c).await;
    let now = c.hub.now();
    c.hub
        .store
        .append(
            &staff_username_stream(username),
            ExpectedRevision::NoStream,
            vec![NewEvent::raw(
                "StaffUsernameClaimed",
                serde_json::json!({ "staff_id": staff_id.to_string() }),
                now,
            )],
        )
        .await
        .unwrap();
    let added = StaffEvent::Added(StaffMember {
        staff_id,
        username: username.to_owned(),
        display_name: username.to_owned(),
        password_hash: grace.password_hash,
        roles: [StaffRole::ComplianceOfficer].into(),
        totp,
        added_at: now,
    });
    c.hub
        .store
        .append(
            &staff_id.stream_name(),
            ExpectedRevision::NoStream,
            vec![NewEvent::from_domain(&added, EventMetadata::default(), now)],
        )
        .await
        .unwrap();
    staff_id
}

async fn grace(c: &Console) -> StaffMember {
    let id = StaffId::parse(&c.staff_id).unwrap();
    StaffDirectory::new(c.hub.store.clone())
        .load(&id)
        .await
        .unwrap()
        .member()
        .unwrap()
        .clone()
}

fn code_of(c: &Console, secret: &TotpSecret) -> String {
    let now = u64::try_from(c.hub.now().unix_seconds()).unwrap();
    totp(secret, "x").unwrap().generate(now)
}

#[track_caller]
fn refused_as_unreadable(reply: &Reply) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert!(
        html(reply).contains("Sign-in cannot check your authentication code right now."),
        "{}",
        reply.body
    );
    assert!(
        !reply
            .headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .any(|c| c.starts_with("ecohub_staff_session=")),
        "no session"
    );
}

/// A second instance of the authorization server on the same store and signing keys, with
/// the TOTP keys read afresh from `data_dir` (what a restart or another process reads).
fn restarted(hub: &Hub, data_dir: &Path) -> AuthState {
    AuthState::new(
        hub.store.clone(),
        hub.clock.clone(),
        hub.state.settings.clone(),
        ecohub_auth::AuthPorts {
            ring: hub.ring.clone(),
            totp_keys: Arc::new(TotpKeys::open(data_dir).unwrap()),
            consents: Some(hub.consents.clone()),
        },
    )
}

#[actix_web::test]
async fn a_new_persons_stream_holds_the_secret_only_sealed_and_their_code_signs_in() {
    let c = setup().await;
    assert_nowhere_in_the_store(&c.hub, c.secret.bytes()).await;
    let events = ecohub_eventstore::read_stream_to_end(
        c.hub.store.as_ref(),
        &format!("staff-{}", c.staff_id),
    )
    .await
    .unwrap();
    let added = &events[0];
    assert_eq!(
        (added.event_type.as_str(), added.event_version),
        ("StaffAdded", 2)
    );
    let data: serde_json::Value = serde_json::from_slice(&added.data).unwrap();
    assert!(data.get("totp_secret").is_none(), "{data}");
    let keys = &c.hub.state.totp_keys;
    assert_eq!(keys.key_ids().len(), 1, "created on first use");
    assert_eq!(
        data["totp_secret_sealed"]["kid"],
        keys.key_ids()[0].as_str()
    );
    assert_eq!(data["totp_secret_sealed"]["alg"], "A256GCM");
    // The key: a file of its own, readable by the hub's user only.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert!(keys.dir().ends_with("totp-keys"), "{:?}", keys.dir());
    assert_eq!(mode(keys.dir()), 0o700);
    assert_eq!(
        mode(&keys.dir().join(format!("{}.json", keys.key_ids()[0]))),
        0o600
    );
    // The code from the provisioning URI signs in.
    signed_in(&c.attempt("grace", PASSWORD, &c.code()).await);
}

#[actix_web::test]
async fn a_secret_that_does_not_open_refuses_the_sign_in_without_ever_skipping_the_code() {
    let c = setup().await;
    let keys = c.hub.state.totp_keys.clone();
    let Some(TotpFactor::Sealed(graces)) = grace(&c).await.totp else {
        panic!("Grace's secret is sealed");
    };

    // Grace's ciphertext copied onto another person's stream does not open there.
    forge(&c, "mallory", Some(TotpFactor::Sealed(graces.clone()))).await;
    refused_as_unreadable(&c.attempt("mallory", PASSWORD, &c.code()).await);
    // Not even with no code at all.
    refused_as_unreadable(&c.attempt("mallory", PASSWORD, "").await);

    // Sealed for the person, then one bit of the ciphertext flipped.
    let trudy = StaffId::new_v7(c.hub.now());
    let sealed = keys.seal(&trudy, &c.secret, c.hub.now()).unwrap();
    let mut altered = sealed.ciphertext().to_vec();
    altered[0] ^= 1;
    let altered =
        SealedTotpSecret::new(sealed.key_id().into(), sealed.nonce().to_vec(), altered).unwrap();
    forge_as(&c, "trudy", trudy, Some(TotpFactor::Sealed(altered))).await;
    refused_as_unreadable(&c.attempt("trudy", PASSWORD, &c.code()).await);

    // A key this hub does not have.
    let walter = StaffId::new_v7(c.hub.now());
    let sealed = keys.seal(&walter, &c.secret, c.hub.now()).unwrap();
    let unknown = SealedTotpSecret::new(
        "no-such-key".into(),
        sealed.nonce().to_vec(),
        sealed.ciphertext().to_vec(),
    )
    .unwrap();
    forge_as(&c, "walter", walter, Some(TotpFactor::Sealed(unknown))).await;
    refused_as_unreadable(&c.attempt("walter", PASSWORD, &c.code()).await);

    // The same forging with the secret sealed for its person signs in: what refused above is
    // the seal, nothing else.
    let victor = StaffId::new_v7(c.hub.now());
    let sealed = keys.seal(&victor, &c.secret, c.hub.now()).unwrap();
    forge_as(&c, "victor", victor, Some(TotpFactor::Sealed(sealed))).await;
    signed_in(&c.attempt("victor", PASSWORD, &c.code()).await);

    // The secret is opened only once the password matched: a wrong one is a wrong one.
    let wrong = c.attempt("mallory", "wrong password", &c.code()).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    // Nothing recorded a sign-in for the people whose secret did not open.
    for person in ["mallory", "trudy", "walter"] {
        let staff = StaffDirectory::new(c.hub.store.clone())
            .find(person)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(staff.last_totp_step(), None, "{person}");
    }
}

#[actix_web::test]
async fn a_restart_reads_the_same_key_file_and_a_lost_key_fails_closed() {
    let mut c = setup().await;
    signed_in(&c.attempt("grace", PASSWORD, &c.code()).await);
    let dir = c.hub.state.totp_keys.dir().to_path_buf();
    let data_dir = dir.parent().unwrap().to_path_buf();

    // Restarted: the key file read afresh opens Grace's secret.
    c.hub.state = restarted(&c.hub, &data_dir);
    c.hub.clock.advance(Duration::from_secs(30));
    signed_in(&c.attempt("grace", PASSWORD, &c.code()).await);

    // Restarted without the key directory: refused, however right the code.
    let aside = data_dir.join("totp-keys.aside");
    std::fs::rename(&dir, &aside).unwrap();
    c.hub.state = restarted(&c.hub, &data_dir);
    assert!(c.hub.state.totp_keys.key_ids().is_empty());
    c.hub.clock.advance(Duration::from_secs(30));
    refused_as_unreadable(&c.attempt("grace", PASSWORD, &c.code()).await);
    assert!(!dir.exists(), "a sign-in never creates a key");

    // The directory restored (by an operator, or shared by another process): read again when
    // a secret names a key not in memory, without a restart.
    std::fs::rename(&aside, &dir).unwrap();
    signed_in(&c.attempt("grace", PASSWORD, &c.code()).await);
}

#[actix_web::test]
async fn a_person_stored_in_the_clear_signs_in_until_given_a_new_second_factor() {
    let c = setup().await;
    let old = TotpSecret::new(vec![9; 20]).unwrap();
    let ada = forge(&c, "ada", Some(TotpFactor::Plain(old.clone()))).await;
    let events = ecohub_eventstore::read_stream_to_end(c.hub.store.as_ref(), &ada.stream_name())
        .await
        .unwrap();
    assert_eq!(events[0].event_version, 1, "as an earlier build wrote it");
    signed_in(&c.attempt("ada", PASSWORD, &code_of(&c, &old)).await);

    let directory = StaffDirectory::new(c.hub.store.clone());
    let in_clear = |list: &[ecohub_auth::StaffSummary]| -> Vec<(String, bool)> {
        list.iter()
            .map(|s| (s.username.clone(), s.totp_in_clear))
            .collect()
    };
    let listed = directory.list().await.unwrap();
    assert_eq!(
        in_clear(&listed),
        [("grace".to_owned(), false), ("ada".to_owned(), true)]
    );
    let shown = serde_json::to_value(&listed).unwrap();
    assert_eq!(shown[1]["totp_in_clear"], true);
    assert!(shown[0].get("totp_in_clear").is_none(), "{shown}");

    let reset = directory
        .reset_totp("ada", &c.hub.state.totp_keys, c.hub.now(), "system:test")
        .await
        .unwrap();
    let uri = reset.totp_provisioning_uri.unwrap();
    let new = TotpSecret::new(totp_rs::TOTP::from_url(&uri).unwrap().secret).unwrap();
    assert!(!reset.summary.totp_in_clear);
    assert_nowhere_in_the_store(&c.hub, new.bytes()).await;
    c.hub.clock.advance(Duration::from_secs(30));
    let old_code = c.attempt("ada", PASSWORD, &code_of(&c, &old)).await;
    assert_eq!(
        old_code.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        old_code.body
    );
    signed_in(&c.attempt("ada", PASSWORD, &code_of(&c, &new)).await);
    assert_eq!(
        in_clear(&directory.list().await.unwrap()),
        [("grace".to_owned(), false), ("ada".to_owned(), false)]
    );

    // Unknown and disabled people get no new second factor.
    let keys = &c.hub.state.totp_keys;
    assert!(matches!(
        directory
            .reset_totp("nobody", keys, c.hub.now(), "system:test")
            .await,
        Err(ecohub_auth::StaffFailure::NotFound)
    ));
    directory
        .disable("ada", c.hub.now(), "system:test")
        .await
        .unwrap();
    assert!(matches!(
        directory
            .reset_totp("ada", keys, c.hub.now(), "system:test")
            .await,
        Err(ecohub_auth::StaffFailure::Refused(_))
    ));
}
