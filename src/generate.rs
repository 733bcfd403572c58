//! Realistic synthetic instances from a seed.
//!
//! Geography is real: customers and nodes sit in US cities drawn by population from
//! `datasets/us-cities.csv` (GeoNames, CC BY 4.0). SKU popularity is Zipf-like, most
//! orders have one line with a long tail, inventory is fragmented across DCs, stores,
//! 3PLs and suppliers, and the rate card is a parcel-style zone card with ground and
//! two-day services. The same parameters give the same instance, byte for byte.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::*;

/// The embedded US cities table (GeoNames cities with population ≥ 15,000).
const CITIES_CSV: &str = include_str!("../datasets/us-cities.csv");

/// A city of the embedded table.
#[derive(Debug, Clone, PartialEq)]
pub struct City {
    /// City name without spaces or commas.
    pub name: String,
    /// Two-letter state code.
    pub state: String,
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Population.
    pub population: u64,
}

/// Parses the embedded cities table, largest city first.
pub fn cities() -> Vec<City> {
    CITIES_CSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Some(City {
                name: f.get(1)?.replace([' ', '.', '\''], ""),
                state: f.get(2)?.to_string(),
                lat: f.get(3)?.parse().ok()?,
                lon: f.get(4)?.parse().ok()?,
                population: f.get(5)?.parse().ok()?,
            })
        })
        .collect()
}

/// Generator parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct GenParams {
    /// Number of orders.
    pub orders: usize,
    /// Number of nodes.
    pub nodes: usize,
    /// Number of skus.
    pub skus: usize,
    /// Random seed.
    pub seed: u64,
    /// Demand against supply: at 1.0 the network holds about 1.25× the expected demand
    /// of each sku and about 1.3× the window's shipments in node capacity; higher is
    /// tighter.
    pub tightness: f64,
    /// Per-day late penalty; `None` keeps the SLA hard.
    pub late_penalty_per_day: Option<f64>,
    /// Share of orders picked up in store (default 0.03).
    pub pickup_share: f64,
    /// Every order has at least this many lines (default 1: the retail mix, 65%
    /// single-line); raise it for split-heavy windows.
    pub min_lines: usize,
}

impl Default for GenParams {
    fn default() -> Self {
        GenParams {
            orders: 1000,
            nodes: 20,
            skus: 500,
            seed: 1,
            tightness: 1.0,
            late_penalty_per_day: None,
            pickup_share: 0.03,
            min_lines: 1,
        }
    }
}

