//! API keys and scopes. A request names its key in `x-api-key` (as Anthropic's API)
//! or `Authorization: Bearer`; the key's SHA-256 is looked up, and the route's scope
//! (one table, [`required_scope`], default `admin`) must be granted.
//!
//! Without any key configured the server runs *open* — but only on a loopback address
//! (see [`crate::ServerConfig`]); every request then acts as the local user.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dream_store::NewApiKey;
use dream_types::{Actor, ApiKey, Scope};
use rand::RngCore as _;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// Prefix of every secret, so leaked keys are recognisable (and greppable).
pub const SECRET_PREFIX: &str = "dream_sk_";

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The key used; `None` on an open server.
    pub key: Option<ApiKey>,
}

impl Principal {
    /// Returns the actor recorded on memory versions written by this caller:
    /// `api_actor` with the key id, or `user_actor` `user_local` on an open server.
    pub fn actor(&self) -> Actor {
        match &self.key {
            Some(key) => Actor::Api {
                api_key_id: key.id.to_string(),
            },
            None => Actor::User {
                user_id: "user_local".into(),
            },
        }
    }

    /// Returns whether the caller has `scope`.
    pub fn allows(&self, scope: Scope) -> bool {
        self.key.as_ref().is_none_or(|key| key.allows(scope))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::internal("route without authentication"))
    }
}

/// Returns the scope a route needs. Unlisted routes need `admin`, so a route added
/// without thinking about scopes is closed rather than open.
pub fn required_scope(method: &Method, route: &str) -> Scope {
    let read = *method == Method::GET;
    let (prefix, rest) = match route.strip_prefix("/v1/") {
        Some(rest) => rest.split_once('/').unwrap_or((rest, "")),
        None => return Scope::Admin,
    };
    match prefix {
        "memory_stores" if read => Scope::MemoryRead,
        "memory_stores" => Scope::MemoryWrite,
        "sessions" if read => Scope::SessionsRead,
        "sessions" => Scope::SessionsWrite,
        "dreams" if rest.contains("proposal") && !read => Scope::ProposalsReview,
        "dreams" | "dream_schedules" if read => Scope::DreamsRead,
        "dreams" | "dream_schedules" => Scope::DreamsWrite,
        // API keys, webhooks and anything new.
        _ => Scope::Admin,
    }
}

/// Middleware: authenticates the caller and checks the matched route's scope.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    let principal = match presented_secret(request.headers()) {
        // An open server takes any key: the SDK always sends one (as
        // `Authorization: Bearer`), and there is none to check it against.
        Some(secret) if state.open() => Principal {
            key: find_key(&state, &secret).await.ok(),
        },
        Some(secret) => Principal {
            key: Some(find_key(&state, &secret).await?),
        },
        None if state.open() => Principal { key: None },
        None => {
            return Err(ApiError::unauthenticated(
                "missing API key: send it in the `x-api-key` header (create one with \
                 `dream keys create --name NAME --scopes memory:read,…`)",
            ));
        }
    };
    let scope = required_scope(request.method(), &route);
    if !principal.allows(scope) {
        let key = principal.key.as_ref().map(|k| k.id.as_str()).unwrap_or("-");
        return Err(ApiError::forbidden(format!(
            "API key {key} lacks the `{}` scope needed for {} {route}",
            scope.as_str(),
            request.method()
        )));
    }
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

/// Returns the key a request names in `x-api-key` or `Authorization: Bearer`.
pub(crate) fn presented_secret(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(value) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(value.trim().to_owned());
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned())
}

