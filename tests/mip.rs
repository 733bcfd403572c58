//! The MIP solver: known optima, valid plans everywhere, bounds that hold, and a
//! valid fallback plan when the budget is tiny.

mod common;

use std::time::Duration;

use domopt::domain::{PlanStatus, UnfilledReason};
use domopt::generate::{GenParams, generate};
use domopt::solve::{SolveOptions, solve};
use serde_json::json;

fn mip(inst: &domopt::domain::Instance, seconds: f64) -> domopt::domain::Plan {
    let opts = SolveOptions {
        time_limit: Duration::from_secs_f64(seconds),
        ..Default::default()
    };
    let plan = solve(inst, "mip", &opts).unwrap();
    common::assert_valid(inst, &plan);
    plan
}

#[test]
fn the_spec_example_reaches_its_proved_optimum() {
    let inst = common::example();
    let plan = mip(&inst, 20.0);
    assert!(
        (plan.objective - 750.5573).abs() < 1e-4,
        "objective {}",
        plan.objective
    );
    let lb = plan.lower_bound.expect("a bound");
    assert!(lb <= 750.5573 + 1e-6, "bound {lb} above the proved optimum");
    let raw = plan.stats.as_ref().unwrap()["lagrangian_bound"]
        .as_f64()
        .unwrap();
    assert!(
        raw <= 750.5573 + 1e-6,
        "raw bound {raw} above the proved optimum"
    );
    // The Lagrangian bound closes the gap here, so the optimum is proved.
    assert_eq!(plan.status, PlanStatus::Optimal);
    assert_eq!(plan.unfilled.iter().map(|u| u.qty).sum::<u32>(), 9);
}

#[test]
fn the_tiny_instance_matches_the_hand_optimum() {
    let inst = common::instance(&common::tiny());
    let plan = mip(&inst, 10.0);
    assert!(
        (plan.objective - 36.51).abs() < 1e-9,
        "objective {}",
        plan.objective
    );
}

#[test]
fn single_unit_windows_are_solved_to_the_brute_force_optimum() {
    for seed in 0..6 {
        let mut inst = generate(&GenParams {
            orders: 6,
            nodes: 3,
            skus: 3,
            seed,
            tightness: 3.0,
            ..Default::default()
        });
        for o in &mut inst.orders {
            o.lines.truncate(1);
            o.lines[0].qty = 1;
            o.ship_complete = false;
            o.max_shipments = None;
        }
        let plan = mip(&inst, 10.0);
        let optimum = brute_force_units(&inst);
        assert!(
            (plan.objective - optimum).abs() < 1e-6,
            "seed {seed}: mip {} vs brute force {optimum}",
            plan.objective
        );
        // Every order here is a single unit, so the enumeration is complete and the
        // plan must be proved optimal.
        assert_eq!(plan.status, PlanStatus::Optimal, "seed {seed}");
    }
}

#[test]
fn mip_plans_are_valid_and_never_worse_than_greedy() {
    for (orders, nodes, skus, seed, late) in [
        (150, 6, 30, 1, None),
        (400, 12, 80, 2, Some(3.0)),
        (800, 20, 200, 3, None),
    ] {
        let inst = generate(&GenParams {
            orders,
            nodes,
            skus,
            seed,
            late_penalty_per_day: late,
            tightness: 1.5,
            ..Default::default()
        });
        let plan = mip(&inst, 20.0);
        for g in ["cheapest", "closest", "fewest-splits"] {
            let gp = solve(&inst, g, &SolveOptions::default()).unwrap();
            assert!(
                plan.objective <= gp.objective + 1e-6,
                "{g} {} beats mip {}",
                gp.objective,
                plan.objective
            );
        }
        let lb = plan.lower_bound.expect("bound");
        assert!(lb <= plan.objective + 1e-6);
        assert!(
            lb > 0.5 * plan.objective,
            "bound {lb} is uselessly weak against {}",
            plan.objective
        );
    }
}

