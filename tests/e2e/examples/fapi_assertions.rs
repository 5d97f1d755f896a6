//! Signs `private_key_jwt` client assertions (RFC 7523) and DPoP proofs (RFC 9449) for the
//! FAPI token benchmark (`tests/perf/token-fapi-bench.sh`), for the hub and for
//! node-oidc-provider alike, with one partner key.
//!
//! `fapi_assertions <hub base URL> <hub data dir>` onboards a data recipient on the running
//! hub (the CLI runs against the same data dir) whose `private_key_jwt` client is registered
//! with an ES256 key, and prints one JSON line: `{"client_id": …, "scope": …, "jwks": …}` (the
//! public key, for node-oidc-provider's client). It then reads commands on stdin, one a line:
//!
//! `<target> <count> <files> <out>` with `<target>` one of `hub`, `hub-dpop`, `node`,
//! `node-dpop`: writes `count` `client_credentials` request bodies spread round-robin over
//! `<out>.0 … <out>.<files - 1>` (one file per wrk thread, so none is sent twice), one a line,
//! each with its own assertion (`jti` unique, `iat` now, `exp` in 60 s). With `-dpop` each
//! line is followed by a space and a fresh DPoP proof for `POST <token endpoint>` (unique
//! `jti`, `iat` now) by a second ES256 key. It answers `ok` when the files are complete.
//! Sign just before each round: proofs are accepted for 60 s after their `iat`.
//!
//! node-oidc-provider's client is `bench-fapi` on `http://127.0.0.1:<NODE_PORT or 3000>`.

use std::io::{BufRead, Write};

use ecohub_e2e::{ASSERTION_TYPE, RunningHub, dpop_proof, onboard, percent_encode, uuid_like};
use ecohub_jose::{SigningAlgorithm, SigningKey};
use ecohub_kernel::{Clock, SystemClock};
use serde_json::json;

/// The client's scope at the hub (a data recipient creating consents).
const HUB_SCOPE: &str = "consents:write";
/// The client's scope at node-oidc-provider (`tests/perf/oidc-provider-fapi.mjs`).
const NODE_SCOPE: &str = "accounts";
/// The client at node-oidc-provider.
const NODE_CLIENT: &str = "bench-fapi";

/// Where one target's requests go and who they come from.
struct Target<'a> {
    client_id: &'a str,
    token_endpoint: &'a str,
    scope: &'a str,
    dpop: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, dir] = args.as_slice() else {
        eprintln!("usage: fapi_assertions <hub base URL> <hub data dir>");
        std::process::exit(2);
    };
    let hub = RunningHub(base.clone());
    let (_, partner) = onboard(
        &hub,
        std::path::Path::new(dir),
        &[],
        base,
        "Benchmark FAPI Ltd",
        &["data_recipient"],
        HUB_SCOPE,
    )
    .await;
    let now = SystemClock.now();
    let dpop_key = SigningKey::generate(SigningAlgorithm::Es256, now, now).expect("DPoP key");
    let node_port = std::env::var("NODE_PORT").unwrap_or_else(|_| "3000".into());
    let node_token = format!("http://127.0.0.1:{node_port}/token");
    println!(
        "{}",
        json!({"client_id": partner.client_id, "scope": HUB_SCOPE,
               "jwks": {"keys": [partner.key.public_jwk()]}})
    );
    std::io::stdout().flush().expect("stdout");

    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let words: Vec<&str> = line.split_whitespace().collect();
        let [target, count, files, out] = words.as_slice() else {
            eprintln!("expected: <target> <count> <files> <out>");
            std::process::exit(2);
        };
        let hub_target = |dpop| Target {
            client_id: &partner.client_id,
            token_endpoint: &partner.audience,
            scope: HUB_SCOPE,
            dpop,
        };
        let node_target = |dpop| Target {
            client_id: NODE_CLIENT,
            token_endpoint: &node_token,
            scope: NODE_SCOPE,
            dpop,
        };
        let target = match *target {
            "hub" => hub_target(false),
            "hub-dpop" => hub_target(true),
            "node" => node_target(false),
            "node-dpop" => node_target(true),
            other => {
                eprintln!("unknown target {other}");
                std::process::exit(2);
            }
        };
        let count: usize = count.parse().expect("count");
        let files: usize = files.parse::<usize>().expect("files").max(1);
        write_requests(&partner.key, &dpop_key, &target, count, files, out);
        println!("ok");
        std::io::stdout().flush().expect("stdout");
    }
}

/// Writes `count` request lines for `target` over `files` files named `<out>.<i>`.
fn write_requests(
    key: &SigningKey,
    dpop_key: &SigningKey,
    target: &Target<'_>,
    count: usize,
    files: usize,
    out: &str,
) {
    let mut writers: Vec<_> = (0..files)
        .map(|i| {
            std::io::BufWriter::new(std::fs::File::create(format!("{out}.{i}")).expect("output"))
        })
        .collect();
    let prefix = format!(
        "grant_type=client_credentials&scope={}&client_id={}&client_assertion_type={}\
         &client_assertion=",
        percent_encode(target.scope),
        percent_encode(target.client_id),
        percent_encode(ASSERTION_TYPE),
    );
    let now = SystemClock.now().unix_seconds();
    for n in 0..count {
        let claims = json!({"iss": target.client_id, "sub": target.client_id,
            "aud": target.token_endpoint, "iat": now, "exp": now + 60, "jti": uuid_like()});
        let assertion = key.sign_jwt("JWT", &claims).expect("assertion");
        let w = &mut writers[n % files];
        write!(w, "{prefix}{assertion}").expect("write");
        if target.dpop {
            let proof = dpop_proof(dpop_key, "POST", target.token_endpoint, None, now);
            write!(w, " {proof}").expect("write");
        }
        writeln!(w).expect("write");
    }
    for mut w in writers {
        w.flush().expect("flush");
    }
}
