//! Tests of the MIP pipeline on small generated and hand-made windows.

use super::*;
use crate::generate::{GenParams, generate};
use crate::solve::assemble_plan;
use crate::solve::greedy::{self, Policy};
use ascent::{Targets, lp_beside_ascent, spare_core_ascent};
use colgen::node_master;
use cuts::CutPrices;
use local::costliest_orders;
use master::LpSession;
use model::{binding_rows, build_model, run_guarded};
use option_list::{choice_of, group_by_order, options_by_order, real_option, shipments_key};
use options::Resource;
use options::{add_incumbent_options, enumerate_options};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rounding::round_lp;
use start::total_unfilled_penalty;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;

/// Every option of an order by brute force: each set of usable nodes within
/// `max_shipments`, each way to spread each line's units over it (within stock),
/// every node shipping something, each shipment with its cheapest service.
fn every_option(net: &Network, order: usize) -> Vec<FulfillmentOption> {
    let lines = &net.lines[order];
    let o = net.order(order);
    let nodes: Vec<usize> = (0..net.node_count()).collect();
    let mut out = Vec::new();
    for mask in 1u32..(1 << nodes.len()) {
        let set: Vec<usize> = nodes
            .iter()
            .copied()
            .filter(|&n| mask & (1 << n) != 0)
            .collect();
        if set.len() as u32 > o.max_shipments.unwrap_or(u32::MAX) {
            continue;
        }
        // Odometer over (line, node) unit counts.
        let cells: Vec<(usize, usize)> = (0..lines.len())
            .flat_map(|i| set.iter().map(move |&n| (i, n)))
            .collect();
        let mut counts = vec![0u32; cells.len()];
        loop {
            let fits = (0..lines.len()).all(|i| {
                cells
                    .iter()
                    .zip(&counts)
                    .filter(|((l, _), _)| *l == i)
                    .map(|(_, &c)| c)
                    .sum::<u32>()
                    <= lines[i].1
            });
            if fits {
                let shape: bound::Response = set
                    .iter()
                    .map(|&n| {
                        let shipped: Vec<(usize, u32)> = cells
                            .iter()
                            .zip(&counts)
                            .filter(|((_, m), c)| *m == n && **c > 0)
                            .map(|((l, _), &c)| (lines[*l].0, c))
                            .collect();
                        (n, shipped)
                    })
                    .collect();
                let whole = shape.len() == 1
                    && shape[0].1.iter().map(|l| l.1).sum::<u32>()
                        == lines.iter().map(|l| l.1).sum::<u32>();
                if shape.iter().all(|(_, l)| !l.is_empty())
                    && (!o.ship_complete || whole)
                    && let Some(option) = real_option(net, order, &shape)
                {
                    out.push(option);
                }
            }
            // Next count vector within stock.
            let mut k = 0;
            while k < cells.len() {
                let (l, n) = cells[k];
                if counts[k] < net.available(n, lines[l].0).min(lines[l].1) {
                    counts[k] += 1;
                    break;
                }
                counts[k] = 0;
                k += 1;
            }
            if k == cells.len() {
                break;
            }
        }
    }
    out
}

/// The arc relaxation's cost of a shape, if the block admits it (every node in
/// the block, units within what it holds and the lines, shipments within the
/// limit).
fn arc_cost(block: &bound::ArcBlock, shape: &[Allocation]) -> Option<f64> {
    if shape.len() > block.max_shipments {
        return None;
    }
    let mut cost = block.split * (shape.len() as f64 - 1.0);
    let mut taken = vec![0u32; block.lines.len()];
    for a in shape {
        let node = block.nodes.iter().find(|n| n.node == a.node)?;
        cost += node.fixed;
        for &(sku, qty) in &a.lines {
            let i = block.lines.iter().position(|l| l.0 == sku)?;
            let (unit, held) = node.units[i];
            if qty > held {
                return None;
            }
            taken[i] += qty;
            cost += unit * f64::from(qty);
        }
    }
    taken
        .iter()
        .zip(&block.lines)
        .all(|(&t, &(_, q))| t <= q)
        .then_some(cost)
}

