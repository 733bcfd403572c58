//! The two documents everything speaks: an [`Instance`] (one window of orders plus the
//! network, stock and rates) and a [`Plan`] (which node ships what, with which service).
//!
//! The field meanings are those of `domopt.instance/1` and `domopt.plan/1`
//! (see `docs/formats.md`). Instances are built by
//! [`crate::format::read_instance`], which validates them; plans by solvers.

use serde::{Deserialize, Serialize};

/// Format tag of an instance document.
pub const INSTANCE_FORMAT: &str = "domopt.instance/1";
/// Format tag of a plan document.
pub const PLAN_FORMAT: &str = "domopt.plan/1";
/// Service name reserved for in-store pickup shipments.
pub const PICKUP_SERVICE: &str = "pickup";

/// One window of orders together with the network that can serve them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Always [`INSTANCE_FORMAT`].
    pub format: String,
    /// Name of the window; plans echo it in `instance`.
    pub name: String,
    /// Fulfillment nodes (DCs, stores, 3PLs, suppliers).
    pub nodes: Vec<Node>,
    /// Stock keeping units.
    pub skus: Vec<Sku>,
    /// Stock per (node, sku); absent rows mean zero.
    pub inventory: Vec<InventoryRow>,
    /// Carrier zones and services.
    pub rate_card: RateCard,
    /// Split, unfilled and late penalties.
    pub costs: Costs,
    /// The orders of this window.
    pub orders: Vec<Order>,
}

/// What kind of place a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// Distribution center.
    Dc,
    /// Retail store (ship-from-store and pickup).
    Store,
    /// Third-party logistics warehouse.
    #[serde(rename = "3pl")]
    ThirdParty,
    /// Drop-ship supplier.
    Supplier,
}

impl NodeKind {
    /// The spelling used in the JSON format.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Dc => "dc",
            NodeKind::Store => "store",
            NodeKind::ThirdParty => "3pl",
            NodeKind::Supplier => "supplier",
        }
    }

    /// Parses the JSON spelling.
    pub fn parse(s: &str) -> Option<NodeKind> {
        [
            NodeKind::Dc,
            NodeKind::Store,
            NodeKind::ThirdParty,
            NodeKind::Supplier,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A place that holds stock and ships parcels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Unique node id.
    pub id: String,
    /// Node kind.
    pub kind: NodeKind,
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Days between release and carrier pickup.
    pub handling_days: u32,
    /// Fixed cost of each shipment leaving this node.
    pub cost_per_shipment: f64,
    /// Pick/pack cost per unit.
    pub cost_per_unit: f64,
    /// Maximum shipments in this window; `None` is unlimited.
    pub capacity_shipments: Option<u32>,
    /// Maximum units in this window; `None` is unlimited.
    pub capacity_units: Option<u32>,
}

/// A stock keeping unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sku {
    /// Unique sku id.
    pub id: String,
    /// Shipping weight per unit (default 1.0).
    pub weight: f64,
}

/// Stock of one sku at one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryRow {
    /// Node id.
    pub node: String,
    /// Sku id.
    pub sku: String,
    /// Physical units on hand.
    pub on_hand: u32,
    /// Units already promised elsewhere.
    pub reserved: u32,
    /// Units that must stay on the shelf.
    pub safety_stock: u32,
}

impl InventoryRow {
    /// Units this window may ship: max(0, on_hand − reserved − safety_stock).
    pub fn available(&self) -> u32 {
        self.on_hand
            .saturating_sub(self.reserved)
            .saturating_sub(self.safety_stock)
    }
}

/// Distance zones and the carrier services priced per zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateCard {
    /// Upper distance bound of each zone but the last, strictly increasing.
    pub zone_upper_miles: Vec<f64>,
    /// Services; each per-zone array has `zone_upper_miles.len() + 1` entries.
    pub services: Vec<Service>,
}

impl RateCard {
    /// Number of zones (one more than the bounds).
    pub fn zone_count(&self) -> usize {
        self.zone_upper_miles.len() + 1
    }
}

