//! The operations page at `/`: one embedded HTML file (no asset fetched from anywhere
//! else) that reads the API with the caller's key, plus the two reads it needs beyond
//! the API: node capacity in use (`GET /v1/nodes`) and a chart of recent windows
//! (`GET /v1/charts/windows.svg`), drawn on the server with plotters, the plotting
//! library the workbench already uses, so the page carries no chart code.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use plotters::prelude::*;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::Params;
use super::store::WindowRecord;
use super::work::{blocking, current_network};

/// The page, embedded in the binary.
pub const PAGE: &str = include_str!("ops.html");

/// `GET /`: the operations page.
pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
}

/// `GET /v1/nodes`: every node with its place, capacity and what this capacity
/// period has used of it.
pub async fn nodes(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    let network = current_network(&state).await?;
    let used = blocking(&state, |s| Ok(s.db().capacity_used()?)).await?;
    let nodes: Vec<Value> = network
        .config
        .nodes
        .iter()
        .map(|n| {
            let (s, u) = used.get(&n.id).copied().unwrap_or((0, 0));
            json!({"id": n.id, "kind": n.kind, "lat": n.lat, "lon": n.lon,
                   "capacity_shipments": n.capacity_shipments, "capacity_units": n.capacity_units,
                   "used_shipments": s, "used_units": u})
        })
        .collect();
    Ok(Json(json!({"nodes": nodes})))
}

/// `GET /v1/flows?windows=5&limit=2000`: the shipments of the last windows, each as
/// its node and its destination, for the map.
pub async fn flows(State(state): State<Arc<AppState>>, q: Params) -> ApiResult<Json<Value>> {
    q.only(&["windows", "limit"])?;
    let windows = q
        .get::<i64>("windows", "a whole number >= 1")?
        .unwrap_or(5)
        .clamp(1, 1000);
    let limit = q
        .get::<usize>("limit", "a whole number >= 0")?
        .unwrap_or(2000)
        .min(20_000);
    let flows = blocking(&state, move |s| Ok(s.db().recent_flows(windows, limit)?)).await?;
    let flows: Vec<Value> = flows
        .into_iter()
        .map(|(node, lat, lon)| json!({"node": node, "to": {"lat": lat, "lon": lon}}))
        .collect();
    Ok(Json(json!({"flows": flows})))
}

/// `GET /v1/charts/windows.svg?limit=100`: solve seconds against the budget, and cost
/// per order, over the last windows.
pub async fn windows_chart(
    State(state): State<Arc<AppState>>,
    q: Params,
) -> ApiResult<impl IntoResponse> {
    q.only(&["limit"])?;
    let limit = q
        .get::<usize>("limit", "a whole number >= 0")?
        .unwrap_or(100)
        .clamp(1, 1000);
    let mut windows = blocking(&state, move |s| Ok(s.db().windows(limit)?)).await?;
    windows.reverse();
    let svg = draw_windows(&windows)
        .map_err(|e| ApiError::new("E5000", format!("drawing the chart failed: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
}

/// A window's figure, 0 when absent.
fn kpi(w: &WindowRecord, key: &str) -> f64 {
    w.kpis[key].as_f64().unwrap_or(0.0)
}

/// Two panels over window ids: solve seconds and budget; cost per order.
fn draw_windows(windows: &[WindowRecord]) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 360)).into_drawing_area();
        root.fill(&WHITE)?;
        let (top, bottom) = root.split_vertically(180);
        let ids = || windows.iter().map(|w| w.id as f64);
        let x0 = ids().fold(f64::INFINITY, f64::min).min(0.0);
        let x1 = ids().fold(1.0, f64::max) + 1.0;
        let seconds = |w: &WindowRecord| kpi(w, "solve_seconds");
        let y_time = windows
            .iter()
            .map(|w| seconds(w).max(kpi(w, "budget_seconds")))
            .fold(0.1, f64::max)
            * 1.15;
        let mut c = ChartBuilder::on(&top)
            .caption(
                "solve seconds (blue) against the budget (grey)",
                ("sans-serif", 14),
            )
            .margin(8)
            .x_label_area_size(20)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x1, 0.0..y_time)?;
        c.configure_mesh().disable_x_mesh().draw()?;
        let budget = windows
            .iter()
            .map(|w| (w.id as f64, kpi(w, "budget_seconds")));
        c.draw_series(LineSeries::new(budget, RGBColor(150, 150, 150)))?;
        let solve = windows.iter().map(|w| (w.id as f64, seconds(w)));
        c.draw_series(LineSeries::new(solve, RGBColor(31, 119, 180)).point_size(3))?;
        let per_order = |w: &WindowRecord| kpi(w, "objective") / kpi(w, "orders").max(1.0);
        let y_cost = windows.iter().map(per_order).fold(1.0, f64::max) * 1.15;
        let mut c = ChartBuilder::on(&bottom)
            .caption("cost per order", ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(25)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x1, 0.0..y_cost)?;
        c.configure_mesh()
            .disable_x_mesh()
            .x_desc("window")
            .draw()?;
        let cost = windows.iter().map(|w| (w.id as f64, per_order(w)));
        c.draw_series(LineSeries::new(cost, RGBColor(44, 160, 44)).point_size(3))?;
        root.present()?;
    }
    Ok(svg)
}

