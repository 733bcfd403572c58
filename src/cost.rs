//! The cost semantics of `domopt.instance/1`: distance, zone, delivery days, SLA,
//! shipment cost, split and unfilled penalties. This module is the one source of
//! truth: every solver and the plan checker price shipments through it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::domain::{Instance, Order, Point, RateCard};

/// Earth radius used for great-circle distances, in miles.
pub const EARTH_RADIUS_MILES: f64 = 3958.8;

/// Great-circle (haversine) distance between two points, in miles.
pub fn haversine_miles(a: Point, b: Point) -> f64 {
    miles_of_haversine(haversine(Trig::of(a), Trig::of(b)))
}

/// A point with the trigonometry the haversine formula needs, computed once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trig {
    lat_rad: f64,
    cos_lat: f64,
    lon: f64,
}

impl Trig {
    /// Precomputes a point.
    pub fn of(p: Point) -> Trig {
        let lat_rad = p.lat.to_radians();
        Trig {
            lat_rad,
            cos_lat: lat_rad.cos(),
            lon: p.lon,
        }
    }
}

/// The haversine term h of two points; distances grow with h, so h ranks them.
pub fn haversine(a: Trig, b: Trig) -> f64 {
    let dlat = b.lat_rad - a.lat_rad;
    let dlon = (b.lon - a.lon).to_radians();
    (dlat / 2.0).sin().powi(2) + a.cos_lat * b.cos_lat * (dlon / 2.0).sin().powi(2)
}

/// Miles of a haversine term.
pub fn miles_of_haversine(h: f64) -> f64 {
    2.0 * EARTH_RADIUS_MILES * h.sqrt().min(1.0).asin()
}

/// Zone of a distance: the index of the first bound ≥ `miles`, or the number of
/// bounds when the distance is past the last one.
pub fn zone(rate_card: &RateCard, miles: f64) -> usize {
    rate_card
        .zone_upper_miles
        .partition_point(|&upper| upper < miles)
}

/// The carrier service of a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceChoice {
    /// In-store pickup at the order's pickup node.
    Pickup,
    /// `rate_card.services[i]`.
    Carrier(usize),
}

/// Price and timing of one shipment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShipmentPrice {
    /// Total shipment cost: handling + carrier + late.
    pub cost: f64,
    /// Node part: cost_per_shipment + cost_per_unit × units.
    pub handling: f64,
    /// Carrier part: base + per_weight × weight (0 for pickup).
    pub carrier: f64,
    /// Late penalty (0 when on time or under a hard SLA).
    pub late: f64,
    /// Handling plus transit days.
    pub delivery_days: u32,
    /// Days past the promise (0 when on time; always 0 for pickup).
    pub late_days: u32,
}

/// The geography of one (order, node) pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lane {
    /// Great-circle distance in miles.
    pub miles: f64,
    /// Rate-card zone.
    pub zone: usize,
}

/// An instance with its ids resolved to dense indices, and the pricing rules.
///
/// Solvers and the checker work on indices: nodes, skus and orders are numbered in
/// the order of the instance's lists.
#[derive(Debug)]
pub struct Network<'a> {
    /// The instance this indexes.
    pub instance: &'a Instance,
    /// Node id → index.
    pub node_index: HashMap<&'a str, usize>,
    /// Sku id → index.
    pub sku_index: HashMap<&'a str, usize>,
    /// Order id → index.
    pub order_index: HashMap<&'a str, usize>,
    /// Weight per sku index.
    pub sku_weight: Vec<f64>,
    /// Where each stocked (node, sku) pair's figures live (see [`StockIndex`]).
    pub stock_index: Arc<StockIndex>,
    /// Available units per stock slot (on_hand − reserved − safety, ≥ 0).
    pub stock: Vec<u32>,
    /// Each order's lines as (sku index, qty).
    pub lines: Vec<Vec<(usize, u32)>>,
    /// Each order's pickup node index, if it is a pickup order.
    pub pickup: Vec<Option<usize>>,
    /// Each order's excluded node indices (usually empty).
    pub excluded: Vec<Vec<usize>>,
    node_trig: Vec<Trig>,
    order_trig: Vec<Trig>,
}

