//! What a window's commit decides, apart from how rows are read and written: each
//! order of the window is decided as planned if the stock and capacity left *now*
//! still hold it, deferred to the next window if not, or decided unfilled when it
//! names a sku or pickup node the network no longer has. Both storage backends read
//! [`Left`] and the orders decided already inside their commit transaction, call
//! [`settle`], and write the [`Settlement`].

use std::collections::{HashMap, HashSet};

use super::{
    CommitCounts, Decision, NetworkConfig, PendingOrder, UnfilledLine, WindowRecord, reason, status,
};
use crate::domain::{Instance, Order, Plan};

/// What a window's commit writes.
pub struct Settlement<'a> {
    /// Orders decided now, with their status and decision.
    pub decided: Vec<(&'a PendingOrder, &'static str, Decision)>,
    /// Orders that no longer fit: they wait for the next window.
    pub requeued: Vec<&'a PendingOrder>,
    /// Units to add to `reserved`, per (node, sku).
    pub reserved: HashMap<(String, String), i64>,
    /// Shipments and units to add to the capacity used, per node.
    pub used: HashMap<String, (i64, i64)>,
    /// The window number the decisions carry; `None` when the window held no order
    /// of its own (all stranded): then no window is written.
    pub window_id: Option<i64>,
    /// The highest intake sequence number among the orders taken from the intake.
    pub watermark: Option<i64>,
    /// Orders decided and deferred.
    pub counts: CommitCounts,
    /// Orders decided unfilled because they name what the network no longer has.
    pub stranded: usize,
}

impl Settlement<'_> {
    /// The window's KPIs with the commit's counts added.
    pub fn kpis(&self, window: &WindowRecord) -> serde_json::Value {
        let mut kpis = window.kpis.clone();
        kpis["orders_committed"] = (self.counts.committed - self.stranded).into();
        kpis["orders_deferred"] = self.counts.deferred.into();
        kpis["orders_stranded"] = self.stranded.into();
        kpis
    }
}

/// Decides each order of `taken` against the stock and capacity `left`, skipping
/// those in `decided_already` (cancelled while the window was solving: neither
/// decided again nor requeued). An order the window's instance left out because it
/// names a sku or pickup node the network no longer has is decided `unfilled` with
/// reason `UNKNOWN_SKU` or `UNKNOWN_NODE`.
pub fn settle<'a>(
    mut left: Left,
    window: &WindowRecord,
    network: &NetworkConfig,
    taken: &'a [PendingOrder],
    instance: &Instance,
    plan: &Plan,
    decided_already: &HashSet<String>,
) -> Settlement<'a> {
    let mut by_order = decisions_by_order(plan);
    let stocked = stocked_nodes(instance);
    let in_window: HashMap<&str, &Order> =
        instance.orders.iter().map(|o| (o.id.as_str(), o)).collect();
    let mut out = Settlement {
        decided: Vec::new(),
        requeued: Vec::new(),
        reserved: HashMap::new(),
        used: HashMap::new(),
        window_id: (!instance.orders.is_empty()).then_some(window.id),
        watermark: taken.iter().filter(|p| !p.requeued).map(|p| p.seq).max(),
        counts: CommitCounts::default(),
        stranded: 0,
    };
    for p in taken {
        if decided_already.contains(&p.order.id) {
            continue;
        }
        let Some(order) = in_window.get(p.order.id.as_str()) else {
            let d = stranded_decision(network, &p.order);
            out.decided.push((p, status::UNFILLED, d));
            out.stranded += 1;
            continue;
        };
        let mut d = by_order
            .remove(order.id.as_str())
            .unwrap_or_else(empty_decision);
        no_stock_left(&mut d, order, &stocked);
        let need = Need::of(&d);
        if !left.fits(&need) {
            out.requeued.push(p);
            continue;
        }
        price(&mut d, order, instance);
        let st = if d.shipments.is_empty() {
            status::UNFILLED
        } else if d.unfilled.is_empty() {
            status::ALLOCATED
        } else {
            status::PARTIAL
        };
        left.take(need);
        out.decided.push((p, st, d));
    }
    out.counts = CommitCounts {
        committed: out.decided.len(),
        deferred: out.requeued.len(),
    };
    out.reserved = left.reserved;
    out.used = left.used;
    out
}

/// Sets a decision's cost (shipments, split and unfilled penalties) and promised day.
fn price(d: &mut Decision, order: &Order, instance: &Instance) {
    d.cost = d.shipments.iter().map(|s| s.cost).sum::<f64>()
        + instance.costs.split_penalty * d.shipments.len().saturating_sub(1) as f64
        + d.unfilled.iter().map(|u| f64::from(u.qty)).sum::<f64>()
            * order
                .unfilled_penalty
                .unwrap_or(instance.costs.unfilled_penalty);
    d.promised_delivery_days = d.shipments.iter().map(|s| s.delivery_days).max();
}

/// Units per (node, sku) and shipments and units per node that one decision takes.
struct Need {
    stock: HashMap<(String, String), i64>,
    nodes: HashMap<String, (i64, i64)>,
}

impl Need {
    fn of(d: &Decision) -> Need {
        let mut need = Need {
            stock: HashMap::new(),
            nodes: HashMap::new(),
        };
        for s in &d.shipments {
            let e = need.nodes.entry(s.node.clone()).or_default();
            e.0 += 1;
            for l in &s.lines {
                *need
                    .stock
                    .entry((s.node.clone(), l.sku.clone()))
                    .or_default() += i64::from(l.qty);
                e.1 += i64::from(l.qty);
            }
        }
        need
    }
}

