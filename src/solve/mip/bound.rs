//! A lower bound valid for the full problem, from any nonnegative resource prices.

use std::time::Instant;

use super::model::Model;
use super::options::{Resource, has_capacity};
use crate::cost::{Network, ServiceChoice};

/// Lagrangian lower bound (without the constant Σ unfilled penalty) from LP duals.
///
/// Resource rows are priced at their dual values; every order then picks its best
/// response over *all* its possible options, bounded from below by a relaxation
/// (cheapest service base and per-weight parts taken separately, and any split bounded
/// by the two cheapest fixed costs), so the bound holds for the full problem.
/// A best response: shipments as (node, (sku, qty) lines).
pub(super) type Response = Vec<(usize, Vec<(usize, u32)>)>;

/// The bound and, per order, the shipments of its best response under the relaxation
/// (empty when shipping nothing is best), from which column generation builds real
/// options.
pub(super) fn lagrangian_bound(
    net: &Network,
    model: &Model,
    row_duals: &[f64],
    deadline: Instant,
) -> Option<(f64, Vec<Response>)> {
    let mut responses = Vec::with_capacity(model.orders);
    // HiGHS reports duals of ≤ rows in a minimization as ≤ 0; the price is −dual.
    let orders = model.orders;
    let price = |r: Resource| model.price(row_duals, r);
    let mut bound: f64 = model.rows.iter().map(|&(r, cap)| -price(r) * cap).sum();
    let services = &net.instance.rate_card.services;
    for order in 0..orders {
        if order % 256 == 0 && Instant::now() >= deadline {
            return None;
        }
        let o = net.order(order);
        let lines = &net.lines[order];
        let penalty = net.unit_penalty(order);
        let split = net.instance.costs.split_penalty;
        let nodes: Vec<usize> = match net.pickup[order] {
            Some(p) => vec![p],
            None => (0..net.node_count()).collect(),
        };
        let mut best_single = 0.0f64; // shipping nothing
        let mut best_single_response: Response = Vec::new();
        let mut fixed_nodes: Vec<usize> = Vec::new();
        // Per usable node: its fixed reduced cost; offers name nodes by position here.
        let mut fixed: Vec<f64> = Vec::new();
        // Per line: (reduced unit cost, units available) at each node that can ship it.
        let mut unit_offers: Vec<Vec<(usize, f64, u32)>> = vec![Vec::new(); lines.len()];
        for n in nodes {
            if !has_capacity(net, n) || !lines.iter().any(|&(s, _)| net.available(n, s) > 0) {
                continue;
            }
            let node = &net.instance.nodes[n];
            let zone = net.lane(order, n).zone;
            // Cheapest allowed base and per-weight parts (pickup: none).
            let allowed: Vec<usize> = match net.pickup[order] {
                Some(_) => vec![],
                None => (0..services.len())
                    .filter(|&s| {
                        net.price(order, n, zone, ServiceChoice::Carrier(s), 1, 0.0)
                            .is_some()
                    })
                    .collect(),
            };
            if net.pickup[order].is_none() && allowed.is_empty() {
                continue;
            }
            let late = |s: usize| {
                net.price(order, n, zone, ServiceChoice::Carrier(s), 1, 0.0)
                    .map_or(0.0, |p| p.late)
            };
            let base = allowed
                .iter()
                .map(|&s| services[s].base[zone] + late(s))
                .fold(f64::INFINITY, f64::min);
            let per_weight = allowed
                .iter()
                .map(|&s| services[s].per_weight[zone])
                .fold(f64::INFINITY, f64::min);
            let (base, per_weight) = if net.pickup[order].is_some() {
                (0.0, 0.0)
            } else {
                (base, per_weight)
            };
            let f = node.cost_per_shipment + base + price(Resource::Shipments(n));
            let unit_price = price(Resource::Units(n));
            // Single-node best response: ship each unit whose reduced cost is negative.
            let mut single = f;
            let mut all = true;
            for (i, &(s, q)) in lines.iter().enumerate() {
                let a = node.cost_per_unit
                    + per_weight * net.sku_weight[s]
                    + price(Resource::Stock(n, s))
                    + unit_price
                    - penalty;
                let avail = net.available(n, s).min(q);
                all &= avail == q;
                if a < 0.0 && avail > 0 {
                    single += a * f64::from(avail);
                    unit_offers[i].push((fixed.len(), a, avail));
                }
            }
            if o.ship_complete {
                // All units or nothing: only nodes holding every unit count.
                if all {
                    let full: f64 = lines
                        .iter()
                        .map(|&(s, q)| {
                            (node.cost_per_unit
                                + per_weight * net.sku_weight[s]
                                + price(Resource::Stock(n, s))
                                + unit_price
                                - penalty)
                                * f64::from(q)
                        })
                        .sum();
                    if f + full < best_single {
                        best_single = f + full;
                        best_single_response = vec![(n, lines.clone())];
                    }
                }
                continue;
            }
            if single < best_single {
                best_single = single;
                let shipped: Vec<(usize, u32)> = unit_offers
                    .iter()
                    .zip(lines)
                    .filter_map(|(offers, &(s, _))| {
                        offers
                            .last()
                            .filter(|o| o.0 == fixed.len())
                            .map(|o| (s, o.2))
                    })
                    .collect();
                best_single_response = vec![(n, shipped)];
            }
            fixed.push(f);
            fixed_nodes.push(n);
        }
        let total: u32 = lines.iter().map(|&(_, q)| q).sum();
        let max_size = (o.max_shipments.unwrap_or(u32::MAX).min(total) as usize).min(fixed.len());
        let (best, set) = if o.ship_complete || max_size < 2 {
            (best_single, None)
        } else {
            best_best_response(best_single, &fixed, &unit_offers, lines, split, max_size)
        };
        bound += best;
        responses.push(match set {
            None => best_single_response,
            Some(set) => fill_response(&set, &fixed_nodes, &unit_offers, lines),
        });
    }
    Some((bound, responses))
}