impl<'a> Network<'a> {
    /// Indexes a validated instance.
    pub fn new(instance: &'a Instance) -> Network<'a> {
        let index = |ids: Vec<&'a str>| -> HashMap<&'a str, usize> {
            ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect()
        };
        let node_index = index(instance.nodes.iter().map(|n| n.id.as_str()).collect());
        let sku_index = index(instance.skus.iter().map(|s| s.id.as_str()).collect());
        let order_index = index(instance.orders.iter().map(|o| o.id.as_str()).collect());
        let (stock_index, stock) = StockIndex::new(instance, &node_index, &sku_index);
        let lines = instance
            .orders
            .iter()
            .map(|o| {
                o.lines
                    .iter()
                    .filter_map(|l| sku_index.get(l.sku.as_str()).map(|&s| (s, l.qty)))
                    .collect()
            })
            .collect();
        let pickup = instance
            .orders
            .iter()
            .map(|o| {
                o.pickup_node
                    .as_deref()
                    .and_then(|n| node_index.get(n).copied())
            })
            .collect();
        let excluded = instance
            .orders
            .iter()
            .map(|o| {
                o.exclude_nodes
                    .iter()
                    .filter_map(|n| node_index.get(n.as_str()).copied())
                    .collect()
            })
            .collect();
        let node_trig = instance
            .nodes
            .iter()
            .map(|n| {
                Trig::of(Point {
                    lat: n.lat,
                    lon: n.lon,
                })
            })
            .collect();
        let order_trig = instance
            .orders
            .iter()
            .map(|o| Trig::of(o.ship_to))
            .collect();
        Network {
            instance,
            node_trig,
            order_trig,
            sku_weight: instance.skus.iter().map(|s| s.weight).collect(),
            node_index,
            sku_index,
            order_index,
            stock_index: Arc::new(stock_index),
            stock,
            lines,
            pickup,
            excluded,
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.instance.nodes.len()
    }

    /// Number of skus.
    pub fn sku_count(&self) -> usize {
        self.instance.skus.len()
    }

    /// Number of orders.
    pub fn order_count(&self) -> usize {
        self.instance.orders.len()
    }

    /// The stock slot of (`node`, `sku`), the index into [`Network::stock`] and
    /// `Usage::stock`; `None` when the inventory has no row for the pair.
    pub fn stock_slot(&self, node: usize, sku: usize) -> Option<usize> {
        self.stock_index.slot(node, sku)
    }

    /// Available units of `sku` at `node` in the instance (0 without a row).
    pub fn available(&self, node: usize, sku: usize) -> u32 {
        self.stock_slot(node, sku)
            .map_or(0, |slot| self.stock[slot])
    }

    /// Distance and zone from node to order.
    pub fn lane(&self, order: usize, node: usize) -> Lane {
        self.lane_of(self.haversine(order, node))
    }

    /// The haversine term from node to order: cheaper than [`Network::lane`] and in
    /// the same order, for ranking nodes by distance.
    pub fn haversine(&self, order: usize, node: usize) -> f64 {
        haversine(self.node_trig[node], self.order_trig[order])
    }

    /// Distance and zone of a haversine term.
    pub fn lane_of(&self, h: f64) -> Lane {
        let miles = miles_of_haversine(h);
        Lane {
            miles,
            zone: zone(&self.instance.rate_card, miles),
        }
    }

    /// Per-unit penalty for leaving a unit of this order unfilled.
    pub fn unit_penalty(&self, order: usize) -> f64 {
        self.instance.orders[order]
            .unfilled_penalty
            .unwrap_or(self.instance.costs.unfilled_penalty)
    }

    /// Split penalty for an order shipped in `shipments` shipments.
    pub fn split_cost(&self, shipments: usize) -> f64 {
        self.instance.costs.split_penalty * shipments.saturating_sub(1) as f64
    }

    /// Total weight of a set of (sku, qty) lines.
    pub fn weight(&self, lines: impl IntoIterator<Item = (usize, u32)>) -> f64 {
        lines
            .into_iter()
            .map(|(s, q)| self.sku_weight[s] * q as f64)
            .sum()
    }

    /// Prices a shipment of `units` units weighing `weight` from `node` to `order` with
    /// `service`, `zone` being [`Network::lane`]'s zone for the pair. `None` when the
    /// shipment is not allowed: a late carrier shipment under a hard SLA, a carrier
    /// shipment of a pickup order, pickup at a node that is not the pickup node, or
    /// any shipment from a node the order excludes.
    pub fn price(
        &self,
        order: usize,
        node: usize,
        zone: usize,
        service: ServiceChoice,
        units: u32,
        weight: f64,
    ) -> Option<ShipmentPrice> {
        let inst = self.instance;
        if self.excluded[order].contains(&node) {
            return None;
        }
        let n = &inst.nodes[node];
        let handling = n.cost_per_shipment + n.cost_per_unit * units as f64;
        match service {
            ServiceChoice::Pickup => (self.pickup[order] == Some(node)).then_some(ShipmentPrice {
                cost: handling,
                handling,
                carrier: 0.0,
                late: 0.0,
                delivery_days: n.handling_days,
                late_days: 0,
            }),
            ServiceChoice::Carrier(s) => {
                if self.pickup[order].is_some() {
                    return None;
                }
                let z = zone;
                let svc = &inst.rate_card.services[s];
                let delivery_days = n.handling_days + svc.transit_days[z];
                let late_days = delivery_days.saturating_sub(inst.orders[order].promise_days);
                let late_cost = match inst.costs.late_penalty_per_day {
                    None if late_days > 0 => return None,
                    None => 0.0,
                    Some(per_day) => per_day * late_days as f64,
                };
                let carrier = svc.base[z] + svc.per_weight[z] * weight;
                Some(ShipmentPrice {
                    cost: handling + carrier + late_cost,
                    handling,
                    carrier,
                    late: late_cost,
                    delivery_days,
                    late_days,
                })
            }
        }
    }

    /// The cheapest allowed service for a shipment from `node` to `order`, with its
    /// price; `None` when no service is allowed. Ties go to the lower service index.
    pub fn best_service(
        &self,
        order: usize,
        node: usize,
        zone: usize,
        units: u32,
        weight: f64,
    ) -> Option<(ServiceChoice, ShipmentPrice)> {
        if self.pickup[order].is_some() {
            let choice = ServiceChoice::Pickup;
            return self
                .price(order, node, zone, choice, units, weight)
                .map(|p| (choice, p));
        }
        let mut best: Option<(ServiceChoice, ShipmentPrice)> = None;
        for s in 0..self.instance.rate_card.services.len() {
            let choice = ServiceChoice::Carrier(s);
            if let Some(p) = self.price(order, node, zone, choice, units, weight)
                && best.is_none_or(|(_, b)| p.cost < b.cost)
            {
                best = Some((choice, p));
            }
        }
        best
    }

    /// Whether `node` can ship to `order` at all (some service meets the SLA, or it is
    /// the order's pickup node).
    pub fn can_serve(&self, order: usize, node: usize, zone: usize) -> bool {
        self.best_service(order, node, zone, 1, 0.0).is_some()
    }

    /// The service name as written in plans.
    pub fn service_name(&self, service: ServiceChoice) -> &'a str {
        match service {
            ServiceChoice::Pickup => crate::domain::PICKUP_SERVICE,
            ServiceChoice::Carrier(s) => &self.instance.rate_card.services[s].name,
        }
    }

    /// Resolves a service name from a plan for this order.
    pub fn service_by_name(&self, name: &str) -> Option<ServiceChoice> {
        if name == crate::domain::PICKUP_SERVICE {
            return Some(ServiceChoice::Pickup);
        }
        self.instance
            .rate_card
            .services
            .iter()
            .position(|s| s.name == name)
            .map(ServiceChoice::Carrier)
    }

    /// Order by index.
    pub fn order(&self, order: usize) -> &'a Order {
        &self.instance.orders[order]
    }
}

