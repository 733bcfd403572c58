//! The MIP solver: the whole window as one set-packing model over per-order
//! fulfillment options, solved with HiGHS (formulation in `docs/solver.md`).
//!
//! [`solve`] runs a pipeline of phases inside one wall-clock budget, each in a file
//! named for it, over one [`Search`] state:
//! 1. `start`: the greedy policies' best plan (the incumbent and the fallback) and
//!    every order's fulfillment options with their exact cost;
//! 2. `schedule`: which path the window takes and each phase's share of the budget;
//! 3. `ascent`: the Lagrangian ascent prices the resource rows; each slice gives a
//!    bound valid for the whole problem and best responses that join the options;
//! 4. `colgen`: column generation over a restricted master LP (kept warm in HiGHS
//!    by `master::LpSession`), with cover and {0, 1/2}-cuts, or in large windows
//!    the node LP over each order's nearly tied options;
//! 5. `rounding`: price-directed roundings of the ascent and the LP into plans;
//! 6. `proof`: HiGHS MIPs from the best plan, first over the LP's undecided
//!    orders, then over every option within a reduced-cost room of the bound,
//!    whose own bound then holds for the whole problem;
//! 7. `local`: ejection chains, and in large windows neighbourhood search
//!    (`lns`), while the ascent may go on on the spare core;
//! 8. the best plan wins, with its status, bound and statistics.
//!
//! The tuning parameters are [`MipParams`] (`params.rs`).

mod ascent;
mod bound;
mod colgen;
mod cuts;
mod lagrange;
mod lns;
mod local;
mod master;
mod model;
mod option_list;
mod options;
mod packed;
mod parallel;
mod params;
mod prices;
mod primal;
mod proof;
mod rounding;
mod schedule;
mod start;
mod stats;
mod stop;

use std::time::{Duration, Instant};

use crate::cost::Network;
use crate::domain::{Plan, PlanStatus};
use crate::solve::{Allocation, Leftovers, SolveOptions};
use ascent::BestBound;
use model::{Duals, Model};
use options::{FulfillmentOption, Resource};
pub use params::MipParams;
use prices::Prices;
use schedule::Schedule;
pub use stats::MipStats;
pub(crate) use stop::SchedulerRelease;

/// Reduced cost below which an option improves the master.
const RC_EPS: f64 = 1e-6;

/// Solves the window; never fails: without a better plan it returns the best
/// greedy plan with status `fallback`. Large working memory goes to `leftovers`
/// for the caller to free when it suits it.
pub fn solve(
    net: &Network,
    opts: &SolveOptions,
    started: Instant,
    leftovers: &mut Leftovers,
) -> Plan {
    let deadline = started + opts.time_limit;
    let mut laps = Laps::new();
    let mut stats = MipStats::default();
    let mut start = start::greedy_and_options(net, opts.threads, deadline, &mut stats);
    let Some((options, complete)) = start.enumerated.take() else {
        stats.fallback_reason = Some("time budget spent enumerating options".into());
        return finish(start.incumbent, None, stats, opts, started);
    };
    stats.options = Some(options.len());
    if Instant::now() + model::FINISH_MARGIN >= deadline {
        stats.mip_status = Some("skipped: no time left after enumeration".into());
        let best = start.incumbent.clone();
        return conclude(best, start.incumbent, false, None, stats, opts, started);
    }
    let listed = start::Listed::new(net, &start.incumbent_allocs, options, complete);
    stats.resource_rows = Some(listed.rows.len());
    stats.enumerate_seconds = Some(laps.lap());
    if Instant::now() + model::FINISH_MARGIN >= deadline {
        stats.mip_status = Some("skipped: no time left after enumeration".into());
        let best = start.incumbent.clone();
        return conclude(best, start.incumbent, false, None, stats, opts, started);
    }
    let mut s = Search::new(net, opts, started, start, listed, stats, laps);
    s.ascend();
    if !s.cancelled() {
        s.column_generation();
    }
    s.round();
    if Instant::now() + model::FINISH_MARGIN >= deadline || s.cancelled() {
        s.stats.mip_status = Some("skipped: no time left".into());
        let best = cheaper(s.best_plan, s.set_aside);
        let (stats, lb) = (s.stats, s.lower_bound);
        return conclude(best, s.incumbent, false, lb, stats, opts, started);
    }
    s.prove();
    if !s.cancelled() {
        s.local_search();
    }
    s.conclude(leftovers)
}

