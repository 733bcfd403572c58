//! Lagrangian dual ascent over a pool of columns: prices for the resource rows from
//! a subgradient method in plain Rust, cheap enough to run thousands of times per
//! second where an LP solve of the same master takes seconds.
//!
//! With prices `π ≥ 0` on the resource rows, every order independently picks its
//! cheapest column by reduced cost `c + π·a` (or nothing), and
//! `L(π) = Σ_o min(0, min_j c_j + π·a_j) − π·cap` is a lower bound on the pool's
//! problem; its maximum equals the pool's LP value. The ascent moves along the
//! subgradient `A·x(π) − cap` with a Polyak step towards a target value.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::cuts::{Cut, CutPrices, counting};
use super::model::Prices;
use super::options::FulfillmentOption;

/// The columns the ascent prices, as flat arrays: each order's columns contiguous
/// and sorted by cost, so that one step reads the pool front to back.
pub(super) struct Pool {
    /// Start of each order's columns (one extra at the end).
    order_start: Vec<u32>,
    /// Cost per column.
    cost: Vec<f64>,
    /// Start of each column's entries in `entries` (one extra at the end).
    entry_start: Vec<u32>,
    entries: Vec<Entry>,
    /// The option each column stands for (`usize::MAX`: a column the spare-core
    /// ascent added, of no listed option).
    pub option_of: Vec<usize>,
    /// Capacity per row.
    capacity: Vec<f64>,
    /// Per row: the factor its subgradient component is scaled by,
    /// `1 / max(1, capacity)^ROW_SCALE_POWER` (see [`Pool::ascend`]).
    row_scale: Vec<f64>,
    /// Threads that evaluate orders in parallel.
    threads: usize,
    /// Cover cuts, as rows after the resource rows (relax-and-cut).
    cuts: Vec<Cut>,
    /// The row of the first cut: the number of resource rows.
    first_cut_row: usize,
    /// Per order: the cuts that count some of its options.
    cuts_of_order: HashMap<usize, Vec<usize>>,
}

/// A column's use of one row, in 8 bytes: a step streams the whole pool, and the
/// narrower entries take a third less memory bandwidth than a `u32` and an `f64`
/// side by side. Quantities are whole units or shipments, exact in an `f32` up to
/// 2^24; the pool only steers the prices (every bound is computed from the prices
/// on the exact options), so even a rounded quantity could not make a bound invalid.
#[derive(Clone, Copy)]
struct Entry {
    row: u32,
    qty: f32,
}

/// Orders per thread below which evaluation stays on one thread.
const PARALLEL_ORDERS: usize = 2048;

/// What one subgradient step collects while it evaluates: the chosen columns' use
/// of each row (one buffer per evaluating thread) and their votes.
struct StepTally<'a> {
    usage: &'a mut Vec<Vec<f64>>,
    votes: &'a mut [u32],
}

/// Where an ascent ended: the best prices found and their value `L(π)` on the pool.
pub(super) struct Ascent {
    pub value: f64,
    pub prices: Vec<f64>,
    pub iterations: usize,
    /// The step scale reached, to continue from.
    pub scale: f64,
    /// Per pool column: how many of the steps chose it (an order's votes over its
    /// columns, divided by `iterations`, average its best responses: the ergodic
    /// primal estimate that the LP solution is a limit of).
    pub votes: Vec<u32>,
}

/// Share of the previous direction kept when it disagrees with the subgradient.
const DEFLECTION: f64 = 1.5;
/// Steps without a better value after which the step scale halves.
const PATIENCE: usize = 30;
/// How strongly a row's subgradient component is scaled down by its capacity (see
/// [`Pool::ascend`]).
const ROW_SCALE_POWER: f64 = 0.75;
/// Smallest step scale before the ascent stops.
pub(super) const MIN_SCALE: f64 = 1e-4;

