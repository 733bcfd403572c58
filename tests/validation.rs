//! Every validation code has an input that triggers it, with the right JSON path.

mod common;

use domopt::format::{CODES, ReadError, instance_from_value, parse_instance, parse_plan};
use serde_json::{Value, json};

fn codes_of(v: &Value) -> Vec<(String, String)> {
    match instance_from_value(v) {
        Ok(_) => vec![],
        Err(e) => e
            .issues()
            .iter()
            .map(|i| (i.code.to_string(), i.path.clone()))
            .collect(),
    }
}

fn mutated(pointer: &str, value: Option<Value>) -> Value {
    let mut v = common::tiny();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = v
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    match (target, value) {
        (Value::Object(o), Some(x)) => {
            o.insert(key.to_string(), x);
        }
        (Value::Object(o), None) => {
            o.remove(key);
        }
        (Value::Array(a), Some(x)) => {
            let i: usize = key.parse().unwrap();
            if i == a.len() { a.push(x) } else { a[i] = x }
        }
        (Value::Array(a), None) => {
            a.remove(key.parse().unwrap());
        }
        _ => panic!("bad pointer {pointer}"),
    }
    v
}

#[test]
fn the_tiny_instance_is_valid() {
    assert_eq!(codes_of(&common::tiny()), vec![]);
}

