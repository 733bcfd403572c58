//! The service's ledger on a real database (SQLite, or PostgreSQL with
//! `DOMOPT_TEST_STORAGE=postgres`): a window's commit re-checks stock
//! and capacity as they are at commit time, so stock removed or orders cancelled while
//! the window was solving never lead to an oversold unit or a resurrected order.

mod common;

use std::collections::HashMap;

use domopt::check::check;
use domopt::service::store::{
    CommitCounts, Fence, InventoryDelta, NetworkConfig, Storage, WindowRecord, status,
};
use domopt::service::window_instance;
use domopt::solve::{SolveOptions, solve};

fn open(dir: &std::path::Path) -> (Box<dyn Storage>, NetworkConfig, domopt::domain::Instance) {
    let inst = common::example();
    let store = common::storage::open(dir);
    let network = network_of(&inst);
    store.set_network(&network).unwrap();
    let rows: Vec<_> = inst
        .inventory
        .iter()
        .map(|r| domopt::domain::InventoryRow {
            on_hand: r.on_hand - r.reserved,
            reserved: 0,
            ..r.clone()
        })
        .collect();
    store.set_inventory(&rows, true).unwrap();
    (store, network, inst)
}

/// Every inventory row of the network's skus.
fn all_rows(store: &dyn Storage, network: &NetworkConfig) -> Vec<domopt::domain::InventoryRow> {
    let skus: Vec<&str> = network.skus.iter().map(|s| s.id.as_str()).collect();
    store.inventory_of_skus(&skus).unwrap()
}

fn pending_count(store: &dyn Storage) -> usize {
    store.pending_queue().unwrap().0
}

/// The fence of the only replica a test has (it takes the lease first).
fn fence(store: &dyn Storage) -> Fence {
    let token = store
        .claim_lease("default", "test", std::time::Duration::from_secs(600))
        .unwrap()
        .unwrap();
    Fence {
        pool: "default".into(),
        replica: "test".into(),
        token,
    }
}

fn network_of(inst: &domopt::domain::Instance) -> NetworkConfig {
    NetworkConfig {
        nodes: inst.nodes.clone(),
        skus: inst.skus.clone(),
        rate_card: inst.rate_card.clone(),
        costs: inst.costs.clone(),
    }
}

fn window(id: i64) -> WindowRecord {
    WindowRecord {
        id,
        opened_at: 0.0,
        closed_at: 0.0,
        decided_at: 0.0,
        kpis: serde_json::json!({}),
    }
}