impl Pool {
    /// An empty pool over `orders` orders and the rows of `prices`, evaluated on
    /// up to `threads` threads.
    pub(super) fn new(orders: usize, prices: &Prices, threads: usize) -> Self {
        Pool {
            order_start: vec![0; orders + 1],
            cost: Vec::new(),
            entry_start: vec![0],
            entries: Vec::new(),
            option_of: Vec::new(),
            capacity: prices.rows.iter().map(|&(_, c)| c).collect(),
            row_scale: prices
                .rows
                .iter()
                .map(|&(_, c)| c.max(1.0).powf(-ROW_SCALE_POWER))
                .collect(),
            threads: threads.max(1),
            cuts: Vec::new(),
            first_cut_row: prices.rows.len(),
            cuts_of_order: HashMap::new(),
        }
    }

    /// Adds cover cuts as rows (their prices follow the resource rows' in the
    /// price vectors, starting at zero), with an entry in each column they count;
    /// columns of no listed option are left out of them (the pool only steers the
    /// prices). `options` are the listed options the columns stand for.
    pub(super) fn add_cuts(&mut self, new: &[Cut], options: &[FulfillmentOption]) {
        let first_new = self.cuts.len();
        for cut in new {
            let c = self.cuts.len();
            for k in cut.orders() {
                self.cuts_of_order.entry(k).or_default().push(c);
            }
            let cap = cut.rhs() as f64;
            self.capacity.push(cap);
            self.row_scale.push(cap.max(1.0).powf(-ROW_SCALE_POWER));
            self.cuts.push(cut.clone());
        }
        let old_entries = std::mem::take(&mut self.entries);
        let old_start = std::mem::replace(&mut self.entry_start, vec![0]);
        for col in 0..self.cost.len() {
            let (a, b) = (old_start[col] as usize, old_start[col + 1] as usize);
            self.entries.extend_from_slice(&old_entries[a..b]);
            if let Some(option) = options.get(self.option_of[col]) {
                let entries = self.cut_entries(option, first_new);
                self.entries.extend(entries);
            }
            self.entry_start.push(self.entries.len() as u32);
        }
    }

    /// The entries of `option` in the cut rows from cut `from` on.
    fn cut_entries(&self, option: &FulfillmentOption, from: usize) -> Vec<Entry> {
        counting(&self.cuts, &self.cuts_of_order, option)
            .into_iter()
            .filter(|&(c, _)| c >= from)
            .map(|(c, a)| Entry {
                row: (self.first_cut_row + c) as u32,
                qty: a as f32,
            })
            .collect()
    }

    /// The cuts with their prices in `prices` (resource rows first).
    pub(super) fn cut_prices(&self, prices: &[f64]) -> CutPrices {
        CutPrices::new(
            self.cuts.clone(),
            prices[self.first_cut_row..self.first_cut_row + self.cuts.len()].to_vec(),
        )
    }

    /// The cuts in the pool.
    pub(super) fn cuts(&self) -> &[Cut] {
        &self.cuts
    }

    /// Evaluates on up to `threads` threads from now on.
    pub(super) fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Threads that evaluate orders.
    #[cfg(test)]
    pub(super) fn threads(&self) -> usize {
        self.threads
    }

    /// Orders in the pool.
    fn orders(&self) -> usize {
        self.order_start.len() - 1
    }

