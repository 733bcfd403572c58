//! The MIP solver: the whole window as one set-packing model over per-order
//! fulfillment options, solved by HiGHS (formulation in `models/option-model.md`).
//!
//! Steps, all inside one wall-clock budget measured from `started`:
//! 1. run the greedy policies; the best plan is the incumbent and the fallback;
//! 2. enumerate fulfillment options per order (one column each, exact cost from
//!    [`crate::cost`]), plus the incumbent's own option so it is always feasible;
//! 3. keep only stock and capacity rows that can bind;
//! 4. solve the LP relaxation, and turn its duals into a Lagrangian lower bound that
//!    is valid for the *full* problem (not just for the enumerated options);
//! 5. solve the MIP from the incumbent with HiGHS's time limit set to what is left,
//!    on a worker thread guarded by our own deadline;
//! 6. return the better of the MIP plan and the incumbent with status and bound.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use highs::{ColProblem, HighsModelStatus, Row, Sense};
use serde_json::json;

use crate::cost::{Network, ServiceChoice};
use crate::domain::{Plan, PlanStatus};
use crate::solve::greedy::{self, Policy};
use crate::solve::{Allocation, SolveOptions, assemble_plan};

/// Most nodes considered per order when pairing nodes into split options.
const PAIR_CANDIDATES: usize = 6;
/// Orders with at most this many lines get one option per subset of lines per node.
const SUBSET_LINES: usize = 3;
/// Time kept back from HiGHS for assembling the plan after it stops.
const FINISH_MARGIN: Duration = Duration::from_millis(30);

/// One way to serve one order: its shipments and what they cost.
#[derive(Debug, Clone)]
struct Option_ {
    order: usize,
    shipments: Vec<Allocation>,
    /// Shipment costs + split penalty − unfilled penalty avoided (negative is good).
    saving_cost: f64,
}

/// A resource row: stock of (node, sku), shipments of a node, units of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Resource {
    Stock(usize, usize),
    Shipments(usize),
    Units(usize),
}

