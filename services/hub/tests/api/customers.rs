//! `ecohub customers add|list` while a hub runs on the same store, and signing in on that
//! hub's login page with the customer just added.

use std::io::Write;
use std::process::{Command, Stdio};

use ecohub_testkit::{HubProcess, ecohub_binary};
use serde_json::Value;

fn cli(data_dir: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(ecohub_binary())
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn customers_are_added_while_the_hub_runs_and_can_sign_in() {
    let hub = HubProcess::start();
    let dir = hub.data_dir.clone();
    let add = [
        "customers",
        "add",
        "--username",
        "Alice",
        "--display-name",
        "Alice A.",
        "--password-stdin",
    ];
    let (ok, out, err) = cli(&dir, &add, "correct horse battery\n");
    assert!(ok, "{err}");
    let added: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(added["username"], "alice");
    assert!(!out.contains("argon2"));
    // The same username again, whatever the case: refused.
    let (ok, _, err) = cli(&dir, &add, "another long password\n");
    assert!(!ok);
    assert!(err.contains("taken"), "{err}");
    // The password is never a CLI argument.
    let (ok, _, _) = cli(
        &dir,
        &[
            "customers",
            "add",
            "--username",
            "bob",
            "--display-name",
            "Bob",
            "--password",
            "x",
        ],
        "",
    );
    assert!(!ok);
    let (ok, out, err) = cli(&dir, &["customers", "list"], "");
    assert!(ok, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["customer_id"], added["customer_id"]);

    // Sign in on the running hub.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(hub.url("/login?return_to=%2Fauthorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let pre = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ecohub_login_csrf="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = pre.trim_start_matches("ecohub_login_csrf=").to_owned();
    let reply = client
        .post(hub.url("/login"))
        .header("cookie", &pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username=alice&password=correct+horse+battery&csrf_token={token}&return_to=%2Fauthorize"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 303);
    assert_eq!(reply.headers()["location"], "/authorize");
    assert!(
        reply
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("ecohub_session="))
    );
    hub.kill();
}
