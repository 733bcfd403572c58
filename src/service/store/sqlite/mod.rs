//! The embedded backend: two SQLite databases (WAL mode) in the data directory,
//! for one process (the data directory's lock file keeps a second one out):
//!
//! - `intake.sqlite` ([`Intake`]): accepted orders, append-only. Submits write only
//!   here, so they never wait behind a window's commit.
//! - `ledger.sqlite` ([`Store`]): the network, inventory (on_hand, reserved, safety
//!   stock), node capacity used, decisions, the requeue of deferred and re-routed
//!   orders, the intake watermark and windows. It attaches the intake read-only.
//!
//! Every write that the API acknowledges is committed before the response is sent, so
//! a killed process loses nothing it accepted. A window's decisions, reservations and
//! watermark are committed in one ledger transaction that re-checks stock, so no unit
//! is ever promised twice and no order is decided twice or skipped.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::*;
use crate::domain::{Instance, InventoryRow, Order, Plan};

mod inventory;
mod window;

/// A result of the SQLite driver.
type SqlResult<T> = rusqlite::Result<T>;

const INTAKE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    digest TEXT NOT NULL,
    received_at REAL NOT NULL);
";

const LEDGER_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inventory (
    node TEXT NOT NULL, sku TEXT NOT NULL,
    on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL, safety_stock INTEGER NOT NULL,
    PRIMARY KEY (node, sku));
