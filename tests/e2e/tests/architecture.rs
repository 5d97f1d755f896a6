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

/// The code of a Rust file without its comments (line comments and doc comments) and without
/// its `#[cfg(test)]` module, for checks on what the code does.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The traits the service crates declare (`pub trait <Name>`): the ports the hub may implement.
fn service_traits() -> Vec<String> {
    let mut files = Vec::new();
    for s in crate_dirs("services") {
        if s != "hub" {
            rust_files(&root().join("services").join(s).join("src"), &mut files);
        }
    }
    let mut traits = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for l in text.lines() {
            if let Some(rest) = l.trim_start().strip_prefix("pub trait ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                traits.push(name);
            }
        }
    }
    traits
}

/// What makes a hub port module more than translation: state, a domain predicate, a branch,
/// or an `impl` that is not of a service's port trait.
fn port_module_violations(code: &str, port_traits: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    // State: a port adapter holds the service it forwards to, nothing it remembers itself.
    let state = [
        "Mutex",
        "RwLock",
        "HashMap",
        "BTreeMap",
        "HashSet",
        "BTreeSet",
        "Atomic",
        "OnceLock",
        "OnceCell",
        "RefCell",
        "Cell<",
        "static ",
        "thread_local",
        "cache",
        "Cache",
        "lru",
    ];
    // Decisions: domain predicates, status enums, comparisons and branches. Converting a
    // value or an error is straight-line code; anything that chooses belongs to a service.
    let decisions = [
        "status_at",
        "Status::",
        "is_final",
        "ErrorKind::",
        "Error::",
        " == ",
        " != ",
        " < ",
        " > ",
        " <= ",
        " >= ",
        "if ",
        "match ",
        "else",
        "for ",
        "while ",
        "loop ",
    ];
    for l in code.lines() {
        for s in state.iter().chain(&decisions) {
            if l.contains(s) && !(s == &"for " && l.trim_start().starts_with("impl")) {
                found.push(format!("`{s}` in: {}", l.trim()));
            }
        }
        if let Some(rest) = l.trim_start().strip_prefix("impl") {
            let Some((head, _)) = rest.split_once(" for ") else {
                found.push(format!("inherent impl: {}", l.trim()));
                continue;
            };
            // `impl<T> a::b::Trait<X> for` → `Trait`.
            let head = head.trim();
            let head = if head.starts_with('<') {
                head.split_once('>').map_or(head, |(_, h)| h.trim())
            } else {
                head
            };
            let head = head.split('<').next().unwrap_or_default();
            let name = head.rsplit("::").next().unwrap_or_default();
            if !port_traits.iter().any(|t| t == name) {
                found.push(format!(
                    "impl of `{name}`, not a service's port trait: {}",
                    l.trim()
                ));
            }
        }
    }
    found
}

/// The hub wires; it never decides: its port modules (`services/hub/src/*_ports.rs`) hold no
/// state, call no domain predicate, do not branch, and implement only the services' port
/// traits. Every answer is computed in the service that owns it.
#[test]
fn hub_port_modules_only_translate() {
    let traits = service_traits();
    assert!(traits.iter().any(|t| t == "ConsentAuthority"), "{traits:?}");
    let modules: Vec<PathBuf> = std::fs::read_dir(root().join("services/hub/src"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("_ports.rs"))
        })
        .collect();
    assert!(modules.len() >= 2, "{modules:?}");
    for module in modules {
        let code = code_of(&std::fs::read_to_string(&module).unwrap());
        let found = port_module_violations(&code, &traits);
        assert!(
            found.is_empty(),
            "{} takes decisions or holds state:\n{}",
            module.display(),
            found.join("\n")
        );
    }
}

/// The check above catches what it is meant to: a remembered read, a status predicate, a
/// branch on a domain error and an inherent impl.
#[test]
fn the_port_module_check_catches_a_decision_in_the_hub() {
    let traits = vec!["ConsentGrants".to_owned()];
    let decided = code_of(
        r#"
        pub struct Grants { seen: Mutex<HashMap<String, Data>> }
        impl Grants { fn remember(&self) {} }
        impl ConsentGrants for Grants {
            fn grant(&self) -> Option<Grant> {
                if data.status_at(now) != ConsentStatus::Authorised { return None; }
                match e { Err(AppError::Refused(PartnerError::NotFound)) => Ok(vec![]) }
            }
        }
        "#,
    );
    let found = port_module_violations(&decided, &traits).join("\n");
    for expected in [
        "`Mutex`",
        "`HashMap`",
        "inherent impl",
        "`status_at`",
        "`Status::`",
        "`if `",
        "`match `",
        "`Error::`",
    ] {
        assert!(found.contains(expected), "{expected} not caught:\n{found}");
    }
    let forwarding = code_of(
        "impl ConsentGrants for Grants {\n fn grant(&self) -> Result<Option<Grant>, E> { self.0.grant().map_err(port_error) }\n}",
    );
    assert!(port_module_violations(&forwarding, &traits).is_empty());
}