/// A small window (80 orders, 5 nodes, 6 skus, late days priced, 10% pickups)
/// whose orders' options can all be listed by brute force.
fn small_window() -> crate::domain::Instance {
    generate(&GenParams {
        orders: 80,
        nodes: 5,
        skus: 6,
        seed: 3,
        min_lines: 1,
        late_penalty_per_day: Some(3.0),
        pickup_share: 0.1,
        ..GenParams::default()
    })
}

#[test]
fn every_option_is_a_cheaper_solution_of_its_arc_relaxation() {
    let instance = small_window();
    let net = Network::new(&instance);
    let (mut checked, mut split) = (0, 0);
    let terms = bound::NodeTerms::new(&net, 1);
    for order in 0..net.order_count() {
        let Some(block) = bound::arc_block(&net, &terms, order) else {
            assert!(net.order(order).ship_complete);
            continue;
        };
        for option in every_option(&net, order) {
            let relaxed = arc_cost(&block, &option.shipments)
                .unwrap_or_else(|| panic!("order {order}: {option:?} not in its arc block"));
            assert!(
                relaxed <= option.saving_cost + 1e-9,
                "order {order}: relaxed {relaxed} above the real {}",
                option.saving_cost
            );
            checked += 1;
            split += usize::from(option.shipments.len() > 1);
        }
    }
    assert!(
        checked > 500 && split > 100,
        "{checked} options, {split} split"
    );
}

/// Neighbourhood search seeded by the orders furthest above their best response
/// (at zero prices: their cheapest option) improves the greedy plan of a small
/// window into a valid plan, saving exactly what it reports.
#[test]
fn seeded_neighbourhood_search_improves_the_greedy_plan() {
    let instance = small_window();
    let net = Network::new(&instance);
    let allocs = greedy::allocate(&net, Policy::Cheapest);
    let greedy_plan = assemble_plan(&net, &allocs, "mip", PlanStatus::Feasible);
    let far = Instant::now() + std::time::Duration::from_secs(60);
    let (mut options, _) = enumerate_options(&net, far).expect("options");
    add_incumbent_options(&net, &allocs, &mut options);
    let by_order = options_by_order(&net, &options);
    let rows = binding_rows(&net, &options, &by_order);
    let zero = Prices::zero(&rows);
    let minima: Vec<f64> = by_order
        .iter()
        .map(|ids| {
            ids.iter()
                .map(|&j| options[j].saving_cost)
                .fold(0.0, f64::min)
        })
        .collect();
    let mut choice = choice_of(&options, &by_order, &group_by_order(&net, &allocs));
    let first = costliest_orders(&options, &choice, &zero, &minima);
    // Ranked by excess, largest first, and only orders above their minimum.
    let excess = |o: usize| choice[o].map_or(0.0, |j| options[j].saving_cost) - minima[o];
    assert!(!first.is_empty());
    assert!(first.windows(2).all(|w| excess(w[0]) >= excess(w[1])));
    assert!(first.iter().all(|&o| excess(o) > RC_EPS));
    let candidates: Vec<Vec<usize>> = by_order
        .iter()
        .map(|ids| ids.iter().copied().take(lns::OPTIONS_PER_ORDER).collect())
        .collect();
    let seeds = |c: &primal::Choice| costliest_orders(&options, c, &zero, &minima);
    let opts = SolveOptions::default();
    let stop = Instant::now() + std::time::Duration::from_millis(800);
    let lns = lns::search(
        &net,
        &options,
        &candidates,
        &seeds,
        &mut choice,
        &opts,
        2,
        stop,
    );
    assert!(
        lns.seeded >= 1 && lns.improved >= 1,
        "{} {}",
        lns.seeded,
        lns.improved
    );
    let plan = assemble_plan(
        &net,
        &primal::allocations(&options, &choice),
        "mip",
        PlanStatus::Feasible,
    );
    let report = crate::check::check(&instance, &plan);
    assert!(report.is_valid(), "{:?}", report.violations);
    assert!(
        (greedy_plan.objective - lns.saved - plan.objective).abs() <= 1e-6,
        "{} - {} != {}",
        greedy_plan.objective,
        lns.saved,
        plan.objective
    );
}

