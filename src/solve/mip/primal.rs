//! Plans as one option per order: booking options against stock and capacity, a
//! price-directed construction, and single-order moves that polish a plan.

use std::time::Instant;

use super::options::FulfillmentOption;
use crate::cost::Network;
use crate::solve::{Allocation, Usage};

/// Each order's chosen option (`None`: nothing shipped).
pub(super) type Choice = Vec<Option<usize>>;

/// Whether an option fits the stock and capacity left.
pub(super) fn fits(usage: &Usage, option: &FulfillmentOption) -> bool {
    // Shipments of one option come from distinct nodes, so each check is per shipment.
    option.shipments.iter().all(|a| {
        usage.shipments[a.node] >= 1
            && usage.units[a.node] >= i64::from(a.units())
            && a.lines
                .iter()
                .all(|&(s, q)| usage.stock_left(a.node, s) >= i64::from(q))
    })
}

/// Books an option's shipments.
pub(super) fn take(usage: &mut Usage, option: &FulfillmentOption) {
    for a in &option.shipments {
        usage.take(a.node, &a.lines);
    }
}

/// Returns an option's shipments.
pub(super) fn give_back(usage: &mut Usage, option: &FulfillmentOption) {
    for a in &option.shipments {
        usage.give_back(a.node, &a.lines);
    }
}

/// Price-directed construction: every order ranks its options by reduced cost
/// `rc(j)`; orders that lose most by missing their best option go first and take
/// their best option that still fits. Orders left with nothing then take their
/// cheapest fitting option by real cost.
pub(super) fn price_directed(
    net: &Network,
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    rc: &dyn Fn(usize) -> f64,
) -> Choice {
    let orders = net.order_count();
    let mut ranked: Vec<Vec<(f64, usize)>> = by_order
        .iter()
        .map(|ids| {
            let mut v: Vec<(f64, usize)> = ids.iter().map(|&j| (rc(j), j)).collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            v
        })
        .collect();
    // Regret: how much worse the second choice (or nothing) is than the first.
    let regret = |v: &[(f64, usize)]| match v {
        [] => 0.0,
        [(a, _)] => -a.min(0.0),
        [(a, _), (b, _), ..] => b.min(0.0) - a,
    };
    let mut seq: Vec<usize> = (0..orders).collect();
    seq.sort_by(|&a, &b| {
        regret(&ranked[b])
            .total_cmp(&regret(&ranked[a]))
            .then(a.cmp(&b))
    });
    let mut usage = Usage::new(net);
    let mut choice: Choice = vec![None; orders];
    for &o in &seq {
        if let Some(&(_, j)) = ranked[o]
            .iter()
            .take_while(|&&(r, _)| r < 0.0)
            .find(|&&(_, j)| fits(&usage, &options[j]))
        {
            take(&mut usage, &options[j]);
            choice[o] = Some(j);
        }
    }
    for &o in &seq {
        if choice[o].is_none() {
            ranked[o].sort_by(|a, b| {
                options[a.1]
                    .saving_cost
                    .total_cmp(&options[b.1].saving_cost)
            });
            if let Some(&(_, j)) = ranked[o]
                .iter()
                .find(|&&(_, j)| options[j].saving_cost < 0.0 && fits(&usage, &options[j]))
            {
                take(&mut usage, &options[j]);
                choice[o] = Some(j);
            }
        }
    }
    choice
}

/// Local search: each order in turn moves to its cheapest option (by real cost) that
/// fits once its own option is returned; repeats while a pass improves and time is
/// left. Never makes the plan worse.
pub(super) fn improve(
    net: &Network,
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    choice: &mut Choice,
    deadline: Instant,
) {
    let mut usage = Usage::new(net);
    for j in choice.iter().flatten() {
        take(&mut usage, &options[*j]);
    }
    let cost = |c: Option<usize>| c.map_or(0.0, |j| options[j].saving_cost);
    loop {
        let mut improved = false;
        for o in 0..choice.len() {
            if o % 512 == 0 && Instant::now() >= deadline {
                return;
            }
            let current = choice[o];
            if let Some(j) = current {
                give_back(&mut usage, &options[j]);
            }
            let mut best = current;
            for &j in &by_order[o] {
                if options[j].saving_cost < cost(best) - 1e-9 && fits(&usage, &options[j]) {
                    best = Some(j);
                }
            }
            if let Some(j) = best {
                take(&mut usage, &options[j]);
            }
            if best != current {
                choice[o] = best;
                improved = true;
            }
        }
        if !improved {
            return;
        }
    }
}

/// The allocations of a choice.
pub(super) fn allocations(options: &[FulfillmentOption], choice: &Choice) -> Vec<Allocation> {
    choice
        .iter()
        .flatten()
        .flat_map(|&j| options[j].shipments.iter().cloned())
        .collect()
}
