//! What the fuzz targets share: the fixed network the body readers check against, and
//! the invariants every accepted document must meet. A reader that returns `Ok` for a
//! value breaking one of them has a logic error, so the targets assert them rather
//! than only waiting for a panic.

use std::collections::HashSet;
use std::sync::OnceLock;

use axum::response::IntoResponse;
use domopt::domain::{
    Costs, INSTANCE_FORMAT, Instance, InventoryRow, Node, Order, PICKUP_SERVICE, RateCard, Sku,
};
use domopt::format::{CODES, ReadError};
use domopt::service::bodies::read_network;
use domopt::service::error::ApiError;
use domopt::service::fields::MAX_ID_BYTES;
use domopt::service::network::LoadedNetwork;

/// Largest count any reader accepts.
pub const MAX_COUNT: u64 = domopt::service::store::MAX_COUNT as u64;
/// Largest money or distance value the instance reader accepts.
const MAX_AMOUNT: f64 = 1e12;

/// The network the service would hold: `network.json` (nodes, skus, rate card and
/// costs of a small generated instance), read and indexed once.
pub fn network() -> &'static LoadedNetwork {
    static NETWORK: OnceLock<LoadedNetwork> = OnceLock::new();
    NETWORK.get_or_init(|| {
        let config = read_network(include_bytes!("../network.json")).expect("a valid network");
        LoadedNetwork::new(config)
    })
}

/// The ids of the network's nodes and skus.
pub fn network_ids() -> (HashSet<&'static str>, HashSet<&'static str>) {
    let n = network();
    let ids = |set: &'static HashSet<String>| set.iter().map(String::as_str).collect();
    (ids(&n.node_ids), ids(&n.sku_ids))
}

/// A refused body is the client's fault: the answer is a 4xx, never a 500 (which an
/// error code missing from the service's list would give).
pub fn assert_client_error(e: ApiError) {
    let shown = format!("{e:?}");
    let status = e.into_response().status();
    assert!(status.is_client_error(), "{status} for {shown}");
}

/// What a reader accepted is one JSON document, with nothing after it but whitespace,
/// and UTF-8 throughout. Read as `IgnoredAny`, which checks the syntax to any depth; a
/// JSON tree would also refuse what is valid but nested deeper than its limit.
pub fn assert_json(data: &[u8]) {
    if let Err(e) = std::str::from_utf8(data) {
        panic!("accepted input that is not UTF-8: {e}");
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(data) {
        panic!("accepted input that is not one JSON document: {e}");
    }
}

/// A refused document lists at least one issue, each with a code from [`CODES`].
pub fn assert_read_error(e: &ReadError) {
    let issues = e.issues();
    assert!(!issues.is_empty(), "refused without an issue: {e}");
    for i in issues {
        assert!(
            CODES.iter().any(|(c, _, _)| *c == i.code),
            "unlisted code in {i}"
        );
    }
}

fn count(x: u32, what: &str) {
    assert!(
        u64::from(x) <= MAX_COUNT,
        "{what} = {x} is above the largest count"
    );
}

fn amount(x: f64, what: &str) {
    assert!(
        (0.0..=MAX_AMOUNT).contains(&x),
        "{what} = {x} is not an amount"
    );
}

fn lat_lon(lat: f64, lon: f64, what: &str) {
    assert!((-90.0..=90.0).contains(&lat), "{what}: latitude {lat}");
    assert!((-180.0..=180.0).contains(&lon), "{what}: longitude {lon}");
}

/// Non-empty ids, each once; returns them.
fn unique<'a>(ids: impl Iterator<Item = &'a str>, what: &str) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    for id in ids {
        assert!(!id.is_empty(), "empty {what} id");
        assert!(seen.insert(id), "{what} id {id:?} twice");
    }
    seen
}

/// An id the service stores and serves in URLs: bounded, printable.
pub fn assert_service_id(id: &str) {
    assert!(id.len() <= MAX_ID_BYTES, "id of {} bytes", id.len());
    assert!(
        !id.chars().any(char::is_control),
        "id {id:?} holds control characters"
    );
}