CREATE INDEX IF NOT EXISTS inventory_by_sku ON inventory (sku);
CREATE TABLE IF NOT EXISTS inventory_stage (
    upload INTEGER NOT NULL, node TEXT NOT NULL, sku TEXT NOT NULL,
    on_hand INTEGER NOT NULL, safety_stock INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS capacity_used (
    node TEXT PRIMARY KEY, shipments INTEGER NOT NULL, units INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, window_id INTEGER,
    decision TEXT, body TEXT);
CREATE TABLE IF NOT EXISTS requeue (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS windows (
    id INTEGER PRIMARY KEY,
    opened_at REAL NOT NULL, closed_at REAL NOT NULL, decided_at REAL NOT NULL,
    kpis TEXT NOT NULL);
INSERT OR IGNORE INTO config (key, value) VALUES ('watermark', '0');
";

fn open_conn(path: &Path) -> SqlResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

fn io_error(e: std::io::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// The intake database: accepted orders, append-only.
pub struct Intake {
    conn: Connection,
}

impl Intake {
    /// Opens (creating if needed) `dir/intake.sqlite`.
    pub fn open(dir: &Path) -> SqlResult<Intake> {
        std::fs::create_dir_all(dir).map_err(io_error)?;
        let conn = open_conn(&dir.join("intake.sqlite"))?;
        conn.execute_batch(INTAKE_SCHEMA)?;
        Ok(Intake { conn })
    }

    /// Cheap query proving the database answers.
    pub fn ping(&self) -> SqlResult<()> {
        self.conn.query_row("SELECT 1", [], |_| Ok(()))
    }

    /// Stores a batch of validated orders atomically: new ids are inserted, retries
    /// with an identical body are counted, and a different body under a used id
    /// refuses the whole batch.
    pub fn submit(&mut self, orders: &[Order]) -> Result<SubmitOutcome, StoreError> {
        let tx = self.conn.transaction()?;
        let mut outcome = SubmitOutcome {
            accepted: 0,
            duplicates: 0,
        };
        let mut conflicts = Vec::new();
        {
            let mut find = tx.prepare_cached("SELECT digest FROM orders WHERE id = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO orders (id, body, digest, received_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let at = now();
            for order in orders {
                let d = digest(order);
                let existing: Option<String> =
                    find.query_row(params![order.id], |r| r.get(0)).optional()?;
                match existing {
                    Some(e) if e == d => outcome.duplicates += 1,
                    Some(_) => conflicts.push(order.id.clone()),
                    None => {
                        let body = serde_json::to_string(order).expect("orders serialize");
                        insert.execute(params![order.id, body, d, at])?;
                        outcome.accepted += 1;
                    }
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(StoreError::Conflict(conflicts));
        }
        tx.commit()?;
        Ok(outcome)
    }
}

/// Copies the two databases of `data` into the directory `out` (created; it must not
/// hold them already) with SQLite's online backup, safe while the server runs. The
/// ledger is copied first, then the intake: the intake only grows, so its copy holds
/// every order the ledger's copy refers to, and the pair passes
/// [`Store::check_intake`].
pub fn backup(data: &Path, out: &Path) -> Result<(), String> {
    for name in ["ledger.sqlite", "intake.sqlite"] {
        if !data.join(name).is_file() {
            return Err(format!("{} has no {name}", data.display()));
        }
        if out.join(name).exists() {
            return Err(format!(
                "{} exists; back up into a new or empty directory",
                out.join(name).display()
            ));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for name in ["ledger.sqlite", "intake.sqlite"] {
        let (from, to) = (data.join(name), out.join(name));
        let copy = || -> SqlResult<()> {
            let src = Connection::open_with_flags(
                &from,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            src.busy_timeout(std::time::Duration::from_secs(30))?;
            let mut dst = Connection::open(&to)?;
            let b = rusqlite::backup::Backup::new(&src, &mut dst)?;
            // All pages in one step: one read transaction, one consistent snapshot.
            loop {
                match b.step(-1)? {
                    rusqlite::backup::StepResult::Done => return Ok(()),
                    _ => std::thread::sleep(std::time::Duration::from_millis(50)),
                }
            }
        };
        copy().map_err(|e| format!("backing up {}: {e}", from.display()))?;
    }
    Ok(())
}

/// The ledger database (with the intake attached for reading).
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) `dir/ledger.sqlite` and attaches `dir/intake.sqlite`
    /// (which [`Intake::open`] creates first).
    pub fn open(dir: &Path) -> SqlResult<Store> {
        std::fs::create_dir_all(dir).map_err(io_error)?;
        let conn = open_conn(&dir.join("ledger.sqlite"))?;
        conn.execute_batch(LEDGER_SCHEMA)?;
        let intake = dir.join("intake.sqlite");
        conn.execute(
            "ATTACH DATABASE ?1 AS intake",
            params![intake.to_string_lossy()],
        )?;
        Ok(Store { conn })
    }

    /// Cheap query proving the database answers.
    pub fn ping(&self) -> SqlResult<()> {
        self.conn.query_row("SELECT 1", [], |_| Ok(()))
    }

    /// The stored network, if one was loaded.
    pub fn network(&self) -> SqlResult<Option<NetworkConfig>> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT value FROM config WHERE key = 'network'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Replaces the network and advances its version.
    pub fn set_network(&self, network: &NetworkConfig) -> SqlResult<()> {
        let text = serde_json::to_string(network).expect("network serializes");
        self.conn.execute(
            "INSERT INTO config (key, value) VALUES ('network', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![text],
        )?;
        self.conn.execute(
            "INSERT INTO config (key, value) VALUES ('network_version', '1')
             ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
            [],
        )?;
        Ok(())
    }

    /// How many times the network was replaced.
    pub fn network_version(&self) -> SqlResult<i64> {
        let v: Option<i64> = self
            .conn
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM config WHERE key = 'network_version'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.unwrap_or(0))
    }

    fn watermark(&self) -> SqlResult<i64> {
        self.conn.query_row(
            "SELECT CAST(value AS INTEGER) FROM config WHERE key = 'watermark'",
            [],
            |r| r.get(0),
        )
    }

    /// Refuses an intake database that is missing or older than the ledger: the
    /// ledger has decided (or requeued) orders up to a sequence number the intake
    /// does not reach, so new orders would get numbers at or below that watermark
    /// and never be decided.
    pub fn check_intake(&self) -> Result<(), String> {
        let err = |e: rusqlite::Error| format!("cannot read the databases: {e}");
        let wm = self.watermark().map_err(err)?;
        let requeued: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM requeue", [], |r| {
                r.get(0)
            })
            .map_err(err)?;
        let intake: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM intake.orders", [], |r| {
                r.get(0)
            })
            .map_err(err)?;
        let ledger = wm.max(requeued);
        if intake >= ledger {
            return Ok(());
        }
        Err(format!(
            "intake.sqlite is missing or older than ledger.sqlite: the ledger has taken orders up to sequence number {ledger} but the intake's last order is number {intake}, so new orders would never be decided. \
             Restore intake.sqlite together with ledger.sqlite from one backup (`domopt backup --data DIR --out DIR` takes both consistently), or move both away to start empty"
        ))
    }

    /// Number of orders waiting for a window.
    pub fn pending_count(&self) -> SqlResult<usize> {
        Ok(self.pending_queue()?.0)
    }

    /// Orders waiting for a window, and when the oldest of them arrived (wall-clock
    /// seconds; `None` when none waits).
    pub fn pending_queue(&self) -> SqlResult<(usize, Option<f64>)> {
        let wm = self.watermark()?;
        let (fresh, fresh_oldest): (i64, Option<f64>) = self.conn.query_row(
            "SELECT COUNT(*), MIN(o.received_at) FROM intake.orders o WHERE o.seq > ?1
             AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.id = o.id)",
            params![wm],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (requeued, requeued_oldest): (i64, Option<f64>) = self.conn.query_row(
            "SELECT COUNT(*), MIN(o.received_at) FROM requeue q
             LEFT JOIN intake.orders o ON o.id = q.id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let oldest = match (fresh_oldest, requeued_oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(((fresh + requeued) as usize, oldest))
    }

    /// Up to `limit` waiting orders: the requeue first, then the intake in arrival
    /// order (orders cancelled while pending are skipped).
    pub fn pending(&self, limit: usize) -> SqlResult<Vec<PendingOrder>> {
        let mut out = Vec::new();
        let mut push = |seq: i64, requeued: bool, body: String| {
            if let Ok(order) = serde_json::from_str(&body) {
                out.push(PendingOrder {
                    seq,
                    requeued,
                    order,
                });
            }
        };
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT seq, body FROM requeue ORDER BY seq LIMIT ?1")?;
            let rows = stmt.query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for row in rows {
                let (seq, body) = row?;
                push(seq, true, body);
            }
        }
        let left = limit.saturating_sub(out.len());
        if left > 0 {
            let wm = self.watermark()?;
            let mut stmt = self.conn.prepare_cached(
                "SELECT o.seq, o.body FROM intake.orders o WHERE o.seq > ?1
                 AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.id = o.id)
                 ORDER BY o.seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![wm, left as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            let rows: Vec<(i64, String)> = rows.collect::<SqlResult<_>>()?;
            for (seq, body) in rows {
                if let Ok(order) = serde_json::from_str(&body) {
                    out.push(PendingOrder {
                        seq,
                        requeued: false,
                        order,
                    });
                }
            }
        }
        Ok(out)
    }

    /// One order with its decision.
    pub fn order(&self, id: &str) -> SqlResult<Option<OrderRecord>> {
        self.conn
            .query_row(
                "SELECT o.id, o.seq, o.received_at, o.body, d.status, d.window_id, d.decision,
                        d.body, q.body
                 FROM intake.orders o
                 LEFT JOIN decisions d ON d.id = o.id
                 LEFT JOIN requeue q ON q.id = o.id
                 WHERE o.id = ?1",
                params![id],
                |r| {
                    let body: String = r
                        .get::<_, Option<String>>(8)?
                        .or(r.get::<_, Option<String>>(7)?)
                        .map_or_else(|| r.get(3), Ok)?;
                    let decision: Option<String> = r.get(6)?;
                    Ok(OrderRecord {
                        id: r.get(0)?,
                        seq: r.get(1)?,
                        status: r
                            .get::<_, Option<String>>(4)?
                            .unwrap_or_else(|| status::PENDING.into()),
                        window: r.get(5)?,
                        received_at: r.get(2)?,
                        order: serde_json::from_str(&body).expect("stored orders parse"),
                        decision: decision.and_then(|d| serde_json::from_str(&d).ok()),
                    })
                },
            )
            .optional()
    }

    /// Returns an order's reserved stock and used capacity (inside `tx`).
    fn release(tx: &rusqlite::Transaction, decision: Option<&Decision>) -> SqlResult<()> {
        let Some(d) = decision else { return Ok(()) };
        for s in &d.shipments {
            let mut units = 0;
            for l in &s.lines {
                units += l.qty;
                tx.execute(
                    "UPDATE inventory SET reserved = MAX(0, reserved - ?3)
                     WHERE node = ?1 AND sku = ?2",
                    params![s.node, l.sku, l.qty],
                )?;
            }
            tx.execute(
                "UPDATE capacity_used SET shipments = MAX(0, shipments - 1),
                 units = MAX(0, units - ?2) WHERE node = ?1",
                params![s.node, units],
            )?;
        }
        Ok(())
    }

    /// Cancels an order: a pending order leaves its window, a decided one returns its
    /// stock and capacity.
    pub fn cancel(&mut self, id: &str) -> Result<OrderRecord, StoreError> {
        let rec = self
            .order(id)?
            .ok_or_else(|| StoreError::NotFound(format!("order \"{id}\"")))?;
        if rec.status == status::CANCELLED {
            return Err(StoreError::State(format!(
                "order \"{id}\" is already cancelled"
            )));
        }
        let tx = self.conn.transaction()?;
        Self::release(&tx, rec.decision.as_ref())?;
        tx.execute("DELETE FROM requeue WHERE id = ?1", params![id])?;
        tx.execute(
            "INSERT INTO decisions (id, status, window_id, decision, body)
             VALUES (?1, 'cancelled', ?2, NULL, ?3)
             ON CONFLICT (id) DO UPDATE SET status = 'cancelled', decision = NULL",
            params![
                id,
                rec.window,
                serde_json::to_string(&rec.order).expect("orders serialize")
            ],
        )?;
        tx.commit()?;
        Ok(self.order(id)?.expect("the order exists"))
    }

    /// Re-routes a decided order that `node` rejected: its stock and capacity return,
    /// the node is excluded for this order, and the order joins the next window.
    pub fn reroute(&mut self, id: &str, node: &str) -> Result<OrderRecord, StoreError> {
        let rec = self
            .order(id)?
            .ok_or_else(|| StoreError::NotFound(format!("order \"{id}\"")))?;
        let order = rec.rerouted(node)?;
        let body = serde_json::to_string(&order).expect("orders serialize");
        let tx = self.conn.transaction()?;
        Self::release(&tx, rec.decision.as_ref())?;
        tx.execute("DELETE FROM decisions WHERE id = ?1", params![id])?;
        tx.execute(
            "INSERT INTO requeue (id, seq, body) VALUES (?1, ?2, ?3)",
            params![id, rec.seq, body],
        )?;
        tx.commit()?;
        Ok(self.order(id)?.expect("the order exists"))
    }

    /// Windows, newest first.
    pub fn windows(&self, limit: usize) -> SqlResult<Vec<WindowRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, opened_at, closed_at, decided_at, kpis FROM windows
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            let kpis: String = r.get(4)?;
            Ok(WindowRecord {
                id: r.get(0)?,
                opened_at: r.get(1)?,
                closed_at: r.get(2)?,
                decided_at: r.get(3)?,
                kpis: serde_json::from_str(&kpis).unwrap_or_default(),
            })
        })?;
        rows.collect()
    }

    /// Shipments of the last `windows` windows as (node, destination latitude,
    /// longitude), at most `limit` of them, newest windows first.
    pub fn recent_flows(&self, windows: i64, limit: usize) -> SqlResult<Vec<(String, f64, f64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.decision, COALESCE(d.body, o.body) FROM decisions d
             JOIN intake.orders o ON o.id = d.id
             WHERE d.window_id > (SELECT COALESCE(MAX(id), 0) FROM windows) - ?1
             ORDER BY d.window_id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![windows, limit as i64], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?))
        })?;
        Ok(flows_of(rows.collect::<SqlResult<Vec<_>>>()?, limit))
    }

    /// The next window number.
    pub fn next_window_id(&self) -> SqlResult<i64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM windows", [], |r| {
                r.get(0)
            })
    }
}