/// A window's listed options with the ascent's pool over them at zero prices.
struct Priced {
    options: Vec<FulfillmentOption>,
    rows: Vec<(options::Resource, f64)>,
    pool: lagrange::Pool,
    /// The window's total unfilled penalty (the constant).
    penalty: f64,
    /// The global bound at zero prices.
    unpriced: f64,
}

/// Lists every option of `net`'s orders, their binding rows, and a pool over
/// them evaluated on `threads` threads.
fn priced_pool(net: &Network, threads: usize) -> Priced {
    let far = Instant::now() + std::time::Duration::from_secs(60);
    let (options, _) = enumerate_options(net, far).expect("options");
    let by_order = options_by_order(net, &options);
    let rows = binding_rows(net, &options, &by_order);
    let zero = Prices::zero(&rows);
    let mut pool = lagrange::Pool::new(net.order_count(), &zero, threads);
    pool.extend(options.iter().enumerate(), &zero);
    let penalty = total_unfilled_penalty(net);
    let unpriced = penalty
        + bound::lagrangian_bound(net, &bound::NodeTerms::new(net, 1), &zero, 1, far)
            .unwrap()
            .value;
    Priced {
        options,
        rows,
        pool,
        penalty,
        unpriced,
    }
}

/// The node LP, solved while the ascent goes on beside it: over every listed
/// option its value is never below a bound of the ascent's, and its rounding is
/// a valid plan costing no less than the LP.
#[test]
fn the_lp_beside_the_ascent_rounds_to_a_valid_plan_above_every_bound() {
    let instance = small_window();
    let net = Network::new(&instance);
    let far = Instant::now() + std::time::Duration::from_secs(60);
    let Priced {
        options,
        rows,
        mut pool,
        penalty,
        unpriced,
        ..
    } = priced_pool(&net, 2);
    let zero = Prices::zero(&rows);
    let ids: Vec<usize> = (0..options.len()).collect();
    let master = build_model(net.order_count(), rows, &options, &ids);
    let opts = SolveOptions {
        threads: 2,
        ..SolveOptions::default()
    };
    let (lp, beside) = lp_beside_ascent(
        &net,
        &MipParams::default(),
        &bound::NodeTerms::new(&net, 1),
        &master,
        &mut pool,
        zero,
        // Shipping nothing (saving 0) is a plan: the target.
        Targets {
            target: 0.0,
            total_penalty: penalty,
            best: unpriced,
        },
        &opts,
        far,
    );
    let lp = lp.expect("the LP solves");
    let lp_value = penalty + lp.objective;
    assert!(
        unpriced <= lp_value + 1e-6,
        "{unpriced} above the LP {lp_value}"
    );
    if let Some(bound) = beside.bound {
        assert!(bound <= lp_value + 1e-6, "{bound} above the LP {lp_value}");
    }
    let duals = master.duals(lp.row_duals.as_ref().expect("an optimal LP's duals"));
    let rc: Vec<f64> = options.iter().map(|o| duals.reduced_cost(o)).collect();
    let objective = checked_rounding(&net, &master, &lp.columns, &rc, &options);
    assert!(
        objective >= lp_value - 1e-6,
        "{objective} below the LP {lp_value}"
    );
    // The pool evaluates on both threads again afterwards.
    assert_eq!(pool.threads(), 2);
}

