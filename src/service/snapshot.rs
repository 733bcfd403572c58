//! Streamed inventory snapshots: `PUT /v1/inventory?full=true` with
//! `Content-Type: application/x-ndjson`, one row object per line, for stock files of
//! millions of rows. The body is read as it arrives (never held whole), each line is
//! checked as the JSON body's rows are, and rows are staged in the ledger in batches
//! of [`STAGE_ROWS`], each its own short transaction, so windows go on meanwhile. Only
//! when the last line is in and every line was valid is the snapshot applied, in one
//! transaction; otherwise nothing is applied and the answer lists the bad lines.

use std::sync::Arc;

use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::AppState;
use super::bodies::read_snapshot_line;
use super::error::{ApiError, ApiResult};
use super::network::LoadedNetwork;
use super::work::blocking;
use crate::domain::InventoryRow;

/// The media type of a streamed snapshot.
pub const NDJSON: &str = "application/x-ndjson";

/// Rows staged per transaction.
pub const STAGE_ROWS: usize = 50_000;

/// Bad lines reported at most; reading stops at the next one.
pub const MAX_DETAILS: usize = 100;

/// Rows between two progress lines in the log.
pub const PROGRESS_ROWS: usize = 500_000;

/// Whether a request's content type is [`NDJSON`].
pub fn is_ndjson(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(NDJSON))
}

/// A snapshot being received: its rows so far and the bad lines found.
struct Upload {
    id: i64,
    network: Arc<LoadedNetwork>,
    line: usize,
    rows: Vec<InventoryRow>,
    staged: usize,
    details: Vec<Value>,
}

impl Upload {
    /// Checks one line (blank lines are skipped).
    fn line(&mut self, bytes: &[u8]) {
        self.line += 1;
        if bytes.iter().all(u8::is_ascii_whitespace) || self.details.len() >= MAX_DETAILS {
            return;
        }
        let path = format!("line {}", self.line);
        if let Some(row) = read_snapshot_line(&self.network, bytes, &path, &mut self.details)
            && self.details.is_empty()
        {
            self.rows.push(row);
        }
    }

    /// Stages the rows gathered, once there are enough (or `all` of them).
    async fn stage(&mut self, state: &Arc<AppState>, all: bool) -> ApiResult<()> {
        if !self.details.is_empty() || self.rows.is_empty() {
            return Ok(());
        }
        if !all && self.rows.len() < STAGE_ROWS {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let (s, id) = (state.clone(), self.id);
        let n = rows.len();
        blocking(&s, move |s| Ok(s.db().stage_rows(id, &rows)?)).await?;
        let before = self.staged;
        self.staged += n;
        if self.staged / PROGRESS_ROWS > before / PROGRESS_ROWS {
            tracing::info!(rows = self.staged, "inventory snapshot: rows received");
        }
        Ok(())
    }
}

/// Receives a streamed snapshot and applies it; answers the rows applied.
pub async fn put_streamed(
    state: &Arc<AppState>,
    network: Arc<LoadedNetwork>,
    full: bool,
    body: Body,
) -> ApiResult<(usize, Value)> {
    let mut up = Upload {
        id: rand::random::<i64>() & i64::MAX,
        network,
        line: 0,
        rows: Vec::new(),
        staged: 0,
        details: Vec::new(),
    };
    let received = receive(state, &mut up, body).await;
    let id = up.id;
    if let Err(e) = received {
        blocking(state, move |s| Ok(s.db().discard_stage(id)?)).await?;
        return Err(e);
    }
    if !up.details.is_empty() {
        blocking(state, move |s| Ok(s.db().discard_stage(id)?)).await?;
        return Err(ApiError::with_details(
            "E4001",
            "snapshot lines break the format; nothing was applied",
            up.details,
        ));
    }
    let n = blocking(state, move |s| Ok(s.db().apply_stage(id, full)?)).await?;
    tracing::info!(rows = n, full, "inventory snapshot applied");
    Ok((n, json!({"rows": n, "full": full})))
}

/// Reads the body line by line, each chunk within the body timeout and the whole
/// within the snapshot size limit, staging rows as they come.
async fn receive(state: &Arc<AppState>, up: &mut Upload, mut body: Body) -> ApiResult<()> {
    let limit = state.config.max_snapshot_bytes;
    let (mut pending, mut total) = (Vec::<u8>::new(), 0usize);
    loop {
        let frame = tokio::time::timeout(state.config.body_timeout, body.frame())
            .await
            .map_err(|_| {
                ApiError::new(
                    "E4080",
                    "the snapshot stopped arriving within the body timeout; nothing was applied",
                )
            })?;
        let Some(frame) = frame else { break };
        let frame =
            frame.map_err(|e| ApiError::new("E4000", format!("cannot read the body: {e}")))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        total += chunk.len();
        if total > limit {
            return Err(ApiError::new(
                "E4002",
                format!(
                    "the snapshot is larger than {} MiB; nothing was applied",
                    limit >> 20
                ),
            ));
        }
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|&b| b == b'\n') {
            up.line(&pending[start..start + end]);
            start += end + 1;
        }
        pending.drain(..start);
        up.stage(state, false).await?;
        if up.details.len() >= MAX_DETAILS {
            return Ok(());
        }
    }
    up.line(&pending);
    up.stage(state, true).await
}
