//! The column-generation phase: a restricted master LP starts from the options the
//! ascent's prices favour; its duals price every option and the ones with negative
//! reduced cost join the master until none is left, each round's duals giving a
//! lower bound too. Once it converges, cover and {0, 1/2}-cuts the LP violates
//! join the master. Large windows where the rounds do not fit solve the node LP over
//! each order's nearly tied options instead (`node_master`).

use std::collections::HashSet;
use std::time::Instant;

use super::ascent::{Targets, keep_best_bound, lp_beside_ascent};
use super::cuts::{self, Cut};
use super::master::LpSession;
use super::model::{Duals, HighsRun, Model, build_model, run_guarded};
use super::option_list::{add_responses, group_by_order};
use super::options::{FulfillmentOption, Resource};
use super::prices::Prices;
use super::stats::ShadowPrice;
use super::{RC_EPS, Search, bound};
use crate::cost::Network;

/// Column generation's working state between rounds.
struct Rounds {
    /// The master kept warm in HiGHS (windows up to `lp_max_orders`).
    session: Option<LpSession>,
    /// The cuts in the master, and every cut ever separated.
    cuts: Vec<Cut>,
    known_cuts: HashSet<Cut>,
    /// Rounds so far, and rounds that added cuts.
    rounds: usize,
    cut_rounds: usize,
    lp_seconds: f64,
    pricing_seconds: f64,
    separation_seconds: f64,
    /// When the rounds must stop.
    deadline: Instant,
    /// Cuts are separated only before `cut_start_by`, and rounds with cuts go on
    /// only until `cut_phase_end`.
    cut_start_by: Instant,
    cut_phase_end: Instant,
}