#[test]
fn stock_removed_during_the_solve_defers_orders_instead_of_overselling() {
    let dir = tempfile::tempdir().unwrap();
    let (store, network, inst) = open(dir.path());
    let store = store.as_ref();
    let fence = fence(store);
    store.submit(&inst.orders).unwrap();
    assert_eq!(pending_count(store), inst.orders.len());

    // Read the window and solve it, as the window loop does.
    let taken = store.pending(1000).unwrap();
    let used = store.capacity_used().unwrap();
    let win = window_instance(
        "w1".into(),
        &network,
        all_rows(store, &network),
        &used,
        taken.iter().map(|p| p.order.clone()).collect(),
    );
    let plan = solve(&win, "mip", &SolveOptions::default()).unwrap();
    common::assert_valid(&win, &plan);

    // While it was solving: a stock count finds every unit the plan ships from one
    // node gone, and one order is cancelled.
    let (node, _) = plan
        .shipments
        .iter()
        .fold(HashMap::<&str, u32>::new(), |mut m, s| {
            *m.entry(s.node.as_str()).or_default() += s.lines.iter().map(|l| l.qty).sum::<u32>();
            m
        })
        .into_iter()
        .max_by_key(|&(n, q)| (q, n.to_string()))
        .unwrap();
    let node = node.to_string();
    let mut deltas = Vec::new();
    for row in all_rows(store, &network)
        .iter()
        .filter(|r| r.node == node && r.on_hand > 0)
    {
        deltas.push(InventoryDelta {
            node: row.node.clone(),
            sku: row.sku.clone(),
            kind: "adjustment".into(),
            qty: -i64::from(row.on_hand),
        });
    }
    store.apply_deltas(&deltas, false).unwrap();
    let cancelled = plan
        .shipments
        .iter()
        .find(|s| s.node != node)
        .unwrap()
        .order
        .clone();
    store.cancel(&cancelled).unwrap();

    let CommitCounts {
        committed,
        deferred,
    } = store
        .commit_window(&fence, &window(1), &network, &taken, &win, &plan)
        .unwrap();
    let from_node: std::collections::HashSet<&str> = plan
        .shipments
        .iter()
        .filter(|s| s.node == node)
        .map(|s| s.order.as_str())
        .collect();
    assert_eq!(
        deferred,
        from_node.len(),
        "every order shipping from the emptied node is deferred"
    );
    assert_eq!(
        committed + deferred + 1,
        inst.orders.len(),
        "the cancelled order is neither"
    );
    // Nothing is reserved beyond what is on the shelf.
    for r in all_rows(store, &network) {
        assert!(
            r.reserved + r.safety_stock <= r.on_hand || r.reserved == 0,
            "{r:?}"
        );
    }
    assert_eq!(
        store.order(&cancelled).unwrap().unwrap().status,
        status::CANCELLED
    );
    // The deferred orders come back first in the next window; the cancelled one never does.
    let next = store.pending(1000).unwrap();
    assert_eq!(next.len(), deferred);
    assert!(
        next.iter()
            .all(|p| p.requeued && from_node.contains(p.order.id.as_str()))
    );
    assert_eq!(pending_count(store), deferred);

    // The next window decides them against the stock as it now is.
    let used = store.capacity_used().unwrap();
    let win2 = window_instance(
        "w2".into(),
        &network,
        all_rows(store, &network),
        &used,
        next.iter().map(|p| p.order.clone()).collect(),
    );
    let plan2 = solve(&win2, "mip", &SolveOptions::default()).unwrap();
    let report = check(&win2, &plan2);
    assert!(report.is_valid(), "{:?}", report.violations);
    assert!(plan2.shipments.iter().all(|s| s.node != node));
    let c2 = store
        .commit_window(&fence, &window(2), &network, &next, &win2, &plan2)
        .unwrap();
    assert_eq!((c2.committed, c2.deferred), (deferred, 0));
    assert_eq!(pending_count(store), 0);
    // Every order but the cancelled one is decided exactly once, and the reserved
    // units equal the shipped units of the decisions.
    let mut shipped: HashMap<(String, String), u32> = HashMap::new();
    for o in &inst.orders {
        let rec = store.order(&o.id).unwrap().unwrap();
        if o.id == cancelled {
            continue;
        }
        assert_ne!(rec.status, status::PENDING);
        for s in &rec.decision.unwrap().shipments {
            for l in &s.lines {
                *shipped.entry((s.node.clone(), l.sku.clone())).or_default() += l.qty;
            }
        }
    }
    for r in all_rows(store, &network) {
        assert_eq!(
            r.reserved,
            shipped
                .get(&(r.node.clone(), r.sku.clone()))
                .copied()
                .unwrap_or(0),
            "{r:?}"
        );
    }
    assert_eq!(store.windows(10).unwrap().len(), 2);
}

/// A wide catalog: the window reads the inventory rows of the skus its orders name and
/// nothing else, and its plan is checked against the whole network's instance.
#[test]
fn a_window_reads_only_the_rows_of_the_skus_its_orders_name() {
    use domopt::generate::{GenParams, generate};
    let mut inst = generate(&GenParams {
        orders: 40,
        nodes: 150,
        skus: 4000,
        seed: 3,
        ..GenParams::default()
    });
    // The ledger starts with nothing reserved.
    for r in &mut inst.inventory {
        r.on_hand -= r.reserved;
        r.reserved = 0;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = common::storage::open(dir.path());
    let network = network_of(&inst);
    store.set_network(&network).unwrap();
    store.set_inventory(&inst.inventory, true).unwrap();
    store.submit(&inst.orders).unwrap();

    let taken = store.pending(1000).unwrap();
    let named: std::collections::BTreeSet<&str> = taken
        .iter()
        .flat_map(|p| p.order.lines.iter().map(|l| l.sku.as_str()))
        .collect();
    let named_list: Vec<&str> = named.iter().copied().collect();
    let rows = store.inventory_of_skus(&named_list).unwrap();
    let expected: Vec<_> = inst
        .inventory
        .iter()
        .filter(|r| named.contains(r.sku.as_str()))
        .collect();
    assert_eq!(rows.len(), expected.len());
    assert!(
        rows.len() * 10 < inst.inventory.len(),
        "{} of {}",
        rows.len(),
        inst.inventory.len()
    );
    assert!(rows.iter().all(|r| named.contains(r.sku.as_str())));

    let used = store.capacity_used().unwrap();
    let orders = taken.iter().map(|p| p.order.clone()).collect();
    let win = window_instance(inst.name.clone(), &network, rows, &used, orders);
    assert_eq!(win.skus.len(), named.len());
    assert_eq!(win.orders.len(), inst.orders.len());
    let plan = solve(&win, "mip", &SolveOptions::default()).unwrap();
    common::assert_valid(&win, &plan);
    // The plan is valid against the whole network too, not only the cut-down window.
    let full = check(&inst, &plan);
    assert!(full.is_valid(), "{:?}", full.violations);
}
