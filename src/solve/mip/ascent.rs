//! The Lagrangian ascent phase: a subgradient method prices the resource rows over
//! every known option; each slice's prices give a lower bound valid for the whole
//! problem (not only the listed options) and best responses that join the options.
//! Also the ascent that goes on on the spare core beside the node LP or local search.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::cuts::{self, CutPrices};
use super::model::{self, HighsRun, Model};
use super::option_list::{add_responses, real_option};
use super::options::FulfillmentOption;
use super::params::MipParams;
use super::prices::Prices;
use super::{RC_EPS, Search, bound, lagrange};
use crate::cost::Network;
use crate::solve::SolveOptions;

impl Search<'_> {
    /// Runs the ascent until its deadline, until it stalls, or (small windows with
    /// column generation ahead) for a few slices; ranks each order's pool columns
    /// at the prices it ends at.
    pub(super) fn ascend(&mut self) {
        let (net, p) = (self.net, self.p);
        let threads = self.opts.threads as usize;
        let (mut scale, mut slices, mut steps) = (1.0, 0, 0);
        let mut ascent_seconds = 0.0;
        // Relax-and-cut: large windows add cover cuts, separated from each slice's
        // averaged best responses, to the pool as rows with prices of their own
        // (smaller windows cut their LP master instead).
        let relax_and_cut = self.sched.large;
        let mut known_cuts: HashSet<cuts::Cut> = HashSet::new();
        loop {
            let t = Instant::now();
            let Some((bound, cut_prices)) = global_bound(
                net,
                &self.node_terms,
                &self.pool,
                &self.prices,
                threads,
                self.sched.cg_deadline,
            ) else {
                break;
            };
            self.bound_seconds += t.elapsed().as_secs_f64();
            self.bounds += 1;
            let lb = self.total_penalty + bound.value;
            let best = self.lower_bound.unwrap_or(f64::NEG_INFINITY);
            self.stalled = stalled_after(p, self.stalled, lb, best);
            let responses =
                keep_best_bound(&mut self.best_bound, lb, &self.prices, &cut_prices, bound);
            if slices == 0 {
                self.stats.unpriced_bound = Some(lb);
                self.stats.unpriced_bound_seconds = Some(t.elapsed().as_secs_f64());
            }
            self.raise_bound(lb);
            let minima = self.pool.order_minima(&self.prices.values);
            let prices = &self.prices;
            let new = add_responses(
                net,
                &responses,
                &mut self.options,
                &mut self.by_order,
                &|o| prices.reduced_cost(o, 0.0) < minima[o.order] - RC_EPS,
            );
            let options = &self.options;
            self.pool
                .extend(new.iter().map(|&j| (j, &options[j])), &self.zero_prices);
            if Instant::now() >= self.sched.ascent_deadline
                || self.cancelled()
                || (new.is_empty() && scale < lagrange::MIN_SCALE)
                || self.stalled >= p.ascent_stalled_slices
                || (self.sched.lp_pays && !self.sched.large && slices >= p.ascent_slices_before_lp)
            {
                break;
            }
            let t = Instant::now();
            let ascent = self.pool.ascend(
                &self.prices.values,
                self.target,
                1.0,
                p.ascent_steps,
                self.sched.ascent_deadline,
                self.opts.cancel.as_deref(),
            );
            ascent_seconds += t.elapsed().as_secs_f64();
            scale = ascent.scale;
            steps += ascent.iterations;
            self.last_votes = (self.pool.option_votes(&ascent.votes), ascent.iterations);
            slices += 1;
            self.prices.values = ascent.prices;
            self.stats.ascent_pool_value = Some(self.total_penalty + ascent.value);
            if relax_and_cut && self.pool.cuts().len() < net.order_count() / p.max_orders_per_cut {
                self.add_ascent_cuts(&mut known_cuts);
            }
        }
        self.stats.ascent_cuts = Some(self.pool.cuts().len());
        self.stats.ascent_slices = Some(slices);
        self.stats.ascent_steps = Some(steps);
        self.stats.ascent_step_seconds = Some(ascent_seconds);
        self.stats.ascent_bound_seconds = Some(self.bound_seconds);
        self.stats.ascent_bound = self.lower_bound;
        let (pool, prices) = (&self.pool, &self.prices);
        self.ascent_ranked = (0..net.order_count())
            .map(|o| {
                let mut cols = pool.order_columns(o, &prices.values);
                cols.sort_by(|a, b| a.0.total_cmp(&b.0));
                cols
            })
            .collect();
        self.stats.ascent_seconds = Some(self.laps.lap());
    }

    /// Separates cover cuts from the last slice's averaged best responses and adds
    /// the new ones to the pool, priced at zero.
    fn add_ascent_cuts(&mut self, known_cuts: &mut HashSet<cuts::Cut>) {
        let (votes, voted_steps) = &self.last_votes;
        let (ids, shares): (Vec<usize>, Vec<f64>) = votes
            .iter()
            .map(|&(j, v)| (j, f64::from(v) / (*voted_steps).max(1) as f64))
            .unzip();
        let new = cuts::separate(
            &self.options,
            &ids,
            &shares,
            &self.rows,
            &self.zero_prices.row_index,
            known_cuts,
        );
        if !new.is_empty() {
            self.pool.add_cuts(&new, &self.options);
            let priced = self.prices.values.len() + new.len();
            self.prices.values.resize(priced, 0.0);
            known_cuts.extend(new);
        }
    }
}

