//! Request parts read so that every refusal keeps the service's error shape: query
//! parameters and path ids with their own errors (naming `?param` or the path), and a
//! last layer that puts any other 4xx/5xx body (a rejection from axum or a layer) into
//! the shape with the code its status maps to.

use std::str::FromStr;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::ApiError;

/// The query string's `name=value` pairs, refusing percent-encoding that is not UTF-8.
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| Params(pairs))
            .map_err(|e| {
                ApiError::new(
                    "E4000",
                    format!("the query string does not decode: {}", e.body_text()),
                )
            })
    }
}

impl Params {
    /// Refuses any parameter not in `allowed` (`422 E4001`, one entry per parameter).
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        let details: Vec<_> = self
            .0
            .iter()
            .filter(|(k, _)| !allowed.contains(&k.as_str()))
            .map(|(k, _)| {
                let k: String = k.chars().take(64).collect();
                json!({"code": "E4001", "path": format!("?{k}"), "message": format!("unknown query parameter; allowed: {}", allowed.join(", "))})
            })
            .collect();
        if details.is_empty() {
            return Ok(());
        }
        Err(ApiError::with_details(
            "E4001",
            "the query string names unknown parameters",
            details,
        ))
    }

    /// The last value of `name`, parsed; `want` says what it must be (`422 E4001`
    /// with the path `?name` when it does not parse).
    pub fn get<T: FromStr>(&self, name: &str, want: &str) -> Result<Option<T>, ApiError> {
        let Some((_, raw)) = self.0.iter().rev().find(|(k, _)| k == name) else {
            return Ok(None);
        };
        raw.parse().map(Some).map_err(|_| {
            let shown: String = raw.chars().take(64).collect();
            ApiError::with_details(
                "E4001",
                format!("?{name} is {want}"),
                vec![
                    json!({"code": "E4001", "path": format!("?{name}"), "message": format!("{want}; got {shown:?}")}),
                ],
            )
        })
    }
}

/// The single `{id}` or `{sku}` segment of a route, refusing percent-encoding that is
/// not UTF-8 (`400 E4000`).
pub struct Segment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(s)| Segment(s))
            .map_err(|e| {
                ApiError::new(
                    "E4000",
                    format!("the path does not decode: {}", e.body_text()),
                )
            })
    }
}

/// The code of a response that carries only a status.
fn code_of(status: u16) -> &'static str {
    match status {
        404 => "E4040",
        405 => "E4050",
        413 => "E4002",
        422 => "E4001",
        431 => "E4310",
        500.. => "E5000",
        _ => "E4000",
    }
}

/// Puts any error response that is not already JSON into the error shape, keeping its
/// status and its text as the message.
pub async fn error_shape(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text.trim().to_string()
    };
    let code = code_of(status.as_u16());
    let body = json!({"error": {"code": code, "message": message, "details": []}}).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body)).into_response()
}
