//! The arc model (`--solver arc`): valid plans, the same optima as the option
//! model's MIP on small windows, a fallback when the budget is too short, and a
//! place beside the other solvers in `compare`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use domopt::domain::{Instance, Plan, PlanStatus};
use domopt::format::read_instance;
use domopt::generate::{GenParams, generate};
use domopt::solve::{SolveOptions, solve};

/// The datasets of at most 50 orders, with their proved optima.
const SMALL_DATASETS: [(&str, f64); 3] = [
    ("tiny-2-orders.json", 36.51),
    ("three-item-dom.json", 98.306),
    ("example-12-orders.json", 750.5573),
];

fn dataset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(name)
}

/// Solves with `solver` and asserts that the plan passes the checker.
fn solved(inst: &Instance, solver: &str, seconds: f64, gap: f64) -> Plan {
    let opts = SolveOptions {
        time_limit: Duration::from_secs_f64(seconds),
        gap,
        ..Default::default()
    };
    let plan = solve(inst, solver, &opts).unwrap();
    common::assert_valid(inst, &plan);
    plan
}

/// Whether two objectives agree within 1e-6 relative.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// Asserts that the arc model proves an optimum no worse than the option model's
/// MIP's plan and no better than its bound, and, where the MIP proves its plan
/// optimal, the same objective. Returns whether the MIP proved it.
fn cross_check(inst: &Instance) -> bool {
    let mip = solved(inst, "mip", 30.0, 1e-4);
    let arc = solved(inst, "arc", 30.0, 1e-9);
    assert_eq!(arc.solver, "arc");
    assert_eq!(
        arc.status,
        PlanStatus::Optimal,
        "{}: {:?}",
        inst.name,
        arc.stats
    );
    let tolerance = 1e-6 * mip.objective.abs().max(1.0);
    assert!(
        arc.objective <= mip.objective + tolerance,
        "{}: arc {} above the mip's plan {}",
        inst.name,
        arc.objective,
        mip.objective
    );
    if let Some(bound) = mip.lower_bound {
        assert!(
            arc.objective >= bound - tolerance,
            "{}: below the mip's bound",
            inst.name
        );
    }
    let proved = mip.status == PlanStatus::Optimal;
    if proved {
        assert!(
            same(arc.objective, mip.objective),
            "{}: arc {} vs mip {}",
            inst.name,
            arc.objective,
            mip.objective
        );
    }
    proved
}

#[test]
fn the_small_datasets_reach_their_known_optima() {
    for (file, optimum) in SMALL_DATASETS {
        let inst = read_instance(&dataset(file)).unwrap();
        let plan = solved(&inst, "arc", 30.0, 1e-9);
        assert_eq!(plan.status, PlanStatus::Optimal, "{file}");
        assert!(
            (plan.objective - optimum).abs() < 1e-4,
            "{file}: {}",
            plan.objective
        );
        assert!(cross_check(&inst), "{file}: the mip proves these optima");
    }
}

/// Small generated windows, hard and soft promises, some with many pickups and
/// tight stock.
fn generated_windows() -> Vec<Instance> {
    let mut windows = Vec::new();
    for seed in 1..=4u64 {
        for late in [None, Some(4.0)] {
            windows.push(generate(&GenParams {
                orders: 20 + 10 * seed as usize,
                nodes: 5,
                skus: 15,
                seed,
                tightness: if seed % 2 == 0 { 1.6 } else { 1.0 },
                late_penalty_per_day: late,
                pickup_share: if seed == 3 { 0.3 } else { 0.03 },
                ..Default::default()
            }));
        }
    }
    windows
}

/// Wide networks (hundreds of nodes, each sku held at a few dozen of them, the
/// generator's retailer-scale shape) with orders naming a small part of the catalog:
/// the MIP's bound never passes the arc model's optimum, and its plan, made on the
/// skus the orders name only, never falls below it.
#[test]
fn wide_windows_keep_a_valid_bound() {
    let mut proved = 0;
    for seed in 1..=3u64 {
        let inst = generate(&GenParams {
            orders: 12,
            nodes: 240,
            skus: 400,
            seed,
            tightness: if seed == 2 { 1.8 } else { 1.0 },
            ..Default::default()
        });
        let named: std::collections::HashSet<&str> = inst
            .orders
            .iter()
            .flat_map(|o| o.lines.iter().map(|l| l.sku.as_str()))
            .collect();
        let kept = inst
            .inventory
            .iter()
            .filter(|r| named.contains(r.sku.as_str()))
            .count();
        assert!(
            kept * 2 < inst.inventory.len(),
            "the window names most of the stock"
        );
        proved += usize::from(cross_check(&inst));
    }
    assert!(proved >= 1, "the mip proved none of the wide windows");
}

