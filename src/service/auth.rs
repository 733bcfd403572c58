//! Authentication, authorization and cross-site protection: [`guard`], a layer over the
//! whole router, and [`same_site`], a layer over its routes.
//!
//! - API keys come from a file (`--api-keys`): one key per line, `SHA256-HEX ROLE NAME`,
//!   `#` comments and blank lines allowed. Only the SHA-256 of a key is stored.
//! - A request carries `Authorization: Bearer KEY`; the key's hash is compared with
//!   every stored hash in constant time. No key or an unknown key is `401 E4010`
//!   (with `WWW-Authenticate: Bearer`), a role too low for the route `403 E4030`.
//! - Roles are ordered: `admin` (network, inventory, capacity) above `writer` (orders,
//!   cancel, reroute, plan) above `reader` (GET routes). `/healthz`, `/readyz` and
//!   `/openapi.json` are open; `/metrics` is open unless `metrics_auth` is set.
//! - Writes (POST, PUT, PATCH, DELETE) need `Content-Type: application/json`
//!   (`415 E4150`), and an `Origin` header, when present, must name the server's own
//!   host and port (`403 E4031`).
//! - Every write, refused or not, is logged at info level with target `audit`: the
//!   key's name (`anonymous` without keys, `unauthenticated` without a valid one),
//!   method, path, status and, when the handler knows it, how many rows or orders the
//!   body held ([`AuditRows`]).

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;

/// What a key may do; a higher role may do everything a lower one may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// GET routes.
    Reader,
    /// Orders, cancel, reroute and `/v1/plan`, and what a reader may.
    Writer,
    /// Network, inventory and capacity, and what a writer may.
    Admin,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "writer" => Some(Role::Writer),
            "reader" => Some(Role::Reader),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Writer => "writer",
            Role::Reader => "reader",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One stored key: the SHA-256 of the key, its role and a name for the audit log.