/// A carrier service with per-zone transit time and price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// Unique service name (never `pickup`).
    pub name: String,
    /// Transit days per zone.
    pub transit_days: Vec<u32>,
    /// Base price per zone.
    pub base: Vec<f64>,
    /// Price per weight unit per zone.
    pub per_weight: Vec<f64>,
}

/// Window-wide penalties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Costs {
    /// Cost of each shipment of an order beyond the first.
    pub split_penalty: f64,
    /// Cost per ordered unit not shipped (orders may override).
    pub unfilled_penalty: f64,
    /// `None`: the promise is a hard constraint; otherwise the cost per late day.
    pub late_penalty_per_day: Option<f64>,
}

/// A point on Earth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// A customer order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Unique order id.
    pub id: String,
    /// Sales channel (default `web`).
    pub channel: String,
    /// Delivery address.
    pub ship_to: Point,
    /// Promised delivery days.
    pub promise_days: u32,
    /// Ordered lines, distinct skus.
    pub lines: Vec<Line>,
    /// Maximum number of shipments, `None` is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_shipments: Option<u32>,
    /// Ship every unit in one shipment or nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ship_complete: bool,
    /// Store pickup: every unit comes from this node with service `pickup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_node: Option<String>,
    /// Per-unit unfilled penalty overriding `costs.unfilled_penalty`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfilled_penalty: Option<f64>,
    /// Nodes that must not ship this order (optional extension; e.g. a node that
    /// rejected the order). Empty means every node may.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_nodes: Vec<String>,
    /// When the order was placed, in seconds from the start of the replayed period
    /// (optional extension, used by `domopt replay`; solvers ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_at: Option<f64>,
}

/// One ordered sku and quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Sku id.
    pub sku: String,
    /// Units ordered (≥ 1).
    pub qty: u32,
}

/// How a plan came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanStatus {
    /// Proved optimal within the solver's gap tolerance.
    Optimal,
    /// Valid, not proved optimal.
    Feasible,
    /// The time budget expired; the plan came from the fallback heuristic.
    Fallback,
    /// The solver failed.
    Error,
}

/// Why ordered units were not shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnfilledReason {
    /// No node with stock left.
    NoStock,
    /// Stock exists only at nodes whose capacity is used up.
    NoCapacity,
    /// Stock exists only at nodes that cannot meet the promise.
    Sla,
    /// The order's shipment limit is reached.
    MaxShipments,
    /// The order must ship complete and no node can.
    ShipComplete,
    /// Shipping would cost more than leaving the units unfilled.
    Cost,
}

/// The allocation decided for a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`PLAN_FORMAT`].
    pub format: String,
    /// The instance's `name`.
    pub instance: String,
    /// Solver that produced the plan.
    pub solver: String,
    /// How the plan came about.
    pub status: PlanStatus,
    /// Total cost under the cost semantics of docs/formats.md.
    pub objective: f64,
    /// A proved lower bound on the optimal objective, if known.
    pub lower_bound: Option<f64>,
    /// Wall time of the solve.
    pub solve_seconds: f64,
    /// The shipments.
    pub shipments: Vec<Shipment>,
    /// Units not shipped, with reasons.
    pub unfilled: Vec<Unfilled>,
    /// Solver statistics (optional extension field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<serde_json::Value>,
}

/// Part of one order shipped from one node with one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    /// Order id.
    pub order: String,
    /// Node id.
    pub node: String,
    /// Service name, or `pickup`.
    pub service: String,
    /// Handling plus transit days.
    pub delivery_days: u32,
    /// Shipped skus and quantities.
    pub lines: Vec<Line>,
    /// Shipment cost including any late penalty.
    pub cost: f64,
}

/// Units of one order line left unshipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unfilled {
    /// Order id.
    pub order: String,
    /// Sku id.
    pub sku: String,
    /// Units not shipped.
    pub qty: u32,
    /// Why.
    pub reason: UnfilledReason,
}