    /// Adds each `(id, option)` as a column (`id` is what [`Pool::option_of`]
    /// reports for it); uses of resources without a row in `prices` are dropped
    /// (they cannot bind). The pool is rebuilt once for the whole batch, keeping
    /// each order's columns contiguous and sorted by cost (so evaluation can stop
    /// early); column positions change.
    pub(super) fn extend<'a>(
        &mut self,
        options: impl IntoIterator<Item = (usize, &'a FulfillmentOption)>,
        prices: &Prices,
    ) {
        let mut added: Vec<(usize, &FulfillmentOption)> = options.into_iter().collect();
        if added.is_empty() {
            return;
        }
        added.sort_by(|a, b| {
            (a.1.order.cmp(&b.1.order)).then(a.1.saving_cost.total_cmp(&b.1.saving_cost))
        });
        let fresh = Pool {
            order_start: Vec::with_capacity(self.order_start.len()),
            cost: Vec::with_capacity(self.cost.len() + added.len()),
            entry_start: Vec::with_capacity(self.entry_start.len() + added.len()),
            entries: Vec::with_capacity(self.entries.len() + 4 * added.len()),
            option_of: Vec::with_capacity(self.option_of.len() + added.len()),
            capacity: std::mem::take(&mut self.capacity),
            row_scale: std::mem::take(&mut self.row_scale),
            threads: self.threads,
            cuts: std::mem::take(&mut self.cuts),
            first_cut_row: self.first_cut_row,
            cuts_of_order: std::mem::take(&mut self.cuts_of_order),
        };
        let old = std::mem::replace(self, fresh);
        self.entry_start.push(0);
        let mut next = added.into_iter().peekable();
        for o in 0..old.orders() {
            self.order_start.push(self.cost.len() as u32);
            let mut cols =
                (old.order_start[o] as usize..old.order_start[o + 1] as usize).peekable();
            loop {
                // The cheaper of this order's next old column and next added one.
                let added_first = match (cols.peek(), next.peek()) {
                    (_, Some((_, n))) if n.order != o => false,
                    (Some(&c), Some((_, n))) => n.saving_cost < old.cost[c],
                    (None, Some(_)) => true,
                    (_, None) => false,
                };
                if added_first {
                    let (id, option) = next.next().expect("peeked");
                    self.cost.push(option.saving_cost);
                    for (r, q) in option.usage() {
                        if let Some(i) = prices.row_index.get(r) {
                            self.entries.push(Entry {
                                row: i as u32,
                                qty: q as f32,
                            });
                        }
                    }
                    let cut_entries = self.cut_entries(option, 0);
                    self.entries.extend(cut_entries);
                    self.option_of.push(id);
                } else if let Some(c) = cols.next() {
                    self.cost.push(old.cost[c]);
                    let (a, b) = (old.entry_start[c] as usize, old.entry_start[c + 1] as usize);
                    self.entries.extend_from_slice(&old.entries[a..b]);
                    self.option_of.push(old.option_of[c]);
                } else {
                    break;
                }
                self.entry_start.push(self.entries.len() as u32);
            }
        }
        self.order_start.push(self.cost.len() as u32);
    }

    /// How many steps voted for each listed option (columns of no listed option
    /// left out), from an ascent's per-column `votes` on this pool as it is.
    pub(super) fn option_votes(&self, votes: &[u32]) -> Vec<(usize, u32)> {
        self.option_of
            .iter()
            .zip(votes)
            .filter(|&(&id, &v)| id != usize::MAX && v > 0)
            .map(|(&id, &v)| (id, v))
            .collect()
    }

    /// Reduced cost of column `col` at `prices`.
    fn reduced(&self, col: usize, prices: &[f64]) -> f64 {
        let (a, b) = (
            self.entry_start[col] as usize,
            self.entry_start[col + 1] as usize,
        );
        self.cost[col]
            + self.entries[a..b]
                .iter()
                .map(|e| prices[e.row as usize] * f64::from(e.qty))
                .sum::<f64>()
    }

