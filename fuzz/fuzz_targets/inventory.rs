//! The inventory readers against a fixed network, all on the same arbitrary bytes:
//! `read_snapshot` (`PUT /v1/inventory`), `read_deltas` (`POST /v1/inventory/deltas`)
//! and, line by line as a streamed snapshot, `read_snapshot_line`. They never panic;
//! what they accept is JSON, names known nodes and skus with counts in range and reads
//! back unchanged from its own JSON; a line reads as the same row in a JSON body; a
//! refused body is a 4xx and a refused line is reported under its own path.
#![no_main]

use domopt::domain::InventoryRow;
use domopt::service::bodies::{read_deltas, read_snapshot, read_snapshot_line};
use domopt_fuzz::{MAX_COUNT, assert_client_error, assert_json, network, network_ids};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fn assert_row(r: &InventoryRow) {
    let (nodes, skus) = network_ids();
    assert!(nodes.contains(r.node.as_str()) && skus.contains(r.sku.as_str()));
    assert!(u64::from(r.on_hand) <= MAX_COUNT, "on_hand {}", r.on_hand);
    assert!(
        u64::from(r.safety_stock) <= MAX_COUNT,
        "safety {}",
        r.safety_stock
    );
    assert_eq!(r.reserved, 0, "a snapshot sets a reservation");
}

fn snapshot(data: &[u8]) {
    match read_snapshot(network(), data) {
        Ok(snap) => {
            assert_json(data);
            snap.rows.iter().for_each(assert_row);
            let rows: Vec<_> = snap.rows.iter()
                .map(|r| json!({"node": r.node, "sku": r.sku, "on_hand": r.on_hand, "safety_stock": r.safety_stock}))
                .collect();
            let written = json!({"rows": rows, "full": snap.full}).to_string();
            let again = read_snapshot(network(), written.as_bytes()).expect("reads back");
            assert_eq!((again.rows, again.full), (snap.rows, snap.full));
        }
        Err(e) => assert_client_error(e),
    }
}

fn deltas(data: &[u8]) {
    let (nodes, skus) = network_ids();
    match read_deltas(network(), data) {
        Ok(d) => {
            assert_json(data);
            for x in &d.deltas {
                assert!(nodes.contains(x.node.as_str()) && skus.contains(x.sku.as_str()));
                let kinds = ["receipt", "adjustment", "pick", "safety_stock"];
                assert!(kinds.contains(&x.kind.as_str()), "kind {}", x.kind);
                assert!(x.qty >= 0 || x.kind == "adjustment", "negative {}", x.kind);
                assert!(x.qty.unsigned_abs() <= MAX_COUNT, "qty {}", x.qty);
            }
            let written = json!({"deltas": d.deltas, "force": d.force}).to_string();
            let again = read_deltas(network(), written.as_bytes()).expect("reads back");
            assert_eq!((again.deltas, again.force), (d.deltas, d.force));
        }
        Err(e) => assert_client_error(e),
    }
}

/// Each non-blank line as the streamed snapshot reads it.
fn lines(data: &[u8]) {
    let mut details = Vec::new();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let path = format!("line {}", i + 1);
        let before = details.len();
        let read = read_snapshot_line(network(), line, &path, &mut details);
        let added = &details[before..];
        if let Some(row) = &read {
            assert!(added.is_empty(), "accepted with details {added:?}");
            assert_json(line);
            assert_row(row);
        } else {
            assert!(!added.is_empty(), "refused without a detail");
            assert!(
                added
                    .iter()
                    .all(|d| d["path"].as_str().is_some_and(|p| p.starts_with(&path)))
            );
        }
        // A line that is one JSON value reads as that value does as a body's only row.
        if serde_json::from_slice::<serde_json::Value>(line).is_ok() {
            let mut body = b"{\"rows\":[".to_vec();
            body.extend_from_slice(line);
            body.extend_from_slice(b"]}");
            let as_body = read_snapshot(network(), &body).ok().map(|s| s.rows);
            assert_eq!(
                as_body,
                read.map(|r| vec![r]),
                "the line and the body disagree"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    snapshot(data);
    deltas(data);
    lines(data);
});
