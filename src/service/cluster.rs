//! Replicas and the leader. Every replica takes orders and answers reads; exactly one
//! at a time decides windows: the holder of the pool's lease in the database. The
//! lease runs out unless renewed, so when its holder dies another replica takes it
//! within the lease time, with a larger fencing token. Each window's commit carries
//! the token ([`Fence`]) and the database refuses it unless the token is still the
//! lease's and the lease has not run out, so a leader that stalled past its lease
//! can never commit.
//!
//! With SQLite there is one process (the data directory's lock keeps others out),
//! and it always leads.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::AppState;
use super::network::LoadedNetwork;
use super::store::{Fence, now};

/// The pool every order belongs to.
pub const DEFAULT_POOL: &str = "default";

/// This replica: its id, and the lease it holds, if any.
pub struct Membership {
    /// Unique per process start: host name, process id and start time.
    pub replica: String,
    /// Unix seconds when this replica started.
    pub started_at: f64,
    /// The address it serves on (set once listening).
    pub address: Mutex<String>,
    lease: Mutex<Option<HeldLease>>,
    network_version: AtomicI64,
    /// The only replica there can be (SQLite): it always leads.
    solo: bool,
}

/// A lease this replica holds, and until when it may act on it by its own clock.
#[derive(Debug, Clone, Copy)]
struct HeldLease {
    token: i64,
    until: Instant,
}

impl Membership {
    /// A replica whose cached network is `network_version`; a `solo` one (SQLite)
    /// always leads.
    pub fn new(network_version: i64, solo: bool) -> Membership {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        let started_at = now();
        Membership {
            replica: format!(
                "{host}-{}-{:x}",
                std::process::id(),
                (started_at * 1e3) as u64
            ),
            started_at,
            address: Mutex::new(String::new()),
            lease: Mutex::new(None),
            network_version: AtomicI64::new(network_version),
            solo,
        }
    }

    /// The fence for a window's commit while this replica holds the lease (by its own
    /// clock; the database has the last word).
    pub fn fence(&self) -> Option<Fence> {
        if self.solo {
            return Some(Fence {
                pool: DEFAULT_POOL.into(),
                replica: self.replica.clone(),
                token: 1,
            });
        }
        let held = (*self.lease.lock().unwrap_or_else(|e| e.into_inner()))?;
        (Instant::now() < held.until).then(|| Fence {
            pool: DEFAULT_POOL.into(),
            replica: self.replica.clone(),
            token: held.token,
        })
    }

    /// Whether this replica leads now.
    pub fn is_leader(&self) -> bool {
        self.fence().is_some()
    }

    fn set_lease(&self, lease: Option<HeldLease>) {
        *self.lease.lock().unwrap_or_else(|e| e.into_inner()) = lease;
    }
}

/// Renews this replica's heartbeat and claims (or renews) the lease every third of
/// the lease time until shutdown, and reloads the network when another replica
/// replaced it. A replica that takes the lease over wakes the window loop.
pub async fn lease_loop(state: Arc<AppState>) {
    let ttl = state.config.lease;
    let mut stop = state.stop.subscribe();
    loop {
        let asked = Instant::now();
        let s = state.clone();
        let claimed = tokio::task::spawn_blocking(move || claim(&s, ttl)).await;
        let was_leader = state.cluster.is_leader();
        match claimed {
            Ok(Ok(_)) if state.cluster.solo => {}
            Ok(Ok(token)) => {
                state.cluster.set_lease(token.map(|token| HeldLease {
                    token,
                    until: asked + ttl,
                }));
                if token.is_some() && !was_leader {
                    tracing::info!(token, replica = %state.cluster.replica, "leading: this replica decides windows");
                    state.wake.notify_one();
                } else if token.is_none() && was_leader {
                    tracing::warn!("lease lost: another replica decides windows");
                }
            }
            Ok(Err(e)) => tracing::error!("renewing the lease failed: {e}"),
            Err(e) => tracing::error!("renewing the lease panicked: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(ttl / 3) => {},
            _ = stop.changed() => break,
        }
    }
}

/// Gives up the lease at shutdown, after the last window was decided, so another
/// replica takes over at once instead of after the lease time.
pub async fn release(state: &Arc<AppState>) {
    if state.cluster.solo || !state.cluster.is_leader() {
        return;
    }
    state.cluster.set_lease(None);
    let s = state.clone();
    let _ = tokio::task::spawn_blocking(move || {
        s.db()
            .release_lease(DEFAULT_POOL, &s.cluster.replica)
            .map_err(|e| tracing::warn!("releasing the lease failed: {e}"))
    })
    .await;
}

/// One round of [`lease_loop`] on a blocking thread: heartbeat, network version,
/// lease. The lease's token when this replica holds it.
fn claim(state: &AppState, ttl: Duration) -> Result<Option<i64>, String> {
    let db = state.db();
    let m = &state.cluster;
    let address = m.address.lock().unwrap_or_else(|e| e.into_inner()).clone();
    db.heartbeat(&m.replica, &address, m.started_at)
        .map_err(|e| e.to_string())?;
    if m.solo {
        return Ok(Some(1));
    }
    refresh_network(state).map_err(|e| e.to_string())?;
    db.claim_lease(DEFAULT_POOL, &m.replica, ttl)
        .map_err(|e| e.to_string())
}

/// Reloads the cached network when its stored version changed (another replica
/// replaced it). Blocking.
pub fn refresh_network(state: &AppState) -> super::store::DbResult<()> {
    let version = state.db().network_version()?;
    if version == state.cluster.network_version.load(Ordering::SeqCst) {
        return Ok(());
    }
    let loaded = state
        .db()
        .network()?
        .map(|n| Arc::new(LoadedNetwork::new(n)));
    *state.network.write().unwrap_or_else(|e| e.into_inner()) = loaded;
    state
        .cluster
        .network_version
        .store(version, Ordering::SeqCst);
    Ok(())
}

/// Notes that this replica stored network `version` itself (no reload needed).
pub fn network_stored(state: &AppState, version: i64) {
    state
        .cluster
        .network_version
        .store(version, Ordering::SeqCst);
}
