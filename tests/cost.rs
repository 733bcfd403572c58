//! The cost module against shipments priced by hand (distances from an independent
//! haversine computation with R = 3958.8 miles).

mod common;

use domopt::cost::{Network, ServiceChoice, haversine_miles, zone};
use domopt::domain::Point;
use serde_json::json;

const GROUND: ServiceChoice = ServiceChoice::Carrier(0);
const TWO_DAY: ServiceChoice = ServiceChoice::Carrier(1);

fn approx(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn haversine_matches_known_distances() {
    let nj = Point {
        lat: 40.73,
        lon: -74.17,
    };
    let phl = Point {
        lat: 39.95,
        lon: -75.17,
    };
    assert!((haversine_miles(nj, phl) - 75.35184051204492).abs() < 1e-6);
    let nyc = Point {
        lat: 40.7143,
        lon: -74.006,
    };
    let la = Point {
        lat: 34.0522,
        lon: -118.2437,
    };
    assert!((haversine_miles(nyc, la) - 2445.5799438567383).abs() < 1e-6);
    assert_eq!(haversine_miles(nyc, nyc), 0.0);
}

#[test]
fn zone_boundaries_are_inclusive_upper_bounds() {
    let inst = common::instance(&common::tiny());
    let rc = &inst.rate_card;
    assert_eq!(zone(rc, 0.0), 0);
    assert_eq!(zone(rc, 50.0), 0);
    assert_eq!(zone(rc, 50.000001), 1);
    assert_eq!(zone(rc, 150.0), 1);
    assert_eq!(zone(rc, 1800.0), 6);
    assert_eq!(zone(rc, 1800.5), 7);
    assert_eq!(zone(rc, 2445.6), 7);
}

#[test]
fn carrier_shipments_are_priced_as_the_spec_says() {
    let inst = common::instance(&common::tiny());
    let net = Network::new(&inst);
    // O-1001 from DC-NJ: 75.35 mi, zone 1. Ground: 1.5 + 0.25·1 + 7.4 + 0.34·2.0 = 9.83.
    let lane = net.lane(0, 0);
    assert_eq!(lane.zone, 1);
    let p = net.price(0, 0, lane.zone, GROUND, 1, 2.0).unwrap();
    approx(p.cost, 9.83);
    approx(p.handling, 1.75);
    approx(p.carrier, 8.08);
    assert_eq!((p.delivery_days, p.late_days), (2, 0));
    // Two-day: 1.75 + 10.4 + 0.7·2.0 = 13.55.
    approx(net.price(0, 0, 1, TWO_DAY, 1, 2.0).unwrap().cost, 13.55);
    // The cheapest service is ground.
    let (svc, best) = net.best_service(0, 0, 1, 1, 2.0).unwrap();
    assert_eq!(svc, GROUND);
    approx(best.cost, 9.83);
    // O-1002 (Pittsburgh) from ST-PA: 256.6 mi, zone 2, handling 1 day.
    // Ground, one pair of pants (weight 1): 3.0 + 1.0 + 7.9 + 0.38 = 12.28, 3 days.
    let lane = net.lane(1, 1);
    assert_eq!(lane.zone, 2);
    let p = net.price(1, 1, lane.zone, GROUND, 1, 1.0).unwrap();
    approx(p.cost, 12.28);
    assert_eq!(p.delivery_days, 3);
    // O-1002 from DC-NJ: 306 mi, zone 3. Two jackets: 1.5 + 0.5 + 8.6 + 0.45·4 = 12.4.
    assert_eq!(net.lane(1, 0).zone, 3);
    approx(net.price(1, 0, 3, GROUND, 2, 4.0).unwrap().cost, 12.4);
}

#[test]
fn hard_sla_forbids_late_shipments_and_soft_sla_prices_them() {
    let mut v = common::tiny();
    v["orders"][0]["promise_days"] = json!(1);
    let hard = common::instance(&v);
    let net = Network::new(&hard);
    // Zone 1: ground and two-day both take 2 days > 1.
    assert!(net.price(0, 0, 1, GROUND, 1, 2.0).is_none());
    assert!(net.best_service(0, 0, 1, 1, 2.0).is_none());
    assert!(!net.can_serve(0, 0, 1));

    v["costs"]["late_penalty_per_day"] = json!(4.0);
    let soft = common::instance(&v);
    let net = Network::new(&soft);
    let p = net.price(0, 0, 1, GROUND, 1, 2.0).unwrap();
    assert_eq!(p.late_days, 1);
    approx(p.late, 4.0);
    approx(p.cost, 13.83);
    approx(net.price(0, 0, 1, TWO_DAY, 1, 2.0).unwrap().cost, 17.55);
}

#[test]
fn pickup_costs_only_handling_and_only_at_the_pickup_node() {
    let mut v = common::tiny();
    v["orders"][0]["pickup_node"] = json!("ST-PA");
    v["orders"][0]["promise_days"] = json!(0);
    let inst = common::instance(&v);
    let net = Network::new(&inst);
    let zone_pa = net.lane(0, 1).zone;
    let p = net
        .price(0, 1, zone_pa, ServiceChoice::Pickup, 1, 2.0)
        .unwrap();
    approx(p.cost, 4.0); // 3.0 per shipment + 1.0 per unit
    assert_eq!((p.delivery_days, p.late_days), (1, 0)); // handling days, no SLA check
    assert!(
        net.price(0, 0, net.lane(0, 0).zone, ServiceChoice::Pickup, 1, 2.0)
            .is_none()
    );
    assert!(net.price(0, 1, zone_pa, GROUND, 1, 2.0).is_none());
    assert_eq!(
        net.best_service(0, 1, zone_pa, 1, 2.0).unwrap().0,
        ServiceChoice::Pickup
    );
}

#[test]
fn split_and_unfilled_penalties() {
    let mut v = common::tiny();
    v["orders"][1]["unfilled_penalty"] = json!(75.0);
    let inst = common::instance(&v);
    let net = Network::new(&inst);
    approx(net.split_cost(0), 0.0);
    approx(net.split_cost(1), 0.0);
    approx(net.split_cost(3), 4.0);
    approx(net.unit_penalty(0), 60.0);
    approx(net.unit_penalty(1), 75.0);
    assert_eq!(net.available(0, 0), 35); // 40 on hand − 3 reserved − 2 safety
    assert_eq!(net.available(1, 0), 0); // no row
}

#[test]
fn stock_tables_grow_with_the_inventory_rows_not_with_nodes_times_skus() {
    // A wide catalog and many nodes, three inventory rows: every per-(node, sku)
    // table has three slots.
    let mut inst = common::example();
    let node = inst.nodes[0].clone();
    let sku = inst.skus[0].clone();
    for n in 0..1_000 {
        let mut extra = node.clone();
        extra.id = format!("ST-{n:04}");
        inst.nodes.push(extra);
    }
    for k in 0..200_000 {
        let mut extra = sku.clone();
        extra.id = format!("SKU-{k:06}");
        inst.skus.push(extra);
    }
    let row = inst.inventory[0].clone();
    inst.inventory.clear();
    for (node, sku, on_hand) in [("ST-0999", "SKU-199999", 7), ("ST-0003", "SKU-199999", 2)] {
        let mut r = row.clone();
        (r.node, r.sku, r.on_hand, r.reserved, r.safety_stock) =
            (node.into(), sku.into(), on_hand, 0, 0);
        inst.inventory.push(r);
    }
    let mut again = inst.inventory[0].clone();
    again.on_hand = 9;
    inst.inventory.push(again); // a later row for the same pair replaces the first
    let net = Network::new(&inst);
    assert_eq!(net.stock.len(), 2);
    let (n999, n3) = (net.node_index["ST-0999"], net.node_index["ST-0003"]);
    let k = net.sku_index["SKU-199999"];
    assert_eq!(net.available(n999, k), 9);
    assert_eq!(net.available(n3, k), 2);
    assert_eq!(net.available(n3, k - 1), 0);
    let holders: Vec<usize> = net.stock_index.holders(k).map(|(n, _)| n).collect();
    assert_eq!(holders, vec![n3, n999]);
    let mut usage = domopt::cost::Usage::new(&net);
    usage.take(n3, &[(k, 5), (k - 1, 1)]);
    assert_eq!(usage.stock_left(n3, k), -3);
    assert_eq!(usage.overdrawn(), vec![(n3, k - 1, -1), (n3, k, -3)]);
}
