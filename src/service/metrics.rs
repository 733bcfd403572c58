//! Counters behind `/metrics`, rendered in the Prometheus text format.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Service counters. Rates (orders/s) come from Prometheus's `rate()` over the totals.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Orders stored by submit requests.
    pub orders_accepted: AtomicU64,
    /// Retried orders recognised as duplicates.
    pub orders_duplicate: AtomicU64,
    /// Orders whose decision was committed.
    pub orders_decided: AtomicU64,
    /// Orders deferred to a later window because stock changed during the solve.
    pub orders_deferred: AtomicU64,
    /// Windows decided.
    pub windows: AtomicU64,
    /// Windows whose plan came from the greedy fallback.
    pub fallbacks: AtomicU64,
    /// Units left unfilled by decided windows.
    pub unfilled_units: AtomicU64,
    /// HTTP responses by status class.
    pub responses_2xx: AtomicU64,
    /// 4xx responses.
    pub responses_4xx: AtomicU64,
    /// 5xx responses.
    pub responses_5xx: AtomicU64,
    /// `/v1/plan` solves running now.
    pub plans_running: AtomicU64,
    /// `/v1/plan` requests refused because every slot and queue place was taken.
    pub plans_rejected: AtomicU64,
    /// Seconds the last window spent after its solve (check and commit), as f64 bits.
    pub last_overhead_bits: AtomicU64,
    window: Mutex<WindowStats>,
}

#[derive(Debug, Default)]
struct WindowStats {
    solve_seconds_sum: f64,
    solve_seconds_last: f64,
    gap_last: f64,
}

impl Metrics {
    /// Records one decided window's solve time and gap.
    pub fn observe_window(&self, seconds: f64, gap: f64) {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        w.solve_seconds_sum += seconds;
        w.solve_seconds_last = seconds;
        w.gap_last = gap;
    }

    /// Counts one HTTP response.
    pub fn observe_status(&self, status: u16) {
        let c = match status {
            500.. => &self.responses_5xx,
            400.. => &self.responses_4xx,
            _ => &self.responses_2xx,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition; `pending` is the current pending-order gauge.
    pub fn render(&self, pending: usize) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            "domopt_orders_accepted_total",
            "Orders accepted.",
            get(&self.orders_accepted),
        );
        counter(
            "domopt_orders_duplicate_total",
            "Order retries recognised.",
            get(&self.orders_duplicate),
        );
        counter(
            "domopt_orders_decided_total",
            "Orders whose allocation was committed.",
            get(&self.orders_decided),
        );
        counter(
            "domopt_orders_deferred_total",
            "Orders deferred to a later window.",
            get(&self.orders_deferred),
        );
        counter(
            "domopt_windows_total",
            "Windows decided.",
            get(&self.windows),
        );
        counter(
            "domopt_window_fallbacks_total",
            "Windows decided by the greedy fallback.",
            get(&self.fallbacks),
        );
        counter(
            "domopt_unfilled_units_total",
            "Units left unfilled.",
            get(&self.unfilled_units),
        );
        counter(
            "domopt_plans_rejected_total",
            "Plan requests refused with 429 (pool and queue full).",
            get(&self.plans_rejected),
        );
        let _ = writeln!(
            out,
            "# HELP domopt_plans_running Plan solves running.\n# TYPE domopt_plans_running gauge\ndomopt_plans_running {}",
            get(&self.plans_running)
        );
        let w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            out,
            "# HELP domopt_window_solve_seconds Window solve time.\n# TYPE domopt_window_solve_seconds summary\ndomopt_window_solve_seconds_sum {}\ndomopt_window_solve_seconds_count {}",
            w.solve_seconds_sum,
            get(&self.windows)
        );
        let _ = writeln!(
            out,
            "# HELP domopt_window_last_solve_seconds Solve time of the last window.\n# TYPE domopt_window_last_solve_seconds gauge\ndomopt_window_last_solve_seconds {}",
            w.solve_seconds_last
        );
        let _ = writeln!(
            out,
            "# HELP domopt_window_last_gap Relative gap to the proved bound of the last window.\n# TYPE domopt_window_last_gap gauge\ndomopt_window_last_gap {}",
            if w.gap_last.is_finite() {
                w.gap_last
            } else {
                0.0
            }
        );
        let _ = writeln!(
            out,
            "# HELP domopt_pending_orders Orders waiting for a window.\n# TYPE domopt_pending_orders gauge\ndomopt_pending_orders {pending}"
        );
        let _ = writeln!(
            out,
            "# HELP domopt_http_responses_total HTTP responses by class.\n# TYPE domopt_http_responses_total counter\ndomopt_http_responses_total{{class=\"2xx\"}} {}\ndomopt_http_responses_total{{class=\"4xx\"}} {}\ndomopt_http_responses_total{{class=\"5xx\"}} {}",
            get(&self.responses_2xx),
            get(&self.responses_4xx),
            get(&self.responses_5xx)
        );
        out
    }
}