/// Sampler over cumulative weights.
struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = f64>) -> Weighted {
        let mut acc = 0.0;
        Weighted {
            cumulative: weights
                .into_iter()
                .map(|w| {
                    acc += w;
                    acc
                })
                .collect(),
        }
    }

    fn total(&self) -> f64 {
        *self.cumulative.last().unwrap_or(&0.0)
    }

    fn sample(&self, rng: &mut impl Rng) -> usize {
        let x = rng.r#gen::<f64>() * self.total();
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The parcel-style rate card used by generated instances: 8 distance zones, ground
/// and two-day.
pub fn parcel_rate_card() -> RateCard {
    RateCard {
        zone_upper_miles: vec![50.0, 150.0, 300.0, 600.0, 1000.0, 1400.0, 1800.0],
        services: vec![
            Service {
                name: "ground".into(),
                transit_days: vec![1, 2, 2, 3, 4, 5, 5, 6],
                base: vec![7.0, 7.4, 7.9, 8.6, 9.4, 10.1, 10.9, 11.8],
                per_weight: vec![0.30, 0.34, 0.38, 0.45, 0.55, 0.62, 0.70, 0.80],
            },
            Service {
                name: "two_day".into(),
                transit_days: vec![1, 2, 2, 2, 2, 2, 2, 2],
                base: vec![9.5, 10.4, 11.6, 13.9, 16.8, 19.2, 21.5, 23.9],
                per_weight: vec![0.6, 0.7, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8],
            },
        ],
    }
}

/// Generates an instance.
pub fn generate(p: &GenParams) -> Instance {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let cities = cities();
    let by_population = Weighted::new(cities.iter().map(|c| c.population as f64));
    let nodes_n = p.nodes.max(1);
    let skus_n = p.skus.max(1);
    let nodes = gen_nodes(p, &mut rng, &cities, &by_population);
    let skus: Vec<Sku> = (0..skus_n)
        .map(|i| Sku {
            id: format!("SKU-{:05}", i + 1),
            weight: round2(rng.gen_range(0.2..4.0)),
        })
        .collect();
    let (orders, demand) = gen_orders(p, &mut rng, &cities, &by_population, &nodes, &skus);
    let inventory = gen_inventory(p, &mut rng, &nodes, &skus, &demand);
    Instance {
        format: INSTANCE_FORMAT.into(),
        name: format!(
            "gen-{}o-{}n-{}s-t{}-seed{}",
            p.orders, nodes_n, skus_n, p.tightness, p.seed
        ),
        nodes,
        skus,
        inventory,
        rate_card: parcel_rate_card(),
        costs: Costs {
            split_penalty: 2.0,
            unfilled_penalty: 60.0,
            late_penalty_per_day: p.late_penalty_per_day,
        },
        orders,
    }
}

/// The nodes: about 15% DCs (at least one), 10% 3PLs, 5% suppliers, the rest
/// stores, with costs and capacities scaled to the window's expected shipments.
/// Nodes of one kind: `share` of the first 100 nodes and `wide_share` of the rest, so
/// that wide networks are mostly stores (1,000 nodes: 33 DCs, 19 3PLs, 10 suppliers).
fn kind_count(nodes: usize, share: f64, wide_share: f64) -> usize {
    let head = nodes.min(100) as f64 * share;
    let tail = nodes.saturating_sub(100) as f64 * wide_share;
    (head + tail).round() as usize
}

fn gen_nodes(
    p: &GenParams,
    rng: &mut ChaCha8Rng,
    cities: &[City],
    by_population: &Weighted,
) -> Vec<Node> {
    let tight = p.tightness.max(0.01);
    let nodes_n = p.nodes.max(1);
    let dcs = kind_count(nodes_n, 0.15, 0.02).max(1);
    let tpls = kind_count(nodes_n, 0.10, 0.01);
    let suppliers = kind_count(nodes_n, 0.05, 0.005);
    // DCs and 3PLs stand in the 60 largest metros, stores anywhere by population.
    let metro = Weighted::new(cities.iter().take(60).map(|c| c.population as f64));
    // Expected shipments per node kind share, for capacities.
    let shipments_total = p.orders as f64 * 1.3 / tight;
    let mut nodes = Vec::with_capacity(nodes_n);
    let mut counters = [0usize; 4];
    for i in 0..nodes_n {
        let kind = if i < dcs {
            NodeKind::Dc
        } else if i < dcs + tpls {
            NodeKind::ThirdParty
        } else if i < dcs + tpls + suppliers {
            NodeKind::Supplier
        } else {
            NodeKind::Store
        };
        let city = match kind {
            NodeKind::Dc | NodeKind::ThirdParty => &cities[metro.sample(rng)],
            _ => &cities[by_population.sample(rng)],
        };
        let k = kind as usize;
        counters[k] += 1;
        let prefix = match kind {
            NodeKind::Dc => "DC",
            NodeKind::Store => "ST",
            NodeKind::ThirdParty => "3PL",
            NodeKind::Supplier => "SUP",
        };
        let stores = nodes_n - dcs - tpls - suppliers;
        // Capacity shares: DCs 60%, 3PLs 20%, stores 20% of the window's shipments;
        // suppliers are unconstrained.
        let share = |part: f64, count: usize| {
            (shipments_total * part / count.max(1) as f64).ceil() as u32 + 1
        };
        let (handling, cps, cpu, cap_s, cap_u) = match kind {
            NodeKind::Dc => (
                0,
                rng.gen_range(1.0..1.6),
                rng.gen_range(0.20..0.35),
                Some(share(0.6, dcs)),
                None,
            ),
            NodeKind::ThirdParty => (
                1,
                rng.gen_range(2.4..3.0),
                rng.gen_range(0.40..0.50),
                Some(share(0.2, tpls)),
                None,
            ),
            NodeKind::Supplier => (
                2,
                rng.gen_range(4.0..6.0),
                rng.gen_range(0.45..0.60),
                None,
                None,
            ),
            NodeKind::Store => {
                let s = share(0.2, stores);
                (
                    1,
                    rng.gen_range(2.4..3.4),
                    rng.gen_range(1.0..1.6),
                    Some(s),
                    Some(s * 2),
                )
            }
        };
        nodes.push(Node {
            id: format!("{prefix}-{:03}-{}-{}", counters[k], city.name, city.state),
            kind,
            lat: city.lat,
            lon: city.lon,
            handling_days: handling,
            cost_per_shipment: round2(cps),
            cost_per_unit: round2(cpu),
            capacity_shipments: cap_s,
            capacity_units: cap_u,
        });
    }

    nodes
}

/// The orders, each with its lines drawn by sku popularity, and the total demand
/// per sku.
fn gen_orders(
    p: &GenParams,
    rng: &mut ChaCha8Rng,
    cities: &[City],
    by_population: &Weighted,
    nodes: &[Node],
    skus: &[Sku],
) -> (Vec<Order>, Vec<u64>) {
    let (nodes_n, skus_n) = (nodes.len(), skus.len());
    let popularity = Weighted::new((0..skus_n).map(|i| 1.0 / (i as f64 + 1.0)));
    let stores: Vec<usize> = (0..nodes_n)
        .filter(|&n| nodes[n].kind == NodeKind::Store)
        .collect();
    let mut demand = vec![0u64; skus_n];
    let mut orders = Vec::with_capacity(p.orders);
    for i in 0..p.orders {
        let city = &cities[by_population.sample(rng)];
        let ship_to = Point {
            lat: (city.lat + rng.gen_range(-0.08..0.08)).clamp(-90.0, 90.0),
            lon: (city.lon + rng.gen_range(-0.08..0.08)).clamp(-180.0, 180.0),
        };
        let line_count = match rng.r#gen::<f64>() {
            x if x < 0.65 => 1,
            x if x < 0.85 => 2,
            x if x < 0.93 => 3,
            _ => rng.gen_range(4..=8),
        }
        .max(p.min_lines)
        .min(skus_n);
        let mut lines: Vec<Line> = Vec::with_capacity(line_count);
        while lines.len() < line_count {
            let s = popularity.sample(rng);
            let id = &skus[s].id;
            if lines.iter().any(|l| &l.sku == id) {
                continue;
            }
            let qty = match rng.r#gen::<f64>() {
                x if x < 0.85 => 1,
                x if x < 0.97 => 2,
                _ => 3,
            };
            demand[s] += qty as u64;
            lines.push(Line {
                sku: id.clone(),
                qty,
            });
        }
        let promise_days = match rng.r#gen::<f64>() {
            x if x < 0.20 => 2,
            x if x < 0.55 => 3,
            x if x < 0.90 => 5,
            _ => 7,
        };
        let channel = match rng.r#gen::<f64>() {
            x if x < 0.80 => "web",
            x if x < 0.95 => "app",
            _ => "marketplace",
        };
        let special = rng.r#gen::<f64>();
        let mut order = Order {
            id: format!("O-{:07}", i + 1),
            channel: channel.into(),
            ship_to,
            promise_days,
            lines,
            max_shipments: None,
            ship_complete: false,
            pickup_node: None,
            unfilled_penalty: (channel == "marketplace").then_some(80.0),
            exclude_nodes: Vec::new(),
            placed_at: None,
        };
        let pickup_share = p.pickup_share.clamp(0.0, 1.0);
        if special < pickup_share && !stores.is_empty() {
            // Pickup at the nearest store.
            let nearest = stores
                .iter()
                .copied()
                .min_by(|&a, &b| {
                    let d = |n: usize| {
                        crate::cost::haversine_miles(
                            Point {
                                lat: nodes[n].lat,
                                lon: nodes[n].lon,
                            },
                            ship_to,
                        )
                    };
                    d(a).total_cmp(&d(b))
                })
                .expect("stores is not empty");
            order.pickup_node = Some(nodes[nearest].id.clone());
        } else if special < pickup_share + 0.04 {
            order.ship_complete = true;
        } else if special < pickup_share + 0.09 {
            order.max_shipments = Some(rng.gen_range(1..=2));
        }
        orders.push(order);
    }

    (orders, demand)
}

