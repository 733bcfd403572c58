//! Reading, validating and writing `domopt.instance/1` and `domopt.plan/1` documents.
//!
//! The instance reader walks the JSON tree itself so that it can report *every*
//! violation at once, each with a stable code from [`CODES`], the JSON path of the
//! offending field and a hint. Gzip-compressed input (`.json.gz`) is detected by its
//! magic bytes.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use serde_json::{Map, Value};

use crate::domain::*;

mod typed;

/// Every validation code with its meaning and the fix to suggest. The one list the
/// reader, the service and docs/errors.md's table are built from.
pub const CODES: &[(&str, &str, &str)] = &[
    (
        "E1000",
        "the document is not valid JSON (syntax error or truncated)",
        "check the line and column named; a truncated upload ends early",
    ),
    (
        "E1001",
        "wrong or missing `format` tag",
        "set \"format\": \"domopt.instance/1\"",
    ),
    (
        "E1002",
        "a required field is missing",
        "add the field named in the path",
    ),
    (
        "E1003",
        "a field has the wrong JSON type",
        "use the type named in the message",
    ),
    (
        "E1004",
        "a count is not a whole number >= 0",
        "counts are integers such as 0, 1, 2",
    ),
    (
        "E1005",
        "a count that must be at least 1 is 0",
        "qty and max_shipments are >= 1",
    ),
    (
        "E1006",
        "a cost or weight is negative",
        "costs and weights are finite numbers >= 0",
    ),
    (
        "E1007",
        "a number is too large",
        "counts are at most 1000000000, money and miles at most 1e12",
    ),
    ("E1008", "an id is empty", "ids are non-empty strings"),
    ("E1100", "duplicate node id", "node ids are unique"),
    (
        "E1101",
        "unknown node kind",
        "kind is one of dc, store, 3pl, supplier",
    ),
    (
        "E1102",
        "latitude outside [-90, 90]",
        "latitude is in degrees north",
    ),
    (
        "E1103",
        "longitude outside [-180, 180]",
        "longitude is in degrees east",
    ),
    ("E1200", "duplicate sku id", "sku ids are unique"),
    (
        "E1201",
        "inventory row names an unknown sku",
        "add the sku to `skus` or fix the id",
    ),
    (
        "E1202",
        "duplicate (node, sku) inventory row",
        "merge the rows into one",
    ),
    (
        "E1203",
        "inventory row names an unknown node",
        "add the node to `nodes` or fix the id",
    ),
    (
        "E1300",
        "zone_upper_miles is not strictly increasing",
        "list zone bounds in increasing order, no repeats",
    ),
    (
        "E1301",
        "a per-zone array has the wrong length",
        "per-zone arrays have len(zone_upper_miles) + 1 entries",
    ),
    (
        "E1302",
        "the rate card has no services",
        "add at least one service",
    ),
    (
        "E1303",
        "duplicate service name",
        "service names are unique",
    ),
    (
        "E1304",
        "a service is named `pickup`",
        "`pickup` is reserved for pickup orders",
    ),
    (
        "E1400",
        "costs.unfilled_penalty is not > 0",
        "set a positive per-unit unfilled penalty",
    ),
    ("E1500", "duplicate order id", "order ids are unique"),
    (
        "E1501",
        "an order has no lines",
        "give every order at least one line",
    ),
    (
        "E1502",
        "an order line names an unknown sku",
        "add the sku to `skus` or fix the id",
    ),
    (
        "E1503",
        "an order names the same sku on two lines",
        "merge the lines into one",
    ),
    (
        "E1504",
        "pickup_node names an unknown node",
        "use the id of a node in `nodes`",
    ),
    (
        "E1505",
        "an order's total quantity is larger than 1000000000",
        "split the order; an order asks for at most 1000000000 units in all",
    ),
    (
        "E1506",
        "exclude_nodes names an unknown node or is not an array of ids",
        "list ids of nodes in `nodes`",
    ),
    (
        "E2000",
        "the plan is not a valid domopt.plan/1 document",
        "fix the field named in the message",
    ),
];

