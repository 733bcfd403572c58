//! The service's durable state behind one trait, [`Storage`], with two
//! implementations:
//!
//! - [`sqlite`]: two embedded SQLite databases in the data directory, for one
//!   process on one machine (the default; no server to run).
//! - [`postgres`]: one PostgreSQL database shared by any number of replicas, one of
//!   which at a time (the holder of the lease, see [`Storage::claim_lease`]) decides
//!   windows.
//!
//! Both keep the same promises: every write the API acknowledges is committed before
//! the response is sent, so a killed process loses nothing it accepted; a window's
//! decisions and reservations are committed in one transaction that re-checks stock
//! and capacity as they are then, so no unit is promised twice and no order is
//! decided twice or skipped. The decision logic of a commit is shared
//! ([`commit::settle`]); only reading and writing rows differ.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{Instance, InventoryRow, Order, Plan, Shipment, Unfilled};

pub mod commit;
pub mod postgres;
pub mod sqlite;

pub use commit::stranded_decision;

/// A database failure, reported as `E5000` (or `E5070` when the disk is full).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DbError {
    /// The database's own message.
    pub message: String,
    /// The database ran out of disk space.
    pub disk_full: bool,
    /// The database aborted the transaction (deadlock, serialization failure): the
    /// same transaction may succeed when run again.
    pub retryable: bool,
}

impl DbError {
    /// An error with a message of the service's own.
    pub fn other(message: impl Into<String>) -> DbError {
        DbError {
            message: message.into(),
            disk_full: false,
            retryable: false,
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        DbError {
            disk_full: e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            retryable: false,
            message: e.to_string(),
        }
    }
}

/// A database result.
pub type DbResult<T> = Result<T, DbError>;

/// The largest count the service stores in an inventory field (on_hand, reserved,
/// safety stock) or accepts as a delta's quantity: the instance format's limit
/// (docs/formats.md, E1007), so every stored row fits the window's instance.
pub const MAX_COUNT: i64 = 1_000_000_000;

/// The network part of an instance: everything but orders and inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Fulfillment nodes; capacities are per capacity period (reset by the API).
    pub nodes: Vec<crate::domain::Node>,
    /// Stock keeping units.
    pub skus: Vec<crate::domain::Sku>,
    /// Zones and carrier services.
    pub rate_card: crate::domain::RateCard,
    /// Split, unfilled and late penalties.
    pub costs: crate::domain::Costs,
}

/// An order's lifecycle state.
pub mod status {
    /// Waiting for its window to close.
    pub const PENDING: &str = "pending";
    /// Every unit allocated.
    pub const ALLOCATED: &str = "allocated";
    /// Some units allocated, some unfilled.
    pub const PARTIAL: &str = "partial";
    /// Nothing could be allocated.
    pub const UNFILLED: &str = "unfilled";
    /// Cancelled by the client; its stock was released.
    pub const CANCELLED: &str = "cancelled";
}

/// Reasons the service itself gives for unfilled units, beside the solvers' (`NO_STOCK`,
/// `SLA`, …).
pub mod reason {
    /// A line names a sku the network no longer has.
    pub const UNKNOWN_SKU: &str = "UNKNOWN_SKU";
    /// The order's pickup node is no longer in the network.
    pub const UNKNOWN_NODE: &str = "UNKNOWN_NODE";
}

/// Units of one order line left unshipped, as stored and served: the solver's
/// [`Unfilled`] with its reason as text, so the service can add its own [`reason`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnfilledLine {
    /// Order id.
    pub order: String,
    /// Sku id.
    pub sku: String,
    /// Units not shipped.
    pub qty: u32,
    /// Why, e.g. `NO_STOCK` or `UNKNOWN_SKU`.
    pub reason: String,
}

impl From<&Unfilled> for UnfilledLine {
    fn from(u: &Unfilled) -> UnfilledLine {
        let reason = serde_json::to_value(u.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        UnfilledLine {
            order: u.order.clone(),
            sku: u.sku.clone(),
            qty: u.qty,
            reason,
        }
    }
}

/// What a window decided for one order, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Shipments of this order.
    pub shipments: Vec<Shipment>,
    /// Units left unshipped, with reasons.
    pub unfilled: Vec<UnfilledLine>,
    /// Shipments' cost plus split and unfilled penalties of this order.
    pub cost: f64,
    /// Latest delivery day promised by any shipment.
    pub promised_delivery_days: Option<u32>,
}