/// The node LP over the node rows, stock priced at the ascent's prices: it
/// solves, each column's cost carries its stock's price, and its rounding
/// passes the checker and costs no less than the bound at those prices.
#[test]
fn the_node_master_prices_stock_and_rounds_to_a_valid_plan() {
    let instance = small_window();
    let net = Network::new(&instance);
    let far = Instant::now() + std::time::Duration::from_secs(60);
    let priced = priced_pool(&net, 1);
    let (options, rows, penalty) = (&priced.options, &priced.rows, priced.penalty);
    let zero = Prices::zero(rows);
    let ascent = priced.pool.ascend(&zero.values, 0.0, 1.0, 500, far, None);
    let prices = Prices {
        values: ascent.prices,
        ..zero
    };
    let bound = penalty
        + bound::lagrangian_bound(&net, &bound::NodeTerms::new(&net, 1), &prices, 1, far)
            .expect("in time")
            .value;
    let ids: Vec<usize> = (0..options.len()).collect();
    let master = node_master(net.order_count(), rows, &prices, options, &ids);
    assert!(
        master
            .rows
            .iter()
            .all(|(r, _)| !matches!(r, options::Resource::Stock(..)))
    );
    // Each column costs its option plus its stock at the ascent's prices, and
    // the ascent priced the stock of some.
    let mut raised = 0;
    for (i, &j) in master.option_ids.iter().enumerate() {
        let stock: f64 = options[j]
            .usage()
            .into_iter()
            .filter(|(r, _)| matches!(r, options::Resource::Stock(..)))
            .map(|(r, q)| prices.get(r) * q)
            .sum();
        let cost = master.column_cost(i);
        assert!(
            (cost - options[j].saving_cost - stock).abs() < 1e-9,
            "{cost}"
        );
        raised += usize::from(stock > 0.0);
    }
    assert!(raised > 0, "the test window prices no stock");
    let lp = model::run_rough_lp(
        master.problem(false),
        penalty,
        1e-7,
        &SolveOptions::default(),
        far,
    )
    .expect("the node LP solves");
    let rc: Vec<f64> = options
        .iter()
        .map(|o| prices.reduced_cost(o, 0.0))
        .collect();
    let objective = checked_rounding(&net, &master, &lp.columns, &rc, options);
    assert!(
        objective >= bound - 1e-6,
        "{objective} below the bound {bound}"
    );
}

/// Rounds the LP `lp_x` over `master`, asserts that the plan passes the
/// checker, and returns its objective.
fn checked_rounding(
    net: &Network,
    master: &Model,
    lp_x: &[f64],
    rc: &[f64],
    options: &[FulfillmentOption],
) -> f64 {
    let by_order = options_by_order(net, options);
    let rounded = round_lp(net, master, lp_x, rc, options, &by_order);
    let plan = assemble_plan(net, &rounded, "mip", PlanStatus::Feasible);
    let report = crate::check::check(net.instance, &plan);
    assert!(report.is_valid(), "{:?}", report.violations);
    plan.objective
}

#[test]
fn the_spare_core_ascent_raises_the_bound_and_stays_below_a_real_plan() {
    let instance = small_window();
    let net = Network::new(&instance);
    let opts = SolveOptions::default();
    let best = solve(&net, &opts, Instant::now(), &mut Leftovers::default());
    let report = crate::check::check(&instance, &best);
    assert!(report.is_valid(), "{:?}", report.violations);
    let far = Instant::now() + std::time::Duration::from_secs(60);
    let Priced {
        rows,
        mut pool,
        penalty,
        unpriced,
        ..
    } = priced_pool(&net, 1);
    let zero = Prices::zero(&rows);
    let target = 1.1 * best.objective - penalty;
    let spare = spare_core_ascent(
        &net,
        &MipParams::default(),
        &bound::NodeTerms::new(&net, 1),
        &mut pool,
        zero,
        Targets {
            target,
            total_penalty: penalty,
            best: unpriced,
        },
        (far, far),
        None,
    );
    let bound = spare
        .bound
        .expect("prices raise the bound over zero prices");
    assert!(bound > unpriced + 1e-6, "{bound} vs {unpriced}");
    // A valid bound: never above a real plan.
    assert!(
        bound <= best.objective + 1e-6,
        "{bound} above {}",
        best.objective
    );
    assert!(spare.slices >= 1 && spare.steps > 0);
    assert!(spare.steps <= spare.slices * MipParams::default().ascent_steps);
}