/// Remaining stock and node capacity while allocating. Signed so that the checker
/// can use it to detect overuse.
#[derive(Debug, Clone)]
pub struct Usage {
    index: Arc<StockIndex>,
    /// Stock left per stock slot ([`Network::stock_slot`]).
    pub stock: Vec<i64>,
    /// Units taken of (node, sku) pairs the inventory has no row for (negative:
    /// only a plan that ships stock a node does not hold has any).
    pub unstocked: BTreeMap<(usize, usize), i64>,
    /// Shipments left per node (`i64::MAX` when unlimited).
    pub shipments: Vec<i64>,
    /// Units left per node (`i64::MAX` when unlimited).
    pub units: Vec<i64>,
}

impl Usage {
    /// Full availability of the instance.
    pub fn new(net: &Network) -> Usage {
        let cap = |c: Option<u32>| c.map_or(i64::MAX, i64::from);
        Usage {
            index: Arc::clone(&net.stock_index),
            stock: net.stock.iter().map(|&s| i64::from(s)).collect(),
            unstocked: BTreeMap::new(),
            shipments: net
                .instance
                .nodes
                .iter()
                .map(|n| cap(n.capacity_shipments))
                .collect(),
            units: net
                .instance
                .nodes
                .iter()
                .map(|n| cap(n.capacity_units))
                .collect(),
        }
    }

