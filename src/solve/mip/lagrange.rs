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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use super::cuts::{Cut, CutPrices, counting};
use super::options::FulfillmentOption;
use super::prices::Prices;

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

/// Orders below which the ascent evaluates its steps on one thread.
const PARALLEL_ORDERS: usize = 4096;
/// Orders per block that the ascent's threads claim one at a time: small enough
/// that a thread the machine holds back delays a step by one block at most.
const BLOCK_ORDERS: usize = 256;
/// A step's number sits above this bit of [`Crew::claim`], its next block below.
const STEP_SHIFT: u32 = 32;
/// The bits of [`Crew::claim`] that count its blocks.
const BLOCK_MASK: u64 = (1 << STEP_SHIFT) - 1;

/// What the ascent's threads share while they evaluate its steps. The helper
/// threads live as long as one [`Pool::ascend`]: a step is about a millisecond of
/// work, too little to pay for a thread spawned per step, so a helper waits for
/// the next step, spinning briefly and then parked until the caller wakes it
/// (a parked helper leaves its core to whatever else runs on the machine).
/// Blocks are claimed, not dealt, so a thread the machine holds back leaves its
/// share to the other.
struct Crew {
    /// The step in progress (above [`STEP_SHIFT`]) and its next unclaimed block.
    claim: AtomicU64,
    /// Blocks of the step in progress evaluated.
    done: AtomicUsize,
    /// The prices of the step in progress.
    prices: RwLock<Vec<f64>>,
    /// Per block: its orders' part of `L(π)` (as bits), summed in block order so
    /// that the value does not depend on which thread took which block.
    block_values: Vec<AtomicU64>,
    /// Per helper: the step its row use is for, and that use.
    helper_usage: Vec<Mutex<(u64, Vec<f64>)>>,
    /// Tells the helpers to return.
    stop: AtomicBool,
    /// Raised when a helper returns: before `stop`, only by a panic, which the
    /// step being waited for must not outwait.
    helper_gone: AtomicBool,
    /// The helper threads, woken when a step is published or the crew stops.
    helpers: Mutex<Vec<std::thread::Thread>>,
}

impl Crew {
    /// Wakes every parked helper.
    fn wake(&self) {
        for helper in self.helpers.lock().expect("ascent helpers").iter() {
            helper.unpark();
        }
    }
}

/// Stops the crew's helpers and wakes them to see it when dropped.
struct StopCrew<'a>(&'a Crew);

impl Drop for StopCrew<'_> {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Release);
        self.0.wake();
    }
}

/// How long a waiting thread of the ascent spins before it parks (a helper) or
/// yields its core (the caller): about a tenth of a step.
const SPIN_BEFORE_REST: std::time::Duration = std::time::Duration::from_micros(50);
/// Longest a helper stays parked without being woken: a guard, not a schedule.
const PARK_AT_MOST: std::time::Duration = std::time::Duration::from_millis(2);

