//! The plan checker: judges any `domopt.plan/1` plan against its instance, using the
//! same cost module as the solvers and never calling a solver.

use std::collections::HashMap;

use serde::Serialize;

use crate::cost::Usage;
use crate::cost::{Network, ServiceChoice};
use crate::domain::{Instance, Plan, Shipment};

/// Every violation code the checker can report, with its meaning.
pub const VIOLATION_CODES: &[(&str, &str)] = &[
    ("E3001", "plan.instance differs from the instance's name"),
    (
        "E3002",
        "a shipment or unfilled entry names an unknown order",
    ),
    ("E3003", "a shipment names an unknown node"),
    (
        "E3004",
        "a shipment's service is unknown or not allowed for the order (pickup rules)",
    ),
    ("E3005", "a shipment has no lines, or a line with qty 0"),
    (
        "E3006",
        "a shipment or unfilled entry names a sku the order does not have, or names it twice",
    ),
    ("E3007", "an order has two shipments from the same node"),
    ("E3010", "a shipment is late under a hard SLA"),
    ("E3011", "a shipment's delivery_days is wrong"),
    ("E3012", "a shipment's cost is wrong"),
    (
        "E3020",
        "shipped units exceed available stock at a (node, sku)",
    ),
    ("E3021", "a node's shipments exceed capacity_shipments"),
    ("E3022", "a node's units exceed capacity_units"),
    ("E3023", "an order has more shipments than max_shipments"),
    ("E3024", "a ship_complete order is split or partly shipped"),
    (
        "E3030",
        "shipped plus unfilled differs from the ordered quantity of a line",
    ),
    ("E3040", "the objective is wrong"),
    ("E3041", "lower_bound exceeds the objective"),
    ("E3042", "a number in the plan is not finite"),
];

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// Stable code from [`VIOLATION_CODES`].
    pub code: &'static str,
    /// What is wrong, naming the shipment or entry.
    pub message: String,
}

/// Plan figures recomputed by the checker from the instance (not copied from the plan).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Recomputed objective.
    pub objective: f64,
    /// Number of shipments.
    pub shipments: usize,
    /// Shipments beyond the first of each order.
    pub extra_shipments: usize,
    /// Orders with at least one shipment.
    pub orders_shipped: usize,
    /// Units shipped.
    pub units_shipped: u64,
    /// Units left unfilled.
    pub unfilled_units: u64,
    /// Shipments delivered after the promise.
    pub late_shipments: usize,
    /// Node costs (per shipment and per unit).
    pub handling_cost: f64,
    /// Carrier costs (base and weight).
    pub carrier_cost: f64,
    /// Late penalties.
    pub late_cost: f64,
    /// Split penalties.
    pub split_cost: f64,
    /// Unfilled penalties.
    pub unfilled_cost: f64,
}

/// The checker's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Every violation found; empty means the plan is valid.
    pub violations: Vec<Violation>,
    /// Recomputed figures.
    pub summary: Summary,
}

impl Report {
    /// Whether the plan is valid.
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Whether `actual` equals `expected` within the cost tolerance of docs/formats.md.
pub fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-6 * expected.abs().max(1.0)
}

/// Where a shipment sits in a plan: written out only when a violation names it,
/// not once per shipment checked.
struct ShipmentAt<'a> {
    index: usize,
    order: &'a str,
    node: &'a str,
}

impl std::fmt::Display for ShipmentAt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "shipments[{}] (order \"{}\", node \"{}\")",
            self.index, self.order, self.node
        )
    }
}

/// Checks `plan` against every rule of docs/formats.md.
pub fn check(instance: &Instance, plan: &Plan) -> Report {
    let net = Network::new(instance);
    let mut c = Checker {
        instance,
        net: &net,
        violations: Vec::new(),
        summary: Summary::default(),
        usage: Usage::new(&net),
        shipped: net.lines.iter().map(|l| vec![0; l.len()]).collect(),
        order_nodes: vec![Vec::new(); net.order_count()],
        unfilled: HashMap::new(),
    };
    if plan.instance != instance.name {
        c.push(
            "E3001",
            format!(
                "plan is for \"{}\", instance is \"{}\"",
                plan.instance, instance.name
            ),
        );
    }
    for (i, sh) in plan.shipments.iter().enumerate() {
        c.shipment(i, sh);
    }
    c.capacities_and_stock();
    c.unfilled_entries(plan);
    for order in 0..instance.orders.len() {
        c.order_totals(order);
    }
    c.objective_and_bound(plan);
    Report {
        violations: c.violations,
        summary: c.summary,
    }
}

