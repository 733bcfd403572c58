//! Per-order fulfillment options: each is one complete way to serve one order (which
//! nodes ship which units, with which service) priced exactly by the cost module.

use std::collections::HashMap;
use std::time::Instant;

use crate::cost::Network;
use crate::solve::Allocation;

/// Most nodes considered per order when pairing nodes into split options.
const PAIR_CANDIDATES: usize = 6;
/// Most nodes whose options are enumerated per order (the cheapest ones).
pub(super) const NODES_PER_ORDER: usize = 12;
/// Orders with at most this many lines get one option per subset of lines per node.
const SUBSET_LINES: usize = 3;

/// One way to serve one order: its shipments and what they cost.
#[derive(Debug, Clone)]
pub(super) struct FulfillmentOption {
    pub order: usize,
    pub shipments: Vec<Allocation>,
    /// Shipment costs + split penalty − unfilled penalty avoided (negative is good).
    pub saving_cost: f64,
}

/// A resource row: stock of (node, sku), shipments of a node, units of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Resource {
    Stock(usize, usize),
    Shipments(usize),
    Units(usize),
}

/// Makes sure each order's incumbent allocation is one of its options.
pub(super) fn add_incumbent_options(
    net: &Network,
    allocs: &[Allocation],
    options: &mut Vec<FulfillmentOption>,
) {
    let mut per_order: Vec<Vec<Allocation>> = vec![Vec::new(); net.order_count()];
    for a in allocs {
        per_order[a.order].push(a.clone());
    }
    let mut existing: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, o) in options.iter().enumerate() {
        existing.entry(o.order).or_default().push(i);
    }
    for (order, shipments) in per_order.into_iter().enumerate() {
        if shipments.is_empty() {
            continue;
        }
        let known = existing
            .get(&order)
            .is_some_and(|ids| ids.iter().any(|&i| options[i].shipments == shipments));
        if !known {
            let saving_cost = option_cost(net, order, &shipments);
            options.push(FulfillmentOption {
                order,
                shipments,
                saving_cost,
            });
        }
    }
}

/// Shipment costs + split penalty − unfilled penalty avoided, via the cost module.
pub(super) fn option_cost(net: &Network, order: usize, shipments: &[Allocation]) -> f64 {
    let mut cost = net.split_cost(shipments.len());
    for a in shipments {
        let price = a.price(net).expect("options hold allowed shipments");
        cost += price.cost - net.unit_penalty(order) * f64::from(a.units());
    }
    cost
}

/// A node able to ship part of an order.
struct Reach {
    node: usize,
    zone: usize,
}

/// Enumerates options for every order; `None` when the deadline passes. The flag
/// tells whether the options are all the possible ones of every order.
pub(super) fn enumerate_options(
    net: &Network,
    deadline: Instant,
) -> Option<(Vec<FulfillmentOption>, bool)> {
    let mut out = Vec::new();
    let mut complete = true;
    for order in 0..net.order_count() {
        if order % 1024 == 0 && Instant::now() >= deadline {
            return None;
        }
        complete &= order_options(net, order, &mut out);
    }
    Some((out, complete))
}

/// Builds a shipment of `lines` from a node with its cheapest service.
fn shipment(
    net: &Network,
    order: usize,
    r: &Reach,
    lines: Vec<(usize, u32)>,
) -> Option<Allocation> {
    let units: u32 = lines.iter().map(|&(_, q)| q).sum();
    if units == 0 {
        return None;
    }
    let weight = net.weight(lines.iter().copied());
    let (service, _) = net.best_service(order, r.node, r.zone, units, weight)?;
    Some(Allocation {
        order,
        node: r.node,
        service,
        lines,
    })
}

/// Whether a node's shipment capacity allows any shipment at all.
pub(super) fn has_capacity(net: &Network, node: usize) -> bool {
    let n = &net.instance.nodes[node];
    n.capacity_shipments != Some(0) && n.capacity_units != Some(0)
}

