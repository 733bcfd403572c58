//! Counters behind `/metrics`, rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the HTTP latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

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
    /// Windows that failed (their orders stay pending for the next window).
    pub window_failures: AtomicU64,
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
    /// Seconds per order the last window spent after its solve (check and commit),
    /// as f64 bits.
    pub last_overhead_bits: AtomicU64,
    window: Mutex<WindowStats>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

#[derive(Debug, Default)]
struct WindowStats {
    solve_seconds_sum: f64,
    solve_seconds_last: f64,
    gap_last: f64,
}

/// A cumulative histogram over [`LATENCY_BUCKETS`].
#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The reason label of a request refused by a limit, by its error code; `None` for
/// codes that are not limits.
pub fn limit_reason(code: &str) -> Option<&'static str> {
    Some(match code {
        "E4002" => "body_too_large",
        "E4080" => "body_timeout",
        "E4290" => "plan_queue_full",
        "E4291" => "pending_ceiling",
        "E4310" => "headers_too_large",
        _ => return None,
    })
}

/// What `/metrics` shows about the queue, read from the database.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueGauges {
    /// Orders waiting for a window.
    pub pending: usize,
    /// Seconds since the oldest pending order arrived (0 when none is pending).
    pub oldest_pending_seconds: f64,
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

    /// Records one request's latency under its route pattern (e.g. `/v1/orders/{id}`).
    pub fn observe_latency(&self, method: &str, route: &str, seconds: f64) {
        let mut map = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let h = map
            .entry((route.to_string(), method.to_string()))
            .or_default();
        for (b, le) in h.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= le {
                *b += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Counts one request or connection refused by a limit (`reason` as in
    /// [`limit_reason`], or `connections`, `header_timeout`).
    pub fn reject(&self, reason: &'static str) {
        *self
            .rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self, queue: QueueGauges) -> String {
        let mut out = String::new();
        self.render_counters(&mut out);
        self.render_windows(&mut out);
        gauge(
            &mut out,
            "domopt_pending_orders",
            "Orders waiting for a window.",
            queue.pending as f64,
        );
        gauge(
            &mut out,
            "domopt_oldest_pending_age_seconds",
            "Seconds since the oldest pending order arrived.",
            queue.oldest_pending_seconds,
        );
        self.render_http(&mut out);
        out
    }

    fn render_counters(&self, out: &mut String) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        for (name, help, value) in [
            (
                "domopt_orders_accepted_total",
                "Orders accepted.",
                &self.orders_accepted,
            ),
            (
                "domopt_orders_duplicate_total",
                "Order retries recognised.",
                &self.orders_duplicate,
            ),
            (
                "domopt_orders_decided_total",
                "Orders whose allocation was committed.",
                &self.orders_decided,
            ),
            (
                "domopt_orders_deferred_total",
                "Orders deferred to a later window.",
                &self.orders_deferred,
            ),
            ("domopt_windows_total", "Windows decided.", &self.windows),
            (
                "domopt_window_failures_total",
                "Windows that failed; their orders stay pending.",
                &self.window_failures,
            ),
            (
                "domopt_window_fallbacks_total",
                "Windows decided by the greedy fallback.",
                &self.fallbacks,
            ),
            (
                "domopt_unfilled_units_total",
                "Units left unfilled.",
                &self.unfilled_units,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                get(value)
            );
        }
        gauge(
            out,
            "domopt_plans_running",
            "Plan solves running.",
            get(&self.plans_running) as f64,
        );
        let _ = writeln!(
            out,
            "# HELP domopt_requests_rejected_total Requests and connections refused by a limit, by reason.\n# TYPE domopt_requests_rejected_total counter"
        );
        let rejected = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        for (reason, n) in rejected.iter() {
            let _ = writeln!(
                out,
                "domopt_requests_rejected_total{{reason=\"{reason}\"}} {n}"
            );
        }
    }

    fn render_windows(&self, out: &mut String) {
        let w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            out,
            "# HELP domopt_window_solve_seconds Window solve time.\n# TYPE domopt_window_solve_seconds summary\ndomopt_window_solve_seconds_sum {}\ndomopt_window_solve_seconds_count {}",
            w.solve_seconds_sum,
            self.windows.load(Ordering::Relaxed)
        );
        gauge(
            out,
            "domopt_window_last_solve_seconds",
            "Solve time of the last window.",
            w.solve_seconds_last,
        );
        let gap = if w.gap_last.is_finite() {
            w.gap_last
        } else {
            0.0
        };
        gauge(
            out,
            "domopt_window_last_gap",
            "Relative gap to the proved bound of the last window.",
            gap,
        );
    }

    fn render_http(&self, out: &mut String) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP domopt_http_responses_total HTTP responses by class.\n# TYPE domopt_http_responses_total counter\ndomopt_http_responses_total{{class=\"2xx\"}} {}\ndomopt_http_responses_total{{class=\"4xx\"}} {}\ndomopt_http_responses_total{{class=\"5xx\"}} {}",
            get(&self.responses_2xx),
            get(&self.responses_4xx),
            get(&self.responses_5xx)
        );
        let name = "domopt_http_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} HTTP request latency by route and method.\n# TYPE {name} histogram"
        );
        let map = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        for ((route, method), h) in map.iter() {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            for (n, le) in h.buckets.iter().zip(LATENCY_BUCKETS) {
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {n}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
        }
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}
