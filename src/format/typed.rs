//! The fast path of the instance reader: the inventory, usually most of a large
//! document (4 million rows on a 1,000-node network with 200,000 skus), is read
//! straight into typed rows instead of a JSON tree, and checked with indices instead
//! of string maps. Everything else goes through the full reader.
//!
//! The fast path only ever accepts what the full reader accepts and builds the same
//! [`Instance`]: whenever a row is not plainly valid (a count that is not a whole
//! number in range, an unknown id, a duplicate pair, a missing or unknown field, an
//! array in place of an object) it gives up and the full reader runs, so that every
//! issue is reported with its path as before.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{MAX_COUNT, instance_from_value};
use crate::domain::{Instance, InventoryRow};

/// An inventory row as it appears in the document. A row with other fields is left to
/// the full reader: skipping them here would not count their nesting depth against
/// the JSON parser's recursion limit, which the full reader's JSON tree hits.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    node: String,
    sku: String,
    on_hand: u64,
    #[serde(default)]
    reserved: u64,
    #[serde(default)]
    safety_stock: u64,
}

/// A row whose counts are in range, converted as it is read (no second copy of the
/// whole inventory); a count above [`MAX_COUNT`] fails the fast path.
#[derive(Deserialize)]
#[serde(try_from = "Row")]
struct CountedRow(InventoryRow);

impl TryFrom<Row> for CountedRow {
    type Error = &'static str;

    fn try_from(r: Row) -> Result<CountedRow, &'static str> {
        let count = |x: u64| {
            (x as f64 <= MAX_COUNT)
                .then_some(x as u32)
                .ok_or("a count above the limit")
        };
        Ok(CountedRow(InventoryRow {
            on_hand: count(r.on_hand)?,
            reserved: count(r.reserved)?,
            safety_stock: count(r.safety_stock)?,
            node: r.node,
            sku: r.sku,
        }))
    }
}

/// The document with its inventory typed and the rest kept as JSON. Fields are named
/// one by one (`flatten` would buffer the whole document); a document with other
/// top-level fields is left to the full reader, as a row with other fields is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(deserialize_with = "rows_presized")]
    inventory: Vec<CountedRow>,
    format: Option<Value>,
    name: Option<Value>,
    nodes: Option<Value>,
    skus: Option<Value>,
    rate_card: Option<Value>,
    costs: Option<Value>,
    orders: Option<Value>,
}

impl Document {
    /// The document without its inventory, as JSON (absent fields stay absent).
    fn rest(self) -> (Vec<CountedRow>, Map<String, Value>) {
        let mut rest = Map::new();
        for (key, value) in [
            ("format", self.format),
            ("name", self.name),
            ("nodes", self.nodes),
            ("skus", self.skus),
            ("rate_card", self.rate_card),
            ("costs", self.costs),
            ("orders", self.orders),
        ] {
            if let Some(v) = value {
                rest.insert(key.into(), v);
            }
        }
        rest.insert("inventory".into(), Value::Array(Vec::new()));
        (self.inventory, rest)
    }
}

/// `T` read from a JSON object only: a derived struct also reads an array of its
/// field values (`["DC-1", "SKU-1", 5]` for a row), which the full reader refuses.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Fields<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Object<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(Fields(std::marker::PhantomData))
    }
}

std::thread_local! {
    /// Rows the inventory of the document being read may hold at most.
    static ROWS_AT_MOST: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Reads the inventory into a vector sized once for the most rows the document can
/// hold: growing it by doubling copied and faulted in a quarter of the reading time
/// on a 4-million-row document. Unused capacity is address space, never touched.
fn rows_presized<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<CountedRow>, D::Error> {
    struct Rows;
    impl<'de> serde::de::Visitor<'de> for Rows {
        type Value = Vec<CountedRow>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of inventory rows")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut rows = Vec::with_capacity(ROWS_AT_MOST.get());
            while let Some(Object(row)) = seq.next_element()? {
                rows.push(row);
            }
            Ok(rows)
        }
    }
    d.deserialize_seq(Rows)
}

/// Reads `bytes` as a valid instance, or `None` when the full reader must decide
/// (invalid JSON, any issue at all, or a shape the fast path does not take).
pub fn parse_valid_instance(bytes: &[u8]) -> Option<Instance> {
    // The shortest row, `{"node":"","sku":"","on_hand":0}`, has 32 bytes.
    ROWS_AT_MOST.set(bytes.len() / 32);
    let Object(doc): Object<Document> = serde_json::from_slice(bytes).ok()?;
    let (inventory, rest) = doc.rest();
    let mut instance = instance_from_value(&Value::Object(rest)).ok()?;
    instance.inventory = checked_rows(&instance, inventory)?;
    Some(instance)
}

