//! Regression tests of `domopt serve` under hostile clients and faults (issue 25),
//! through the real binary, real HTTP and real SQLite.

mod common;

use std::time::Duration;

use common::server::*;
use serde_json::json;

fn order(id: &str, sku: &str, qty: u32) -> serde_json::Value {
    json!({"id": id, "ship_to": {"lat": 37.80, "lon": -122.27}, "promise_days": 9,
           "lines": [{"sku": sku, "qty": qty}]})
}

/// Submits `order(id, sku, qty)` and asserts it was accepted.
async fn submit(s: &Server, id: &str, sku: &str, qty: u32) {
    let (st, body) = send(s, "POST", "/v1/orders", &order(id, sku, qty)).await;
    assert_eq!(st, 202, "{body}");
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
        submit(&s, id, "SKU-00009", 1).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_counts_are_capped_and_never_cut_to_32_bits() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "600"]);
    load_example(&s).await;
    let node = "DC-001-Oakland-CA";
    let before = get(&s, "/v1/atp/SKU-00009").await.1;
    let delta = |kind: &str, qty: i64| json!({"deltas": [{"node": node, "sku": "SKU-00009", "kind": kind, "qty": qty}]});
    for (kind, qty) in [
        ("receipt", 1i64 << 32),
        ("safety_stock", 1 << 32),
        ("adjustment", -(1 << 32)),
    ] {
        let (st, e) = send(&s, "POST", "/v1/inventory/deltas", &delta(kind, qty)).await;
        assert_eq!(
            (st, e["error"]["code"].as_str()),
            (422, Some("E4001")),
            "{e}"
        );
        assert_eq!(e["error"]["details"][0]["code"], "E1007", "{e}");
        assert_eq!(e["error"]["details"][0]["path"], "$.deltas[0].qty", "{e}");
    }
    let snapshot = json!({"rows": [{"node": node, "sku": "SKU-00009", "on_hand": 1u64 << 32, "safety_stock": 1u64 << 32}]});
    let (st, e) = send(&s, "PUT", "/v1/inventory", &snapshot).await;
    assert_eq!(st, 422, "{e}");
    let paths: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "E1007")
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["$.rows[0].on_hand", "$.rows[0].safety_stock"]);
    assert_eq!(get(&s, "/v1/atp/SKU-00009").await.1, before);

    // Counts up to the limit are kept whole; a batch that would pass it is refused.
    let (st, e) = send(
        &s,
        "POST",
        "/v1/inventory/deltas",
        &delta("receipt", 999_999_990),
    )
    .await;
    assert_eq!(st, 200, "{e}");
    let (_, atp) = get(&s, "/v1/atp/SKU-00009").await;
    let row = atp["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == node)
        .unwrap()
        .clone();
    let on_hand = row["on_hand"].as_i64().unwrap();
    assert!(on_hand > 999_999_990, "{row}");
    let (st, e) = send(
        &s,
        "POST",
        "/v1/inventory/deltas",
        &delta("receipt", 1_000_000_000),
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("E4005")),
        "{e}"
    );
    let (_, again) = get(&s, "/v1/atp/SKU-00009").await;
    assert_eq!(again, atp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_order_fields_and_unbounded_ids_are_refused_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "600"]);
    load_example(&s).await;
    let details = |e: &serde_json::Value| -> Vec<(String, String)> {
        e["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["code"].as_str().unwrap().to_string(),
                    d["path"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let mut typo = order("T-1", "SKU-00009", 2);
    typo["ship_compelte"] = json!(true);
    let (st, e) = send(&s, "POST", "/v1/orders", &typo).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (422, Some("E4001")),
        "{e}"
    );
    assert_eq!(
        details(&e),
        [("E1009".into(), "$.orders[0].ship_compelte".into())]
    );
    assert!(
        e["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ship_complete")
    );

    let mut nested = order("T-2", "SKU-00009", 1);
    nested["ship_to"]["latitude"] = json!(1.0);
    nested["lines"][0]["quantity"] = json!(1);
    let (st, e) = send(
        &s,
        "POST",
        "/v1/orders",
        &json!({"orders": [nested], "priority": 1}),
    )
    .await;
    assert_eq!(st, 422, "{e}");
    let found = details(&e);
    for want in [
        "$.priority",
        "$.orders[0].ship_to.latitude",
        "$.orders[0].lines[0].quantity",
    ] {
        assert!(
            found.contains(&("E1009".into(), want.into())),
            "{want} missing from {found:?}"
        );
    }

    for bad_id in ["X".repeat(257), "NEW\nLINE".into(), "TAB\tID".into()] {
        let (st, e) = send(&s, "POST", "/v1/orders", &order(&bad_id, "SKU-00009", 1)).await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(details(&e), [("E1010".into(), "$.orders[0].id".into())]);
    }
    for id in ["T-1", "T-2"] {
        assert_eq!(get(&s, &format!("/v1/orders/{id}")).await.0, 404);
    }
    // The longest id allowed is stored, read back and cancelled through its URL.
    let long = "L".repeat(256);
    assert_eq!(
        send(&s, "POST", "/v1/orders", &order(&long, "SKU-00009", 1))
            .await
            .0,
        202
    );
    assert_eq!(get(&s, &format!("/v1/orders/{long}")).await.0, 200);
    let (st, c) = send(&s, "POST", &format!("/v1/orders/{long}/cancel"), &json!({})).await;
    assert_eq!((st, c["status"].as_str()), (200, Some("cancelled")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_and_path_refusals_keep_the_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "600"]);
    let (_, v) = load_example(&s).await;
    let cases: Vec<(&str, &str, u16, &str, Option<&str>)> = vec![
        ("GET", "/v1/windows?limit=-1", 422, "E4001", Some("?limit")),
        ("GET", "/v1/windows?limit=abc", 422, "E4001", Some("?limit")),
        ("GET", "/v1/windows?limt=5", 422, "E4001", Some("?limt")),
        (
            "POST",
            "/v1/plan?time_limit=abc",
            422,
            "E4001",
            Some("?time_limit"),
        ),
        (
            "POST",
            "/v1/plan?time_limit=0",
            422,
            "E4001",
            Some("?time_limit"),
        ),
        (
            "GET",
            "/v1/windows?limit=%FF%FE",
            422,
            "E4001",
            Some("?limit"),
        ),
        ("GET", "/v1/orders/%FF%FE", 400, "E4000", None),
        ("POST", "/v1/orders/%FF%FE/cancel", 400, "E4000", None),
        ("GET", "/v1/atp/%C0", 400, "E4000", None),
    ];
    for (method, path, want_status, want_code, want_path) in cases {
        let body = (method == "POST").then(|| v.to_string());
        let (st, e) = call(method, format!("{}{path}", s.url), body).await;
        assert_error(st, &e, want_status, want_code, &format!("{method} {path}"));
        if let Some(p) = want_path {
            assert_eq!(e["error"]["details"][0]["path"], p, "{method} {path}: {e}");
        }
    }
    assert_eq!(get(&s, "/v1/windows?limit=3").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_stranded_by_a_smaller_network_leave_the_queue_unfilled() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), &["--window", "600"]);
    let (_, v) = load_example(&s).await;
    let gone_node = "ST-004-Concord-CA";
    let mut pickup = order("S-2", "SKU-00001", 1);
    pickup["pickup_node"] = json!(gone_node);
    for o in [order("S-1", "SKU-00009", 1), pickup] {
        let (st, e) = send(&s, "POST", "/v1/orders", &o).await;
        assert_eq!(st, 202, "{e}");
    }
    // The network loses SKU-00009 and the pickup node; then a valid order arrives.
    let skus: Vec<_> = v["skus"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["id"] != "SKU-00009")
        .cloned()
        .collect();
    let nodes: Vec<_> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["id"] != gone_node)
        .cloned()
        .collect();
    let network =
        json!({"nodes": nodes, "skus": skus, "rate_card": v["rate_card"], "costs": v["costs"]});
    assert_eq!(send(&s, "PUT", "/v1/network", &network).await.0, 200);
    submit(&s, "V-1", "SKU-00001", 1).await;
    s.kill();

    // Restarted with windows of one order, the stranded orders come first.
    let s = Server::start(
        dir.path(),
        &["--window", "0.2", "--max-orders", "1", "--budget", "1"],
    );
    for (id, reason) in [("S-1", "UNKNOWN_SKU"), ("S-2", "UNKNOWN_NODE")] {
        let rec = decided(&s, id).await;
        assert_eq!(rec["status"], "unfilled", "{rec}");
        assert_eq!(rec["window"], json!(null), "{rec}");
        let unfilled = rec["decision"]["unfilled"].as_array().unwrap();
        assert_eq!(unfilled.len(), 1, "{rec}");
        assert_eq!(unfilled[0]["reason"], reason, "{rec}");
        assert!(rec["decision"]["cost"].as_f64().unwrap() > 0.0, "{rec}");
    }
    let rec = decided(&s, "V-1").await;
    assert_eq!(rec["window"], 1, "{rec}");
    drain(&s).await;
    // Only the valid order's window was written, and no window is empty.
    let (_, w) = get(&s, "/v1/windows").await;
    let windows = w["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1, "{w}");
    assert_eq!(windows[0]["kpis"]["orders"], 1, "{w}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_data_directory_refuses_to_start() {
    if common::storage::sqlite_only("the data directory's lock") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut first = Server::start(dir.path(), &["--window", "600"]);
    let (code, err) = refused_start(dir.path(), &["--window", "600"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("another domopt serve is using the data directory"),
        "{err}"
    );
    assert_eq!(get(&first, "/healthz").await.0, 200);
    // The lock goes with the process, even when it is killed.
    first.kill();
    let second = Server::start(dir.path(), &["--window", "600"]);
    assert_eq!(get(&second, "/healthz").await.0, 200);
}

/// libfaketime (Debian/Ubuntu package `faketime`), which moves the wall clock of one
/// process while its monotonic clock runs on.
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_clock_step_back_does_not_stall_windows() {
    if !std::path::Path::new(FAKETIME).exists() {
        eprintln!("skipped: {FAKETIME} is not installed (apt-get install faketime)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let offset = dir.path().join("faketime");
    std::fs::write(&offset, "+0\n").unwrap();
    let data = dir.path().join("data");
    let offset_path = offset.to_str().unwrap();
    let s = Server::start_with_env(
        &data,
        &["--window", "1", "--budget", "1"],
        &[
            ("LD_PRELOAD", FAKETIME),
            ("FAKETIME_TIMESTAMP_FILE", offset_path),
            ("FAKETIME_NO_CACHE", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    load_example(&s).await;
    submit(&s, "W-1", "SKU-00009", 1).await;
    let first = decided(&s, "W-1").await;
    // The wall clock of the server steps back an hour; the next window still closes
    // after its length on the monotonic clock (the wait below gives up long before
    // an hour).
    std::fs::write(&offset, "-3600\n").unwrap();
    submit(&s, "W-2", "SKU-00009", 1).await;
    let second = decided(&s, "W-2").await;
    assert!(
        second["received_at"].as_f64().unwrap() < first["received_at"].as_f64().unwrap() - 3000.0,
        "the server's wall clock did not move: {first} {second}"
    );
}

/// Replaces `data`'s intake database by `from` (or removes it), with its WAL files.
fn replace_intake(data: &std::path::Path, from: Option<&std::path::Path>) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("intake.sqlite{ext}")));
    }
    if let Some(f) = from {
        std::fs::copy(f, data.join("intake.sqlite")).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_or_older_intake_is_refused_and_a_backup_restores_both() {
    if common::storage::sqlite_only("the intake file and `domopt backup` of the files") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (data, saved) = (dir.path().join("data"), dir.path().join("backup"));
    let mut s = Server::start(&data, &["--window", "0.2", "--budget", "1"]);
    load_example(&s).await;
    submit(&s, "B-1", "SKU-00009", 1).await;
    decided(&s, "B-1").await;
    // Backed up while the server runs.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_domopt"))
        .args(["backup", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&saved)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    submit(&s, "B-2", "SKU-00009", 1).await;
    decided(&s, "B-2").await;
    s.kill();

    // An older intake (from the backup) and a lost one are both refused.
    replace_intake(&data, Some(&saved.join("intake.sqlite")));
    let (code, err) = refused_start(&data, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("intake.sqlite is missing or older"), "{err}");
    assert!(err.contains("domopt backup"), "{err}");
    replace_intake(&data, None);
    let (code, err) = refused_start(&data, &[]);
    assert_eq!(code, Some(2), "{err}");

    // The backup itself starts, knows the first order and decides new ones.
    let s = Server::start(&saved, &["--window", "0.2", "--budget", "1"]);
    assert_ne!(get(&s, "/v1/orders/B-1").await.1["status"], "pending");
    assert_eq!(get(&s, "/v1/orders/B-2").await.0, 404);
    submit(&s, "B-3", "SKU-00009", 1).await;
    decided(&s, "B-3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[
            "--window",
            "600",
            "--header-timeout",
            "1",
            "--body-timeout",
            "1",
        ],
    );
    let long = Duration::from_secs(100);
    // A partial header, and a connection that sends nothing: both closed.
    let (text, closed) = raw(&s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", long);
    assert!(closed, "a partial header held the connection: {text:?}");
    let (text, closed) = raw(&s, b"", long);
    assert!(
        closed && text.is_empty(),
        "an idle connection stayed open: {text:?}"
    );
    // A body that stops after 1 byte of 100: 408 in the error shape.
    let (text, _) = raw(
        &s,
        b"POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        long,
    );
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    assert_eq!(raw_body(&text)["error"]["code"], "E4080", "{text:?}");
    assert_eq!(get(&s, "/healthz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_heads_bounded_and_the_open_files_limit_raised() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "600", "--max-connections", "2"]);
    let addr = s.url.trim_start_matches("http://").to_string();
    let held: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let (text, _) = raw(
        &s,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(100),
    );
    assert!(text.starts_with("HTTP/1.1 503"), "{text:?}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text:?}"
    );
    assert_eq!(raw_body(&text)["error"]["code"], "E5030", "{text:?}");
    drop(held);
    let start = std::time::Instant::now();
    while get(&s, "/healthz").await.0 != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "slots never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Headers beyond the limit: 431 in the error shape.
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 << 10)
    );
    let (text, _) = raw(&s, big.as_bytes(), Duration::from_secs(100));
    assert!(
        text.starts_with("HTTP/1.1 431"),
        "{:?}",
        &text[..text.len().min(200)]
    );
    assert_eq!(raw_body(&text)["error"]["code"], "E4310");
    #[cfg(target_os = "linux")]
    {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", s.child.id())).unwrap();
        let files: Vec<&str> = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(files[3], files[4], "soft limit not raised: {limits}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_have_their_own_bounded_pool_and_stop_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let big_path = dir.path().join("big.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_domopt"))
        .args([
            "generate", "--orders", "20000", "--nodes", "40", "--skus", "1000",
        ])
        .args(["--tightness", "1.3", "--min-lines", "2", "--out"])
        .arg(&big_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let big = std::fs::read_to_string(&big_path).unwrap();
    let s = Server::start(
        &dir.path().join("data"),
        &[
            "--window",
            "0.5",
            "--budget",
            "1",
            "--plan-slots",
            "1",
            "--plan-queue",
            "0",
        ],
    );
    let (_, example) = load_example(&s).await;
    let (st, e) = send(&s, "POST", "/v1/plan?time_limit=61", &example).await;
    assert_error(st, &e, 422, "E4001", "time_limit above --max-plan-seconds");
    assert_eq!(e["error"]["details"][0]["path"], "?time_limit");

    // One long plan takes the only slot.
    let url = s.url.clone();
    let long = tokio::spawn(async move {
        call("POST", format!("{url}/v1/plan?time_limit=60"), Some(big)).await
    });
    let start = std::time::Instant::now();
    while metric(&s, "domopt_plans_running").await.as_deref() != Some("1") {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the plan never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A second plan finds no slot and no queue place: 429 with Retry-After.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/plan", s.url))
        .header("content-type", "application/json")
        .body(example.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let e: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["code"], "E4290", "{e}");
    // A window is decided while the plan runs: it does not wait behind it.
    submit(&s, "PL-1", "SKU-00009", 1).await;
    decided(&s, "PL-1").await;
    assert_eq!(
        metric(&s, "domopt_plans_running").await.as_deref(),
        Some("1"),
        "the plan ended before the window was decided; the test needs a harder instance"
    );
    assert_eq!(
        metric(
            &s,
            "domopt_requests_rejected_total{reason=\"plan_queue_full\"}"
        )
        .await
        .as_deref(),
        Some("1")
    );

    // Shutdown cancels the running plan: the server exits, and the plan is answered
    // 503 (or 200 if the solver returned first).
    let mut s = s;
    let status = tokio::task::spawn_blocking(move || s.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    let (st, plan) = long.await.unwrap();
    assert!(
        (st == 503 && plan["error"]["code"] == "E5030") || st == 200,
        "{st} {plan}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_rows_naming_an_unknown_node_get_e1203() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "600"]);
    load_example(&s).await;
    for (path, body, at) in [
        (
            "/v1/inventory",
            json!({"rows": [{"node": "NOPE", "sku": "SKU-00001", "on_hand": 1}]}),
            "$.rows[0].node",
        ),
        (
            "/v1/inventory/deltas",
            json!({"deltas": [{"node": "NOPE", "sku": "SKU-00001", "kind": "receipt", "qty": 1}]}),
            "$.deltas[0].node",
        ),
    ] {
        let method = if path == "/v1/inventory" {
            "PUT"
        } else {
            "POST"
        };
        let (st, e) = send(&s, method, path, &body).await;
        assert_error(st, &e, 422, "E4001", path);
        assert_eq!(e["error"]["details"][0]["code"], "E1203", "{e}");
        assert_eq!(e["error"]["details"][0]["path"], at, "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adjustment_below_what_is_reserved_is_refused_or_reroutes_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "0.2", "--budget", "1"]);
    load_network(&s).await;
    let node = "DC-001-Oakland-CA";
    let rows = json!({"rows": [{"node": node, "sku": "SKU-00009", "on_hand": 5}]});
    assert_eq!(send(&s, "PUT", "/v1/inventory", &rows).await.0, 200);
    submit(&s, "A-1", "SKU-00009", 2).await;
    submit(&s, "A-2", "SKU-00009", 3).await;
    drain(&s).await;
    let (_, before) = get(&s, "/v1/atp/SKU-00009").await;
    assert_eq!(before["nodes"][0]["reserved"], 5, "{before}");

    let adjust = |force: bool| json!({"deltas": [{"node": node, "sku": "SKU-00009", "kind": "adjustment", "qty": -3}], "force": force});
    let (st, e) = send(&s, "POST", "/v1/inventory/deltas", &adjust(false)).await;
    assert_error(st, &e, 409, "E4005", "adjustment below reserved");
    let msg = e["error"]["details"][0]["message"].as_str().unwrap();
    assert!(msg.contains("on_hand 2 below reserved 5"), "{e}");
    assert!(msg.contains("A-2") || msg.contains("A-1"), "{e}");
    assert_eq!(get(&s, "/v1/atp/SKU-00009").await.1, before);

    let (st, r) = send(&s, "POST", "/v1/inventory/deltas", &adjust(true)).await;
    assert_eq!(st, 200, "{r}");
    let rerouted = r["rerouted"].as_array().unwrap();
    assert!(!rerouted.is_empty(), "{r}");
    drain(&s).await;
    let (_, atp) = get(&s, "/v1/atp/SKU-00009").await;
    let row = &atp["nodes"][0];
    assert_eq!(row["on_hand"], 2, "{atp}");
    assert!(row["reserved"].as_i64().unwrap() <= 2, "{atp}");
    for id in rerouted {
        let rec = decided(&s, id.as_str().unwrap()).await;
        assert!(rec["decision"].is_object(), "{rec}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reroute_that_leaves_no_node_with_stock_reports_no_stock() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "0.2", "--budget", "1"]);
    load_network(&s).await;
    let rows = json!({"rows": [{"node": "DC-001-Oakland-CA", "sku": "SKU-00009", "on_hand": 5}]});
    assert_eq!(send(&s, "PUT", "/v1/inventory", &rows).await.0, 200);
    submit(&s, "N-1", "SKU-00009", 1).await;
    let rec = decided(&s, "N-1").await;
    assert_eq!(rec["status"], "allocated", "{rec}");
    let body = json!({"exclude_node": "DC-001-Oakland-CA"});
    let (st, r) = send(&s, "POST", "/v1/orders/N-1/reroute", &body).await;
    assert_eq!(st, 200, "{r}");
    let rec = decided(&s, "N-1").await;
    assert_eq!(rec["status"], "unfilled", "{rec}");
    assert_eq!(
        rec["decision"]["unfilled"][0]["reason"], "NO_STOCK",
        "{rec}"
    );
}
