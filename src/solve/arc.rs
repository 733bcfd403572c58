//! The arc model: the textbook formulation of a window, written with the good_lp
//! modelling layer and solved by HiGHS through it. It is a baseline to read and
//! change, not a fast solver: the model grows with orders × nodes × services and
//! HiGHS solves it from scratch, so it suits windows of tens to a few hundred
//! orders (timings in `docs/solver.md`, "The arc model").
//!
//! # Formulation
//!
//! An *arc* a = (o, n, s) is a shipment of order o from node n with service s that
//! the cost model allows ([`Network::price`] is `Some`: n is not excluded, the
//! shipment is not late under hard promises, a pickup order ships only from its
//! pickup node with service `pickup`) and for which n holds stock of at least one
//! of o's SKUs. Order o has lines l with SKU k(l) and quantity q(l); A(o) are its
//! arcs, A(n) the arcs leaving node n; `avail(n, k)` is [`Network::available`].
//!
//! Variables:
//!
//! ```text
//! y[a]   ∈ {0, 1}                               arc a is a shipment
//! x[a,l] ∈ {0, 1, …, min(q(l), avail(n, k(l)))}  units of line l on arc a
//! u[o]   ∈ {0, 1}                               order o ships at all
//! ```
//!
//! Costs come from [`Network::price`]. For a fixed node, zone and service a
//! shipment's price is affine in its units and weight (`docs/formats.md`), so two
//! calls price every shipment of an arc exactly:
//!
//! ```text
//! f[a]   = price(a, 0 units, weight 0)            cost_per_shipment + base + late
//! c[a,l] = price(a, 1 unit, weight w(k(l))) − f[a]  cost_per_unit + per_weight · w
//! ```
//!
//! Model, with p(o) the order's unfilled penalty and σ the split penalty:
//!
//! ```text
//! min  Σ_a f[a] y[a] + Σ_a,l c[a,l] x[a,l]                      shipping, handling, late
//!    + σ Σ_o (Σ_{a∈A(o)} y[a] − u[o])                          split
//!    + Σ_o p(o) (Σ_l q(l) − Σ_{a∈A(o),l} x[a,l])              unfilled
//! s.t. x[a,l] ≤ min(q(l), avail) · y[a]        units travel only on a shipment
//!      Σ_l x[a,l] ≥ y[a]                        a shipment carries a unit
//!      Σ_s y[(o,n,s)] ≤ 1                       one shipment per (order, node)
//!      Σ_{a∈A(o)} x[a,l] ≤ q(l)                 each line at most once
//!      u[o] ≤ Σ_{a∈A(o)} y[a]                   only a shipping order saves a split
//!      Σ_{a∈A(o)} y[a] ≤ max_shipments(o)       when set
//!      ship_complete(o):  Σ_{a∈A(o)} y[a] ≤ 1,  Σ_{a∈A(o)} x[a,l] = q(l) u[o]
//!      Σ_{a∈A(n), l: k(l)=k} x[a,l] ≤ avail(n, k)   stock
//!      Σ_{a∈A(n)} y[a] ≤ capacity_shipments(n)      when set
//!      Σ_{a∈A(n), l} x[a,l] ≤ capacity_units(n)     when set
//! ```
//!
//! At an optimum `u[o] = 1` whenever order o ships, so the split term is
//! σ · max(0, shipments − 1). The model is exact: it can choose any allowed
//! service of a shipment, not only the cheapest, and every cost of the formats is
//! linear in these variables. Its plan is still priced again by
//! [`assemble_plan`] and passed through the checker before it is returned.
//!
//! # What good_lp gives and does not give
//!
//! The solve keeps to `SolveOptions::time_limit`, `threads`, `seed` and `gap` as
//! HiGHS options. good_lp hands back the solution and its status but not HiGHS's
//! dual bound, so the plan's `lower_bound` is `None`; and it has no interrupt
//! hook, so `SolveOptions::cancel` is honoured only before HiGHS starts.
//! `optimal` means HiGHS proved the plan within `gap`; without a solution
//! (time limit, error) the plan is the best greedy plan with status `fallback`.

use std::ops::Range;
use std::time::{Duration, Instant};

use good_lp::{
    Constraint, Expression, ProblemVariables, Solution, SolutionStatus, SolverModel, Variable,
    constraint, highs, variable,
};
use serde_json::json;

