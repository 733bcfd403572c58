//! Regression tests of `domopt serve` under hostile clients and faults (issue 25),
//! through the real binary, real HTTP and real SQLite.

mod common;

use common::server::*;
use serde_json::json;

fn order(id: &str, sku: &str, qty: u32) -> serde_json::Value {
    json!({"id": id, "ship_to": {"lat": 37.80, "lon": -122.27}, "promise_days": 9,
           "lines": [{"sku": sku, "qty": qty}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_decided_order_leaves_the_pending_count_true() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "0.2", "--budget", "1"]);
    load_example(&s).await;
    let (st, body) = send(&s, "POST", "/v1/orders", &order("D-1", "SKU-00009", 1)).await;
    assert_eq!(st, 202, "{body}");
    decided(&s, "D-1").await;
    let (st, c) = send(&s, "POST", "/v1/orders/D-1/cancel", &json!({})).await;
    assert_eq!((st, c["status"].as_str()), (200, Some("cancelled")), "{c}");
    assert_eq!(
        metric(&s, "domopt_pending_orders").await.as_deref(),
        Some("0")
    );
    // Cancelling a pending order takes it out of the count; a later order is decided.
    let (st, _) = send(&s, "POST", "/v1/orders", &order("D-2", "SKU-00009", 1)).await;
    assert_eq!(st, 202);
    let rec = decided(&s, "D-2").await;
    assert_ne!(rec["status"], "cancelled");
    assert_eq!(
        metric(&s, "domopt_pending_orders").await.as_deref(),
        Some("0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_pending_order_takes_it_out_of_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "600"]);
    load_example(&s).await;
    for id in ["P-1", "P-2"] {
        assert_eq!(
            send(&s, "POST", "/v1/orders", &order(id, "SKU-00009", 1))
                .await
                .0,
            202
        );
    }
    assert_eq!(
        metric(&s, "domopt_pending_orders").await.as_deref(),
        Some("2")
    );
    let (st, _) = send(&s, "POST", "/v1/orders/P-1/cancel", &json!({})).await;
    assert_eq!(st, 200);
    assert_eq!(
        metric(&s, "domopt_pending_orders").await.as_deref(),
        Some("1")
    );
}