/// Solves the window; never fails: without a better MIP plan it returns the best
/// greedy plan.
pub fn solve(net: &Network, opts: &SolveOptions, started: Instant) -> Plan {
    let deadline = started + opts.time_limit;
    let t0 = Instant::now();

    // 1. Incumbent.
    let (incumbent_allocs, incumbent_policy) = Policy::ALL
        .iter()
        .map(|&p| (greedy::allocate(net, p), p))
        .min_by(|a, b| {
            let cost =
                |x: &Vec<Allocation>| assemble_plan(net, x, "", PlanStatus::Feasible).objective;
            cost(&a.0).total_cmp(&cost(&b.0))
        })
        .expect("three policies");
    let incumbent = assemble_plan(net, &incumbent_allocs, "mip", PlanStatus::Fallback);
    let greedy_seconds = t0.elapsed().as_secs_f64();

    let fallback = |why: &str, mut stats: serde_json::Value| {
        let mut p = incumbent.clone();
        p.status = PlanStatus::Fallback;
        p.solve_seconds = started.elapsed().as_secs_f64();
        stats["fallback_reason"] = json!(why);
        stats["fallback_policy"] = json!(incumbent_policy.name());
        stats["greedy_seconds"] = json!(greedy_seconds);
        p.stats = Some(stats);
        p
    };

    // 2. Options.
    let t_build = Instant::now();
    let mut options = enumerate_options(net, deadline);
    let Some(options_ref) = options.as_mut() else {
        return fallback("time budget spent enumerating options", json!({}));
    };
    add_incumbent_options(net, &incumbent_allocs, options_ref);
    let options = options.expect("checked above");
    let total_penalty: f64 = (0..net.order_count())
        .map(|o| net.unit_penalty(o) * net.lines[o].iter().map(|&(_, q)| f64::from(q)).sum::<f64>())
        .sum();

    // 3. Model.
    let model = build_model(net, &options);
    let build_seconds = t_build.elapsed().as_secs_f64();
    let mut stats = json!({
        "columns": options.len(),
        "rows": model.rows.len() + net.order_count(),
        "resource_rows": model.rows.len(),
        "greedy_seconds": greedy_seconds,
        "build_seconds": build_seconds,
        "incumbent_policy": incumbent_policy.name(),
        "incumbent_objective": incumbent.objective,
    });
    if Instant::now() + FINISH_MARGIN >= deadline {
        return fallback("time budget spent building the model", stats);
    }

    // 4. LP relaxation and the Lagrangian bound.
    let t_lp = Instant::now();
    let lp = run_guarded(model.problem(false), None, opts, deadline);
    let mut lower_bound = None;
    if let Some(HighsRun {
        row_duals: Some(duals),
        ..
    }) = &lp
    {
        let lb = total_penalty + lagrangian_bound(net, &model, duals);
        lower_bound = Some(lb);
        stats["lagrangian_bound"] = json!(lb);
    }
    if let Some(run) = &lp {
        stats["lp_objective"] = json!(total_penalty + run.objective);
    }
    stats["lp_seconds"] = json!(t_lp.elapsed().as_secs_f64());

    // 5. MIP from the incumbent.
    let t_mip = Instant::now();
    let start: Vec<f64> = options
        .iter()
        .map(|o| {
            f64::from(u8::from(
                o.shipments == incumbent_for(&incumbent_allocs, o.order),
            ))
        })
        .collect();
    let mip = run_guarded(model.problem(true), Some(start), opts, deadline);
    stats["mip_seconds"] = json!(t_mip.elapsed().as_secs_f64());
    let Some(run) = mip else {
        let mut p = fallback("the MIP found no plan within the time budget", stats);
        p.lower_bound = lower_bound.map(|lb| lb.min(p.objective));
        return p;
    };
    stats["mip_status"] = json!(format!("{:?}", run.status));
    stats["mip_nodes"] = json!(run.nodes);
    stats["mip_gap_restricted"] = json!(run.gap);

    let chosen: Vec<Allocation> = options
        .iter()
        .zip(&run.columns)
        .filter(|(_, x)| **x > 0.5)
        .flat_map(|(o, _)| o.shipments.iter().cloned())
        .collect();
    let mut plan = assemble_plan(net, &chosen, "mip", PlanStatus::Feasible);
    if plan.objective > incumbent.objective {
        plan = incumbent.clone();
        plan.status = PlanStatus::Fallback;
        stats["fallback_reason"] = json!("the MIP plan was worse than the greedy incumbent");
    }
    // The restricted MIP's own bound is valid for the whole problem only when every
    // order's options were enumerated completely.
    if model.complete && run.dual_bound.is_finite() {
        let restricted = total_penalty + run.dual_bound;
        lower_bound = Some(lower_bound.map_or(restricted, |lb: f64| lb.max(restricted)));
    }
    let lb = lower_bound.map(|lb| lb.min(plan.objective));
    let gap = lb.map(|lb| (plan.objective - lb) / plan.objective.abs().max(1e-9));
    if plan.status != PlanStatus::Fallback {
        plan.status = if gap.is_some_and(|g| g <= opts.gap) {
            PlanStatus::Optimal
        } else {
            PlanStatus::Feasible
        };
    }
    stats["gap"] = json!(gap);
    stats["complete_enumeration"] = json!(model.complete);
    plan.lower_bound = lb;
    plan.solve_seconds = started.elapsed().as_secs_f64();
    plan.stats = Some(stats);
    plan
}

/// The incumbent's allocations for one order, in allocation order.
fn incumbent_for(allocs: &[Allocation], order: usize) -> Vec<Allocation> {
    allocs
        .iter()
        .filter(|a| a.order == order)
        .cloned()
        .collect()
}

/// Makes sure each order's incumbent allocation is one of its options.
fn add_incumbent_options(net: &Network, allocs: &[Allocation], options: &mut Vec<Option_>) {
    let mut per_order: Vec<Vec<Allocation>> = vec![Vec::new(); net.order_count()];
    for a in allocs {
        per_order[a.order].push(a.clone());
    }
    let mut existing: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, o) in options.iter().enumerate() {
        existing.entry(o.order).or_default().push(i);
    }
    for (order, shipments) in per_order.into_iter().enumerate() {
        if shipments.is_empty() {
            continue;
        }
        let known = existing
            .get(&order)
            .is_some_and(|ids| ids.iter().any(|&i| options[i].shipments == shipments));
        if !known {
            let saving_cost = option_cost(net, order, &shipments);
            options.push(Option_ {
                order,
                shipments,
                saving_cost,
            });
        }
    }
}