/// One stored order as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderRecord {
    /// Order id.
    pub id: String,
    /// Arrival sequence number.
    pub seq: i64,
    /// One of [`status`]'s values.
    pub status: String,
    /// Window that decided it, if decided.
    pub window: Option<i64>,
    /// Unix seconds at acceptance.
    pub received_at: f64,
    /// The order as accepted (plus any nodes excluded by re-routing).
    pub order: Order,
    /// The allocation, once decided.
    pub decision: Option<Decision>,
}

/// Outcome of submitting a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubmitOutcome {
    /// Orders stored now.
    pub accepted: usize,
    /// Orders already stored with the same body (retries).
    pub duplicates: usize,
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] DbError),
    /// An order id already holds a different body.
    #[error("order ids already used with a different body: {0:?}")]
    Conflict(Vec<String>),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request is not allowed in the current state.
    #[error("{0}")]
    State(String),
    /// Inventory deltas would leave rows below what decided orders reserve there:
    /// one line per row, naming the orders that hold it.
    #[error("over-promised: {0:?}")]
    OverPromised(Vec<String>),
    /// A window's commit came from a replica whose lease another replica has taken
    /// since (or that has run out): nothing was written.
    #[error("fenced: {0}")]
    Fenced(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Db(e.into())
    }
}

/// A change to one inventory row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryDelta {
    /// Node id.
    pub node: String,
    /// Sku id.
    pub sku: String,
    /// `receipt` (on_hand += qty), `adjustment` (on_hand += qty, may be negative),
    /// `pick` (a reserved unit left the building: on_hand −= qty, reserved −= qty) or
    /// `safety_stock` (safety_stock = qty).
    pub kind: String,
    /// Units.
    pub qty: i64,
}

impl InventoryDelta {
    /// The row's (on_hand, reserved, safety_stock) after this delta, the `i`-th of its
    /// batch; refused when a count would go negative or above [`MAX_COUNT`].
    pub fn applied(&self, i: usize, row: (i64, i64, i64)) -> Result<(i64, i64, i64), StoreError> {
        let (mut on_hand, mut reserved, mut safety) = row;
        match self.kind.as_str() {
            "receipt" | "adjustment" => on_hand += self.qty,
            "pick" => {
                on_hand -= self.qty;
                reserved -= self.qty;
            }
            "safety_stock" => safety = self.qty,
            _ => unreachable!("kinds are validated by the API"),
        }
        let what = format!(
            "deltas[{i}]: {} {} of {} at {}",
            self.kind, self.qty, self.sku, self.node
        );
        if on_hand < 0 || reserved < 0 || safety < 0 {
            return Err(StoreError::State(format!(
                "{what} would leave on_hand {on_hand}, reserved {reserved}"
            )));
        }
        if on_hand > MAX_COUNT || safety > MAX_COUNT {
            return Err(StoreError::State(format!(
                "{what} would leave on_hand {on_hand}, safety stock {safety}, above the largest count {MAX_COUNT}"
            )));
        }
        Ok((on_hand, reserved, safety))
    }
}

impl OrderRecord {
    /// The order as it re-enters the queue when `node` rejects it: `node` excluded.
    /// Only decided orders can be re-routed.
    pub fn rerouted(&self, node: &str) -> Result<Order, StoreError> {
        if self.status == status::CANCELLED || self.status == status::PENDING {
            return Err(StoreError::State(format!(
                "order \"{}\" is {}; only decided orders can be re-routed",
                self.id, self.status
            )));
        }
        let mut order = self.order.clone();
        if !order.exclude_nodes.iter().any(|n| n == node) {
            order.exclude_nodes.push(node.to_string());
        }
        Ok(order)
    }
}

/// One stored inventory row with its 64-bit counts, as `/v1/atp` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StockLevel {
    /// Node id.
    pub node: String,
    /// Sku id.
    pub sku: String,
    /// Physical units on hand.
    pub on_hand: i64,
    /// Units promised to decided orders.
    pub reserved: i64,
    /// Units that must stay on the shelf.
    pub safety_stock: i64,
}

impl StockLevel {
    /// Units still available to promise: max(0, on_hand − reserved − safety_stock).
    pub fn available(&self) -> i64 {
        (self.on_hand - self.reserved - self.safety_stock).max(0)
    }
}