#[test]
fn a_tiny_budget_on_a_big_window_returns_a_valid_fallback_in_time() {
    let inst = generate(&GenParams {
        orders: 20000,
        nodes: 40,
        skus: 1000,
        seed: 4,
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let plan = mip(&inst, 0.3);
    let took = started.elapsed().as_secs_f64();
    assert_eq!(plan.status, PlanStatus::Fallback);
    assert!(plan.shipments.len() > 10000);
    // The budget counts from the solve call; allow a generous margin for slow machines.
    assert!(took < 0.3 + 5.0, "took {took}s");
}

#[test]
fn windows_that_cannot_be_served_get_the_right_reasons() {
    let reasons = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = common::tiny();
        edit(&mut v);
        let inst = common::instance(&v);
        let plan = mip(&inst, 10.0);
        plan.unfilled
            .iter()
            .map(|u| (u.order.clone(), u.reason))
            .collect::<Vec<_>>()
    };
    let all = |r: &[(String, UnfilledReason)], want: UnfilledReason| {
        !r.is_empty() && r.iter().all(|(_, x)| *x == want)
    };
    assert!(all(
        &reasons(&|v| v["inventory"] = json!([])),
        UnfilledReason::NoStock
    ));
    assert!(all(
        &reasons(&|v| {
            v["nodes"][0]["capacity_shipments"] = json!(0);
            v["nodes"][1]["capacity_shipments"] = json!(0);
        }),
        UnfilledReason::NoCapacity
    ));
    assert!(all(
        &reasons(&|v| {
            v["orders"][0]["promise_days"] = json!(0);
            v["orders"][1]["promise_days"] = json!(0);
        }),
        UnfilledReason::Sla
    ));
}

#[test]
fn solves_are_deterministic() {
    let inst = generate(&GenParams {
        orders: 300,
        nodes: 10,
        skus: 60,
        seed: 11,
        ..Default::default()
    });
    let a = mip(&inst, 20.0);
    let b = mip(&inst, 20.0);
    assert_eq!(a.shipments, b.shipments);
    assert_eq!(a.lower_bound, b.lower_bound);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, .. Default::default() })]
    /// Every MIP plan passes the checker, whatever the window looks like.
    #[test]
    fn mip_plans_pass_the_checker_on_random_windows(
        orders in 1usize..120, nodes in 1usize..10, skus in 1usize..25,
        seed in 0u64..1_000_000, tightness in 0.5f64..4.0,
        late in proptest::option::of(0.0f64..8.0),
    ) {
        let inst = generate(&GenParams { orders, nodes, skus, seed, tightness, late_penalty_per_day: late, ..Default::default() });
        let plan = mip(&inst, 10.0);
        let lb = plan.lower_bound.expect("a bound");
        proptest::prop_assert!(lb <= plan.objective + 1e-6);
    }
}