/// Slices in a row that stalled, after one whose bound is `lb`: a slice stalls unless
/// it beats the best bound so far, `best`, by `ascent_stall` of it.
fn stalled_after(p: &MipParams, stalled: usize, lb: f64, best: f64) -> usize {
    if lb > best + p.ascent_stall * lb.abs().max(1.0) {
        0
    } else {
        stalled + 1
    }
}

/// The best bound so far, with what it was computed from.
pub(super) struct BestBound {
    /// The bound, with the unfilled penalties.
    pub value: f64,
    /// The resource prices.
    pub prices: Prices,
    /// The cover cuts' prices.
    pub cuts: CutPrices,
    /// Each order's least relaxed reduced cost at these prices.
    pub minima: Vec<f64>,
}

/// Keeps `bound` (worth `lb` with the unfilled penalties) when it beats the best so
/// far; returns its best responses.
pub(super) fn keep_best_bound(
    best: &mut Option<BestBound>,
    lb: f64,
    prices: &Prices,
    cuts: &CutPrices,
    bound: bound::Bound,
) -> Vec<bound::Response> {
    if best.as_ref().is_none_or(|b| lb > b.value) {
        *best = Some(BestBound {
            value: lb,
            prices: prices.clone(),
            cuts: cuts.clone(),
            minima: bound.minima,
        });
    }
    bound.responses
}

/// The global bound at `prices` (the resource rows' prices, then the pool's cut
/// rows'), raised by the cuts' prices, with those prices.
fn global_bound(
    net: &Network,
    node_terms: &bound::NodeTerms,
    pool: &lagrange::Pool,
    prices: &Prices,
    threads: usize,
    deadline: Instant,
) -> Option<(bound::Bound, CutPrices)> {
    let mut bound = bound::lagrangian_bound(net, node_terms, prices, threads, deadline)?;
    let cut_prices = pool.cut_prices(&prices.values);
    if !cut_prices.cuts.is_empty() {
        cuts::raise_bound(
            net,
            node_terms,
            prices,
            &cut_prices,
            &mut bound,
            threads,
            deadline,
        );
    }
    Some((bound, cut_prices))
}

/// What the ascent on the spare core did: its slices and steps, and the best
/// global bound it found (with the constant), if any beat the one it started from.
pub(super) struct SpareAscent {
    pub slices: usize,
    pub steps: usize,
    pub bound: Option<f64>,
    /// The prices it ended at.
    pub prices: Prices,
}

/// The ascent's fixed inputs on the spare core: its target, the constant Σ
/// unfilled penalty, and the best bound so far.
#[derive(Clone, Copy)]
pub(super) struct Targets {
    pub target: f64,
    pub total_penalty: f64,
    pub best: f64,
}

