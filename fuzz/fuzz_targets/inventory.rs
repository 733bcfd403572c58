//! `read_snapshot` (`PUT /v1/inventory`) and `read_deltas` (`POST
//! /v1/inventory/deltas`) against a fixed network, both on the same arbitrary bytes:
//! never panic; accepted rows and deltas name known nodes and skus with counts in range
//! and read back unchanged from their own JSON; a refused body is a 4xx.
#![no_main]

use domopt::service::bodies::{read_deltas, read_snapshot};
use domopt_fuzz::{MAX_COUNT, assert_client_error, network, network_ids};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let (nodes, skus) = network_ids();
    match read_snapshot(network(), data) {
        Ok(snap) => {
            for r in &snap.rows {
                assert!(nodes.contains(r.node.as_str()) && skus.contains(r.sku.as_str()));
                assert!(u64::from(r.on_hand) <= MAX_COUNT, "on_hand {}", r.on_hand);
                assert!(
                    u64::from(r.safety_stock) <= MAX_COUNT,
                    "safety {}",
                    r.safety_stock
                );
                assert_eq!(r.reserved, 0, "a snapshot sets a reservation");
            }
            let rows: Vec<_> = snap.rows.iter()
                .map(|r| json!({"node": r.node, "sku": r.sku, "on_hand": r.on_hand, "safety_stock": r.safety_stock}))
                .collect();
            let written = json!({"rows": rows, "full": snap.full}).to_string();
            let again = read_snapshot(network(), written.as_bytes()).expect("reads back");
            assert_eq!((again.rows, again.full), (snap.rows, snap.full));
        }
        Err(e) => assert_client_error(e),
    }
    match read_deltas(network(), data) {
        Ok(d) => {
            for x in &d.deltas {
                assert!(nodes.contains(x.node.as_str()) && skus.contains(x.sku.as_str()));
                assert!(
                    ["receipt", "adjustment", "pick", "safety_stock"].contains(&x.kind.as_str())
                );
                assert!(x.qty >= 0 || x.kind == "adjustment", "negative {}", x.kind);
                assert!(x.qty.unsigned_abs() <= MAX_COUNT, "qty {}", x.qty);
            }
            let written = json!({"deltas": d.deltas, "force": d.force}).to_string();
            let again = read_deltas(network(), written.as_bytes()).expect("reads back");
            assert_eq!((again.deltas, again.force), (d.deltas, d.force));
        }
        Err(e) => assert_client_error(e),
    }
});