#[test]
fn every_rule_has_its_code_and_path() {
    let cases: Vec<(&str, Option<Value>, &str, &str)> = vec![
        (
            "/format",
            Some(json!("domopt.instance/2")),
            "E1001",
            "$.format",
        ),
        ("/format", None, "E1001", "$.format"),
        ("/name", None, "E1002", "$.name"),
        ("/orders/0/ship_to", None, "E1002", "$.orders[0].ship_to"),
        ("/costs", None, "E1002", "$.costs"),
        (
            "/nodes/0/lat",
            Some(json!("north")),
            "E1003",
            "$.nodes[0].lat",
        ),
        ("/orders", Some(json!({})), "E1003", "$.orders"),
        (
            "/orders/0/ship_complete",
            Some(json!("yes")),
            "E1003",
            "$.orders[0].ship_complete",
        ),
        (
            "/inventory/0/on_hand",
            Some(json!(-4)),
            "E1004",
            "$.inventory[0].on_hand",
        ),
        (
            "/inventory/0/reserved",
            Some(json!(1.5)),
            "E1004",
            "$.inventory[0].reserved",
        ),
        (
            "/orders/0/lines/0/qty",
            Some(json!(0)),
            "E1005",
            "$.orders[0].lines[0].qty",
        ),
        (
            "/orders/0/max_shipments",
            Some(json!(0)),
            "E1005",
            "$.orders[0].max_shipments",
        ),
        (
            "/nodes/0/cost_per_unit",
            Some(json!(-0.5)),
            "E1006",
            "$.nodes[0].cost_per_unit",
        ),
        (
            "/skus/0/weight",
            Some(json!(-1)),
            "E1006",
            "$.skus[0].weight",
        ),
        (
            "/rate_card/services/0/base/3",
            Some(json!(-8.6)),
            "E1006",
            "$.rate_card.services[0].base[3]",
        ),
        (
            "/inventory/0/on_hand",
            Some(json!(1e15)),
            "E1007",
            "$.inventory[0].on_hand",
        ),
        (
            "/nodes/0/cost_per_shipment",
            Some(json!(1e300)),
            "E1007",
            "$.nodes[0].cost_per_shipment",
        ),
        ("/nodes/1/id", Some(json!("")), "E1008", "$.nodes[1].id"),
        (
            "/nodes/1/id",
            Some(json!("DC-NJ")),
            "E1100",
            "$.nodes[1].id",
        ),
        (
            "/nodes/0/kind",
            Some(json!("warehouse")),
            "E1101",
            "$.nodes[0].kind",
        ),
        (
            "/orders/1/ship_to/lat",
            Some(json!(91)),
            "E1102",
            "$.orders[1].ship_to.lat",
        ),
        ("/nodes/0/lon", Some(json!(-181)), "E1103", "$.nodes[0].lon"),
        (
            "/skus/1/id",
            Some(json!("JACKET-M")),
            "E1200",
            "$.skus[1].id",
        ),
        (
            "/inventory/1/sku",
            Some(json!("HAT")),
            "E1201",
            "$.inventory[1].sku",
        ),
        (
            "/inventory/1",
            Some(json!({"node": "DC-NJ", "sku": "JACKET-M", "on_hand": 1})),
            "E1202",
            "$.inventory[1]",
        ),
        (
            "/inventory/0/node",
            Some(json!("DC-X")),
            "E1203",
            "$.inventory[0].node",
        ),
        (
            "/rate_card/zone_upper_miles/2",
            Some(json!(150)),
            "E1300",
            "$.rate_card.zone_upper_miles[2]",
        ),
        (
            "/rate_card/services/1/transit_days/7",
            None,
            "E1301",
            "$.rate_card.services[1].transit_days",
        ),
        (
            "/rate_card/services",
            Some(json!([])),
            "E1302",
            "$.rate_card.services",
        ),
        (
            "/rate_card/services/1/name",
            Some(json!("ground")),
            "E1303",
            "$.rate_card.services[1].name",
        ),
        (
            "/rate_card/services/1/name",
            Some(json!("pickup")),
            "E1304",
            "$.rate_card.services[1].name",
        ),
        (
            "/costs/unfilled_penalty",
            Some(json!(0)),
            "E1400",
            "$.costs.unfilled_penalty",
        ),
        (
            "/costs/unfilled_penalty",
            None,
            "E1002",
            "$.costs.unfilled_penalty",
        ),
        (
            "/orders/1/id",
            Some(json!("O-1001")),
            "E1500",
            "$.orders[1].id",
        ),
        (
            "/orders/0/lines",
            Some(json!([])),
            "E1501",
            "$.orders[0].lines",
        ),
        (
            "/orders/0/lines/0/sku",
            Some(json!("HAT")),
            "E1502",
            "$.orders[0].lines[0].sku",
        ),
        (
            "/orders/1/lines/1/sku",
            Some(json!("PANTS-32")),
            "E1503",
            "$.orders[1].lines[1].sku",
        ),
        (
            "/orders/0/pickup_node",
            Some(json!("ST-XX")),
            "E1504",
            "$.orders[0].pickup_node",
        ),
        (
            "/orders/0/exclude_nodes",
            Some(json!(["DC-NJ", "ST-XX"])),
            "E1506",
            "$.orders[0].exclude_nodes[1]",
        ),
    ];
    for (pointer, value, code, path) in cases {
        let found = codes_of(&mutated(pointer, value.clone()));
        assert!(
            found.iter().any(|(c, p)| c == code && p == path),
            "{pointer} = {value:?}: expected {code} at {path}, got {found:?}"
        );
    }
}

#[test]
fn every_violation_is_reported_at_once() {
    let mut v = common::tiny();
    v["nodes"][0]["lat"] = json!(100);
    v["inventory"][0]["node"] = json!("DC-X");
    v["orders"][1]["id"] = json!("O-1001");
    v["rate_card"]["services"][0]["per_weight"] = json!([0.3]);
    let codes: Vec<String> = codes_of(&v).into_iter().map(|(c, _)| c).collect();
    for c in ["E1102", "E1203", "E1500", "E1301"] {
        assert!(codes.contains(&c.to_string()), "{c} missing from {codes:?}");
    }
}