/// Returns the unrevoked key with this secret.
///
/// # Errors
/// 401 for an unknown or revoked key; store errors.
pub(crate) async fn find_key(state: &AppState, secret: &str) -> ApiResult<ApiKey> {
    let hash = dream_types::sha256_hex(secret.as_bytes());
    let key = state
        .store()
        .api_key_by_secret(&hash)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("invalid API key"))?;
    if key.revoked_at.is_some() {
        return Err(ApiError::unauthenticated(format!(
            "API key {} was revoked",
            key.id
        )));
    }
    let now = state.now();
    // Record use at most once a minute per key: a write per request would serialise
    // every reader behind SQLite's single writer.
    if key
        .last_used_at
        .is_none_or(|last| now.unix_micros() - last.unix_micros() > 60_000_000)
    {
        state.store().touch_api_key(&key.id, now).await?;
    }
    Ok(key)
}

/// A freshly created key: the record and the secret, which is shown once and never
/// stored.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    /// The stored record.
    pub key: ApiKey,
    /// `dream_sk_` + 43 base64url characters (256 random bits).
    pub secret: String,
}

/// Creates an API key with `scopes` (at least one).
///
/// # Errors
/// 400 when `scopes` is empty or `name` is blank; store errors.
pub async fn create_key(
    store: &dyn dream_store::Store,
    name: &str,
    scopes: Vec<Scope>,
) -> ApiResult<CreatedKey> {
    if scopes.is_empty() {
        return Err(ApiError::invalid_with_code(
            "invalid_scopes",
            format!(
                "a key needs at least one scope; scopes are {}",
                Scope::ALL.map(Scope::as_str).join(", ")
            ),
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(ApiError::invalid_with_code(
            "invalid_name",
            "a key's name must be 1 to 255 characters",
        ));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let mut scopes = scopes;
    scopes.sort_by_key(|s| Scope::ALL.iter().position(|a| a == s));
    scopes.dedup();
    let key = store
        .create_api_key(NewApiKey {
            name: name.to_owned(),
            scopes,
            hint: format!("{}…", &secret[..SECRET_PREFIX.len() + 4]),
            secret_sha256: dream_types::sha256_hex(secret.as_bytes()),
        })
        .await?;
    Ok(CreatedKey { key, secret })
}

/// Parses a comma-separated scope list (`memory:read,dreams:write`).
///
/// # Errors
/// 400 naming the unknown scope and listing the known ones.
pub fn parse_scopes(text: &str) -> ApiResult<Vec<Scope>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            Scope::from_name(name).ok_or_else(|| {
                ApiError::invalid_with_code(
                    "invalid_scopes",
                    format!(
                        "unknown scope {name:?}; scopes are {}",
                        Scope::ALL.map(Scope::as_str).join(", ")
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_the_scope_of_their_resource_and_method() {
        let cases = [
            (Method::GET, "/v1/memory_stores", Scope::MemoryRead),
            (
                Method::POST,
                "/v1/memory_stores/{id}/memories",
                Scope::MemoryWrite,
            ),
            (Method::DELETE, "/v1/memory_stores/{id}", Scope::MemoryWrite),
            (Method::GET, "/v1/sessions/{id}/events", Scope::SessionsRead),
            (Method::POST, "/v1/sessions/import", Scope::SessionsWrite),
            (Method::POST, "/v1/dreams", Scope::DreamsWrite),
            (Method::GET, "/v1/dreams/{id}/proposal", Scope::DreamsRead),
            (
                Method::POST,
                "/v1/dreams/{id}/proposal/approve",
                Scope::ProposalsReview,
            ),
            (Method::POST, "/v1/dream_schedules", Scope::DreamsWrite),
            (Method::GET, "/v1/webhooks", Scope::Admin),
            (Method::GET, "/v1/something_new", Scope::Admin),
        ];
        for (method, route, scope) in cases {
            assert_eq!(required_scope(&method, route), scope, "{method} {route}");
        }
    }

    #[test]
    fn scopes_parse_and_unknown_ones_are_named() {
        assert_eq!(
            parse_scopes("memory:read, dreams:write").ok(),
            Some(vec![Scope::MemoryRead, Scope::DreamsWrite])
        );
        let err = parse_scopes("memory:read,memory:delete").unwrap_err();
        assert!(err.message.starts_with("unknown scope \"memory:delete\""));
    }
}
