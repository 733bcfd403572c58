//! `domopt load`: a load generator for a running `domopt serve`. It loads a generated
//! network and stock, submits generated orders in batches at a target rate from a
//! pool of concurrent clients, and reports the rate reached, submit latency
//! percentiles and how long windows took to be decided. Given several base URLs
//! (replicas sharing one database), it spreads the submits over them round-robin;
//! the set-up and every read go to the first.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::domain::Instance;
use crate::generate::{GenParams, generate};

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadParams {
    /// Base URLs of the service, e.g. `http://127.0.0.1:8080` (at least one): the
    /// set-up and the reads go to the first, batch `k` of the submits to URL
    /// `k mod len`.
    pub urls: Vec<String>,
    /// Target orders per second.
    pub rate: f64,
    /// Orders per request.
    pub batch: usize,
    /// How long to send, in seconds.
    pub seconds: f64,
    /// Concurrent clients.
    pub concurrency: usize,
    /// Generator seed (network, stock and orders).
    pub seed: u64,
    /// Nodes in the generated network.
    pub nodes: usize,
    /// Skus in the generated network.
    pub skus: usize,
    /// Load the network and stock first.
    pub setup: bool,
    /// API key sent as `Authorization: Bearer KEY` with every request.
    pub api_key: Option<String>,
}

/// What the run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    /// Base URLs the submits were spread over.
    pub urls: usize,
    /// Orders the service accepted.
    pub orders_accepted: usize,
    /// Requests that failed (non-2xx or transport errors).
    pub failed_requests: usize,
    /// Seconds from the first to the last response.
    pub send_seconds: f64,
    /// Accepted orders per second over the send time.
    pub orders_per_second: f64,
    /// Submit latency percentiles in milliseconds.
    pub latency_ms: Percentiles,
    /// Windows decided during the run.
    pub windows: usize,
    /// Largest (decided_at − opened_at) of those windows, in seconds.
    pub max_window_span_seconds: f64,
    /// Largest (decided_at − closed_at), in seconds.
    pub max_decision_lag_seconds: f64,
    /// How long after its budget each window was decided
    /// (decided_at − closed_at − budget), in milliseconds.
    pub decision_overrun_ms: Percentiles,
    /// Largest window, in orders.
    pub max_window_orders: u64,
    /// Seconds after the last submit until no order was pending.
    pub drain_seconds: f64,
    /// `GET /v1/atp/{sku}` latency percentiles in milliseconds, over
    /// [`ATP_SAMPLES`] skus spread over the catalog, asked one after another.
    pub atp_latency_ms: Percentiles,
}

/// Skus whose ATP is asked after the load, to measure its latency.
pub const ATP_SAMPLES: usize = 1000;

/// Rows per `PUT /v1/inventory` of the set-up: a wide network's millions of rows go
/// in bodies of a few MiB, well under the default body limit.
pub const SETUP_ROWS_PER_REQUEST: usize = 100_000;

/// How long [`run`] waits for every replica to serve the network its set-up stored.
pub const NETWORK_WAIT: Duration = Duration::from_secs(30);

/// Latency percentiles.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

