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

/// Most sets one order's best-response search evaluates exactly; past it, the
/// branches not yet explored are bounded instead (see [`NodeSetSearch`]).
const SEARCH_BUDGET: usize = 2000;

/// Branch-and-bound over the node sets of one order's best response.
///
/// The order's saving from a set of nodes (each line taking its cheapest offers within
/// stock) is submodular in the set: a node adds at most what it adds to any subset.
/// So a set `C` extended by nodes `T` costs at least `cost(C) + Σ_{n∈T} (fixed[n] +
/// split − gain_n(C))`, where `gain_n(C)` is what `n` would add to `C` alone; nodes
/// whose term is not negative never help below `C`, and a branch whose best case
/// cannot beat the best set found is cut.
struct NodeSetSearch<'a> {
    /// Candidate node positions, most promising alone first.
    nodes: Vec<usize>,
    /// Per position: fixed cost of a shipment from the node.
    fixed: &'a [f64],
    split: f64,
    /// Per line: (position, reduced unit cost < 0, units) offers, cheapest first.
    offers: &'a [Vec<(usize, f64, u32)>],
    lines: &'a [(usize, u32)],
    max_size: usize,
    in_set: Vec<bool>,
    chosen: Vec<usize>,
    evaluated: usize,
    best: f64,
    best_set: Option<Vec<usize>>,
    /// Lowest bound of the branches left unexplored when the budget ran out.
    open: f64,
}

impl NodeSetSearch<'_> {
    /// What each candidate node would add to the saving of the chosen set, indexed
    /// by position.
    fn gains(&self) -> Vec<f64> {
        let mut gains = vec![0.0; self.fixed.len()];
        let mut chosen: Vec<(f64, u32)> = Vec::new();
        for (line_offers, &(_, qty)) in self.offers.iter().zip(self.lines) {
            // The chosen set's own fill of this line, cheapest units first.
            chosen.clear();
            let mut unfilled = qty;
            for &(p, a, avail) in line_offers {
                if unfilled == 0 {
                    break;
                }
                if self.in_set[p] {
                    let take = unfilled.min(avail);
                    chosen.push((a, take));
                    unfilled -= take;
                }
            }
            for &(p, a, avail) in line_offers {
                if self.in_set[p] {
                    continue;
                }
                // New units fill the unfilled slots, then replace dearer chosen ones.
                let units = avail.min(qty);
                let first = units.min(unfilled);
                let mut gain = -a * f64::from(first);
                let mut rest = units - first;
                for &(c, count) in chosen.iter().rev() {
                    if rest == 0 || c <= a {
                        break;
                    }
                    let t = rest.min(count);
                    gain += (c - a) * f64::from(t);
                    rest -= t;
                }
                gains[p] += gain;
            }
        }
        gains
    }

    /// The saving of the chosen set together with `extra` nodes (each line taking
    /// its cheapest offers among them within stock).
    fn saving_with(&self, extra: &[usize]) -> f64 {
        let mut with = self.in_set.clone();
        for &p in extra {
            with[p] = true;
        }
        let mut saving = 0.0;
        for (line_offers, &(_, qty)) in self.offers.iter().zip(self.lines) {
            let mut left = qty;
            for &(p, a, avail) in line_offers {
                if left == 0 {
                    break;
                }
                if with[p] {
                    let take = left.min(avail);
                    saving -= a * f64::from(take);
                    left -= take;
                }
            }
        }
        saving
    }

    /// Explores the sets that extend the chosen ones (costing `cost`; `-split` when
    /// none is chosen) with candidates from `from` on; false when the budget ran out.
    ///
    /// Bound of a branch: adding nodes `T` costs `Σ (fixed + split)` and gains at most
    /// `Σ gain_n` (submodularity) and at most `cap`, what all candidates together
    /// would add; the least of that over fractional `T` is a fractional knapsack,
    /// filled greedily by cost per unit of gain.
    fn visit(&mut self, from: usize, cost: f64) -> bool {
        if self.chosen.len() >= self.max_size {
            return true;
        }
        let gains = self.gains();
        let items: Vec<(f64, f64)> = self.nodes[from..]
            .iter()
            .map(|&p| (self.fixed[p] + self.split, gains[p]))
            .collect();
        let cap = self.saving_with(&self.nodes[from..]) - self.saving_with(&[]);
        let mut by_ratio: Vec<usize> = (0..items.len())
            .filter(|&k| items[k].0 < items[k].1)
            .collect();
        by_ratio.sort_by(|&x, &y| (items[x].0 * items[y].1).total_cmp(&(items[y].0 * items[x].1)));
        // Least cost of adding candidates from position `first` on, gaining ≤ `cap`.
        let knapsack = |first: usize, cap: f64| -> f64 {
            let (mut paid, mut got) = (0.0, 0.0);
            for &k in &by_ratio {
                if got >= cap {
                    break;
                }
                if k < first {
                    continue;
                }
                let (f, m) = items[k];
                let share = ((cap - got) / m).min(1.0);
                paid += f * share;
                got += m * share;
            }
            paid - got
        };
        for (i, &(f, m)) in items.iter().enumerate() {
            if f >= m {
                continue; // never pays for itself below this set
            }
            let with = cost + f - m;
            let below = knapsack(i + 1, (cap - m).max(0.0));
            if with + below >= self.best {
                continue;
            }
            if self.evaluated >= SEARCH_BUDGET {
                self.open = self.open.min(cost + knapsack(i, cap));
                return false;
            }
            self.evaluated += 1;
            let p = self.nodes[from + i];
            self.chosen.push(p);
            if with < self.best {
                self.best = with;
                self.best_set = Some(self.chosen.clone());
            }
            self.in_set[p] = true;
            let finished = with + below >= self.best || self.visit(from + i + 1, with);
            self.in_set[p] = false;
            self.chosen.pop();
            if !finished {
                self.open = self.open.min(cost + knapsack(i + 1, cap));
                return false;
            }
        }
        true
    }
}

