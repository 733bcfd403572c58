//! Checks the service adds to the instance format for what clients send: submitted
//! orders may hold only the fields docs/formats.md defines (a misspelled field would
//! otherwise be ignored, e.g. `ship_compelte`), and ids are bounded so that every
//! stored order can be read back and cancelled through its URL.

use serde_json::{Value, json};

/// Detail codes only the service reports (inside an `E4001`), with meaning and hint.
/// They extend the instance reader's [`crate::format::CODES`] and never reuse one.
pub const DETAIL_CODES: &[(&str, &str, &str)] = &[
    (
        "E1009",
        "a field the document does not define (unknown or misspelled)",
        "remove the field or fix its name; the message lists the fields allowed there",
    ),
    (
        "E1010",
        "an id is longer than 256 bytes or holds control characters",
        "ids are at most 256 bytes of printable text",
    ),
];

/// Longest id accepted, in bytes of UTF-8.
pub const MAX_ID_BYTES: usize = 256;

const ORDER_FIELDS: &[&str] = &[
    "id",
    "channel",
    "ship_to",
    "promise_days",
    "lines",
    "max_shipments",
    "ship_complete",
    "pickup_node",
    "unfilled_penalty",
    "exclude_nodes",
    "placed_at",
];
const POINT_FIELDS: &[&str] = &["lat", "lon"];
const LINE_FIELDS: &[&str] = &["sku", "qty"];

/// A key or id as quoted in a message: at most 64 characters of it.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    format!("{out:?}")
}

fn unknown_fields(v: &Value, allowed: &[&str], path: &str, out: &mut Vec<Value>) {
    let Value::Object(m) = v else { return };
    for k in m.keys().filter(|k| !allowed.contains(&k.as_str())) {
        out.push(json!({
            "code": "E1009",
            "path": format!("{path}.{}", shown(k).trim_matches('"')),
            "message": format!("unknown field {}; allowed here: {}", shown(k), allowed.join(", ")),
            "hint": DETAIL_CODES[0].2,
        }));
    }
}

/// An E1010 detail if `id` is too long or holds control characters.
pub fn id_issue(id: &str, path: &str) -> Option<Value> {
    let why = if id.len() > MAX_ID_BYTES {
        format!("id is {} bytes, more than {MAX_ID_BYTES}", id.len())
    } else if id.chars().any(char::is_control) {
        format!("id {} holds control characters", shown(id))
    } else {
        return None;
    };
    Some(json!({"code": "E1010", "path": path, "message": why, "hint": DETAIL_CODES[1].2}))
}

/// Every unknown field and bad id of a batch's `orders` array (paths
/// `$.orders[i]...`); `batch` is the body when it was `{"orders": [...]}`.
pub fn order_issues(batch: Option<&serde_json::Map<String, Value>>, orders: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(m) = batch {
        unknown_fields(&Value::Object(m.clone()), &["orders"], "$", &mut out);
    }
    let Value::Array(list) = orders else {
        return out;
    };
    for (i, o) in list.iter().enumerate() {
        let path = format!("$.orders[{i}]");
        unknown_fields(o, ORDER_FIELDS, &path, &mut out);
        unknown_fields(
            &o["ship_to"],
            POINT_FIELDS,
            &format!("{path}.ship_to"),
            &mut out,
        );
        if let Value::Array(lines) = &o["lines"] {
            for (j, l) in lines.iter().enumerate() {
                unknown_fields(l, LINE_FIELDS, &format!("{path}.lines[{j}]"), &mut out);
            }
        }
        if let Some(id) = o["id"].as_str() {
            out.extend(id_issue(id, &format!("{path}.id")));
        }
    }
    out
}

/// Every bad id of a network's nodes and skus (paths `$.nodes[i].id`, `$.skus[i].id`).
pub fn network_issues(network: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for list in ["nodes", "skus"] {
        if let Value::Array(items) = &network[list] {
            for (i, x) in items.iter().enumerate() {
                if let Some(id) = x["id"].as_str() {
                    out.extend(id_issue(id, &format!("$.{list}[{i}].id")));
                }
            }
        }
    }
    out
}