use crate::check::check;
use crate::cost::{Network, ServiceChoice};
use crate::domain::{Plan, PlanStatus};
use crate::solve::mip::SchedulerRelease;
use crate::solve::{Allocation, SolveOptions, assemble_plan, greedy};

/// The solver's name in plans and on the command line.
pub const NAME: &str = "arc";

/// Time kept back from HiGHS for reading its solution and assembling the plan.
const FINISH_MARGIN: Duration = Duration::from_millis(50);

/// Time kept back per column and row: good_lp hands HiGHS the model row by row and
/// HiGHS's clock starts only once it is copied in column form (about 1 µs each).
const PASS_MARGIN: Duration = Duration::from_micros(2);

/// Most columns the model may have. A larger window gets the fallback plan at once:
/// its model would take more memory than a window deserves and would not solve.
pub const MAX_COLUMNS: usize = 1_000_000;

/// Units of one order line on one arc: the column `x[a,l]`.
struct Units {
    /// Index of the line in the order.
    line: usize,
    /// SKU index of the line.
    sku: usize,
    /// Upper bound of `x[a,l]`: `min(q(l), avail(n, k(l)))`.
    most: u32,
    /// Cost per unit, `c[a,l]`.
    cost: f64,
    /// The column.
    x: Variable,
}

/// One arc (o, n, s) with its columns.
struct Arc {
    order: usize,
    node: usize,
    service: ServiceChoice,
    /// Cost of the shipment without its units, `f[a]`.
    fixed: f64,
    /// The column `y[a]`.
    y: Variable,
    /// The order's lines the node has stock of.
    units: Vec<Units>,
}

/// The model's columns, before the objective and the rows.
struct Columns {
    vars: ProblemVariables,
    /// Every arc, order by order, and within an order node by node.
    arcs: Vec<Arc>,
    /// Each order's arcs in `arcs`.
    order_arcs: Vec<Range<usize>>,
    /// `u[o]` for every order.
    ships: Vec<Variable>,
}

/// Solves the window with the arc model; never fails: without a solution from
/// HiGHS it returns the best greedy plan with status `fallback`.
pub fn solve(net: &Network, opts: &SolveOptions, started: Instant) -> Plan {
    let deadline = started + opts.time_limit;
    let mut stats = json!({});
    let cols = match columns(net, deadline) {
        Ok(cols) => cols,
        Err(reason) => return fallback(net, reason, stats, started),
    };
    if cols.arcs.is_empty() {
        // No shipment is allowed: shipping nothing is the only plan.
        let mut plan = assemble_plan(net, &[], NAME, PlanStatus::Optimal);
        plan.solve_seconds = started.elapsed().as_secs_f64();
        return plan;
    }
    let (objective, rows) = (objective(net, &cols), rows(net, &cols));
    stats["arcs"] = json!(cols.arcs.len());
    stats["columns"] = json!(cols.vars.len());
    stats["rows"] = json!(rows.len());
    let size = cols.vars.len() + rows.len();
    let problem = cols
        .vars
        .minimise(objective.clone())
        .using(highs)
        .with_all(rows);
    stats["build_seconds"] = json!(started.elapsed().as_secs_f64());
    let margin = FINISH_MARGIN + PASS_MARGIN * u32::try_from(size).unwrap_or(u32::MAX);
    let Some(left) = deadline
        .saturating_duration_since(Instant::now())
        .checked_sub(margin)
    else {
        return fallback(net, "no time left after building the model", stats, started);
    };
    let cancelled = opts
        .cancel
        .as_ref()
        .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed));
    if cancelled {
        return fallback(net, "cancelled", stats, started);
    }
    let problem = problem
        .set_time_limit(left.as_secs_f64())
        .set_threads(opts.threads.max(1))
        .set_option("mip_rel_gap", opts.gap)
        .set_option("random_seed", (opts.seed % i32::MAX as u64) as i32);
    let highs_started = Instant::now();
    let solved = {
        // Releases HiGHS's worker threads once the run (and its model) is gone.
        let _release = SchedulerRelease;
        problem.solve()
    };
    stats["highs_seconds"] = json!(highs_started.elapsed().as_secs_f64());
    let solution = match solved {
        Ok(solution) => solution,
        Err(e) => return fallback(net, &format!("HiGHS: {e}"), stats, started),
    };
    let status = match solution.status() {
        SolutionStatus::Optimal | SolutionStatus::GapLimit => PlanStatus::Optimal,
        SolutionStatus::TimeLimit => PlanStatus::Feasible,
    };
    stats["highs_status"] = json!(format!("{:?}", solution.status()));
    stats["model_objective"] = json!(objective.eval_with(&solution));
    let allocations = allocations(&cols.arcs, &solution);
    let mut plan = assemble_plan(net, &allocations, NAME, status);
    if !check(net.instance, &plan).is_valid() {
        return fallback(net, "HiGHS's solution fails the checker", stats, started);
    }
    plan.solve_seconds = started.elapsed().as_secs_f64();
    plan.stats = Some(stats);
    plan
}

