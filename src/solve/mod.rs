//! Solvers: turn an [`Instance`] into a [`Plan`].
//!
//! Every solver produces [`Allocation`]s (who ships what from where with which
//! service); [`assemble_plan`] prices them through [`crate::cost`], explains the
//! unfilled units and writes the `domopt.plan/1` document, so no solver prices
//! anything on its own.

pub mod arc;
pub mod focus;
pub mod greedy;
pub mod mip;

use std::time::Duration;

pub use crate::cost::Usage;
use crate::cost::{Network, ServiceChoice};
use crate::domain::{
    Instance, Line, PLAN_FORMAT, Plan, PlanStatus, Shipment, Unfilled, UnfilledReason,
};
use greedy::Policy;
pub use mip::MipParams;

/// Which solver runs and the options shared by all solvers.
#[derive(Debug, Clone)]
pub struct SolveOptions {
    /// The solver [`run`] uses.
    pub solver: Solver,
    /// Wall-clock budget for the whole solve, model building included.
    pub time_limit: Duration,
    /// Threads the MIP solver may use.
    pub threads: u32,
    /// Seed for any randomized choice.
    pub seed: u64,
    /// Relative MIP gap at which a plan counts as optimal.
    pub gap: f64,
    /// Where to write the MIP model (HiGHS picks the format from the extension,
    /// e.g. `.lp` or `.mps`); `None` writes nothing.
    pub write_model: Option<std::path::PathBuf>,
    /// Raised to stop the solve's HiGHS runs: each returns within milliseconds with
    /// what it has (the solve's other phases still keep to `time_limit`).
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// The MIP solver's tuning parameters.
    pub mip: MipParams,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            solver: Solver::Mip,
            time_limit: Duration::from_secs(10),
            threads: 1,
            seed: 0,
            gap: 1e-4,
            write_model: None,
            cancel: None,
            mip: MipParams::default(),
        }
    }
}

/// A solver: the MIP or one of the greedy policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Solver {
    /// The MIP over fulfillment options, solved with HiGHS ([`mip`]).
    #[default]
    Mip,
    /// The textbook arc formulation in good_lp, for small windows ([`arc`]).
    Arc,
    /// Greedy: the largest saving first.
    Cheapest,
    /// Greedy: the nearest node first.
    Closest,
    /// Greedy: the node covering the most units first.
    FewestSplits,
}

impl Solver {
    /// Every solver, in the order reports list them.
    pub const ALL: [Solver; 5] = [
        Solver::Mip,
        Solver::Arc,
        Solver::Cheapest,
        Solver::Closest,
        Solver::FewestSplits,
    ];

    /// The name the CLI's `--solver`, the HTTP API and plans use.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Mip => "mip",
            Solver::Arc => arc::NAME,
            Solver::Cheapest => Policy::Cheapest.name(),
            Solver::Closest => Policy::Closest.name(),
            Solver::FewestSplits => Policy::FewestSplits.name(),
        }
    }

    /// The greedy policy this solver runs, if it is one.
    fn policy(self) -> Option<Policy> {
        match self {
            Solver::Mip | Solver::Arc => None,
            Solver::Cheapest => Some(Policy::Cheapest),
            Solver::Closest => Some(Policy::Closest),
            Solver::FewestSplits => Some(Policy::FewestSplits),
        }
    }
}

impl std::fmt::Display for Solver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

impl std::str::FromStr for Solver {
    type Err = SolveError;

    fn from_str(name: &str) -> Result<Solver, SolveError> {
        Solver::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| SolveError::UnknownSolver(name.to_string()))
    }
}

/// Names accepted by [`solve`] and the CLI's `--solver`: [`Solver::name`] of each.
pub const SOLVER_NAMES: &[&str] = &["mip", "arc", "cheapest", "closest", "fewest-splits"];

/// Error from [`solve`].
#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    /// The solver name is not one of [`SOLVER_NAMES`].
    #[error("unknown solver \"{0}\"; expected one of: mip, arc, cheapest, closest, fewest-splits")]
    UnknownSolver(String),
}

