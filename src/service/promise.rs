//! `POST /v1/promise`: what a checkout page shows for a cart, from live stock (on
//! hand − reserved − safety stock) and node capacity left, priced by the cost model the
//! solver uses. Per carrier service: the earliest delivery, its cost and the nodes that
//! would ship (one node holding the whole cart when one can, else each line from the
//! node that delivers it soonest), and the nearest stores that could hand it over
//! instead; for a pickup cart, whether the pickup node holds it.
//! Nothing is reserved: a window later decides the order as it decides any other, at a
//! cost no higher than the promise's when stock and capacity have not changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use serde_json::{Value, json};

use super::AppState;
use super::bodies::json_value;
use super::error::{ApiError, ApiResult, body_bytes, invalid};
use super::work::{blocking, current_network};
use crate::cost::{Network, ServiceChoice};
use crate::domain::Instance;
use crate::format::{Issue, ReadError, orders_from_value};

/// Promise horizon in days: a cart is priced as an order due in this many days, so
/// every service is allowed and its own delivery days are what is promised.
const HORIZON_DAYS: u32 = 365;

/// Pickup stores listed at most.
const PICKUP_STORES: usize = 3;

/// The handler.
pub async fn promise(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let network = current_network(&state).await?;
    let mut cart = json_value(&body_bytes(body)?)?;
    let Value::Object(fields) = &mut cart else {
        return Err(ApiError::new("E4000", "a cart is a JSON object"));
    };
    let services = fields.remove("services");
    fields.insert("id".into(), "promise".into());
    fields.insert("promise_days".into(), HORIZON_DAYS.into());
    let orders = Value::Array(vec![cart]);
    let order = orders_from_value(&orders, &network.node_ids, &network.sku_ids)
        .map_err(|e| invalid(&cart_paths(&e)))?
        .remove(0);
    let wanted: Option<Vec<String>> = match services {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value(v)
                .map_err(|_| ApiError::new("E4000", "`services` is an array of service names"))?,
        ),
    };
    let skus: Vec<String> = order.lines.iter().map(|l| l.sku.clone()).collect();
    let (rows, used) = blocking(&state, move |s| {
        let db = s.db();
        Ok((
            db.inventory_of_skus(&skus.iter().map(String::as_str).collect::<Vec<_>>())?,
            db.capacity_used()?,
        ))
    })
    .await?;
    let inst = super::window_instance("promise".into(), &network.config, rows, &used, vec![order]);
    Ok(Json(answer(&inst, wanted.as_deref())))
}

/// The reader's issues with paths into the cart (`$.lines[0].sku`) rather than into
/// the order it was read as (`$.orders[0].lines[0].sku`).
fn cart_paths(e: &ReadError) -> ReadError {
    ReadError::Invalid(
        e.issues()
            .iter()
            .map(|i| Issue {
                path: i.path.replacen("$.orders[0]", "$", 1),
                ..i.clone()
            })
            .collect(),
    )
}

/// Whether node `n` may take one more shipment of `units` units.
fn has_room(inst: &Instance, n: usize, units: u32) -> bool {
    let node = &inst.nodes[n];
    node.capacity_shipments.is_none_or(|c| c >= 1) && node.capacity_units.is_none_or(|c| c >= units)
}

/// One way to ship: shipments by node, latest delivery, total cost.
struct Way {
    shipments: BTreeMap<usize, Vec<(usize, u32)>>,
    delivery_days: u32,
    cost: f64,
}