#[test]
fn generated_windows_reach_the_option_models_proved_optimum() {
    let windows = generated_windows();
    let orders = || windows.iter().flat_map(|w| &w.orders);
    // The windows exercise every order rule the arc model has rows for.
    assert!(orders().any(|o| o.pickup_node.is_some()));
    assert!(orders().any(|o| o.ship_complete));
    assert!(orders().any(|o| o.max_shipments.is_some()));
    assert!(
        windows
            .iter()
            .any(|w| w.costs.late_penalty_per_day.is_some())
    );
    // The MIP does not prove every soft-promise window optimal within its budget;
    // those are checked against its plan and bound only. Both kinds must have
    // proved windows for the cross-check to mean anything.
    let proved: Vec<&Instance> = windows.iter().filter(|w| cross_check(w)).collect();
    assert!(
        proved
            .iter()
            .any(|w| w.costs.late_penalty_per_day.is_none())
    );
    assert!(
        proved
            .iter()
            .any(|w| w.costs.late_penalty_per_day.is_some())
    );
}

#[test]
fn excluded_nodes_are_respected() {
    let mut inst = generate(&GenParams {
        orders: 30,
        nodes: 5,
        skus: 15,
        seed: 9,
        ..Default::default()
    });
    let nodes: Vec<String> = inst.nodes.iter().map(|n| n.id.clone()).collect();
    for (i, order) in inst.orders.iter_mut().enumerate() {
        order.exclude_nodes = vec![nodes[i % nodes.len()].clone()];
    }
    let plan = solved(&inst, "arc", 30.0, 1e-9);
    for s in &plan.shipments {
        let order = inst.orders.iter().find(|o| o.id == s.order).unwrap();
        assert!(!order.exclude_nodes.contains(&s.node));
    }
    cross_check(&inst);
}

#[test]
fn a_window_without_stock_ships_nothing_and_says_it_is_optimal() {
    let mut inst = common::instance(&common::tiny());
    inst.inventory.clear();
    let plan = solved(&inst, "arc", 10.0, 1e-9);
    assert_eq!(plan.status, PlanStatus::Optimal);
    assert!(plan.shipments.is_empty());
    let empty = generate(&GenParams {
        orders: 0,
        nodes: 3,
        skus: 5,
        ..Default::default()
    });
    assert_eq!(
        solved(&empty, "arc", 10.0, 1e-9).status,
        PlanStatus::Optimal
    );
}

#[test]
fn a_budget_too_short_gives_a_valid_fallback_in_time() {
    let inst = generate(&GenParams {
        orders: 2000,
        nodes: 20,
        skus: 300,
        seed: 5,
        ..Default::default()
    });
    let started = Instant::now();
    let plan = solved(&inst, "arc", 0.2, 1e-4);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(plan.status, PlanStatus::Fallback);
    assert!(plan.stats.unwrap()["fallback_reason"].is_string());
    assert_eq!(plan.lower_bound, None);
}

#[test]
fn compare_runs_the_arc_model_beside_the_mip() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_domopt"))
        .args(["compare", "--solvers", "mip,arc", "--time-limit", "10"])
        .arg("--out")
        .arg(out.path())
        .args(SMALL_DATASETS.map(|(file, _)| dataset(file)))
        .status()
        .unwrap();
    assert!(status.success());
    let csv = std::fs::read_to_string(out.path().join("results.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert_eq!(r[col("valid")], "true", "{r:?}");
    }
    for (file, _) in SMALL_DATASETS {
        let inst = file.trim_end_matches(".json");
        let objective = |solver: &str| -> f64 {
            let r = rows
                .iter()
                .find(|r| r[col("instance")] == inst && r[col("solver")] == solver)
                .unwrap_or_else(|| panic!("no row {inst}/{solver}"));
            r[col("objective")].parse().unwrap()
        };
        assert!((objective("arc") - objective("mip")).abs() < 1e-3, "{inst}");
    }
}