/// Inventory: each sku's supply (about 1.25× demand / tightness) spread over a
/// random subset of nodes; popular skus reach more stores.
/// How many nodes of each kind the network has.
struct KindCounts([usize; 4]);

impl KindCounts {
    fn of(nodes: &[Node]) -> KindCounts {
        let mut c = [0; 4];
        for n in nodes {
            c[n.kind as usize] += 1;
        }
        KindCounts(c)
    }

    /// Whether some kind is numerous enough for its holding cap to bind.
    fn caps_bind(&self) -> bool {
        [
            NodeKind::Dc,
            NodeKind::ThirdParty,
            NodeKind::Supplier,
            NodeKind::Store,
        ]
        .into_iter()
        .any(|k| {
            [true, false]
                .into_iter()
                .any(|fast| holding_odds(k, fast, self).2)
        })
    }
}

/// The probability that one node of `kind` holds a sku, its weight in sharing the
/// sku's supply, and whether the kind's cap binds. Each kind holds a sku at a few nodes at most (DCs about 12, 3PLs 5,
/// suppliers 3, stores 36 for the fastest-moving fifth of the catalog and 11 for the
/// rest): a sku is stocked at a few dozen nodes however wide the network, as in real
/// catalogs. Up to 100 nodes the caps do not bind.
fn holding_odds(kind: NodeKind, fast: bool, kinds: &KindCounts) -> (f64, f64, bool) {
    let (prob, cap, weight) = match kind {
        NodeKind::Dc => (0.75, 12.0, 6.0),
        NodeKind::ThirdParty => (0.45, 5.0, 3.0),
        NodeKind::Supplier => (0.25, 3.0, 2.0),
        NodeKind::Store if fast => (0.5, 36.0, 0.6),
        NodeKind::Store => (0.15, 11.0, 0.6),
    };
    let count = kinds.0[kind as usize] as f64;
    if prob * count > cap {
        (cap / count, weight, true)
    } else {
        (prob, weight, false)
    }
}