#[test]
fn an_arc_only_mip_bounds_the_window_and_decodes_to_a_valid_plan() {
    let instance = small_window();
    let net = Network::new(&instance);
    // Every order by its arc relaxation alone (ship-complete ones by their
    // options), every limited resource a row.
    let mut options = Vec::new();
    let mut arcs = Vec::new();
    let terms = bound::NodeTerms::new(&net, 1);
    for order in 0..net.order_count() {
        match bound::arc_block(&net, &terms, order) {
            Some(block) => arcs.push(block),
            None => options.extend(every_option(&net, order)),
        }
    }
    let mut rows: Vec<(Resource, f64)> = Vec::new();
    for n in 0..net.node_count() {
        for k in 0..instance.skus.len() {
            rows.push((Resource::Stock(n, k), f64::from(net.available(n, k))));
        }
        for r in [Resource::Shipments(n), Resource::Units(n)] {
            if let Some(c) = model::capacity(&net, r) {
                rows.push((r, c));
            }
        }
    }
    let ids: Vec<usize> = (0..options.len()).collect();
    let mut master = build_model(net.order_count(), rows, &options, &ids);
    master.arcs = arcs;
    let opts = SolveOptions::default();
    let start = vec![0.0; ids.len() + master.arc_columns()];
    let far = Instant::now() + std::time::Duration::from_secs(60);
    let run = run_guarded(master.problem(true), Some(start), 0.0, true, &opts, far)
        .expect("HiGHS solves the arc MIP");
    // A relaxation of the whole window: never above the best real plan found.
    let best = solve(&net, &opts, Instant::now(), &mut Leftovers::default());
    let penalty = total_unfilled_penalty(&net);
    assert!(
        run.dual_bound + penalty <= best.objective + 1e-6,
        "arc bound {} above a real plan {}",
        run.dual_bound + penalty,
        best.objective
    );
    // Its solution, each order's shape as a real option, is a valid plan.
    let shapes = master.arc_shapes(&run.columns);
    assert!(shapes.len() > 20, "{} orders shipped", shapes.len());
    let allocs: Vec<Allocation> = master
        .option_ids
        .iter()
        .zip(&run.columns)
        .filter(|(_, x)| **x > 0.5)
        .flat_map(|(&j, _)| options[j].shipments.iter().cloned())
        .chain(
            shapes
                .iter()
                .filter_map(|(o, shape)| real_option(&net, *o, shape))
                .flat_map(|o| o.shipments),
        )
        .collect();
    let plan = assemble_plan(&net, &allocs, "mip", PlanStatus::Feasible);
    let report = crate::check::check(&instance, &plan);
    assert!(report.is_valid(), "{:?}", report.violations);
    assert!(plan.objective >= run.dual_bound + penalty - 1e-6);
}

#[test]
fn reduced_cost_enumeration_lists_every_option_within_the_ceiling() {
    let instance = small_window();
    let net = Network::new(&instance);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let prices = random_prices(&net, instance.skus.len(), &mut rng);
    let far = Instant::now() + std::time::Duration::from_secs(3600);
    let terms = bound::NodeTerms::new(&net, 1);
    let minima = bound::lagrangian_bound(&net, &terms, &prices, 1, far)
        .expect("no deadline")
        .minima;
    let (mut checked, mut multi) = (0, 0);
    for (order, &minimum) in minima.iter().enumerate() {
        let all = every_option(&net, order);
        let rc = |o: &FulfillmentOption| prices.reduced_cost(o, 0.0);
        for o in &all {
            assert!(
                rc(o) >= minimum - 1e-9,
                "order {order}: the bound is not below an option"
            );
        }
        for room in [0.5, 4.0, 15.0] {
            let ceiling = minimum + room;
            let shapes = bound::shapes_within(&net, &terms, &prices, order, ceiling, usize::MAX)
                .expect("no limit");
            let listed: HashSet<Vec<Allocation>> = shapes
                .iter()
                .filter_map(|s| real_option(&net, order, s))
                .map(|o| shipments_key(&o))
                .collect();
            for o in all
                .iter()
                .filter(|o| o.saving_cost < 0.0 && rc(o) <= ceiling)
            {
                assert!(
                    listed.contains(&shipments_key(o)),
                    "order {order}, room {room}: {o:?} missing"
                );
                checked += 1;
                multi += usize::from(o.shipments.len() > 1);
            }
        }
    }
    // The instance must exercise the enumeration, splits included.
    assert!(
        checked > 200 && multi > 20,
        "{checked} options checked, {multi} split"
    );
}