#[derive(Clone)]
pub struct ApiKey {
    hash: [u8; 32],
    /// What the key may do.
    pub role: Role,
    /// The key's name, logged with every write.
    pub name: String,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("role", &self.role)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The keys the server accepts.
#[derive(Debug, Clone)]
pub struct KeyTable {
    keys: Vec<ApiKey>,
}

/// The SHA-256 of `key`, as 64 lowercase hex digits (the form the key file stores).
pub fn hash_hex(key: &[u8]) -> String {
    Sha256::digest(key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl KeyTable {
    /// Parses a key file's text; an error names the first bad line.
    pub fn parse(text: &str) -> Result<KeyTable, String> {
        let mut keys: Vec<ApiKey> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| format!("line {}: {why}", i + 1);
            let mut parts = line.splitn(3, char::is_whitespace);
            let (hash, role, name) = (parts.next(), parts.next(), parts.next().map(str::trim));
            let hash = hash
                .and_then(parse_hash)
                .ok_or_else(|| bad("expected `SHA256-HEX ROLE NAME` with 64 hex digits first"))?;
            let role = role
                .and_then(Role::parse)
                .ok_or_else(|| bad("the role is one of admin, writer, reader"))?;
            let name = name
                .filter(|n| !n.is_empty())
                .ok_or_else(|| bad("the key has no name"))?;
            if keys.iter().any(|k| k.hash == hash) {
                return Err(bad("this hash is already listed"));
            }
            keys.push(ApiKey {
                hash,
                role,
                name: name.to_string(),
            });
        }
        if keys.is_empty() {
            return Err("the file lists no keys".into());
        }
        Ok(KeyTable { keys })
    }

    /// Reads and parses a key file.
    pub fn load(path: &Path) -> Result<KeyTable, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        KeyTable::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The stored key matching `presented`. Every stored hash is compared in full, so
    /// the time taken does not depend on which key (if any) matches or where.
    pub fn find(&self, presented: &[u8]) -> Option<&ApiKey> {
        let hash: [u8; 32] = Sha256::digest(presented).into();
        let mut found = None;
        for key in &self.keys {
            let diff = key
                .hash
                .iter()
                .zip(hash.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if std::hint::black_box(diff) == 0 {
                found = Some(key);
            }
        }
        found
    }
}

/// Refuses a bind that would expose an unauthenticated service: without keys only a
/// loopback address is allowed, unless `insecure_no_auth` is set.
pub fn check_bind(listen: SocketAddr, keys: bool, insecure_no_auth: bool) -> Result<(), String> {
    if keys || insecure_no_auth || listen.ip().is_loopback() {
        return Ok(());
    }
    Err(format!(
        "--listen {listen} is not a loopback address: give --api-keys FILE to require keys, or --insecure-no-auth to serve without them"
    ))
}

/// How many rows or orders a write's body held, set by handlers as a response
/// extension for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct AuditRows(pub usize);

/// The role a request needs; `None` for open routes.
fn required(method: &Method, path: &str, metrics_auth: bool) -> Option<Role> {
    match path {
        // The operations page holds no data: it reads the API with the user's key.
        "/" | "/healthz" | "/readyz" | "/openapi.json" => return None,
        "/metrics" => return metrics_auth.then_some(Role::Reader),
        _ => {}
    }
    if !is_write(method) {
        return Some(Role::Reader);
    }
    let admin = path == "/v1/network"
        || path == "/v1/inventory"
        || path.starts_with("/v1/inventory/")
        || path.starts_with("/v1/capacity/");
    Some(if admin { Role::Admin } else { Role::Writer })
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The bearer token of the `Authorization` header.
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = v.split_at(v.iter().position(|&b| b == b' ')?);
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| token.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// Who is calling (the key's name, `unauthenticated` without a valid key) and the
/// refusal, if any.
fn authenticate(
    keys: &KeyTable,
    headers: &HeaderMap,
    need: Option<Role>,
) -> (String, Result<(), ApiError>) {
    let key = bearer(headers).and_then(|t| keys.find(t));
    let who = key.map_or_else(|| "unauthenticated".into(), |k| k.name.clone());
    let verdict = match (need, key) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(ApiError::new(
            "E4010",
            "a valid API key is required: send `Authorization: Bearer KEY`",
        )),
        (Some(need), Some(key)) if key.role < need => Err(ApiError::new(
            "E4030",
            format!(
                "key \"{}\" has role {}; this route needs {need}",
                key.name, key.role
            ),
        )),
        (Some(_), Some(_)) => Ok(()),
    };
    (who, verdict)
}

/// Writes the audit line of a write.
fn audit(who: &str, method: &Method, path: &str, resp: &Response) {
    let status = resp.status().as_u16();
    match resp.extensions().get::<AuditRows>() {
        Some(AuditRows(rows)) => {
            tracing::info!(target: "audit", key = %who, %method, %path, status, rows, "write")
        }
        None => tracing::info!(target: "audit", key = %who, %method, %path, status, "write"),
    }
}

/// The host and port an origin or `Host` value names, with the scheme's default port
/// made explicit.
fn authority(host: &str, default_port: &str) -> String {
    let host = host.to_ascii_lowercase();
    let has_port = match host.rfind(']') {
        Some(end) => host[end..].contains(':'),
        None => host.contains(':'),
    };
    if has_port {
        host
    } else {
        format!("{host}:{default_port}")
    }
}

/// Whether `Origin` names the server's own host and port (the `Host` header). Either
/// scheme is accepted, since TLS may be terminated by a reverse proxy.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(Ok(host))) = (
        origin.to_str(),
        headers.get(header::HOST).map(|h| h.to_str()),
    ) else {
        return false;
    };
    let (port, rest) = if let Some(r) = origin.strip_prefix("http://") {
        ("80", r)
    } else if let Some(r) = origin.strip_prefix("https://") {
        ("443", r)
    } else {
        return false;
    };
    authority(rest, port) == authority(host, port)
}

/// Refuses cross-site writes: a body that is not JSON, or a foreign `Origin`.
fn cross_site(headers: &HeaderMap) -> Option<ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim();
            // Neither is a type a cross-site form may send without a preflight.
            m.eq_ignore_ascii_case("application/json")
                || m.eq_ignore_ascii_case(super::snapshot::NDJSON)
        });
    if !json {
        return Some(ApiError::new(
            "E4150",
            "writes need `Content-Type: application/json` (or `application/x-ndjson` for a streamed inventory snapshot)",
        ));
    }
    if !same_origin(headers) {
        return Some(ApiError::new(
            "E4031",
            "the Origin header names another site than this server",
        ));
    }
    None
}