/// One problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    /// Stable code, listed in [`CODES`].
    pub code: &'static str,
    /// JSON path of the offending field, e.g. `inventory[17].node`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: &'static str,
}

impl Issue {
    fn new(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Issue {
        let hint = CODES
            .iter()
            .find(|(c, _, _)| *c == code)
            .map(|(_, _, h)| *h)
            .unwrap_or("");
        Issue {
            code,
            path: path.into(),
            message: message.into(),
            hint,
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} at {} (hint: {})",
            self.code, self.message, self.path, self.hint
        )
    }
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The document was read but breaks the format; every violation is listed.
    #[error("{} problem(s) found:\n{}", .0.len(), .0.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Issue>),
}

impl ReadError {
    /// The issues, empty for I/O errors.
    pub fn issues(&self) -> &[Issue] {
        match self {
            ReadError::Invalid(issues) => issues,
            ReadError::Io { .. } => &[],
        }
    }
}

/// Reads a file, gunzipping it when it starts with the gzip magic bytes.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.display().to_string(),
        source,
    };
    let raw = std::fs::read(path).map_err(io)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Reads and validates an instance file (`.json` or gzip).
pub fn read_instance(path: &Path) -> Result<Instance, ReadError> {
    parse_instance(&read_bytes(path)?)
}

/// Reads and validates a plan file (`.json` or gzip).
pub fn read_plan(path: &Path) -> Result<Plan, ReadError> {
    parse_plan(&read_bytes(path)?)
}

fn syntax_issue(e: &serde_json::Error) -> Issue {
    let what = match e.classify() {
        serde_json::error::Category::Eof => "the document ends early (truncated?)",
        _ => "invalid JSON",
    };
    Issue::new(
        "E1000",
        format!("line {} column {}", e.line(), e.column()),
        format!("{what}: {e}"),
    )
}

/// Parses a plan document. Plans are produced by programs, so the first structural
/// error is reported (with its path) rather than all of them.
pub fn parse_plan(bytes: &[u8]) -> Result<Plan, ReadError> {
    // Unknown fields are skipped without decoding their strings: a document that is not
    // UTF-8 is refused as the JSON tree refuses it.
    if std::str::from_utf8(bytes).is_err()
        && let Err(e) = serde_json::from_slice::<Value>(bytes)
    {
        return Err(ReadError::Invalid(vec![syntax_issue(&e)]));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let plan: Plan = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            ReadError::Invalid(vec![syntax_issue(inner)])
        } else {
            ReadError::Invalid(vec![Issue::new(
                "E2000",
                e.path().to_string(),
                inner.to_string(),
            )])
        }
    })?;
    // Only whitespace may follow the document.
    de.end()
        .map_err(|e| ReadError::Invalid(vec![syntax_issue(&e)]))?;
    if plan.format != PLAN_FORMAT {
        return Err(ReadError::Invalid(vec![Issue::new(
            "E2000",
            "format",
            format!("expected \"{PLAN_FORMAT}\", found \"{}\"", plan.format),
        )]));
    }
    Ok(plan)
}

/// Parses and validates an instance document, reporting every violation at once.
/// A valid document is read on the fast path ([`typed`]); any other goes through the
/// full reader, which finds every issue.
pub fn parse_instance(bytes: &[u8]) -> Result<Instance, ReadError> {
    if let Some(instance) = typed::parse_valid_instance(bytes) {
        return Ok(instance);
    }
    parse_instance_fully(bytes)
}

/// Parses and validates an instance document with the full reader only (a JSON tree
/// first, then every field checked with its path).
pub fn parse_instance_fully(bytes: &[u8]) -> Result<Instance, ReadError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ReadError::Invalid(vec![syntax_issue(&e)]))?;
    instance_from_value(&value)
}