/// The cheapest-soonest way to ship `lines` with `service`, or the skus no node can
/// ship.
fn way(net: &Network, inst: &Instance, service: ServiceChoice) -> Result<Way, Vec<usize>> {
    let lines = &net.lines[0];
    let price = |n: usize, part: &[(usize, u32)]| {
        let units = part.iter().map(|&(_, q)| q).sum();
        if !has_room(inst, n, units) || part.iter().any(|&(s, q)| net.available(n, s) < q) {
            return None;
        }
        let zone = net.lane(0, n).zone;
        let weight = net.weight(part.iter().copied());
        net.price(0, n, zone, service, units, weight)
            .map(|p| (p.delivery_days, p.cost))
    };
    let best = |part: &[(usize, u32)]| {
        (0..net.node_count())
            .filter_map(|n| price(n, part).map(|(d, c)| (d, c, n)))
            .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
    };
    if let Some((d, c, n)) = best(lines) {
        return Ok(Way {
            shipments: BTreeMap::from([(n, lines.clone())]),
            delivery_days: d,
            cost: c,
        });
    }
    let mut shipments: BTreeMap<usize, Vec<(usize, u32)>> = BTreeMap::new();
    let mut missing = Vec::new();
    for &line in lines {
        match best(&[line]) {
            Some((_, _, n)) => shipments.entry(n).or_default().push(line),
            None => missing.push(line.0),
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    let priced: Vec<(u32, f64)> = shipments
        .iter()
        .map(|(&n, part)| price(n, part).expect("each line fits its node"))
        .collect();
    Ok(Way {
        delivery_days: priced.iter().map(|p| p.0).max().unwrap_or(0),
        cost: priced.iter().map(|p| p.1).sum::<f64>() + net.split_cost(shipments.len()),
        shipments,
    })
}

/// The promise document for the instance's one order.
fn answer(inst: &Instance, wanted: Option<&[String]>) -> Value {
    if inst.orders.is_empty() {
        return json!({"options": [], "unpromisable": [{"reason": "UNKNOWN_SKU"}]});
    }
    let net = Network::new(inst);
    let choices: Vec<ServiceChoice> = if net.pickup[0].is_some() {
        vec![ServiceChoice::Pickup]
    } else {
        (0..inst.rate_card.services.len())
            .filter(|&s| wanted.is_none_or(|w| w.contains(&inst.rate_card.services[s].name)))
            .map(ServiceChoice::Carrier)
            .collect()
    };
    let mut options = Vec::new();
    let mut missing = std::collections::BTreeSet::new();
    for choice in choices {
        match way(&net, inst, choice) {
            Ok(w) => options.push(json!({
                "service": net.service_name(choice),
                "delivery_days": w.delivery_days,
                "cost": w.cost,
                "shipments": w.shipments.iter().map(|(&n, part)| json!({
                    "node": inst.nodes[n].id,
                    "lines": part.iter().map(|&(s, q)| json!({"sku": inst.skus[s].id, "qty": q})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })),
            Err(skus) => missing.extend(skus),
        }
    }
    options.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["delivery_days"].as_u64(),
                v["cost"].as_f64().unwrap_or(0.0),
            )
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    let unpromisable: Vec<Value> = if options.is_empty() {
        missing
            .iter()
            .map(|&s| json!({"sku": inst.skus[s].id, "reason": "NO_STOCK"}))
            .collect()
    } else {
        Vec::new()
    };
    let pickup = if net.pickup[0].is_none() {
        pickup_nearby(&net, inst)
    } else {
        Vec::new()
    };
    json!({"options": options, "unpromisable": unpromisable, "pickup": pickup})
}

/// Stores nearest the destination that hold the whole cart and have room for it: where
/// the customer could pick it up instead, and after how many days.
fn pickup_nearby(net: &Network, inst: &Instance) -> Vec<Value> {
    let lines = &net.lines[0];
    let units = lines.iter().map(|&(_, q)| q).sum();
    let mut stores: Vec<(f64, usize)> = (0..net.node_count())
        .filter(|&n| inst.nodes[n].kind == crate::domain::NodeKind::Store)
        .filter(|&n| has_room(inst, n, units))
        .filter(|&n| lines.iter().all(|&(s, q)| net.available(n, s) >= q))
        .map(|n| (net.lane(0, n).miles, n))
        .collect();
    stores.sort_by(|a, b| a.0.total_cmp(&b.0));
    stores
        .into_iter()
        .take(PICKUP_STORES)
        .map(|(miles, n)| {
            json!({"node": inst.nodes[n].id, "miles": miles, "ready_days": inst.nodes[n].handling_days})
        })
        .collect()
}