/// Goes on with the Lagrangian ascent on one thread from `prices` while local search
/// runs: slices of subgradient steps towards the target until `slices_stop`, each
/// followed by a global bound (cut off at `stop`) whose best responses join the
/// pool (as columns of no listed option: id `usize::MAX`); stops early when the
/// bound stalls like the first ascent's, or when `cancel`'s flag is raised (with
/// the threads a bound may take once it is).
#[allow(clippy::too_many_arguments)]
pub(super) fn spare_core_ascent(
    net: &Network,
    p: &MipParams,
    node_terms: &bound::NodeTerms,
    pool: &mut lagrange::Pool,
    mut prices: Prices,
    targets: Targets,
    (slices_stop, stop): (Instant, Instant),
    cancel: Option<(&AtomicBool, usize)>,
) -> SpareAscent {
    let (start, mut best) = (targets.best, targets.best);
    let (mut slices, mut steps) = (0, 0);
    let mut stalled = 0;
    let flag = cancel.map(|(flag, _)| flag);
    let cancelled = || flag.is_some_and(|c| c.load(Ordering::Relaxed));
    while Instant::now() < slices_stop && stalled < p.ascent_stalled_slices && !cancelled() {
        let ascent = pool.ascend(
            &prices.values,
            targets.target,
            1.0,
            p.ascent_steps,
            slices_stop,
            flag,
        );
        slices += 1;
        steps += ascent.iterations;
        prices.values = ascent.prices;
        let threads = match cancel {
            Some((_, threads)) if cancelled() => threads,
            _ => 1,
        };
        let Some((bound, _)) = global_bound(net, node_terms, pool, &prices, threads, stop) else {
            break;
        };
        let lb = targets.total_penalty + bound.value;
        stalled = stalled_after(p, stalled, lb, best);
        best = best.max(lb);
        let minima = pool.order_minima(&prices.values);
        let new: Vec<FulfillmentOption> = bound
            .responses
            .iter()
            .enumerate()
            .filter_map(|(order, response)| real_option(net, order, response))
            .filter(|option| {
                option.saving_cost < 0.0
                    && prices.reduced_cost(option, 0.0) < minima[option.order] - RC_EPS
            })
            .collect();
        pool.extend(new.iter().map(|o| (usize::MAX, o)), &prices);
    }
    SpareAscent {
        slices,
        steps,
        bound: (best > start).then_some(best),
        prices,
    }
}

/// Solves `master` as an LP (to `node_lp_tolerance`) on one thread while the
/// ascent goes on from `prices` on the other (as [`spare_core_ascent`], `pool`
/// evaluated on one thread) until the LP is done or `deadline`. Returns the LP's
/// run and what the ascent did.
#[allow(clippy::too_many_arguments)]
pub(super) fn lp_beside_ascent(
    net: &Network,
    p: &MipParams,
    node_terms: &bound::NodeTerms,
    master: &Model,
    pool: &mut lagrange::Pool,
    prices: Prices,
    targets: Targets,
    opts: &SolveOptions,
    deadline: Instant,
) -> (Option<HighsRun>, SpareAscent) {
    let one_thread = SolveOptions {
        threads: 1,
        ..opts.clone()
    };
    let problem = master.problem(false);
    let done = AtomicBool::new(false);
    pool.set_threads(1);
    let out = std::thread::scope(|scope| {
        let lp = scope.spawn(|| {
            let run = model::run_rough_lp(
                problem,
                targets.total_penalty,
                p.node_lp_tolerance,
                &one_thread,
                deadline,
            );
            done.store(true, Ordering::Relaxed);
            run
        });
        let beside = spare_core_ascent(
            net,
            p,
            node_terms,
            pool,
            prices,
            targets,
            (deadline, deadline),
            // The LP's thread is free once it is done: the last bound takes both.
            Some((&done, 2)),
        );
        (lp.join().expect("LP worker"), beside)
    });
    pool.set_threads(opts.threads as usize);
    out
}
