//! Integration tests of `domopt serve` over a real listener: the real binary, real
//! HTTP, the real embedded SQLite database in a temporary directory.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::server::*;
use domopt::check::check;
use domopt::domain::Plan;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_is_solved_checked_and_committed_against_live_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "1", "--budget", "5"]);
    let (st, _) = get(&s, "/readyz").await;
    assert_eq!(st, 503, "not ready before a network is loaded");
    let (inst, v) = load_example(&s).await;
    assert_eq!(get(&s, "/readyz").await.0, 200);
    let (st, body) = send(&s, "POST", "/v1/orders", &json!({"orders": v["orders"]})).await;
    assert_eq!(st, 202, "{body}");
    assert_eq!(body["accepted"], inst.orders.len());
    drain(&s).await;

    // The committed decisions form the proved-optimal plan of the example, which the
    // checker accepts with the formats' example optimum.
    let ids = ids_of(&v);
    let mut plan = plan_of(&s, &ids).await;
    plan.instance = inst.name.clone();
    plan.objective = check(&inst, &plan).summary.objective;
    let report = check(&inst, &plan);
    assert!(report.is_valid(), "{:?}", report.violations);
    assert!(
        (report.summary.objective - 750.5573).abs() < 1e-3,
        "objective {}",
        report.summary.objective
    );

    // The window is listed with its KPIs.
    let (_, w) = get(&s, "/v1/windows").await;
    let w0 = &w["windows"][0];
    assert_eq!(w0["kpis"]["orders"], inst.orders.len());
    assert_eq!(w0["kpis"]["status"], "optimal");
    assert!((w0["kpis"]["objective"].as_f64().unwrap() - 750.5573).abs() < 1e-3);

    // Reservations decremented availability exactly by what was shipped.
    let mut shipped: HashMap<(String, String), u64> = HashMap::new();
    for sh in &plan.shipments {
        for l in &sh.lines {
            *shipped.entry((sh.node.clone(), l.sku.clone())).or_default() += u64::from(l.qty);
        }
    }
    for sku in &inst.skus {
        let (st, atp) = get(&s, &format!("/v1/atp/{}", sku.id)).await;
        assert_eq!(st, 200);
        for n in atp["nodes"].as_array().unwrap() {
            let key = (n["node"].as_str().unwrap().to_string(), sku.id.clone());
            let row = inst
                .inventory
                .iter()
                .find(|r| r.node == key.0 && r.sku == key.1)
                .unwrap();
            let want = u64::from(row.available()) - shipped.get(&key).copied().unwrap_or(0);
            assert_eq!(n["available"].as_u64().unwrap(), want, "{key:?}");
            assert_eq!(
                n["reserved"].as_u64().unwrap(),
                shipped.get(&key).copied().unwrap_or(0)
            );
        }
    }
    let (_, metrics) = get(&s, "/metrics").await;
    let m = metrics.as_str().unwrap();
    assert!(
        m.contains(&format!(
            "domopt_orders_accepted_total {}",
            inst.orders.len()
        )),
        "{m}"
    );
    assert!(m.contains("domopt_windows_total 1"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_competing_for_the_last_units_never_oversell() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "0.2", "--budget", "1"]);
    let (_, v) = example();
    let network = json!({"nodes": v["nodes"], "skus": v["skus"], "rate_card": v["rate_card"], "costs": v["costs"]});
    assert_eq!(send(&s, "PUT", "/v1/network", &network).await.0, 200);
    // 7 units of SKU-00009 in the whole network, at three nodes.
    let rows = json!({"rows": [
        {"node": "DC-001-Oakland-CA", "sku": "SKU-00009", "on_hand": 3},
        {"node": "ST-004-Concord-CA", "sku": "SKU-00009", "on_hand": 3, "safety_stock": 1},
        {"node": "3PL-001-SanAntonio-TX", "sku": "SKU-00009", "on_hand": 2}
    ]});
    assert_eq!(send(&s, "PUT", "/v1/inventory", &rows).await.0, 200);
    let mut tasks = Vec::new();
    for client in 0..24 {
        let url = s.url.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for k in 0..4 {
                let id = format!("HOT-{client}-{k}");
                let order = json!({"id": id, "ship_to": {"lat": 34.05, "lon": -118.24}, "promise_days": 9,
                                   "lines": [{"sku": "SKU-00009", "qty": 1 + (client + k) % 2}]});
                let (st, body) = call("POST", format!("{url}/v1/orders"), Some(order.to_string())).await;
                assert_eq!(st, 202, "{body}");
                ids.push(id);
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    drain(&s).await;
    let mut allocated = 0u64;
    let mut per_node: HashMap<String, u64> = HashMap::new();
    for id in &ids {
        let (_, rec) = get(&s, &format!("/v1/orders/{id}")).await;
        assert_ne!(rec["status"], "pending", "{rec}");
        for sh in rec["decision"]["shipments"].as_array().unwrap() {
            for l in sh["lines"].as_array().unwrap() {
                allocated += l["qty"].as_u64().unwrap();
                *per_node
                    .entry(sh["node"].as_str().unwrap().into())
                    .or_default() += l["qty"].as_u64().unwrap();
            }
        }
    }
    let (_, atp) = get(&s, "/v1/atp/SKU-00009").await;
    let mut reserved = 0;
    for n in atp["nodes"].as_array().unwrap() {
        let (on_hand, r, safety) = (
            n["on_hand"].as_u64().unwrap(),
            n["reserved"].as_u64().unwrap(),
            n["safety_stock"].as_u64().unwrap(),
        );
        assert!(r + safety <= on_hand, "oversold at {n}");
        assert_eq!(
            r,
            per_node
                .get(n["node"].as_str().unwrap())
                .copied()
                .unwrap_or(0)
        );
        reserved += r;
    }
    assert_eq!(allocated, reserved);
    // Demand (144 units) far exceeds the 7 sellable units; all 7 are sold, no more.
    assert_eq!(allocated, 7);
    assert_eq!(atp["available"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_idempotent_and_conflicting_bodies_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "60"]);
    let (_, v) = load_example(&s).await;
    let batch = json!({"orders": v["orders"]});
    let n = v["orders"].as_array().unwrap().len() as u64;
    let (st, first) = send(&s, "POST", "/v1/orders", &batch).await;
    assert_eq!((st, first["accepted"].as_u64()), (202, Some(n)));
    let (st, again) = send(&s, "POST", "/v1/orders", &batch).await;
    assert_eq!(st, 202);
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(n))
    );
    // Same id, different body, in a batch with a new order: 409, nothing stored.
    let mut changed = v["orders"][0].clone();
    changed["promise_days"] = json!(9);
    let fresh = json!({"id": "NEW-1", "ship_to": {"lat": 40.0, "lon": -75.0}, "promise_days": 5, "lines": [{"sku": "SKU-00001", "qty": 1}]});
    let (st, err) = send(
        &s,
        "POST",
        "/v1/orders",
        &json!({"orders": [fresh, changed]}),
    )
    .await;
    assert_eq!(st, 409, "{err}");
    assert_eq!(err["error"]["code"], "E4004");
    assert_eq!(get(&s, "/v1/orders/NEW-1").await.0, 404);
    let (_, m) = get(&s, "/metrics").await;
    assert!(
        m.as_str()
            .unwrap()
            .contains(&format!("domopt_pending_orders {n}"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarts_without_losing_an_accepted_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), &["--window", "0.3", "--budget", "1"]);
    let (inst, v) = load_example(&s).await;
    let template = v["orders"].as_array().unwrap().clone();
    let mut accepted = Vec::new();
    let mut n = 0;
    // Submit in a stream; kill the process mid-stream, while windows are committing.
    let writer = {
        let url = s.url.clone();
        let template = template.clone();
        tokio::spawn(async move {
            let mut ok = Vec::new();
            for round in 0..400 {
                let batch: Vec<Value> = template
                    .iter()
                    .map(|o| {
                        let mut o = o.clone();
                        o["id"] = format!("R{round}-{}", o["id"].as_str().unwrap()).into();
                        o
                    })
                    .collect();
                let ids: Vec<String> = batch
                    .iter()
                    .map(|o| o["id"].as_str().unwrap().to_string())
                    .collect();
                let client = reqwest::Client::new();
                let resp = client
                    .post(format!("{url}/v1/orders"))
                    .header("content-type", "application/json")
                    .body(json!({"orders": batch}).to_string())
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().as_u16() == 202 => ok.extend(ids),
                    _ => break,
                }
            }
            ok
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.kill();
    accepted.extend(writer.await.unwrap());
    n += accepted.len();
    assert!(n >= 16, "the stream was too short to test a restart: {n}");
    let s = Server::start(dir.path(), &["--window", "0.3", "--budget", "1"]);
    drain(&s).await;
    for id in &accepted {
        let (st, rec) = get(&s, &format!("/v1/orders/{id}")).await;
        assert_eq!(st, 200, "accepted order {id} was lost");
        assert_ne!(rec["status"], "pending");
    }
    // The ledger is consistent: reservations equal what decisions ship, never above stock.
    let mut shipped: HashMap<(String, String), u64> = HashMap::new();
    for id in &accepted {
        let (_, rec) = get(&s, &format!("/v1/orders/{id}")).await;
        for sh in rec["decision"]["shipments"].as_array().unwrap() {
            for l in sh["lines"].as_array().unwrap() {
                *shipped
                    .entry((
                        sh["node"].as_str().unwrap().into(),
                        l["sku"].as_str().unwrap().into(),
                    ))
                    .or_default() += l["qty"].as_u64().unwrap();
            }
        }
    }
    for sku in &inst.skus {
        let (_, atp) = get(&s, &format!("/v1/atp/{}", sku.id)).await;
        for row in atp["nodes"].as_array().unwrap() {
            let key = (row["node"].as_str().unwrap().to_string(), sku.id.clone());
            assert_eq!(
                row["reserved"].as_u64().unwrap(),
                shipped.get(&key).copied().unwrap_or(0),
                "{key:?}"
            );
            assert!(
                row["reserved"].as_u64().unwrap() + row["safety_stock"].as_u64().unwrap()
                    <= row["on_hand"].as_u64().unwrap()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_decides_the_open_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), &["--window", "600", "--budget", "2"]);
    let (_, v) = load_example(&s).await;
    assert_eq!(
        send(&s, "POST", "/v1/orders", &json!({"orders": v["orders"]}))
            .await
            .0,
        202
    );
    let status = s.terminate();
    assert!(status.success(), "{status:?}");
    let s = Server::start(dir.path(), &["--window", "600"]);
    for id in ids_of(&v) {
        let (_, rec) = get(&s, &format!("/v1/orders/{id}")).await;
        assert!(rec["decision"].is_object(), "{rec}");
    }
    assert_eq!(
        get(&s, "/v1/windows").await.1["windows"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_returns_stock_and_reroute_avoids_the_rejecting_node() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "0.2", "--budget", "2"]);
    let (_, v) = example();
    let network = json!({"nodes": v["nodes"], "skus": v["skus"], "rate_card": v["rate_card"], "costs": v["costs"]});
    assert_eq!(send(&s, "PUT", "/v1/network", &network).await.0, 200);
    let rows = json!({"rows": [
        {"node": "DC-001-Oakland-CA", "sku": "SKU-00009", "on_hand": 5},
        {"node": "ST-004-Concord-CA", "sku": "SKU-00009", "on_hand": 5}
    ]});
    assert_eq!(send(&s, "PUT", "/v1/inventory", &rows).await.0, 200);
    let order = json!({"id": "C-1", "ship_to": {"lat": 37.80, "lon": -122.27}, "promise_days": 9, "lines": [{"sku": "SKU-00009", "qty": 2}]});
    assert_eq!(send(&s, "POST", "/v1/orders", &order).await.0, 202);
    drain(&s).await;
    let (_, rec) = get(&s, "/v1/orders/C-1").await;
    assert_eq!(rec["status"], "allocated", "{rec}");
    let first_node = rec["decision"]["shipments"][0]["node"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(&s, "/v1/atp/SKU-00009").await.1["available"], 8);

    // The node rejects it: re-route to the other node.
    let (st, rr) = send(
        &s,
        "POST",
        "/v1/orders/C-1/reroute",
        &json!({"exclude_node": first_node}),
    )
    .await;
    assert_eq!(st, 200, "{rr}");
    assert_eq!(rr["status"], "pending");
    drain(&s).await;
    let (_, rec) = get(&s, "/v1/orders/C-1").await;
    assert_eq!(rec["status"], "allocated", "{rec}");
    for sh in rec["decision"]["shipments"].as_array().unwrap() {
        assert_ne!(sh["node"], first_node.as_str());
    }
    assert_eq!(get(&s, "/v1/atp/SKU-00009").await.1["available"], 8);

    // Cancel: stock returns; cancelling again is a state error.
    let (st, c) = send(&s, "POST", "/v1/orders/C-1/cancel", &json!({})).await;
    assert_eq!((st, c["status"].as_str()), (200, Some("cancelled")));
    assert_eq!(get(&s, "/v1/atp/SKU-00009").await.1["available"], 10);
    let (st, e) = send(&s, "POST", "/v1/orders/C-1/cancel", &json!({})).await;
    assert_eq!((st, e["error"]["code"].as_str()), (409, Some("E4005")));

    // Picks and receipts move the ledger; a pick beyond what is reserved is refused.
    let (st, e) = send(&s, "POST", "/v1/inventory/deltas", &json!({"deltas": [{"node": "DC-001-Oakland-CA", "sku": "SKU-00009", "kind": "pick", "qty": 1}]})).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("E4005")),
        "{e}"
    );
    let (st, _) = send(&s, "POST", "/v1/inventory/deltas", &json!({"deltas": [{"node": "DC-001-Oakland-CA", "sku": "SKU-00009", "kind": "receipt", "qty": 4}]})).await;
    assert_eq!(st, 200);
    assert_eq!(get(&s, "/v1/atp/SKU-00009").await.1["available"], 14);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_with_the_error_shape_never_a_500() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "60", "--max-body-mib", "1"]);
    let order = json!({"id": "X", "ship_to": {"lat": 1.0, "lon": 1.0}, "promise_days": 1, "lines": [{"sku": "SKU-00001", "qty": 1}]});
    let (st, e) = send(&s, "POST", "/v1/orders", &order).await;
    assert_eq!((st, e["error"]["code"].as_str()), (409, Some("E4003")));
    load_example(&s).await;

    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("POST", "/v1/orders", "{\"orders\": [".into(), 400, "E4000"),
        ("POST", "/v1/orders", "[1, 2]".into(), 400, "E4000"),
        ("POST", "/v1/orders", json!({"orders": [{"id": "B", "ship_to": {"lat": 91, "lon": 0}, "promise_days": -1, "lines": [{"sku": "NOPE", "qty": 0}]}]}).to_string(), 422, "E4001"),
        ("POST", "/v1/orders", format!("{{\"orders\": [], \"pad\": \"{}\"}}", "x".repeat(2 << 20)), 413, "E4002"),
        ("PUT", "/v1/network", json!({"nodes": []}).to_string(), 422, "E4001"),
        ("PUT", "/v1/inventory", json!({"rows": [{"node": "NOPE", "sku": "SKU-00001", "on_hand": 1}]}).to_string(), 422, "E4001"),
        ("PUT", "/v1/inventory", json!({"rows": [{"node": "NOPE", "sku": "SKU-00001", "on_hand": -1}]}).to_string(), 422, "E4001"),
        ("POST", "/v1/inventory/deltas", json!({"deltas": [{"node": "DC-001-Oakland-CA", "sku": "SKU-00001", "kind": "steal", "qty": 1}]}).to_string(), 422, "E4001"),
        ("POST", "/v1/plan?solver=magic", "{}".into(), 422, "E4001"),
        ("POST", "/v1/plan", "{\"format\": \"domopt.instance/1\"}".into(), 422, "E4001"),
        ("POST", "/v1/orders/none/reroute", json!({"exclude_node": "DC-001-Oakland-CA"}).to_string(), 404, "E4040"),
        ("GET", "/v1/atp/NOPE", String::new(), 404, "E4040"),
        ("GET", "/v2/everything", String::new(), 404, "E4040"),
        ("DELETE", "/v1/orders", String::new(), 405, "E4050"),
    ];
    for (method, path, body, want_status, want_code) in cases {
        let (st, e) = call(
            method,
            format!("{}{path}", s.url),
            (!body.is_empty()).then_some(body),
        )
        .await;
        assert_error(st, &e, want_status, want_code, &format!("{method} {path}"));
    }
    // Validation errors name every offending field.
    let bad = json!({"orders": [{"id": "B", "ship_to": {"lat": 91, "lon": 0}, "promise_days": 1, "lines": [{"sku": "NOPE", "qty": 0}]}]});
    let (_, e) = send(&s, "POST", "/v1/orders", &bad).await;
    let paths: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"$.orders[0].ship_to.lat"), "{paths:?}");
    assert!(paths.contains(&"$.orders[0].lines[0].sku"), "{paths:?}");
    assert!(paths.contains(&"$.orders[0].lines[0].qty"), "{paths:?}");
    // Nothing from the refused requests was stored, and the server is still healthy.
    assert_eq!(get(&s, "/v1/orders/B").await.0, 404);
    assert_eq!(get(&s, "/healthz").await.0, 200);
    let (_, m) = get(&s, "/metrics").await;
    assert!(
        m.as_str()
            .unwrap()
            .contains("domopt_http_responses_total{class=\"5xx\"} 0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_endpoint_solves_a_whole_batch_and_openapi_lists_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let (inst, v) = example();
    for solver in ["mip", "cheapest"] {
        let (st, body) = send(
            &s,
            "POST",
            &format!("/v1/plan?solver={solver}&time_limit=5"),
            &v,
        )
        .await;
        assert_eq!(st, 200, "{body}");
        let plan: Plan = serde_json::from_value(body).unwrap();
        let report = check(&inst, &plan);
        assert!(report.is_valid(), "{:?}", report.violations);
        if solver == "mip" {
            assert!((plan.objective - 750.5573).abs() < 1e-3);
        }
    }
    let (st, doc) = get(&s, "/openapi.json").await;
    assert_eq!(st, 200);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/network",
        "/v1/inventory",
        "/v1/inventory/deltas",
        "/v1/atp/{sku}",
        "/v1/capacity/reset",
        "/v1/orders",
        "/v1/orders/{id}",
        "/v1/orders/{id}/cancel",
        "/v1/orders/{id}/reroute",
        "/v1/windows",
        "/v1/plan",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
}

/// PUTs a streamed snapshot; returns the status and the answer.
async fn put_ndjson(s: &Server, query: &str, body: String) -> (u16, serde_json::Value) {
    let (st, v, _) = call_with(
        "PUT",
        format!("{}/v1/inventory{query}", s.url),
        &[("content-type", "application/x-ndjson")],
        Some(body),
    )
    .await;
    (st, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_snapshot_is_applied_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "600"]);
    let (inst, _) = load_example(&s).await;
    let node = &inst.nodes[0].id;
    let line = |sku: &str, on_hand: u64| {
        format!("{{\"node\": \"{node}\", \"sku\": \"{sku}\", \"on_hand\": {on_hand}}}\n")
    };
    let atp = |v: &serde_json::Value| {
        v["nodes"]
            .as_array()
            .and_then(|a| a.iter().find(|n| n["node"] == node.as_str()))
            .map(|n| n["on_hand"].clone())
    };
    // A bad line anywhere refuses the whole snapshot, naming the line.
    let body = [
        line("SKU-00009", 7),
        "\n".into(),
        line("NO-SUCH-SKU", 1),
        "not json\n".into(),
    ]
    .concat();
    let (st, e) = put_ndjson(&s, "?full=true", body).await;
    assert_error(st, &e, 422, "E4001", "a snapshot with bad lines");
    let paths: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["path"].as_str())
        .collect();
    assert_eq!(paths, ["line 3.sku", "line 4"], "{e}");
    let before = get(&s, "/v1/atp/SKU-00009").await.1;
    assert_ne!(atp(&before), Some(json!(7)), "{before}");

    // A valid full snapshot in many lines (more than one staging batch), without a
    // final newline: every row applied, rows it does not name zeroed.
    let mut body: String = (0..60_001).map(|_| line("SKU-00009", 5)).collect();
    body.push_str(line("SKU-00009", 7).trim_end());
    let (st, answer) = put_ndjson(&s, "?full=true", body).await;
    assert_eq!(
        (st, answer["rows"].as_u64()),
        (200, Some(60_002)),
        "{answer}"
    );
    let after = get(&s, "/v1/atp/SKU-00009").await.1;
    assert_eq!(
        atp(&after),
        Some(json!(7)),
        "the last line of a pair wins: {after}"
    );
    let other = &inst.skus.iter().find(|k| k.id != "SKU-00009").unwrap().id;
    let zeroed = get(&s, &format!("/v1/atp/{other}")).await.1;
    let on_hand: Vec<_> = zeroed["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["on_hand"].as_u64())
        .collect();
    assert!(on_hand.iter().all(|&q| q == Some(0)), "{zeroed}");

    // Plain text is still refused as a cross-site write.
    let (st, e, _) = call_with(
        "PUT",
        format!("{}/v1/inventory", s.url),
        &[("content-type", "text/plain")],
        Some(line("SKU-00009", 1)),
    )
    .await;
    assert_error(st, &e, 415, "E4150", "a text/plain snapshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promise_is_kept_by_the_window_that_decides_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "0.3", "--budget", "1"]);
    let (inst, _) = load_example(&s).await;
    let o = &inst.orders[0];
    let cart = json!({"lines": o.lines, "ship_to": o.ship_to});
    let (st, p) = send(&s, "POST", "/v1/promise", &cart).await;
    assert_eq!(st, 200, "{p}");
    let options = p["options"].as_array().expect("options");
    assert!(!options.is_empty(), "{p}");
    let days: Vec<u64> = options
        .iter()
        .map(|x| x["delivery_days"].as_u64().unwrap())
        .collect();
    assert!(days.windows(2).all(|w| w[0] <= w[1]), "soonest first: {p}");
    // Every promised shipment's lines add up to the cart.
    let fastest = &options[0];
    let mut promised: Vec<(String, u64)> = fastest["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|sh| sh["lines"].as_array().unwrap().clone())
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_string(),
                l["qty"].as_u64().unwrap(),
            )
        })
        .collect();
    promised.sort();
    let mut asked: Vec<(String, u64)> = o
        .lines
        .iter()
        .map(|l| (l.sku.clone(), u64::from(l.qty)))
        .collect();
    asked.sort();
    assert_eq!(promised, asked, "{p}");

    // A one-unit cart of a sku some store holds: the stores offered for pickup hold it.
    let held = inst
        .inventory
        .iter()
        .find(|r| r.node.starts_with("ST-") && r.available() >= 1)
        .expect("a store holds something");
    let one = json!({"lines": [{"sku": held.sku, "qty": 1}], "ship_to": o.ship_to});
    let (st, q) = send(&s, "POST", "/v1/promise", &one).await;
    assert_eq!(st, 200, "{q}");
    let stores = q["pickup"].as_array().expect("pickup stores");
    assert!(!stores.is_empty(), "{q}");
    let atp = get(&s, &format!("/v1/atp/{}", held.sku)).await.1;
    for store in stores {
        let id = store["node"].as_str().unwrap();
        assert!(id.starts_with("ST-"), "{store}");
        let here = atp["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["node"] == id);
        let available = here.and_then(|n| n["available"].as_i64()).unwrap_or(0);
        assert!(available >= 1, "{id} lacks {}: {atp}", held.sku);
    }

    // The customer takes the fastest option: the order is due on its day, and the
    // window decides it on time at no more than the promised cost.
    let mut order = serde_json::to_value(o).unwrap();
    order["id"] = json!("PROMISED-1");
    order["promise_days"] = fastest["delivery_days"].clone();
    let (st, body) = send(&s, "POST", "/v1/orders", &json!({"orders": [order]})).await;
    assert_eq!(st, 202, "{body}");
    let rec = decided(&s, "PROMISED-1").await;
    let d = &rec["decision"];
    assert!(d["unfilled"].as_array().unwrap().is_empty(), "{rec}");
    for sh in d["shipments"].as_array().unwrap() {
        assert!(
            sh["delivery_days"].as_u64() <= fastest["delivery_days"].as_u64(),
            "{rec}"
        );
    }
    let cost = d["cost"].as_f64().unwrap();
    assert!(
        cost <= fastest["cost"].as_f64().unwrap() + 1e-6,
        "{cost} above the promise {p}"
    );

    // A cart naming an unknown sku is refused with its path.
    let bad = json!({"lines": [{"sku": "NOPE", "qty": 1}], "ship_to": o.ship_to});
    let (st, e) = send(&s, "POST", "/v1/promise", &bad).await;
    assert_error(st, &e, 422, "E4001", "an unknown sku");
    assert_eq!(e["error"]["details"][0]["path"], "$.lines[0].sku", "{e}");
}