/// The optimum by exhaustive search: every unit of every order goes to some node or
/// stays unfilled; each shipment takes its cheapest allowed service; the checker
/// decides feasibility.
fn brute_force_units(inst: &domopt::domain::Instance) -> f64 {
    use domopt::cost::Network;
    use domopt::solve::{Allocation, assemble_plan};
    let net = Network::new(inst);
    let n = net.node_count();
    // (order, sku) per unit.
    let units: Vec<(usize, usize)> = (0..net.order_count())
        .flat_map(|o| {
            net.lines[o]
                .iter()
                .flat_map(move |&(s, q)| std::iter::repeat_n((o, s), q as usize))
        })
        .collect();
    let mut choice = vec![0usize; units.len()]; // 0 = unfilled, k = node k-1
    let mut best = f64::INFINITY;
    loop {
        let mut allocs: Vec<Allocation> = Vec::new();
        let mut ok = true;
        for o in 0..net.order_count() {
            for node in 0..n {
                let mut lines: Vec<(usize, u32)> = Vec::new();
                for (u, &(uo, s)) in units.iter().enumerate() {
                    if uo == o && choice[u] == node + 1 {
                        match lines.iter_mut().find(|l| l.0 == s) {
                            Some(l) => l.1 += 1,
                            None => lines.push((s, 1)),
                        }
                    }
                }
                if lines.is_empty() {
                    continue;
                }
                lines.sort_by_key(|&(s, _)| net.lines[o].iter().position(|&(s2, _)| s2 == s));
                let units_n: u32 = lines.iter().map(|&(_, q)| q).sum();
                let zone = net.lane(o, node).zone;
                match net.best_service(o, node, zone, units_n, net.weight(lines.iter().copied())) {
                    Some((service, _)) => allocs.push(Allocation {
                        order: o,
                        node,
                        service,
                        lines,
                    }),
                    None => ok = false,
                }
            }
        }
        if ok {
            let plan = assemble_plan(&net, &allocs, "brute", PlanStatus::Feasible);
            if domopt::check::check(inst, &plan).is_valid() {
                best = best.min(plan.objective);
            }
        }
        let Some(i) = (0..units.len()).find(|&i| choice[i] < n) else {
            return best;
        };
        choice[i] += 1;
        for c in choice.iter_mut().take(i) {
            *c = 0;
        }
    }
}

