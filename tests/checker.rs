//! The checker accepts a hand-priced valid plan and rejects plans that break each rule.

mod common;

use domopt::check::check;
use domopt::domain::Plan;
use serde_json::{Value, json};

/// The optimal plan for `common::tiny()`, priced by hand (see tests/cost.rs):
/// 9.83 + 12.4 + 12.28 + split 2.0 = 36.51.
fn good_plan() -> Value {
    json!({
        "format": "domopt.plan/1", "instance": "tiny", "solver": "hand", "status": "feasible",
        "objective": 36.51, "lower_bound": 30.0, "solve_seconds": 0.0,
        "shipments": [
            {"order": "O-1001", "node": "DC-NJ", "service": "ground", "delivery_days": 2,
             "lines": [{"sku": "JACKET-M", "qty": 1}], "cost": 9.83},
            {"order": "O-1002", "node": "DC-NJ", "service": "ground", "delivery_days": 3,
             "lines": [{"sku": "JACKET-M", "qty": 2}], "cost": 12.4},
            {"order": "O-1002", "node": "ST-PA", "service": "ground", "delivery_days": 3,
             "lines": [{"sku": "PANTS-32", "qty": 1}], "cost": 12.28}
        ],
        "unfilled": []
    })
}

fn codes(instance: &Value, plan: &Value) -> Vec<&'static str> {
    let inst = common::instance(instance);
    let plan: Plan = serde_json::from_value(plan.clone()).unwrap();
    check(&inst, &plan)
        .violations
        .iter()
        .map(|v| v.code)
        .collect()
}

#[test]
fn the_hand_priced_plan_is_valid_with_its_summary() {
    let inst = common::instance(&common::tiny());
    let plan: Plan = serde_json::from_value(good_plan()).unwrap();
    let r = check(&inst, &plan);
    assert!(r.is_valid(), "{:?}", r.violations);
    let s = &r.summary;
    assert!((s.objective - 36.51).abs() < 1e-9);
    assert_eq!(
        (
            s.shipments,
            s.extra_shipments,
            s.unfilled_units,
            s.late_shipments
        ),
        (3, 1, 0, 0)
    );
    assert!((s.split_cost - 2.0).abs() < 1e-12);
    assert!((s.handling_cost - (1.75 + 2.0 + 4.0)).abs() < 1e-9);
}

#[test]
fn each_broken_rule_is_reported_with_its_code() {
    let tiny = common::tiny();
    type Edit = Box<dyn Fn(&mut Value, &mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("E3001", Box::new(|_, p| p["instance"] = json!("other"))),
        (
            "E3002",
            Box::new(|_, p| p["shipments"][0]["order"] = json!("O-9")),
        ),
        (
            "E3003",
            Box::new(|_, p| p["shipments"][0]["node"] = json!("DC-X")),
        ),
        (
            "E3004",
            Box::new(|_, p| p["shipments"][0]["service"] = json!("drone")),
        ),
        (
            "E3004",
            Box::new(|_, p| p["shipments"][0]["service"] = json!("pickup")),
        ),
        (
            "E3004",
            Box::new(|i, _| i["orders"][0]["pickup_node"] = json!("DC-NJ")),
        ),
        (
            "E3005",
            Box::new(|_, p| p["shipments"][0]["lines"][0]["qty"] = json!(0)),
        ),
        (
            "E3005",
            Box::new(|_, p| p["shipments"][0]["lines"] = json!([])),
        ),
        (
            "E3006",
            Box::new(|_, p| p["shipments"][0]["lines"][0]["sku"] = json!("PANTS-32")),
        ),
        (
            "E3006",
            Box::new(|_, p| {
                p["shipments"][1]["lines"] =
                    json!([{"sku": "JACKET-M", "qty": 1}, {"sku": "JACKET-M", "qty": 1}])
            }),
        ),
        (
            "E3007",
            Box::new(|_, p| p["shipments"][2]["node"] = json!("DC-NJ")),
        ),
        (
            "E3010",
            Box::new(|i, _| i["orders"][0]["promise_days"] = json!(1)),
        ),
        (
            "E3011",
            Box::new(|_, p| p["shipments"][0]["delivery_days"] = json!(5)),
        ),
        (
            "E3012",
            Box::new(|_, p| p["shipments"][0]["cost"] = json!(9.0)),
        ),
        (
            "E3020",
            Box::new(|i, _| i["inventory"][1]["on_hand"] = json!(0)),
        ),
        // A shipment of stock the node has no inventory row for at all.
        (
            "E3020",
            Box::new(|i, _| {
                i["inventory"].as_array_mut().unwrap().remove(1);
            }),
        ),
        (
            "E3021",
            Box::new(|i, _| i["nodes"][0]["capacity_shipments"] = json!(1)),
        ),
        (
            "E3022",
            Box::new(|i, _| i["nodes"][0]["capacity_units"] = json!(2)),
        ),
        (
            "E3023",
            Box::new(|i, _| i["orders"][1]["max_shipments"] = json!(1)),
        ),
        (
            "E3024",
            Box::new(|i, _| i["orders"][1]["ship_complete"] = json!(true)),
        ),
        (
            "E3030",
            Box::new(|_, p| {
                p["unfilled"] =
                    json!([{"order": "O-1001", "sku": "JACKET-M", "qty": 1, "reason": "COST"}])
            }),
        ),
        (
            "E3030",
            Box::new(|_, p| {
                p["shipments"].as_array_mut().unwrap().remove(0);
                p["objective"] = json!(36.51 - 9.83 + 60.0);
            }),
        ),
        ("E3040", Box::new(|_, p| p["objective"] = json!(36.5))),
        ("E3041", Box::new(|_, p| p["lower_bound"] = json!(37.0))),
    ];
    for (code, edit) in cases {
        let (mut inst, mut plan) = (tiny.clone(), good_plan());
        edit(&mut inst, &mut plan);
        let found = codes(&inst, &plan);
        assert!(found.contains(&code), "expected {code}, got {found:?}");
    }
}