/// Validates an already-parsed JSON value as an instance.
pub fn instance_from_value(value: &Value) -> Result<Instance, ReadError> {
    let mut r = Fields::default();
    let inst = r.instance(value);
    if r.issues.is_empty() {
        Ok(inst)
    } else {
        Err(ReadError::Invalid(r.issues))
    }
}

/// A set of ids that references are checked against.
pub trait IdSet {
    /// Whether `id` is in the set.
    fn has(&self, id: &str) -> bool;
}

impl<T: std::borrow::Borrow<str> + std::hash::Hash + Eq> IdSet for HashSet<T> {
    fn has(&self, id: &str) -> bool {
        self.contains(id)
    }
}

/// Validates a JSON array of orders as an instance's `orders` (paths `$.orders[i]…`)
/// against the ids of a network's nodes and skus, reporting every issue at once;
/// the cost grows with the orders, not with the network.
pub fn orders_from_value(
    orders: &Value,
    node_ids: &dyn IdSet,
    sku_ids: &dyn IdSet,
) -> Result<Vec<Order>, ReadError> {
    let mut r = Fields::default();
    let list: Vec<Order> = match orders {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| r.order(v, &format!("$.orders[{i}]"), node_ids, sku_ids))
            .collect(),
        other => {
            r.wrong_type("$.orders", "an array", other);
            Vec::new()
        }
    };
    r.unique_ids(list.iter().map(|o| o.id.as_str()), "$.orders", "E1500");
    if r.issues.is_empty() {
        Ok(list)
    } else {
        Err(ReadError::Invalid(r.issues))
    }
}

/// Largest count accepted.
const MAX_COUNT: f64 = 1e9;
/// Largest money or distance value accepted.
const MAX_AMOUNT: f64 = 1e12;