/// Shipment costs + split penalty − unfilled penalty avoided, via the cost module.
fn option_cost(net: &Network, order: usize, shipments: &[Allocation]) -> f64 {
    let mut cost = net.split_cost(shipments.len());
    for a in shipments {
        let weight = net.weight(a.lines.iter().copied());
        let price = net
            .price(
                order,
                a.node,
                net.lane(order, a.node).zone,
                a.service,
                a.units(),
                weight,
            )
            .expect("options hold allowed shipments");
        cost += price.cost - net.unit_penalty(order) * f64::from(a.units());
    }
    cost
}

/// A node able to ship part of an order.
struct Reach {
    node: usize,
    zone: usize,
}

/// Enumerates options for every order; `None` when the deadline passes.
fn enumerate_options(net: &Network, deadline: Instant) -> Option<Vec<Option_>> {
    let mut out = Vec::new();
    for order in 0..net.order_count() {
        if order % 1024 == 0 && Instant::now() >= deadline {
            return None;
        }
        order_options(net, order, &mut out);
    }
    Some(out)
}

/// Builds a shipment of `lines` from a node with its cheapest service.
fn shipment(
    net: &Network,
    order: usize,
    r: &Reach,
    lines: Vec<(usize, u32)>,
) -> Option<Allocation> {
    let units: u32 = lines.iter().map(|&(_, q)| q).sum();
    if units == 0 {
        return None;
    }
    let weight = net.weight(lines.iter().copied());
    let (service, _) = net.best_service(order, r.node, r.zone, units, weight)?;
    Some(Allocation {
        order,
        node: r.node,
        service,
        lines,
    })
}

/// Whether a node's shipment capacity allows any shipment at all.
fn has_capacity(net: &Network, node: usize) -> bool {
    let n = &net.instance.nodes[node];
    n.capacity_shipments != Some(0) && n.capacity_units != Some(0)
}