impl Search<'_> {
    /// Runs column generation (or the node LP) unless the budget says it cannot pay;
    /// the last master solved, its duals and solution are kept in `last_lp`.
    pub(super) fn column_generation(&mut self) {
        let (p, started, limit) = (self.p, self.started, self.opts.time_limit);
        self.select_first_master();
        let node_lp = self.sched.node_lp;
        let deadline = if node_lp {
            started + limit.mul_f64(p.node_lp_share)
        } else {
            self.sched.cg_deadline
        };
        let skip = self.skip_reason(deadline);
        if let Some(reason) = &skip {
            self.stats.cg_skipped = Some(reason.clone());
        }
        // Windows up to `lp_max_orders` keep their master in HiGHS between rounds,
        // solved by simplex from the last basis; larger masters keep interior
        // point, which solves them faster than a cold simplex.
        let session = (!self.sched.large)
            .then(|| LpSession::new(self.net.order_count(), &self.rows, self.opts.cancel.clone()));
        let mut r = Rounds {
            session,
            cuts: Vec::new(),
            known_cuts: HashSet::new(),
            rounds: 0,
            cut_rounds: 0,
            lp_seconds: 0.0,
            pricing_seconds: 0.0,
            separation_seconds: 0.0,
            deadline,
            cut_start_by: started + limit.mul_f64(p.cut_start_share),
            cut_phase_end: started + limit.mul_f64(p.cut_phase_share),
        };
        while (r.rounds < p.max_rounds
            || (r.cut_rounds > 0
                && r.rounds < p.max_rounds_with_cuts
                && Instant::now() < r.cut_phase_end))
            && Instant::now() < r.deadline
            && skip.is_none()
            && !self.cancelled()
        {
            if !self.round_of_pricing(&mut r) {
                break;
            }
        }
        self.record_rounds(&r);
    }

    /// The first master: each order's cheapest option, the cheapest few by reduced
    /// cost at the ascent's prices (on the node LP's path, every option nearly tied
    /// with the best), and the incumbent's.
    fn select_first_master(&mut self) {
        let p = self.p;
        self.included = vec![false; self.options.len()];
        let (per_order, window) = if self.sched.node_lp {
            (usize::MAX, p.node_lp_rc_room)
        } else {
            (p.initial_options_per_order, p.initial_rc_room)
        };
        for (ids, cols) in self.by_order.iter().zip(&self.ascent_ranked) {
            if let Some(&j) = ids.first() {
                self.included[j] = true;
            }
            let cheapest = cols.first().map_or(0.0, |c| c.0);
            for &(_, j) in cols
                .iter()
                .take(per_order)
                .filter(|c| c.0 <= cheapest + window)
            {
                self.included[j] = true;
            }
        }
        let incumbent_by_order = group_by_order(self.net, &self.incumbent_allocs);
        for (j, o) in self.options.iter().enumerate() {
            if !o.shipments.is_empty() && o.shipments == incumbent_by_order[o.order] {
                self.included[j] = true;
            }
        }
    }

    /// Why column generation is skipped, if it is: huge windows (from each order's
    /// cheapest option a few rounds leave the LP far from converged, and ejection
    /// chains from the ascent's plan do better with the time), too few rounds
    /// fitting the budget, or a first master predicted not to solve by `deadline`.
    fn skip_reason(&self, deadline: Instant) -> Option<String> {
        let (p, sched) = (self.p, &self.sched);
        let first_master = self.included.iter().filter(|&&b| b).count();
        let per_column = if sched.node_lp {
            p.node_lp_seconds_per_column
        } else {
            p.lp_seconds_per_column
        };
        let predicted = first_master as f64 * per_column;
        let lp_time = deadline.saturating_duration_since(Instant::now());
        if sched.huge {
            Some(format!("window over {} orders", p.huge_orders))
        } else if !sched.lp_pays && !sched.node_lp {
            Some(format!(
                "fewer than {} rounds of about {:.1} s fit the budget",
                sched.min_rounds, sched.round_seconds
            ))
        } else {
            (predicted > lp_time.as_secs_f64()).then(|| {
                format!(
                    "first master of {first_master} columns predicted at {predicted:.1} s, {:.1} s left",
                    lp_time.as_secs_f64()
                )
            })
        }
    }

    /// One round: solves the master, takes its bound, prices options into it and
    /// separates cuts. Returns whether another round may follow.
    fn round_of_pricing(&mut self, r: &mut Rounds) -> bool {
        let net = self.net;
        r.rounds += 1;
        let ids: Vec<usize> = match r.session.as_mut() {
            Some(s) => {
                s.sync(&self.options, &self.included, &r.cuts);
                s.option_ids.clone()
            }
            None => (0..self.options.len())
                .filter(|&j| self.included[j])
                .collect(),
        };
        let master = if self.sched.node_lp {
            node_master(
                net.order_count(),
                &self.rows,
                &self.prices,
                &self.options,
                &ids,
            )
        } else {
            let mut m = build_model(net.order_count(), self.rows.clone(), &self.options, &ids);
            m.add_cuts(&r.cuts, &self.options);
            m
        };
        let t = Instant::now();
        let Some(lp) = self.solve_master(r, &master) else {
            return false;
        };
        r.lp_seconds += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let Some(row_duals) = lp.row_duals else {
            return false;
        };
        let duals = master.duals(&row_duals);
        if self.sched.node_lp {
            // One LP only: its rounding is what it is for. (Its value, with stock
            // priced over a few options per order, bounds nothing.)
            self.stats.node_lp_objective = Some(self.total_penalty + lp.objective);
            self.last_lp = Some((master, duals, lp.columns));
            return false;
        }
        let threads = self.opts.threads as usize;
        let Some(mut bound) =
            bound::lagrangian_bound(net, &self.node_terms, &duals.prices, threads, r.deadline)
        else {
            return false;
        };
        if !r.cuts.is_empty() {
            cuts::raise_bound(
                net,
                &self.node_terms,
                &duals.prices,
                &duals.cuts,
                &mut bound,
                threads,
                r.deadline,
            );
        }
        let lb = self.total_penalty + bound.value;
        let responses =
            keep_best_bound(&mut self.best_bound, lb, &duals.prices, &duals.cuts, bound);
        self.raise_bound(lb);
        self.stats.lp_objective = Some(self.total_penalty + lp.objective);
        let new = add_responses(
            net,
            &responses,
            &mut self.options,
            &mut self.by_order,
            &|o| duals.reduced_cost(o) < -RC_EPS,
        );
        self.included.resize(self.options.len(), false);
        let priced = price_options(
            self.p.added_per_order,
            &duals,
            &self.options,
            &self.by_order,
            &mut self.included,
        );
        let added = new.len() + priced;
        r.pricing_seconds += t.elapsed().as_secs_f64();
        let new_cuts = self.separate_cuts(r, added, &master, &lp.columns);
        self.last_lp = Some((master, duals, lp.columns));
        if added == 0 && new_cuts.is_empty() {
            return false;
        }
        if !new_cuts.is_empty() {
            if r.cut_rounds == 0 {
                self.stats.bound_before_cuts = self.lower_bound;
            }
            r.cut_rounds += 1;
            r.known_cuts.extend(new_cuts.iter().cloned());
            r.cuts.extend(new_cuts);
        }
        true
    }

    /// Solves the round's master: the node LP beside the ascent, the warm session,
    /// or interior point from scratch.
    fn solve_master(&mut self, r: &mut Rounds, master: &Model) -> Option<HighsRun> {
        if self.sched.node_lp {
            let targets = Targets {
                target: self.target,
                total_penalty: self.total_penalty,
                best: self.lower_bound.unwrap_or(f64::NEG_INFINITY),
            };
            let (lp, beside) = lp_beside_ascent(
                self.net,
                self.p,
                &self.node_terms,
                master,
                &mut self.pool,
                self.prices.clone(),
                targets,
                self.opts,
                r.deadline,
            );
            self.stats.node_lp_ascent_steps = Some(beside.steps);
            self.stats.node_lp_ascent_bound = beside.bound;
            self.beside_prices = Some(beside.prices);
            if let Some(lb) = beside.bound {
                self.raise_bound(lb);
            }
            lp
        } else if let Some(s) = r.session.as_mut() {
            s.solve(r.deadline)
        } else {
            let problem = master.problem(false);
            run_guarded(
                problem,
                None,
                self.total_penalty,
                true,
                self.opts,
                r.deadline,
            )
        }
    }

    /// Cover cuts and {0, 1/2}-cuts the LP solution `lp_x` violates, separated once
    /// the round `added` no column (or from `cuts_from_round` on), in windows whose
    /// reduced-cost MIPs prove the plan, while time for them remains.
    fn separate_cuts(
        &self,
        r: &mut Rounds,
        added: usize,
        master: &Model,
        lp_x: &[f64],
    ) -> Vec<Cut> {
        let p = self.p;
        let separating = added == 0 || r.rounds >= p.cuts_from_round;
        let with_cuts = !self.sched.large;
        if !(separating
            && r.cut_rounds < p.cut_rounds
            && with_cuts
            && Instant::now() < r.cut_start_by)
        {
            return Vec::new();
        }
        let t = Instant::now();
        let mut found = cuts::separate(
            &self.options,
            &master.option_ids,
            lp_x,
            &master.rows,
            &master.row_index,
            &r.known_cuts,
        );
        found.extend(cuts::separate_zero_half(
            self.net,
            &self.options,
            &master.option_ids,
            lp_x,
            &master.rows,
            &master.row_index,
            &master.cuts,
            &r.known_cuts,
        ));
        r.separation_seconds += t.elapsed().as_secs_f64();
        found
    }

    /// The rounds' statistics and the shadow prices of the last duals (the
    /// ascent's prices on the node LP's path).
    fn record_rounds(&mut self, r: &Rounds) {
        let s = &mut self.stats;
        s.cut_rounds = Some(r.cut_rounds);
        s.cuts = Some(r.cuts.len());
        s.cg_rounds = Some(r.rounds);
        s.cg_lp_seconds = Some(r.lp_seconds);
        s.cg_pricing_seconds = Some(r.pricing_seconds);
        s.cg_separation_seconds = Some(r.separation_seconds);
        s.master_columns = Some(self.included.iter().filter(|&&b| b).count());
        s.lagrangian_bound = self.lower_bound;
        s.shadow_prices = Some(match &self.last_lp {
            Some((_, duals, _)) if !self.sched.node_lp => shadow_prices(self.net, &duals.prices),
            _ => shadow_prices(self.net, &self.prices),
        });
        self.stats.column_generation_seconds = Some(self.laps.lap());
    }
}