/// Walks a JSON tree, collecting issues and building domain values with defaults
/// in place of broken fields so that validation can go on.
#[derive(Default)]
struct Fields {
    issues: Vec<Issue>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Fields {
    fn push(&mut self, code: &'static str, path: impl Into<String>, msg: impl Into<String>) {
        self.issues.push(Issue::new(code, path, msg));
    }

    fn wrong_type(&mut self, path: &str, want: &str, got: &Value) {
        self.push(
            "E1003",
            path,
            format!("expected {want}, found {}", kind_name(got)),
        );
    }

    /// A present, non-null field, or `None` (pushing E1002 when `required`).
    fn get<'v>(
        &mut self,
        o: &'v Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
    ) -> Option<&'v Value> {
        match o.get(key) {
            Some(Value::Null) | None => {
                if required {
                    self.push("E1002", format!("{path}.{key}"), format!("missing `{key}`"));
                }
                None
            }
            Some(v) => Some(v),
        }
    }

    fn object<'v>(&mut self, v: &'v Value, path: &str) -> &'v Map<String, Value> {
        match v {
            Value::Object(o) => o,
            other => {
                self.wrong_type(path, "an object", other);
                &EMPTY
            }
        }
    }

    fn array<'v>(&mut self, o: &'v Map<String, Value>, key: &str, path: &str) -> &'v [Value] {
        match self.get(o, key, path, true) {
            Some(Value::Array(a)) => a,
            Some(other) => {
                self.wrong_type(&format!("{path}.{key}"), "an array", other);
                &[]
            }
            None => &[],
        }
    }

    fn string(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
    ) -> Option<String> {
        match self.get(o, key, path, required)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(&format!("{path}.{key}"), "a string", other);
                None
            }
        }
    }

    fn id(&mut self, o: &Map<String, Value>, key: &str, path: &str) -> String {
        let s = self.string(o, key, path, true).unwrap_or_default();
        if s.is_empty() && o.get(key).is_some_and(Value::is_string) {
            self.push(
                "E1008",
                format!("{path}.{key}"),
                format!("`{key}` is empty"),
            );
        }
        s
    }

    fn boolean(&mut self, o: &Map<String, Value>, key: &str, path: &str) -> bool {
        match self.get(o, key, path, false) {
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.wrong_type(&format!("{path}.{key}"), "a boolean", other);
                false
            }
            None => false,
        }
    }

    /// A finite number within range (lat/lon and amounts).
    fn number(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
    ) -> Option<f64> {
        let v = self.get(o, key, path, required)?;
        self.number_value(v, &format!("{path}.{key}"))
    }

    fn number_value(&mut self, v: &Value, path: &str) -> Option<f64> {
        let Value::Number(n) = v else {
            self.wrong_type(path, "a number", v);
            return None;
        };
        let x = n.as_f64().unwrap_or(f64::INFINITY);
        if !x.is_finite() || x.abs() > MAX_AMOUNT {
            self.push("E1007", path, format!("{x} is out of range"));
            return None;
        }
        Some(x)
    }

    /// A finite amount ≥ 0 (costs, weights, miles).
    fn amount(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
    ) -> Option<f64> {
        let v = self.get(o, key, path, required)?;
        self.amount_value(v, &format!("{path}.{key}"))
    }

    fn count_value(&mut self, v: &Value, path: &str, min: u32) -> Option<u32> {
        let Value::Number(n) = v else {
            self.wrong_type(path, "a whole number", v);
            return None;
        };
        let x = n.as_f64().unwrap_or(f64::INFINITY);
        if !x.is_finite() || x.fract() != 0.0 || x < 0.0 {
            self.push("E1004", path, format!("{n} is not a whole number >= 0"));
            None
        } else if x > MAX_COUNT {
            self.push("E1007", path, format!("{n} is larger than {MAX_COUNT}"));
            None
        } else if (x as u32) < min {
            self.push("E1005", path, format!("{n} is less than {min}"));
            None
        } else {
            Some(x as u32)
        }
    }

    fn count(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
        min: u32,
    ) -> Option<u32> {
        let v = self.get(o, key, path, required)?;
        self.count_value(v, &format!("{path}.{key}"), min)
    }

    fn per_zone<T>(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        path: &str,
        zones: usize,
        mut item: impl FnMut(&mut Self, &Value, &str) -> Option<T>,
    ) -> Vec<T>
    where
        T: Default,
    {
        let arr = self.array(o, key, path);
        let p = format!("{path}.{key}");
        if arr.len() != zones && o.get(key).is_some_and(Value::is_array) {
            self.push(
                "E1301",
                p.clone(),
                format!("has {} entries, expected {zones}", arr.len()),
            );
        }
        arr.iter()
            .enumerate()
            .map(|(i, v)| item(self, v, &format!("{p}[{i}]")).unwrap_or_default())
            .collect()
    }

    fn amount_value(&mut self, v: &Value, path: &str) -> Option<f64> {
        let x = self.number_value(v, path)?;
        if x < 0.0 {
            self.push("E1006", path, format!("{x} is negative"));
            return None;
        }
        Some(x)
    }

    fn lat_lon(&mut self, o: &Map<String, Value>, path: &str) -> (f64, f64) {
        let lat = self.number(o, "lat", path, true).unwrap_or(0.0);
        let lon = self.number(o, "lon", path, true).unwrap_or(0.0);
        if !(-90.0..=90.0).contains(&lat) {
            self.push(
                "E1102",
                format!("{path}.lat"),
                format!("latitude {lat} is outside [-90, 90]"),
            );
        }
        if !(-180.0..=180.0).contains(&lon) {
            self.push(
                "E1103",
                format!("{path}.lon"),
                format!("longitude {lon} is outside [-180, 180]"),
            );
        }
        (lat, lon)
    }

    fn unique_ids<'a>(
        &mut self,
        ids: impl Iterator<Item = &'a str>,
        list: &str,
        code: &'static str,
    ) -> HashSet<&'a str> {
        let mut seen = HashSet::new();
        for (i, id) in ids.enumerate() {
            if !id.is_empty() && !seen.insert(id) {
                self.push(
                    code,
                    format!("{list}[{i}].id"),
                    format!("id \"{id}\" appears more than once"),
                );
            }
        }
        seen
    }

    fn instance(&mut self, value: &Value) -> Instance {
        let root = self.object(value, "$");
        let p = "$";
        match root.get("format") {
            Some(Value::String(s)) if s == INSTANCE_FORMAT => {}
            Some(other) => self.push(
                "E1001",
                "$.format",
                format!("expected \"{INSTANCE_FORMAT}\", found {other}"),
            ),
            None => self.push(
                "E1001",
                "$.format",
                format!("missing `format`, expected \"{INSTANCE_FORMAT}\""),
            ),
        }
        let name = self.string(root, "name", p, true).unwrap_or_default();

        let nodes: Vec<Node> = self
            .array(root, "nodes", p)
            .iter()
            .enumerate()
            .map(|(i, v)| self.node(v, &format!("$.nodes[{i}]")))
            .collect();
        let node_ids = self.unique_ids(nodes.iter().map(|n| n.id.as_str()), "$.nodes", "E1100");

        let skus: Vec<Sku> = self
            .array(root, "skus", p)
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let path = format!("$.skus[{i}]");
                let o = self.object(v, &path);
                Sku {
                    id: self.id(o, "id", &path),
                    weight: self.amount(o, "weight", &path, false).unwrap_or(1.0),
                }
            })
            .collect();
        let sku_ids = self.unique_ids(skus.iter().map(|s| s.id.as_str()), "$.skus", "E1200");

        let mut pairs = HashMap::new();
        let inventory: Vec<InventoryRow> = self
            .array(root, "inventory", p)
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let path = format!("$.inventory[{i}]");
                let o = self.object(v, &path);
                let row = InventoryRow {
                    node: self.string(o, "node", &path, true).unwrap_or_default(),
                    sku: self.string(o, "sku", &path, true).unwrap_or_default(),
                    on_hand: self.count(o, "on_hand", &path, true, 0).unwrap_or(0),
                    reserved: self.count(o, "reserved", &path, false, 0).unwrap_or(0),
                    safety_stock: self.count(o, "safety_stock", &path, false, 0).unwrap_or(0),
                };
                if o.contains_key("node") && !node_ids.contains(row.node.as_str()) {
                    self.push(
                        "E1203",
                        format!("{path}.node"),
                        format!("inventory row names unknown node \"{}\"", row.node),
                    );
                }
                if o.contains_key("sku") && !sku_ids.contains(row.sku.as_str()) {
                    self.push(
                        "E1201",
                        format!("{path}.sku"),
                        format!("inventory row names unknown sku \"{}\"", row.sku),
                    );
                }
                if let Some(first) = pairs.insert((row.node.clone(), row.sku.clone()), i) {
                    self.push(
                        "E1202",
                        path,
                        format!(
                            "(\"{}\", \"{}\") already appears at inventory[{first}]",
                            row.node, row.sku
                        ),
                    );
                }
                row
            })
            .collect();

        let rate_card = match self.get(root, "rate_card", p, true) {
            Some(v) => self.rate_card(v),
            None => RateCard {
                zone_upper_miles: vec![],
                services: vec![],
            },
        };

        let costs = {
            let path = "$.costs";
            let o = match self.get(root, "costs", p, true) {
                Some(v) => self.object(v, path),
                None => &EMPTY,
            };
            let unfilled = self.amount(o, "unfilled_penalty", path, root.contains_key("costs"));
            if let Some(u) = unfilled
                && u <= 0.0
            {
                self.push(
                    "E1400",
                    format!("{path}.unfilled_penalty"),
                    "unfilled_penalty must be > 0",
                );
            }
            Costs {
                split_penalty: self.amount(o, "split_penalty", path, false).unwrap_or(0.0),
                unfilled_penalty: unfilled.unwrap_or(1.0),
                late_penalty_per_day: self.amount(o, "late_penalty_per_day", path, false),
            }
        };

        let orders: Vec<Order> = self
            .array(root, "orders", p)
            .iter()
            .enumerate()
            .map(|(i, v)| self.order(v, &format!("$.orders[{i}]"), &node_ids, &sku_ids))
            .collect();
        self.unique_ids(orders.iter().map(|o| o.id.as_str()), "$.orders", "E1500");

        Instance {
            format: INSTANCE_FORMAT.to_string(),
            name,
            nodes,
            skus,
            inventory,
            rate_card,
            costs,
            orders,
        }
    }

    fn node(&mut self, v: &Value, path: &str) -> Node {
        let o = self.object(v, path);
        let id = self.id(o, "id", path);
        let kind = match self.string(o, "kind", path, true) {
            Some(k) => NodeKind::parse(&k).unwrap_or_else(|| {
                self.push(
                    "E1101",
                    format!("{path}.kind"),
                    format!("unknown kind \"{k}\""),
                );
                NodeKind::Dc
            }),
            None => NodeKind::Dc,
        };
        let (lat, lon) = self.lat_lon(o, path);
        Node {
            id,
            kind,
            lat,
            lon,
            handling_days: self.count(o, "handling_days", path, false, 0).unwrap_or(0),
            cost_per_shipment: self
                .amount(o, "cost_per_shipment", path, false)
                .unwrap_or(0.0),
            cost_per_unit: self.amount(o, "cost_per_unit", path, false).unwrap_or(0.0),
            capacity_shipments: self.count(o, "capacity_shipments", path, false, 0),
            capacity_units: self.count(o, "capacity_units", path, false, 0),
        }
    }

    fn rate_card(&mut self, v: &Value) -> RateCard {
        let path = "$.rate_card";
        let o = self.object(v, path);
        let bounds: Vec<f64> = self
            .array(o, "zone_upper_miles", path)
            .iter()
            .enumerate()
            .map(|(i, v)| {
                self.amount_value(v, &format!("{path}.zone_upper_miles[{i}]"))
                    .unwrap_or(0.0)
            })
            .collect();
        if let Some(i) = bounds.windows(2).position(|w| w[1] <= w[0]) {
            self.push(
                "E1300",
                format!("{path}.zone_upper_miles[{}]", i + 1),
                format!(
                    "{} does not exceed the previous bound {}",
                    bounds[i + 1],
                    bounds[i]
                ),
            );
        }
        let zones = bounds.len() + 1;
        let services_json = self.array(o, "services", path);
        if services_json.is_empty() && o.get("services").is_some_and(Value::is_array) {
            self.push("E1302", format!("{path}.services"), "no services");
        }
        let mut names = HashSet::new();
        let services = services_json
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let sp = format!("{path}.services[{i}]");
                let so = self.object(v, &sp);
                let name = self.id(so, "name", &sp);
                if name == PICKUP_SERVICE {
                    self.push(
                        "E1304",
                        format!("{sp}.name"),
                        "the name `pickup` is reserved",
                    );
                } else if !name.is_empty() && !names.insert(name.clone()) {
                    self.push(
                        "E1303",
                        format!("{sp}.name"),
                        format!("service \"{name}\" appears more than once"),
                    );
                }
                Service {
                    name,
                    transit_days: self.per_zone(so, "transit_days", &sp, zones, |r, v, p| {
                        r.count_value(v, p, 0)
                    }),
                    base: self.per_zone(so, "base", &sp, zones, |r, v, p| r.amount_value(v, p)),
                    per_weight: self
                        .per_zone(so, "per_weight", &sp, zones, |r, v, p| r.amount_value(v, p)),
                }
            })
            .collect();
        RateCard {
            zone_upper_miles: bounds,
            services,
        }
    }

    fn order(&mut self, v: &Value, path: &str, node_ids: &dyn IdSet, sku_ids: &dyn IdSet) -> Order {
        let o = self.object(v, path);
        let id = self.id(o, "id", path);
        let ship_to = match self.get(o, "ship_to", path, true) {
            Some(v) => {
                let sp = format!("{path}.ship_to");
                let so = self.object(v, &sp);
                let (lat, lon) = self.lat_lon(so, &sp);
                Point { lat, lon }
            }
            None => Point { lat: 0.0, lon: 0.0 },
        };
        let lines_json = self.array(o, "lines", path);
        if lines_json.is_empty() && o.get("lines").is_some_and(Value::is_array) {
            self.push(
                "E1501",
                format!("{path}.lines"),
                format!("order \"{id}\" has no lines"),
            );
        }
        let mut seen = HashSet::new();
        let lines: Vec<Line> = lines_json
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let lp = format!("{path}.lines[{i}]");
                let lo = self.object(v, &lp);
                let sku = self.string(lo, "sku", &lp, true).unwrap_or_default();
                if lo.contains_key("sku") && !sku_ids.has(&sku) {
                    self.push(
                        "E1502",
                        format!("{lp}.sku"),
                        format!("unknown sku \"{sku}\""),
                    );
                } else if !sku.is_empty() && !seen.insert(sku.clone()) {
                    self.push(
                        "E1503",
                        format!("{lp}.sku"),
                        format!("sku \"{sku}\" is on an earlier line too"),
                    );
                }
                Line {
                    sku,
                    qty: self.count(lo, "qty", &lp, true, 1).unwrap_or(1),
                }
            })
            .collect();
        let total: u64 = lines.iter().map(|l: &Line| u64::from(l.qty)).sum();
        if total as f64 > MAX_COUNT {
            self.push(
                "E1505",
                format!("{path}.lines"),
                format!("order \"{id}\" asks for {total} units in all"),
            );
        }
        let pickup_node = self.string(o, "pickup_node", path, false);
        if let Some(n) = &pickup_node
            && !node_ids.has(n)
        {
            self.push(
                "E1504",
                format!("{path}.pickup_node"),
                format!("unknown node \"{n}\""),
            );
        }
        let mut exclude_nodes = Vec::new();
        match o.get("exclude_nodes") {
            None | Some(Value::Null) => {}
            Some(Value::Array(ids)) => {
                for (j, v) in ids.iter().enumerate() {
                    match v.as_str() {
                        Some(n) if node_ids.has(n) => exclude_nodes.push(n.to_string()),
                        _ => self.push(
                            "E1506",
                            format!("{path}.exclude_nodes[{j}]"),
                            format!("{v} is not the id of a node"),
                        ),
                    }
                }
            }
            Some(other) => self.wrong_type(&format!("{path}.exclude_nodes"), "an array", other),
        }
        Order {
            id,
            channel: self
                .string(o, "channel", path, false)
                .unwrap_or_else(|| "web".into()),
            ship_to,
            promise_days: self.count(o, "promise_days", path, true, 0).unwrap_or(0),
            lines,
            max_shipments: self.count(o, "max_shipments", path, false, 1),
            ship_complete: self.boolean(o, "ship_complete", path),
            pickup_node,
            unfilled_penalty: self.amount(o, "unfilled_penalty", path, false),
            exclude_nodes,
            placed_at: self.amount(o, "placed_at", path, false),
        }
    }
}

/// Writes a document as JSON, gzip-compressed when `path` ends in `.gz`; `None` writes
/// pretty JSON to stdout.
pub fn write_json<T: serde::Serialize>(doc: &T, path: Option<&Path>) -> std::io::Result<()> {
    match path {
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            serde_json::to_writer_pretty(&mut out, doc)?;
            out.write_all(b"\n")?;
            out.flush()
        }
        Some(p) => {
            let file = std::io::BufWriter::new(std::fs::File::create(p)?);
            if p.extension().is_some_and(|e| e == "gz") {
                let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
                // Buffer in front of the encoder: serde writes many small pieces.
                let mut buffered = std::io::BufWriter::with_capacity(1 << 16, gz);
                serde_json::to_writer(&mut buffered, doc)?;
                let gz = buffered.into_inner().map_err(|e| e.into_error())?;
                gz.finish()?.flush()
            } else {
                let mut file = file;
                serde_json::to_writer_pretty(&mut file, doc)?;
                file.write_all(b"\n")?;
                file.flush()
            }
        }
    }
}