/// Stock and capacity left as the commit goes, and what it has taken so far.
pub struct Left {
    available: HashMap<(String, String), i64>,
    capacity: HashMap<String, (i64, i64)>,
    reserved: HashMap<(String, String), i64>,
    used: HashMap<String, (i64, i64)>,
}

impl Left {
    /// The stock available per (node, sku) and capacity used per node, as read in
    /// the commit's transaction; `network` gives the period's full capacities.
    pub fn new(
        network: &NetworkConfig,
        available: HashMap<(String, String), i64>,
        used: &HashMap<String, (i64, i64)>,
    ) -> Left {
        let capacity = network
            .nodes
            .iter()
            .map(|n| {
                let (s, u) = used.get(&n.id).copied().unwrap_or((0, 0));
                (
                    n.id.clone(),
                    (
                        n.capacity_shipments.map_or(i64::MAX, |c| i64::from(c) - s),
                        n.capacity_units.map_or(i64::MAX, |c| i64::from(c) - u),
                    ),
                )
            })
            .collect();
        Left {
            available,
            capacity,
            reserved: HashMap::new(),
            used: HashMap::new(),
        }
    }

    /// Whether the stock and capacity left still hold `need`.
    fn fits(&self, need: &Need) -> bool {
        need.stock
            .iter()
            .all(|(k, &q)| self.available.get(k).copied().unwrap_or(0) >= q)
            && need.nodes.iter().all(|(n, &(s, u))| {
                self.capacity
                    .get(n)
                    .is_some_and(|&(cs, cu)| cs >= s && cu >= u)
            })
    }

    /// Takes `need` (which [`Left::fits`]).
    fn take(&mut self, need: Need) {
        for (k, q) in need.stock {
            *self.available.get_mut(&k).expect("checked by fits") -= q;
            *self.reserved.entry(k).or_default() += q;
        }
        for (n, (s, u)) in need.nodes {
            let c = self.capacity.get_mut(&n).expect("checked by fits");
            c.0 -= s;
            c.1 -= u;
            let e = self.used.entry(n).or_default();
            e.0 += s;
            e.1 += u;
        }
    }
}

/// The nodes holding available stock of each sku in the window.
fn stocked_nodes(instance: &Instance) -> HashMap<&str, Vec<&str>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in instance.inventory.iter().filter(|r| r.available() > 0) {
        out.entry(r.sku.as_str()).or_default().push(r.node.as_str());
    }
    out
}

/// An order that excludes every node still holding a sku (re-routed away from all of
/// them) is short of stock, not of a fast enough node: its `SLA` lines of that sku
/// become `NO_STOCK`.
fn no_stock_left(d: &mut Decision, order: &Order, stocked: &HashMap<&str, Vec<&str>>) {
    if order.exclude_nodes.is_empty() {
        return;
    }
    for u in d.unfilled.iter_mut().filter(|u| u.reason == "SLA") {
        let open = stocked.get(u.sku.as_str()).is_some_and(|nodes| {
            nodes
                .iter()
                .any(|n| !order.exclude_nodes.iter().any(|x| x == n))
        });
        if !open {
            u.reason = "NO_STOCK".into();
        }
    }
}

/// The plan's shipments and unfilled lines grouped by order.
fn decisions_by_order(plan: &Plan) -> HashMap<&str, Decision> {
    let mut by_order: HashMap<&str, Decision> = HashMap::new();
    for s in &plan.shipments {
        by_order
            .entry(s.order.as_str())
            .or_insert_with(empty_decision)
            .shipments
            .push(s.clone());
    }
    for u in &plan.unfilled {
        by_order
            .entry(u.order.as_str())
            .or_insert_with(empty_decision)
            .unfilled
            .push(UnfilledLine::from(u));
    }
    by_order
}

/// The decision of an order that can no longer be allocated because it names a sku
/// (`UNKNOWN_SKU`) or pickup node (`UNKNOWN_NODE`) the network no longer has: every
/// line unfilled with that reason, priced at the unfilled penalty.
pub fn stranded_decision(network: &NetworkConfig, order: &Order) -> Decision {
    let skus: std::collections::HashSet<&str> =
        network.skus.iter().map(|s| s.id.as_str()).collect();
    let reason = if order.lines.iter().all(|l| skus.contains(l.sku.as_str())) {
        reason::UNKNOWN_NODE
    } else {
        reason::UNKNOWN_SKU
    };
    let penalty = order
        .unfilled_penalty
        .unwrap_or(network.costs.unfilled_penalty);
    let unfilled: Vec<UnfilledLine> = order
        .lines
        .iter()
        .map(|l| UnfilledLine {
            order: order.id.clone(),
            sku: l.sku.clone(),
            qty: l.qty,
            reason: reason.into(),
        })
        .collect();
    Decision {
        cost: unfilled.iter().map(|u| f64::from(u.qty)).sum::<f64>() * penalty,
        shipments: Vec::new(),
        unfilled,
        promised_delivery_days: None,
    }
}

fn empty_decision() -> Decision {
    Decision {
        shipments: Vec::new(),
        unfilled: Vec::new(),
        cost: 0.0,
        promised_delivery_days: None,
    }
}