/// Adds to the master the options with negative reduced cost (the most negative
/// `per_order` per order); returns how many were added.
fn price_options(
    per_order: usize,
    duals: &Duals,
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    included: &mut [bool],
) -> usize {
    let mut added = 0;
    for ids in by_order {
        let mut negative: Vec<(f64, usize)> = ids
            .iter()
            .filter(|&&j| !included[j])
            .map(|&j| (duals.reduced_cost(&options[j]), j))
            .filter(|&(rc, _)| rc < -RC_EPS)
            .collect();
        negative.sort_by(|a, b| a.0.total_cmp(&b.0));
        for &(_, j) in negative.iter().take(per_order) {
            included[j] = true;
            added += 1;
        }
    }
    added
}

/// The node LP's master over the options `ids`: only the nodes' shipment and unit
/// rows among `rows` stay constraints; stock, which each order's few options share
/// with few others, is priced into each column's cost at `prices` (the ascent's).
/// The node rows tie every order to every other, and a rounding needs their mix
/// settled exactly; stock conflicts the rounding and ejection chains resolve
/// themselves (measurements in `docs/tuning.md`).
pub(super) fn node_master(
    orders: usize,
    rows: &[(Resource, f64)],
    prices: &Prices,
    options: &[FulfillmentOption],
    ids: &[usize],
) -> Model {
    let is_stock = |r: &Resource| matches!(r, Resource::Stock(..));
    let node_rows = rows.iter().filter(|(r, _)| !is_stock(r)).copied().collect();
    let mut master = build_model(orders, node_rows, options, ids);
    master.shift_costs(|j| {
        options[j]
            .usage()
            .into_iter()
            .filter(|(r, _)| is_stock(r))
            .map(|(r, q)| prices.get(r) * q)
            .sum()
    });
    master
}

/// The most valuable binding resources by the last LP master's duals: what one more
/// unit of stock at a node, or one more shipment or unit of node capacity, would save
/// in the LP relaxation (an estimate for the integer plan). Highest first, at most 25.
fn shadow_prices(net: &Network, p: &Prices) -> Vec<ShadowPrice> {
    let inst = net.instance;
    let mut prices: Vec<ShadowPrice> = p
        .rows
        .iter()
        .filter_map(|&(r, _)| {
            let price = p.get(r);
            let (resource, n, sku) = match r {
                Resource::Stock(n, k) => ("stock", n, Some(inst.skus[k].id.clone())),
                Resource::Shipments(n) => ("shipments", n, None),
                Resource::Units(n) => ("units", n, None),
            };
            (price > 1e-6).then(|| ShadowPrice {
                resource,
                node: inst.nodes[n].id.clone(),
                sku,
                price,
            })
        })
        .collect();
    prices.sort_by(|a, b| b.price.total_cmp(&a.price));
    prices.truncate(25);
    prices
}