#[test]
fn partial_ship_complete_is_rejected() {
    let mut inst = common::tiny();
    inst["orders"][1]["ship_complete"] = json!(true);
    let mut plan = good_plan();
    let pants = plan["shipments"].as_array_mut().unwrap().remove(2);
    assert_eq!(pants["order"], "O-1002");
    plan["unfilled"] =
        json!([{"order": "O-1002", "sku": "PANTS-32", "qty": 1, "reason": "NO_STOCK"}]);
    plan["objective"] = json!(9.83 + 12.4 + 60.0);
    assert_eq!(codes(&inst, &plan), vec!["E3024"]);
}

#[test]
fn non_finite_numbers_are_rejected() {
    let inst = common::instance(&common::tiny());
    let mut plan: Plan = serde_json::from_value(good_plan()).unwrap();
    plan.objective = f64::NAN;
    plan.shipments[0].cost = f64::INFINITY;
    let found: Vec<_> = check(&inst, &plan)
        .violations
        .iter()
        .map(|v| v.code)
        .collect();
    assert!(found.contains(&"E3042"), "{found:?}");
}

#[test]
fn the_empty_plan_is_valid() {
    let mut plan = good_plan();
    plan["shipments"] = json!([]);
    plan["unfilled"] = json!([
        {"order": "O-1001", "sku": "JACKET-M", "qty": 1, "reason": "COST"},
        {"order": "O-1002", "sku": "PANTS-32", "qty": 1, "reason": "COST"},
        {"order": "O-1002", "sku": "JACKET-M", "qty": 2, "reason": "COST"}
    ]);
    plan["objective"] = json!(240.0);
    plan["lower_bound"] = Value::Null;
    assert_eq!(codes(&common::tiny(), &plan), Vec::<&str>::new());
}

#[test]
fn huge_quantities_are_violations_not_overflows() {
    let mut plan = good_plan();
    plan["shipments"][1]["lines"] = json!([{"sku": "JACKET-M", "qty": 4_000_000_000u32}]);
    plan["shipments"][0]["lines"] = json!([{"sku": "JACKET-M", "qty": 4_000_000_000u32}]);
    plan["shipments"][0]["order"] = json!("O-1002");
    plan["shipments"][0]["node"] = json!("ST-PA");
    let found = codes(&common::tiny(), &plan);
    for code in ["E3020", "E3030", "E3012"] {
        assert!(found.contains(&code), "{code} missing from {found:?}");
    }
}
