//! `domopt serve`: the order allocation service.
//!
//! Orders arrive over HTTP ([`api`]) and are stored as *pending* in the embedded
//! database ([`store`]) before the client hears "accepted". A window loop closes a
//! window when its length has passed or it holds `max_orders` orders, solves it on a
//! bounded blocking pool (never on the async runtime) with the MIP and its greedy
//! fallback, checks the plan with [`crate::check`], and commits the reservations in one
//! transaction. Pending orders survive a restart and join the next window.

pub mod api;
pub mod auth;
pub mod bodies;
pub mod cluster;
pub mod error;
pub mod extract;
pub mod fields;
pub mod health;
pub mod load;
pub mod metrics;
pub mod network;
pub mod ops;
pub mod plan;
pub mod promise;
pub mod server;
pub mod snapshot;
pub mod store;
pub mod work;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};

use crate::check::check;
use crate::domain::{INSTANCE_FORMAT, Instance, InventoryRow, Node, PLAN_FORMAT, Plan, PlanStatus};
use crate::solve::{SolveOptions, solve, solve_keeping_leftovers};
use store::{DbResult, NetworkConfig, Storage, WindowRecord, now};

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite databases (used when `database` is `None`).
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (`postgres://USER@HOST:PORT/DB`) shared by every replica;
    /// `None` keeps the state in SQLite files in `data_dir`, for one process.
    pub database: Option<String>,
    /// How long a leader's lease lasts unless renewed (renewed every third of it).
    pub lease: Duration,
    /// Longest a window stays open.
    pub window: Duration,
    /// A window closes early when it holds this many orders.
    pub max_orders: usize,
    /// Time budget of each window's solve.
    pub budget: Duration,
    /// Solver for windows: `mip` or a greedy policy.
    pub solver: String,
    /// Threads HiGHS may use per solve.
    pub solver_threads: u32,
    /// Window solves that may run at once.
    pub solve_slots: usize,
    /// `/v1/plan` solves that may run at once (a pool of their own).
    pub plan_slots: usize,
    /// `/v1/plan` requests that may wait for a slot; more are answered `429`.
    pub plan_queue: usize,
    /// Largest `time_limit` of `/v1/plan`, in seconds.
    pub max_plan_seconds: f64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// A request's line and headers must arrive within this; also the idle timeout
    /// of keep-alive connections.
    pub header_timeout: Duration,
    /// A request's body must arrive within this (`408 E4080`).
    pub body_timeout: Duration,
    /// Open connections at most; one more is answered `503 E5030`.
    pub max_connections: usize,
    /// The API keys requests must carry; `None` serves without authentication
    /// (allowed on a loopback address only, unless `insecure_no_auth`).
    pub api_keys: Option<Arc<auth::KeyTable>>,
    /// The file the keys were read from; SIGHUP reads it again.
    pub api_keys_file: Option<PathBuf>,
    /// `/metrics` needs a key (role reader) when keys are configured.
    pub metrics_auth: bool,
    /// Serve without keys on a non-loopback address.
    pub insecure_no_auth: bool,
    /// Pending orders at most: a submit that would go beyond is answered `429 E4291`.
    pub max_pending: usize,
    /// `/readyz` answers 503 when the data directory's disk has less free space.
    pub min_free_bytes: u64,
    /// Largest streamed inventory snapshot (`application/x-ndjson`), in bytes.
    pub max_snapshot_bytes: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            data_dir: PathBuf::from("domopt-data"),
            database: None,
            lease: Duration::from_secs(5),
            window: Duration::from_secs(5),
            max_orders: 25_000,
            budget: Duration::from_secs(2),
            solver: "mip".into(),
            solver_threads: 1,
            solve_slots: 1,
            plan_slots: 1,
            plan_queue: 4,
            max_plan_seconds: 60.0,
            max_body_bytes: 32 << 20,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            max_connections: 1024,
            api_keys: None,
            api_keys_file: None,
            metrics_auth: false,
            insecure_no_auth: false,
            max_pending: 250_000,
            min_free_bytes: 64 << 20,
            max_snapshot_bytes: 4 << 30,
        }
    }
}

