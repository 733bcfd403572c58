//! Which path a window takes through the pipeline, and each phase's share of the
//! budget, from its size and the budget alone.

use std::time::Instant;

use super::params::MipParams;
use crate::solve::SolveOptions;

/// The window's path and the phases' deadlines.
pub(super) struct Schedule {
    /// More than `lp_max_orders` orders: more ascent, relax-and-cut, fixed orders
    /// in the first MIP, neighbourhood search.
    pub large: bool,
    /// More than `huge_orders` orders: no column generation at all.
    pub huge: bool,
    /// Column generation is predicted to fit at least `min_rounds` rounds.
    pub lp_pays: bool,
    /// Large windows that column generation does not pay for solve the node LP over the
    /// options the ascent finds nearly tied, beside the ascent on the other thread.
    pub node_lp: bool,
    /// The rounds column generation must fit to run.
    pub min_rounds: f64,
    /// The predicted seconds of one round of column generation.
    pub round_seconds: f64,
    /// When the ascent stops.
    pub ascent_deadline: Instant,
    /// When column generation stops (and the ascent's bounds are cut off).
    pub cg_deadline: Instant,
}

impl Schedule {
    /// The schedule of a window of `orders` orders solved from `started`.
    pub fn new(orders: usize, opts: &SolveOptions, p: &MipParams, started: Instant) -> Self {
        let large = orders > p.lp_max_orders;
        let huge = orders > p.huge_orders;
        // Column generation pays only when several rounds fit: the first master holds
        // about two options per order. Otherwise the ascent gets more of the budget
        // (its bound is then the plan's) and local search the rest.
        let share_left = p.cg_share
            - if large {
                p.ascent_share_large
            } else {
                p.ascent_share
            };
        let round_seconds = 2.0 * orders as f64 * p.lp_seconds_per_column;
        let min_rounds = if large {
            p.min_lp_rounds_large
        } else {
            p.min_lp_rounds
        };
        let lp_pays =
            !huge && round_seconds * min_rounds <= share_left * opts.time_limit.as_secs_f64();
        let node_lp = large && !lp_pays && !huge && opts.threads > 1;
        let ascent_share = match (large, lp_pays || huge) {
            (false, _) => p.ascent_share,
            (true, _) if huge => p.ascent_share_huge,
            (true, true) => p.ascent_share_large,
            (true, false) => p.ascent_share_without_lp,
        };
        Schedule {
            large,
            huge,
            lp_pays,
            node_lp,
            min_rounds,
            round_seconds,
            ascent_deadline: started + opts.time_limit.mul_f64(ascent_share),
            cg_deadline: started + opts.time_limit.mul_f64(p.cg_share),
        }
    }
}
