//! Several replicas on one PostgreSQL database, through the real binary: the leader
//! killed with SIGKILL again and again and one stalled past its lease (SIGSTOP) while
//! orders keep arriving at every replica. Afterwards every accepted order is decided
//! exactly once, no stock row or node is over-committed, the decisions pass the plan
//! checker against the network's stock and capacity, and windows' fencing tokens only
//! grow. Needs a PostgreSQL server (see `common::storage`).

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::server::*;
use domopt::check::check;
use domopt::domain::{Instance, InventoryRow, PLAN_FORMAT, Plan, PlanStatus};
use domopt::generate::{GenParams, generate};
use domopt::service::store::Decision;
use serde_json::{Value, json};

/// Lease and window of the replicas, in seconds: short, so that five takeovers fit.
const LEASE: &str = "1";
const WINDOW: &str = "0.3";

/// A replica of the cluster and the id it reports in `/v1/cluster`.
struct Replica {
    server: Server,
    id: String,
    logs: Arc<Mutex<String>>,
}

async fn start_replica(dir: &Path, url: &str) -> Replica {
    let args = [
        "--database",
        url,
        "--lease",
        LEASE,
        "--window",
        WINDOW,
        "--budget",
        "0.3",
    ];
    let (server, logs) = Server::start_logged(dir, &args, &[]);
    let (st, c) = get(&server, "/v1/cluster").await;
    assert_eq!(st, 200, "{c}");
    let id = c["replica"].as_str().unwrap().to_string();
    Replica { server, id, logs }
}

/// The lease's holder and token as `replica` reports them, once it has one.
async fn lease_of(replica: &Replica) -> Option<(String, i64)> {
    let (st, c) = get(&replica.server, "/v1/cluster").await;
    if st != 200 {
        return None;
    }
    let lease = c["leases"].as_array()?.first()?.clone();
    (lease["expires_in"].as_f64()? > 0.0).then(|| {
        (
            lease["holder"].as_str().unwrap().to_string(),
            lease["token"].as_i64().unwrap(),
        )
    })
}

