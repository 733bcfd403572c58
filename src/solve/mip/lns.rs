//! Large-neighbourhood search for windows too big for one MIP: free a group of
//! orders that compete for the same stock, re-solve just that group exactly with
//! HiGHS against what everyone else leaves, keep the result when it is cheaper.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use highs::{ColProblem, Row};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{binding_rows_within, capacity_left, run_neighbourhood_mip};
use super::options::{FulfillmentOption, Resource};
use super::parallel::in_parts;
use super::primal::{Choice, fits, give_back, take};
use crate::cost::Network;
use crate::solve::{SolveOptions, Usage};

/// Orders freed per neighbourhood. Grown from the orders furthest above their best
/// response, small neighbourhoods pay best: many quick sub-MIPs save more than a
/// few large ones in the same time (docs/tuning.md).
const NEIGHBOURHOOD_ORDERS: usize = 100;
/// Candidate options per order for a sub-MIP: the cheapest by reduced cost; more
/// candidates let a sub-MIP save more (docs/tuning.md).
pub(super) const OPTIONS_PER_ORDER: usize = 10;
/// Longest HiGHS run per neighbourhood.
const SUB_MIP_LIMIT: Duration = Duration::from_millis(700);

/// What the search did.
#[derive(Default)]
pub(super) struct LnsStats {
    pub neighbourhoods: usize,
    pub improved: usize,
    pub saved: f64,
    /// Neighbourhoods grown from a seed order.
    pub seeded: usize,
    /// Rankings of the seed orders.
    pub rounds: usize,
}

/// Improves `choice` in place until `deadline`; never makes it worse. Each
/// neighbourhood grows from the skus of the next seed order that no earlier
/// neighbourhood of the round freed (`seeds` ranks the orders of a choice, most
/// promising first; a new round ranks them again), or from a random sku when no
/// seed is left, through the orders holding them, their other skus, the orders
/// holding those, and so on; the sub-MIP's columns are each freed order's
/// `candidates` (option ids) and its current option. `workers` disjoint
/// neighbourhoods are solved at a time, each on its own thread; their results are
/// applied one after the other, each only if it still fits.
#[allow(clippy::too_many_arguments)]
pub(super) fn search(
    net: &Network,
    options: &[FulfillmentOption],
    candidates: &[Vec<usize>],
    seeds: &dyn Fn(&Choice) -> Vec<usize>,
    choice: &mut Choice,
    opts: &SolveOptions,
    workers: usize,
    deadline: Instant,
) -> LnsStats {
    let mut stats = LnsStats::default();
    let orders = net.order_count();
    let mut orders_of_sku: Vec<Vec<usize>> = vec![Vec::new(); net.sku_count()];
    for o in 0..orders {
        for &(s, _) in &net.lines[o] {
            orders_of_sku[s].push(o);
        }
    }
    let skus_in_use: Vec<usize> = (0..net.sku_count())
        .filter(|&s| !orders_of_sku[s].is_empty())
        .collect();
    if skus_in_use.is_empty() {
        return stats;
    }
    let workers = workers.max(1);
    // One HiGHS thread per sub-MIP: on these small MIPs a second one mostly spins,
    // and with the spare-core ascent on the other core it slows each sub-MIP down
    // (docs/tuning.md).
    let mut sub_opts = quiet(opts);
    sub_opts.threads = 1;
    let mut usage = Usage::new(net);
    for j in choice.iter().flatten() {
        take(&mut usage, &options[*j]);
    }
    let mut grower = Grower {
        orders_of_sku,
        skus_in_use,
        freed: vec![false; orders],
        covered: vec![false; orders],
        rng: ChaCha8Rng::seed_from_u64(opts.seed ^ 0x1a5),
    };
    // This round's seeds and the next one to look at.
    let mut round = seeds(choice);
    stats.rounds = 1;
    let mut improved_at_round = 0;
    let mut next_seed = 0;
    let cancelled = || {
        opts.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    };
    while Instant::now() + Duration::from_millis(50) < deadline && !cancelled() {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for _ in 0..workers {
            stats.neighbourhoods += 1;
            while next_seed < round.len() && grower.covered[round[next_seed]] {
                next_seed += 1;
            }
            if next_seed == round.len() && stats.improved > improved_at_round {
                // Every seed had its turn and some neighbourhood improved: rank again.
                round = seeds(choice);
                grower.covered.iter_mut().for_each(|c| *c = false);
                next_seed = 0;
                improved_at_round = stats.improved;
                stats.rounds += 1;
            }
            let seed = round.get(next_seed).copied().filter(|&o| !grower.freed[o]);
            stats.seeded += usize::from(seed.is_some());
            groups.push(grower.grow(net, seed));
        }
        // Each sub-MIP: its orders' candidates and own options as columns, against
        // what everyone outside its group uses.
        let problems: Vec<(Vec<(usize, usize)>, Usage)> = groups
            .iter()
            .map(|group| {
                let mut columns: Vec<(usize, usize)> = Vec::new(); // (group position, option)
                let mut left = usage.clone();
                for (g, &o) in group.iter().enumerate() {
                    let mut ids: Vec<usize> = candidates[o].clone();
                    if let Some(j) = choice[o] {
                        give_back(&mut left, &options[j]);
                        if !ids.contains(&j) {
                            ids.push(j);
                        }
                    }
                    columns.extend(ids.into_iter().map(|j| (g, j)));
                }
                (columns, left)
            })
            .collect();
        let current: &Choice = choice;
        let results: Vec<Option<Vec<Option<usize>>>> = in_parts(groups.len(), |i| {
            let (columns, left) = &problems[i];
            sub_mip(
                options, &groups[i], columns, left, current, &sub_opts, deadline,
            )
        });
        for (group, new_choice) in groups.iter().zip(results) {
            if let Some(saved) = apply(options, group, new_choice, choice, &mut usage) {
                stats.improved += 1;
                stats.saved += saved;
            }
        }
        for &o in groups.iter().flatten() {
            grower.freed[o] = false;
        }
    }
    stats
}