/// The state the phases share: the option list, the prices and bounds found so
/// far, the LP master's last solution and the best plan.
struct Search<'a> {
    net: &'a Network<'a>,
    opts: &'a SolveOptions,
    /// The tuning parameters (`opts.mip`).
    p: &'a MipParams,
    started: Instant,
    /// The end of the whole budget.
    deadline: Instant,
    /// What each phase did.
    stats: MipStats,
    laps: Laps,
    /// Which path the window takes.
    sched: Schedule,
    /// The best greedy plan, and its allocations.
    incumbent: Plan,
    incumbent_allocs: Vec<Allocation>,
    /// Every known option; grows as phases find more.
    options: Vec<FulfillmentOption>,
    /// Whether enumeration listed every option of every order.
    complete: bool,
    /// Option indices of each order.
    by_order: Vec<Vec<usize>>,
    /// The resource rows that can bind, with their capacities.
    rows: Vec<(Resource, f64)>,
    /// The unfilled penalty of the whole window (the model's constant).
    total_penalty: f64,
    /// Per-node terms of the Lagrangian bound.
    node_terms: bound::NodeTerms,
    /// Zero prices over `rows`, with their row index.
    zero_prices: Prices,
    /// The ascent's pool of columns.
    pool: lagrange::Pool,
    /// The ascent's current prices.
    prices: Prices,
    /// The ascent's target: the incumbent's objective less the constant.
    target: f64,
    /// The best proved lower bound, with the constant.
    lower_bound: Option<f64>,
    /// The prices of the best Lagrangian bound, with its value and each order's minimum.
    best_bound: Option<BestBound>,
    /// Slices in a row whose bound stalled.
    stalled: usize,
    /// Seconds spent on global bounds during the ascent, and how many.
    bound_seconds: f64,
    bounds: usize,
    /// The last ascent slice's votes per option, and its steps.
    last_votes: (Vec<(usize, u32)>, usize),
    /// Each order's pool columns by reduced cost at the ascent's prices, cheapest first.
    ascent_ranked: Vec<Vec<(f64, usize)>>,
    /// Options in the current master.
    included: Vec<bool>,
    /// The last LP master solved, its duals and its solution.
    last_lp: Option<(Model, Duals, Vec<f64>)>,
    /// Where the ascent beside the node LP stopped.
    beside_prices: Option<Prices>,
    /// The best plan so far, and its allocations.
    best_plan: Plan,
    best_allocs: Vec<Allocation>,
    /// A plan cheaper than the one local search starts from.
    set_aside: Option<Plan>,
    /// What turning a choice into a plan took.
    assemble_time: Duration,
    /// Each option's reduced cost at the ascent's prices (infinite outside the pool).
    ascent_rc: Vec<f64>,
    /// Whether a MIP finished (optimal or at its target).
    mip_finished: bool,
}

impl<'a> Search<'a> {
    /// The state after enumeration: the incumbent is the best plan; the ascent's
    /// pool holds every option at zero prices.
    fn new(
        net: &'a Network<'a>,
        opts: &'a SolveOptions,
        started: Instant,
        start: start::Start,
        listed: start::Listed,
        mut stats: MipStats,
        laps: Laps,
    ) -> Self {
        let p = &opts.mip;
        let sched = Schedule::new(net.order_count(), opts, p, started);
        let t = Instant::now();
        let node_terms = bound::NodeTerms::new(net, opts.threads as usize);
        stats.node_terms_seconds = Some(t.elapsed().as_secs_f64());
        let zero_prices = Prices::zero(&listed.rows);
        let mut pool = lagrange::Pool::new(net.order_count(), &zero_prices, opts.threads as usize);
        pool.extend(listed.options.iter().enumerate(), &zero_prices);
        let target = start.incumbent.objective - listed.total_penalty;
        Search {
            net,
            opts,
            p,
            started,
            deadline: started + opts.time_limit,
            stats,
            laps,
            sched,
            best_plan: start.incumbent.clone(),
            best_allocs: start.incumbent_allocs.clone(),
            incumbent: start.incumbent,
            incumbent_allocs: start.incumbent_allocs,
            options: listed.options,
            complete: listed.complete,
            by_order: listed.by_order,
            rows: listed.rows,
            total_penalty: listed.total_penalty,
            node_terms,
            prices: zero_prices.clone(),
            zero_prices,
            pool,
            target,
            lower_bound: None,
            best_bound: None,
            stalled: 0,
            bound_seconds: 0.0,
            bounds: 0,
            last_votes: (Vec::new(), 0),
            ascent_ranked: Vec::new(),
            included: Vec::new(),
            last_lp: None,
            beside_prices: None,
            set_aside: None,
            assemble_time: Duration::ZERO,
            ascent_rc: Vec::new(),
            mip_finished: false,
        }
    }