#[test]
fn bounds_hold_and_plans_match_brute_force_on_multi_unit_windows() {
    let mut checked = 0;
    for seed in 0..40 {
        let mut inst = generate(&GenParams {
            orders: 2,
            nodes: 3,
            skus: 3,
            seed,
            tightness: 2.5,
            ..Default::default()
        });
        for o in &mut inst.orders {
            o.lines.truncate(2);
            for l in &mut o.lines {
                l.qty = l.qty.min(2);
            }
            o.pickup_node = None;
        }
        let units: u32 = inst
            .orders
            .iter()
            .flat_map(|o| &o.lines)
            .map(|l| l.qty)
            .sum();
        if units > 6 {
            continue;
        }
        let optimum = brute_force_units(&inst);
        let plan = mip(&inst, 10.0);
        let lb = plan.lower_bound.expect("a bound");
        assert!(
            lb <= optimum + 1e-6,
            "seed {seed}: bound {lb} above the optimum {optimum}"
        );
        // The reported bound is capped at the plan's objective; the raw bounds are not.
        let stats = plan.stats.as_ref().expect("stats");
        for key in ["lagrangian_bound", "unpriced_bound", "ascent_bound"] {
            let raw = stats[key].as_f64().unwrap_or(f64::NEG_INFINITY);
            assert!(
                raw <= optimum + 1e-6,
                "seed {seed}: {key} {raw} above the optimum {optimum}"
            );
        }
        assert!(
            plan.objective >= optimum - 1e-6,
            "seed {seed}: {} beats the optimum {optimum}",
            plan.objective
        );
        if plan.status == PlanStatus::Optimal {
            assert!(
                (plan.objective - optimum).abs() <= 1e-4 * optimum.max(1.0),
                "seed {seed}: claimed optimal {} vs {optimum}",
                plan.objective
            );
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} windows were small enough");
}

#[test]
fn excluded_nodes_are_never_used_and_the_checker_rejects_them() {
    let base = common::example();
    let mut inst = base.clone();
    // Exclude, for every order, the node that the unrestricted optimum uses first.
    let free = mip(&base, 5.0);
    for o in &mut inst.orders {
        if let Some(s) = free.shipments.iter().find(|s| s.order == o.id) {
            o.exclude_nodes.push(s.node.clone());
        }
    }
    for solver in ["mip", "cheapest", "closest", "fewest-splits"] {
        let plan = solve(&inst, solver, &SolveOptions::default()).unwrap();
        common::assert_valid(&inst, &plan);
        for s in &plan.shipments {
            let o = inst.orders.iter().find(|o| o.id == s.order).unwrap();
            assert!(
                !o.exclude_nodes.contains(&s.node),
                "{solver} used {}",
                s.node
            );
        }
        assert!(plan.objective >= free.objective - 1e-6);
    }
    // The unrestricted plan breaks the exclusions, and the checker says so.
    let report = domopt::check::check(&inst, &free);
    assert!(!report.is_valid());
}

/// One order of 3 units whose sku sits one unit per node at 30 nodes: the only way
/// to fill it is a three-node split, and there are too many three-node sets for the
/// bound to enumerate them all. The bound must still hold against the optimum found
/// by trying every set of at most three nodes (one unit each).
#[test]
fn the_bound_holds_when_the_best_plan_splits_across_many_nodes() {
    use domopt::cost::Network;
    use domopt::solve::{Allocation, assemble_plan};
    let mut inst = generate(&GenParams {
        orders: 1,
        nodes: 30,
        skus: 1,
        seed: 3,
        ..Default::default()
    });
    let sku = inst.skus[0].id.clone();
    inst.inventory = inst
        .nodes
        .iter()
        .map(|n| domopt::domain::InventoryRow {
            node: n.id.clone(),
            sku: sku.clone(),
            on_hand: 1,
            reserved: 0,
            safety_stock: 0,
        })
        .collect();
    for n in &mut inst.nodes {
        n.capacity_shipments = None;
        n.capacity_units = None;
    }
    let order = &mut inst.orders[0];
    order.lines.truncate(1);
    order.lines[0].sku = sku;
    order.lines[0].qty = 3;
    order.pickup_node = None;
    order.max_shipments = None;
    order.ship_complete = false;
    order.promise_days = 30;
    inst.costs.unfilled_penalty = 500.0;

    let net = Network::new(&inst);
    let mut optimum = f64::INFINITY;
    let n = net.node_count();
    let mut sets: Vec<Vec<usize>> = vec![vec![]];
    for a in 0..n {
        sets.push(vec![a]);
        for b in a + 1..n {
            sets.push(vec![a, b]);
            for c in b + 1..n {
                sets.push(vec![a, b, c]);
            }
        }
    }
    for set in sets {
        let allocs: Option<Vec<Allocation>> = set
            .iter()
            .map(|&node| {
                let zone = net.lane(0, node).zone;
                let lines = vec![(0, 1)];
                net.best_service(0, node, zone, 1, net.weight(lines.iter().copied()))
                    .map(|(service, _)| Allocation {
                        order: 0,
                        node,
                        service,
                        lines,
                    })
            })
            .collect();
        let Some(allocs) = allocs else { continue };
        let plan = assemble_plan(&net, &allocs, "brute", PlanStatus::Feasible);
        assert!(domopt::check::check(&inst, &plan).is_valid());
        optimum = optimum.min(plan.objective);
    }
    let plan = mip(&inst, 5.0);
    let lb = plan.lower_bound.expect("a bound");
    assert!(
        lb <= optimum + 1e-6,
        "bound {lb} above the optimum {optimum}"
    );
    let stats = plan.stats.as_ref().expect("stats");
    for key in ["lagrangian_bound", "unpriced_bound", "ascent_bound"] {
        let raw = stats[key].as_f64().expect(key);
        assert!(
            raw <= optimum + 1e-6,
            "{key} {raw} above the optimum {optimum}"
        );
    }
    assert!(plan.objective >= optimum - 1e-6);
    assert_eq!(
        plan.shipments.len(),
        3,
        "the optimum ships from three nodes"
    );
    assert!((plan.objective - optimum).abs() <= 1e-6 * optimum);
}

/// Windows above 3,000 orders finish with large-neighbourhood search: the plan stays
/// valid, never worse than greedy, and what the search reports saving is really saved.
#[test]
fn large_windows_improved_by_local_search_stay_valid() {
    let inst = generate(&GenParams {
        orders: 3500,
        nodes: 12,
        skus: 300,
        seed: 11,
        ..Default::default()
    });
    let plan = mip(&inst, 8.0);
    let greedy = ["cheapest", "closest", "fewest-splits"]
        .iter()
        .map(|s| solve(&inst, s, &SolveOptions::default()).unwrap().objective)
        .fold(f64::INFINITY, f64::min);
    assert!(plan.objective <= greedy + 1e-6);
    let stats = plan.stats.as_ref().expect("stats");
    // Ejection chains and neighbourhood search start from the best plan before them;
    // what they report saved is exactly what the plan gained.
    let saved = stats["eject_saved"].as_f64().expect("ejection chains ran")
        + stats["lns_saved"]
            .as_f64()
            .expect("neighbourhood search ran");
    let before = [
        "mip1_objective",
        "mip0_objective",
        "rounded_objective",
        "price_directed_objective",
    ]
    .iter()
    .filter_map(|k| stats[*k].as_f64())
    .chain([stats["incumbent_objective"].as_f64().unwrap()])
    .fold(f64::INFINITY, f64::min);
    assert!(saved >= 0.0);
    assert!(
        (plan.objective - (before - saved)).abs() <= 1e-6 * before.abs() + 1e-6,
        "{} != {before} - {saved}",
        plan.objective
    );
}

#[test]
fn cover_cuts_and_reduced_cost_enumeration_prove_optimality_where_the_lp_bound_cannot() {
    // 200 orders over 10 nodes: the LP bound is 0.23% below the optimum; cover cuts
    // raise it, and the MIP over every option within the reduced-cost room of the
    // raised bound finds the plan.
    let inst = generate(&GenParams {
        orders: 200,
        nodes: 10,
        skus: 100,
        seed: 2,
        ..Default::default()
    });
    let plan = mip(&inst, 20.0);
    let stats = plan.stats.as_ref().expect("stats");
    let lp_bound = stats["bound_before_cuts"]
        .as_f64()
        .expect("an LP bound before cuts");
    let cut_bound = stats["lagrangian_bound"].as_f64().expect("a bound");
    let lb = plan.lower_bound.expect("a bound");
    assert!(
        lp_bound < plan.objective * (1.0 - 1e-3),
        "the LP bound {lp_bound} already proves {}",
        plan.objective
    );
    assert!(stats["cuts"].as_u64().is_some_and(|c| c > 0), "{stats}");
    assert!(
        cut_bound > lp_bound + 0.5 * (plan.objective - lp_bound),
        "cuts lifted the bound from {lp_bound} to {cut_bound} only; optimum {}",
        plan.objective
    );
    assert!(cut_bound <= plan.objective + 1e-6);
    assert_eq!(plan.status, PlanStatus::Optimal, "stats: {stats}");
    assert!(plan.objective - lb <= 1e-4 * plan.objective);
    // Proved by the raised bound itself, or by a room MIP over a complete list.
    assert!(
        cut_bound >= plan.objective * (1.0 - 1e-4) || stats["mip1_room_complete"] == json!(true),
        "{stats}"
    );
}

#[test]
fn a_window_whose_lp_fixes_every_order_is_still_proved_optimal() {
    // The LP decides all 50 orders at the greedy plan's choice: the first MIP has
    // nothing to decide, and the reduced-cost rooms prove the plan.
    let inst = generate(&GenParams {
        orders: 50,
        nodes: 5,
        skus: 15,
        seed: 3,
        pickup_share: 0.3,
        late_penalty_per_day: Some(4.0),
        ..Default::default()
    });
    let plan = mip(&inst, 30.0);
    let stats = plan.stats.as_ref().unwrap();
    assert_eq!(stats["mip0_status"], "every order fixed", "{stats}");
    assert_eq!(plan.status, PlanStatus::Optimal, "{stats}");
    let lb = plan.lower_bound.expect("a bound");
    assert!(plan.objective - lb <= 1e-4 * plan.objective, "{lb}");
}
