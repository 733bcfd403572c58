//! The HTTP API (axum). Every error response has one shape:
//! `{"error": {"code": "E4001", "message": "...", "details": [{"code", "path", "message"}]}}`
//! with a code from [`SERVICE_CODES`]. Database work runs on blocking threads.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::AuditRows;
pub use super::error::{ApiError, ErrorCode, SERVICE_CODES};
use super::error::{ApiResult, body_bytes};
use super::extract::{Params, Segment};
use super::network::LoadedNetwork;
use super::store::now;
use super::work::{blocking, current_network};
use super::{AppState, bodies, extract, metrics, snapshot};

/// The OpenAPI 3.1 document served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// The router with every route, the error fallbacks and the body limit.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/", get(super::ops::page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/network", put(put_network).get(get_network))
        .route("/v1/inventory", put(put_inventory))
        .route("/v1/inventory/deltas", post(post_deltas))
        .route("/v1/atp/{sku}", get(atp))
        .route("/v1/capacity/reset", post(reset_capacity))
        .route("/v1/orders", post(submit_orders))
        .route("/v1/orders/{id}", get(get_order))
        .route("/v1/orders/{id}/cancel", post(cancel_order))
        .route("/v1/orders/{id}/reroute", post(reroute_order))
        .route(
            "/v1/orders/{id}/alternatives",
            get(super::ops::alternatives),
        )
        .route("/v1/windows", get(list_windows))
        .route("/v1/cluster", get(super::ops::cluster))
        .route("/v1/nodes", get(super::ops::nodes))
        .route("/v1/flows", get(super::ops::flows))
        .route("/v1/charts/windows.svg", get(super::ops::windows_chart))
        .route("/v1/plan", post(super::plan::plan))
        .route("/v1/promise", post(super::promise::promise))
        .route_layer(middleware::from_fn(super::auth::same_site))
        .fallback(|| async { ApiError::new("E4040", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new("E4050", "method not allowed on this route")
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::server::read_body,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::auth::guard,
        ))
        .layer(middleware::from_fn(extract::error_shape))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Times every request under its route pattern, counts responses by class and
/// requests refused by limits, and tells readiness how writes fare.
async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let resp = next.run(req).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = resp.status();
    let m = &state.metrics;
    m.observe_status(status.as_u16());
    m.observe_latency(method.as_str(), &route, seconds);
    let code = resp.extensions().get::<ErrorCode>().map(|c| c.0);
    if let Some(reason) = code.and_then(metrics::limit_reason) {
        m.reject(reason);
    }
    if method != Method::GET && route != "unmatched" {
        match code {
            Some("E5000" | "E5070") => state.readiness.write_done(false),
            _ if status.is_success() => state.readiness.write_done(true),
            _ => {}
        }
    }
    tracing::debug!(%method, %route, status = status.as_u16(), ms = seconds * 1e3, "request");
    resp
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 when the server can take and decide orders; otherwise 503 `E5030` listing
/// every reason in `details`.
async fn readyz(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    let mut problems = blocking(&state, |s| {
        let answers = s.db().ping().is_ok();
        let mut p = s.readiness.problems(
            // The data directory's disk holds the state only with SQLite.
            s.config
                .database
                .is_none()
                .then_some(s.config.data_dir.as_path()),
            s.config.min_free_bytes,
        );
        if !answers {
            p.insert(0, "the database does not answer".into());
        }
        Ok(p)
    })
    .await?;
    if state
        .network
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .is_none()
    {
        problems.push("no network loaded (PUT /v1/network)".into());
    }
    if state.stopping.load(Ordering::SeqCst) {
        problems.push("shutting down".into());
    }
    if problems.is_empty() {
        return Ok(Json(json!({"status": "ready"})));
    }
    let details = problems
        .iter()
        .map(|p| json!({"code": "E5030", "path": "", "message": p}))
        .collect();
    Err(ApiError::with_details(
        "E5030",
        problems.join("; "),
        details,
    ))
}

async fn metrics(State(state): State<Arc<AppState>>) -> ApiResult<impl IntoResponse> {
    let (pending, oldest) = blocking(&state, |s| Ok(s.pending_queue()?)).await?;
    let queue = metrics::QueueGauges {
        pending,
        oldest_pending_seconds: oldest.map_or(0.0, |t| (now() - t).max(0.0)),
    };
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(queue),
    ))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn put_network(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let network = bodies::read_network(&body_bytes(body)?)?;
    let cached = Arc::new(LoadedNetwork::new(network.clone()));
    let summary = json!({"nodes": network.nodes.len(), "skus": network.skus.len()});
    let version = blocking(&state, move |s| Ok(s.db().set_network(&network)?)).await?;
    *state.network.write().unwrap_or_else(|e| e.into_inner()) = Some(cached);
    super::cluster::network_stored(&state, version);
    Ok(Json(summary))
}

async fn get_network(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    let net = state
        .network
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    net.map(|n| Json(serde_json::to_value(&n.config).expect("a network serializes")))
        .ok_or_else(|| ApiError::new("E4003", "no network loaded"))
}

/// `PUT /v1/inventory`: a JSON body `{"rows": [...], "full": bool}`, or a streamed
/// snapshot (`application/x-ndjson`, `?full=true`; see [`super::snapshot`]).
async fn put_inventory(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Params,
    body: Body,
) -> ApiResult<(Extension<AuditRows>, Json<Value>)> {
    let network = current_network(&state).await?;
    if snapshot::is_ndjson(&headers) {
        q.only(&["full"])?;
        let full = q.get::<bool>("full", "true or false")?.unwrap_or(false);
        let (n, answer) = snapshot::put_streamed(&state, network, full, body).await?;
        return Ok((Extension(AuditRows(n)), Json(answer)));
    }
    // The middleware has read and limited the body already.
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| ApiError::new("E4002", "request body is larger than the limit"))?;
    let snap = bodies::read_snapshot(&network, &bytes)?;
    let (n, full) = (snap.rows.len(), snap.full);
    blocking(&state, move |s| {
        Ok(s.db().set_inventory(&snap.rows, snap.full)?)
    })
    .await?;
    Ok((
        Extension(AuditRows(n)),
        Json(json!({"rows": n, "full": full})),
    ))
}