/// Raises its flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
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

    /// Order `o`'s cheapest column by reduced cost at `prices` and that reduced cost,
    /// or `(0.0, u32::MAX)` when none costs less than nothing.
    fn best_column(&self, o: usize, prices: &[f64]) -> (f64, u32) {
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
        (min, arg)
    }

    /// The orders part of `L(π)` over block `block` of [`BLOCK_ORDERS`] orders;
    /// adds the chosen columns' row use to `usage` and a vote for each to `votes`.
    fn evaluate_block(
        &self,
        block: usize,
        prices: &[f64],
        usage: &mut [f64],
        votes: &mut [u32],
    ) -> f64 {
        let orders = block * BLOCK_ORDERS..((block + 1) * BLOCK_ORDERS).min(self.orders());
        let mut value = 0.0;
        for o in orders {
            let (min, arg) = self.best_column(o, prices);
            value += min;
            if arg == u32::MAX {
                continue;
            }
            let col = arg as usize;
            votes[col] += 1;
            let (a, b) = (
                self.entry_start[col] as usize,
                self.entry_start[col + 1] as usize,
            );
            for e in &self.entries[a..b] {
                usage[e.row as usize] += f64::from(e.qty);
            }
        }
        value
    }

    /// Claims and evaluates blocks of `step` until none is left; `usage` holds
    /// this thread's row use for the step it is tagged with (zeroed and tagged
    /// with `step` at the first block claimed).
    fn work_on_step(&self, crew: &Crew, step: u64, usage: &mut (u64, Vec<f64>), votes: &mut [u32]) {
        let prices = crew.prices.read().expect("ascent prices");
        loop {
            let claim = crew.claim.load(Ordering::Acquire);
            let block = (claim & BLOCK_MASK) as usize;
            if claim >> STEP_SHIFT != step || block >= crew.block_values.len() {
                break;
            }
            if crew
                .claim
                .compare_exchange_weak(claim, claim + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                continue;
            }
            if usage.0 != step {
                usage.0 = step;
                usage.1.fill(0.0);
            }
            let value = self.evaluate_block(block, &prices, &mut usage.1, votes);
            crew.block_values[block].store(value.to_bits(), Ordering::Relaxed);
            crew.done.fetch_add(1, Ordering::Release);
        }
    }

    /// Evaluates step `step` at `prices` with the helpers: publishes it, works on
    /// it (this thread's row use in `own`), waits until every block is done.
    /// Returns `L(π)` on the pool, and the step's whole row use in `usage`.
    fn evaluate_step(
        &self,
        crew: &Crew,
        step: u64,
        prices: &[f64],
        own: &mut (u64, Vec<f64>),
        usage: &mut [f64],
        votes: &mut [u32],
    ) -> f64 {
        crew.prices
            .write()
            .expect("ascent prices")
            .copy_from_slice(prices);
        crew.done.store(0, Ordering::Relaxed);
        crew.claim.store(step << STEP_SHIFT, Ordering::Release);
        crew.wake();
        self.work_on_step(crew, step, own, votes);
        // The blocks left are the ones helpers are evaluating now: a short wait.
        let waiting = Instant::now();
        while crew.done.load(Ordering::Acquire) < crew.block_values.len() {
            assert!(
                !crew.helper_gone.load(Ordering::Acquire),
                "an ascent helper thread stopped"
            );
            if waiting.elapsed() < SPIN_BEFORE_REST {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        // Row use is whole units: the sum is exact in any order.
        usage.fill(0.0);
        let mut add = |(tag, part): &(u64, Vec<f64>)| {
            if *tag == step {
                for (u, x) in usage.iter_mut().zip(part) {
                    *u += x;
                }
            }
        };
        add(own);
        for helper in &crew.helper_usage {
            add(&helper.lock().expect("helper usage"));
        }
        let capacity_cost: f64 = prices.iter().zip(&self.capacity).map(|(p, c)| p * c).sum();
        let orders_part: f64 = crew
            .block_values
            .iter()
            .map(|v| f64::from_bits(v.load(Ordering::Relaxed)))
            .sum();
        orders_part - capacity_cost
    }

    /// A helper thread of the ascent: waits for each new step (spinning a moment,
    /// then parked) and works on it, until `crew.stop`. Returns its votes per column.
    fn help(&self, crew: &Crew, helper: usize) -> Vec<u32> {
        let _gone = StopOnDrop(&crew.helper_gone);
        crew.helpers
            .lock()
            .expect("ascent helpers")
            .push(std::thread::current());
        let mut votes = vec![0; self.cost.len()];
        let mut seen = 0;
        let mut idle_since = None;
        while !crew.stop.load(Ordering::Acquire) {
            let step = crew.claim.load(Ordering::Acquire) >> STEP_SHIFT;
            if step == seen {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() < SPIN_BEFORE_REST {
                    std::hint::spin_loop();
                } else {
                    std::thread::park_timeout(PARK_AT_MOST);
                }
                continue;
            }
            idle_since = None;
            seen = step;
            let mut usage = crew.helper_usage[helper].lock().expect("helper usage");
            self.work_on_step(crew, step, &mut usage, &mut votes);
        }
        votes
    }

    /// Each order's best reduced cost at `prices` (≤ 0: nothing costs 0).
    pub(super) fn order_minima(&self, prices: &[f64]) -> Vec<f64> {
        (0..self.orders())
            .map(|o| self.best_column(o, prices).0)
            .collect()
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
    /// the stock prices hardly move. Scaled, the ascent reaches a clearly higher
    /// bound in the same time (docs/tuning.md). Any prices `π ≥ 0` give a valid
    /// bound, so the scaling costs no validity.
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
        let mut prices = start.to_vec();
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
        let helpers = if orders >= PARALLEL_ORDERS {
            self.threads - 1
        } else {
            0
        };
        let crew = Crew {
            claim: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            prices: RwLock::new(prices.clone()),
            block_values: (0..orders.div_ceil(BLOCK_ORDERS))
                .map(|_| AtomicU64::new(0))
                .collect(),
            helper_usage: (0..helpers)
                .map(|_| Mutex::new((0, vec![0.0; rows])))
                .collect(),
            stop: AtomicBool::new(false),
            helper_gone: AtomicBool::new(false),
            helpers: Mutex::new(Vec::new()),
        };
        std::thread::scope(|scope| {
            let crew = &crew;
            let workers: Vec<_> = (0..helpers)
                .map(|h| scope.spawn(move || self.help(crew, h)))
                .collect();
            // Stops the helpers however the steps end (a panic included).
            let _stop = StopCrew(crew);
            let mut own_usage = (0, vec![0.0; rows]);
            let mut stalled = 0;
            for it in 0..max_iterations {
                if it % 8 == 0
                    && (Instant::now() >= deadline
                        || cancel.is_some_and(|c| c.load(Ordering::Relaxed)))
                {
                    break;
                }
                out.iterations = it + 1;
                let step = it as u64 + 1;
                let value = self.evaluate_step(
                    crew,
                    step,
                    &prices,
                    &mut own_usage,
                    &mut usage,
                    &mut out.votes,
                );
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
                // make the step markedly slower; docs/tuning.md): a row that stays gets
                // +0.0, as the branch gave it, so the steps are the same.
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
                let length = out.scale * (target - value).max(1e-6 * target.abs()) / scaled_norm2;
                for (p, d) in prices.iter_mut().zip(&direction) {
                    *p = (*p + length * d).max(0.0);
                }
            }
            drop(_stop);
            for worker in workers {
                let votes = worker.join().expect("ascent helper");
                for (v, w) in out.votes.iter_mut().zip(votes) {
                    *v += w;
                }
            }
        });
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
    fn two_threads_step_exactly_as_one() {
        // Enough orders for the helper thread to take part.
        let orders = 2 * PARALLEL_ORDERS;
        let nodes = 7;
        let rows: Vec<(Resource, f64)> = (0..nodes)
            .map(|n| (Resource::Stock(n, 0), (orders / 10) as f64))
            .collect();
        let prices = Prices::zero(&rows);
        let options: Vec<FulfillmentOption> = (0..orders)
            .flat_map(|o| {
                let cost = -10.0 - (o % 13) as f64;
                [
                    option(o, o % nodes, cost),
                    option(o, (3 * o + 1) % nodes, cost + 1.5),
                ]
            })
            .collect();
        let far = Instant::now() + std::time::Duration::from_secs(60);
        let run = |threads: usize| {
            let mut pool = Pool::new(orders, &prices, threads);
            pool.extend(options.iter().enumerate(), &prices);
            let target = -8.0 * orders as f64;
            pool.ascend(&prices.values, target, 1.0, 200, far, None)
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one.iterations, two.iterations);
        assert_eq!(one.value.to_bits(), two.value.to_bits());
        assert_eq!(one.prices, two.prices);
        assert_eq!(one.votes, two.votes);
        // Stock binds: the prices moved, and some orders then ship nothing.
        assert!(one.prices.iter().any(|&p| p > 0.0), "{:?}", one.prices);
        let votes: usize = one.votes.iter().map(|&v| v as usize).sum();
        assert!(votes > 0 && votes < orders * one.iterations, "{votes}");
    }

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