/// The stored window summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowRecord {
    /// Window number.
    pub id: i64,
    /// Unix seconds when the window opened.
    pub opened_at: f64,
    /// Unix seconds when it closed.
    pub closed_at: f64,
    /// Unix seconds when its decisions were committed.
    pub decided_at: f64,
    /// Solver outcome and KPIs.
    pub kpis: serde_json::Value,
}

/// Shipments as (node, destination latitude, longitude) from stored (decision, order
/// body) pairs, at most `limit`; pairs that do not parse are passed over.
pub fn flows_of(
    rows: impl IntoIterator<Item = (Option<String>, String)>,
    limit: usize,
) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    for (decision, body) in rows {
        let (Some(d), Ok(order)) = (
            decision.and_then(|t| serde_json::from_str::<Decision>(&t).ok()),
            serde_json::from_str::<Order>(&body),
        ) else {
            continue;
        };
        for s in d.shipments {
            out.push((s.node, order.ship_to.lat, order.ship_to.lon));
        }
    }
    out.truncate(limit);
    out
}

/// Hex SHA-256 of an order's canonical JSON: equal bodies, equal digests.
pub fn digest(order: &Order) -> String {
    let json = serde_json::to_vec(order).expect("orders serialize");
    Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Seconds since the Unix epoch.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// An order waiting for a window, with its intake sequence number.
#[derive(Debug, Clone)]
pub struct PendingOrder {
    /// Intake sequence number.
    pub seq: i64,
    /// Whether it waits in the requeue (deferred or re-routed) rather than the intake.
    pub requeued: bool,
    /// The order (with any exclusions added by re-routing).
    pub order: Order,
}

/// The proof a window's commit carries that its replica still holds the lease of its
/// pool: the database refuses the commit unless the lease's token is still this one
/// and has not run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The pool whose windows the lease covers.
    pub pool: String,
    /// The replica holding it.
    pub replica: String,
    /// The lease's token: it grows by one each time the lease changes hands.
    pub token: i64,
}

/// One pool's lease as stored.
#[derive(Debug, Clone, Serialize)]
pub struct LeaseRecord {
    /// The pool.
    pub pool: String,
    /// The replica holding it.
    pub holder: String,
    /// Its fencing token.
    pub token: i64,
    /// Seconds until it runs out unless renewed (negative: run out).
    pub expires_in: f64,
}

/// One replica as last heard of.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaRecord {
    /// The replica's id (unique per process start).
    pub id: String,
    /// The address it serves on.
    pub address: String,
    /// Unix seconds when it started.
    pub started_at: f64,
    /// Seconds since its last heartbeat.
    pub seen_ago: f64,
}

/// Inventory changes a window commit writes, and what it decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitCounts {
    /// Orders decided (stranded ones included).
    pub committed: usize,
    /// Orders that no longer fit and wait for the next window.
    pub deferred: usize,
}

/// The service's durable state. Every method is one transaction (or one read);
/// implementations are shared by threads and called from blocking threads only.
pub trait Storage: Send + Sync {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
    /// Cheap query proving the database answers.
    fn ping(&self) -> DbResult<()>;
    /// Checks the stored state at start and drops what a stopped server left
    /// half-done (stages of unfinished snapshots); an error says why it cannot serve.
    fn prepare(&self) -> Result<(), String>;

    /// Stores a batch of validated orders atomically: new ids are inserted, retries
    /// with an identical body are counted, and a different body under a used id
    /// refuses the whole batch ([`StoreError::Conflict`]).
    fn submit(&self, orders: &[Order]) -> Result<SubmitOutcome, StoreError>;
    /// Orders waiting for a window, and when the oldest arrived (Unix seconds).
    fn pending_queue(&self) -> DbResult<(usize, Option<f64>)>;
    /// Up to `limit` waiting orders: requeued ones first, then in arrival order.
    fn pending(&self, limit: usize) -> DbResult<Vec<PendingOrder>>;
    /// One order with its decision.
    fn order(&self, id: &str) -> DbResult<Option<OrderRecord>>;
    /// Cancels an order: a pending order leaves its window, a decided one returns
    /// its stock and capacity.
    fn cancel(&self, id: &str) -> Result<OrderRecord, StoreError>;
    /// Re-routes a decided order that `node` rejected: its stock and capacity return,
    /// the node is excluded for this order, and the order joins the next window.
    fn reroute(&self, id: &str, node: &str) -> Result<OrderRecord, StoreError>;

