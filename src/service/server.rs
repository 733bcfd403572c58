//! The listener: accepts connections up to a cap and serves each with HTTP/1.1 under
//! read timeouts, so that slow or idle clients cannot hold the process's sockets.
//!
//! - `header_timeout`: a request's line and headers must arrive within it; hyper arms
//!   it whenever the connection waits for a request, so it is also the idle timeout of
//!   keep-alive connections. A connection that misses it is closed.
//! - `body_timeout` (see [`read_body`]): the whole body must arrive within it, or the
//!   request is answered `408 E4080`.
//! - `max_connections`: one more connection is answered `503 E5030` with `Retry-After`
//!   and closed.
//! - Request line and headers larger than [`MAX_HEAD_BYTES`] are answered `431 E4310`
//!   (larger than hyper's read buffer of [`READ_BUFFER_BYTES`], hyper itself answers a
//!   bare 431).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::AppState;
use super::error::ApiError;

/// Largest request line plus headers answered normally, in bytes.
pub const MAX_HEAD_BYTES: usize = 64 << 10;

/// hyper's read buffer per connection: heads beyond it get hyper's bare 431.
pub const READ_BUFFER_BYTES: usize = 1 << 20;

/// Raises the soft limit of open files to the hard limit (where the platform allows)
/// and returns the soft limit in force.
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current < lim.maximum {
        lim.current = lim.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, lim) {
            tracing::warn!("cannot raise the open-files limit: {e}");
        }
    }
    getrlimit(Resource::Nofile).current
}

/// Refuses a request whose line and headers are larger than [`MAX_HEAD_BYTES`], and
/// reads the body within the configured body timeout.
pub async fn read_body(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let head = req.uri().to_string().len()
        + req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if head > MAX_HEAD_BYTES {
        return ApiError::new(
            "E4310",
            format!("the request line and headers are {head} bytes, more than {MAX_HEAD_BYTES}"),
        )
        .into_response();
    }
    if super::snapshot::is_ndjson(req.headers()) && req.uri().path() == "/v1/inventory" {
        // A streamed snapshot is read by its handler, line by line, under its own limit.
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let limit = state.config.max_body_bytes;
    let bytes =
        match tokio::time::timeout(state.config.body_timeout, axum::body::to_bytes(body, limit))
            .await
        {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => {
                return ApiError::new(
                    "E4002",
                    "request body is larger than the limit or was cut off",
                )
                .into_response();
            }
            Err(_) => {
                return ApiError::new(
                    "E4080",
                    format!(
                        "the request body did not arrive within {} s",
                        state.config.body_timeout.as_secs_f64()
                    ),
                )
                .into_response();
            }
        };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Serves `app` on `listener` until `stop` turns true, then lets the open connections
/// finish their requests (idle ones close at once) and returns.
pub async fn run(
    listener: TcpListener,
    app: Router,
    state: Arc<AppState>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(state.config.max_connections.max(1)));
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let stopping = async {
            let _ = stop.wait_for(|s| *s).await;
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = stopping => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors or similar: do not spin on it.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        while conns.try_join_next().is_some() {}
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            state.metrics.observe_status(503);
            state.metrics.reject("connections");
            tokio::spawn(refuse(stream, state.config.max_connections));
            continue;
        };
        let (app, state, stop) = (app.clone(), state.clone(), stop.clone());
        conns.spawn(async move {
            serve_connection(stream, peer, app, &state, stop).await;
            drop(permit);
        });
    }
    while conns.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    state: &AppState,
    mut stop: watch::Receiver<bool>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.config.header_timeout)
        .max_buf_size(READ_BUFFER_BYTES)
        .keep_alive(true);
    let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let stopping = async {
        let _ = stop.wait_for(|s| *s).await;
    };
    let finished = tokio::select! {
        r = conn.as_mut() => Some(r),
        () = stopping => None,
    };
    let result = match finished {
        Some(r) => r,
        None => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        if e.is_timeout() {
            // The head of a request, or the next request on an idle keep-alive
            // connection, did not arrive within header_timeout.
            state.metrics.reject("header_timeout");
        }
        tracing::debug!(%peer, "connection ended: {e}");
    }
}

/// Answers a connection beyond the cap with `503 E5030` and closes it (after reading
/// what the client sent at once, so that closing does not reset the answer away).
async fn refuse(mut stream: TcpStream, cap: usize) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 8192];
    let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
    let body = serde_json::json!({"error": {"code": "E5030", "message": format!("too many open connections (the limit is {cap}); retry later"), "details": []}}).to_string();
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = stream.write_all(resp.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