    /// `L(π)` on the pool, each order's chosen column (`u32::MAX`: nothing) in
    /// `choice`, and each order's best reduced cost (≤ 0) in `best`. With `step`,
    /// also the rows' use by the chosen columns (`step.usage` gets one buffer per
    /// chunk of orders, for the caller to sum) and a vote for each chosen column.
    fn evaluate(
        &self,
        prices: &[f64],
        choice: &mut [u32],
        best: &mut [f64],
        step: Option<StepTally>,
    ) -> f64 {
        let capacity_cost: f64 = prices.iter().zip(&self.capacity).map(|(p, c)| p * c).sum();
        let orders = self.orders();
        if orders == 0 {
            return -capacity_cost;
        }
        let chunk = orders.div_ceil(self.threads).max(PARALLEL_ORDERS);
        let chunks = orders.div_ceil(chunk);
        // Each chunk's share of the votes: its orders' columns are contiguous.
        let mut tallies: Vec<Option<(&mut Vec<f64>, &mut [u32])>> = match step {
            Some(StepTally { usage, mut votes }) => {
                usage.resize_with(chunks, Vec::new);
                let mut first = 0;
                usage
                    .iter_mut()
                    .map(|buffer| {
                        let end = (first + chunk).min(orders);
                        let cols = (self.order_start[end] - self.order_start[first]) as usize;
                        let (mine, rest) = std::mem::take(&mut votes).split_at_mut(cols);
                        votes = rest;
                        first = end;
                        Some((buffer, mine))
                    })
                    .collect()
            }
            None => (0..chunks).map(|_| None).collect(),
        };
        let orders_part: f64 = std::thread::scope(|s| {
            let mut parts = choice
                .chunks_mut(chunk)
                .zip(best.chunks_mut(chunk))
                .zip(tallies.iter_mut())
                .enumerate();
            let ((c0, b0), t0) = parts.next().map(|(_, p)| p).expect("orders to evaluate");
            // The first chunk on this thread, the others on their own.
            let workers: Vec<_> = parts
                .map(|(i, ((c, b), t))| {
                    s.spawn(move || self.evaluate_orders(i * chunk, prices, c, b, t.take()))
                })
                .collect();
            let first = self.evaluate_orders(0, prices, c0, b0, t0.take());
            first
                + workers
                    .into_iter()
                    .map(|w| w.join().expect("ascent worker"))
                    .sum::<f64>()
        });
        orders_part - capacity_cost
    }

    /// The orders part of `L(π)` for the orders from `first` on (as many as `choice`
    /// holds), with their choices and best reduced costs; with `tally`, the chosen
    /// columns' row use (into the buffer, zeroed first) and votes (the slice holds
    /// these orders' columns).
    fn evaluate_orders(
        &self,
        first: usize,
        prices: &[f64],
        choice: &mut [u32],
        best: &mut [f64],
        tally: Option<(&mut Vec<f64>, &mut [u32])>,
    ) -> f64 {
        let mut value = 0.0;
        for (i, (c, b)) in choice.iter_mut().zip(best.iter_mut()).enumerate() {
            let o = first + i;
            let mut min = 0.0;
            let mut arg = u32::MAX;
            for col in self.order_start[o] as usize..self.order_start[o + 1] as usize {
                if self.cost[col] >= min {
                    break; // prices only add: no later column can be cheaper
                }
                let rc = self.reduced(col, prices);
                if rc < min {
                    min = rc;
                    arg = col as u32;
                }
            }
            *c = arg;
            *b = min;
            value += min;
        }
        if let Some((usage, votes)) = tally {
            usage.clear();
            usage.resize(self.capacity.len(), 0.0);
            let offset = self.order_start[first] as usize;
            for &col in choice.iter().filter(|&&c| c != u32::MAX) {
                let col = col as usize;
                votes[col - offset] += 1;
                let (a, b) = (
                    self.entry_start[col] as usize,
                    self.entry_start[col + 1] as usize,
                );
                for e in &self.entries[a..b] {
                    usage[e.row as usize] += f64::from(e.qty);
                }
            }
        }
        value
    }

    /// Each order's best reduced cost at `prices` (≤ 0: nothing costs 0).
    pub(super) fn order_minima(&self, prices: &[f64]) -> Vec<f64> {
        let mut choice = vec![u32::MAX; self.orders()];
        let mut best = vec![0.0; self.orders()];
        self.evaluate(prices, &mut choice, &mut best, None);
        best
    }

    /// Reduced cost of every column of order `o` at `prices`, with its option id.
    pub(super) fn order_columns(&self, o: usize, prices: &[f64]) -> Vec<(f64, usize)> {
        (self.order_start[o] as usize..self.order_start[o + 1] as usize)
            .map(|c| (self.reduced(c, prices), self.option_of[c]))
            .collect()
    }

