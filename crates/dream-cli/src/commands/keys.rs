//! `dream keys`: API keys for `dream serve` (the secret is shown once, stored hashed).

use std::path::Path;

use clap::{Args, Subcommand};
use dream_server::ApiError;
use dream_server::auth::{create_key, parse_scopes};
use dream_store::{OpenMode, Store};
use dream_types::{ApiKey, ApiKeyId, Scope};

use super::open_store;
use crate::error::{CliError, CliResult};
use crate::output::{Output, dim, strong};

/// `dream keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; its secret is printed once and cannot be shown again.
    Create(CreateArgs),
    /// List keys (never their secrets).
    List,
    /// Revoke a key (one-way); requests with it then get 401.
    Revoke(RevokeArgs),
}

/// Arguments of `dream keys create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A label (who or what uses it).
    #[arg(long)]
    name: String,
    /// Comma-separated scopes: memory:read, memory:write, sessions:read,
    /// sessions:write, dreams:read, dreams:write, proposals:review, admin. An agent's
    /// key should not get proposals:review (it would approve its own memory changes).
    #[arg(long, value_name = "SCOPES")]
    scopes: String,
}

/// Arguments of `dream keys revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The key (`apikey_…`).
    id: String,
}

fn api(err: ApiError) -> CliError {
    let code = err.code.clone().unwrap_or_else(|| err.kind.to_owned());
    if err.status.is_client_error() {
        CliError::input(code, err.message)
    } else {
        CliError::Internal(err.message)
    }
}

fn key_json(key: &ApiKey) -> serde_json::Value {
    serde_json::json!({
        "type": "api_key",
        "id": key.id,
        "name": key.name,
        "hint": key.hint,
        "scopes": key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    })
}

/// Runs a `dream keys` subcommand.
pub async fn cmd_keys(db: &Path, command: KeysCommand, out: Output) -> CliResult<u8> {
    match command {
        KeysCommand::Create(args) => {
            let scopes: Vec<Scope> = parse_scopes(&args.scopes).map_err(api)?;
            let store = open_store(db, OpenMode::Create).await?;
            let created = create_key(&store, &args.name, scopes).await.map_err(api)?;
            if out.json {
                let mut value = key_json(&created.key);
                value["secret"] = serde_json::json!(created.secret);
                out.json(&value)?;
            } else {
                out.line(format!(
                    "Created {} ({}) with scopes {}",
                    strong().apply_to(&created.key.id),
                    created.key.name,
                    created
                        .key
                        .scopes
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))?;
                out.line(format!("\n    {}\n", created.secret))?;
                out.line(
                    dim()
                        .apply_to("This secret is shown once; it is stored hashed. Send it as the x-api-key header.")
                        .to_string(),
                )?;
            }
            Ok(0)
        }
        KeysCommand::List => {
            let store = open_store(db, OpenMode::MustExist).await?;
            let keys = store.list_api_keys().await?;
            if out.json {
                out.json(&keys.iter().map(key_json).collect::<Vec<_>>())?;
            } else if keys.is_empty() {
                out.line("No API keys: `dream serve` runs open on loopback only. Create one with `dream keys create --name NAME --scopes SCOPES`.")?;
            } else {
                for key in &keys {
                    let state = match key.revoked_at {
                        Some(at) => format!("revoked {}", at.to_display_minutes()),
                        None => match key.last_used_at {
                            Some(at) => format!("used {}", at.to_display_minutes()),
                            None => "never used".to_owned(),
                        },
                    };
                    out.line(format!(
                        "{}  {:<16} {:<18} {}  {}",
                        key.id,
                        key.name,
                        key.hint,
                        key.scopes
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        dim().apply_to(state)
                    ))?;
                }
            }
            Ok(0)
        }
        KeysCommand::Revoke(args) => {
            let id: ApiKeyId = args.id.parse().map_err(|_| {
                CliError::input(
                    "not_found_error",
                    format!("{} is not an API key id (apikey_…)", args.id),
                )
            })?;
            let store = open_store(db, OpenMode::MustExist).await?;
            let key = store.revoke_api_key(&id).await?;
            if out.json {
                out.json(&key_json(&key))?;
            } else {
                out.line(format!("Revoked {} ({})", key.id, key.name))?;
            }
            Ok(0)
        }
    }
}