/// Resource rows over every node and sku of a window, with random prices.
fn random_prices(net: &Network, skus: usize, rng: &mut ChaCha8Rng) -> Prices {
    let mut rows = Vec::new();
    for n in 0..net.node_count() {
        for s in 0..skus {
            rows.push((Resource::Stock(n, s), 3.0));
        }
        rows.push((Resource::Shipments(n), 10.0));
        rows.push((Resource::Units(n), 20.0));
    }
    let mut prices = Prices::zero(&rows);
    for v in &mut prices.values {
        if rng.gen_bool(0.5) {
            *v = rng.gen_range(0.0..8.0);
        }
    }
    prices
}

#[test]
fn cut_prices_raise_each_minimum_no_higher_than_any_option_with_them() {
    let instance = small_window();
    let net = Network::new(&instance);
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let prices = random_prices(&net, instance.skus.len(), &mut rng);
    // Random cover-shaped cuts: per stock row, up to three orders holding the
    // sku, each with a random threshold (validity for plans does not matter
    // here: the minimum must bound every option with the cuts' extra costs).
    let mut cut_list = Vec::new();
    for n in 0..net.node_count() {
        for s in 0..instance.skus.len() {
            let mut items: Vec<(usize, u32)> = Vec::new();
            for k in 0..net.order_count() {
                if let Some(&(_, q)) = net.lines[k].iter().find(|l| l.0 == s)
                    && items.len() < 3
                    && rng.gen_bool(0.3)
                {
                    items.push((k, rng.gen_range(1..=q)));
                }
            }
            items.sort_unstable();
            if items.len() >= 2 {
                cut_list.push(cuts::Cut::Cover(cuts::CoverCut {
                    node: n,
                    sku: s,
                    rhs: items.len() - 1,
                    items,
                }));
            }
        }
    }
    let values: Vec<f64> = cut_list.iter().map(|_| rng.gen_range(0.0..6.0)).collect();
    let cut_prices = CutPrices::new(cut_list, values);
    let far = Instant::now() + std::time::Duration::from_secs(3600);
    let terms = bound::NodeTerms::new(&net, 1);
    let plain = bound::lagrangian_bound(&net, &terms, &prices, 1, far).expect("no deadline");
    let mut raised = bound::lagrangian_bound(&net, &terms, &prices, 1, far).expect("no deadline");
    cuts::raise_bound(&net, &terms, &prices, &cut_prices, &mut raised, 2, far);
    let lifted: f64 = raised
        .minima
        .iter()
        .zip(&plain.minima)
        .map(|(r, p)| r - p)
        .sum();
    assert!(
        (raised.value - (plain.value - cut_prices.cost_of_rhs() + lifted)).abs() < 1e-6,
        "the bound moves by the minima's rise less the cuts' right-hand sides"
    );
    let mut rose = 0;
    for order in 0..net.order_count() {
        assert!(raised.minima[order] >= plain.minima[order] - 1e-9);
        let least = every_option(&net, order)
            .iter()
            .map(|o| prices.reduced_cost(o, 0.0) + cut_prices.extra(o))
            .fold(0.0, f64::min);
        assert!(
            raised.minima[order] <= least + 1e-9,
            "order {order}: raised minimum {} above an option's {least}",
            raised.minima[order]
        );
        rose += usize::from(raised.minima[order] > plain.minima[order] + 1e-6);
    }
    assert!(rose >= 5, "only {rose} minima rose");
}