/// Waits until a replica other than `old` holds the lease with a token above
/// `token`; the time it took.
async fn takeover(replicas: &[Replica], old: &str, token: i64) -> (Duration, i64) {
    let start = Instant::now();
    loop {
        for r in replicas.iter().filter(|r| r.id != old) {
            if let Some((holder, t)) = lease_of(r).await
                && holder != old
                && t > token
            {
                return (start.elapsed(), t);
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no replica took the lease over from {old}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The replica holding the lease now.
async fn leader(replicas: &[Replica]) -> (usize, i64) {
    let start = Instant::now();
    loop {
        if let Some((holder, token)) = lease_of(&replicas[0]).await
            && let Some(i) = replicas.iter().position(|r| r.id == holder)
        {
            return (i, token);
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends the orders in batches of five, round-robin over the replicas whose URLs
/// `urls` holds, until `stop`; the ids answered 202.
async fn stream(
    orders: Vec<Value>,
    urls: Arc<Mutex<Vec<String>>>,
    stop: Arc<Mutex<bool>>,
) -> Vec<String> {
    let mut accepted = Vec::new();
    let client = reqwest::Client::new();
    for (i, batch) in orders.chunks(5).enumerate() {
        if *stop.lock().unwrap() {
            break;
        }
        let url = {
            let u = urls.lock().unwrap();
            u[i % u.len()].clone()
        };
        let body = json!({"orders": batch}).to_string();
        // A replica killed mid-request answers nothing: that batch was not accepted.
        let sent = client
            .post(format!("{url}/v1/orders"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        if sent.is_ok_and(|r| r.status().as_u16() == 202) {
            accepted.extend(batch.iter().map(|o| o["id"].as_str().unwrap().to_string()));
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    accepted
}

/// Runs `f` with a connection to `url`, on a thread of its own (the driver runs a
/// runtime of its own).
fn with_db<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(&mut postgres::Client) -> T + Send + 'static,
) -> T {
    let url = url.to_string();
    std::thread::spawn(move || f(&mut postgres::Client::connect(&url, postgres::NoTls).unwrap()))
        .join()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leaders_killed_and_stalled_lose_no_order_and_oversell_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::storage::database_for(dir.path());
    let mut inst = generate(&GenParams {
        orders: 6000,
        nodes: 12,
        skus: 40,
        seed: 11,
        ..GenParams::default()
    });
    for r in &mut inst.inventory {
        r.on_hand -= r.reserved;
        r.reserved = 0;
    }
    let mut replicas = Vec::new();
    for i in 0..3 {
        replicas.push(start_replica(&dir.path().join(format!("r{i}")), &url).await);
    }
    load(&replicas[0].server, &inst).await;

    let urls = Arc::new(Mutex::new(
        replicas
            .iter()
            .map(|r| r.server.url.clone())
            .collect::<Vec<_>>(),
    ));
    let stop = Arc::new(Mutex::new(false));
    let orders: Vec<Value> = inst
        .orders
        .iter()
        .map(|o| serde_json::to_value(o).unwrap())
        .collect();
    let sender = tokio::spawn(stream(orders, urls.clone(), stop.clone()));

    let mut takeovers = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..5 {
        // A random moment: 0.2–1.4 s into the leader's term.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        tokio::time::sleep(Duration::from_millis(200 + rng % 1200)).await;
        let (i, token) = leader(&replicas).await;
        let dead = replicas.remove(i);
        let dead_id = dead.id.clone();
        let mut server = dead.server;
        urls.lock().unwrap().retain(|u| *u != server.url);
        server.kill();
        let (took, new_token) = takeover(&replicas, &dead_id, token).await;
        takeovers.push(took);
        eprintln!("kill {round}: token {token} -> {new_token} after {took:?}");
        let fresh = start_replica(&dir.path().join(format!("k{round}")), &url).await;
        urls.lock().unwrap().push(fresh.server.url.clone());
        replicas.push(fresh);
    }

    // The fencing case: the leader stalls past its lease, another takes over, and the
    // stalled one wakes up unaware.
    let (i, token) = leader(&replicas).await;
    let stalled = replicas[i].server.child.id();
    signal(stalled, "STOP");
    let (took, new_token) = takeover(&replicas, &replicas[i].id.clone(), token).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    signal(stalled, "CONT");
    eprintln!("stall: token {token} -> {new_token} after {took:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;

    *stop.lock().unwrap() = true;
    let accepted = sender.await.unwrap();
    assert!(
        accepted.len() > 500,
        "only {} orders accepted",
        accepted.len()
    );
    drain_queue(&url).await;
    let fenced = replicas[i].logs.lock().unwrap().contains("fenced");
    eprintln!(
        "{} orders accepted; takeovers {takeovers:?}; the stalled leader's commit {}",
        accepted.len(),
        if fenced {
            "was refused"
        } else {
            "did not come (it was between windows)"
        }
    );
    assert_ledger(&url, &inst, &accepted);
}

/// Loads the instance's network and stock through `s`.
async fn load(s: &Server, inst: &Instance) {
    let v = serde_json::to_value(inst).unwrap();
    let rows: Vec<Value> = inst
        .inventory
        .iter()
        .map(|r| json!({"node": r.node, "sku": r.sku, "on_hand": r.on_hand, "safety_stock": r.safety_stock}))
        .collect();
    let network = json!({"nodes": v["nodes"], "skus": v["skus"], "rate_card": v["rate_card"], "costs": v["costs"]});
    let (st, body) = send(s, "PUT", "/v1/network", &network).await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = send(
        s,
        "PUT",
        "/v1/inventory",
        &json!({"rows": rows, "full": true}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

/// Waits until no order waits in the database's queue.
async fn drain_queue(url: &str) {
    let start = Instant::now();
    loop {
        let n: i64 = with_db(url, |c| {
            c.query_one("SELECT COUNT(*) FROM queue", &[])
                .unwrap()
                .get(0)
        });
        if n == 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{n} orders never decided"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The invariants after the run, read from the database itself.
fn assert_ledger(url: &str, inst: &Instance, accepted: &[String]) {
    let (decisions, inventory, windows) = with_db(url, |c| {
        let decisions: HashMap<String, (String, Option<String>)> = c
            .query("SELECT id, status, decision FROM decisions", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect();
        let inventory: Vec<(String, String, i64, i64, i64)> = c
            .query(
                "SELECT node, sku, on_hand, reserved, safety_stock FROM inventory",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        let windows: Vec<(i64, i64, String)> = c
            .query("SELECT id, token, replica FROM windows ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        (decisions, inventory, windows)
    });
    // Every accepted order is decided (one row per id: decided at most once).
    for id in accepted {
        assert!(
            decisions.contains_key(id),
            "accepted order {id} was never decided"
        );
    }
    // Tokens only grow with window numbers, and one token is one replica's.
    let mut holder_of: HashMap<i64, &str> = HashMap::new();
    for w in windows.windows(2) {
        assert!(
            w[0].1 <= w[1].1,
            "window {} (token {}) after window {} (token {})",
            w[1].0,
            w[1].1,
            w[0].0,
            w[0].1
        );
    }
    for (id, token, replica) in &windows {
        let h = holder_of.entry(*token).or_insert(replica);
        assert_eq!(
            h, replica,
            "window {id}: token {token} used by two replicas"
        );
    }
    // Reservations equal what decisions ship and never pass the sellable stock.
    let mut shipped: HashMap<(String, String), i64> = HashMap::new();
    let mut plan = Plan {
        format: PLAN_FORMAT.into(),
        instance: inst.name.clone(),
        solver: "service".into(),
        status: PlanStatus::Feasible,
        objective: 0.0,
        lower_bound: None,
        solve_seconds: 0.0,
        shipments: Vec::new(),
        unfilled: Vec::new(),
        stats: None,
    };
    let mut decided = Vec::new();
    for (id, (status, text)) in &decisions {
        let Some(d) = text
            .as_deref()
            .map(|t| serde_json::from_str::<Decision>(t).unwrap())
        else {
            panic!("order {id} is {status} without a decision");
        };
        decided.push(id.clone());
        for s in &d.shipments {
            for l in &s.lines {
                *shipped.entry((s.node.clone(), l.sku.clone())).or_default() += i64::from(l.qty);
            }
        }
        plan.shipments.extend(d.shipments);
        plan.unfilled
            .extend(d.unfilled.iter().map(|u| domopt::domain::Unfilled {
                order: u.order.clone(),
                sku: u.sku.clone(),
                qty: u.qty,
                reason: serde_json::from_value(json!(u.reason)).unwrap(),
            }));
    }
    for (node, sku, on_hand, reserved, safety) in &inventory {
        let key = (node.clone(), sku.clone());
        assert_eq!(
            *reserved,
            shipped.get(&key).copied().unwrap_or(0),
            "{node} {sku}"
        );
        assert!(
            reserved + safety <= *on_hand || *reserved == 0,
            "{node} {sku} oversold"
        );
    }
    // The decisions, taken together, are a valid plan of the decided orders against the
    // network's whole stock and capacity.
    let mut whole = inst.clone();
    let decided: std::collections::HashSet<String> = decided.into_iter().collect();
    whole.orders.retain(|o| decided.contains(&o.id));
    whole.inventory = inst
        .inventory
        .iter()
        .map(|r| InventoryRow {
            reserved: 0,
            ..r.clone()
        })
        .collect();
    plan.objective = check(&whole, &plan).summary.objective;
    let report = check(&whole, &plan);
    assert!(
        report.is_valid(),
        "{:?}",
        report.violations.iter().take(5).collect::<Vec<_>>()
    );
}

/// The fence itself, on the storage: a leader that read and solved a window, then
/// stalled past its lease while another replica took the lease and committed, has
/// its commit refused and writes nothing.
#[test]
fn a_stalled_leaders_commit_is_refused_once_another_holds_the_lease() {
    use domopt::service::store::postgres::PgStorage;
    use domopt::service::store::{Fence, NetworkConfig, Storage, StoreError, WindowRecord};
    let dir = tempfile::tempdir().unwrap();
    let url = common::storage::database_for(dir.path());
    let inst = common::example();
    std::thread::spawn(move || {
        let db = PgStorage::connect(&url).unwrap();
        let network = NetworkConfig {
            nodes: inst.nodes.clone(),
            skus: inst.skus.clone(),
            rate_card: inst.rate_card.clone(),
            costs: inst.costs.clone(),
        };
        db.set_network(&network).unwrap();
        db.set_inventory(&inst.inventory, true).unwrap();
        db.submit(&inst.orders).unwrap();
        let ttl = Duration::from_millis(300);
        let old = db.claim_lease("default", "a", ttl).unwrap().unwrap();
        assert_eq!(
            db.claim_lease("default", "b", ttl).unwrap(),
            None,
            "a still holds it"
        );
        let taken = db.pending(100).unwrap();
        let skus: Vec<&str> = inst.skus.iter().map(|s| s.id.as_str()).collect();
        let win = domopt::service::window_instance(
            "w".into(),
            &network,
            db.inventory_of_skus(&skus).unwrap(),
            &db.capacity_used().unwrap(),
            taken.iter().map(|p| p.order.clone()).collect(),
        );
        let plan = domopt::solve(&win, &Default::default());
        common::assert_valid(&win, &plan);
        // a stalls; its lease runs out and b takes it with the next token.
        std::thread::sleep(ttl * 2);
        let new = db.claim_lease("default", "b", ttl * 100).unwrap().unwrap();
        assert_eq!(new, old + 1);
        let window = |id| WindowRecord {
            id,
            opened_at: 0.0,
            closed_at: 0.0,
            decided_at: 0.0,
            kpis: json!({}),
        };
        let fence = |replica: &str, token| Fence {
            pool: "default".into(),
            replica: replica.into(),
            token,
        };
        let refused = db.commit_window(&fence("a", old), &window(1), &network, &taken, &win, &plan);
        assert!(matches!(refused, Err(StoreError::Fenced(_))), "{refused:?}");
        assert!(db.windows(10).unwrap().is_empty());
        assert_eq!(
            db.pending_queue().unwrap().0,
            inst.orders.len(),
            "nothing was decided"
        );
        // a renewing now cannot take the lease back from b either.
        assert_eq!(db.claim_lease("default", "a", ttl).unwrap(), None);
        let done = db
            .commit_window(&fence("b", new), &window(1), &network, &taken, &win, &plan)
            .unwrap();
        assert_eq!(done.committed, inst.orders.len());
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

/// Clients on three replicas race for the last units of one sku, and cancels race
/// with new orders: exactly the sellable units are allocated, and reserved equals
/// allocated, within on_hand − safety stock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_on_three_replicas_racing_for_the_last_units_get_exactly_the_stock() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::storage::database_for(dir.path());
    let mut replicas = Vec::new();
    for i in 0..3 {
        replicas.push(start_replica(&dir.path().join(format!("r{i}")), &url).await);
    }
    let (_, v) = example();
    let mut nodes = v["nodes"].clone();
    for n in nodes.as_array_mut().unwrap() {
        n["capacity_shipments"] = Value::Null;
        n["capacity_units"] = Value::Null;
    }
    let network = json!({"nodes": nodes, "skus": v["skus"], "rate_card": v["rate_card"], "costs": v["costs"]});
    let first = &replicas[0].server;
    assert_eq!(send(first, "PUT", "/v1/network", &network).await.0, 200);
    let rows = json!({"full": true, "rows": [
        {"node": "DC-001-Oakland-CA", "sku": "SKU-00009", "on_hand": 12, "safety_stock": 2},
        {"node": "3PL-001-SanAntonio-TX", "sku": "SKU-00009", "on_hand": 5, "safety_stock": 0}]});
    assert_eq!(send(first, "PUT", "/v1/inventory", &rows).await.0, 200);
    let sellable = 15;
    let order = |id: String| {
        json!({"orders": [{"id": id, "ship_to": {"lat": 37.80, "lon": -122.27}, "promise_days": 9,
               "lines": [{"sku": "SKU-00009", "qty": 1}]}]})
    };
    let urls: Vec<String> = replicas.iter().map(|r| r.server.url.clone()).collect();
    let burst = |prefix: &'static str, n: usize| {
        let urls = urls.clone();
        (0..n)
            .map(|i| {
                let (url, body) = (urls[i % 3].clone(), order(format!("{prefix}-{i}")));
                tokio::spawn(async move {
                    call("POST", format!("{url}/v1/orders"), Some(body.to_string()))
                        .await
                        .0
                })
            })
            .collect::<Vec<_>>()
    };
    for h in burst("RACE", 40) {
        assert_eq!(h.await.unwrap(), 202);
    }
    drain_queue(&url).await;
    let allocated = |url: String| {
        with_db(&url, |c| {
            c.query(
                "SELECT id FROM decisions WHERE status = 'allocated' ORDER BY id",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
        })
    };
    let won = allocated(url.clone());
    assert_eq!(won.len(), sellable, "{won:?}");
    // Three winners cancel through three replicas while twenty more orders arrive.
    let cancels: Vec<_> = won[..3]
        .iter()
        .zip(&urls)
        .map(|(id, u)| {
            let target = format!("{u}/v1/orders/{id}/cancel");
            tokio::spawn(async move { call("POST", target, Some("{}".into())).await.0 })
        })
        .collect();
    let late = burst("LATE", 20);
    for h in cancels.into_iter().chain(late) {
        let st = h.await.unwrap();
        assert!(st == 200 || st == 202, "{st}");
    }
    drain_queue(&url).await;
    // The cancelled units went to later orders: still exactly the sellable units.
    assert_eq!(allocated(url.clone()).len(), sellable);
    let rows = with_db(&url, |c| {
        c.query(
            "SELECT on_hand, reserved, safety_stock FROM inventory WHERE sku = 'SKU-00009'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1), r.get::<_, i64>(2)))
        .collect::<Vec<_>>()
    });
    let reserved: i64 = rows.iter().map(|r| r.1).sum();
    assert_eq!(reserved, sellable as i64, "{rows:?}");
    assert!(
        rows.iter()
            .all(|&(on_hand, reserved, safety)| reserved <= on_hand - safety),
        "{rows:?}"
    );
}