/// A stored row as the instance format's [`InventoryRow`]. Stored counts are at most
/// [`MAX_COUNT`]; a larger one (written by an older version) saturates rather than
/// wrapping, so availability is never overstated by a cut-off high half.
fn row_to_inventory(r: &rusqlite::Row) -> rusqlite::Result<InventoryRow> {
    let count = |i: usize| -> rusqlite::Result<u32> {
        Ok(u32::try_from(r.get::<_, i64>(i)?.max(0)).unwrap_or(u32::MAX))
    };
    Ok(InventoryRow {
        node: r.get(0)?,
        sku: r.get(1)?,
        on_hand: count(2)?,
        reserved: count(3)?,
        safety_stock: count(4)?,
    })
}

/// [`Storage`] on the two SQLite databases of a data directory: the ledger, the
/// intake, and a second ledger connection that counts pending orders (in WAL mode it
/// reads the last committed state without waiting for a window's commit). The one
/// process that holds the directory is the only replica, so it always holds the
/// lease.
pub struct SqliteStorage {
    ledger: Mutex<Store>,
    intake: Mutex<Intake>,
    reader: Mutex<Store>,
    heartbeat: Mutex<Option<ReplicaRecord>>,
}

impl SqliteStorage {
    /// Opens (creating if needed) the databases of `dir`.
    pub fn open(dir: &Path) -> DbResult<SqliteStorage> {
        let intake = Intake::open(dir)?;
        let ledger = Store::open(dir)?;
        let reader = Store::open(dir)?;
        Ok(SqliteStorage {
            ledger: Mutex::new(ledger),
            intake: Mutex::new(intake),
            reader: Mutex::new(reader),
            heartbeat: Mutex::new(None),
        })
    }