/// Every arc of the window with its columns `y[a]` and `x[a,l]`, and `u[o]`; `Err`
/// when the budget runs out or the model would pass [`MAX_COLUMNS`].
fn columns(net: &Network, deadline: Instant) -> Result<Columns, &'static str> {
    let services = net.instance.rate_card.services.len();
    let choices: Vec<ServiceChoice> = std::iter::once(ServiceChoice::Pickup)
        .chain((0..services).map(ServiceChoice::Carrier))
        .collect();
    let mut vars = ProblemVariables::new();
    let mut arcs = Vec::new();
    let mut order_arcs = Vec::with_capacity(net.order_count());
    for o in 0..net.order_count() {
        if Instant::now() >= deadline {
            return Err("time budget spent building the model");
        }
        if vars.len() > MAX_COLUMNS {
            return Err("window too large for the arc model");
        }
        let first = arcs.len();
        for n in 0..net.node_count() {
            let zone = net.lane(o, n).zone;
            for &service in &choices {
                let Some(empty) = net.price(o, n, zone, service, 0, 0.0) else {
                    continue;
                };
                let units: Vec<Units> = net.lines[o]
                    .iter()
                    .enumerate()
                    .filter(|&(_, &(sku, _))| net.available(n, sku) > 0)
                    .filter_map(|(line, &(sku, qty))| {
                        let weight = net.sku_weight[sku];
                        let one = net.price(o, n, zone, service, 1, weight)?;
                        let most = qty.min(net.available(n, sku));
                        Some(Units {
                            line,
                            sku,
                            most,
                            cost: one.cost - empty.cost,
                            x: vars.add(variable().integer().min(0).max(most)),
                        })
                    })
                    .collect();
                if !units.is_empty() {
                    let y = vars.add(variable().binary());
                    let fixed = empty.cost;
                    arcs.push(Arc {
                        order: o,
                        node: n,
                        service,
                        fixed,
                        y,
                        units,
                    });
                }
            }
        }
        order_arcs.push(first..arcs.len());
    }
    let ships = (0..net.order_count())
        .map(|_| vars.add(variable().binary()))
        .collect();
    Ok(Columns {
        vars,
        arcs,
        order_arcs,
        ships,
    })
}

/// Shipping, handling, late, split and unfilled cost of the model's solution.
fn objective(net: &Network, cols: &Columns) -> Expression {
    let split = net.instance.costs.split_penalty;
    let mut cost = Expression::with_capacity(cols.vars.len());
    for arc in &cols.arcs {
        let penalty = net.unit_penalty(arc.order);
        cost.add_mul(arc.fixed + split, arc.y);
        for u in &arc.units {
            cost.add_mul(u.cost - penalty, u.x);
        }
    }
    for (o, &ship) in cols.ships.iter().enumerate() {
        let ordered: u32 = net.lines[o].iter().map(|&(_, qty)| qty).sum();
        cost += net.unit_penalty(o) * f64::from(ordered) - split * ship;
    }
    cost
}

/// Every row of the model.
fn rows(net: &Network, cols: &Columns) -> Vec<Constraint> {
    let mut rows = Vec::new();
    for arc in &cols.arcs {
        for u in &arc.units {
            rows.push(constraint!(u.x <= f64::from(u.most) * arc.y));
        }
        let carried: Expression = arc.units.iter().map(|u| u.x).sum();
        rows.push(constraint!(carried >= arc.y));
    }
    for (o, range) in cols.order_arcs.iter().enumerate() {
        order_rows(net, o, &cols.arcs[range.clone()], cols.ships[o], &mut rows);
    }
    node_rows(net, &cols.arcs, &mut rows);
    rows
}