/// The rows as domain values, or `None` when the full reader would report one: an
/// unknown node or sku, or a repeated (node, sku) pair.
fn checked_rows(instance: &Instance, rows: Vec<CountedRow>) -> Option<Vec<InventoryRow>> {
    let index = |ids: Vec<&str>| -> HashMap<String, u64> {
        ids.into_iter()
            .enumerate()
            .map(|(i, id)| (id.to_string(), i as u64))
            .collect()
    };
    let nodes = index(instance.nodes.iter().map(|n| n.id.as_str()).collect());
    let skus = index(instance.skus.iter().map(|s| s.id.as_str()).collect());
    // Repeated pairs are found by sorting their keys: far less memory and time than
    // a set of millions of pairs.
    let mut keys = Vec::with_capacity(rows.len());
    for CountedRow(r) in &rows {
        keys.push(skus.get(&r.sku)? << 32 | nodes.get(&r.node)?);
    }
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    Some(rows.into_iter().map(|CountedRow(r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::super::{parse_instance, parse_instance_fully};
    use crate::generate::{GenParams, generate};
    use serde_json::{Value, json};

    /// Both readers give the same instance, or the same issues.
    fn same_reading(doc: &Value) {
        let bytes = serde_json::to_vec(doc).unwrap();
        let (fast, full) = (parse_instance(&bytes), parse_instance_fully(&bytes));
        match (fast, full) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.issues(), b.issues()),
            (a, b) => panic!("the readers disagree: {a:?} vs {b:?}"),
        }
    }

    fn window(seed: u64) -> Value {
        let inst = generate(&GenParams {
            orders: 60,
            nodes: 8,
            skus: 30,
            seed,
            ..GenParams::default()
        });
        serde_json::to_value(inst).unwrap()
    }

    #[test]
    fn generated_windows_read_the_same_on_both_paths() {
        for seed in 1..=5 {
            let doc = window(seed);
            same_reading(&doc);
            let bytes = serde_json::to_vec(&doc).unwrap();
            assert!(super::parse_valid_instance(&bytes).is_some());
        }
    }

    #[test]
    fn rows_the_fast_path_declines_are_reported_as_the_full_reader_reports_them() {
        let base = window(7);
        let row0 = base["inventory"][0].clone();
        type Edit = Box<dyn Fn(&mut Value)>;
        let edits: Vec<Edit> = vec![
            Box::new(|d| d["inventory"][0]["on_hand"] = json!(5.0)),
            Box::new(|d| d["inventory"][0]["on_hand"] = json!(-1)),
            Box::new(|d| d["inventory"][0]["on_hand"] = json!(2_000_000_000u64)),
            Box::new(|d| d["inventory"][0]["reserved"] = Value::Null),
            Box::new(|d| d["inventory"][0]["node"] = json!("NOWHERE")),
            Box::new(|d| d["inventory"][0]["sku"] = json!("NOTHING")),
            Box::new(|d| d["inventory"][0]["extra"] = json!({"any": 1})),
            Box::new(move |d| d["inventory"].as_array_mut().unwrap().push(row0.clone())),
            Box::new(|d| {
                d["inventory"][0].as_object_mut().unwrap().remove("on_hand");
            }),
            Box::new(|d| d["inventory"] = json!({})),
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("inventory");
            }),
            Box::new(|d| d["orders"][0]["lines"][0]["qty"] = json!(0)),
        ];
        for edit in edits {
            let mut doc = base.clone();
            edit(&mut doc);
            same_reading(&doc);
        }
    }

    /// Documents the fast path accepted while the full reader refused them: arrays in
    /// place of objects (a derived struct also reads an array of its field values),
    /// and unknown fields nested deeper than the JSON parser's recursion limit
    /// (skipped without counting the depth).
    #[test]
    fn documents_the_full_reader_refuses_are_refused_on_the_fast_path_too() {
        let base = window(7);
        let mut rows_as_arrays = base.clone();
        for r in rows_as_arrays["inventory"].as_array_mut().unwrap() {
            *r = json!([
                r["node"],
                r["sku"],
                r["on_hand"],
                r["reserved"],
                r["safety_stock"]
            ]);
        }
        let fields = [
            "inventory",
            "format",
            "name",
            "nodes",
            "skus",
            "rate_card",
            "costs",
            "orders",
        ];
        let as_array = Value::Array(fields.iter().map(|f| base[*f].clone()).collect());
        let deep = (0..200).fold(json!([]), |v, _| json!([v]));
        let mut deep_at_top = base.clone();
        deep_at_top["extra"] = deep.clone();
        let mut deep_in_row = base.clone();
        deep_in_row["inventory"][0]["extra"] = deep;
        for doc in [rows_as_arrays, as_array, deep_at_top, deep_in_row] {
            same_reading(&doc);
            assert!(parse_instance(&serde_json::to_vec(&doc).unwrap()).is_err());
        }
    }
}