fn order_options(net: &Network, order: usize, out: &mut Vec<Option_>) {
    let o = net.order(order);
    let lines = &net.lines[order];
    let unit_cap = |node: usize| net.instance.nodes[node].capacity_units.unwrap_or(u32::MAX);
    let nodes: Vec<usize> = match net.pickup[order] {
        Some(p) => vec![p],
        None => (0..net.node_count()).collect(),
    };
    let reach: Vec<Reach> = nodes
        .into_iter()
        .filter(|&n| has_capacity(net, n) && lines.iter().any(|&(s, _)| net.available(n, s) > 0))
        .filter_map(|n| {
            let zone = net.lane(order, n).zone;
            net.can_serve(order, n, zone)
                .then_some(Reach { node: n, zone })
        })
        .collect();
    let total: u32 = lines.iter().map(|&(_, q)| q).sum();
    let mut push = |shipments: Vec<Allocation>| {
        let cost = option_cost(net, order, &shipments);
        if cost < 0.0 {
            out.push(Option_ {
                order,
                shipments,
                saving_cost: cost,
            });
        }
    };
    // What node r can take of `need` (per line), capped by stock and unit capacity.
    let take = |r: &Reach, need: &[u32]| -> Vec<(usize, u32)> {
        let mut cap = unit_cap(r.node);
        lines
            .iter()
            .zip(need)
            .filter_map(|(&(s, _), &n)| {
                let q = n.min(net.available(r.node, s)).min(cap);
                cap -= q;
                (q > 0).then_some((s, q))
            })
            .collect()
    };
    let full: Vec<u32> = lines.iter().map(|&(_, q)| q).collect();
    let mut singles: Vec<(f64, usize)> = Vec::new();
    for (ri, r) in reach.iter().enumerate() {
        let got = take(r, &full);
        let units: u32 = got.iter().map(|&(_, q)| q).sum();
        if o.ship_complete && units < total {
            continue;
        }
        if let Some(a) = shipment(net, order, r, got.clone()) {
            singles.push((option_cost(net, order, std::slice::from_ref(&a)), ri));
            push(vec![a]);
        }
        if o.ship_complete || lines.len() == 1 && total == 1 {
            continue;
        }
        // Subsets of lines from this node (small orders), and fewer units of a line.
        if lines.len() <= SUBSET_LINES && got.len() > 1 {
            for mask in 1..(1u32 << got.len()) - 1 {
                let sub: Vec<(usize, u32)> = got
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, &l)| l)
                    .collect();
                if let Some(a) = shipment(net, order, r, sub) {
                    push(vec![a]);
                }
            }
        }
        if got.len() == 1 && got[0].1 > 1 {
            for q in 1..got[0].1 {
                if let Some(a) = shipment(net, order, r, vec![(got[0].0, q)]) {
                    push(vec![a]);
                }
            }
        }
    }
    // Splits over two nodes: the first takes what it can, the second the rest.
    let max_shipments = o.max_shipments.unwrap_or(u32::MAX);
    if o.ship_complete || net.pickup[order].is_some() || max_shipments < 2 || total < 2 {
        return;
    }
    singles.sort_by(|a, b| a.0.total_cmp(&b.0));
    let top: Vec<usize> = singles
        .iter()
        .take(PAIR_CANDIDATES)
        .map(|&(_, ri)| ri)
        .collect();
    for &a in &top {
        for &b in &top {
            if a == b {
                continue;
            }
            let first = take(&reach[a], &full);
            let mut need = full.clone();
            for &(s, q) in &first {
                let i = lines.iter().position(|&(s2, _)| s2 == s).expect("line");
                need[i] -= q;
            }
            let second = take(&reach[b], &need);
            if let (Some(x), Some(y)) = (
                shipment(net, order, &reach[a], first),
                shipment(net, order, &reach[b], second),
            ) {
                push(vec![x, y]);
            }
        }
    }
}

/// One column: order, cost, and (resource row index, coefficient) pairs.
type Column = (usize, f64, Vec<(usize, f64)>);

/// The model's rows and columns, ready to hand to HiGHS.
struct Model {
    /// Resource rows that can bind, with their capacity.
    rows: Vec<(Resource, f64)>,
    /// Per column: order, cost, and (resource row index, coefficient) pairs.
    columns: Vec<Column>,
    orders: usize,
    /// Whether every order's options are all its possible options.
    complete: bool,
    /// Resource → row position in `rows`.
    row_index: HashMap<Resource, usize>,
}

fn build_model(net: &Network, options: &[Option_]) -> Model {
    // Usage of each resource per column, and the most any order can use of it.
    let mut col_usage: Vec<Vec<(Resource, f64)>> = Vec::with_capacity(options.len());
    let mut max_use: HashMap<Resource, f64> = HashMap::new();
    let mut per_order_max: HashMap<(usize, Resource), f64> = HashMap::new();
    for opt in options {
        let mut u: Vec<(Resource, f64)> = Vec::new();
        for a in &opt.shipments {
            u.push((Resource::Shipments(a.node), 1.0));
            u.push((Resource::Units(a.node), f64::from(a.units())));
            for &(s, q) in &a.lines {
                u.push((Resource::Stock(a.node, s), f64::from(q)));
            }
        }
        for &(r, q) in &u {
            let m = per_order_max.entry((opt.order, r)).or_insert(0.0);
            *m = m.max(q);
        }
        col_usage.push(u);
    }
    for ((_, r), q) in per_order_max {
        *max_use.entry(r).or_insert(0.0) += q;
    }
    let capacity = |r: Resource| -> Option<f64> {
        match r {
            Resource::Stock(n, s) => Some(f64::from(net.available(n, s))),
            Resource::Shipments(n) => net.instance.nodes[n].capacity_shipments.map(f64::from),
            Resource::Units(n) => net.instance.nodes[n].capacity_units.map(f64::from),
        }
    };
    let mut binding: Vec<(Resource, f64)> = max_use
        .into_iter()
        .filter_map(|(r, m)| capacity(r).filter(|&c| m > c).map(|c| (r, c)))
        .collect();
    binding.sort_by_key(|&(r, _)| match r {
        Resource::Stock(n, s) => (0, n, s),
        Resource::Shipments(n) => (1, n, 0),
        Resource::Units(n) => (2, n, 0),
    });
    let row_index: HashMap<Resource, usize> = binding
        .iter()
        .enumerate()
        .map(|(i, &(r, _))| (r, i))
        .collect();
    let columns = options
        .iter()
        .zip(col_usage)
        .map(|(o, u)| {
            let coefs = u
                .into_iter()
                .filter_map(|(r, q)| row_index.get(&r).map(|&i| (i, q)))
                .collect();
            (o.order, o.saving_cost, coefs)
        })
        .collect();
    let complete = (0..net.order_count()).all(|o| {
        let order = net.order(o);
        order.lines.len() == 1 && order.lines[0].qty == 1
    });
    Model {
        rows: binding,
        columns,
        orders: net.order_count(),
        complete,
        row_index,
    }
}

