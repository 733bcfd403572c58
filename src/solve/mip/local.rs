//! The local-search phase on the best plan: ejection chains, then in large windows
//! large-neighbourhood search (`lns`) and ejection chains again on what it changed.
//! Meanwhile the ascent may go on on the spare core for a better bound.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::ascent::{BestBound, SpareAscent, Targets, spare_core_ascent};
use super::model::{self, Duals, Model};
use super::option_list::{choice_of, group_by_order};
use super::options::FulfillmentOption;
use super::prices::Prices;
use super::stats::MipStats;
use super::{RC_EPS, Search, lns, packed, primal};
use crate::cost::Network;
use crate::domain::PlanStatus;
use crate::solve::{SolveOptions, assemble_plan};

/// What the ejection chains and neighbourhood search read.
struct Neighbourhoods<'b> {
    net: &'b Network<'b>,
    opts: &'b SolveOptions,
    options: &'b [FulfillmentOption],
    by_order: &'b [Vec<usize>],
    /// Large windows add neighbourhood search; huge ones take each order's
    /// cheapest move in the chains.
    large: bool,
    huge: bool,
    /// The last LP master, to rank candidates by (unless it is the node LP).
    lp_ranking: Option<&'b (Model, Duals, Vec<f64>)>,
    ascent_ranked: &'b [Vec<(f64, usize)>],
    best_bound: Option<&'b BestBound>,
    /// Threads neighbourhood search may use.
    workers: usize,
}

impl Search<'_> {
    /// Improves the best plan by local search until shortly before the deadline,
    /// keeping back the time turning the result into a plan takes.
    pub(super) fn local_search(&mut self) {
        if Instant::now() + model::FINISH_MARGIN * 5 >= self.deadline {
            return;
        }
        let (net, opts, p) = (self.net, self.opts, self.p);
        let stop = self.deadline - model::FINISH_MARGIN * 3 - self.assemble_time.mul_f64(1.5);
        let by_start = group_by_order(net, &self.best_allocs);
        let mut choice = choice_of(&self.options, &self.by_order, &by_start);
        let ascent_goes_on = self.stalled < p.ascent_stalled_slices;
        // Huge windows, whose ascent its share of the budget cuts off: local search
        // runs on one thread, so the ascent goes on on the other for a better bound.
        let spare_ascent =
            self.sched.huge && self.last_lp.is_none() && opts.threads > 1 && ascent_goes_on;
        // On the node LP's path the first ejection chains run on one thread, and the
        // ascent goes on on the other until they end.
        let spare_during_eject = self.sched.node_lp && ascent_goes_on;
        let targets = Targets {
            target: self.target,
            total_penalty: self.total_penalty,
            best: self.lower_bound.unwrap_or(f64::NEG_INFINITY),
        };
        let one_bound = self.bound_seconds / self.bounds.max(1) as f64 * opts.threads as f64;
        let slices_stop = stop
            .checked_sub(Duration::from_secs_f64(1.5 * one_bound))
            .unwrap_or(stop);
        let spare_prices = self
            .beside_prices
            .take()
            .unwrap_or_else(|| self.prices.clone());
        let search = Neighbourhoods {
            net,
            opts,
            options: &self.options,
            by_order: &self.by_order,
            large: self.sched.large,
            huge: self.sched.huge,
            lp_ranking: self.last_lp.as_ref().filter(|_| !self.sched.node_lp),
            ascent_ranked: &self.ascent_ranked,
            best_bound: self.best_bound.as_ref(),
            // The spare core's ascent has the other thread.
            workers: if spare_ascent {
                1
            } else {
                opts.threads as usize
            },
        };
        let eject_done = AtomicBool::new(false);
        let (pool, node_terms, stats) = (&mut self.pool, &self.node_terms, &mut self.stats);
        let spare: Option<SpareAscent> = std::thread::scope(|scope| {
            let eject_done = &eject_done;
            let worker = (spare_ascent || spare_during_eject).then(|| {
                pool.set_threads(1);
                scope.spawn(move || {
                    spare_core_ascent(
                        net,
                        p,
                        node_terms,
                        pool,
                        spare_prices,
                        targets,
                        (slices_stop, stop),
                        spare_during_eject.then_some((eject_done, 1)),
                    )
                })
            });
            search.run(&mut choice, stop, eject_done, stats);
            worker.map(|w| w.join().expect("spare-core ascent"))
        });
        if let Some(spare) = spare {
            self.stats.spare_ascent_slices = Some(spare.slices);
            self.stats.spare_ascent_steps = Some(spare.steps);
            self.stats.spare_ascent_bound = spare.bound;
            if let Some(lb) = spare.bound {
                self.raise_bound(lb);
            }
        }
        self.stats.local_search_overrun_seconds =
            Some(Instant::now().saturating_duration_since(stop).as_secs_f64());
        let assembling = Instant::now();
        let allocs = primal::allocations(&self.options, &choice);
        let plan = assemble_plan(net, &allocs, "mip", PlanStatus::Feasible);
        self.stats.final_assembly_seconds = Some(assembling.elapsed().as_secs_f64());
        self.stats.assembly_kept_back_seconds = Some((self.deadline - stop).as_secs_f64());
        if plan.objective < self.best_plan.objective {
            self.best_plan = plan;
        }
        self.stats.local_search_seconds = Some(self.laps.lap());
    }
}

