//! The HTTP API (axum). Every error response has one shape:
//! `{"error": {"code": "E4001", "message": "...", "details": [{"code", "path", "message"}]}}`
//! with a code from [`SERVICE_CODES`]. Database work runs on blocking threads.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::AuditRows;
pub use super::error::{ApiError, SERVICE_CODES};
use super::error::{ApiResult, body_bytes, invalid};
use super::extract::{Params, Segment};
use super::store::{InventoryDelta, MAX_COUNT, NetworkConfig};
use super::{AppState, extract, fields};
use crate::domain::{INSTANCE_FORMAT, Instance, InventoryRow, Order};
use crate::format::{ReadError, instance_from_value};

/// The OpenAPI 3.1 document served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// Runs database work on a blocking thread.
async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&AppState) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || f(&s))
        .await
        .map_err(|e| ApiError::new("E5000", format!("worker failed: {e}")))?
}

fn json_value(bytes: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            "E4000",
            format!(
                "body is not valid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

/// Deserializes a typed body, naming the offending field's path.
fn typed<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::new("E4000", format!("body is not valid JSON: {inner}"))
        } else {
            ApiError::with_details("E4001", "the body breaks the format", vec![json!({"code": "E4001", "path": format!("$.{}", e.path()), "message": inner.to_string()})])
        }
    })
}

/// The router with every route, the error fallbacks and the body limit.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
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
        .route("/v1/windows", get(list_windows))
        .route("/v1/plan", post(super::plan::plan))
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

async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let resp = next.run(req).await;
    state.metrics.observe_status(resp.status().as_u16());
    tracing::debug!(%method, %path, status = resp.status().as_u16(), ms = started.elapsed().as_secs_f64() * 1e3, "request");
    resp
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    blocking(&state, |s| {
        s.db()
            .ping()
            .and_then(|()| s.intake().ping())
            .map_err(|_| ApiError::new("E5030", "database does not answer"))
    })
    .await?;
    if state
        .network
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .is_none()
    {
        return Err(ApiError::new(
            "E5030",
            "no network loaded (PUT /v1/network)",
        ));
    }
    if state.stopping.load(Ordering::SeqCst) {
        return Err(ApiError::new("E5030", "shutting down"));
    }
    Ok(Json(json!({"status": "ready"})))
}

async fn metrics(State(state): State<Arc<AppState>>) -> ApiResult<impl IntoResponse> {
    let pending = blocking(&state, |s| Ok(s.pending_count()?)).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(pending),
    ))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Validates a network body by wrapping it into an otherwise empty instance.
fn validate_network(value: &Value) -> ApiResult<NetworkConfig> {
    let Value::Object(map) = value else {
        return Err(ApiError::new("E4000", "the network is a JSON object"));
    };
    let ids = fields::network_issues(value);
    let mut doc = map.clone();
    doc.insert("format".into(), INSTANCE_FORMAT.into());
    doc.insert("name".into(), "network".into());
    doc.insert("inventory".into(), json!([]));
    doc.insert("orders".into(), json!([]));
    let inst = read_with(instance_from_value(&Value::Object(doc)), ids)?;
    Ok(NetworkConfig {
        nodes: inst.nodes,
        skus: inst.skus,
        rate_card: inst.rate_card,
        costs: inst.costs,
    })
}

/// The instance read, or `E4001` listing the service's own `issues` first and then
/// the reader's.
fn read_with(read: Result<Instance, ReadError>, issues: Vec<Value>) -> ApiResult<Instance> {
    let mut e = match read {
        Ok(inst) if issues.is_empty() => return Ok(inst),
        Ok(_) => ApiError::new("E4001", "the document breaks the format"),
        Err(e) => invalid(&e),
    };
    e.prepend_details(issues);
    Err(e)
}

async fn put_network(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let value = json_value(&body_bytes(body)?)?;
    let network = validate_network(&value)?;
    let cached = Arc::new(serde_json::to_value(&network).expect("network serializes"));
    let summary = json!({"nodes": network.nodes.len(), "skus": network.skus.len()});
    blocking(&state, move |s| Ok(s.db().set_network(&network)?)).await?;
    *state.network.write().unwrap_or_else(|e| e.into_inner()) = Some(cached);
    Ok(Json(summary))
}

async fn get_network(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    let net = state
        .network
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    net.map(|n| Json((*n).clone()))
        .ok_or_else(|| ApiError::new("E4003", "no network loaded"))
}

fn current_network(state: &AppState) -> ApiResult<Arc<Value>> {
    state
        .network
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or_else(|| ApiError::new("E4003", "no network loaded (PUT /v1/network first)"))
}

/// The ids of the network's `nodes` or `skus`, built once per request so that checking
/// many rows stays linear.
fn ids<'a>(network: &'a Value, list: &str) -> std::collections::HashSet<&'a str> {
    network[list]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["id"].as_str()).collect())
        .unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotRow {
    node: String,
    sku: String,
    on_hand: u64,
    #[serde(default)]
    safety_stock: u64,
}