impl Model {
    /// The HiGHS problem: order rows first, then resource rows; binary or
    /// continuous columns.
    fn problem(&self, integer: bool) -> ColProblem {
        let mut p = ColProblem::default();
        let order_rows: Vec<Row> = (0..self.orders).map(|_| p.add_row(..=1.0)).collect();
        let resource_rows: Vec<Row> = self.rows.iter().map(|&(_, c)| p.add_row(..=c)).collect();
        for (order, cost, coefs) in &self.columns {
            let factors = std::iter::once((order_rows[*order], 1.0))
                .chain(coefs.iter().map(|&(i, q)| (resource_rows[i], q)));
            // The LP leaves the upper bound to the order row, so that the row's dual
            // carries it (the Lagrangian bound reads row duals only).
            if integer {
                p.add_column_with_integrality(*cost, 0.0..=1.0, factors, true);
            } else {
                p.add_column(*cost, 0.0.., factors);
            }
        }
        p
    }
}

/// What a HiGHS run returned.
struct HighsRun {
    status: HighsModelStatus,
    objective: f64,
    columns: Vec<f64>,
    row_duals: Option<Vec<f64>>,
    dual_bound: f64,
    gap: f64,
    nodes: i64,
}

/// Runs HiGHS on a worker thread (a `highs::Model` is built, solved and dropped
/// there), with HiGHS's time limit set to the time left and our own deadline as a
/// guard: if HiGHS overruns, the run is abandoned and `None` returned.
fn run_guarded(
    problem: ColProblem,
    start: Option<Vec<f64>>,
    opts: &SolveOptions,
    deadline: Instant,
) -> Option<HighsRun> {
    let left = deadline
        .checked_duration_since(Instant::now())?
        .checked_sub(FINISH_MARGIN)?;
    let (tx, rx) = mpsc::channel();
    let threads = opts.threads.max(1) as i32;
    let (seed, gap) = (opts.seed as i32, opts.gap);
    let is_mip = start.is_some();
    std::thread::Builder::new()
        .name("domopt-highs".into())
        .spawn(move || {
            let mut model = match problem.try_optimise(Sense::Minimise) {
                Ok(m) => m,
                Err(_) => return,
            };
            let _ = model.try_set_option("time_limit", left.as_secs_f64());
            let _ = model.try_set_option("threads", threads);
            let _ = model.try_set_option("random_seed", seed.rem_euclid(i32::MAX));
            let _ = model.try_set_option("mip_rel_gap", gap);
            if let Some(s) = &start {
                let _ = model.try_set_solution(Some(s), None, None, None);
            }
            let Ok(solved) = model.try_solve() else {
                return;
            };
            let status = solved.status();
            let has_solution = matches!(
                solved.primal_solution_status(),
                highs::HighsSolutionStatus::Feasible
            );
            if !has_solution {
                return;
            }
            let sol = solved.get_solution();
            let run = HighsRun {
                status,
                objective: solved.objective_value(),
                columns: sol.columns().to_vec(),
                row_duals: (!is_mip && status == HighsModelStatus::Optimal)
                    .then(|| sol.dual_rows().to_vec()),
                dual_bound: solved
                    .double_info_value(c"mip_dual_bound")
                    .unwrap_or(f64::NEG_INFINITY),
                gap: solved
                    .double_info_value(c"mip_gap")
                    .unwrap_or(f64::INFINITY),
                nodes: solved.int_info_value(c"mip_node_count").unwrap_or(0),
            };
            let _ = tx.send(run);
        })
        .ok()?;
    // HiGHS's own limit covers its run; allow it a short grace beyond ours.
    rx.recv_timeout(left + FINISH_MARGIN).ok()
}