/// Appends the order's options; returns whether they are all its possible options
/// (a single-unit order whose every usable node was enumerated).
fn order_options(net: &Network, order: usize, out: &mut Vec<FulfillmentOption>) -> bool {
    let o = net.order(order);
    let lines = &net.lines[order];
    let unit_cap = |node: usize| net.instance.nodes[node].capacity_units.unwrap_or(u32::MAX);
    let nodes: Vec<usize> = match net.pickup[order] {
        Some(p) => vec![p],
        None => (0..net.node_count()).collect(),
    };
    let mut reach: Vec<Reach> = nodes
        .into_iter()
        .filter(|&n| has_capacity(net, n) && lines.iter().any(|&(s, _)| net.available(n, s) > 0))
        .filter_map(|n| {
            let zone = net.lane(order, n).zone;
            net.can_serve(order, n, zone)
                .then_some(Reach { node: n, zone })
        })
        .collect();
    let total: u32 = lines.iter().map(|&(_, q)| q).sum();
    let mut push = |shipments: Vec<Allocation>| {
        let cost = option_cost(net, order, &shipments);
        if cost < 0.0 {
            out.push(FulfillmentOption {
                order,
                shipments,
                saving_cost: cost,
            });
        }
    };
    // What node r can take of `need` (per line), capped by stock and unit capacity.
    let take = |r: &Reach, need: &[u32]| -> Vec<(usize, u32)> {
        let mut cap = unit_cap(r.node);
        lines
            .iter()
            .zip(need)
            .filter_map(|(&(s, _), &n)| {
                let q = n.min(net.available(r.node, s)).min(cap);
                cap -= q;
                (q > 0).then_some((s, q))
            })
            .collect()
    };
    let full: Vec<u32> = lines.iter().map(|&(_, q)| q).collect();
    // Only the nodes with the cheapest single-node options are enumerated; the
    // bound still considers every node, and column generation adds best responses
    // elsewhere when they pay.
    let complete = reach.len() <= NODES_PER_ORDER && lines.len() == 1 && total == 1;
    if reach.len() > NODES_PER_ORDER {
        let score = |r: &Reach| -> f64 {
            let got = take(r, &full);
            let units: u32 = got.iter().map(|&(_, q)| q).sum();
            if o.ship_complete && units < total {
                return f64::INFINITY;
            }
            shipment(net, order, r, got).map_or(f64::INFINITY, |a| option_cost(net, order, &[a]))
        };
        let mut scored: Vec<(f64, Reach)> = reach.into_iter().map(|r| (score(&r), r)).collect();
        scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.node.cmp(&b.1.node)));
        reach = scored
            .into_iter()
            .take(NODES_PER_ORDER)
            .map(|(_, r)| r)
            .collect();
    }
    let mut singles: Vec<(f64, usize)> = Vec::new();
    for (ri, r) in reach.iter().enumerate() {
        let got = take(r, &full);
        let units: u32 = got.iter().map(|&(_, q)| q).sum();
        if o.ship_complete && units < total {
            continue;
        }
        if let Some(a) = shipment(net, order, r, got.clone()) {
            singles.push((option_cost(net, order, std::slice::from_ref(&a)), ri));
            push(vec![a]);
        }
        if o.ship_complete || lines.len() == 1 && total == 1 {
            continue;
        }
        // Subsets of lines from this node (small orders), and fewer units of a line.
        if lines.len() <= SUBSET_LINES && got.len() > 1 {
            for mask in 1..(1u32 << got.len()) - 1 {
                let sub: Vec<(usize, u32)> = got
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, &l)| l)
                    .collect();
                if let Some(a) = shipment(net, order, r, sub) {
                    push(vec![a]);
                }
            }
        }
        if got.len() == 1 && got[0].1 > 1 {
            for q in 1..got[0].1 {
                if let Some(a) = shipment(net, order, r, vec![(got[0].0, q)]) {
                    push(vec![a]);
                }
            }
        }
    }
    // Splits over two nodes: the first takes what it can, the second the rest.
    let max_shipments = o.max_shipments.unwrap_or(u32::MAX);
    if o.ship_complete || net.pickup[order].is_some() || max_shipments < 2 || total < 2 {
        return complete;
    }
    singles.sort_by(|a, b| a.0.total_cmp(&b.0));
    let top: Vec<usize> = singles
        .iter()
        .take(PAIR_CANDIDATES)
        .map(|&(_, ri)| ri)
        .collect();
    for &a in &top {
        for &b in &top {
            if a == b {
                continue;
            }
            let first = take(&reach[a], &full);
            let mut need = full.clone();
            for &(s, q) in &first {
                let i = lines.iter().position(|&(s2, _)| s2 == s).expect("line");
                need[i] -= q;
            }
            let second = take(&reach[b], &need);
            if let (Some(x), Some(y)) = (
                shipment(net, order, &reach[a], first),
                shipment(net, order, &reach[b], second),
            ) {
                push(vec![x, y]);
            }
        }
    }
    complete
}

impl FulfillmentOption {
    /// Resources the option uses, with amounts.
    pub fn usage(&self) -> Vec<(Resource, f64)> {
        let mut u = Vec::with_capacity(self.shipments.len() * 4);
        for a in &self.shipments {
            u.push((Resource::Shipments(a.node), 1.0));
            u.push((Resource::Units(a.node), f64::from(a.units())));
            for &(s, q) in &a.lines {
                u.push((Resource::Stock(a.node, s), f64::from(q)));
            }
        }
        u
    }
}
