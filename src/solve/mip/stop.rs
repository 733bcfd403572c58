//! Stopping HiGHS: an interrupt callback that ends a run at its deadline, or as
//! soon as the solve is cancelled, so that every run returns on the thread that
//! started it; and the release of the worker threads HiGHS starts for a run, so
//! that no HiGHS thread outlives it.
//!
//! HiGHS asks the callback between simplex iterations, interior-point iterations
//! and branch-and-bound steps; a run told to stop returns what it has (status
//! `Interrupt`). The run's `time_limit` option stays set as well: it also covers
//! the stretches (presolve) where HiGHS asks no callback.
//!
//! One stretch at the root node asks neither: the analytic-centre wait and the
//! central-rounding line search that follows it, which on a MIP of a few thousand
//! binaries can run for seconds. A MIP still at its root therefore stops once less
//! than its [`StopWhen::root_reserve`] is left, before it can enter that stretch.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use highs_sys::{HighsCallbackDataIn, HighsCallbackDataOut};

/// When a HiGHS run must stop: at `deadline`, or once `cancel` is raised.
#[derive(Debug, Clone)]
pub(crate) struct StopWhen {
    /// The instant the run must have returned by.
    pub deadline: Instant,
    /// Raised by whoever owns the solve to end it early (service shutdown).
    pub cancel: Option<Arc<AtomicBool>>,
    /// How much time a MIP still at its root node must have left to go on.
    pub root_reserve: Duration,
}

impl StopWhen {
    /// Whether the run should stop now.
    pub fn is_due(&self) -> bool {
        Instant::now() >= self.deadline
            || self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Whether a MIP still at its root node should stop now.
    fn root_is_due(&self) -> bool {
        Instant::now() + self.root_reserve >= self.deadline
    }
}

/// Seconds of root reserve per squared binary column: the central rounding
/// fixes every binary once per line-search step, each fix propagated, so its
/// length grows faster than the model. Fitted to the longest stretches seen on
/// room MIPs (docs/tuning.md).
const ROOT_RESERVE_PER_COL2: f64 = 1.6e-7;

/// Longest root reserve: beyond it a MIP is left its whole budget.
const ROOT_RESERVE_MAX: Duration = Duration::from_secs(30);

/// The root reserve of a MIP of `cols` columns (see [`StopWhen::root_reserve`]).
pub(crate) fn root_reserve(cols: usize) -> Duration {
    let secs = ROOT_RESERVE_PER_COL2 * (cols as f64).powi(2);
    Duration::from_secs_f64(secs).min(ROOT_RESERVE_MAX)
}

/// The callback kinds through which HiGHS offers to be interrupted.
const INTERRUPTS: [c_int; 3] = [
    highs_sys::kHighsCallbackMipInterrupt as c_int,
    highs_sys::kHighsCallbackSimplexInterrupt as c_int,
    highs_sys::kHighsCallbackIpmInterrupt as c_int,
];

/// HiGHS's callback: asks HiGHS to stop once the [`StopWhen`] behind `user` is due.
unsafe extern "C" fn interrupt(
    kind: c_int,
    _message: *const c_char,
    out: *const HighsCallbackDataOut,
    data_in: *mut HighsCallbackDataIn,
    user: *mut c_void,
) {
    if user.is_null() || data_in.is_null() {
        return;
    }
    // SAFETY: `user` is the `StopWhen` given to `install`, which the caller keeps
    // alive for as long as the instance can run; it is only read here.
    let stop = unsafe { &*(user as *const StopWhen) };
    // SAFETY: HiGHS passes its output block, valid for the call, or null.
    let at_root = kind == highs_sys::kHighsCallbackMipInterrupt as c_int
        && !out.is_null()
        && unsafe { (*out).mip_node_count } == 0;
    if stop.is_due() || (at_root && stop.root_is_due()) {
        // SAFETY: HiGHS passes a valid, writable input block to interrupt callbacks.
        unsafe { (*data_in).user_interrupt = 1 };
    }
}

/// Makes every later run of `highs` stop when `stop` is due.
///
/// # Safety
/// `highs` must be a live HiGHS instance, and `stop` must stay at the same address
/// and alive until the instance is destroyed or runs no more.
pub(crate) unsafe fn install(highs: *mut c_void, stop: *const StopWhen) {
    // SAFETY: as the caller promises; the callback only reads `stop`.
    unsafe {
        highs_sys::Highs_setCallback(highs, Some(interrupt), stop as *mut c_void);
        for kind in INTERRUPTS {
            highs_sys::Highs_startCallback(highs, kind);
        }
    }
}

/// Shuts down, when dropped, the task scheduler HiGHS keeps for the current
/// thread, joining its worker threads. HiGHS sizes that scheduler by the first
/// run's `threads` option and refuses a later run on the thread with another
/// count; left alone, it detaches its workers when the thread ends. Hold one
/// across every HiGHS run.
pub(crate) struct SchedulerRelease;

impl Drop for SchedulerRelease {
    fn drop(&mut self) {
        // SAFETY: no HiGHS run is in progress on this thread once the guard drops;
        // a thread without a scheduler makes this a no-op.
        unsafe { highs_sys::Highs_resetGlobalScheduler(1) };
    }
}