/// State shared by the handlers and the window loop.
pub struct AppState {
    /// The configuration.
    pub config: ServiceConfig,
    /// The durable state (used only from blocking threads).
    pub storage: Box<dyn Storage>,
    /// This replica's identity and its lease on deciding windows.
    pub cluster: cluster::Membership,
    /// The network (as stored in the ledger), indexed for checking requests.
    pub network: RwLock<Option<Arc<network::LoadedNetwork>>>,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Outcomes `/readyz` weighs.
    pub readiness: health::Readiness,
    /// The last pending count read for submits (see [`AppState::pending_for_submit`]).
    pending_seen: Mutex<PendingSeen>,
    /// The API keys in force (the configured ones until SIGHUP reloads the file).
    pub keys: RwLock<Option<Arc<auth::KeyTable>>>,
    /// Wakes the window loop (window full, or shutting down).
    pub wake: Notify,
    /// Bounded pool of window solve slots.
    pub solve_pool: Semaphore,
    /// `/v1/plan` requests admitted (running or waiting): slots plus queue places.
    pub plan_admission: Semaphore,
    /// Bounded pool of `/v1/plan` solve slots.
    pub plan_pool: Semaphore,
    /// Raised at shutdown to stop running `/v1/plan` solves.
    pub plan_cancel: Arc<AtomicBool>,
    /// Turns true when shutdown begins (the listener, connections and plans watch it).
    pub stop: tokio::sync::watch::Sender<bool>,
    /// Set when shutdown begins.
    pub stopping: AtomicBool,
    /// The data directory's lock file, held (locked) for the process's lifetime
    /// (SQLite only: PostgreSQL replicas share their database by design).
    _lock: Option<std::fs::File>,
}

/// How long a pending count read for submits is reused.
pub const PENDING_FRESH: Duration = Duration::from_millis(250);

/// A pending count read from the database, when, and the orders accepted since.
#[derive(Debug, Default)]
struct PendingSeen {
    at: Option<Instant>,
    count: usize,
    accepted_since: usize,
}

/// Why the service refused to start.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// Takes the exclusive lock on `dir/lock` so that a second server on the same data
/// directory refuses to start instead of failing writes with "database is locked".
/// The operating system releases the lock when the process exits, even when killed.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, StartError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another domopt serve is using the data directory {} (it holds {}); stop it first or give this one another --data",
            dir.display(),
            path.display()
        )
        .into()),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(format!("cannot lock {}: {e}", path.display()).into())
        }
    }
}

impl AppState {
    /// Opens the storage (locking the data directory for SQLite), checks it and
    /// restores the cached network.
    pub fn open(config: ServiceConfig) -> Result<Arc<AppState>, StartError> {
        let (storage, lock): (Box<dyn Storage>, _) = match &config.database {
            Some(url) => (Box::new(store::postgres::PgStorage::connect(url)?), None),
            None => {
                let lock = lock_data_dir(&config.data_dir)?;
                let storage = store::sqlite::SqliteStorage::open(&config.data_dir)?;
                (Box::new(storage), Some(lock))
            }
        };
        storage.prepare()?;
        let network = storage
            .network()?
            .map(|n| Arc::new(network::LoadedNetwork::new(n)));
        let network_version = storage.network_version()?;
        Ok(Arc::new(AppState {
            keys: RwLock::new(config.api_keys.clone()),
            pending_seen: Mutex::new(PendingSeen::default()),
            solve_pool: Semaphore::new(config.solve_slots.max(1)),
            plan_admission: Semaphore::new(config.plan_slots.max(1) + config.plan_queue),
            plan_pool: Semaphore::new(config.plan_slots.max(1)),
            plan_cancel: Arc::new(AtomicBool::new(false)),
            stop: tokio::sync::watch::channel(false).0,
            cluster: cluster::Membership::new(network_version, lock.is_some()),
            config,
            storage,
            network: RwLock::new(network),
            metrics: metrics::Metrics::default(),
            readiness: health::Readiness::default(),
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
            _lock: lock,
        }))
    }