    /// Locks the ledger (a poisoned lock is still usable: every write is a
    /// transaction, so a panic mid-write left nothing half-done).
    fn db(&self) -> std::sync::MutexGuard<'_, Store> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Storage for SqliteStorage {
    fn kind(&self) -> &'static str {
        "sqlite"
    }
    fn ping(&self) -> DbResult<()> {
        self.db().ping()?;
        Ok(self
            .intake
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ping()?)
    }
    fn prepare(&self) -> Result<(), String> {
        let db = self.db();
        db.check_intake()?;
        db.discard_stage(None).map_err(|e| e.to_string())
    }
    fn submit(&self, orders: &[Order]) -> Result<SubmitOutcome, StoreError> {
        self.intake
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .submit(orders)
    }
    fn pending_queue(&self) -> DbResult<(usize, Option<f64>)> {
        Ok(self
            .reader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pending_queue()?)
    }
    fn pending(&self, limit: usize) -> DbResult<Vec<PendingOrder>> {
        Ok(self.db().pending(limit)?)
    }
    fn order(&self, id: &str) -> DbResult<Option<OrderRecord>> {
        Ok(self.db().order(id)?)
    }
    fn cancel(&self, id: &str) -> Result<OrderRecord, StoreError> {
        self.db().cancel(id)
    }
    fn reroute(&self, id: &str, node: &str) -> Result<OrderRecord, StoreError> {
        self.db().reroute(id, node)
    }
    fn network(&self) -> DbResult<Option<NetworkConfig>> {
        Ok(self.db().network()?)
    }
    fn network_version(&self) -> DbResult<i64> {
        Ok(self.db().network_version()?)
    }
    fn set_network(&self, network: &NetworkConfig) -> DbResult<i64> {
        let db = self.db();
        db.set_network(network)?;
        Ok(db.network_version()?)
    }
    fn inventory_of_skus(&self, skus: &[&str]) -> DbResult<Vec<InventoryRow>> {
        Ok(self.db().inventory_of_skus(skus.iter().copied())?)
    }
    fn inventory_of(&self, sku: &str) -> DbResult<Vec<StockLevel>> {
        Ok(self.db().inventory_of(sku)?)
    }
    fn set_inventory(&self, rows: &[InventoryRow], full: bool) -> DbResult<()> {
        Ok(self.db().set_inventory(rows, full)?)
    }
    fn stage_rows(&self, upload: i64, rows: &[InventoryRow]) -> DbResult<()> {
        Ok(self.db().stage_rows(upload, rows)?)
    }
    fn apply_stage(&self, upload: i64, full: bool) -> DbResult<usize> {
        Ok(self.db().apply_stage(upload, full)?)
    }
    fn discard_stage(&self, upload: i64) -> DbResult<()> {
        Ok(self.db().discard_stage(Some(upload))?)
    }
    fn apply_deltas(
        &self,
        deltas: &[InventoryDelta],
        force: bool,
    ) -> Result<Vec<String>, StoreError> {
        self.db().apply_deltas(deltas, force)
    }
    fn capacity_used(&self) -> DbResult<HashMap<String, (u64, u64)>> {
        Ok(self.db().capacity_used()?)
    }
    fn reset_capacity(&self) -> DbResult<()> {
        Ok(self.db().reset_capacity()?)
    }
    fn windows(&self, limit: usize) -> DbResult<Vec<WindowRecord>> {
        Ok(self.db().windows(limit)?)
    }
    fn recent_flows(&self, windows: i64, limit: usize) -> DbResult<Vec<(String, f64, f64)>> {
        Ok(self.db().recent_flows(windows, limit)?)
    }
    fn next_window_id(&self) -> DbResult<i64> {
        Ok(self.db().next_window_id()?)
    }
    fn commit_window(
        &self,
        _fence: &Fence,
        window: &WindowRecord,
        network: &NetworkConfig,
        taken: &[PendingOrder],
        instance: &Instance,
        plan: &Plan,
    ) -> Result<CommitCounts, StoreError> {
        Ok(self
            .db()
            .commit_window(window, network, taken, instance, plan)?)
    }
    fn claim_lease(&self, _pool: &str, _replica: &str, _ttl: Duration) -> DbResult<Option<i64>> {
        Ok(Some(1))
    }
    fn release_lease(&self, _pool: &str, _replica: &str) -> DbResult<()> {
        Ok(())
    }
    fn heartbeat(&self, replica: &str, address: &str, started_at: f64) -> DbResult<()> {
        *self.heartbeat.lock().unwrap_or_else(|e| e.into_inner()) = Some(ReplicaRecord {
            id: replica.into(),
            address: address.into(),
            started_at,
            seen_ago: 0.0,
        });
        Ok(())
    }
    fn cluster(&self, _within: Duration) -> DbResult<(Vec<ReplicaRecord>, Vec<LeaseRecord>)> {
        let me = self
            .heartbeat
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let leases = me
            .iter()
            .map(|r| LeaseRecord {
                pool: crate::service::cluster::DEFAULT_POOL.into(),
                holder: r.id.clone(),
                token: 1,
                expires_in: f64::INFINITY,
            })
            .collect();
        Ok((me.into_iter().collect(), leases))
    }
}
