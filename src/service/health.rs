//! Readiness beyond "the databases answer": windows that keep failing, writes that
//! keep failing, and a data directory running out of disk. `/readyz` answers 503 with
//! every problem found, so a load balancer stops sending work to a server that cannot
//! store or decide it.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Failed windows in a row that make the server not ready.
pub const WINDOW_FAILURES_NOT_READY: u64 = 3;

/// Failed write requests in a row that make the server not ready.
pub const WRITE_FAILURES_NOT_READY: u64 = 3;

/// Write failures older than this no longer count: a server taken out of rotation gets
/// no writes that could show it has recovered, so the evidence has to expire (the
/// disk check of [`Readiness::problems`] still runs each time).
pub const WRITE_FAILURE_MEMORY: Duration = Duration::from_secs(30);

/// Outcomes that `/readyz` weighs.
#[derive(Debug, Default)]
pub struct Readiness {
    window_failures_in_a_row: AtomicU64,
    write_failures_in_a_row: AtomicU64,
    last_write_failure: Mutex<Option<Instant>>,
}

impl Readiness {
    /// Records a window's outcome.
    pub fn window_done(&self, ok: bool) {
        if ok {
            self.window_failures_in_a_row.store(0, Ordering::Relaxed);
        } else {
            self.window_failures_in_a_row
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a write request's outcome (a storage failure, or success).
    pub fn write_done(&self, ok: bool) {
        let mut last = self
            .last_write_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if ok {
            self.write_failures_in_a_row.store(0, Ordering::Relaxed);
            *last = None;
        } else {
            self.write_failures_in_a_row.fetch_add(1, Ordering::Relaxed);
            *last = Some(Instant::now());
        }
    }

    /// Why the server is not ready, judged from recorded outcomes and the free space
    /// under `data_dir` (at least `min_free_bytes`); empty when it is ready.
    pub fn problems(&self, data_dir: Option<&Path>, min_free_bytes: u64) -> Vec<String> {
        let mut out = Vec::new();
        let windows = self.window_failures_in_a_row.load(Ordering::Relaxed);
        if windows >= WINDOW_FAILURES_NOT_READY {
            out.push(format!(
                "the last {windows} windows failed (see the log); their orders stay pending"
            ));
        }
        let writes = self.write_failures_in_a_row.load(Ordering::Relaxed);
        let recent = self
            .last_write_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|t| t.elapsed() < WRITE_FAILURE_MEMORY);
        if writes >= WRITE_FAILURES_NOT_READY && recent {
            out.push(format!(
                "the last {writes} writes failed in the database (see the log)"
            ));
        }
        match data_dir.and_then(free_disk_bytes) {
            Some(free) if free < min_free_bytes => out.push(format!(
                "the disk of the data directory has {} MiB free, less than the {} MiB required",
                free >> 20,
                min_free_bytes >> 20
            )),
            _ => {}
        }
        out
    }
}

/// Bytes available to this process on the file system holding `dir`; `None` when the
/// platform cannot tell.
pub fn free_disk_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let s = rustix::fs::statvfs(dir).ok()?;
        Some(s.f_bavail.saturating_mul(s.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}