/// Alternatives listed per order.
pub const ALTERNATIVES: usize = 5;

/// `GET /v1/orders/{id}/alternatives`: what shipping the whole order from one node
/// would cost, for the cheapest nodes allowed to ship it (the window may have split it
/// or used another node for stock or capacity), with whether each holds the stock now.
/// Priced by the cost model the solver uses, so "why from there?" has figures.
pub async fn alternatives(
    State(state): State<Arc<AppState>>,
    super::extract::Segment(id): super::extract::Segment,
) -> ApiResult<Json<Value>> {
    let network = current_network(&state).await?;
    let (record, rows) = blocking(&state, move |s| {
        let db = s.db();
        let rec = db
            .order(&id)?
            .ok_or_else(|| ApiError::new("E4040", format!("order \"{id}\" not found")))?;
        let skus: Vec<&str> = rec.order.lines.iter().map(|l| l.sku.as_str()).collect();
        let rows = db.inventory_of_skus(&skus)?;
        Ok((rec, rows))
    })
    .await?;
    let used = std::collections::HashMap::new();
    let inst = super::window_instance(
        record.id.clone(),
        &network.config,
        rows,
        &used,
        vec![record.order.clone()],
    );
    let options = if inst.orders.is_empty() {
        Vec::new()
    } else {
        single_node_options(&inst)
    };
    Ok(Json(json!({"order": record.id, "alternatives": options})))
}

/// Each node's cheapest allowed single shipment of the whole order (the instance's
/// only order), cheapest first, at most [`ALTERNATIVES`].
fn single_node_options(inst: &crate::domain::Instance) -> Vec<Value> {
    use crate::cost::Network;
    let net = Network::new(inst);
    let lines = &net.lines[0];
    let units: u32 = lines.iter().map(|&(_, q)| q).sum();
    let weight = net.weight(lines.iter().copied());
    let mut options: Vec<(f64, Value)> = (0..net.node_count())
        .filter_map(|n| {
            let lane = net.lane(0, n);
            let (service, price) = net.best_service(0, n, lane.zone, units, weight)?;
            let in_stock = lines.iter().all(|&(s, q)| net.available(n, s) >= q);
            let v = json!({"node": inst.nodes[n].id, "service": net.service_name(service),
                           "cost": price.cost, "delivery_days": price.delivery_days,
                           "miles": lane.miles, "in_stock_now": in_stock});
            Some((price.cost, v))
        })
        .collect();
    options.sort_by(|a, b| a.0.total_cmp(&b.0));
    options
        .into_iter()
        .take(ALTERNATIVES)
        .map(|(_, v)| v)
        .collect()
}

/// `GET /v1/cluster`: the storage, this replica, the replicas heard from in the last
/// three lease times, and each pool's lease (holder, token, seconds left).
pub async fn cluster(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    let within = state.config.lease * 3;
    let (replicas, leases) = blocking(&state, move |s| Ok(s.db().cluster(within)?)).await?;
    let m = &state.cluster;
    Ok(Json(json!({
        "storage": state.db().kind(),
        "replica": m.replica,
        "leader": m.is_leader(),
        "lease_seconds": state.config.lease.as_secs_f64(),
        "replicas": replicas,
        "leases": leases,
    })))
}
