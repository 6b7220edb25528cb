//! Refuses requests a web page could make from the user's browser: one middleware,
//! in front of every route, with three checks in this order.
//!
//! 1. **`Host`** must name this server (DNS rebinding: a page on `evil.example` whose
//!    name the attacker re-points at 127.0.0.1 sends `Host: evil.example`). Accepted:
//!    `localhost`, `127.0.0.1` and `[::1]` when listening on loopback or on every
//!    interface; the listen IP itself; any IP literal when listening on every
//!    interface (an IP cannot be re-pointed); each `--allowed-host` name; all with
//!    the bound port (a name given without a port matches on any port). A request
//!    without `Host` (HTTP/1.0, tests driving the router) passes.
//! 2. **`Origin`**, when present, must name an accepted host by the same rule (with
//!    its scheme's default port when it gives none). SDKs and curl send no `Origin`;
//!    browsers send it on every cross-site `POST`. `Origin: null` is refused.
//! 3. **`content-type`** of a request with a body must be JSON: `application/json`
//!    (parameters such as `charset=utf-8` allowed) or an `application/*+json` type;
//!    `POST /v1/sessions/import` also takes the JSON Lines types it documents. A page
//!    can only send `text/plain`, form or multipart bodies without asking the server
//!    first (CORS preflight, which this server never grants), so requiring JSON
//!    closes the "simple request" path too.
//!
//! Failures are Anthropic-shaped errors: 403 `permission_error` (`host_not_allowed`,
//! `origin_not_allowed`) and 415 `invalid_request_error` (`unsupported_media_type`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::error::ApiError;

/// The route that reads transcripts, which may be JSON Lines.
pub const IMPORT_PATH: &str = "/v1/sessions/import";

/// Media types every JSON endpoint takes (besides any `application/*+json`).
pub const JSON_TYPES: [&str; 1] = ["application/json"];

/// Media types `POST /v1/sessions/import` takes besides the JSON ones.
pub const JSON_LINES_TYPES: [&str; 4] = [
    "application/x-ndjson",
    "application/jsonl",
    "application/jsonlines",
    "application/x-jsonlines",
];

/// Which hosts requests may name: built from the server's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    listen: SocketAddr,
    allowed: Vec<(String, Option<u16>)>,
}

impl HostRule {
    /// Returns the rule for a server bound to `listen` (its real port) with these
    /// `--allowed-host` entries (`name` or `name:port`).
    pub fn new(listen: SocketAddr, allowed_hosts: &[String]) -> Self {
        let allowed = allowed_hosts
            .iter()
            .filter_map(|entry| {
                let entry = entry.trim();
                if entry.is_empty() {
                    return None;
                }
                Some(match split_host_port(entry) {
                    Some((host, port)) => (normalise(host), port),
                    None => (normalise(entry), None),
                })
            })
            .collect();
        Self { listen, allowed }
    }

    /// Returns whether `host` (a name or IP, brackets allowed around IPv6) on
    /// `port` names this server.
    pub fn accepts(&self, host: &str, port: u16) -> bool {
        let host = normalise(host);
        if self
            .allowed
            .iter()
            .any(|(name, p)| *name == host && p.is_none_or(|p| p == port))
        {
            return true;
        }
        if port != self.listen.port() {
            return false;
        }
        let listen_ip = self.listen.ip();
        let loopback_reachable = listen_ip.is_loopback() || listen_ip.is_unspecified();
        if loopback_reachable && host == "localhost" {
            return true;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) if ip == listen_ip => true,
            Ok(ip) if loopback_reachable && ip.is_loopback() => true,
            Ok(_) => listen_ip.is_unspecified(),
            Err(_) => false,
        }
    }

    /// The advice given when a host is refused.
    fn advice(&self) -> String {
        let ip = self.listen.ip();
        let mut names = if ip.is_loopback() || ip.is_unspecified() {
            vec![
                format!("localhost:{}", self.listen.port()),
                format!("127.0.0.1:{}", self.listen.port()),
                format!("[::1]:{}", self.listen.port()),
            ]
        } else {
            Vec::new()
        };
        if !ip.is_unspecified() && !ip.is_loopback() {
            names.push(self.listen.to_string());
        }
        for (name, port) in &self.allowed {
            names.push(match port {
                Some(port) => format!("{name}:{port}"),
                None => name.clone(),
            });
        }
        format!(
            "this server answers to {}; to reach it under another name, start it with \
             `dream serve --allowed-host NAME`",
            names.join(", ")
        )
    }
}

/// Lowercase, without IPv6 brackets or a trailing dot.
fn normalise(host: &str) -> String {
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Splits `host:port` (`[v6]:port` for IPv6); `None` when there is no port.
fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, port.parse().ok())),
            None => None,
        };
    }
    let (host, port) = text.rsplit_once(':')?;
    if host.contains(':') {
        // A bare IPv6 address.
        return None;
    }
    Some((host, port.parse().ok()))
}

/// Middleware: the three checks of this module, then the route.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let config = state.config();
    let rule = HostRule::new(config.listen, &config.allowed_hosts);
    if let Err(err) = check(&rule, request.uri(), request.headers()) {
        return axum::response::IntoResponse::into_response(err);
    }
    next.run(request).await
}