/// An E1007 detail when a count is above [`MAX_COUNT`].
fn too_large(path: String, n: u64) -> Option<Value> {
    (n > MAX_COUNT as u64).then(|| {
        json!({"code": "E1007", "path": path, "message": format!("{n} is larger than {MAX_COUNT}"), "hint": "counts are at most 1000000000"})
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Snapshot {
    rows: Vec<SnapshotRow>,
    /// A full snapshot zeroes on_hand of every row it does not name.
    #[serde(default)]
    full: bool,
}

async fn put_inventory(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(Extension<AuditRows>, Json<Value>)> {
    let snap: Snapshot = typed(&body_bytes(body)?)?;
    let network = current_network(&state)?;
    let (nodes, skus) = (ids(&network, "nodes"), ids(&network, "skus"));
    let mut details = Vec::new();
    for (i, r) in snap.rows.iter().enumerate() {
        if !nodes.contains(r.node.as_str()) {
            details.push(json!({"code": "E1203", "path": format!("$.rows[{i}].node"), "message": format!("unknown node \"{}\"", r.node)}));
        }
        if !skus.contains(r.sku.as_str()) {
            details.push(json!({"code": "E1201", "path": format!("$.rows[{i}].sku"), "message": format!("unknown sku \"{}\"", r.sku)}));
        }
        details.extend(too_large(format!("$.rows[{i}].on_hand"), r.on_hand));
        details.extend(too_large(
            format!("$.rows[{i}].safety_stock"),
            r.safety_stock,
        ));
    }
    if !details.is_empty() {
        return Err(ApiError::with_details(
            "E4001",
            "inventory rows break the format",
            details,
        ));
    }
    let rows: Vec<InventoryRow> = snap
        .rows
        .into_iter()
        .map(|r| InventoryRow {
            node: r.node,
            sku: r.sku,
            // Both were checked against MAX_COUNT above.
            on_hand: u32::try_from(r.on_hand).unwrap_or(u32::MAX),
            reserved: 0,
            safety_stock: u32::try_from(r.safety_stock).unwrap_or(u32::MAX),
        })
        .collect();
    let n = rows.len();
    let full = snap.full;
    blocking(&state, move |s| Ok(s.db().set_inventory(&rows, full)?)).await?;
    Ok((
        Extension(AuditRows(n)),
        Json(json!({"rows": n, "full": full})),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Deltas {
    deltas: Vec<InventoryDelta>,
    /// Apply deltas that leave stock below what is reserved, re-routing the orders
    /// that hold it.
    #[serde(default)]
    force: bool,
}

async fn post_deltas(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(Extension<AuditRows>, Json<Value>)> {
    let d: Deltas = typed(&body_bytes(body)?)?;
    let network = current_network(&state)?;
    let (nodes, skus) = (ids(&network, "nodes"), ids(&network, "skus"));
    let mut details = Vec::new();
    for (i, x) in d.deltas.iter().enumerate() {
        if !nodes.contains(x.node.as_str()) {
            details.push(json!({"code": "E1203", "path": format!("$.deltas[{i}].node"), "message": format!("unknown node \"{}\"", x.node)}));
        }
        if !skus.contains(x.sku.as_str()) {
            details.push(json!({"code": "E1201", "path": format!("$.deltas[{i}].sku"), "message": format!("unknown sku \"{}\"", x.sku)}));
        }
        if !["receipt", "adjustment", "pick", "safety_stock"].contains(&x.kind.as_str()) {
            details.push(json!({"code": "E4001", "path": format!("$.deltas[{i}].kind"), "message": "kind is one of receipt, adjustment, pick, safety_stock"}));
        }
        if x.kind != "adjustment" && x.qty < 0 {
            details.push(json!({"code": "E1004", "path": format!("$.deltas[{i}].qty"), "message": "only adjustments may be negative"}));
        }
        details.extend(too_large(
            format!("$.deltas[{i}].qty"),
            x.qty.unsigned_abs(),
        ));
    }
    if !details.is_empty() {
        return Err(ApiError::with_details(
            "E4001",
            "inventory deltas break the format",
            details,
        ));
    }
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
    let network = current_network(&state)?;
    if !ids(&network, "skus").contains(sku.as_str()) {
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

/// Validates a submit body (`{"orders": [...]}` or one order object) against the
/// network, reporting every violation with its path.
fn validate_orders(network: &Value, body: Value) -> ApiResult<Vec<Order>> {
    let (orders, issues) = match body {
        Value::Object(mut m) if m.contains_key("orders") => {
            let orders = m.remove("orders").unwrap_or_default();
            let issues = fields::order_issues(Some(&m), &orders);
            (orders, issues)
        }
        Value::Object(m) if m.contains_key("id") => {
            let orders = Value::Array(vec![Value::Object(m)]);
            (orders.clone(), fields::order_issues(None, &orders))
        }
        _ => {
            return Err(ApiError::new(
                "E4000",
                "expected {\"orders\": [...]} or a single order object",
            ));
        }
    };
    if !orders.is_array() {
        return Err(ApiError::new("E4000", "`orders` must be an array"));
    }
    let mut doc = match network {
        Value::Object(m) => m.clone(),
        _ => unreachable!("the network is stored as an object"),
    };
    doc.insert("format".into(), INSTANCE_FORMAT.into());
    doc.insert("name".into(), "submit".into());
    doc.insert("inventory".into(), json!([]));
    doc.insert("orders".into(), orders);
    read_with(instance_from_value(&Value::Object(doc)), issues).map(|i| i.orders)
}

async fn submit_orders(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Extension<AuditRows>, Json<Value>)> {
    let bytes = body_bytes(body)?;
    let network = current_network(&state)?;
    let value = json_value(&bytes)?;
    let orders = validate_orders(&network, value)?;
    let rows = AuditRows(orders.len());
    let outcome = blocking(&state, move |s| Ok(s.intake().submit(&orders)?)).await?;
    let m = &state.metrics;
    m.orders_accepted
        .fetch_add(outcome.accepted as u64, Ordering::Relaxed);
    m.orders_duplicate
        .fetch_add(outcome.duplicates as u64, Ordering::Relaxed);
    let pending = blocking(&state, |s| Ok(s.pending_count()?)).await?;
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
    let r: Reroute = typed(&body_bytes(body)?)?;
    let network = current_network(&state)?;
    if !ids(&network, "nodes").contains(r.exclude_node.as_str()) {
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