/// The reader's guarantees on a network; returns the node and sku ids.
pub fn assert_network<'a>(
    nodes: &'a [Node],
    skus: &'a [Sku],
    rate_card: &RateCard,
    costs: &Costs,
) -> (HashSet<&'a str>, HashSet<&'a str>) {
    for n in nodes {
        lat_lon(n.lat, n.lon, &n.id);
        count(n.handling_days, "handling_days");
        amount(n.cost_per_shipment, "cost_per_shipment");
        amount(n.cost_per_unit, "cost_per_unit");
        for c in n.capacity_shipments.iter().chain(&n.capacity_units) {
            count(*c, "capacity");
        }
    }
    for s in skus {
        amount(s.weight, "weight");
    }
    let bounds = &rate_card.zone_upper_miles;
    bounds.iter().for_each(|&b| amount(b, "zone bound"));
    assert!(
        bounds.windows(2).all(|w| w[0] < w[1]),
        "zone bounds {bounds:?} not increasing"
    );
    assert!(!rate_card.services.is_empty(), "no services");
    let names = unique(
        rate_card.services.iter().map(|s| s.name.as_str()),
        "service",
    );
    assert!(!names.contains(PICKUP_SERVICE), "a service named pickup");
    let zones = rate_card.zone_count();
    for s in &rate_card.services {
        assert_eq!(s.transit_days.len(), zones, "{}: transit_days", s.name);
        assert_eq!(s.base.len(), zones, "{}: base", s.name);
        assert_eq!(s.per_weight.len(), zones, "{}: per_weight", s.name);
        s.transit_days
            .iter()
            .for_each(|&d| count(d, "transit_days"));
        s.base
            .iter()
            .chain(&s.per_weight)
            .for_each(|&x| amount(x, "price"));
    }
    amount(costs.split_penalty, "split_penalty");
    amount(costs.unfilled_penalty, "unfilled_penalty");
    assert!(costs.unfilled_penalty > 0.0, "unfilled_penalty is 0");
    if let Some(x) = costs.late_penalty_per_day {
        amount(x, "late_penalty_per_day");
    }
    (
        unique(nodes.iter().map(|n| n.id.as_str()), "node"),
        unique(skus.iter().map(|s| s.id.as_str()), "sku"),
    )
}

/// The reader's guarantees on orders read against the given node and sku ids.
pub fn assert_orders(orders: &[Order], nodes: &HashSet<&str>, skus: &HashSet<&str>) {
    unique(orders.iter().map(|o| o.id.as_str()), "order");
    for o in orders {
        lat_lon(o.ship_to.lat, o.ship_to.lon, &o.id);
        count(o.promise_days, "promise_days");
        assert!(!o.lines.is_empty(), "{}: no lines", o.id);
        let mut seen = HashSet::new();
        for l in &o.lines {
            assert!(
                skus.contains(l.sku.as_str()),
                "{}: unknown sku {}",
                o.id,
                l.sku
            );
            assert!(seen.insert(&l.sku), "{}: sku {} twice", o.id, l.sku);
            assert!(l.qty >= 1, "{}: qty 0", o.id);
        }
        let total: u64 = o.lines.iter().map(|l| u64::from(l.qty)).sum();
        assert!(total <= MAX_COUNT, "{}: {total} units", o.id);
        if let Some(m) = o.max_shipments {
            assert!(m >= 1, "{}: max_shipments 0", o.id);
            count(m, "max_shipments");
        }
        if let Some(p) = &o.pickup_node {
            assert!(nodes.contains(p.as_str()), "{}: pickup at {p}", o.id);
        }
        for n in &o.exclude_nodes {
            assert!(nodes.contains(n.as_str()), "{}: excludes {n}", o.id);
        }
        for x in o.unfilled_penalty.iter().chain(&o.placed_at) {
            amount(*x, "unfilled_penalty or placed_at");
        }
    }
}

/// Inventory rows naming known nodes and skus, each (node, sku) once.
pub fn assert_inventory(rows: &[InventoryRow], nodes: &HashSet<&str>, skus: &HashSet<&str>) {
    let mut pairs = HashSet::new();
    for r in rows {
        assert!(
            nodes.contains(r.node.as_str()),
            "row at unknown node {}",
            r.node
        );
        assert!(
            skus.contains(r.sku.as_str()),
            "row of unknown sku {}",
            r.sku
        );
        assert!(
            pairs.insert((&r.node, &r.sku)),
            "row {} {} twice",
            r.node,
            r.sku
        );
        count(r.on_hand, "on_hand");
        count(r.reserved, "reserved");
        count(r.safety_stock, "safety_stock");
    }
}

/// Every guarantee of a read instance.
pub fn assert_instance(inst: &Instance) {
    assert_eq!(inst.format, INSTANCE_FORMAT);
    let (nodes, skus) = assert_network(&inst.nodes, &inst.skus, &inst.rate_card, &inst.costs);
    assert_inventory(&inst.inventory, &nodes, &skus);
    assert_orders(&inst.orders, &nodes, &skus);
}