/// The rows of one order: one shipment per node, each line at most once (all of it
/// or none under ship-complete), `u[o]`, and the order's shipment limit.
fn order_rows(net: &Network, o: usize, arcs: &[Arc], ship: Variable, rows: &mut Vec<Constraint>) {
    let order = net.order(o);
    for at_node in arcs.chunk_by(|a, b| a.node == b.node) {
        if at_node.len() > 1 {
            let shipments: Expression = at_node.iter().map(|a| a.y).sum();
            rows.push(constraint!(shipments <= 1));
        }
    }
    for (line, &(_, qty)) in net.lines[o].iter().enumerate() {
        let shipped: Expression = arcs
            .iter()
            .flat_map(|a| a.units.iter().filter(|u| u.line == line).map(|u| u.x))
            .sum();
        rows.push(if order.ship_complete {
            constraint!(shipped == f64::from(qty) * ship)
        } else {
            constraint!(shipped <= f64::from(qty))
        });
    }
    let shipments: Expression = arcs.iter().map(|a| a.y).sum();
    rows.push(constraint!(ship <= shipments.clone()));
    let limit = if order.ship_complete {
        Some(1)
    } else {
        order.max_shipments
    };
    if let Some(limit) = limit {
        rows.push(constraint!(shipments <= f64::from(limit)));
    }
}

/// The rows of the nodes: stock per (node, SKU), shipment and unit capacities.
fn node_rows(net: &Network, arcs: &[Arc], rows: &mut Vec<Constraint>) {
    let nodes = net.node_count();
    let mut stock: Vec<Vec<Variable>> = vec![Vec::new(); net.stock.len()];
    let mut shipments: Vec<Vec<Variable>> = vec![Vec::new(); nodes];
    let mut units: Vec<Vec<Variable>> = vec![Vec::new(); nodes];
    for arc in arcs {
        shipments[arc.node].push(arc.y);
        for u in &arc.units {
            // Arcs carry units only of skus their node holds, so the slot exists.
            if let Some(slot) = net.stock_slot(arc.node, u.sku) {
                stock[slot].push(u.x);
            }
            units[arc.node].push(u.x);
        }
    }
    for (slot, xs) in stock.iter().enumerate() {
        if !xs.is_empty() {
            let shipped: Expression = xs.iter().sum();
            rows.push(constraint!(shipped <= f64::from(net.stock[slot])));
        }
    }
    for (n, node) in net.instance.nodes.iter().enumerate() {
        if let Some(cap) = node.capacity_shipments {
            let sent: Expression = shipments[n].iter().sum();
            rows.push(constraint!(sent <= f64::from(cap)));
        }
        if let Some(cap) = node.capacity_units {
            let sent: Expression = units[n].iter().sum();
            rows.push(constraint!(sent <= f64::from(cap)));
        }
    }
}

/// The shipments of a solution: every open arc with its units, rounded (HiGHS
/// returns integers up to its tolerance).
fn allocations(arcs: &[Arc], solution: &impl Solution) -> Vec<Allocation> {
    arcs.iter()
        .filter(|a| solution.value(a.y) > 0.5)
        .filter_map(|a| {
            let lines: Vec<(usize, u32)> = a
                .units
                .iter()
                .map(|u| (u.sku, solution.value(u.x).round().max(0.0) as u32))
                .filter(|&(_, qty)| qty > 0)
                .collect();
            (!lines.is_empty()).then_some(Allocation {
                order: a.order,
                node: a.node,
                service: a.service,
                lines,
            })
        })
        .collect()
}

/// The best greedy plan, as status `fallback`, with `reason` in its statistics.
fn fallback(net: &Network, reason: &str, mut stats: serde_json::Value, started: Instant) -> Plan {
    let mut plan = greedy::Policy::ALL
        .into_iter()
        .map(|p| assemble_plan(net, &greedy::allocate(net, p), NAME, PlanStatus::Fallback))
        .min_by(|a, b| a.objective.total_cmp(&b.objective))
        .unwrap_or_else(|| assemble_plan(net, &[], NAME, PlanStatus::Fallback));
    stats["fallback_reason"] = json!(reason);
    plan.solve_seconds = started.elapsed().as_secs_f64();
    plan.stats = Some(stats);
    plan
}