/// Lagrangian lower bound (without the constant Σ unfilled penalty) from LP duals.
///
/// Resource rows are priced at their dual values; every order then picks its best
/// response over *all* its possible options, bounded from below by a relaxation
/// (cheapest service base and per-weight parts taken separately, and any split bounded
/// by the two cheapest fixed costs), so the bound holds for the full problem.
fn lagrangian_bound(net: &Network, model: &Model, row_duals: &[f64]) -> f64 {
    // HiGHS reports duals of ≤ rows in a minimization as ≤ 0; the price is −dual.
    let orders = model.orders;
    let price = |r: Resource| -> f64 {
        model
            .row_index
            .get(&r)
            .map_or(0.0, |&i| (-row_duals[orders + i]).max(0.0))
    };
    let mut bound: f64 = model.rows.iter().map(|&(r, cap)| -price(r) * cap).sum();
    let services = &net.instance.rate_card.services;
    for order in 0..orders {
        let o = net.order(order);
        let lines = &net.lines[order];
        let penalty = net.unit_penalty(order);
        let split = net.instance.costs.split_penalty;
        let nodes: Vec<usize> = match net.pickup[order] {
            Some(p) => vec![p],
            None => (0..net.node_count()).collect(),
        };
        let mut best_single = 0.0f64; // shipping nothing
        // Per usable node: its fixed reduced cost; offers name nodes by position here.
        let mut fixed: Vec<f64> = Vec::new();
        // Per line: (reduced unit cost, units available) at each node that can ship it.
        let mut unit_offers: Vec<Vec<(usize, f64, u32)>> = vec![Vec::new(); lines.len()];
        for n in nodes {
            if !has_capacity(net, n) || !lines.iter().any(|&(s, _)| net.available(n, s) > 0) {
                continue;
            }
            let node = &net.instance.nodes[n];
            let zone = net.lane(order, n).zone;
            // Cheapest allowed base and per-weight parts (pickup: none).
            let allowed: Vec<usize> = match net.pickup[order] {
                Some(_) => vec![],
                None => (0..services.len())
                    .filter(|&s| {
                        net.price(order, n, zone, ServiceChoice::Carrier(s), 1, 0.0)
                            .is_some()
                    })
                    .collect(),
            };
            if net.pickup[order].is_none() && allowed.is_empty() {
                continue;
            }
            let late = |s: usize| {
                net.price(order, n, zone, ServiceChoice::Carrier(s), 1, 0.0)
                    .map_or(0.0, |p| p.late)
            };
            let base = allowed
                .iter()
                .map(|&s| services[s].base[zone] + late(s))
                .fold(f64::INFINITY, f64::min);
            let per_weight = allowed
                .iter()
                .map(|&s| services[s].per_weight[zone])
                .fold(f64::INFINITY, f64::min);
            let (base, per_weight) = if net.pickup[order].is_some() {
                (0.0, 0.0)
            } else {
                (base, per_weight)
            };
            let f = node.cost_per_shipment + base + price(Resource::Shipments(n));
            let unit_price = price(Resource::Units(n));
            // Single-node best response: ship each unit whose reduced cost is negative.
            let mut single = f;
            let mut all = true;
            for (i, &(s, q)) in lines.iter().enumerate() {
                let a = node.cost_per_unit
                    + per_weight * net.sku_weight[s]
                    + price(Resource::Stock(n, s))
                    + unit_price
                    - penalty;
                let avail = net.available(n, s).min(q);
                all &= avail == q;
                if a < 0.0 {
                    single += a * f64::from(avail);
                    unit_offers[i].push((fixed.len(), a, avail));
                }
            }
            if o.ship_complete {
                // All units or nothing: only nodes holding every unit count.
                if all {
                    let full: f64 = lines
                        .iter()
                        .map(|&(s, q)| {
                            (node.cost_per_unit
                                + per_weight * net.sku_weight[s]
                                + price(Resource::Stock(n, s))
                                + unit_price
                                - penalty)
                                * f64::from(q)
                        })
                        .sum();
                    best_single = best_single.min(f + full);
                }
                continue;
            }
            best_single = best_single.min(single);
            fixed.push(f);
        }
        let total: u32 = lines.iter().map(|&(_, q)| q).sum();
        let max_size = (o.max_shipments.unwrap_or(u32::MAX).min(total) as usize).min(fixed.len());
        let best = if o.ship_complete || max_size < 2 {
            best_single
        } else {
            best_best_response(best_single, &fixed, &unit_offers, lines, split, max_size)
        };
        bound += best;
    }
    bound
}