/// Grows neighbourhoods over shared skus: the orders freed now (`freed`), and those
/// some neighbourhood of the current round of seeds has freed (`covered`).
struct Grower {
    orders_of_sku: Vec<Vec<usize>>,
    skus_in_use: Vec<usize>,
    freed: Vec<bool>,
    covered: Vec<bool>,
    rng: ChaCha8Rng,
}

impl Grower {
    /// Up to [`NEIGHBOURHOOD_ORDERS`] orders not freed yet, now freed: `seed` (else a
    /// random sku's orders), the orders sharing its skus, their other skus' orders,
    /// and so on, with a random sku whenever that runs dry.
    fn grow(&mut self, net: &Network, seed: Option<usize>) -> Vec<usize> {
        let mut group: Vec<usize> = Vec::new();
        let mut pending: Vec<usize> = match seed {
            Some(o) => {
                self.free(o, &mut group);
                net.lines[o].iter().map(|&(k, _)| k).collect()
            }
            None => vec![self.random_sku()],
        };
        let mut seen_sku: HashSet<usize> = HashSet::new();
        while let Some(s) = pending.pop() {
            if group.len() >= NEIGHBOURHOOD_ORDERS {
                break;
            }
            if !seen_sku.insert(s) {
                continue;
            }
            for i in 0..self.orders_of_sku[s].len() {
                let o = self.orders_of_sku[s][i];
                if !self.freed[o] && group.len() < NEIGHBOURHOOD_ORDERS {
                    self.free(o, &mut group);
                    pending.extend(net.lines[o].iter().map(|&(k, _)| k));
                }
            }
            if pending.is_empty() && group.len() < NEIGHBOURHOOD_ORDERS {
                pending.push(self.random_sku());
            }
        }
        group
    }

