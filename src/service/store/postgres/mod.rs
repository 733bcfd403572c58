//! The shared backend: one PostgreSQL database for any number of replicas.
//!
//! Tables mirror the SQLite ledger, with one difference: waiting orders are rows of
//! `queue` (inserted with the order, deleted when it is decided) rather than
//! "intake sequence numbers above a watermark", because sequence numbers of
//! concurrent transactions on several replicas commit out of order. Migrations are
//! versioned in `schema_migrations` and applied at start under an advisory lock, so
//! replicas starting together apply each once. Writes that race (a window's commit,
//! deltas, cancels) lock the rows they re-check (`FOR UPDATE`, in a fixed order); a
//! transaction PostgreSQL aborts as a deadlock or serialization failure is retried.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::{Client, NoTls, Transaction};

use super::*;
use crate::domain::{Instance, InventoryRow, Order, Plan};

mod deltas;
mod ledger;
mod migrations;

impl From<::postgres::Error> for DbError {
    fn from(e: ::postgres::Error) -> DbError {
        let code = e.code();
        DbError {
            disk_full: code == Some(&SqlState::DISK_FULL),
            retryable: code == Some(&SqlState::T_R_DEADLOCK_DETECTED)
                || code == Some(&SqlState::T_R_SERIALIZATION_FAILURE),
            message: match (e.as_db_error(), std::error::Error::source(&e)) {
                (Some(db), _) => format!("{e}: {}", db.message()),
                (None, Some(cause)) => format!("{e}: {cause}"),
                (None, None) => e.to_string(),
            },
        }
    }
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> StoreError {
        StoreError::Db(e.into())
    }
}

/// Connections kept open at most per replica.
const POOL_SIZE: usize = 16;

/// Attempts of a transaction PostgreSQL aborts as a deadlock or serialization failure.
const ATTEMPTS: usize = 8;

/// A small blocking pool of connections.
struct Pool {
    url: String,
    idle: Mutex<Vec<Client>>,
    out: Mutex<usize>,
    freed: Condvar,
}

/// A connection checked out of the [`Pool`]; it returns on drop unless broken.
struct Conn<'p> {
    pool: &'p Pool,
    client: Option<Client>,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("held until drop")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("held until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take().filter(|c| !c.is_closed()) {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(c);
        }
        *self.pool.out.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.pool.freed.notify_one();
    }
}

impl Drop for Pool {
    /// Each client owns a small runtime, which must not be dropped on an async
    /// runtime's thread (the service's state may be dropped there): close them on a
    /// thread of their own.
    fn drop(&mut self) {
        let clients = std::mem::take(self.idle.get_mut().unwrap_or_else(|e| e.into_inner()));
        let _ = std::thread::spawn(move || drop(clients)).join();
    }
}

impl Pool {
    fn get(&self) -> DbResult<Conn<'_>> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        while *out >= POOL_SIZE {
            out = self.freed.wait(out).unwrap_or_else(|e| e.into_inner());
        }
        *out += 1;
        drop(out);
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = Conn {
            pool: self,
            client: None,
        };
        conn.client = Some(match idle {
            Some(c) => c,
            None => connect(&self.url)?,
        });
        Ok(conn)
    }
}

/// Opens one connection; statements wait at most 30 s for a lock.
fn connect(url: &str) -> DbResult<Client> {
    let mut config: ::postgres::Config = url
        .parse()
        .map_err(|e| DbError::other(format!("--database {url}: {e}")))?;
    config.connect_timeout(Duration::from_secs(10));
    let mut client = config.connect(NoTls)?;
    client.batch_execute("SET lock_timeout = '30s'")?;
    Ok(client)
}

/// `url` with any password replaced by `***`, for messages.
fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// [`Storage`] on a PostgreSQL database.
pub struct PgStorage {
    pool: Pool,
}

impl PgStorage {
    /// Connects to `url` and applies the migrations the database lacks.
    pub fn connect(url: &str) -> DbResult<PgStorage> {
        let storage = PgStorage {
            pool: Pool {
                url: url.to_string(),
                idle: Mutex::new(Vec::new()),
                out: Mutex::new(0),
                freed: Condvar::new(),
            },
        };
        let opened = storage
            .pool
            .get()
            .and_then(|mut c| migrations::apply(&mut c));
        opened.map_err(|e| DbError {
            message: format!("cannot open the database {}: {e}", without_password(url)),
            ..e
        })?;
        Ok(storage)
    }

    /// Runs `f` in a transaction, again when PostgreSQL aborts it as a deadlock or a
    /// serialization failure.
    fn transaction<T, E>(&self, mut f: impl FnMut(&mut Transaction) -> Result<T, E>) -> Result<T, E>
    where
        E: From<::postgres::Error> + From<DbError> + RetryCheck,
    {
        let mut conn = self.pool.get()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = conn.transaction()?;
            let result = f(&mut tx).and_then(|v| tx.commit().map(|()| v).map_err(E::from));
            match result {
                Err(e) if attempt < ATTEMPTS && e.is_retryable() => {
                    std::thread::sleep(Duration::from_millis(5 * attempt as u64));
                }
                r => return r,
            }
        }
    }
}