    /// The stored network, if one was loaded.
    fn network(&self) -> DbResult<Option<NetworkConfig>>;
    /// A number that changes each time the network is replaced, so replicas notice.
    fn network_version(&self) -> DbResult<i64>;
    /// Replaces the network; its new version.
    fn set_network(&self, network: &NetworkConfig) -> DbResult<i64>;

    /// Inventory rows of the given skus, counts clamped to 32 bits.
    fn inventory_of_skus(&self, skus: &[&str]) -> DbResult<Vec<InventoryRow>>;
    /// Inventory rows of one sku, as stored (64-bit counts), by node.
    fn inventory_of(&self, sku: &str) -> DbResult<Vec<StockLevel>>;
    /// Sets on_hand and safety stock of the given rows (a full snapshot also zeroes
    /// on_hand of rows it does not name). Reservations are the ledger's and stay.
    fn set_inventory(&self, rows: &[InventoryRow], full: bool) -> DbResult<()>;
    /// Adds rows to the stage of a streamed snapshot `upload`.
    fn stage_rows(&self, upload: i64, rows: &[InventoryRow]) -> DbResult<()>;
    /// Applies the staged snapshot `upload` as [`Storage::set_inventory`] applies
    /// rows (later rows of a pair win) and empties its stage; the rows applied.
    fn apply_stage(&self, upload: i64, full: bool) -> DbResult<usize>;
    /// Drops the stage of `upload`.
    fn discard_stage(&self, upload: i64) -> DbResult<()>;
    /// Applies inventory deltas atomically; refuses the batch if any row would go
    /// negative or a pick exceeds what is reserved. A batch that leaves a row's
    /// on_hand below what decided orders reserve there is refused with the
    /// over-promised orders ([`StoreError::OverPromised`]) unless `force`; with
    /// `force` enough of those orders (the most recently decided first) return their
    /// stock and capacity and wait for the next window. Returns the orders re-routed.
    fn apply_deltas(
        &self,
        deltas: &[InventoryDelta],
        force: bool,
    ) -> Result<Vec<String>, StoreError>;
    /// Shipments and units used per node in the current capacity period.
    fn capacity_used(&self) -> DbResult<HashMap<String, (u64, u64)>>;
    /// Starts a new capacity period: every node's capacity is whole again.
    fn reset_capacity(&self) -> DbResult<()>;

    /// Windows, newest first.
    fn windows(&self, limit: usize) -> DbResult<Vec<WindowRecord>>;
    /// Shipments of the last `windows` windows as (node, destination latitude,
    /// longitude), at most `limit`, newest windows first.
    fn recent_flows(&self, windows: i64, limit: usize) -> DbResult<Vec<(String, f64, f64)>>;
    /// The next window number.
    fn next_window_id(&self) -> DbResult<i64>;
    /// Commits a checked window plan in one transaction (see [`commit::settle`] for
    /// what is decided, deferred or stranded), refused with [`StoreError::Fenced`]
    /// when `fence` no longer holds. `network` gives the full node capacities of the
    /// period; `taken` are the window's orders as read.
    fn commit_window(
        &self,
        fence: &Fence,
        window: &WindowRecord,
        network: &NetworkConfig,
        taken: &[PendingOrder],
        instance: &Instance,
        plan: &Plan,
    ) -> Result<CommitCounts, StoreError>;

    /// Takes or renews the lease of `pool` for `replica` for `ttl`: the lease's token
    /// when `replica` holds it now, `None` when another replica's lease still runs.
    fn claim_lease(&self, pool: &str, replica: &str, ttl: Duration) -> DbResult<Option<i64>>;
    /// Gives up `replica`'s lease of `pool` (at shutdown), so another takes over at
    /// once.
    fn release_lease(&self, pool: &str, replica: &str) -> DbResult<()>;
    /// Records that `replica`, serving on `address`, is alive.
    fn heartbeat(&self, replica: &str, address: &str, started_at: f64) -> DbResult<()>;
    /// The replicas heard from in the last `within`, and every pool's lease.
    fn cluster(&self, within: Duration) -> DbResult<(Vec<ReplicaRecord>, Vec<LeaseRecord>)>;
}