    /// Whether the caller raised `opts.cancel`: the phases then stop early and the
    /// best plan so far is returned.
    fn cancelled(&self) -> bool {
        self.opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Raises the lower bound to `lb` if that is higher.
    fn raise_bound(&mut self, lb: f64) {
        self.lower_bound = Some(self.lower_bound.map_or(lb, |b| b.max(lb)));
    }

    /// Takes `plan` (from `allocs`) as the best when it is cheaper.
    fn offer(&mut self, plan: Plan, allocs: Vec<Allocation>) {
        if plan.objective < self.best_plan.objective {
            self.best_plan = plan;
            self.best_allocs = allocs;
        }
    }

    /// The final plan with its status and bound; the working memory goes to
    /// `leftovers`. A plan the bound proves optimal is no fallback, even where no
    /// MIP ran (small windows whose room MIPs the bound made unnecessary).
    fn conclude(self, leftovers: &mut Leftovers) -> Plan {
        let best_plan = cheaper(self.best_plan, self.set_aside);
        let proved = self
            .lower_bound
            .is_some_and(|lb| relative_gap(best_plan.objective, lb) <= self.opts.gap);
        let plan = conclude(
            best_plan,
            self.incumbent,
            self.mip_finished || proved,
            self.lower_bound,
            self.stats,
            self.opts,
            self.started,
        );
        // Freeing millions of options takes a noticeable part of a second on big
        // windows: the caller chooses when (after writing the plan, or never in a
        // process about to exit).
        let big = (self.ascent_ranked, self.ascent_rc, self.node_terms);
        let more = (
            self.best_bound,
            self.included,
            self.zero_prices,
            self.prices,
        );
        let allocations = (self.incumbent_allocs, self.best_allocs);
        leftovers.keep((self.options, self.by_order, self.pool, self.last_lp));
        leftovers.keep((big, more, allocations, self.rows));
        plan
    }
}

/// Phase timings: each lap is one phase's seconds.
struct Laps(Instant);

impl Laps {
    fn new() -> Self {
        Laps(Instant::now())
    }

    /// The seconds since the last lap; starts the next.
    fn lap(&mut self) -> f64 {
        let seconds = self.0.elapsed().as_secs_f64();
        self.0 = Instant::now();
        seconds
    }
}

/// The plan as returned: its bound (at most its objective), gap, status (unless
/// `fallback`), solve time and statistics.
fn finish(
    mut plan: Plan,
    lower_bound: Option<f64>,
    mut stats: MipStats,
    opts: &SolveOptions,
    started: Instant,
) -> Plan {
    let lb = lower_bound.map(|lb| lb.min(plan.objective));
    let gap = lb.map(|lb| relative_gap(plan.objective, lb));
    if plan.status != PlanStatus::Fallback {
        plan.status = if gap.is_some_and(|g| g <= opts.gap) {
            PlanStatus::Optimal
        } else {
            PlanStatus::Feasible
        };
    }
    stats.gap = gap;
    plan.lower_bound = lb;
    plan.solve_seconds = started.elapsed().as_secs_f64();
    plan.stats = Some(stats.to_json());
    plan
}

/// The final choice: the best plan, unless the budget ran out before anything beat
/// the greedy incumbent (and no MIP finished nor the bound proved it), which is then
/// returned as `fallback`.
fn conclude(
    mut best_plan: Plan,
    incumbent: Plan,
    mip_finished: bool,
    lower_bound: Option<f64>,
    mut stats: MipStats,
    opts: &SolveOptions,
    started: Instant,
) -> Plan {
    if best_plan.objective >= incumbent.objective && !mip_finished {
        let mut plan = incumbent;
        plan.status = PlanStatus::Fallback;
        stats.fallback_reason =
            Some("no plan better than the greedy incumbent within the time budget".into());
        return finish(plan, lower_bound, stats, opts, started);
    }
    best_plan.status = PlanStatus::Feasible;
    finish(best_plan, lower_bound, stats, opts, started)
}

/// The cheaper of `plan` and `other`.
fn cheaper(plan: Plan, other: Option<Plan>) -> Plan {
    match other {
        Some(other) if other.objective < plan.objective => other,
        _ => plan,
    }
}

/// How far `objective` lies above `lower_bound`, relative to the objective (the
/// `gap` that `--gap` is compared with).
fn relative_gap(objective: f64, lower_bound: f64) -> f64 {
    (objective - lower_bound) / objective.abs().max(1e-9)
}

#[cfg(test)]
mod tests;