    /// Subgradient ascent from `start` towards `target` (an upper bound on the
    /// optimum, e.g. the best plan's cost without the constant), until `deadline`,
    /// `cancel` is raised, `max_iterations`, or the step scale has shrunk below
    /// [`MIN_SCALE`]. Steps follow
    /// the Camerini–Fratta–Maffioli deflected direction (the subgradient plus part of
    /// the previous direction when they disagree, projected at zero prices, and
    /// reset to the subgradient whenever it stops pointing uphill), which damps the
    /// zig-zag of plain subgradient steps; the step length is Polyak's, scaled by
    /// `scale`, which halves after [`PATIENCE`] steps without a better value.
    ///
    /// Each row's subgradient component (its excess use, `A·x − cap`) is first
    /// divided by `capacity^0.75` (a diagonal preconditioner): a node's shipment
    /// row, shared by thousands of orders, has excesses in the hundreds where a
    /// stock row's are a unit or two, and unscaled it takes the whole step while
    /// the stock prices hardly move. On the 10,000-order window this took the bound
    /// reached in 5 s from 207.8k to 208.3k (LP 208.37k), and on 100,000 orders in
    /// 60 s from 1,718k to 1,752k. Any prices `π ≥ 0` give a valid bound, so the
    /// scaling costs no validity.
    pub(super) fn ascend(
        &self,
        start: &[f64],
        target: f64,
        scale: f64,
        max_iterations: usize,
        deadline: Instant,
        cancel: Option<&AtomicBool>,
    ) -> Ascent {
        let rows = self.capacity.len();
        let orders = self.orders();
        // The step's row use per chunk of orders (sized by `evaluate`).
        let mut buffers: Vec<Vec<f64>> = Vec::new();
        let mut prices = start.to_vec();
        let mut choice = vec![u32::MAX; orders];
        let mut best_rc = vec![0.0; orders];
        let mut usage = vec![0.0; rows];
        let mut gradient = vec![0.0; rows];
        let mut direction = vec![0.0; rows];
        let mut out = Ascent {
            value: f64::NEG_INFINITY,
            prices: prices.clone(),
            iterations: 0,
            scale,
            votes: vec![0; self.cost.len()],
        };
        let mut stalled = 0;
        for it in 0..max_iterations {
            if it % 8 == 0
                && (Instant::now() >= deadline || cancel.is_some_and(|c| c.load(Ordering::Relaxed)))
            {
                break;
            }
            out.iterations = it + 1;
            let tally = StepTally {
                usage: &mut buffers,
                votes: &mut out.votes,
            };
            let value = self.evaluate(&prices, &mut choice, &mut best_rc, Some(tally));
            usage.fill(0.0);
            for part in &buffers {
                for (u, x) in usage.iter_mut().zip(part) {
                    *u += x;
                }
            }
            if value > out.value + 1e-9 * value.abs().max(1.0) {
                out.value = value;
                out.prices.copy_from_slice(&prices);
                stalled = 0;
            } else {
                stalled += 1;
                if stalled >= PATIENCE {
                    out.scale /= 2.0;
                    stalled = 0;
                    if out.scale < MIN_SCALE {
                        break;
                    }
                }
            }
            // Projected subgradient: rows at price 0 with slack do not move.
            // Without branches (whether a row moves is data, and mispredicted branches
            // took the step's time outside `evaluate` on 10,000 orders to 0.15-0.16
            // ms against 0.09-0.10 ms without): a row that stays gets +0.0, as the
            // branch gave it, so the steps are the same.
            for r in 0..rows {
                let g = usage[r] - self.capacity[r];
                let moves = !(prices[r] <= 0.0 && g <= 0.0);
                gradient[r] = zero_unless(moves, g * self.row_scale[r]);
            }
            let gd: f64 = gradient.iter().zip(&direction).map(|(g, d)| g * d).sum();
            let dd: f64 = direction.iter().map(|d| d * d).sum();
            let beta = if gd < 0.0 && dd > 0.0 {
                -DEFLECTION * gd / dd
            } else {
                0.0
            };
            for ((d, g), p) in direction.iter_mut().zip(&gradient).zip(&prices) {
                let moved = g + beta * *d;
                // Cannot go below zero: project the direction too.
                *d = zero_unless(!(*p <= 0.0 && moved < 0.0), moved);
            }
            if gradient.iter().all(|g| g.abs() <= 1e-12) {
                break; // the choice fits every row: L(π) is the pool's optimum
            }
            let norm2: f64 = direction.iter().map(|d| d * d).sum();
            let along: f64 = direction.iter().zip(&gradient).map(|(d, g)| d * g).sum();
            if norm2 <= 1e-12 || along <= 0.0 {
                // The deflection cancelled or turned the subgradient: restart from it.
                direction.copy_from_slice(&gradient);
            }
            // Polyak's step for the scaled direction `d = D·g`: the move `t·d` gains
            // about `t·(g·d)`, and `g·d = Σ d²/D`.
            let scaled_norm2: f64 = direction
                .iter()
                .zip(&self.row_scale)
                .map(|(d, s)| d * d / s)
                .sum();
            let step = out.scale * (target - value).max(1e-6 * target.abs()) / scaled_norm2;
            for (p, d) in prices.iter_mut().zip(&direction) {
                *p = (*p + step * d).max(0.0);
            }
        }
        out
    }
}