/// A generated window of `orders` orders over 10 nodes and 100 skus.
fn window(orders: usize, seed: u64) -> crate::domain::Instance {
    generate(&GenParams {
        orders,
        nodes: 10,
        skus: 100,
        seed,
        ..GenParams::default()
    })
}

/// Every option enumeration lists for `net`, and the rows that can bind.
fn enumerated(net: &Network) -> (Vec<FulfillmentOption>, Vec<(Resource, f64)>) {
    let far = Instant::now() + std::time::Duration::from_secs(3600);
    let (options, _) = enumerate_options(net, far).expect("no deadline");
    let by_order = options_by_order(net, &options);
    let rows = binding_rows(net, &options, &by_order);
    (options, rows)
}

#[test]
fn a_cancelled_highs_run_stops_with_its_start_and_an_uncancelled_one_finishes() {
    let instance = window(1000, 1);
    let net = Network::new(&instance);
    let (options, rows) = enumerated(&net);
    let ids: Vec<usize> = (0..options.len()).collect();
    let master = build_model(net.order_count(), rows, &options, &ids);
    let far = Instant::now() + std::time::Duration::from_secs(3600);
    let run_with = |cancelled: bool| {
        let opts = SolveOptions {
            cancel: Some(std::sync::Arc::new(AtomicBool::new(cancelled))),
            ..SolveOptions::default()
        };
        // Shipping nothing is a plan (objective 0: no savings).
        let start = vec![0.0; ids.len()];
        run_guarded(master.problem(true), Some(start), 0.0, true, &opts, far)
            .expect("the start is a plan")
    };
    let cancelled = run_with(true);
    assert_eq!(cancelled.status, highs::HighsModelStatus::ReachedInterrupt);
    let finished = run_with(false);
    assert_eq!(finished.status, highs::HighsModelStatus::Optimal);
    assert!(
        finished.objective < cancelled.objective - 1.0,
        "the finished run saved no more than the interrupted one: {} against {}",
        finished.objective,
        cancelled.objective
    );
}

#[test]
fn the_simplex_session_solves_the_master_as_interior_point_does() {
    // The window of the integration test whose LP the cuts lift.
    let instance = window(200, 2);
    let net = Network::new(&instance);
    let (options, rows) = enumerated(&net);
    let far = Instant::now() + std::time::Duration::from_secs(3600);
    let opts = SolveOptions::default();
    // The first half of the options, then all of them with a round of cuts: the
    // session adds the rest as columns and the cuts as rows, warm.
    let half: Vec<bool> = (0..options.len()).map(|j| j % 2 == 0).collect();
    let all = vec![true; options.len()];
    let mut session = LpSession::new(net.order_count(), &rows, opts.cancel.clone());
    let mut cut_list: Vec<cuts::Cut> = Vec::new();
    for (included, with_cuts) in [(&half, false), (&all, false), (&all, true)] {
        if with_cuts {
            let ids = session.option_ids.clone();
            let mut master = build_model(net.order_count(), rows.clone(), &options, &ids);
            master.add_cuts(&cut_list, &options);
            let lp = session.solve(far).expect("optimal");
            cut_list = cuts::separate(
                &options,
                &ids,
                &lp.columns,
                &master.rows,
                &master.row_index,
                &HashSet::new(),
            );
            assert!(!cut_list.is_empty(), "the window has cuts to add");
        }
        session.sync(&options, included, &cut_list);
        let ids = session.option_ids.clone();
        let mut master = build_model(net.order_count(), rows.clone(), &options, &ids);
        master.add_cuts(&cut_list, &options);
        let warm = session.solve(far).expect("optimal");
        let cold =
            run_guarded(master.problem(false), None, 0.0, true, &opts, far).expect("optimal");
        assert!(
            (warm.objective - cold.objective).abs() <= 1e-6 * cold.objective.abs(),
            "{} against {}",
            warm.objective,
            cold.objective
        );
        // Its duals price every option at or above the order's dual share.
        let duals = master.duals(warm.row_duals.as_ref().expect("duals"));
        for (&j, &x) in ids.iter().zip(&warm.columns) {
            if x > 1e-6 {
                assert!(duals.reduced_cost(&options[j]).abs() < 1e-5);
            }
        }
    }
}

