//! A lower bound valid for the full problem, from any nonnegative resource prices.

use std::time::Instant;

use super::model::Prices;
use super::options::{Resource, has_capacity};
use crate::cost::{Network, ServiceChoice};

/// A best response: shipments as (node, (sku, qty) lines).
pub(super) type Response = Vec<(usize, Vec<(usize, u32)>)>;

/// Lagrangian lower bound (without the constant Σ unfilled penalty) from resource
/// prices, and per order the shipments of its best response under the relaxation
/// (empty when shipping nothing is best), from which column generation builds real
/// options.
///
/// Resource rows are priced at `prices`; every order then picks its best response
/// over *all* its possible options, bounded from below by a relaxation (cheapest
/// service base and per-weight parts taken separately, and any split bounded by the
/// two cheapest fixed costs), so the bound holds for the full problem.
pub(super) fn lagrangian_bound(
    net: &Network,
    prices: &Prices,
    threads: usize,
    deadline: Instant,
) -> Option<(f64, Vec<Response>)> {
    let orders = net.order_count();
    let chunk = orders.div_ceil(threads.max(1)).max(1024);
    let parts: Vec<Option<(f64, Vec<Response>)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..orders)
            .step_by(chunk)
            .map(|first| {
                s.spawn(move || {
                    let mut bound = 0.0;
                    let mut responses = Vec::with_capacity(chunk);
                    for order in first..orders.min(first + chunk) {
                        if order % 256 == 0 && Instant::now() >= deadline {
                            return None;
                        }
                        let (best, response) = order_best_response(net, prices, order);
                        bound += best;
                        responses.push(response);
                    }
                    Some((bound, responses))
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("bound worker"))
            .collect()
    });
    let mut bound = -prices.cost_of_capacity();
    let mut responses = Vec::with_capacity(orders);
    for part in parts {
        let (b, r) = part?;
        bound += b;
        responses.extend(r);
    }
    Some((bound, responses))
}

/// One order's lowest relaxed reduced cost over all its options (≤ 0: shipping
/// nothing costs 0) and the shipments of that best response.
fn order_best_response(net: &Network, prices: &Prices, order: usize) -> (f64, Response) {
    let price = |r: Resource| prices.get(r);
    let services = &net.instance.rate_card.services;
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
    let response = match set {
        None => best_single_response,
        Some(set) => fill_response(&set, &fixed_nodes, &unit_offers, lines),
    };
    (best, response)
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

/// Most node subsets of one size evaluated exactly per order in the bound; beyond
/// it, that size and all larger ones are bounded together by a relaxation.
const SUBSETS_PER_SIZE: usize = 1500;

/// Fill cost of every line from the offers of the nodes marked in `in_set`, each
/// line taking its cheapest offers within stock (offers sorted cheapest first).
fn fill(offers: &[Vec<(usize, f64, u32)>], lines: &[(usize, u32)], in_set: &[bool]) -> f64 {
    lines
        .iter()
        .zip(offers)
        .map(|(&(_, q), line_offers)| {
            let mut left = q;
            let mut sum = 0.0;
            for &(p, a, avail) in line_offers {
                if left == 0 {
                    break;
                }
                if in_set[p] {
                    let take = left.min(avail);
                    sum += a * f64::from(take);
                    left -= take;
                }
            }
            sum
        })
        .sum()
}

/// The exact search over node sets of one size: nodes sorted by fixed cost, sets
/// enumerated in that order, and a branch cut as soon as its fixed costs plus the
/// cheapest possible fill cannot beat the best found.
struct SetSearch<'a> {
    /// Usable nodes (positions in `fixed`), cheapest fixed cost first.
    nodes: Vec<usize>,
    fixed: &'a [f64],
    offers: &'a [Vec<(usize, f64, u32)>],
    lines: &'a [(usize, u32)],
    /// Fill from every node's offers: no set fills for less.
    anywhere: f64,
    in_set: Vec<bool>,
    chosen: Vec<usize>,
    evaluated: usize,
    best: f64,
    best_set: Option<Vec<usize>>,
}

impl SetSearch<'_> {
    /// Visits the sets of `size` nodes extending `chosen` with nodes from `from` on;
    /// false when the evaluation budget ran out.
    fn visit(&mut self, from: usize, size: usize, partial: f64, extra: f64) -> bool {
        let need = size - self.chosen.len();
        for i in from..self.nodes.len() {
            if self.nodes.len() - i < need {
                break;
            }
            let rest: f64 = self.nodes[i + 1..i + need]
                .iter()
                .map(|&p| self.fixed[p])
                .sum();
            let f = self.fixed[self.nodes[i]];
            if partial + f + rest + extra + self.anywhere >= self.best {
                break; // later nodes cost more
            }
            let p = self.nodes[i];
            self.in_set[p] = true;
            self.chosen.push(p);
            let ok = if need == 1 {
                self.evaluated += 1;
                let cost = partial + f + extra + fill(self.offers, self.lines, &self.in_set);
                if cost < self.best {
                    self.best = cost;
                    self.best_set = Some(self.chosen.clone());
                }
                self.evaluated <= SUBSETS_PER_SIZE
            } else {
                self.visit(i + 1, size, partial + f, extra)
            };
            self.chosen.pop();
            self.in_set[p] = false;
            if !ok {
                return false;
            }
        }
        true
    }
}

/// The lowest relaxed reduced cost of an order over every set of 2..=`max_size` nodes
/// (and `best_single` for one node), with the set when it is a real one: sets are
/// searched exactly (each line filled from the set's cheapest offers within stock)
/// while a size needs at most [`SUBSETS_PER_SIZE`] evaluations; past that, that size
/// and all larger ones are bounded at once by the cheapest fixed costs plus every line
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
    // Only nodes with a profitable unit can be in a best response.
    let mut useful: Vec<usize> = offers.iter().flatten().map(|o| o.0).collect();
    useful.sort_unstable();
    useful.dedup();
    useful.sort_by(|&a, &b| fixed[a].total_cmp(&fixed[b]));
    let max_size = max_size.min(useful.len());
    let anywhere = fill(&offers, lines, &vec![true; fixed.len()]);
    let monotone = split >= 0.0 && fixed.iter().all(|&f| f >= 0.0);
    let mut search = SetSearch {
        nodes: useful.clone(),
        fixed,
        offers: &offers,
        lines,
        anywhere,
        in_set: vec![false; fixed.len()],
        chosen: Vec::new(),
        evaluated: 0,
        best: best_single,
        best_set: None,
    };
    for k in 2..=max_size {
        let extra = split * (k - 1) as f64;
        let cheapest: f64 = useful[..k].iter().map(|&p| fixed[p]).sum();
        if cheapest + extra + anywhere >= search.best {
            if monotone {
                break; // larger sets cost more still
            }
            continue;
        }
        search.evaluated = 0;
        if !search.visit(0, k, 0.0, extra) {
            // Too many sets: bound this size and all larger ones together (larger
            // sets pay more fixed costs and splits, and fill no cheaper).
            let relaxed = cheapest + extra + anywhere;
            if relaxed < search.best {
                // The relaxation names no real set: keep the best exact set found.
                search.best = relaxed;
            }
            break;
        }
    }
    (search.best, search.best_set)
}