/// Most node subsets of one size evaluated exactly per order in the bound.
const SUBSETS_PER_SIZE: usize = 256;

/// The lowest relaxed reduced cost of an order over every set of 2..=`max_size` nodes
/// (and `best_single` for one node): small sets are enumerated exactly, each line
/// filled from the set's cheapest offers within stock; when a size has too many sets,
/// all larger sets are bounded at once by the cheapest fixed costs plus every line
/// filled from the cheapest offers anywhere.
fn best_best_response(
    best_single: f64,
    fixed: &[f64],
    offers: &[Vec<(usize, f64, u32)>],
    lines: &[(usize, u32)],
    split: f64,
    max_size: usize,
) -> f64 {
    let mut offers: Vec<Vec<(usize, f64, u32)>> = offers.to_vec();
    for o in &mut offers {
        o.sort_by(|x, y| x.1.total_cmp(&y.1));
    }
    let fill = |in_set: &dyn Fn(usize) -> bool| -> f64 {
        lines
            .iter()
            .zip(&offers)
            .map(|(&(_, q), line_offers)| {
                let mut left = q;
                let mut sum = 0.0;
                for &(_, a, avail) in line_offers.iter().filter(|o| in_set(o.0)) {
                    let take = left.min(avail);
                    sum += a * f64::from(take);
                    left -= take;
                }
                sum
            })
            .sum()
    };
    // Only nodes with a profitable unit can be in a best response.
    let mut useful: Vec<usize> = offers.iter().flatten().map(|o| o.0).collect();
    useful.sort_unstable();
    useful.dedup();
    let m = useful.len();
    let max_size = max_size.min(m);
    let mut best = best_single;
    let mut sorted_fixed: Vec<f64> = useful.iter().map(|&i| fixed[i]).collect();
    sorted_fixed.sort_by(f64::total_cmp);
    for k in 2..=max_size {
        if binomial(m, k) > SUBSETS_PER_SIZE {
            let anywhere = fill(&|_| true);
            let f: f64 = sorted_fixed[..k].iter().sum();
            best = best.min(f + split * (k - 1) as f64 + anywhere);
            break;
        }
        for_each_subset(m, k, &mut |set: &[usize]| {
            let f: f64 = set.iter().map(|&i| fixed[useful[i]]).sum();
            let cost = f + split * (k - 1) as f64 + fill(&|n| set.iter().any(|&i| useful[i] == n));
            best = best.min(cost);
        });
    }
    best
}

fn binomial(n: usize, k: usize) -> usize {
    (0..k).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// Calls `f` with every k-subset of 0..n, in lexicographic order.
fn for_each_subset(n: usize, k: usize, f: &mut dyn FnMut(&[usize])) {
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        f(&idx);
        let Some(i) = (0..k).rev().find(|&i| idx[i] < n - k + i) else {
            return;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}