    /// The storage.
    pub fn db(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    /// Orders waiting for a window, counted in the database (there is no counter
    /// to drift from it). Blocking: call from a blocking thread.
    pub fn pending_count(&self) -> DbResult<usize> {
        Ok(self.pending_queue()?.0)
    }

    /// Orders pending, as submits see it: a database count at most [`PENDING_FRESH`]
    /// old plus the orders accepted since. Orders decided since are only subtracted at
    /// the next count, so it errs high, on the safe side of `--max-pending`; it is read
    /// again from the database, never kept as a running counter, so it cannot drift.
    /// Counting on every submit cost a scan of the whole backlog per request (submit
    /// p99 156 ms at 5,000 orders/s against 8.5 ms). Blocking.
    pub fn pending_for_submit(&self) -> DbResult<usize> {
        let fresh = {
            let seen = self.pending_seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.at
                .filter(|t| t.elapsed() < PENDING_FRESH)
                .map(|_| seen.count + seen.accepted_since)
        };
        if let Some(n) = fresh {
            return Ok(n);
        }
        let count = self.pending_count()?;
        let mut seen = self.pending_seen.lock().unwrap_or_else(|e| e.into_inner());
        *seen = PendingSeen {
            at: Some(Instant::now()),
            count,
            accepted_since: 0,
        };
        Ok(count)
    }

    /// Tells [`AppState::pending_for_submit`] that `n` more orders were accepted.
    pub fn note_accepted(&self, n: usize) {
        self.pending_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .accepted_since += n;
    }

    /// Orders waiting and when the oldest arrived ([`Storage::pending_queue`]).
    /// Blocking: call from a blocking thread.
    pub fn pending_queue(&self) -> DbResult<(usize, Option<f64>)> {
        self.db().pending_queue()
    }
}

/// [`AppState::pending_count`] from the async runtime; `None` when the database fails
/// (logged).
pub async fn pending_now(state: &Arc<AppState>) -> Option<usize> {
    let s = state.clone();
    match tokio::task::spawn_blocking(move || s.pending_count()).await {
        Ok(Ok(n)) => Some(n),
        Ok(Err(e)) => {
            tracing::error!("counting pending orders failed: {e}");
            None
        }
        Err(e) => {
            tracing::error!("counting pending orders panicked: {e}");
            None
        }
    }
}

/// Runs the service until Ctrl-C or SIGTERM; on shutdown the open window is closed
/// and decided before the process exits. `on_listen` receives the bound address.
pub async fn serve(
    config: ServiceConfig,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), StartError> {
    auth::check_bind(
        config.listen,
        config.api_keys.is_some(),
        config.insecure_no_auth,
    )?;
    let files = server::raise_open_files_limit();
    let mut config = config;
    if let Some(files) = files {
        // Keep descriptors for the databases, the solver and logs.
        let most = usize::try_from(files.saturating_sub(64).max(1)).unwrap_or(usize::MAX);
        if config.max_connections > most {
            tracing::warn!(
                open_files = files,
                "--max-connections {} lowered to {most} to fit the open-files limit",
                config.max_connections
            );
            config.max_connections = most;
        }
    }
    // Opening may block (a PostgreSQL connection, migrations): off the runtime.
    let opening = config.clone();
    let state = tokio::task::spawn_blocking(move || AppState::open(opening)).await??;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    // Signal handlers first: an interrupt right after the address is announced must
    // shut down cleanly, not kill the process.
    let signals = ShutdownSignals::install()?;
    let address = listener.local_addr()?;
    *state
        .cluster
        .address
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = address.to_string();
    on_listen(address);
    let leases = tokio::spawn(cluster::lease_loop(state.clone()));
    let windows = tokio::spawn(window_loop(state.clone()));
    #[cfg(unix)]
    tokio::spawn(reload_keys_on_hangup(state.clone()));
    let app = api::router(state.clone());
    let shutdown_state = state.clone();
    tokio::spawn(async move {
        signals.recv().await;
        tracing::info!("shutting down: closing the open window");
        shutdown_state.stopping.store(true, Ordering::SeqCst);
        shutdown_state.plan_cancel.store(true, Ordering::SeqCst);
        shutdown_state.wake.notify_one();
        shutdown_state.stop.send_replace(true);
    });
    server::run(listener, app, state.clone(), state.stop.subscribe()).await;
    windows.await?;
    leases.await?;
    cluster::release(&state).await;
    Ok(())
}

/// Reads the API key file again at each SIGHUP, so keys are added, revoked or rotated
/// without a restart; a file that no longer reads keeps the keys in force (logged).
#[cfg(unix)]
async fn reload_keys_on_hangup(state: Arc<AppState>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Some(path) = state.config.api_keys_file.clone() else {
        return;
    };
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP: API keys reload only at restart");
        return;
    };
    while hangups.recv().await.is_some() {
        match auth::KeyTable::load(&path) {
            Ok(table) => {
                *state.keys.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(table));
                tracing::info!(file = %path.display(), "API keys reloaded");
            }
            Err(e) => tracing::error!("API keys not reloaded, the current ones stay: {e}"),
        }
    }
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), listened for from the moment of
/// [`ShutdownSignals::install`].
struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> std::io::Result<ShutdownSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignals {})
    }

    /// Waits for the first of the signals.
    async fn recv(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Closes windows by length or size until shutdown, deciding each in turn (windows
/// are decided one after another so each sees the previous one's reservations).
async fn window_loop(state: Arc<AppState>) {
    let max = state.config.max_orders;
    // Windows are timed on the monotonic clock, so a step of the wall clock neither
    // stalls nor rushes them; wall time only labels them (opened_at, closed_at).
    let mut opened = (Instant::now(), now());
    loop {
        let deadline = opened.0 + state.config.window;
        if pending_now(&state).await.is_none_or(|n| n < max) {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline.into()) => {},
                _ = state.wake.notified() => {},
            }
        }
        let stopping = state.stopping.load(Ordering::SeqCst);
        let pending = pending_now(&state).await;
        let full = pending.is_some_and(|n| n >= max);
        if !stopping && !full && Instant::now() < deadline {
            continue;
        }
        let closed = (Instant::now(), now());
        // A failed count still tries the window: deciding reads the queue itself.
        // Only the leader decides; the others keep taking orders.
        if pending != Some(0) && state.cluster.is_leader() {
            let permit = state.solve_pool.acquire().await.expect("pool never closes");
            let s = state.clone();
            let labels = (opened.1, closed.1);
            let result =
                tokio::task::spawn_blocking(move || decide_window(&s, labels.0, labels.1)).await;
            drop(permit);
            let failure = match result {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("window failed: {e}")),
                Err(e) => Some(format!("window task panicked: {e}")),
            };
            state.readiness.window_done(failure.is_none());
            if let Some(e) = failure {
                tracing::error!("{e}");
                state
                    .metrics
                    .window_failures
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        opened = closed;
        if stopping {
            break;
        }
    }
}

/// Builds the instance of one window from the network, the inventory rows of the skus
/// its orders name, the capacity left, and the oldest pending orders. The instance
/// holds only the skus its orders name, so its size follows the window, not the
/// catalog. Orders that name skus or pickup nodes the network no longer has are left
/// out (the commit decides them unfilled, see [`Storage::commit_window`]).
pub fn window_instance(
    name: String,
    network: &NetworkConfig,
    inventory: Vec<InventoryRow>,
    used: &std::collections::HashMap<String, (u64, u64)>,
    mut orders: Vec<crate::domain::Order>,
) -> Instance {
    use std::collections::HashSet;
    let nodes: Vec<Node> = network
        .nodes
        .iter()
        .map(|n| {
            let (s, u) = used.get(&n.id).copied().unwrap_or((0, 0));
            let left =
                |cap: Option<u32>, used: u64| cap.map(|c| u64::from(c).saturating_sub(used) as u32);
            Node {
                capacity_shipments: left(n.capacity_shipments, s),
                capacity_units: left(n.capacity_units, u),
                ..n.clone()
            }
        })
        .collect();
    let node_ids: HashSet<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    let named: HashSet<&str> = orders
        .iter()
        .flat_map(|o| o.lines.iter().map(|l| l.sku.as_str()))
        .collect();
    let skus: Vec<crate::domain::Sku> = network
        .skus
        .iter()
        .filter(|s| named.contains(s.id.as_str()))
        .cloned()
        .collect();
    let sku_ids: HashSet<String> = skus.iter().map(|s| s.id.clone()).collect();
    orders.retain(|o| {
        let ok = o.lines.iter().all(|l| sku_ids.contains(&l.sku))
            && o.pickup_node
                .as_deref()
                .is_none_or(|n| node_ids.contains(n));
        if !ok {
            tracing::warn!(order = %o.id, "order names a sku or node the network no longer has; it is decided unfilled");
        }
        ok
    });
    for o in &mut orders {
        o.exclude_nodes.retain(|n| node_ids.contains(n.as_str()));
    }
    let inventory = inventory
        .into_iter()
        .filter(|r| node_ids.contains(r.node.as_str()) && sku_ids.contains(&r.sku))
        .collect();
    Instance {
        format: INSTANCE_FORMAT.into(),
        name,
        nodes,
        skus,
        inventory,
        rate_card: network.rate_card.clone(),
        costs: network.costs.clone(),
        orders,
    }
}

/// Decides a window whose every order names a sku or pickup node the network no longer
/// has: they leave the queue `unfilled` without a solve, and no window is written.
fn decide_stranded(
    state: &AppState,
    fence: &store::Fence,
    network: &NetworkConfig,
    taken: &[store::PendingOrder],
    instance: &Instance,
) -> Result<(), String> {
    let none = Plan {
        format: PLAN_FORMAT.into(),
        instance: instance.name.clone(),
        solver: "none".into(),
        status: PlanStatus::Optimal,
        objective: 0.0,
        lower_bound: None,
        solve_seconds: 0.0,
        shipments: Vec::new(),
        unfilled: Vec::new(),
        stats: None,
    };
    let window = WindowRecord {
        id: 0,
        opened_at: 0.0,
        closed_at: 0.0,
        decided_at: 0.0,
        kpis: serde_json::Value::Null,
    };
    let stranded = state
        .db()
        .commit_window(fence, &window, network, taken, instance, &none)
        .map_err(|e| e.to_string())?
        .committed;
    state
        .metrics
        .orders_decided
        .fetch_add(stranded as u64, Ordering::Relaxed);
    tracing::warn!(
        orders = stranded,
        "orders naming a sku or pickup node the network no longer has left the queue unfilled"
    );
    Ok(())
}

/// Decides one window: solve, check, commit. Runs on a blocking thread.
fn decide_window(state: &AppState, opened: f64, closed: f64) -> Result<(), String> {
    let err = |e: store::DbError| e.to_string();
    let read_started = std::time::Instant::now();
    cluster::refresh_network(state).map_err(err)?;
    let Some(loaded) = state
        .network
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
    else {
        return Ok(());
    };
    let network = &loaded.config;
    let Some(fence) = state.cluster.fence() else {
        return Ok(());
    };
    let (taken, instance, window_id) = {
        let db = state.db();
        let taken = db.pending(state.config.max_orders).map_err(err)?;
        if taken.is_empty() {
            return Ok(());
        }
        let orders = taken.iter().map(|p| p.order.clone()).collect();
        let skus: std::collections::BTreeSet<&str> = taken
            .iter()
            .flat_map(|p| p.order.lines.iter().map(|l| l.sku.as_str()))
            .collect();
        let skus: Vec<&str> = skus.into_iter().collect();
        let inventory = db.inventory_of_skus(&skus).map_err(err)?;
        let used = db.capacity_used().map_err(err)?;
        let id = db.next_window_id().map_err(err)?;
        let instance = window_instance(format!("window-{id}"), network, inventory, &used, orders);
        (taken, instance, id)
    };
    if instance.orders.is_empty() {
        return decide_stranded(state, &fence, network, &taken, &instance);
    }
    let read_seconds = read_started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    // The budget covers reading, solving, checking and committing the window: the
    // solver gets what is left after the read and the check + commit this window's
    // orders would take at the last window's rate (commits grow with the orders).
    let per_order = f64::from_bits(state.metrics.last_overhead_bits.load(Ordering::Relaxed));
    let reserve = per_order * taken.len() as f64;
    let solve_budget = (state.config.budget.as_secs_f64() - read_seconds - reserve)
        .max(state.config.budget.as_secs_f64() * 0.25);
    let opts = SolveOptions {
        time_limit: Duration::from_secs_f64(solve_budget),
        threads: state.config.solver_threads,
        ..SolveOptions::default()
    };
    // The solver's working memory is freed when this function returns, after the
    // commit, off the window's clock.
    let (mut plan, _leftovers) = solve_keeping_leftovers(&instance, &state.config.solver, &opts)
        .map_err(|e| e.to_string())?;
    let check_started = std::time::Instant::now();
    let mut report = check(&instance, &plan);
    if !report.is_valid() {
        tracing::error!(
            window = window_id,
            violations = ?report.violations.iter().take(5).collect::<Vec<_>>(),
            "solver plan failed the checker; using the greedy plan"
        );
        plan = solve(&instance, "cheapest", &opts).map_err(|e| e.to_string())?;
        report = check(&instance, &plan);
        if !report.is_valid() {
            return Err("greedy plan failed the checker too; window left pending".into());
        }
    }
    let s = &report.summary;
    let gap = plan
        .lower_bound
        .map(|lb| (plan.objective - lb) / plan.objective.abs().max(1e-9));
    let kpis = serde_json::json!({
        "orders": instance.orders.len(),
        "solver": plan.solver,
        "status": plan.status,
        "objective": plan.objective,
        "lower_bound": plan.lower_bound,
        "gap": gap,
        "solve_seconds": started.elapsed().as_secs_f64(),
        "budget_seconds": state.config.budget.as_secs_f64(),
        "shipments": s.shipments,
        "split_shipments": s.extra_shipments,
        "units_shipped": s.units_shipped,
        "unfilled_units": s.unfilled_units,
        "late_shipments": s.late_shipments,
    });
    let window = WindowRecord {
        id: window_id,
        opened_at: opened,
        closed_at: closed,
        decided_at: 0.0,
        kpis,
    };
    let commit_started = std::time::Instant::now();
    let store::CommitCounts {
        committed,
        deferred,
    } = state
        .db()
        .commit_window(&fence, &window, network, &taken, &instance, &plan)
        .map_err(|e| e.to_string())?;
    let commit_seconds = commit_started.elapsed().as_secs_f64();
    let overhead = check_started.elapsed().as_secs_f64() / taken.len().max(1) as f64;
    state
        .metrics
        .last_overhead_bits
        .store(overhead.to_bits(), Ordering::Relaxed);
    let m = &state.metrics;
    m.windows.fetch_add(1, Ordering::Relaxed);
    m.orders_decided
        .fetch_add(committed as u64, Ordering::Relaxed);
    m.orders_deferred
        .fetch_add(deferred as u64, Ordering::Relaxed);
    m.unfilled_units
        .fetch_add(s.unfilled_units, Ordering::Relaxed);
    if plan.status == PlanStatus::Fallback {
        m.fallbacks.fetch_add(1, Ordering::Relaxed);
    }
    m.observe_window(started.elapsed().as_secs_f64(), gap.unwrap_or(f64::NAN));
    tracing::info!(
        window = window_id,
        orders = instance.orders.len(),
        committed,
        deferred,
        objective = plan.objective,
        status = ?plan.status,
        seconds = started.elapsed().as_secs_f64(),
        read_seconds,
        commit_seconds,
        "window decided"
    );
    if deferred > 0 {
        state.wake.notify_one();
    }
    Ok(())
}