fn percentiles(mut ms: Vec<f64>) -> Percentiles {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if ms.is_empty() {
            0.0
        } else {
            ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1]
        }
    };
    Percentiles {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: at(1.0),
    }
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: &Value,
) -> Result<Value, String> {
    let resp = client
        .request(method, &url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: {status} {text}"));
    }
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Runs the load and returns its measurements.
pub async fn run(p: &LoadParams) -> Result<LoadReport, String> {
    let total = (p.rate * p.seconds).ceil() as usize;
    let inst = generate(&GenParams {
        orders: total.max(1),
        nodes: p.nodes,
        skus: p.skus,
        seed: p.seed,
        ..GenParams::default()
    });
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = &p.api_key {
        let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| "the API key is not a valid header value".to_string())?;
        v.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(p.concurrency)
        // Below the server's default idle timeout (--header-timeout 30), so the pool
        // never reuses a connection the server is closing.
        .pool_idle_timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| e.to_string())?;
    let bases: Vec<String> = p
        .urls
        .iter()
        .map(|u| u.trim_end_matches('/').to_string())
        .collect();
    let base = bases.first().ok_or("no base URL given")?.clone();
    if p.setup {
        set_up(&client, &base, &inst).await?;
        network_everywhere(&client, &bases).await?;
    }
    let batches = order_batches(&inst, p.batch);
    let t0 = Instant::now();
    let t0_unix = super::store::now();
    let sent = submit(&client, &bases, batches, p, t0).await?;
    let send_seconds = (sent.last - t0).as_secs_f64();
    // Wait until every order was decided.
    let drain_start = Instant::now();
    wait_drained(&client, &base).await?;
    let drain_seconds = drain_start.elapsed().as_secs_f64();
    let ours = windows_since(&client, &base, t0_unix).await?;
    let atp_latency_ms = atp_latencies(&client, &base, &inst).await?;
    let f = |w: &Value, k: &str| w[k].as_f64().unwrap_or(0.0);
    Ok(LoadReport {
        urls: bases.len(),
        orders_accepted: sent.accepted,
        failed_requests: sent.failed,
        send_seconds,
        orders_per_second: sent.accepted as f64 / send_seconds.max(1e-9),
        latency_ms: percentiles(sent.latencies),
        windows: ours.len(),
        max_window_span_seconds: ours
            .iter()
            .map(|w| f(w, "decided_at") - f(w, "opened_at"))
            .fold(0.0, f64::max),
        max_decision_lag_seconds: ours
            .iter()
            .map(|w| f(w, "decided_at") - f(w, "closed_at"))
            .fold(0.0, f64::max),
        decision_overrun_ms: percentiles(
            ours.iter()
                .map(|w| {
                    let budget = w["kpis"]["budget_seconds"].as_f64().unwrap_or(0.0);
                    (f(w, "decided_at") - f(w, "closed_at") - budget) * 1000.0
                })
                .collect(),
        ),
        max_window_orders: ours
            .iter()
            .map(|w| w["kpis"]["orders"].as_u64().unwrap_or(0))
            .max()
            .unwrap_or(0),
        drain_seconds,
        atp_latency_ms,
    })
}

/// Times `GET /v1/atp/{sku}` for [`ATP_SAMPLES`] skus spread evenly over the catalog.
async fn atp_latencies(
    client: &reqwest::Client,
    base: &str,
    inst: &Instance,
) -> Result<Percentiles, String> {
    let step = (inst.skus.len() / ATP_SAMPLES).max(1);
    let mut ms = Vec::with_capacity(ATP_SAMPLES);
    for sku in inst.skus.iter().step_by(step).take(ATP_SAMPLES) {
        let url = format!("{base}/v1/atp/{}", sku.id);
        let started = Instant::now();
        let resp = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let ok = resp.status().is_success();
        resp.bytes().await.map_err(|e| e.to_string())?;
        ms.push(started.elapsed().as_secs_f64() * 1e3);
        if !ok {
            return Err(format!("{url}: not answered 200"));
        }
    }
    Ok(percentiles(ms))
}

/// Loads the generated network, its inventory and fresh capacity into the server.
async fn set_up(client: &reqwest::Client, base: &str, inst: &Instance) -> Result<(), String> {
    let network = json!({"nodes": inst.nodes, "skus": inst.skus, "rate_card": inst.rate_card, "costs": inst.costs});
    send(
        client,
        reqwest::Method::PUT,
        format!("{base}/v1/network"),
        &network,
    )
    .await?;
    // The first request is a full snapshot (it zeroes what it does not name); the
    // rest add their rows.
    for (i, chunk) in inst.inventory.chunks(SETUP_ROWS_PER_REQUEST).enumerate() {
        let rows: Vec<Value> = chunk
            .iter()
            .map(|r| json!({"node": r.node, "sku": r.sku, "on_hand": r.on_hand, "safety_stock": r.safety_stock}))
            .collect();
        send(
            client,
            reqwest::Method::PUT,
            format!("{base}/v1/inventory"),
            &json!({"rows": rows, "full": i == 0}),
        )
        .await?;
    }
    send(
        client,
        reqwest::Method::POST,
        format!("{base}/v1/capacity/reset"),
        &json!({}),
    )
    .await?;
    Ok(())
}