    /// Stock left of `sku` at `node`.
    pub fn stock_left(&self, node: usize, sku: usize) -> i64 {
        match self.index.slot(node, sku) {
            Some(slot) => self.stock[slot],
            None => self.unstocked.get(&(node, sku)).copied().unwrap_or(0),
        }
    }

    /// Adds `delta` to the stock left of `sku` at `node`.
    fn add_stock(&mut self, node: usize, sku: usize, delta: i64) {
        match self.index.slot(node, sku) {
            Some(slot) => self.stock[slot] += delta,
            None => *self.unstocked.entry((node, sku)).or_default() += delta,
        }
    }

    /// Books one shipment of `lines` from `node`.
    pub fn take(&mut self, node: usize, lines: &[(usize, u32)]) {
        self.shipments[node] -= 1;
        for &(sku, qty) in lines {
            self.add_stock(node, sku, -i64::from(qty));
            self.units[node] -= i64::from(qty);
        }
    }

    /// Returns one shipment of `lines` from `node` booked by [`Usage::take`].
    pub fn give_back(&mut self, node: usize, lines: &[(usize, u32)]) {
        self.shipments[node] += 1;
        for &(sku, qty) in lines {
            self.add_stock(node, sku, i64::from(qty));
            self.units[node] += i64::from(qty);
        }
    }

    /// Every (node, sku) whose stock left is negative, with it, by node then sku.
    pub fn overdrawn(&self) -> Vec<(usize, usize, i64)> {
        let mut out: Vec<(usize, usize, i64)> = (0..self.stock.len())
            .filter(|&slot| self.stock[slot] < 0)
            .map(|slot| {
                let (node, sku) = self.index.pair(slot);
                (node, sku, self.stock[slot])
            })
            .chain(
                self.unstocked
                    .iter()
                    .filter(|&(_, &left)| left < 0)
                    .map(|(&(node, sku), &left)| (node, sku, left)),
            )
            .collect();
        out.sort_unstable();
        out
    }
}

/// Where each stocked (node, sku) pair's figures live: one slot per pair the
/// inventory has a row for (a later row for the same pair replaces the earlier), so
/// tables indexed by slot grow with the inventory, not with nodes × skus.
#[derive(Debug, Clone, Default)]
pub struct StockIndex {
    /// Per sku: (node, slot), by node.
    by_sku: Vec<Vec<(u32, u32)>>,
    /// Per slot: (node, sku).
    pairs: Vec<(usize, usize)>,
}

impl StockIndex {
    /// The index of `instance`'s inventory, with each slot's available units.
    fn new(
        instance: &Instance,
        node_index: &HashMap<&str, usize>,
        sku_index: &HashMap<&str, usize>,
    ) -> (StockIndex, Vec<u32>) {
        let mut index = StockIndex {
            by_sku: vec![Vec::new(); instance.skus.len()],
            pairs: Vec::new(),
        };
        let mut stock = Vec::new();
        for row in &instance.inventory {
            let (Some(&n), Some(&s)) = (
                node_index.get(row.node.as_str()),
                sku_index.get(row.sku.as_str()),
            ) else {
                continue;
            };
            let slot = index.slot(n, s).unwrap_or_else(|| {
                let slot = index.pairs.len();
                let holders = &mut index.by_sku[s];
                let at = holders.partition_point(|&(node, _)| (node as usize) < n);
                holders.insert(at, (n as u32, slot as u32));
                index.pairs.push((n, s));
                stock.push(0);
                slot
            });
            stock[slot] = row.available();
        }
        (index, stock)
    }

    /// The slot of (`node`, `sku`), if the inventory has a row for it.
    pub fn slot(&self, node: usize, sku: usize) -> Option<usize> {
        let holders = self.by_sku.get(sku)?;
        holders
            .binary_search_by_key(&node, |&(n, _)| n as usize)
            .ok()
            .map(|i| holders[i].1 as usize)
    }

    /// The (node, sku) pair of `slot`.
    pub fn pair(&self, slot: usize) -> (usize, usize) {
        self.pairs[slot]
    }

    /// The nodes with an inventory row for `sku`, by node index, with their slots.
    pub fn holders(&self, sku: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.by_sku
            .get(sku)
            .into_iter()
            .flatten()
            .map(|&(n, slot)| (n as usize, slot as usize))
    }

    /// Number of slots (stocked pairs).
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no pair is stocked.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}