#[test]
fn zero_half_cuts_cut_the_lp_and_keep_the_integer_optimum() {
    // A window whose LP stays fractional after its cover cuts.
    let instance = window(300, 3);
    let net = Network::new(&instance);
    let (options, rows) = enumerated(&net);
    let far = Instant::now() + std::time::Duration::from_secs(3600);
    // Proved optimal exactly, so that a cut which removed the optimum would show.
    let opts = SolveOptions {
        gap: 0.0,
        ..SolveOptions::default()
    };
    let ids: Vec<usize> = (0..options.len()).collect();
    // Solved by simplex, as column generation does: a vertex, whose support is
    // what the separation works on.
    let all = vec![true; options.len()];
    let mut session = LpSession::new(net.order_count(), &rows, opts.cancel.clone());
    let mut solve_lp = |cuts: &[cuts::Cut]| {
        session.sync(&options, &all, cuts);
        assert_eq!(session.option_ids, ids);
        let mut master = build_model(net.order_count(), rows.clone(), &options, &ids);
        master.add_cuts(cuts, &options);
        (master, session.solve(far).expect("optimal"))
    };
    // Cover cuts first, as column generation adds them; then {0, 1/2}-cuts on
    // top, which may sum the covers.
    let (master, lp) = solve_lp(&[]);
    let mut cut_list = cuts::separate(
        &options,
        &ids,
        &lp.columns,
        &master.rows,
        &master.row_index,
        &HashSet::new(),
    );
    let (master, lp) = solve_lp(&cut_list);
    let zero_half = cuts::separate_zero_half(
        &net,
        &options,
        &ids,
        &lp.columns,
        &master.rows,
        &master.row_index,
        &cut_list,
        &HashSet::new(),
    );
    assert!(!zero_half.is_empty(), "the LP violates some {{0, 1/2}}-cut");
    let lhs = |cut: &cuts::Cut, x: &[f64]| -> f64 {
        ids.iter()
            .zip(x)
            .map(|(&j, v)| v * f64::from(cut.coefficient(&options[j])))
            .sum()
    };
    for cut in &zero_half {
        assert!(lhs(cut, &lp.columns) > cut.rhs() as f64 + 0.01, "{cut:?}");
    }
    cut_list.extend(zero_half.iter().cloned());
    let (_, lifted) = solve_lp(&cut_list);
    assert!(lifted.objective > lp.objective + 1e-6);
    // The integer optimum without them satisfies every one, and the optimum
    // with them is as cheap.
    let mip = |cuts: &[cuts::Cut]| {
        let mut master = build_model(net.order_count(), rows.clone(), &options, &ids);
        master.add_cuts(cuts, &options);
        let start = vec![0.0; ids.len()];
        let run = run_guarded(master.problem(true), Some(start), 0.0, false, &opts, far);
        let run = run.expect("a plan");
        assert_eq!(run.status, highs::HighsModelStatus::Optimal);
        run
    };
    let plain = mip(&[]);
    for cut in &zero_half {
        assert!(
            lhs(cut, &plain.columns) <= cut.rhs() as f64 + 1e-6,
            "{cut:?}"
        );
    }
    let with_cuts = mip(&cut_list);
    assert!(
        (with_cuts.objective - plain.objective).abs() <= 1e-6 * plain.objective.abs(),
        "{} against {}",
        with_cuts.objective,
        plain.objective
    );
}