/// `x` if `keep`, else +0.0, without a branch.
fn zero_unless(keep: bool, x: f64) -> f64 {
    f64::from_bits(x.to_bits() & u64::from(keep).wrapping_neg())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::ServiceChoice;
    use crate::solve::Allocation;
    use crate::solve::mip::cuts::{CoverCut, Cut};
    use crate::solve::mip::options::Resource;

    fn option(order: usize, node: usize, cost: f64) -> FulfillmentOption {
        FulfillmentOption {
            order,
            shipments: vec![Allocation {
                order,
                node,
                service: ServiceChoice::Carrier(0),
                lines: vec![(0, 1)],
            }],
            saving_cost: cost,
        }
    }

    /// Columns added in two batches end up grouped by order, each order's sorted by
    /// cost, with their option ids, whatever order the batches list them in.
    #[test]
    fn batches_merge_into_each_orders_columns_sorted_by_cost() {
        let rows = vec![(Resource::Stock(0, 0), 2.0), (Resource::Stock(1, 0), 1.0)];
        let prices = Prices::zero(&rows);
        let mut pool = Pool::new(3, &prices, 1);
        let first = [option(2, 0, -4.0), option(0, 1, -9.0), option(2, 1, -6.0)];
        pool.extend(first.iter().enumerate(), &prices);
        let second = [option(1, 0, -3.0), option(2, 0, -5.0), option(0, 0, -1.0)];
        pool.extend(second.iter().enumerate().map(|(j, o)| (10 + j, o)), &prices);
        let columns = |o: usize| pool.order_columns(o, &prices.values);
        assert_eq!(columns(0), vec![(-9.0, 1), (-1.0, 12)]);
        assert_eq!(columns(1), vec![(-3.0, 10)]);
        assert_eq!(columns(2), vec![(-6.0, 2), (-5.0, 11), (-4.0, 0)]);
        // Prices add each column's use of the priced rows to its cost.
        let mut priced = prices.values.clone();
        priced[1] = 2.5;
        assert_eq!(pool.order_columns(0, &priced), vec![(-6.5, 1), (-1.0, 12)]);
    }

    /// Three orders want one unit of the same stock (2 units at node 0); one of them
    /// can also ship from node 1 for a little more. The LP optimum is known by hand:
    /// −10 − 8 (both at node 0) − 5 (the third from node 1) = −23. The ascent's value
    /// is a lower bound (never above it) and reaches it.
    #[test]
    fn the_ascent_reaches_the_lp_value_from_below() {
        let rows = vec![(Resource::Stock(0, 0), 2.0), (Resource::Stock(1, 0), 1.0)];
        let prices = Prices::zero(&rows);
        let mut pool = Pool::new(3, &prices, 1);
        let options = [
            option(0, 0, -10.0),
            option(1, 0, -8.0),
            option(2, 0, -7.0),
            option(2, 1, -5.0),
        ];
        pool.extend(options.iter().enumerate(), &prices);
        let far = Instant::now() + std::time::Duration::from_secs(60);
        let ascent = pool.ascend(&prices.values, 0.0, 1.0, 5000, far, None);
        assert!(ascent.value <= -23.0 + 1e-9, "{}", ascent.value);
        assert!(ascent.value >= -23.0 - 1e-3, "{}", ascent.value);
        assert!(ascent.prices.iter().all(|&p| p >= 0.0));
        // Each step votes for at most one column per order (none when shipping
        // nothing is best), and every order voted for something.
        let n = ascent.iterations as u32;
        let mut v = vec![0; options.len()];
        for (id, votes) in pool.option_votes(&ascent.votes) {
            v[id] = votes;
        }
        assert!(v[0] <= n && v[1] <= n && v[2] + v[3] <= n, "{v:?} of {n}");
        assert!(v[0] > 0 && v[1] > 0 && v[2] + v[3] > 0, "{v:?} of {n}");
    }

    /// A cut row added after some columns and before others counts both: its price
    /// adds to exactly the columns it covers, and the ascent over the pool with the
    /// cut reaches the cut LP's value (−22), above the plain LP's (−26).
    #[test]
    fn cut_rows_price_the_columns_they_count() {
        // Stock 2 at node 0: order 0 takes one unit, order 1 two (or one unit from
        // node 1 at a higher cost). The LP gives order 1 half of its two units at
        // node 0; the cover {0 (≥1), 1 (≥2)} allows only one of them.
        let rows = vec![(Resource::Stock(0, 0), 2.0)];
        let prices = Prices::zero(&rows);
        let two_units = |cost: f64| FulfillmentOption {
            shipments: vec![Allocation {
                order: 1,
                node: 0,
                service: ServiceChoice::Carrier(0),
                lines: vec![(0, 2)],
            }],
            ..option(1, 0, cost)
        };
        let options = vec![option(0, 0, -10.0), two_units(-20.0), option(1, 1, -12.0)];
        let mut pool = Pool::new(2, &prices, 1);
        pool.extend(options.iter().enumerate().take(2), &prices);
        let far = Instant::now() + std::time::Duration::from_secs(60);
        // Without the cut the LP takes order 0 (−10), half of order 1's two units
        // at node 0 (−10) and half of its node-1 option (−6): −26. With the cut,
        // order 0 and order 1's two units exclude each other: −10 − 12 = −22, the
        // integer optimum.
        let cut = Cut::Cover(CoverCut {
            node: 0,
            sku: 0,
            items: vec![(0, 1), (1, 2)],
            rhs: 1,
        });
        pool.add_cuts(std::slice::from_ref(&cut), &options);
        pool.extend(options.iter().enumerate().skip(2), &prices);
        let mut priced = vec![0.0, 3.0];
        let columns = |o: usize, p: &[f64]| pool.order_columns(o, p);
        assert_eq!(columns(0, &priced), vec![(-7.0, 0)]);
        assert_eq!(columns(1, &priced), vec![(-17.0, 1), (-12.0, 2)]);
        priced[1] = 0.0;
        let ascent = pool.ascend(&priced, -22.0, 1.0, 5000, far, None);
        assert!(ascent.value <= -22.0 + 1e-9, "{}", ascent.value);
        assert!(ascent.value >= -22.0 - 1e-2, "{}", ascent.value);
        let cuts = pool.cut_prices(&ascent.prices);
        assert_eq!(cuts.cuts, vec![cut]);
    }
}
