//! The service's one error shape: every code with its HTTP status and meaning, the
//! error response, and the conversions from storage and reader errors.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::store::{DbError, StoreError};
use crate::format::{Issue, ReadError};

/// Every service error code with its HTTP status and meaning (the README's code list is
/// checked against this list).
pub const SERVICE_CODES: &[(&str, u16, &str)] = &[
    (
        "E4000",
        400,
        "the body is not JSON or not the expected shape, or the query string or path does not decode",
    ),
    (
        "E4001",
        422,
        "the document breaks the format; `details` lists every violation with its E1xxx code and path",
    ),
    ("E4002", 413, "the body is larger than the configured limit"),
    (
        "E4003",
        409,
        "no network is loaded yet (PUT /v1/network first)",
    ),
    (
        "E4004",
        409,
        "an order id is already used with a different body",
    ),
    (
        "E4005",
        409,
        "not allowed in the current state (e.g. cancelling a cancelled order, a pick larger than what is reserved)",
    ),
    (
        "E4010",
        401,
        "no API key, or an unknown one: send `Authorization: Bearer KEY` (the answer carries `WWW-Authenticate: Bearer`)",
    ),
    (
        "E4030",
        403,
        "the API key's role may not use this route (admin: network, inventory, capacity; writer: orders, plan; reader: GET)",
    ),
    (
        "E4031",
        403,
        "a cross-site write: the `Origin` header names another host or port than the server's",
    ),
    ("E4040", 404, "no such order, sku or route"),
    ("E4050", 405, "method not allowed on this route"),
    (
        "E4080",
        408,
        "the request body did not arrive within the body timeout",
    ),
    (
        "E4150",
        415,
        "a write (POST, PUT, DELETE) without `Content-Type: application/json`",
    ),
    (
        "E4290",
        429,
        "too many requests: every /v1/plan slot and queue place is taken (see Retry-After)",
    ),
    (
        "E4291",
        429,
        "too many pending orders: the backlog is at the configured ceiling (`--max-pending`); nothing in this batch was stored (see Retry-After)",
    ),
    (
        "E4310",
        431,
        "the request line or headers are larger than the limit",
    ),
    (
        "E5000",
        500,
        "internal error (database); nothing was half-written",
    ),
    (
        "E5030",
        503,
        "not ready: the database does not answer or refuses writes, windows keep failing, the disk is nearly full, no network is loaded, the server is shutting down, or the connection limit is reached",
    ),
    (
        "E5070",
        507,
        "the disk of the data directory is full; nothing was stored",
    ),
];

/// The code of an error response, kept in the response's extensions so that the
/// metrics and readiness layer can tell limits and storage failures apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// An error response in the service's one shape.
#[derive(Debug)]
pub struct ApiError {
    code: &'static str,
    message: String,
    details: Vec<Value>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a code from [`SERVICE_CODES`].
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    /// The same error answered with `Retry-After: seconds`.
    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// An error with a code from [`SERVICE_CODES`] and its `details` entries.
    pub fn with_details(
        code: &'static str,
        message: impl Into<String>,
        details: Vec<Value>,
    ) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details,
            retry_after: None,
        }
    }

    pub(super) fn with_issues(code: &'static str, message: &str, issues: &[Issue]) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            details: issues
                .iter()
                .map(|i| json!({"code": i.code, "path": i.path, "message": i.message, "hint": i.hint}))
                .collect(),
            retry_after: None,
        }
    }

    /// Puts `details` before the ones it has.
    pub(super) fn prepend_details(&mut self, details: Vec<Value>) {
        self.details.splice(0..0, details);
    }

    fn status(&self) -> StatusCode {
        let code = SERVICE_CODES
            .iter()
            .find(|(c, _, _)| *c == self.code)
            .map_or(500, |&(_, s, _)| s);
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body =
            json!({"error": {"code": self.code, "message": self.message, "details": self.details}});
        let mut resp = (status, Json(body)).into_response();
        resp.extensions_mut().insert(ErrorCode(self.code));
        if let Some(seconds) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        resp
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        tracing::error!("database error: {e}");
        if e.disk_full {
            return ApiError::new(
                "E5070",
                "the disk of the data directory is full; nothing was stored",
            );
        }
        ApiError::new("E5000", "database error")
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Db(e) => e.into(),
            StoreError::Conflict(ids) => ApiError {
                code: "E4004",
                message: format!("{} order id(s) already used with a different body; nothing in this batch was stored", ids.len()),
                details: ids.iter().map(|id| json!({"code": "E4004", "path": "$.orders", "message": format!("order \"{id}\" differs from the stored one")})).collect(),
                retry_after: None,
            },
            StoreError::NotFound(what) => ApiError::new("E4040", format!("{what} not found")),
            StoreError::State(msg) => ApiError::new("E4005", msg),
            StoreError::OverPromised(rows) => ApiError::with_details(
                "E4005",
                "the deltas leave stock below what decided orders reserve; nothing was applied. Send \"force\": true to apply them and re-route those orders into the next window",
                rows.into_iter()
                    .map(|r| json!({"code": "E4005", "path": "$.deltas", "message": r}))
                    .collect(),
            ),
            StoreError::Fenced(msg) => {
                tracing::error!("fenced: {msg}");
                ApiError::new("E5000", "this replica lost its lease")
            }
        }
    }
}

/// A handler's result: a value or the error response.
pub(super) type ApiResult<T> = Result<T, ApiError>;

/// The request body, or the error for one too large or unreadable.
pub(super) fn body_bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new("E4002", "request body is larger than the limit")
        } else {
            ApiError::new("E4000", format!("cannot read the body: {e}"))
        }
    })
}

/// The error for a document that breaks the format, with the reader's issues.
pub(super) fn invalid(e: &ReadError) -> ApiError {
    ApiError::with_issues("E4001", "the document breaks the format", e.issues())
}
