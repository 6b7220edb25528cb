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