/// Runs `domopt load` against `urls` (comma-separated): 40 orders in 8 batches of 5
/// over half a second from two clients. Its exit code and JSON report.
async fn run_load(urls: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_domopt"));
    cmd.args(["load", "--url", urls, "--rate", "80", "--seconds", "0.5"])
        .args([
            "--batch",
            "5",
            "--concurrency",
            "2",
            "--nodes",
            "3",
            "--skus",
            "20",
        ])
        .args(extra)
        .env_remove("DOMOPT_API_KEY");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = stdout
        .split("\n\n")
        .next()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("no report: {out:?}"));
    (out.status.code(), report)
}

/// The value of counter `name` on `s`.
async fn counter(s: &Server, name: &str) -> u64 {
    metric(s, name)
        .await
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no counter {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_spreads_its_submits_round_robin_over_its_urls() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--window", "0.3", "--budget", "1"];
    if common::storage::on_postgres() {
        args.extend(["--lease", "1"]);
    }
    let s = Server::start(dir.path(), &args);
    let (code, r) = run_load(&s.url, &[]).await;
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["urls"], 1, "{r}");
    assert_eq!(r["orders_accepted"], 40, "{r}");

    // Batch k goes to URL k mod 2: every second one to a port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (code, r) = run_load(&format!("{},{dead}", s.url), &["--no-setup"]).await;
    assert_eq!(code, Some(1), "failed requests fail the run: {r}");
    assert_eq!(r["urls"], 2, "{r}");
    assert_eq!(r["failed_requests"], 4, "{r}");
    assert_eq!(r["orders_accepted"], 20, "{r}");

    // Two fresh replicas of one database (one data directory stands for one
    // database): the set-up goes to the first, and the second, which had no network,
    // takes half the batches once it serves the one the set-up stored.
    if !common::storage::on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (
        Server::start(dir.path(), &args),
        Server::start(dir.path(), &args),
    );
    let (code, r) = run_load(&format!("{},{}", first.url, second.url), &[]).await;
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["orders_accepted"], 40, "{r}");
    for s in [&first, &second] {
        assert_eq!(counter(s, "domopt_orders_accepted_total").await, 20);
    }
}
