//! Shared test helpers: a small hand-made instance and plan assertions.
#![allow(dead_code)]

pub mod server;
pub mod storage;

use domopt::check::check;
use domopt::domain::{Instance, Plan};
use serde_json::{Value, json};

/// A small valid instance with two nodes (NJ DC, PA store), two skus and two orders,
/// small enough to price by hand.
pub fn tiny() -> Value {
    json!({
        "format": "domopt.instance/1",
        "name": "tiny",
        "nodes": [
            {"id": "DC-NJ", "kind": "dc", "lat": 40.73, "lon": -74.17, "handling_days": 0,
             "cost_per_shipment": 1.5, "cost_per_unit": 0.25, "capacity_shipments": 100, "capacity_units": null},
            {"id": "ST-PA", "kind": "store", "lat": 39.95, "lon": -75.17, "handling_days": 1,
             "cost_per_shipment": 3.0, "cost_per_unit": 1.0, "capacity_shipments": 5, "capacity_units": 10}
        ],
        "skus": [{"id": "JACKET-M", "weight": 2.0}, {"id": "PANTS-32"}],
        "inventory": [
            {"node": "DC-NJ", "sku": "JACKET-M", "on_hand": 40, "reserved": 3, "safety_stock": 2},
            {"node": "ST-PA", "sku": "PANTS-32", "on_hand": 2}
        ],
        "rate_card": {
            "zone_upper_miles": [50, 150, 300, 600, 1000, 1400, 1800],
            "services": [
                {"name": "ground", "transit_days": [1,2,2,3,4,5,5,6],
                 "base": [7.0,7.4,7.9,8.6,9.4,10.1,10.9,11.8], "per_weight": [0.30,0.34,0.38,0.45,0.55,0.62,0.70,0.80]},
                {"name": "two_day", "transit_days": [1,2,2,2,2,2,2,2],
                 "base": [9.5,10.4,11.6,13.9,16.8,19.2,21.5,23.9], "per_weight": [0.6,0.7,0.8,1.0,1.2,1.4,1.6,1.8]}
            ]
        },
        "costs": {"split_penalty": 2.0, "unfilled_penalty": 60.0, "late_penalty_per_day": null},
        "orders": [
            {"id": "O-1001", "channel": "web", "ship_to": {"lat": 39.95, "lon": -75.17},
             "promise_days": 3, "lines": [{"sku": "JACKET-M", "qty": 1}]},
            {"id": "O-1002", "ship_to": {"lat": 40.44, "lon": -79.99}, "promise_days": 5,
             "lines": [{"sku": "PANTS-32", "qty": 1}, {"sku": "JACKET-M", "qty": 2}]}
        ]
    })
}

/// Parses a JSON value into a validated instance, panicking with the issues if invalid.
pub fn instance(v: &Value) -> Instance {
    domopt::format::instance_from_value(v).unwrap_or_else(|e| panic!("{e}"))
}

/// Asserts that the plan passes the checker and that its objective is the checker's.
pub fn assert_valid(inst: &Instance, plan: &Plan) {
    let report = check(inst, plan);
    assert!(
        report.is_valid(),
        "{} plan for {} is invalid: {:#?}",
        plan.solver,
        inst.name,
        report.violations
    );
    assert!(domopt::check::close(
        plan.objective,
        report.summary.objective
    ));
    assert_eq!(plan.instance, inst.name);
}

/// Reads the example instance of docs/formats.md (copied into tests/data).
pub fn example() -> Instance {
    domopt::format::read_instance(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/example-instance.json"
    )))
    .expect("example instance is valid")
}
