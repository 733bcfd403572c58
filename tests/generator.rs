//! The generator: reproducible, valid, and shaped like retail demand.

use domopt::domain::NodeKind;
use domopt::format::parse_instance;
use domopt::generate::{GenParams, cities, generate};

#[test]
fn same_seed_same_bytes_different_seed_different_instance() {
    let p = GenParams {
        orders: 300,
        nodes: 12,
        skus: 50,
        seed: 42,
        ..Default::default()
    };
    let a = serde_json::to_vec(&generate(&p)).unwrap();
    let b = serde_json::to_vec(&generate(&p)).unwrap();
    assert_eq!(a, b);
    let c = serde_json::to_vec(&generate(&GenParams { seed: 43, ..p })).unwrap();
    assert_ne!(a, c);
}

#[test]
fn generated_instances_pass_the_validator() {
    for (orders, nodes, skus) in [(0, 1, 1), (1, 1, 1), (200, 3, 5), (1000, 40, 300)] {
        let inst = generate(&GenParams {
            orders,
            nodes,
            skus,
            seed: 9,
            ..Default::default()
        });
        let bytes = serde_json::to_vec(&inst).unwrap();
        let back = parse_instance(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(back == inst, "the instance changed through JSON");
        assert_eq!(
            (inst.orders.len(), inst.nodes.len(), inst.skus.len()),
            (orders, nodes, skus)
        );
    }
}

#[test]
fn demand_and_network_look_like_retail() {
    let inst = generate(&GenParams {
        orders: 5000,
        nodes: 40,
        skus: 500,
        seed: 3,
        ..Default::default()
    });
    let single = inst.orders.iter().filter(|o| o.lines.len() == 1).count() as f64 / 5000.0;
    assert!((0.55..0.75).contains(&single), "single-line share {single}");
    assert!(
        inst.orders.iter().any(|o| o.lines.len() >= 5),
        "no long tail"
    );
    let pickup = inst
        .orders
        .iter()
        .filter(|o| o.pickup_node.is_some())
        .count();
    let complete = inst.orders.iter().filter(|o| o.ship_complete).count();
    let limited = inst
        .orders
        .iter()
        .filter(|o| o.max_shipments.is_some())
        .count();
    assert!(
        pickup > 50 && complete > 50 && limited > 100,
        "{pickup} {complete} {limited}"
    );
    // Zipf-like popularity: the top sku is ordered far more often than a median one.
    let count = |id: &str| {
        inst.orders
            .iter()
            .filter(|o| o.lines.iter().any(|l| l.sku == id))
            .count()
    };
    assert!(count("SKU-00001") > 20 * count("SKU-00250").max(1));
    for kind in [
        NodeKind::Dc,
        NodeKind::Store,
        NodeKind::ThirdParty,
        NodeKind::Supplier,
    ] {
        assert!(inst.nodes.iter().any(|n| n.kind == kind), "no {kind:?}");
    }
    // Customers are in the continental US or Alaska/Hawaii, near real cities.
    assert!(
        inst.orders
            .iter()
            .all(|o| (18.0..72.0).contains(&o.ship_to.lat) && o.ship_to.lon < -65.0)
    );
}

#[test]
fn the_cities_table_is_embedded_and_sorted_by_population() {
    let c = cities();
    assert!(c.len() > 3000);
    assert_eq!(c[0].name, "NewYorkCity");
    assert!(c.windows(2).all(|w| w[0].population >= w[1].population));
}

#[test]
fn pickup_share_and_min_lines_shape_the_window_and_defaults_are_unchanged() {
    use domopt::generate::{GenParams, generate};
    let base = GenParams {
        orders: 2000,
        nodes: 20,
        skus: 300,
        seed: 9,
        ..Default::default()
    };
    let heavy = generate(&GenParams {
        pickup_share: 0.4,
        min_lines: 3,
        ..base.clone()
    });
    let pickups = heavy
        .orders
        .iter()
        .filter(|o| o.pickup_node.is_some())
        .count() as f64
        / 2000.0;
    assert!((0.35..0.45).contains(&pickups), "pickup share {pickups}");
    assert!(heavy.orders.iter().all(|o| o.lines.len() >= 3));
    // The knobs at their defaults draw exactly the default window.
    let explicit = generate(&GenParams {
        pickup_share: 0.03,
        min_lines: 1,
        ..base.clone()
    });
    assert_eq!(explicit, generate(&base));
    let default_pickups = explicit
        .orders
        .iter()
        .filter(|o| o.pickup_node.is_some())
        .count();
    assert!(default_pickups < 120, "{default_pickups}");
}
