//! Architecture invariants, checked on the source tree (see docs/ARCHITECTURE.md).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn manifest(path: &str) -> toml::Table {
    std::fs::read_to_string(root().join(path))
        .unwrap()
        .parse()
        .unwrap()
}

fn deps(table: &toml::Table) -> Vec<String> {
    table
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

/// The folders under `parent` (`services`, `shared`) that hold a crate.
fn crate_dirs(parent: &str) -> Vec<String> {
    std::fs::read_dir(root().join(parent))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The kernel is pure: no IO, no runtime, no HTTP, no storage.
#[test]
fn kernel_depends_on_no_runtime_http_or_storage() {
    let forbidden = [
        "actix-web",
        "tokio",
        "rusqlite",
        "reqwest",
        "async-trait",
        "ecohub-eventstore",
        "ecohub-http",
    ];
    for dep in deps(&manifest("shared/kernel/Cargo.toml")) {
        assert!(
            !forbidden.contains(&dep.as_str()),
            "ecohub-kernel must not depend on {dep}"
        );
    }
}

/// The event store knows nothing about HTTP; the HTTP plumbing nothing about the store.
#[test]
fn store_and_http_plumbing_stay_apart() {
    let store = deps(&manifest("shared/eventstore/Cargo.toml"));
    assert!(
        !store
            .iter()
            .any(|d| d.starts_with("actix") || d == "ecohub-http" || d == "utoipa")
    );
    let http = deps(&manifest("shared/http/Cargo.toml"));
    assert!(
        !http
            .iter()
            .any(|d| d == "ecohub-eventstore" || d == "rusqlite")
    );
}

/// Services never depend on each other; they meet through events and kernel types.
#[test]
fn services_do_not_depend_on_each_other() {
    let services = crate_dirs("services");
    for s in &services {
        if s == "hub" {
            continue; // the hub mounts every service
        }
        let table = manifest(&format!("services/{s}/Cargo.toml"));
        let name = table["package"]["name"].as_str().unwrap().to_owned();
        for dep in deps(&table) {
            assert!(
                !(dep.starts_with("ecohub-")
                    && services.iter().any(|o| dep == format!("ecohub-{o}"))),
                "{name} depends on service {dep}"
            );
        }
    }
}

/// Shared crates, the test kit included, and these end-to-end tests depend on no service (not
/// even for their tests): every crate can use the shared ones without a dependency cycle, and
/// the end-to-end tests see the hub only as a partner would, through its binary.
#[test]
fn shared_crates_and_e2e_tests_depend_on_no_service() {
    let services: Vec<String> = crate_dirs("services")
        .iter()
        .map(|dir| {
            let table = manifest(&format!("services/{dir}/Cargo.toml"));
            table["package"]["name"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(services.iter().any(|s| s == "ecohub"), "{services:?}");
    assert!(services.iter().any(|s| s == "ecohub-auth"), "{services:?}");
    let mut crates: Vec<String> = crate_dirs("shared")
        .into_iter()
        .map(|dir| format!("shared/{dir}"))
        .collect();
    assert!(crates.iter().any(|c| c == "shared/jose"), "{crates:?}");
    crates.push("tests/e2e".into());
    for dir in crates {
        let table = manifest(&format!("{dir}/Cargo.toml"));
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(deps) = table.get(section).and_then(|d| d.as_table()) else {
                continue;
            };
            for dep in deps.keys() {
                assert!(
                    !services.contains(dep),
                    "{dir} depends on service {dep} ({section})"
                );
            }
        }
    }
}

/// The JOSE core knows nothing of HTTP, storage or a runtime: pure functions over values and
/// one file-backed key ring.
#[test]
fn jose_core_depends_on_no_http_storage_or_runtime() {
    let forbidden = [
        "actix-web",
        "actix-http",
        "utoipa",
        "tokio",
        "rusqlite",
        "reqwest",
        "async-trait",
        "ecohub-eventstore",
        "ecohub-http",
        "ecohub-security",
    ];
    for dep in deps(&manifest("shared/jose/Cargo.toml")) {
        assert!(
            !forbidden.contains(&dep.as_str()),
            "ecohub-jose must not depend on {dep}"
        );
    }
}

/// Domain code (the kernel and every service's `domain` module) does no IO and reads no
/// clock: time is passed in.
#[test]
fn domain_code_does_no_io_and_reads_no_clock() {
    let mut files = Vec::new();
    rust_files(&root().join("shared/kernel/src"), &mut files);
    if let Ok(services) = std::fs::read_dir(root().join("services")) {
        for s in services.flatten() {
            rust_files(&s.path().join("src/domain"), &mut files);
            let single = s.path().join("src/domain.rs");
            if single.exists() {
                files.push(single);
            }
        }
    }
    assert!(!files.is_empty());
    let forbidden = [
        "std::fs",
        "std::net",
        "tokio",
        "actix",
        "reqwest",
        "rusqlite",
        "Instant::now",
        "SystemTime::now",
        "now_utc()",
        "thread::sleep",
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // The kernel's SystemClock is the one sanctioned clock read, used only at the edges.
        let text = if file.ends_with("kernel/src/time.rs") {
            text.replace("Timestamp::from(OffsetDateTime::now_utc())", "")
        } else {
            text
        };
        for f in forbidden {
            assert!(!text.contains(f), "{} uses {f}", file.display());
        }
    }
}
