//! Greedy policies: every plan passes the checker on generated instances of many
//! sizes and seeds, and the hand-checkable cases come out as expected.

mod common;

use domopt::domain::UnfilledReason;
use domopt::generate::{GenParams, generate};
use domopt::solve::{SolveOptions, greedy::Policy, solve};
use proptest::prelude::*;
use serde_json::json;

fn greedy_plans(inst: &domopt::domain::Instance) -> Vec<domopt::domain::Plan> {
    Policy::ALL
        .iter()
        .map(|p| solve(inst, p.name(), &SolveOptions::default()).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]
    #[test]
    fn every_policy_gives_valid_plans(
        orders in 1usize..300, nodes in 1usize..15, skus in 1usize..60,
        seed in 0u64..1_000_000, tightness in 0.3f64..4.0, late in proptest::option::of(0.0f64..10.0),
    ) {
        let inst = generate(&GenParams { orders, nodes, skus, seed, tightness, late_penalty_per_day: late, ..Default::default() });
        for plan in greedy_plans(&inst) {
            common::assert_valid(&inst, &plan);
        }
    }
}

#[test]
fn larger_instances_give_valid_plans() {
    for (orders, nodes, skus, seed) in [(2000, 30, 400, 7), (5000, 50, 1000, 8)] {
        let inst = generate(&GenParams {
            orders,
            nodes,
            skus,
            seed,
            ..Default::default()
        });
        for plan in greedy_plans(&inst) {
            common::assert_valid(&inst, &plan);
            assert!(
                plan.shipments.len() > orders / 2,
                "{} shipped too little",
                plan.solver
            );
        }
    }
}

#[test]
fn the_spec_example_solves_and_checks() {
    let inst = common::example();
    for plan in greedy_plans(&inst) {
        common::assert_valid(&inst, &plan);
        // The proved optimum is 750.5573; no valid plan can beat it.
        assert!(
            plan.objective >= 750.5573 - 1e-4,
            "{} = {}",
            plan.solver,
            plan.objective
        );
    }
}

#[test]
fn policies_differ_where_their_rules_differ() {
    // O-1002 wants pants (only at ST-PA) and 2 jackets (only at DC-NJ): every policy
    // must split it; O-1001 ships its jacket from DC-NJ.
    let inst = common::instance(&common::tiny());
    for plan in greedy_plans(&inst) {
        common::assert_valid(&inst, &plan);
        assert_eq!(plan.shipments.len(), 3, "{}", plan.solver);
        assert!((plan.objective - 36.51).abs() < 1e-9, "{}", plan.solver);
    }
}

#[test]
fn unfilled_reasons_name_the_cause() {
    let solve_tiny = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = common::tiny();
        edit(&mut v);
        let inst = common::instance(&v);
        let plan = solve(&inst, "cheapest", &SolveOptions::default()).unwrap();
        common::assert_valid(&inst, &plan);
        plan
    };
    let reason_of = |plan: &domopt::domain::Plan, order: &str, sku: &str| {
        plan.unfilled
            .iter()
            .find(|u| u.order == order && u.sku == sku)
            .map(|u| u.reason)
    };
    // No stock anywhere for pants.
    let p = solve_tiny(&|v| v["inventory"][1]["on_hand"] = json!(0));
    assert_eq!(
        reason_of(&p, "O-1002", "PANTS-32"),
        Some(UnfilledReason::NoStock)
    );
    // The store has no shipment capacity.
    let p = solve_tiny(&|v| v["nodes"][1]["capacity_shipments"] = json!(0));
    assert_eq!(
        reason_of(&p, "O-1002", "PANTS-32"),
        Some(UnfilledReason::NoCapacity)
    );
    // A promise nobody can meet.
    let p = solve_tiny(&|v| v["orders"][0]["promise_days"] = json!(0));
    assert_eq!(
        reason_of(&p, "O-1001", "JACKET-M"),
        Some(UnfilledReason::Sla)
    );
    // One shipment allowed: the jackets ship, the pants cannot.
    let p = solve_tiny(&|v| v["orders"][1]["max_shipments"] = json!(1));
    assert_eq!(
        reason_of(&p, "O-1002", "PANTS-32"),
        Some(UnfilledReason::MaxShipments)
    );
    // Ship complete: no node has both skus.
    let p = solve_tiny(&|v| v["orders"][1]["ship_complete"] = json!(true));
    assert_eq!(
        reason_of(&p, "O-1002", "PANTS-32"),
        Some(UnfilledReason::ShipComplete)
    );
    assert_eq!(
        reason_of(&p, "O-1002", "JACKET-M"),
        Some(UnfilledReason::ShipComplete)
    );
    // Shipping costs more than the penalty.
    let p = solve_tiny(&|v| v["costs"]["unfilled_penalty"] = json!(5.0));
    assert_eq!(
        reason_of(&p, "O-1001", "JACKET-M"),
        Some(UnfilledReason::Cost)
    );
}

#[test]
fn pickup_orders_ship_from_their_store_with_service_pickup() {
    let mut v = common::tiny();
    v["orders"][1]["pickup_node"] = json!("ST-PA");
    let inst = common::instance(&v);
    for plan in greedy_plans(&inst) {
        common::assert_valid(&inst, &plan);
        let pickups: Vec<_> = plan
            .shipments
            .iter()
            .filter(|s| s.order == "O-1002")
            .collect();
        assert_eq!(pickups.len(), 1);
        assert_eq!(
            (pickups[0].node.as_str(), pickups[0].service.as_str()),
            ("ST-PA", "pickup")
        );
        // Jackets are not at the store: 2 units unfilled.
        assert_eq!(plan.unfilled.iter().map(|u| u.qty).sum::<u32>(), 2);
    }
}

#[test]
fn greedy_is_deterministic() {
    let inst = generate(&GenParams {
        orders: 500,
        nodes: 10,
        skus: 80,
        seed: 5,
        ..Default::default()
    });
    for p in Policy::ALL {
        let a = solve(&inst, p.name(), &SolveOptions::default()).unwrap();
        let b = solve(&inst, p.name(), &SolveOptions::default()).unwrap();
        assert_eq!(a.shipments, b.shipments);
        assert_eq!(a.objective, b.objective);
    }
}