impl Neighbourhoods<'_> {
    /// Ejection chains on `choice` until `stop` (raising `eject_done` after the
    /// first), then in large windows neighbourhood search and chains again.
    fn run(
        &self,
        choice: &mut primal::Choice,
        stop: Instant,
        eject_done: &AtomicBool,
        stats: &mut MipStats,
    ) {
        let (net, by_order) = (self.net, self.by_order);
        let t = Instant::now();
        let packed = packed::Packed::new(net, self.options);
        // Each order's most saving move pays where chains take a fraction of a
        // second; in huge windows the extra time is neighbourhood search's.
        let move_rule = if self.huge {
            primal::MoveRule::Cheapest
        } else {
            primal::MoveRule::MostSaving
        };
        let ejected = primal::eject(net, &packed, by_order, choice, move_rule, stop);
        eject_done.store(true, Ordering::Relaxed);
        let eject_time = t.elapsed();
        stats.eject_seconds = Some(eject_time.as_secs_f64());
        let (mut moves, mut evicted, mut saved) = (ejected.moves, ejected.evicted, ejected.saved);
        if self.large && Instant::now() + model::FINISH_MARGIN * 5 < stop {
            let improved = self.neighbourhood_search(choice, stop, eject_time, stats);
            if improved {
                let t = Instant::now();
                let again = primal::eject(net, &packed, by_order, choice, move_rule, stop);
                stats.eject_again_seconds = Some(t.elapsed().as_secs_f64());
                stats.eject_again_saved = Some(again.saved);
                moves += again.moves;
                evicted += again.evicted;
                saved += again.saved;
            }
        }
        stats.eject_moves = Some(moves);
        stats.eject_evicted = Some(evicted);
        stats.eject_saved = Some(saved);
    }

    /// Large-neighbourhood search on `choice`, leaving a quarter of the first
    /// chains' time for a second pass. Returns whether it improved the plan.
    fn neighbourhood_search(
        &self,
        choice: &mut primal::Choice,
        stop: Instant,
        eject_time: Duration,
        stats: &mut MipStats,
    ) -> bool {
        let candidates = candidate_options(
            self.options,
            self.by_order,
            self.lp_ranking,
            self.ascent_ranked,
        );
        // The second pass of ejection chains only revisits what LNS changed; when
        // the first ran past the time kept for it, LNS takes what is left.
        let kept = stop.checked_sub(eject_time.mul_f64(0.25)).unwrap_or(stop);
        let lns_stop = if kept > Instant::now() + model::FINISH_MARGIN * 10 {
            kept
        } else {
            stop
        };
        let seeds = |choice: &primal::Choice| {
            self.best_bound.map_or(Vec::new(), |b| {
                costliest_orders(self.options, choice, &b.prices, &b.minima)
            })
        };
        let lns = lns::search(
            self.net,
            self.options,
            &candidates,
            &seeds,
            choice,
            self.opts,
            self.workers,
            lns_stop,
        );
        stats.lns_neighbourhoods = Some(lns.neighbourhoods);
        stats.lns_improved = Some(lns.improved);
        stats.lns_saved = Some(lns.saved);
        stats.lns_seeded = Some(lns.seeded);
        stats.lns_rounds = Some(lns.rounds);
        lns.improved > 0
    }
}

/// Candidate options per order for local and neighbourhood search: the cheapest
/// by reduced cost under the last LP's duals (else the ascent's prices) and every
/// option the LP uses.
fn candidate_options(
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    last_lp: Option<&(Model, Duals, Vec<f64>)>,
    ascent_ranked: &[Vec<(f64, usize)>],
) -> Vec<Vec<usize>> {
    let mut ranked: Vec<Vec<(f64, usize)>> = match last_lp {
        Some((_, duals, _)) => by_order
            .iter()
            .map(|ids| {
                ids.iter()
                    .map(|&j| (duals.reduced_cost(&options[j]), j))
                    .collect()
            })
            .collect(),
        None => ascent_ranked.to_vec(),
    };
    for c in &mut ranked {
        c.sort_by(|a, b| a.0.total_cmp(&b.0));
        c.truncate(lns::OPTIONS_PER_ORDER);
    }
    let mut candidates: Vec<Vec<usize>> = ranked
        .into_iter()
        .map(|c| c.into_iter().map(|(_, j)| j).collect())
        .collect();
    if let Some((master, _, lp_x)) = last_lp {
        for (&j, &x) in master.option_ids.iter().zip(lp_x) {
            if x > 1e-6 && !candidates[options[j].order].contains(&j) {
                candidates[options[j].order].push(j);
            }
        }
    }
    candidates
}

/// Orders by how far their option in `choice` lies above their best response at
/// `prices` (reduced cost minus the order's `minima`, the bound's share of the gap),
/// largest first; orders at their best response are left out.
pub(super) fn costliest_orders(
    options: &[FulfillmentOption],
    choice: &primal::Choice,
    prices: &Prices,
    minima: &[f64],
) -> Vec<usize> {
    let mut excess: Vec<(f64, usize)> = choice
        .iter()
        .zip(minima)
        .enumerate()
        .map(|(o, (c, m))| {
            let rc = c.map_or(0.0, |j| prices.reduced_cost(&options[j], 0.0));
            (rc - m, o)
        })
        .filter(|&(e, _)| e > RC_EPS)
        .collect();
    excess.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    excess.into_iter().map(|(_, o)| o).collect()
}