#[test]
fn malformed_and_truncated_json_get_e1000_with_a_position() {
    let text = serde_json::to_string_pretty(&common::tiny()).unwrap();
    for bad in [
        &text[..text.len() / 2],
        "{\"format\": NaN}",
        "{,}",
        "",
        "[1, 2",
    ] {
        match parse_instance(bad.as_bytes()) {
            Err(ReadError::Invalid(issues)) => {
                assert_eq!(issues.len(), 1);
                assert_eq!(issues[0].code, "E1000");
                assert!(issues[0].path.starts_with("line "), "{}", issues[0].path);
            }
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}

#[test]
fn a_top_level_array_is_a_type_error_not_a_panic() {
    let codes: Vec<String> = codes_of(&json!([1, 2]))
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert!(codes.contains(&"E1003".to_string()), "{codes:?}");
}

#[test]
fn defaults_are_applied() {
    let inst = common::instance(&common::tiny());
    assert_eq!(inst.skus[1].weight, 1.0);
    assert_eq!(inst.inventory[1].reserved, 0);
    assert_eq!(inst.orders[1].channel, "web");
    assert!(!inst.orders[1].ship_complete);
    assert_eq!(inst.nodes[1].capacity_units, Some(10));
    assert_eq!(inst.nodes[0].capacity_units, None);
    assert_eq!(inst.inventory[0].available(), 35);
}

#[test]
fn gzip_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.json.gz");
    let inst = common::instance(&common::tiny());
    domopt::format::write_json(&inst, Some(&path)).unwrap();
    let back = domopt::format::read_instance(&path).unwrap();
    assert!(back == inst, "the instance changed through gzip");
}

#[test]
fn a_plan_with_a_wrong_field_names_the_path() {
    let bad = br#"{"format":"domopt.plan/1","instance":"x","solver":"s","status":"great",
        "objective":1,"lower_bound":null,"solve_seconds":0,"shipments":[],"unfilled":[]}"#;
    let e = parse_plan(bad).unwrap_err();
    assert_eq!(e.issues()[0].code, "E2000");
    assert_eq!(e.issues()[0].path, "status");
}

/// A plan is one JSON document: bytes after it make it invalid JSON (a minimised fuzz
/// input).
#[test]
fn bytes_after_a_plan_are_refused() {
    let plan = br#"{"format":"domopt.plan/1","instance":"t","solver":"mi","status":"optimal",
        "objective":365,"solve_seconds":0.0,"shipments":[],"unfilled":[]}"#;
    assert!(parse_plan(&[&plan[..], b"\n"].concat()).is_ok());
    let e = parse_plan(&[&plan[..], b"."].concat()).unwrap_err();
    assert_eq!(e.issues()[0].code, "E1000");
}

/// A plan is UTF-8 throughout, in the fields it does not define too (a minimised fuzz
/// input: a byte that is not UTF-8 in an unknown field's key).
#[test]
fn a_plan_that_is_not_utf8_is_refused() {
    let plan = b"{\"format\":\"domopt.plan/1\",\"instance\":\"t\",\"solver\":\"mi\",
        \"status\":\"optimal\",\"objective\":1,\"solve_seconds\":0,\"shipments\":[],
        \"unfilled\":[],\"swats\":{\"cg_lp_se\xa4onds\":0.0}}";
    let e = parse_plan(plan).unwrap_err();
    assert_eq!(e.issues()[0].code, "E1000");
    assert_eq!(e.issues()[0].path, "line 3 column 41");
}

#[test]
fn readme_lists_every_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (code, _, _) in CODES {
        assert!(readme.contains(code), "README.md does not document {code}");
    }
    for (code, _) in domopt::check::VIOLATION_CODES {
        assert!(readme.contains(code), "README.md does not document {code}");
    }
    for (code, _, _) in domopt::service::api::SERVICE_CODES {
        assert!(readme.contains(code), "README.md does not document {code}");
    }
    let errors =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/errors.md")).unwrap();
    for (code, _, _) in domopt::service::fields::DETAIL_CODES {
        assert!(readme.contains(code), "README.md does not document {code}");
        assert!(
            errors.contains(code),
            "docs/errors.md does not document {code}"
        );
        assert!(
            CODES.iter().all(|(c, _, _)| c != code),
            "{code} is both a reader code and a service detail code"
        );
    }
}
