//! The start of a solve: the greedy policies' best plan, which is the incumbent and
//! the fallback, and every order's fulfillment options with their exact cost.

use std::time::{Duration, Instant};

use super::model::binding_rows;
use super::option_list::options_by_order;
use super::options::{FulfillmentOption, Resource, add_incumbent_options, enumerate_options};
use super::stats::MipStats;
use crate::cost::Network;
use crate::domain::{Plan, PlanStatus};
use crate::solve::greedy::{self, Policy};
use crate::solve::{Allocation, assemble_plan};

/// The incumbent and the enumerated options.
pub(super) struct Start {
    /// The best greedy plan (status `fallback`).
    pub incumbent: Plan,
    /// Its allocations.
    pub incumbent_allocs: Vec<Allocation>,
    /// Every order's options and whether the list is complete; `None` when the
    /// budget ran out enumerating them.
    pub enumerated: Option<(Vec<FulfillmentOption>, bool)>,
}

/// Runs the greedy policies and enumerates every order's options; the two are
/// independent, so with a second thread they run side by side (each takes seconds
/// in the largest windows; docs/tuning.md). Their times go to `stats`.
pub(super) fn greedy_and_options(
    net: &Network,
    threads: u32,
    deadline: Instant,
    stats: &mut MipStats,
) -> Start {
    let best_greedy = || {
        let t = Instant::now();
        (best_greedy_plan(net), t.elapsed())
    };
    let enumerate = || {
        let t = Instant::now();
        (enumerate_options(net, deadline), t.elapsed())
    };
    let (((incumbent_allocs, incumbent), greedy_time), (enumerated, enumerate_time)): (
        ((Vec<Allocation>, Plan), Duration),
        _,
    ) = if threads > 1 {
        std::thread::scope(|s| {
            let greedy = s.spawn(best_greedy);
            let enumerated = enumerate();
            (greedy.join().expect("greedy policies"), enumerated)
        })
    } else {
        (best_greedy(), enumerate())
    };
    stats.incumbent_objective = incumbent.objective;
    stats.greedy_seconds = greedy_time.as_secs_f64();
    stats.enumeration_seconds = enumerate_time.as_secs_f64();
    Start {
        incumbent,
        incumbent_allocs,
        enumerated,
    }
}

/// The cheapest plan of the greedy policies, with its allocations.
fn best_greedy_plan(net: &Network) -> (Vec<Allocation>, Plan) {
    Policy::ALL
        .iter()
        .map(|&p| {
            let allocs = greedy::allocate(net, p);
            let plan = assemble_plan(net, &allocs, "mip", PlanStatus::Fallback);
            (allocs, plan)
        })
        .min_by(|a, b| a.1.objective.total_cmp(&b.1.objective))
        .expect("three policies")
}

/// The option list the ascent starts from: the enumerated options and the
/// incumbent's, grouped by order, with the rows that can bind.
pub(super) struct Listed {
    /// Every option.
    pub options: Vec<FulfillmentOption>,
    /// Whether enumeration listed every option of every order.
    pub complete: bool,
    /// Option indices of each order, cheapest first.
    pub by_order: Vec<Vec<usize>>,
    /// The resource rows that can bind, with their capacities.
    pub rows: Vec<(Resource, f64)>,
    /// The unfilled penalty of the whole window, every unit unserved: the constant
    /// the model's costs (savings against shipping nothing) leave out.
    pub total_penalty: f64,
}

impl Listed {
    /// Adds the incumbent's options to `options` and groups them.
    pub fn new(
        net: &Network,
        incumbent_allocs: &[Allocation],
        mut options: Vec<FulfillmentOption>,
        complete: bool,
    ) -> Self {
        add_incumbent_options(net, incumbent_allocs, &mut options);
        let by_order = options_by_order(net, &options);
        let total_penalty = total_unfilled_penalty(net);
        let rows = binding_rows(net, &options, &by_order);
        Listed {
            options,
            complete,
            by_order,
            rows,
            total_penalty,
        }
    }
}

/// The unfilled penalty of the whole window, every unit unserved: the constant
/// the model's costs (savings against shipping nothing) leave out.
pub(super) fn total_unfilled_penalty(net: &Network) -> f64 {
    (0..net.order_count())
        .map(|o| net.unit_penalty(o) * net.lines[o].iter().map(|&(_, q)| f64::from(q)).sum::<f64>())
        .sum()
}
