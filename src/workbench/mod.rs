//! The research workbench: per-plan KPIs ([`kpis`]), `domopt compare` ([`compare`]),
//! its SVG plots ([`plots`]) and the windowed replay of a day ([`replay`]).

pub mod compare;
pub mod html;
pub mod plots;
pub mod replay;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::check::Report;
use crate::cost::{Network, ServiceChoice};
use crate::domain::{Instance, Plan, PlanStatus};

/// Units shipped and shipments per node, against its capacity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeUse {
    /// Node id.
    pub node: String,
    /// Shipments leaving the node.
    pub shipments: u64,
    /// Units leaving the node.
    pub units: u64,
    /// shipments / capacity_shipments, when capacity is set.
    pub shipment_utilization: Option<f64>,
    /// units / capacity_units, when capacity is set.
    pub unit_utilization: Option<f64>,
}

/// What a researcher reads off one plan. Money figures are the checker's.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Kpis {
    /// Whether the checker accepted the plan.
    pub valid: bool,
    /// Checker violations.
    pub violations: usize,
    /// How the plan came about.
    pub status: PlanStatus,
    /// Whether the time budget ran out and the greedy fallback was used.
    pub fallback: bool,
    /// Objective recomputed by the checker.
    pub objective: f64,
    /// The solver's proved lower bound.
    pub lower_bound: Option<f64>,
    /// (objective − bound) / objective.
    pub gap: Option<f64>,
    /// Solver wall time.
    pub solve_seconds: f64,
    /// Orders in the instance.
    pub orders: usize,
    /// Objective per order.
    pub cost_per_order: f64,
    /// Carrier cost (base and weight).
    pub shipping_cost: f64,
    /// Node handling cost.
    pub handling_cost: f64,
    /// Split penalties.
    pub split_cost: f64,
    /// Late penalties.
    pub late_cost: f64,
    /// Unfilled penalties.
    pub unfilled_cost: f64,
    /// Shipments.
    pub shipments: usize,
    /// Shipments beyond each order's first.
    pub split_shipments: usize,
    /// Shipments per order that ships.
    pub shipments_per_order: f64,
    /// Share of shipped orders that ship in more than one parcel.
    pub split_rate: f64,
    /// Units shipped / units ordered.
    pub fill_rate: f64,
    /// Late shipments.
    pub late_shipments: usize,
    /// Units left unfilled.
    pub unfilled_units: u64,
    /// Unfilled units by reason.
    pub unfilled_by_reason: BTreeMap<String, u64>,
    /// Carrier shipments per zone (index 0 is zone 1); pickups are not counted.
    pub zone_mix: Vec<u64>,
    /// Per-node use.
    pub nodes: Vec<NodeUse>,
    /// Shadow prices from the MIP's LP master duals (`stats.shadow_prices`), highest
    /// first: what one more unit of a resource would save in the LP relaxation.
    pub shadow_prices: Vec<ShadowPrice>,
}

/// The value of one more unit of a binding resource.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ShadowPrice {
    /// `stock`, `shipments` or `units`.
    pub resource: String,
    /// Node id.
    pub node: String,
    /// Sku id (stock only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Saving per extra unit.
    pub price: f64,
}

/// Computes the KPIs of `plan` on `instance` from the checker's `report`.
pub fn kpis(instance: &Instance, plan: &Plan, report: &Report) -> Kpis {
    let s = &report.summary;
    let net = Network::new(instance);
    let mut zone_mix = vec![0u64; instance.rate_card.zone_count()];
    let mut per_node: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut shipments_of: BTreeMap<&str, usize> = BTreeMap::new();
    for sh in &plan.shipments {
        let units: u64 = sh.lines.iter().map(|l| u64::from(l.qty)).sum();
        let e = per_node.entry(sh.node.as_str()).or_default();
        e.0 += 1;
        e.1 += units;
        *shipments_of.entry(sh.order.as_str()).or_default() += 1;
        if let (Some(&o), Some(&n)) = (
            net.order_index.get(sh.order.as_str()),
            net.node_index.get(sh.node.as_str()),
        ) && net.service_by_name(&sh.service) != Some(ServiceChoice::Pickup)
        {
            zone_mix[net.lane(o, n).zone] += 1;
        }
    }
    let ordered: u64 = instance
        .orders
        .iter()
        .flat_map(|o| &o.lines)
        .map(|l| u64::from(l.qty))
        .sum();
    let shipped_orders = shipments_of.len();
    let split_orders = shipments_of.values().filter(|&&n| n > 1).count();
    let mut unfilled_by_reason = BTreeMap::new();
    for u in &plan.unfilled {
        let reason = serde_json::to_value(u.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *unfilled_by_reason.entry(reason).or_default() += u64::from(u.qty);
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let nodes = instance
        .nodes
        .iter()
        .map(|n| {
            let (shipments, units) = per_node.get(n.id.as_str()).copied().unwrap_or((0, 0));
            NodeUse {
                node: n.id.clone(),
                shipments,
                units,
                shipment_utilization: n
                    .capacity_shipments
                    .map(|c| ratio(shipments as f64, c as f64)),
                unit_utilization: n.capacity_units.map(|c| ratio(units as f64, c as f64)),
            }
        })
        .collect();
    let gap = plan
        .lower_bound
        .map(|lb| ratio(s.objective - lb, s.objective.abs()).max(0.0));
    Kpis {
        valid: report.is_valid(),
        violations: report.violations.len(),
        status: plan.status,
        fallback: plan.status == PlanStatus::Fallback,
        objective: s.objective,
        lower_bound: plan.lower_bound,
        gap,
        solve_seconds: plan.solve_seconds,
        orders: instance.orders.len(),
        cost_per_order: ratio(s.objective, instance.orders.len() as f64),
        shipping_cost: s.carrier_cost,
        handling_cost: s.handling_cost,
        split_cost: s.split_cost,
        late_cost: s.late_cost,
        unfilled_cost: s.unfilled_cost,
        shipments: s.shipments,
        split_shipments: s.extra_shipments,
        shipments_per_order: ratio(s.shipments as f64, shipped_orders as f64),
        split_rate: ratio(split_orders as f64, shipped_orders as f64),
        fill_rate: ratio(s.units_shipped as f64, ordered as f64),
        late_shipments: s.late_shipments,
        unfilled_units: s.unfilled_units,
        unfilled_by_reason,
        zone_mix,
        nodes,
        shadow_prices: plan
            .stats
            .as_ref()
            .and_then(|st| serde_json::from_value(st["shadow_prices"].clone()).ok())
            .unwrap_or_default(),
    }
}

/// One solver on one instance (at one sweep value).
#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    /// Instance label (the file name without extension).
    pub instance: String,
    /// Instance file.
    pub file: String,
    /// Swept parameter and value, if sweeping.
    pub sweep: Option<(String, f64)>,
    /// Solver.
    pub solver: String,
    /// The plan's KPIs.
    pub kpis: Kpis,
    /// Percent saved against each other solver on the same instance:
    /// 100·(their objective − this objective) / their objective.
    pub saved_vs: BTreeMap<String, f64>,
}

impl ResultRow {
    /// The instance label, with the sweep value when sweeping: `name (param=value)`.
    pub fn label(&self) -> String {
        match &self.sweep {
            Some((p, v)) => format!("{} ({p}={v})", self.instance),
            None => self.instance.clone(),
        }
    }
}