/// Waits until every base URL after the first serves the network the first does:
/// a replica takes up a network another one stored only at its next lease round, and
/// until then refuses submits (`409`, no network) or reads them against the old one.
async fn network_everywhere(client: &reqwest::Client, bases: &[String]) -> Result<(), String> {
    let network = |base: &str| {
        let url = format!("{base}/v1/network");
        async move {
            let resp = client
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            Ok::<_, String>(status.is_success().then_some(body))
        }
    };
    let Some((first, rest)) = bases.split_first() else {
        return Ok(());
    };
    if rest.is_empty() {
        return Ok(());
    }
    let want = network(first)
        .await?
        .ok_or_else(|| format!("{first} serves no network after the set-up"))?;
    let started = Instant::now();
    for base in rest {
        while network(base).await?.as_ref() != Some(&want) {
            if started.elapsed() > NETWORK_WAIT {
                return Err(format!(
                    "{base} did not take up the network stored on {first} within {} s",
                    NETWORK_WAIT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// The orders in batches of `batch`, each id tagged with the run so that reruns
/// against one server never collide.
fn order_batches(inst: &Instance, batch: usize) -> Vec<Value> {
    let run_tag = format!("{:x}", (super::store::now() * 1e3) as u64);
    inst.orders
        .chunks(batch.max(1))
        .map(|chunk| {
            let orders: Vec<Value> = chunk
                .iter()
                .map(|o| {
                    let mut v = serde_json::to_value(o).expect("orders serialize");
                    v["id"] = format!("{run_tag}-{}", o.id).into();
                    v
                })
                .collect();
            json!({"orders": orders})
        })
        .collect()
}

/// What the submitting workers saw.
struct Sent {
    latencies: Vec<f64>,
    accepted: usize,
    failed: usize,
    /// When the last worker finished.
    last: Instant,
}

/// Submits `batches` at the run's rate from `concurrency` workers, timing each;
/// batch `k` goes to `bases[k % bases.len()]`.
async fn submit(
    client: &reqwest::Client,
    bases: &[String],
    batches: Vec<Value>,
    p: &LoadParams,
    t0: Instant,
) -> Result<Sent, String> {
    let batches = Arc::new(batches);
    let orders_urls: Arc<Vec<String>> =
        Arc::new(bases.iter().map(|b| format!("{b}/v1/orders")).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let interval = p.batch as f64 / p.rate;
    let mut workers = Vec::new();
    for _ in 0..p.concurrency.max(1) {
        let (client, batches, next, orders_urls) = (
            client.clone(),
            batches.clone(),
            next.clone(),
            orders_urls.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut accepted, mut failed) = (0usize, 0usize);
            loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(body) = batches.get(k) else { break };
                let due = t0 + Duration::from_secs_f64(k as f64 * interval);
                tokio::time::sleep_until(due.into()).await;
                let start = Instant::now();
                let url = orders_urls[k % orders_urls.len()].clone();
                match send(&client, reqwest::Method::POST, url, body).await {
                    Ok(v) => accepted += v["accepted"].as_u64().unwrap_or(0) as usize,
                    Err(e) => {
                        failed += 1;
                        tracing::warn!("{e}");
                    }
                }
                latencies.push(start.elapsed().as_secs_f64() * 1e3);
            }
            (latencies, accepted, failed, Instant::now())
        }));
    }
    let (mut latencies, mut accepted, mut failed, mut last) = (Vec::new(), 0, 0, t0);
    for w in workers {
        let (l, a, f, end) = w.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        accepted += a;
        failed += f;
        last = last.max(end);
    }
    Ok(Sent {
        latencies,
        accepted,
        failed,
        last,
    })
}

/// Waits until the server has no pending order (at most 300 s).
async fn wait_drained(client: &reqwest::Client, base: &str) -> Result<(), String> {
    let drain_start = Instant::now();
    loop {
        let text = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let pending = text
            .lines()
            .find_map(|l| l.strip_prefix("domopt_pending_orders "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if pending == 0 || drain_start.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The windows the server closed since `t0_unix`.
async fn windows_since(
    client: &reqwest::Client,
    base: &str,
    t0_unix: f64,
) -> Result<Vec<Value>, String> {
    let resp = client
        .get(format!("{base}/v1/windows?limit=10000"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let windows: Value = resp.json().await.map_err(|e| e.to_string())?;
    Ok(windows["windows"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|w| w["closed_at"].as_f64().unwrap_or(0.0) >= t0_unix)
                .cloned()
                .collect()
        })
        .unwrap_or_default())
}