/// Solves `instance` with the solver named `solver` (as the CLI and the HTTP API
/// name it) instead of `opts.solver`.
pub fn solve(instance: &Instance, solver: &str, opts: &SolveOptions) -> Result<Plan, SolveError> {
    solve_keeping_leftovers(instance, solver, opts).map(|(plan, _)| plan)
}

/// Solves `instance` with `opts.solver`. Never fails: a MIP that finds nothing
/// better within its budget returns the best greedy plan with status `fallback`.
pub fn run(instance: &Instance, opts: &SolveOptions) -> Plan {
    run_keeping_leftovers(instance, opts).0
}

/// Working memory a solve leaves behind (hundreds of MiB on 100,000-order windows,
/// and a noticeable part of a second to free). Dropping it frees it; a process
/// about to exit may `std::mem::forget` it and let the system reclaim it at once.
#[derive(Default)]
pub struct Leftovers(Vec<Box<dyn Send>>);

impl Leftovers {
    /// Keeps `memory` until the leftovers are dropped.
    pub(crate) fn keep(&mut self, memory: impl Send + 'static) {
        self.0.push(Box::new(memory));
    }
}

/// [`solve`], handing back the solver's working memory for the caller to free
/// after the plan is out (every thread the solve started has ended by then).
pub fn solve_keeping_leftovers(
    instance: &Instance,
    solver: &str,
    opts: &SolveOptions,
) -> Result<(Plan, Leftovers), SolveError> {
    let opts = SolveOptions {
        solver: solver.parse()?,
        ..opts.clone()
    };
    Ok(run_keeping_leftovers(instance, &opts))
}

/// [`run`], handing back the solver's working memory (see [`Leftovers`]).
pub fn run_keeping_leftovers(instance: &Instance, opts: &SolveOptions) -> (Plan, Leftovers) {
    let started = std::time::Instant::now();
    let focused = focus::ordered_skus_only(instance);
    let instance = focused.as_ref().unwrap_or(instance);
    let net = Network::new(instance);
    let mut leftovers = Leftovers::default();
    let plan = match (opts.solver, opts.solver.policy()) {
        (Solver::Arc, _) => arc::solve(&net, opts, started),
        (_, None) => mip::solve(&net, opts, started, &mut leftovers),
        (_, Some(policy)) => {
            let allocations = greedy::allocate(&net, policy);
            let mut plan = assemble_plan(&net, &allocations, policy.name(), PlanStatus::Feasible);
            plan.solve_seconds = started.elapsed().as_secs_f64();
            plan
        }
    };
    (plan, leftovers)
}

/// One shipment decided by a solver, before pricing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Allocation {
    /// Order index.
    pub order: usize,
    /// Node index.
    pub node: usize,
    /// Service.
    pub service: ServiceChoice,
    /// (sku index, qty) shipped, qty ≥ 1.
    pub lines: Vec<(usize, u32)>,
}

impl Allocation {
    /// Units in the shipment.
    pub fn units(&self) -> u32 {
        self.lines.iter().map(|&(_, q)| q).sum()
    }

    /// The shipment's price under the cost model; `None` if it is not allowed.
    pub fn price(&self, net: &Network) -> Option<crate::cost::ShipmentPrice> {
        let weight = net.weight(self.lines.iter().copied());
        let zone = net.lane(self.order, self.node).zone;
        net.price(
            self.order,
            self.node,
            zone,
            self.service,
            self.units(),
            weight,
        )
    }
}

