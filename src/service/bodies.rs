//! Reading request bodies: bytes in, a validated value or an [`ApiError`] naming every
//! offending field out. Pure functions (no state, no I/O), so the fuzz targets call
//! them exactly as the handlers do.

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult, invalid};
use super::fields;
use super::network::LoadedNetwork;
use super::store::{InventoryDelta, MAX_COUNT, NetworkConfig};
use crate::domain::{INSTANCE_FORMAT, InventoryRow, Order};
use crate::format::{ReadError, instance_from_value, orders_from_value};

/// Parses a body as JSON (`E4000` with the line and column otherwise).
pub fn json_value(bytes: &[u8]) -> ApiResult<Value> {
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
pub fn typed<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::new("E4000", format!("body is not valid JSON: {inner}"))
        } else {
            ApiError::with_details("E4001", "the body breaks the format", vec![json!({"code": "E4001", "path": format!("$.{}", e.path()), "message": inner.to_string()})])
        }
    })?;
    // Only whitespace may follow the document.
    de.end()
        .map_err(|e| ApiError::new("E4000", format!("body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Reads a `PUT /v1/network` body: nodes, skus, rate card and costs, checked by the
/// instance reader (wrapped into an otherwise empty instance).
pub fn read_network(bytes: &[u8]) -> ApiResult<NetworkConfig> {
    let value = json_value(bytes)?;
    let Value::Object(map) = &value else {
        return Err(ApiError::new("E4000", "the network is a JSON object"));
    };
    let ids = fields::network_issues(&value);
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
fn read_with<T>(read: Result<T, ReadError>, issues: Vec<Value>) -> ApiResult<T> {
    let mut e = match read {
        Ok(value) if issues.is_empty() => return Ok(value),
        Ok(_) => ApiError::new("E4001", "the document breaks the format"),
        Err(e) => invalid(&e),
    };
    e.prepend_details(issues);
    Err(e)
}

/// Reads a submit body (`{"orders": [...]}` or one order object) against the network,
/// reporting every violation with its path.
pub fn read_orders(network: &LoadedNetwork, bytes: &[u8]) -> ApiResult<Vec<Order>> {
    let (orders, issues) = match json_value(bytes)? {
        Value::Object(mut m) if m.contains_key("orders") => {
            let orders = m.remove("orders").unwrap_or_default();
            let issues = fields::order_issues(Some(&m), &orders);
            (orders, issues)
        }
        Value::Object(m) if m.contains_key("id") => {
            let orders = Value::Array(vec![Value::Object(m)]);
            let issues = fields::order_issues(None, &orders);
            (orders, issues)
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
    read_with(
        orders_from_value(&orders, &network.node_ids, &network.sku_ids),
        issues,
    )
}

/// An E1007 detail when a count is above [`MAX_COUNT`].
fn too_large(path: String, n: u64) -> Option<Value> {
    (n > MAX_COUNT as u64).then(|| {
        json!({"code": "E1007", "path": path, "message": format!("{n} is larger than {MAX_COUNT}"), "hint": "counts are at most 1000000000"})
    })
}

/// `E1203`/`E1201` details when a row names a node or sku the network lacks.
fn unknown_ids(
    network: &LoadedNetwork,
    (node, sku): (&str, &str),
    path: &str,
    details: &mut Vec<Value>,
) {
    if !network.has_node(node) {
        details.push(json!({"code": "E1203", "path": format!("{path}.node"), "message": format!("unknown node \"{node}\"")}));
    }
    if !network.has_sku(sku) {
        details.push(json!({"code": "E1201", "path": format!("{path}.sku"), "message": format!("unknown sku \"{sku}\"")}));
    }
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotBody {
    rows: Vec<SnapshotRow>,
    #[serde(default)]
    full: bool,
}

/// A `PUT /v1/inventory` body, read and checked.
#[derive(Debug)]
pub struct Snapshot {
    /// The rows (reserved 0: reservations belong to the ledger).
    pub rows: Vec<InventoryRow>,
    /// A full snapshot zeroes on_hand of every row it does not name.
    pub full: bool,
}

/// Reads a `PUT /v1/inventory` body against the network.
pub fn read_snapshot(network: &LoadedNetwork, bytes: &[u8]) -> ApiResult<Snapshot> {
    let snap: SnapshotBody = typed(bytes)?;
    let mut details = Vec::new();
    let rows: Vec<Option<InventoryRow>> = snap
        .rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| checked_row(network, r, &format!("$.rows[{i}]"), &mut details))
        .collect();
    if !details.is_empty() {
        return Err(ApiError::with_details(
            "E4001",
            "inventory rows break the format",
            details,
        ));
    }
    Ok(Snapshot {
        rows: rows.into_iter().flatten().collect(),
        full: snap.full,
    })
}

/// The row as a domain value, or `None` with its problems (unknown node or sku, a
/// count above [`MAX_COUNT`]) added to `details` under `path`.
fn checked_row(
    network: &LoadedNetwork,
    r: SnapshotRow,
    path: &str,
    details: &mut Vec<Value>,
) -> Option<InventoryRow> {
    let before = details.len();
    unknown_ids(network, (&r.node, &r.sku), path, details);
    details.extend(too_large(format!("{path}.on_hand"), r.on_hand));
    details.extend(too_large(format!("{path}.safety_stock"), r.safety_stock));
    // Both counts are at most MAX_COUNT when no detail was added.
    (details.len() == before).then_some(InventoryRow {
        node: r.node,
        sku: r.sku,
        on_hand: r.on_hand as u32,
        reserved: 0,
        safety_stock: r.safety_stock as u32,
    })
}

/// Reads one line of a streamed snapshot (`application/x-ndjson`, one row object per
/// line) against the network; its problems go to `details` under `path`.
pub fn read_snapshot_line(
    network: &LoadedNetwork,
    line: &[u8],
    path: &str,
    details: &mut Vec<Value>,
) -> Option<InventoryRow> {
    let de = &mut serde_json::Deserializer::from_slice(line);
    let read = serde_path_to_error::deserialize(&mut *de).map_err(|e| e.to_string());
    // Only whitespace may follow the row.
    let read = read.and_then(|r| de.end().map(|()| r).map_err(|e| e.to_string()));
    let r: SnapshotRow = match read {
        Ok(r) => r,
        Err(message) => {
            details.push(json!({"code": "E4001", "path": path, "message": message}));
            return None;
        }
    };
    checked_row(network, r, path, details)
}

/// A `POST /v1/inventory/deltas` body, read and checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deltas {
    /// The changes, applied in order.
    pub deltas: Vec<InventoryDelta>,
    /// Apply deltas that leave stock below what is reserved, re-routing the orders
    /// that hold it.
    #[serde(default)]
    pub force: bool,
}

/// Reads a `POST /v1/inventory/deltas` body against the network.
pub fn read_deltas(network: &LoadedNetwork, bytes: &[u8]) -> ApiResult<Deltas> {
    let d: Deltas = typed(bytes)?;
    let mut details = Vec::new();
    for (i, x) in d.deltas.iter().enumerate() {
        let path = format!("$.deltas[{i}]");
        unknown_ids(network, (&x.node, &x.sku), &path, &mut details);
        if !["receipt", "adjustment", "pick", "safety_stock"].contains(&x.kind.as_str()) {
            details.push(json!({"code": "E4001", "path": format!("{path}.kind"), "message": "kind is one of receipt, adjustment, pick, safety_stock"}));
        }
        if x.kind != "adjustment" && x.qty < 0 {
            details.push(json!({"code": "E1004", "path": format!("{path}.qty"), "message": "only adjustments may be negative"}));
        }
        details.extend(too_large(format!("{path}.qty"), x.qty.unsigned_abs()));
    }
    if !details.is_empty() {
        return Err(ApiError::with_details(
            "E4001",
            "inventory deltas break the format",
            details,
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> LoadedNetwork {
        let body = br#"{"nodes": [{"id": "N", "kind": "store", "lat": 47.6, "lon": -122.3}],
            "skus": [{"id": "S"}], "costs": {"unfilled_penalty": 60},
            "rate_card": {"zone_upper_miles": [], "services":
                [{"name": "ground", "transit_days": [2], "base": [7], "per_weight": [0.3]}]}}"#;
        LoadedNetwork::new(read_network(body).unwrap())
    }

    /// A body or a streamed line is one JSON document: bytes after it (other than
    /// whitespace) make it invalid JSON, as `json_value` finds. Minimised fuzz inputs.
    #[test]
    fn bytes_after_the_document_are_refused() {
        let net = network();
        let row = br#"{"node":"N","sku":"S","on_hand":0}"#;
        let mut details = Vec::new();
        assert!(
            read_snapshot_line(&net, &[&row[..], b" \r"].concat(), "line 1", &mut details)
                .is_some()
        );
        assert!(
            read_snapshot_line(&net, &[&row[..], b"00"].concat(), "line 2", &mut details).is_none()
        );
        assert_eq!(details.len(), 1);
        assert_eq!(details[0]["path"], "line 2");
        assert!(read_snapshot(&net, b"{\"rows\": []}\n").is_ok());
        let e = read_snapshot(&net, br#"{"rows": []}00"#).unwrap_err();
        assert!(format!("{e:?}").contains("E4000"), "{e:?}");
        let e = read_deltas(&net, br#"{"deltas": []}{}"#).unwrap_err();
        assert!(format!("{e:?}").contains("E4000"), "{e:?}");
    }
}