/// What the checker has gathered so far, shipment by shipment.
struct Checker<'a> {
    instance: &'a Instance,
    net: &'a Network<'a>,
    violations: Vec<Violation>,
    summary: Summary,
    /// Stock and capacity left after the shipments so far.
    usage: Usage,
    /// Units shipped per order and line.
    shipped: Vec<Vec<u32>>,
    /// The nodes each order ships from.
    order_nodes: Vec<Vec<usize>>,
    /// Unfilled units per (order, line).
    unfilled: HashMap<(usize, usize), u64>,
}

impl Checker<'_> {
    fn push(&mut self, code: &'static str, message: String) {
        self.violations.push(Violation { code, message });
    }

    /// The order's line for `sku`, if it has one.
    fn line_of(&self, order: usize, sku: &str) -> Option<usize> {
        let sku = *self.net.sku_index.get(sku)?;
        self.net.lines[order].iter().position(|&(s2, _)| s2 == sku)
    }

    /// One shipment: its order, node and lines, its service and price, its
    /// delivery days and cost; what it ships is taken from stock and capacity.
    fn shipment(&mut self, i: usize, sh: &Shipment) {
        let net = self.net;
        let at = ShipmentAt {
            index: i,
            order: &sh.order,
            node: &sh.node,
        };
        if !sh.cost.is_finite() {
            self.push("E3042", format!("{at}: cost is not finite"));
        }
        let Some(&order) = net.order_index.get(sh.order.as_str()) else {
            self.push("E3002", format!("{at}: unknown order"));
            return;
        };
        let Some(&node) = net.node_index.get(sh.node.as_str()) else {
            self.push("E3003", format!("{at}: unknown node"));
            return;
        };
        if self.order_nodes[order].contains(&node) {
            self.push(
                "E3007",
                format!("{at}: the order already ships from this node"),
            );
        }
        self.order_nodes[order].push(node);
        let lines = self.shipment_lines(&at, order, sh);
        self.usage.take(node, &lines);
        // Saturating: a hostile plan must not overflow the checker.
        let units: u32 = lines
            .iter()
            .fold(0u32, |acc, &(_, q)| acc.saturating_add(q));
        let weight = net.weight(lines.iter().copied());
        let lane = net.lane(order, node);
        let Some(service) = net.service_by_name(&sh.service) else {
            self.push("E3004", format!("{at}: unknown service \"{}\"", sh.service));
            return;
        };
        let Some(price) = net.price(order, node, lane.zone, service, units, weight) else {
            let (code, why) = match (service, net.pickup[order]) {
                (ServiceChoice::Pickup, _) => (
                    "E3004",
                    "pickup is only for a pickup order at its pickup node".to_string(),
                ),
                (ServiceChoice::Carrier(_), Some(_)) => (
                    "E3004",
                    "a pickup order ships with service pickup".to_string(),
                ),
                (ServiceChoice::Carrier(_), None) => (
                    "E3010",
                    format!(
                        "delivery exceeds the promise of {} days",
                        net.order(order).promise_days
                    ),
                ),
            };
            self.push(code, format!("{at}: {why}"));
            return;
        };
        if price.delivery_days != sh.delivery_days {
            self.push(
                "E3011",
                format!(
                    "{at}: delivery_days is {}, expected {}",
                    sh.delivery_days, price.delivery_days
                ),
            );
        }
        if !close(sh.cost, price.cost) {
            self.push(
                "E3012",
                format!("{at}: cost is {}, expected {}", sh.cost, price.cost),
            );
        }
        let s = &mut self.summary;
        s.shipments += 1;
        s.units_shipped += u64::from(units);
        s.late_shipments += usize::from(price.late_days > 0);
        s.handling_cost += price.handling;
        s.carrier_cost += price.carrier;
        s.late_cost += price.late;
    }

    /// A shipment's lines as (sku, qty), each counted as shipped for its order's
    /// line; empty shipments, zero quantities and unknown or repeated skus are
    /// violations.
    fn shipment_lines(
        &mut self,
        at: &ShipmentAt,
        order: usize,
        sh: &Shipment,
    ) -> Vec<(usize, u32)> {
        if sh.lines.is_empty() {
            self.push("E3005", format!("{at}: no lines"));
        }
        let mut lines: Vec<(usize, u32)> = Vec::new();
        for l in &sh.lines {
            if l.qty == 0 {
                self.push("E3005", format!("{at}: line {} has qty 0", l.sku));
            }
            match self.line_of(order, &l.sku) {
                Some(li)
                    if !lines
                        .iter()
                        .any(|&(s2, _)| s2 == self.net.lines[order][li].0) =>
                {
                    self.shipped[order][li] = self.shipped[order][li].saturating_add(l.qty);
                    lines.push((self.net.lines[order][li].0, l.qty));
                }
                Some(_) => self.push("E3006", format!("{at}: sku \"{}\" appears twice", l.sku)),
                None => self.push(
                    "E3006",
                    format!("{at}: the order has no line for sku \"{}\"", l.sku),
                ),
            }
        }
        lines
    }

    /// Every node's shipments and units within its capacities, and every (node,
    /// sku)'s shipped units within its available stock (only pairs a shipment
    /// overdrew are looked at, so the cost follows the plan, not nodes × skus).
    fn capacities_and_stock(&mut self) {
        let (instance, net) = (self.instance, self.net);
        let overdrawn = self.usage.overdrawn();
        let mut overdrawn = overdrawn.into_iter().peekable();
        for (n, node) in instance.nodes.iter().enumerate() {
            if self.usage.shipments[n] < 0 {
                let over = -self.usage.shipments[n];
                self.push(
                    "E3021",
                    format!(
                        "node \"{}\" sends {over} shipments over capacity_shipments",
                        node.id
                    ),
                );
            }
            if self.usage.units[n] < 0 {
                let over = -self.usage.units[n];
                self.push(
                    "E3022",
                    format!(
                        "node \"{}\" sends {over} units over capacity_units",
                        node.id
                    ),
                );
            }
            while let Some((_, k, left)) = overdrawn.next_if(|&(node_of, _, _)| node_of == n) {
                self.push(
                    "E3020",
                    format!(
                        "node \"{}\" ships {} units of \"{}\" more than its available {}",
                        node.id,
                        -left,
                        instance.skus[k].id,
                        net.available(n, k)
                    ),
                );
            }
        }
    }

    /// The plan's unfilled entries, summed per (order, line).
    fn unfilled_entries(&mut self, plan: &Plan) {
        for (i, u) in plan.unfilled.iter().enumerate() {
            let Some(&order) = self.net.order_index.get(u.order.as_str()) else {
                self.push(
                    "E3002",
                    format!("unfilled[{i}]: unknown order \"{}\"", u.order),
                );
                continue;
            };
            match self.line_of(order, &u.sku) {
                Some(li) => *self.unfilled.entry((order, li)).or_default() += u64::from(u.qty),
                None => self.push(
                    "E3006",
                    format!(
                        "unfilled[{i}]: order \"{}\" has no line for sku \"{}\"",
                        u.order, u.sku
                    ),
                ),
            }
        }
    }

    /// One order: every line's shipped plus unfilled units equal to its quantity,
    /// `max_shipments`, `ship_complete`, and its split and unfilled penalties.
    fn order_totals(&mut self, order: usize) {
        let (instance, net) = (self.instance, self.net);
        let o = &instance.orders[order];
        let k = self.order_nodes[order].len();
        if k > 0 {
            self.summary.orders_shipped += 1;
        }
        self.summary.extra_shipments += k.saturating_sub(1);
        self.summary.split_cost += net.split_cost(k);
        if let Some(m) = o.max_shipments
            && k > m as usize
        {
            self.push(
                "E3023",
                format!("order \"{}\" has {k} shipments, max_shipments is {m}", o.id),
            );
        }
        let mut partly = false;
        for (li, &(sku, qty)) in net.lines[order].iter().enumerate() {
            let sent = self.shipped[order][li];
            let left = self.unfilled.get(&(order, li)).copied().unwrap_or(0);
            if u64::from(sent) + left != u64::from(qty) {
                self.push(
                    "E3030",
                    format!(
                        "order \"{}\" sku \"{}\": shipped {sent} + unfilled {left} != ordered {qty}",
                        o.id, instance.skus[sku].id
                    ),
                );
            }
            let missing = qty.saturating_sub(sent);
            partly |= missing > 0;
            self.summary.unfilled_units += u64::from(missing);
            self.summary.unfilled_cost += net.unit_penalty(order) * f64::from(missing);
        }
        if o.ship_complete && k > 0 && (k > 1 || partly) {
            self.push(
                "E3024",
                format!("order \"{}\" must ship complete in one shipment", o.id),
            );
        }
    }

    /// The plan's objective against the recomputed one, and its bound at most it.
    fn objective_and_bound(&mut self, plan: &Plan) {
        let s = &mut self.summary;
        s.objective =
            s.handling_cost + s.carrier_cost + s.late_cost + s.split_cost + s.unfilled_cost;
        let expected = s.objective;
        if !plan.objective.is_finite() {
            self.push("E3042", "objective is not finite".into());
        } else if !close(plan.objective, expected) {
            self.push(
                "E3040",
                format!("objective is {}, expected {expected}", plan.objective),
            );
        }
        if let Some(lb) = plan.lower_bound {
            if !lb.is_finite() {
                self.push("E3042", "lower_bound is not finite".into());
            } else if lb > plan.objective && !close(lb, plan.objective) {
                self.push(
                    "E3041",
                    format!("lower_bound {lb} exceeds the objective {}", plan.objective),
                );
            }
        }
    }
}
