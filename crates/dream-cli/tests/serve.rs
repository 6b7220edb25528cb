//! `dream keys` and `dream serve`'s start-up rules (the API itself is tested in
//! `dream-server`).

use serde_json::Value;

use crate::cli::Dream;

#[test]
fn keys_are_shown_once_listed_without_secrets_and_revoked() {
    let dream = Dream::new();
    let created = dream.ok(&[
        "--json",
        "keys",
        "create",
        "--name",
        "agent",
        "--scopes",
        "memory:read, memory:write",
    ]);
    let key: Value = serde_json::from_str(&created.stdout).unwrap();
    let secret = key["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("dream_sk_") && secret.len() > 40,
        "{secret}"
    );
    assert_eq!(
        key["scopes"],
        serde_json::json!(["memory:read", "memory:write"])
    );
    let id = key["id"].as_str().unwrap();

    let listed = dream.ok(&["--json", "keys", "list"]);
    assert!(
        !listed.stdout.contains(secret),
        "list never shows the secret"
    );
    let keys: Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(
        keys[0]["hint"].as_str().unwrap(),
        format!("{}…", &secret[..13])
    );

    let revoked = dream.ok(&["--json", "keys", "revoke", id]);
    let revoked: Value = serde_json::from_str(&revoked.stdout).unwrap();
    assert!(revoked["revoked_at"].is_string());

    let bad = dream.run(&["keys", "create", "--name", "x", "--scopes", "memory:delete"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.contains("unknown scope \"memory:delete\""),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr.contains("proposals:review"),
        "lists the scopes: {}",
        bad.stderr
    );
}

#[test]
fn serve_refuses_a_public_address_without_keys() {
    let dream = Dream::new();
    dream.ok(&["init"]);
    let run = dream.run(&["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("api_keys_required"), "{}", run.stderr);
    assert!(
        run.stderr.contains("dream keys create"),
        "says how: {}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn init_makes_the_store_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dream = Dream::new();
    dream.ok(&["init"]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let db = dream.db();
    assert_eq!(mode(&db), 0o600, "{}", db.display());
    assert_eq!(mode(db.parent().unwrap()), 0o700, "the store's folder");
}

/// Sends `GET /health` with this `Host` over a plain socket; returns the status line.
fn health_with_host(addr: &str, host: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn serve_answers_only_to_its_own_and_allowed_host_names() {
    use std::io::BufRead as _;
    let dream = Dream::new();
    dream.ok(&["init"]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dream"))
        .arg("--db")
        .arg(dream.db())
        .args([
            "--json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--allowed-host",
            "dream.lan",
            "--allow-remote-webhooks",
        ])
        .env_remove("DREAM_LISTEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // `--json` prints the start-up object (possibly over several lines) first.
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut started = Value::Null;
    while started.is_null() && reader.read_line(&mut line).unwrap_or(0) > 0 {
        started = serde_json::from_str(&line).unwrap_or_default();
    }
    let addr = started["listening"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("http://")
        .to_owned();
    let port = addr.rsplit(':').next().unwrap_or_default().to_owned();
    let results = [
        health_with_host(&addr, &addr),
        health_with_host(&addr, &format!("localhost:{port}")),
        health_with_host(&addr, "dream.lan"),
        health_with_host(&addr, &format!("evil.example:{port}")),
    ];
    let _ = child.kill();
    let _ = child.wait();
    assert!(results[0].contains(" 200 "), "{results:?} ({line})");
    assert!(results[1].contains(" 200 "), "{results:?}");
    assert!(results[2].contains(" 200 "), "--allowed-host: {results:?}");
    assert!(results[3].contains(" 403 "), "a foreign name: {results:?}");
}