async fn post_deltas(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(Extension<AuditRows>, Json<Value>)> {
    let bytes = body_bytes(body)?;
    let network = current_network(&state).await?;
    let d = bodies::read_deltas(&network, &bytes)?;
    let n = d.deltas.len();
    let rerouted = blocking(&state, move |s| {
        Ok(s.db().apply_deltas(&d.deltas, d.force)?)
    })
    .await?;
    if !rerouted.is_empty() {
        tracing::warn!(orders = ?rerouted, "inventory deltas re-routed over-promised orders");
        state.wake.notify_one();
    }
    Ok((
        Extension(AuditRows(n)),
        Json(json!({"applied": n, "rerouted": rerouted})),
    ))
}

async fn atp(State(state): State<Arc<AppState>>, Segment(sku): Segment) -> ApiResult<Json<Value>> {
    let network = current_network(&state).await?;
    if !network.has_sku(&sku) {
        return Err(ApiError::new("E4040", format!("sku \"{sku}\" not found")));
    }
    let rows = blocking(&state, move |s| Ok(s.db().inventory_of(&sku)?)).await?;
    let total: i64 = rows.iter().map(|r| r.available()).sum();
    let nodes: Vec<Value> = rows
        .iter()
        .map(|r| json!({"node": r.node, "on_hand": r.on_hand, "reserved": r.reserved, "safety_stock": r.safety_stock, "available": r.available()}))
        .collect();
    Ok(Json(
        json!({"sku": rows.first().map(|r| r.sku.clone()), "available": total, "nodes": nodes}),
    ))
}

async fn reset_capacity(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    blocking(&state, |s| Ok(s.db().reset_capacity()?)).await?;
    Ok(Json(json!({"reset": true})))
}

async fn submit_orders(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Extension<AuditRows>, Json<Value>)> {
    let bytes = body_bytes(body)?;
    let network = current_network(&state).await?;
    let orders = bodies::read_orders(&network, &bytes)?;
    let rows = AuditRows(orders.len());
    let (outcome, pending) = blocking(&state, move |s| {
        let before = s.pending_for_submit()?;
        let ceiling = s.config.max_pending;
        if before + orders.len() > ceiling {
            let retry = s.config.window.as_secs_f64().ceil() as u64;
            return Err(ApiError::new(
                "E4291",
                format!(
                    "{before} orders are pending and the ceiling is {ceiling}; this batch of {} was not stored, retry after {retry} s",
                    orders.len()
                ),
            )
            .with_retry_after(retry));
        }
        let outcome = s.db().submit(&orders)?;
        s.note_accepted(outcome.accepted);
        let pending = before + outcome.accepted;
        Ok((outcome, pending))
    })
    .await?;
    let m = &state.metrics;
    m.orders_accepted
        .fetch_add(outcome.accepted as u64, Ordering::Relaxed);
    m.orders_duplicate
        .fetch_add(outcome.duplicates as u64, Ordering::Relaxed);
    if pending >= state.config.max_orders {
        state.wake.notify_one();
    }
    Ok((
        StatusCode::ACCEPTED,
        Extension(rows),
        Json(
            json!({"accepted": outcome.accepted, "duplicates": outcome.duplicates, "pending": pending}),
        ),
    ))
}

async fn get_order(
    State(state): State<Arc<AppState>>,
    Segment(id): Segment,
) -> ApiResult<Json<Value>> {
    let rec = blocking(&state, move |s| {
        s.db()
            .order(&id)?
            .ok_or_else(|| ApiError::new("E4040", format!("order \"{id}\" not found")))
    })
    .await?;
    Ok(Json(serde_json::to_value(rec).expect("records serialize")))
}

async fn cancel_order(
    State(state): State<Arc<AppState>>,
    Segment(id): Segment,
) -> ApiResult<Json<Value>> {
    let rec = blocking(&state, move |s| Ok(s.db().cancel(&id)?)).await?;
    Ok(Json(serde_json::to_value(rec).expect("records serialize")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reroute {
    /// The node that rejected the order.
    exclude_node: String,
}

async fn reroute_order(
    State(state): State<Arc<AppState>>,
    Segment(id): Segment,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let r: Reroute = bodies::typed(&body_bytes(body)?)?;
    let network = current_network(&state).await?;
    if !network.has_node(&r.exclude_node) {
        return Err(ApiError::with_details(
            "E4001",
            "unknown node",
            vec![
                json!({"code": "E1506", "path": "$.exclude_node", "message": format!("unknown node \"{}\"", r.exclude_node)}),
            ],
        ));
    }
    let rec = blocking(&state, move |s| Ok(s.db().reroute(&id, &r.exclude_node)?)).await?;
    Ok(Json(serde_json::to_value(rec).expect("records serialize")))
}

async fn list_windows(State(state): State<Arc<AppState>>, q: Params) -> ApiResult<Json<Value>> {
    q.only(&["limit"])?;
    let limit = q
        .get::<usize>("limit", "a whole number >= 0")?
        .unwrap_or(50)
        .min(10_000);
    let windows = blocking(&state, move |s| Ok(s.db().windows(limit)?)).await?;
    Ok(Json(json!({"windows": windows})))
}
