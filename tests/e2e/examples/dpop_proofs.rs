//! Signs DPoP proofs (RFC 9449) for a load test of a DPoP-bound access token:
//! `dpop_proofs <key dir> <access token> <url> <count> <files>` writes `count` proofs for
//! `GET <url>` (each with its own `jti`, `ath` of the token, `iat` now) spread round-robin
//! over `<out>.0 … <out>.<files - 1>`, one per line — one file per wrk thread, so no proof is
//! sent twice. The key is the one `consent_token --dpop <key dir>` bound the token to.
//! Proofs are accepted for 60 s after their `iat`: sign them just before each round.

use std::io::Write;

use ecohub_e2e::dpop_proof;
use ecohub_kernel::{Clock, SystemClock};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, keys, token, url, count, files, out] = args.as_slice() else {
        eprintln!("usage: dpop_proofs <key dir> <access token> <url> <count> <files> <out>");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("count");
    let files: usize = files.parse::<usize>().expect("files").max(1);
    let ring = ecohub_jose::KeyRing::open(keys, SystemClock.now()).expect("DPoP key");
    let key = ring.signing_key(SystemClock.now()).expect("DPoP key");
    let iat = SystemClock.now().unix_seconds();
    let mut writers: Vec<_> = (0..files)
        .map(|i| {
            std::io::BufWriter::new(std::fs::File::create(format!("{out}.{i}")).expect("output"))
        })
        .collect();
    for n in 0..count {
        let proof = dpop_proof(&key, "GET", url, Some(token), iat);
        writeln!(writers[n % files], "{proof}").expect("write");
    }
    for mut w in writers {
        w.flush().expect("flush");
    }
}