    fn free(&mut self, o: usize, group: &mut Vec<usize>) {
        self.freed[o] = true;
        self.covered[o] = true;
        group.push(o);
    }

    fn random_sku(&mut self) -> usize {
        self.skus_in_use[self.rng.gen_range(0..self.skus_in_use.len())]
    }
}

/// The cost of some orders' options (`None`: nothing shipped, cost 0).
fn cost_of(options: &[FulfillmentOption], choices: impl Iterator<Item = Option<usize>>) -> f64 {
    choices.flatten().map(|j| options[j].saving_cost).sum()
}

/// Gives `group` the options `new_choice` if they cost less than its current ones
/// and fit what the others use now; returns the saving.
fn apply(
    options: &[FulfillmentOption],
    group: &[usize],
    new_choice: Option<Vec<Option<usize>>>,
    choice: &mut Choice,
    usage: &mut Usage,
) -> Option<f64> {
    let new_choice = new_choice?;
    let old_cost = cost_of(options, group.iter().map(|&o| choice[o]));
    let new_cost = cost_of(options, new_choice.iter().copied());
    if new_cost >= old_cost - 1e-6 {
        return None;
    }
    let mut trial = usage.clone();
    for &o in group {
        if let Some(j) = choice[o] {
            give_back(&mut trial, &options[j]);
        }
    }
    for &j in new_choice.iter().flatten() {
        if !fits(&trial, &options[j]) {
            return None;
        }
        take(&mut trial, &options[j]);
    }
    *usage = trial;
    for (&o, c) in group.iter().zip(new_choice) {
        choice[o] = c;
    }
    Some(old_cost - new_cost)
}

/// Solves the freed group exactly over `columns` against the stock and capacity
/// `left` by everyone else, started from the current choice. Returns each group
/// order's new option.
fn sub_mip(
    options: &[FulfillmentOption],
    group: &[usize],
    columns: &[(usize, usize)],
    left: &Usage,
    choice: &Choice,
    opts: &SolveOptions,
    deadline: Instant,
) -> Option<Vec<Option<usize>>> {
    // Rows only for resources the group could overuse.
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); group.len()];
    for &(g, j) in columns {
        groups[g].push(j);
    }
    let binding = binding_rows_within(options, &groups, |r| capacity_left(left, r));
    let mut p = ColProblem::default();
    let order_rows: Vec<Row> = group.iter().map(|_| p.add_row(..=1.0)).collect();
    let resource_rows: HashMap<Resource, Row> = binding
        .into_iter()
        .map(|(r, c)| (r, p.add_row(..=c.max(0.0))))
        .collect();
    for &(g, j) in columns {
        let factors: Vec<(Row, f64)> = std::iter::once((order_rows[g], 1.0))
            .chain(
                options[j]
                    .usage()
                    .into_iter()
                    .filter_map(|(r, q)| resource_rows.get(&r).map(|&row| (row, q))),
            )
            .collect();
        p.add_column_with_integrality(options[j].saving_cost, 0.0..=1.0, factors, true);
    }
    let start: Vec<f64> = columns
        .iter()
        .map(|&(g, j)| f64::from(u8::from(choice[group[g]] == Some(j))))
        .collect();
    let sub_deadline = deadline.min(Instant::now() + SUB_MIP_LIMIT);
    let run = run_neighbourhood_mip(p, start, opts, sub_deadline)?;
    let mut out: Vec<Option<usize>> = vec![None; group.len()];
    for (&(g, j), &x) in columns.iter().zip(&run.columns) {
        if x > 0.5 {
            out[g] = Some(j);
        }
    }
    Some(out)
}

/// The solve options for sub-MIPs: no model export.
fn quiet(opts: &SolveOptions) -> SolveOptions {
    let mut o = opts.clone();
    o.write_model = None;
    o
}