/// The lowest relaxed reduced cost of an order over every set of at most
/// `max_size` nodes (`best_single` being the best single node, or 0 for shipping
/// nothing), with the set when a set beats `best_single`. Exact while the search
/// stays within [`SEARCH_BUDGET`]; otherwise a lower bound, with the best set found.
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
    // A node alone saves `alone`; in a set of two or more it must pay for its
    // shipment and split out of that.
    let mut alone = vec![0.0; fixed.len()];
    for (line_offers, &(_, qty)) in offers.iter().zip(lines) {
        for &(p, a, avail) in line_offers {
            alone[p] -= a * f64::from(avail.min(qty));
        }
    }
    let mut nodes: Vec<usize> = (0..fixed.len())
        .filter(|&p| fixed[p] + split < alone[p])
        .collect();
    nodes.sort_by(|&a, &b| (fixed[a] - alone[a]).total_cmp(&(fixed[b] - alone[b])));
    let mut search = NodeSetSearch {
        in_set: vec![false; fixed.len()],
        nodes,
        fixed,
        split,
        offers: &offers,
        lines,
        max_size,
        chosen: Vec::new(),
        evaluated: 0,
        best: best_single,
        best_set: None,
        open: f64::INFINITY,
    };
    search.visit(0, -split);
    (search.best.min(search.open), search.best_set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The cost of one node set by definition: fixed costs, splits, and each line
    /// filled from the set's cheapest offers within stock.
    fn set_cost(
        set: &[usize],
        fixed: &[f64],
        offers: &[Vec<(usize, f64, u32)>],
        lines: &[(usize, u32)],
        split: f64,
    ) -> f64 {
        let mut cost: f64 = set.iter().map(|&p| fixed[p]).sum::<f64>();
        cost += split * (set.len() as f64 - 1.0);
        for (line_offers, &(_, qty)) in offers.iter().zip(lines) {
            let mut sorted: Vec<_> = line_offers.iter().filter(|o| set.contains(&o.0)).collect();
            sorted.sort_by(|x, y| x.1.total_cmp(&y.1));
            let mut left = qty;
            for o in sorted {
                let take = left.min(o.2);
                cost += o.1 * f64::from(take);
                left -= take;
            }
        }
        cost
    }

    #[test]
    fn the_node_set_search_finds_the_best_set_of_every_small_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..300 {
            let nodes = rng.gen_range(1..=9);
            let fixed: Vec<f64> = (0..nodes).map(|_| rng.gen_range(0.0..30.0)).collect();
            let lines: Vec<(usize, u32)> = (0..rng.gen_range(1..=4))
                .map(|s| (s, rng.gen_range(1..=4)))
                .collect();
            let mut offers: Vec<Vec<(usize, f64, u32)>> = vec![Vec::new(); lines.len()];
            for line_offers in &mut offers {
                for p in 0..nodes {
                    if rng.gen_bool(0.6) {
                        line_offers.push((p, rng.gen_range(-60.0..-1.0), rng.gen_range(1..=4)));
                    }
                }
            }
            let split = rng.gen_range(0.0..5.0);
            let max_size = rng.gen_range(1..=nodes);
            // Brute force over every non-empty set within the size limit.
            let mut best = 0.0f64;
            let mut best_single = 0.0f64;
            for mask in 1u32..(1 << nodes) {
                let set: Vec<usize> = (0..nodes).filter(|&p| mask & (1 << p) != 0).collect();
                if set.len() > max_size {
                    continue;
                }
                let c = set_cost(&set, &fixed, &offers, &lines, split);
                best = best.min(c);
                if set.len() == 1 {
                    best_single = best_single.min(c);
                }
            }
            let (found, set) =
                best_best_response(best_single, &fixed, &offers, &lines, split, max_size);
            assert!(
                (found - best).abs() < 1e-9,
                "search {found} brute force {best}"
            );
            if let Some(set) = set {
                assert!(set.len() <= max_size);
                let c = set_cost(&set, &fixed, &offers, &lines, split);
                assert!((c - found).abs() < 1e-9, "set costs {c}, reported {found}");
            }
        }
    }
}