/// Why `qty` units of `sku` in `order` stay unfilled, given the usage after the whole
/// plan and the nodes the order already ships from. The checks run from the most to
/// the least fundamental cause.
pub fn unfilled_reason(
    net: &Network,
    usage: &Usage,
    order: usize,
    sku: usize,
    used_nodes: &[usize],
) -> UnfilledReason {
    let o = net.order(order);
    let candidates: Vec<usize> = match net.pickup[order] {
        Some(p) => vec![p],
        None => (0..net.node_count()).collect(),
    };
    let with_stock: Vec<usize> = candidates
        .into_iter()
        .filter(|&n| usage.stock_left(n, sku) > 0)
        .collect();
    if with_stock.is_empty() {
        return UnfilledReason::NoStock;
    }
    let servable: Vec<usize> = with_stock
        .into_iter()
        .filter(|&n| net.can_serve(order, n, net.lane(order, n).zone))
        .collect();
    if servable.is_empty() {
        return UnfilledReason::Sla;
    }
    let with_capacity: Vec<usize> = servable
        .into_iter()
        .filter(|&n| usage.units[n] > 0 && (usage.shipments[n] > 0 || used_nodes.contains(&n)))
        .collect();
    if with_capacity.is_empty() {
        return UnfilledReason::NoCapacity;
    }
    let at_limit = o
        .max_shipments
        .is_some_and(|m| used_nodes.len() >= m as usize);
    if at_limit && !with_capacity.iter().any(|n| used_nodes.contains(n)) {
        return UnfilledReason::MaxShipments;
    }
    if o.ship_complete {
        return UnfilledReason::ShipComplete;
    }
    UnfilledReason::Cost
}

/// Prices `allocations`, lists the unfilled units with reasons and computes the
/// objective. `solve_seconds` and `lower_bound` are left for the caller to set.
pub fn assemble_plan(
    net: &Network,
    allocations: &[Allocation],
    solver: &str,
    status: PlanStatus,
) -> Plan {
    let inst = net.instance;
    let mut usage = Usage::new(net);
    let mut per_order: Vec<Vec<&Allocation>> = vec![Vec::new(); net.order_count()];
    for a in allocations {
        usage.take(a.node, &a.lines);
        per_order[a.order].push(a);
    }
    let mut shipments = Vec::with_capacity(allocations.len());
    let mut unfilled = Vec::new();
    let mut objective = 0.0;
    for (order, allocs) in per_order.iter().enumerate() {
        let o = net.order(order);
        objective += net.split_cost(allocs.len());
        for a in allocs {
            let price = a
                .price(net)
                .expect("solvers allocate only allowed shipments");
            objective += price.cost;
            shipments.push(Shipment {
                order: o.id.clone(),
                node: inst.nodes[a.node].id.clone(),
                service: net.service_name(a.service).to_string(),
                delivery_days: price.delivery_days,
                lines: a
                    .lines
                    .iter()
                    .map(|&(s, q)| Line {
                        sku: inst.skus[s].id.clone(),
                        qty: q,
                    })
                    .collect(),
                cost: price.cost,
            });
        }
        let used: Vec<usize> = allocs.iter().map(|a| a.node).collect();
        for &(sku, qty) in &net.lines[order] {
            let shipped: u32 = allocs
                .iter()
                .flat_map(|a| a.lines.iter())
                .filter(|&&(s, _)| s == sku)
                .map(|&(_, q)| q)
                .sum();
            let missing = qty.saturating_sub(shipped);
            if missing > 0 {
                objective += net.unit_penalty(order) * missing as f64;
                unfilled.push(Unfilled {
                    order: o.id.clone(),
                    sku: inst.skus[sku].id.clone(),
                    qty: missing,
                    reason: unfilled_reason(net, &usage, order, sku, &used),
                });
            }
        }
    }
    Plan {
        format: PLAN_FORMAT.to_string(),
        instance: inst.name.clone(),
        solver: solver.to_string(),
        status,
        objective,
        lower_bound: None,
        solve_seconds: 0.0,
        shipments,
        unfilled,
        stats: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solver_names_are_the_enum_names_and_parse_back() {
        let names: Vec<&str> = Solver::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, SOLVER_NAMES);
        for s in Solver::ALL {
            assert_eq!(s.name().parse::<Solver>().unwrap(), s);
        }
        assert!("magic".parse::<Solver>().is_err());
    }
}