fn gen_inventory(
    p: &GenParams,
    rng: &mut ChaCha8Rng,
    nodes: &[Node],
    skus: &[Sku],
    demand: &[u64],
) -> Vec<InventoryRow> {
    let tight = p.tightness.max(0.01);
    let (nodes_n, skus_n) = (nodes.len(), skus.len());
    let kinds = KindCounts::of(nodes);
    let wide = kinds.caps_bind();
    let mut inventory = Vec::new();
    for (s, sku) in skus.iter().enumerate() {
        let expected =
            demand[s] as f64 + (p.orders as f64 * 1.6 / skus_n as f64 / (s as f64 + 1.0).sqrt());
        let supply = (expected * 1.25 / tight).ceil() as u32 + u32::from(rng.gen_bool(0.5));
        let fast = (s as f64 / skus_n as f64) < 0.2;
        let mut holders: Vec<(usize, f64)> = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let (prob, weight, _) = holding_odds(node.kind, fast, &kinds);
            if rng.gen_bool(prob) {
                holders.push((n, weight * rng.gen_range(0.5..1.5)));
            }
        }
        if holders.is_empty() {
            holders.push((rng.gen_range(0..nodes_n), 1.0));
        }
        let total_w: f64 = holders.iter().map(|h| h.1).sum();
        for (n, w) in holders {
            let mut available = (supply as f64 * w / total_w).round() as u32;
            // On a wide network a holder the window's demand does not reach still
            // shows a unit half the time (the rest are sold out), so the catalog is
            // stocked whether or not this window orders it.
            if wide && available == 0 && rng.gen_bool(0.5) {
                available = 1;
            }
            let reserved = if rng.gen_bool(0.1) {
                rng.gen_range(1..=3)
            } else {
                0
            };
            let safety = if nodes[n].kind == NodeKind::Store && rng.gen_bool(0.3) {
                1
            } else {
                0
            };
            let on_hand = available + reserved + safety;
            if on_hand == 0 {
                continue;
            }
            inventory.push(InventoryRow {
                node: nodes[n].id.clone(),
                sku: sku.id.clone(),
                on_hand,
                reserved,
                safety_stock: safety,
            });
        }
    }

    inventory
}

/// Gives every order a `placed_at` time within one day (0..86,400 s) following a
/// retail day curve (quiet night, a midday peak and a larger evening peak), in order
/// of the orders' ids, so that `domopt replay` can cut the day into windows. Same seed,
/// same times.
pub fn stamp_day(instance: &mut Instance, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_da7e);
    // Relative order intensity per hour of the day.
    const HOURLY: [f64; 24] = [
        0.6, 0.4, 0.3, 0.2, 0.2, 0.3, 0.6, 1.0, 1.4, 1.7, 1.9, 2.1, 2.4, 2.3, 2.0, 1.9, 1.9, 2.1,
        2.5, 2.9, 3.1, 2.8, 2.0, 1.2,
    ];
    let hours = Weighted::new(HOURLY.iter().copied());
    let mut times: Vec<f64> = (0..instance.orders.len())
        .map(|_| (hours.sample(&mut rng) as f64 + rng.r#gen::<f64>()) * 3600.0)
        .collect();
    times.sort_by(f64::total_cmp);
    for (o, t) in instance.orders.iter_mut().zip(times) {
        o.placed_at = Some((t * 1000.0).round() / 1000.0);
    }
}