/// The shipments of a multi-node best response: each line's units from the set's
/// cheapest offers within stock.
fn fill_response(
    set: &[usize],
    fixed_nodes: &[usize],
    offers: &[Vec<(usize, f64, u32)>],
    lines: &[(usize, u32)],
) -> Response {
    let mut per_node: Vec<(usize, Vec<(usize, u32)>)> =
        set.iter().map(|&p| (fixed_nodes[p], Vec::new())).collect();
    for (line_offers, &(sku, qty)) in offers.iter().zip(lines) {
        let mut sorted: Vec<&(usize, f64, u32)> =
            line_offers.iter().filter(|o| set.contains(&o.0)).collect();
        sorted.sort_by(|x, y| x.1.total_cmp(&y.1));
        let mut left = qty;
        for o in sorted {
            let take = left.min(o.2);
            if take > 0 {
                let i = set.iter().position(|&p| p == o.0).expect("in set");
                per_node[i].1.push((sku, take));
                left -= take;
            }
        }
    }
    per_node.retain(|(_, l)| !l.is_empty());
    per_node
}

/// Most node subsets of one size evaluated exactly per order in the bound.
const SUBSETS_PER_SIZE: usize = 1500;

/// The lowest relaxed reduced cost of an order over every set of 2..=`max_size` nodes
/// (and `best_single` for one node): small sets are enumerated exactly, each line
/// filled from the set's cheapest offers within stock; when a size has too many sets,
/// all larger sets are bounded at once by the cheapest fixed costs plus every line
/// filled from the cheapest offers anywhere.
fn best_best_response(
    best_single: f64,
    fixed: &[f64],
    offers: &[Vec<(usize, f64, u32)>],
    lines: &[(usize, u32)],
    split: f64,
    max_size: usize,
) -> (f64, Option<Vec<usize>>) {
    let mut offers: Vec<Vec<(usize, f64, u32)>> = offers.to_vec();
    for o in &mut offers {
        o.sort_by(|x, y| x.1.total_cmp(&y.1));
    }
    let fill = |in_set: &dyn Fn(usize) -> bool| -> f64 {
        lines
            .iter()
            .zip(&offers)
            .map(|(&(_, q), line_offers)| {
                let mut left = q;
                let mut sum = 0.0;
                for &(_, a, avail) in line_offers.iter().filter(|o| in_set(o.0)) {
                    let take = left.min(avail);
                    sum += a * f64::from(take);
                    left -= take;
                }
                sum
            })
            .sum()
    };
    // Only nodes with a profitable unit can be in a best response.
    let mut useful: Vec<usize> = offers.iter().flatten().map(|o| o.0).collect();
    useful.sort_unstable();
    useful.dedup();
    let m = useful.len();
    let max_size = max_size.min(m);
    let mut best = best_single;
    let mut best_set: Option<Vec<usize>> = None;
    let mut sorted_fixed: Vec<f64> = useful.iter().map(|&i| fixed[i]).collect();
    sorted_fixed.sort_by(f64::total_cmp);
    for k in 2..=max_size {
        if binomial(m, k) > SUBSETS_PER_SIZE {
            // Two valid bounds on every set of k or more nodes; the larger holds.
            let anywhere = fill(&|_| true);
            let f: f64 = sorted_fixed[..k].iter().sum();
            let mut relaxed = f + split * (k - 1) as f64 + anywhere;
            if lines.len() <= DP_LINES {
                relaxed = relaxed.max(group_bound(
                    &useful, fixed, &offers, lines, split, k, max_size,
                ));
            }
            if relaxed < best {
                // The relaxation names no real set: keep the best exact set found.
                best = relaxed;
            }
            break;
        }
        for_each_subset(m, k, &mut |set: &[usize]| {
            let f: f64 = set.iter().map(|&i| fixed[useful[i]]).sum();
            let cost = f + split * (k - 1) as f64 + fill(&|n| set.iter().any(|&i| useful[i] == n));
            if cost < best {
                best = cost;
                best_set = Some(set.iter().map(|&i| useful[i]).collect());
            }
        });
    }
    (best, best_set)
}

