//! Rule-based baselines, the way today's order routers work: orders are taken one at
//! a time (earliest promise first, then by id) and each is routed against the stock
//! and capacity the earlier ones left.
//!
//! - `closest`: take units from the nearest nodes first (a distance ranking).
//! - `fewest-splits`: take the node that covers the most remaining units, repeatedly.
//! - `cheapest`: take the shipment with the largest saving (unfilled penalty avoided
//!   minus exact shipment and split cost), repeatedly, while it saves anything.
//!
//! All respect stock, node capacities, the SLA, max_shipments, ship_complete and
//! pickup, and choose the cheapest allowed service for each shipment.

use crate::cost::Network;
use crate::solve::{Allocation, Usage};

/// A greedy routing rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Nearest node first.
    Closest,
    /// Most units covered first.
    FewestSplits,
    /// Largest saving first.
    Cheapest,
}

impl Policy {
    /// Every policy, in the order reports list them.
    pub const ALL: [Policy; 3] = [Policy::Cheapest, Policy::Closest, Policy::FewestSplits];

    /// The `--solver` name.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Closest => "closest",
            Policy::FewestSplits => "fewest-splits",
            Policy::Cheapest => "cheapest",
        }
    }

    /// Looks a policy up by its `--solver` name.
    pub fn from_name(name: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The order in which greedy policies take orders: promise days, then id.
pub fn processing_order(net: &Network) -> Vec<usize> {
    let orders = &net.instance.orders;
    let mut idx: Vec<usize> = (0..orders.len()).collect();
    idx.sort_by(|&a, &b| {
        (orders[a].promise_days, &orders[a].id).cmp(&(orders[b].promise_days, &orders[b].id))
    });
    idx
}

/// Routes every order with `policy` against the instance's full availability.
pub fn allocate(net: &Network, policy: Policy) -> Vec<Allocation> {
    let mut usage = Usage::new(net);
    let mut out = Vec::with_capacity(net.order_count());
    for order in processing_order(net) {
        allocate_order(net, &mut usage, order, policy, &mut out);
    }
    out
}

/// A node that may ship (part of) the order being routed.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    node: usize,
    /// Haversine term (ranks by distance).
    h: f64,
    used: bool,
}

/// What a node would ship of the remaining need, capped by stock and unit capacity.
fn take_from(
    net: &Network,
    usage: &Usage,
    order: usize,
    node: usize,
    need: &[u32],
) -> Vec<(usize, u32)> {
    let mut units_left = usage.units[node];
    let mut lines = Vec::new();
    for (&(sku, _), &n) in net.lines[order].iter().zip(need) {
        let q = i64::from(n)
            .min(usage.stock_left(node, sku))
            .min(units_left);
        if q > 0 {
            units_left -= q;
            lines.push((sku, q as u32));
        }
    }
    lines
}

/// Routes one order, appending its shipments to `out` and booking them in `usage`.
pub fn allocate_order(
    net: &Network,
    usage: &mut Usage,
    order: usize,
    policy: Policy,
    out: &mut Vec<Allocation>,
) {
    let o = net.order(order);
    let order_lines = &net.lines[order];
    let mut need: Vec<u32> = order_lines.iter().map(|&(_, q)| q).collect();
    let has_any_stock = |n: usize| order_lines.iter().any(|&(s, _)| usage.stock_left(n, s) > 0);
    let nodes: Vec<usize> = match net.pickup[order] {
        Some(p) => vec![p],
        None => (0..net.node_count()).collect(),
    };
    // Nodes with stock for the order; whether a service meets the SLA is checked
    // only when a node is considered.
    let mut candidates: Vec<Candidate> = nodes
        .into_iter()
        .filter(|&n| usage.shipments[n] > 0 && usage.units[n] > 0 && has_any_stock(n))
        .map(|n| Candidate {
            node: n,
            h: net.haversine(order, n),
            used: false,
        })
        .collect();
    if policy == Policy::Closest {
        candidates.sort_by(|a, b| a.h.total_cmp(&b.h).then(a.node.cmp(&b.node)));
    }
    let max_shipments = if o.ship_complete {
        1
    } else {
        o.max_shipments.unwrap_or(u32::MAX) as usize
    };
    let total_need: u32 = need.iter().sum();
    let penalty = net.unit_penalty(order);
    let mut shipments = 0usize;

    while shipments < max_shipments && need.iter().any(|&n| n > 0) {
        // Evaluate every unused candidate; keep the best by the policy's key.
        // (candidate index, lines it would ship, policy key: larger is better,
        // compared first by its first part)
        type Choice = (usize, Vec<(usize, u32)>, (f64, f64));
        let mut best: Option<Choice> = None;
        for (ci, c) in candidates.iter().enumerate().filter(|(_, c)| !c.used) {
            let lines = take_from(net, usage, order, c.node, &need);
            let units: u32 = lines.iter().map(|&(_, q)| q).sum();
            if units == 0 || (o.ship_complete && units < total_need) {
                continue;
            }
            let zone = net.lane_of(c.h).zone;
            if !net.can_serve(order, c.node, zone) {
                continue;
            }
            let key = match policy {
                Policy::Closest => (-c.h, 0.0),
                Policy::FewestSplits => (f64::from(units), -c.h),
                Policy::Cheapest => {
                    let weight = net.weight(lines.iter().copied());
                    let Some((_, price)) = net.best_service(order, c.node, zone, units, weight)
                    else {
                        continue;
                    };
                    let split = if shipments > 0 {
                        net.instance.costs.split_penalty
                    } else {
                        0.0
                    };
                    let saving = penalty * units as f64 - price.cost - split;
                    if saving <= 0.0 {
                        continue;
                    }
                    (saving, 0.0)
                }
            };
            if best
                .as_ref()
                .is_none_or(|(_, _, k)| key.0 > k.0 || (key.0 == k.0 && key.1 > k.1))
            {
                best = Some((ci, lines, key));
            }
            if policy == Policy::Closest {
                break; // candidates are sorted by distance: the first usable one wins
            }
        }
        let Some((ci, lines, _)) = best else { break };
        let c = &mut candidates[ci];
        c.used = true;
        let units: u32 = lines.iter().map(|&(_, q)| q).sum();
        let weight = net.weight(lines.iter().copied());
        let (service, _) = net
            .best_service(order, c.node, net.lane_of(c.h).zone, units, weight)
            .expect("candidates can serve the order");
        for &(sku, q) in &lines {
            let i = order_lines
                .iter()
                .position(|&(s, _)| s == sku)
                .expect("line of this order");
            need[i] -= q;
        }
        usage.take(c.node, &lines);
        out.push(Allocation {
            order,
            node: c.node,
            service,
            lines,
        });
        shipments += 1;
    }
}
