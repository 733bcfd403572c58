//! The rounding phase: plans from fractional solutions. A price-directed plan from
//! the ascent's reduced costs (or the rounding of its averaged best responses), and
//! the rounding of the last LP master; the cheapest becomes the best plan.

use std::time::Instant;

use super::Search;
use super::model::Model;
use super::options::FulfillmentOption;
use super::primal::{self, fits};
use crate::cost::Network;
use crate::domain::PlanStatus;
use crate::solve::{Allocation, Usage, assemble_plan};

impl Search<'_> {
    /// Rounds the ascent's prices and the last LP into plans and keeps the best.
    pub(super) fn round(&mut self) {
        self.ascent_rc = vec![f64::INFINITY; self.options.len()];
        for &(r, j) in self.ascent_ranked.iter().flatten() {
            self.ascent_rc[j] = r;
        }
        self.price_directed();
        if self.last_lp.is_some() && Instant::now() < self.deadline {
            self.round_last_lp();
        }
        self.stats.rounding_seconds = Some(self.laps.lap());
    }

    /// The price-directed plan at the ascent's reduced costs, or the rounding of
    /// the last slice's averaged best responses when that is cheaper.
    fn price_directed(&mut self) {
        let (net, options, by_order) = (self.net, &self.options, &self.by_order);
        let rc = &self.ascent_rc;
        let mut choice = primal::price_directed(net, options, by_order, &|j| rc[j]);
        primal::improve(net, options, by_order, &mut choice, self.deadline);
        let (votes, voted_steps) = &self.last_votes;
        if *voted_steps > 0 {
            let mut share = vec![0.0; options.len()];
            for &(j, v) in votes {
                share[j] = f64::from(v) / *voted_steps as f64;
            }
            let mut voted = round_by_value(net, options, by_order, &share, rc);
            primal::improve(net, options, by_order, &mut voted, self.deadline);
            let cost = |c: &primal::Choice| -> f64 {
                c.iter().flatten().map(|&j| options[j].saving_cost).sum()
            };
            self.stats.vote_rounded_saving = Some(cost(&voted));
            self.stats.price_directed_saving = Some(cost(&choice));
            if cost(&voted) < cost(&choice) {
                choice = voted;
            }
        }
        let directed = primal::allocations(options, &choice);
        let assembling = Instant::now();
        let plan = assemble_plan(net, &directed, "mip", PlanStatus::Feasible);
        self.assemble_time = assembling.elapsed();
        self.stats.price_directed_objective = Some(plan.objective);
        self.offer(plan, directed);
    }

    /// The rounding of the last LP, ties broken by its duals' reduced costs (the
    /// ascent's on the node LP's path, whose duals price the node rows only).
    fn round_last_lp(&mut self) {
        let Some((master, duals, lp_x)) = &self.last_lp else {
            return;
        };
        let node_lp = self.sched.node_lp;
        let dual_rc: Vec<f64>;
        let rc = if node_lp {
            &self.ascent_rc
        } else {
            dual_rc = self.options.iter().map(|o| duals.reduced_cost(o)).collect();
            &dual_rc
        };
        let rounded = round_lp(self.net, master, lp_x, rc, &self.options, &self.by_order);
        let plan = assemble_plan(self.net, &rounded, "mip", PlanStatus::Feasible);
        self.stats.rounded_objective = Some(plan.objective);
        // On the node LP's path local search starts from the rounding even when the
        // price-directed plan is cheaper: it ends lower from there (measurements in
        // `docs/tuning.md`). The cheaper plan is kept aside.
        let start_here = node_lp && plan.objective < self.incumbent.objective;
        if plan.objective < self.best_plan.objective || start_here {
            if self.best_plan.objective < plan.objective {
                self.set_aside = Some(std::mem::replace(&mut self.best_plan, plan));
            } else {
                self.best_plan = plan;
            }
            self.best_allocs = rounded;
        }
    }
}

/// Price-directed rounding of the LP `lp_x` over `master`'s columns, ties broken
/// by the reduced costs `rc` per option (see [`round_by_value`]).
pub(super) fn round_lp(
    net: &Network,
    master: &Model,
    lp_x: &[f64],
    rc: &[f64],
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
) -> Vec<Allocation> {
    let mut lp_value = vec![0.0; options.len()];
    for (&j, &x) in master.option_ids.iter().zip(lp_x) {
        lp_value[j] = x;
    }
    primal::allocations(
        options,
        &round_by_value(net, options, by_order, &lp_value, rc),
    )
}

/// Rounding of a fractional solution `value` (per option: the LP's value, or the
/// share of ascent steps whose best response it was): orders served most decidedly
/// go first; each takes the option with the largest value (then the lowest
/// reduced cost `rc`) that still fits the stock and capacity left, or nothing.
pub(super) fn round_by_value(
    net: &Network,
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    value: &[f64],
    rc: &[f64],
) -> primal::Choice {
    let decided = |o: usize| by_order[o].iter().map(|&j| value[j]).fold(0.0, f64::max);
    let mut order_seq: Vec<usize> = (0..net.order_count()).collect();
    order_seq.sort_by(|&a, &b| decided(b).total_cmp(&decided(a)).then(a.cmp(&b)));
    let mut usage = Usage::new(net);
    let mut choice: primal::Choice = vec![None; net.order_count()];
    for o in order_seq {
        let mut candidates: Vec<(f64, f64, usize)> =
            by_order[o].iter().map(|&j| (value[j], rc[j], j)).collect();
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.total_cmp(&b.1)));
        if let Some(&(_, _, j)) = candidates
            .iter()
            .find(|&&(_, _, j)| fits(&usage, &options[j]))
        {
            for a in &options[j].shipments {
                usage.take(a.node, &a.lines);
            }
            choice[o] = Some(j);
        }
    }
    choice
}