/// Orders with at most this many lines get the line-group bound for large node sets.
const DP_LINES: usize = 8;

/// Lowest relaxed cost over sets of `min_nodes..=max_nodes` nodes, ignoring stock
/// caps: each node serves a group of whole lines at its fixed cost plus its unit
/// costs, every other line stays unfilled. Exact for that relaxation by dynamic
/// programming over line subsets and group counts.
fn group_bound(
    useful: &[usize],
    fixed: &[f64],
    offers: &[Vec<(usize, f64, u32)>],
    lines: &[(usize, u32)],
    split: f64,
    min_nodes: usize,
    max_nodes: usize,
) -> f64 {
    let l = lines.len();
    let full = 1usize << l;
    // cost1[sub]: cheapest single node serving exactly the lines in `sub`.
    let mut cost1 = vec![f64::INFINITY; full];
    for &p in useful {
        let unit: Vec<f64> = (0..l)
            .map(|i| {
                offers[i]
                    .iter()
                    .find(|o| o.0 == p)
                    .map_or(f64::INFINITY, |o| o.1 * f64::from(lines[i].1))
            })
            .collect();
        for (sub, c) in cost1.iter_mut().enumerate().skip(1) {
            let v = fixed[p]
                + (0..l)
                    .filter(|i| sub & (1 << i) != 0)
                    .map(|i| unit[i])
                    .sum::<f64>();
            if v < *c {
                *c = v;
            }
        }
    }
    // best[mask][k]: lines in `mask` served by exactly k groups.
    let max_nodes = max_nodes.min(l);
    let mut best = vec![vec![f64::INFINITY; max_nodes + 1]; full];
    best[0][0] = 0.0;
    for mask in 1..full {
        let low = mask & mask.wrapping_neg();
        let mut sub = mask;
        while sub > 0 {
            if sub & low != 0 && cost1[sub].is_finite() {
                let rest = mask ^ sub;
                for k in 1..=max_nodes {
                    let prev = best[rest][k - 1];
                    if prev.is_finite() {
                        let extra = if k >= 2 { split } else { 0.0 };
                        let v = prev + cost1[sub] + extra;
                        if v < best[mask][k] {
                            best[mask][k] = v;
                        }
                    }
                }
            }
            sub = (sub - 1) & mask;
        }
    }
    let mut out = f64::INFINITY;
    for row in best.iter().skip(1) {
        for &v in row.iter().skip(min_nodes) {
            out = out.min(v);
        }
    }
    out
}

fn binomial(n: usize, k: usize) -> usize {
    (0..k).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// Calls `f` with every k-subset of 0..n, in lexicographic order.
fn for_each_subset(n: usize, k: usize, f: &mut dyn FnMut(&[usize])) {
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        f(&idx);
        let Some(i) = (0..k).rev().find(|&i| idx[i] < n - k + i) else {
            return;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}