/// Runs the three checks on a request's URI and headers.
///
/// # Errors
/// 403 `host_not_allowed` / `origin_not_allowed`; 415 `unsupported_media_type`.
pub fn check(rule: &HostRule, uri: &Uri, headers: &HeaderMap) -> Result<(), ApiError> {
    check_host(rule, uri, headers)?;
    check_origin(rule, headers)?;
    check_content_type(uri.path(), headers)
}

fn check_host(rule: &HostRule, uri: &Uri, headers: &HeaderMap) -> Result<(), ApiError> {
    let raw = match headers.get(header::HOST) {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| host_refused(rule, "<not text>"))?,
        ),
        None => uri.authority().map(|a| a.as_str()),
    };
    let Some(raw) = raw else {
        return Ok(());
    };
    let (host, port) = match split_host_port(raw) {
        Some((host, Some(port))) => (host, port),
        Some((_, None)) => return Err(host_refused(rule, raw)),
        None => (raw, 80),
    };
    if rule.accepts(host, port) {
        Ok(())
    } else {
        Err(host_refused(rule, raw))
    }
}

fn host_refused(rule: &HostRule, raw: &str) -> ApiError {
    ApiError::forbidden(format!(
        "Host {raw:?} does not name this server (a web page may be trying to reach it \
         through DNS rebinding); {}",
        rule.advice()
    ))
    .with_code("host_not_allowed")
}

fn check_origin(rule: &HostRule, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("<not text>");
    let accepted = reqwest::Url::parse(text).ok().is_some_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && match (url.host_str(), url.port_or_known_default()) {
                (Some(host), Some(port)) => rule.accepts(host, port),
                _ => false,
            }
    });
    if accepted {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "requests from web pages at Origin {text:?} are refused: this API is for SDKs, \
             curl and pages served from this server (send no Origin header); {}",
            rule.advice()
        ))
        .with_code("origin_not_allowed"))
    }
}

/// Whether the request says it carries a body.
fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match length {
        Some(length) => length > 0,
        None => headers.contains_key(header::TRANSFER_ENCODING),
    }
}

/// Whether `media` (lowercase, without parameters) is JSON.
fn is_json(media: &str) -> bool {
    JSON_TYPES.contains(&media)
        || media
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json") && sub.len() > "+json".len())
}

fn check_content_type(path: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    if !has_body(headers) {
        return Ok(());
    }
    let given = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let media = given.as_deref().map(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let import = path == IMPORT_PATH;
    let accepted = media
        .as_deref()
        .is_some_and(|m| is_json(m) || (import && JSON_LINES_TYPES.contains(&m)));
    if accepted {
        return Ok(());
    }
    let types = if import {
        format!(
            "application/json, {} or an application/*+json type",
            JSON_LINES_TYPES.join(", ")
        )
    } else {
        "application/json (charset=utf-8 allowed) or an application/*+json type".to_owned()
    };
    let what = match &given {
        Some(given) => format!("content-type {given:?} is not accepted"),
        None => "the request has a body but no content-type".to_owned(),
    };
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request_error",
        format!("{what}: send the body as {types}"),
    )
    .with_code("unsupported_media_type"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(listen: &str, allowed: &[&str]) -> HostRule {
        let allowed: Vec<String> = allowed.iter().map(|s| (*s).to_owned()).collect();
        HostRule::new(listen.parse().unwrap_or_else(|e| panic!("{e}")), &allowed)
    }

    #[test]
    fn loopback_servers_answer_to_loopback_names_on_their_port() {
        let r = rule("127.0.0.1:8377", &[]);
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "[::1]",
            "::1",
            "localhost.",
        ] {
            assert!(r.accepts(host, 8377), "{host}");
        }
        assert!(!r.accepts("localhost", 80));
        assert!(!r.accepts("evil.example", 8377));
        assert!(!r.accepts("192.168.1.4", 8377));
    }

    #[test]
    fn other_addresses_need_their_ip_or_an_allowed_name() {
        let r = rule("192.168.1.4:8377", &["dream.lan", "proxy.example:443"]);
        assert!(r.accepts("192.168.1.4", 8377));
        assert!(!r.accepts("localhost", 8377));
        assert!(!r.accepts("evil.example", 8377));
        assert!(r.accepts("DREAM.lan", 8377));
        assert!(
            r.accepts("dream.lan", 80),
            "a name without a port matches any port"
        );
        assert!(r.accepts("proxy.example", 443));
        assert!(!r.accepts("proxy.example", 8377));
        let any = rule("0.0.0.0:8377", &[]);
        assert!(any.accepts("10.0.0.7", 8377) && any.accepts("localhost", 8377));
        assert!(!any.accepts("evil.example", 8377));
    }

    #[test]
    fn hosts_split_with_and_without_ports() {
        assert_eq!(split_host_port("a:1"), Some(("a", Some(1))));
        assert_eq!(split_host_port("[::1]:8"), Some(("::1", Some(8))));
        assert_eq!(split_host_port("[::1]"), None);
        assert_eq!(split_host_port("::1"), None);
        assert_eq!(split_host_port("a"), None);
        assert_eq!(split_host_port("a:x"), Some(("a", None)));
    }

    #[test]
    fn json_types_and_their_parameters_pass() {
        assert!(is_json("application/json"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("application/+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("text/json+json"));
    }
}