/// The route layer refusing cross-site writes. It wraps the routes only, so a method
/// no route accepts stays `405 E4050`.
pub async fn same_site(req: Request, next: Next) -> Response {
    if is_write(req.method())
        && let Some(e) = cross_site(req.headers())
    {
        return e.into_response();
    }
    next.run(req).await
}

/// The middleware: authenticates and authorizes the request and writes the audit line
/// of every write.
pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let write = is_write(&method);
    let keys = state.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
    let who = match &keys {
        Some(keys) => {
            let need = required(&method, &path, state.config.metrics_auth);
            let (who, verdict) = authenticate(keys, req.headers(), need);
            if let Err(e) = verdict {
                let mut resp = e.into_response();
                if resp.status() == StatusCode::UNAUTHORIZED {
                    resp.headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                }
                if write {
                    audit(&who, &method, &path, &resp);
                }
                return resp;
            }
            who
        }
        None => "anonymous".to_string(),
    };
    let resp = next.run(req).await;
    if write {
        audit(&who, &method, &path, &resp);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    #[test]
    fn hash_hex_is_sha256() {
        assert_eq!(hash_hex(b"foo"), HASH);
    }

    #[test]
    fn parse_finds_keys_and_names_bad_lines() {
        let t = KeyTable::parse(&format!("# keys\n\n{HASH} writer ops team\n")).unwrap();
        let k = t.find(b"foo").unwrap();
        assert_eq!((k.role, k.name.as_str()), (Role::Writer, "ops team"));
        assert!(t.find(b"bar").is_none());
        let e = KeyTable::parse(&format!("{HASH} writer a\n{HASH} boss b\n")).unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        assert!(
            KeyTable::parse("abc reader x")
                .unwrap_err()
                .starts_with("line 1:")
        );
        assert!(KeyTable::parse(&format!("{HASH} reader")).is_err());
        assert!(KeyTable::parse("# none\n").is_err());
    }

    #[test]
    fn bearer_takes_the_token_of_either_case() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::AUTHORIZATION, v.parse().unwrap());
            bearer(&m).map(<[u8]>::to_vec)
        };
        assert_eq!(h("Bearer abc"), Some(b"abc".to_vec()));
        assert_eq!(h("bearer  abc "), Some(b"abc".to_vec()));
        assert_eq!(h("Basic abc"), None);
        assert_eq!(h("Bearer "), None);
        assert_eq!(h("Bearer"), None);
    }

    #[test]
    fn routes_need_their_roles() {
        assert_eq!(required(&Method::GET, "/healthz", true), None);
        assert_eq!(required(&Method::GET, "/metrics", false), None);
        assert_eq!(required(&Method::GET, "/metrics", true), Some(Role::Reader));
        assert_eq!(
            required(&Method::GET, "/v1/network", false),
            Some(Role::Reader)
        );
        assert_eq!(
            required(&Method::PUT, "/v1/network", false),
            Some(Role::Admin)
        );
        let deltas = required(&Method::POST, "/v1/inventory/deltas", false);
        assert_eq!(deltas, Some(Role::Admin));
        let reset = required(&Method::POST, "/v1/capacity/reset", false);
        assert_eq!(reset, Some(Role::Admin));
        assert_eq!(
            required(&Method::POST, "/v1/orders", false),
            Some(Role::Writer)
        );
        assert_eq!(
            required(&Method::POST, "/v1/plan", false),
            Some(Role::Writer)
        );
    }

    #[test]
    fn origins_compare_host_and_port() {
        let h = |origin: &str, host: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ORIGIN, origin.parse().unwrap());
            m.insert(header::HOST, host.parse().unwrap());
            same_origin(&m)
        };
        assert!(h("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(h("https://api.example.com", "api.example.com"));
        assert!(h("http://api.example.com", "api.example.com:80"));
        assert!(!h("http://evil.example", "127.0.0.1:8080"));
        assert!(!h("http://127.0.0.1:9999", "127.0.0.1:8080"));
        assert!(!h("null", "127.0.0.1:8080"));
        assert!(same_origin(&HeaderMap::new()));
    }

    #[test]
    fn binds_beyond_loopback_need_keys() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(check_bind(lo, false, false).is_ok());
        assert!(check_bind(any, false, false).is_err());
        assert!(check_bind(any, true, false).is_ok());
        assert!(check_bind(any, false, true).is_ok());
    }
}