/// Whether an error is a transaction abort worth retrying.
trait RetryCheck {
    fn is_retryable(&self) -> bool;
}

impl RetryCheck for DbError {
    fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl RetryCheck for StoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Db(e) if e.is_retryable())
    }
}

impl Storage for PgStorage {
    fn kind(&self) -> &'static str {
        "postgres"
    }
    fn ping(&self) -> DbResult<()> {
        self.pool.get()?.simple_query("SELECT 1")?;
        Ok(())
    }
    fn prepare(&self) -> Result<(), String> {
        // Stages of snapshots that a replica stopped streaming an hour ago or more;
        // younger ones may belong to a replica streaming now.
        let mut c = self.pool.get().map_err(|e| e.to_string())?;
        c.execute(
            "DELETE FROM inventory_stage WHERE staged_at < $1",
            &[&(now() - 3600.0)],
        )
        .map_err(|e| e.to_string())?;
        Ok(())
    }
    fn submit(&self, orders: &[Order]) -> Result<SubmitOutcome, StoreError> {
        self.transaction(|tx| ledger::submit(tx, orders))
    }
    fn pending_queue(&self) -> DbResult<(usize, Option<f64>)> {
        let row = self
            .pool
            .get()?
            .query_one("SELECT COUNT(*), MIN(received_at) FROM queue", &[])?;
        Ok((row.get::<_, i64>(0) as usize, row.get(1)))
    }
    fn pending(&self, limit: usize) -> DbResult<Vec<PendingOrder>> {
        ledger::pending(&mut *self.pool.get()?, limit)
    }
    fn order(&self, id: &str) -> DbResult<Option<OrderRecord>> {
        ledger::order(&mut *self.pool.get()?, id)
    }
    fn cancel(&self, id: &str) -> Result<OrderRecord, StoreError> {
        self.transaction(|tx| ledger::cancel(tx, id))?;
        Ok(self.order(id)?.expect("the order exists"))
    }
    fn reroute(&self, id: &str, node: &str) -> Result<OrderRecord, StoreError> {
        self.transaction(|tx| ledger::reroute(tx, id, node))?;
        Ok(self.order(id)?.expect("the order exists"))
    }
    fn network(&self) -> DbResult<Option<NetworkConfig>> {
        let row = self
            .pool
            .get()?
            .query_opt("SELECT value FROM config WHERE key = 'network'", &[])?;
        Ok(row.and_then(|r| serde_json::from_str(r.get::<_, &str>(0)).ok()))
    }
    fn network_version(&self) -> DbResult<i64> {
        let row = self.pool.get()?.query_one(
            "SELECT value::BIGINT FROM config WHERE key = 'network_version'",
            &[],
        )?;
        Ok(row.get(0))
    }
    fn set_network(&self, network: &NetworkConfig) -> DbResult<i64> {
        let text = serde_json::to_string(network).expect("network serializes");
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO config (key, value) VALUES ('network', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&text],
            )?;
            let row = tx.query_one(
                "UPDATE config SET value = (value::BIGINT + 1)::TEXT
                 WHERE key = 'network_version' RETURNING value::BIGINT",
                &[],
            )?;
            Ok(row.get(0))
        })
    }
    fn inventory_of_skus(&self, skus: &[&str]) -> DbResult<Vec<InventoryRow>> {
        let rows = self.pool.get()?.query(
            "SELECT node, sku, on_hand, reserved, safety_stock FROM inventory
             WHERE sku = ANY($1)",
            &[&skus],
        )?;
        let count = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
        Ok(rows
            .iter()
            .map(|r| InventoryRow {
                node: r.get(0),
                sku: r.get(1),
                on_hand: count(r.get(2)),
                reserved: count(r.get(3)),
                safety_stock: count(r.get(4)),
            })
            .collect())
    }
    fn inventory_of(&self, sku: &str) -> DbResult<Vec<StockLevel>> {
        let rows = self.pool.get()?.query(
            "SELECT node, sku, on_hand, reserved, safety_stock FROM inventory
             WHERE sku = $1 ORDER BY node",
            &[&sku],
        )?;
        Ok(rows
            .iter()
            .map(|r| StockLevel {
                node: r.get(0),
                sku: r.get(1),
                on_hand: r.get(2),
                reserved: r.get(3),
                safety_stock: r.get(4),
            })
            .collect())
    }
    fn set_inventory(&self, rows: &[InventoryRow], full: bool) -> DbResult<()> {
        self.transaction(|tx| ledger::set_inventory(tx, rows, full))
    }
    fn stage_rows(&self, upload: i64, rows: &[InventoryRow]) -> DbResult<()> {
        self.transaction(|tx| ledger::stage_rows(tx, upload, rows))
    }
    fn apply_stage(&self, upload: i64, full: bool) -> DbResult<usize> {
        self.transaction(|tx| ledger::apply_stage(tx, upload, full))
    }
    fn discard_stage(&self, upload: i64) -> DbResult<()> {
        self.pool
            .get()?
            .execute("DELETE FROM inventory_stage WHERE upload = $1", &[&upload])?;
        Ok(())
    }
    fn apply_deltas(
        &self,
        deltas: &[InventoryDelta],
        force: bool,
    ) -> Result<Vec<String>, StoreError> {
        self.transaction(|tx| deltas::apply_deltas(tx, deltas, force))
    }
    fn capacity_used(&self) -> DbResult<HashMap<String, (u64, u64)>> {
        let rows = self
            .pool
            .get()?
            .query("SELECT node, shipments, units FROM capacity_used", &[])?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    (r.get::<_, i64>(1) as u64, r.get::<_, i64>(2) as u64),
                )
            })
            .collect())
    }
    fn reset_capacity(&self) -> DbResult<()> {
        self.pool.get()?.execute("DELETE FROM capacity_used", &[])?;
        Ok(())
    }
    fn windows(&self, limit: usize) -> DbResult<Vec<WindowRecord>> {
        let rows = self.pool.get()?.query(
            "SELECT id, opened_at, closed_at, decided_at, kpis FROM windows
             ORDER BY id DESC LIMIT $1",
            &[&(limit as i64)],
        )?;
        Ok(rows
            .iter()
            .map(|r| WindowRecord {
                id: r.get(0),
                opened_at: r.get(1),
                closed_at: r.get(2),
                decided_at: r.get(3),
                kpis: serde_json::from_str(r.get::<_, &str>(4)).unwrap_or_default(),
            })
            .collect())
    }
    fn recent_flows(&self, windows: i64, limit: usize) -> DbResult<Vec<(String, f64, f64)>> {
        ledger::recent_flows(&mut *self.pool.get()?, windows, limit)
    }
    fn next_window_id(&self) -> DbResult<i64> {
        let row = self
            .pool
            .get()?
            .query_one("SELECT COALESCE(MAX(id), 0) + 1 FROM windows", &[])?;
        Ok(row.get(0))
    }
    fn commit_window(
        &self,
        fence: &Fence,
        window: &WindowRecord,
        network: &NetworkConfig,
        taken: &[PendingOrder],
        instance: &Instance,
        plan: &Plan,
    ) -> Result<CommitCounts, StoreError> {
        self.transaction(|tx| {
            ledger::commit_window(tx, fence, window, network, taken, instance, plan)
        })
    }
    fn claim_lease(&self, pool: &str, replica: &str, ttl: Duration) -> DbResult<Option<i64>> {
        // The holder renews with the same token; anyone takes a lease that ran out,
        // with the next token.
        let row = self.pool.get()?.query_opt(
            "INSERT INTO leases (pool, holder, token, expires_at)
             VALUES ($1, $2, 1, clock_timestamp() + $3 * INTERVAL '1 second')
             ON CONFLICT (pool) DO UPDATE SET
                 token = CASE WHEN leases.holder = excluded.holder THEN leases.token
                              ELSE leases.token + 1 END,
                 holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at < clock_timestamp()
             RETURNING token",
            &[&pool, &replica, &ttl.as_secs_f64()],
        )?;
        Ok(row.map(|r| r.get(0)))
    }
    fn release_lease(&self, pool: &str, replica: &str) -> DbResult<()> {
        self.pool.get()?.execute(
            "UPDATE leases SET expires_at = clock_timestamp() - INTERVAL '1 second'
             WHERE pool = $1 AND holder = $2",
            &[&pool, &replica],
        )?;
        Ok(())
    }
    fn heartbeat(&self, replica: &str, address: &str, started_at: f64) -> DbResult<()> {
        self.pool.get()?.execute(
            "INSERT INTO replicas (id, address, started_at, seen_at)
             VALUES ($1, $2, $3, clock_timestamp())
             ON CONFLICT (id) DO UPDATE SET address = excluded.address,
                 seen_at = excluded.seen_at",
            &[&replica, &address, &started_at],
        )?;
        Ok(())
    }
    fn cluster(&self, within: Duration) -> DbResult<(Vec<ReplicaRecord>, Vec<LeaseRecord>)> {
        let mut c = self.pool.get()?;
        let replicas = c
            .query(
                "SELECT id, address, started_at,
                        EXTRACT(EPOCH FROM clock_timestamp() - seen_at)::FLOAT8
                 FROM replicas WHERE seen_at > clock_timestamp() - $1 * INTERVAL '1 second'
                 ORDER BY started_at",
                &[&within.as_secs_f64()],
            )?
            .iter()
            .map(|r| ReplicaRecord {
                id: r.get(0),
                address: r.get(1),
                started_at: r.get(2),
                seen_ago: r.get(3),
            })
            .collect();
        let leases = c
            .query(
                "SELECT pool, holder, token,
                        EXTRACT(EPOCH FROM expires_at - clock_timestamp())::FLOAT8
                 FROM leases ORDER BY pool",
                &[],
            )?
            .iter()
            .map(|r| LeaseRecord {
                pool: r.get(0),
                holder: r.get(1),
                token: r.get(2),
                expires_in: r.get(3),
            })
            .collect();
        Ok((replicas, leases))
    }
}
