//! The operations page in a real browser: headless Chromium loads `/` from a running
//! `domopt serve` with decided windows, the page renders without errors, and the order
//! lookup shows a real decision. Needs Debian's `chromium`; `scripts/test.sh` runs it
//! (`cargo test --test page -- --ignored`) when Chromium is installed. A screenshot
//! goes to `target/ops-page.png`.

mod common;

use std::path::Path;
use std::process::Command;

use common::server::*;
use serde_json::json;

/// Runs headless Chromium on `url` with `extra` flags; returns stdout and stderr.
fn chromium(profile: &Path, url: &str, extra: &[&str]) -> (String, String) {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium (scripts/test.sh runs it when installed)"]
async fn the_operations_page_renders_windows_nodes_and_an_order_decision() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--window", "0.3", "--budget", "1"]);
    let (inst, _) = load_example(&s).await;
    let (st, body) = send(&s, "POST", "/v1/orders", &json!({"orders": inst.orders})).await;
    assert_eq!(st, 202, "{body}");
    let id = inst.orders[0].id.clone();
    let rec = decided(&s, &id).await;
    let node = rec["decision"]["shipments"][0]["node"]
        .as_str()
        .expect("the order ships")
        .to_string();

    let (st, page) = get(&s, "/").await;
    assert_eq!(st, 200);
    let html = page.as_str().expect("the page is HTML");
    assert!(html.len() < 200_000, "the page is {} bytes", html.len());
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page fetches nothing from elsewhere"
    );

    let profile = tempfile::tempdir().unwrap();
    let url = format!("{}/#order={id}&sku={}", s.url, inst.orders[0].lines[0].sku);
    let (dom, log) = chromium(profile.path(), &url, &["--dump-dom"]);
    let errors = dom
        .split("<pre id=\"errors\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .expect("the page has its error box");
    assert_eq!(errors.trim(), "", "the page reported errors");
    assert!(!log.contains("Uncaught"), "console errors: {log}");
    assert!(dom.contains("<svg"), "the charts and the map are drawn");
    let order = dom
        .split("id=\"order-result\"")
        .nth(1)
        .expect("the order section");
    assert!(
        order.contains(&format!("<b>{id}</b>")),
        "the order is shown"
    );
    assert!(order.contains(&node), "the shipment's node {node} is shown");
    let alternatives = order
        .split("class=\"alternatives\"")
        .nth(1)
        .expect("the alternatives are shown");
    let (st, alt) = get(&s, &format!("/v1/orders/{id}/alternatives")).await;
    assert_eq!(st, 200, "{alt}");
    let first = alt["alternatives"][0]["node"]
        .as_str()
        .expect("an alternative");
    assert!(alternatives.contains(first), "{first} is listed");
    let costs: Vec<f64> = alt["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["cost"].as_f64().unwrap())
        .collect();
    assert!(
        costs.windows(2).all(|w| w[0] <= w[1]),
        "cheapest first: {costs:?}"
    );
    assert!(dom.contains("available</p>"), "the ATP lookup answered");
    assert!(
        dom.contains(&inst.nodes[0].id),
        "the node table lists the nodes"
    );

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ops-page.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        profile.path(),
        &url,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2200",
            "--hide-scrollbars",
        ],
    );
    assert!(shot.exists(), "chromium wrote the screenshot");
}
