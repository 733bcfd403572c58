//! What operators watch: `/readyz` turning 503 when windows or writes keep failing or
//! the disk runs low, the metrics behind it, and backpressure on the pending backlog.
//! Through the real binary, real HTTP and the real database (SQLite or PostgreSQL);
//! faults are injected as database triggers that abort the server's own writes.

mod common;

use std::time::{Duration, Instant};

use common::server::*;
use serde_json::json;

fn order(id: &str) -> serde_json::Value {
    json!({"id": id, "ship_to": {"lat": 37.80, "lon": -122.27}, "promise_days": 9,
           "lines": [{"sku": "SKU-00009", "qty": 1}]})
}

/// Waits until `/readyz` answers `want`; returns its body.
async fn readyz_becomes(s: &Server, want: u16) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let (st, body) = get(s, "/readyz").await;
        if st == want {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "/readyz stayed {st}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_that_keep_failing_make_the_server_not_ready_until_one_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "0.2", "--budget", "0.5"]);
    load_example(&s).await;
    assert_eq!(get(&s, "/readyz").await.0, 200);
    common::storage::inject_fault(dir.path(), "windows");
    let (st, body) = send(&s, "POST", "/v1/orders", &order("RF-1")).await;
    assert_eq!(st, 202, "{body}");
    let body = readyz_becomes(&s, 503).await;
    assert_eq!(body["error"]["code"], "E5030", "{body}");
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("windows failed"), "{body}");
    let failures: u64 = metric(&s, "domopt_window_failures_total")
        .await
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(failures >= 3, "{failures} window failures counted");
    // The order survived the failed windows: once the fault is gone it is decided.
    assert_eq!(get(&s, "/v1/orders/RF-1").await.1["status"], "pending");
    common::storage::clear_fault(dir.path(), "windows");
    let rec = decided(&s, "RF-1").await;
    assert_eq!(rec["status"], "allocated", "{rec}");
    readyz_becomes(&s, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_that_keep_failing_make_the_server_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "600"]);
    load_example(&s).await;
    common::storage::inject_fault(dir.path(), "orders");
    for i in 0..3 {
        let (st, e) = send(&s, "POST", "/v1/orders", &order(&format!("WF-{i}"))).await;
        assert_error(st, &e, 500, "E5000", "a submit whose insert fails");
    }
    let (st, body) = get(&s, "/readyz").await;
    assert_eq!(st, 503, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("writes failed"),
        "{body}"
    );
    common::storage::clear_fault(dir.path(), "orders");
    let (st, body) = send(&s, "POST", "/v1/orders", &order("WF-ok")).await;
    assert_eq!(st, 202, "{body}");
    assert_eq!(get(&s, "/readyz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_below_the_free_space_floor_makes_the_server_not_ready() {
    if common::storage::sqlite_only("the data directory's free disk space") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // No disk has an exbibyte free: the floor is always missed.
    let s = Server::start(
        dir.path(),
        &["--window", "600", "--min-free-disk-mib", "1099511627776"],
    );
    load_example(&s).await;
    let (st, body) = get(&s, "/readyz").await;
    assert_eq!(st, 503, "{body}");
    let details = body["error"]["details"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        details.iter().any(|d| d["message"]
            .as_str()
            .unwrap_or_default()
            .contains("MiB free")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submits_beyond_the_pending_ceiling_get_429_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "600", "--max-pending", "3"]);
    load_example(&s).await;
    let batch = |ids: &[&str]| json!({"orders": ids.iter().map(|i| order(i)).collect::<Vec<_>>()});
    let (st, body) = send(&s, "POST", "/v1/orders", &batch(&["BP-1", "BP-2"])).await;
    assert_eq!((st, body["pending"].as_u64()), (202, Some(2)), "{body}");
    let (st, e, headers) = call_with(
        "POST",
        format!("{}/v1/orders", s.url),
        &[("content-type", "application/json")],
        Some(batch(&["BP-3", "BP-4"]).to_string()),
    )
    .await;
    assert_error(st, &e, 429, "E4291", "a batch beyond the ceiling");
    assert!(headers.contains_key("retry-after"), "{headers:?}");
    assert_eq!(get(&s, "/v1/orders/BP-3").await.0, 404);
    let (st, body) = send(&s, "POST", "/v1/orders", &order("BP-3")).await;
    assert_eq!((st, body["pending"].as_u64()), (202, Some(3)), "{body}");
    assert_eq!(
        metric(
            &s,
            "domopt_requests_rejected_total{reason=\"pending_ceiling\"}"
        )
        .await
        .as_deref(),
        Some("1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_latency_per_route_and_the_oldest_pending_age() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "600"]);
    load_example(&s).await;
    assert_eq!(
        metric(&s, "domopt_oldest_pending_age_seconds")
            .await
            .as_deref(),
        Some("0")
    );
    let (st, _) = send(&s, "POST", "/v1/orders", &order("M-1")).await;
    assert_eq!(st, 202);
    for _ in 0..2 {
        assert_eq!(get(&s, "/v1/orders/M-1").await.0, 200);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let age: f64 = metric(&s, "domopt_oldest_pending_age_seconds")
        .await
        .and_then(|v| v.parse().ok())
        .expect("the age gauge");
    assert!((1.0..600.0).contains(&age), "oldest pending age {age}");
    let count = |route: &str, method: &str| {
        format!(
            "domopt_http_request_duration_seconds_count{{route=\"{route}\",method=\"{method}\"}}"
        )
    };
    assert_eq!(
        metric(&s, &count("/v1/orders", "POST")).await.as_deref(),
        Some("1")
    );
    assert_eq!(
        metric(&s, &count("/v1/orders/{id}", "GET"))
            .await
            .as_deref(),
        Some("2")
    );
    let inf = "domopt_http_request_duration_seconds_bucket{route=\"/v1/orders/{id}\",method=\"GET\",le=\"+Inf\"}";
    assert_eq!(metric(&s, inf).await.as_deref(), Some("2"));
}
