//! How far past its budget a solve runs, and whether a solve that hit its budget
//! slows the next one.
//!
//! Run: `cargo bench --bench overrun` (about 15 minutes on 2 cores). It prints:
//! - the overrun of the whole `domopt solve` command (wall time minus
//!   `--time-limit`) over repeated runs of 1,000- and 10,000-order windows at
//!   budgets from 0.5 s to 5 s: median, 99th percentile and largest, over all runs
//!   and over the runs that HiGHS had not finished by the deadline;
//! - the solve time of a small window right after a window that used up its
//!   budget, beside the same solve right after one that finished early.
//!
//! Under `cargo test` it makes one short run of each kind, checks the plans and
//! prints nothing else. `OVERRUN_REPEATS=N` sets the repeats per budget (20).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use domopt::check::check;
use domopt::domain::{Instance, PlanStatus};
use domopt::format::{read_plan, write_json};
use domopt::generate::{GenParams, generate};
use domopt::solve::{SolveOptions, solve};

/// One `domopt solve` run: its window, budget, wall time and how it ended.
struct Run {
    orders: usize,
    budget: f64,
    wall: f64,
    status: PlanStatus,
}

/// A window of `orders` orders, tight enough that HiGHS is still busy at the
/// shorter budgets.
fn window(orders: usize, seed: u64) -> Instance {
    generate(&GenParams {
        orders,
        nodes: if orders > 5000 { 50 } else { 20 },
        skus: if orders > 5000 { 2000 } else { 400 },
        tightness: 0.8,
        seed,
        ..GenParams::default()
    })
}

/// Runs `domopt solve` once and returns its wall time and plan status.
fn solve_command(window: &Path, inst: &Instance, budget: f64, out: &Path) -> Run {
    let started = Instant::now();
    let result = Command::new(env!("CARGO_BIN_EXE_domopt"))
        .arg("solve")
        .arg(window)
        .args(["--solver", "mip", "--threads", "2"])
        .args(["--time-limit", &budget.to_string()])
        .arg("--out")
        .arg(out)
        .output()
        .expect("domopt runs");
    let wall = started.elapsed().as_secs_f64();
    assert!(
        result.status.success(),
        "domopt solve exited {:?}: {}",
        result.status,
        String::from_utf8_lossy(&result.stderr)
    );
    let plan = read_plan(out).expect("plan readable");
    let report = check(inst, &plan);
    assert!(report.is_valid(), "invalid plan: {:?}", report.violations);
    Run {
        orders: inst.orders.len(),
        budget,
        wall,
        status: plan.status,
    }
}

/// The `q` quantile (nearest rank) of `xs`, in milliseconds.
fn quantile_ms(xs: &[f64], q: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len());
    v[rank - 1] * 1000.0
}

/// Prints one line of overrun figures for `runs`.
fn report(label: &str, runs: &[&Run]) {
    let over: Vec<f64> = runs.iter().map(|r| r.wall - r.budget).collect();
    println!(
        "{label:<34} runs {:>4}  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
        over.len(),
        quantile_ms(&over, 0.5),
        quantile_ms(&over, 0.99),
        quantile_ms(&over, 1.0)
    );
}

/// The command-overrun half: every (size, budget) pair `repeats` times, seeds
/// varying with the repeat.
fn command_overrun(dir: &Path, sizes: &[usize], budgets: &[f64], repeats: usize) -> Vec<Run> {
    let mut runs = Vec::new();
    for &orders in sizes {
        for seed in 0..repeats as u64 {
            let inst = window(orders, 100 + seed);
            let path = dir.join(format!("w{orders}-{seed}.json"));
            write_json(&inst, Some(&path)).expect("window written");
            for &budget in budgets {
                let out: PathBuf = dir.join("plan.json");
                runs.push(solve_command(&path, &inst, budget, &out));
            }
        }
    }
    runs
}

/// Solve time of `next` right after solving `before` with budget `first_budget`.
fn next_solve_seconds(before: &Instance, first_budget: f64, next: &Instance) -> f64 {
    let opts = |secs: f64| SolveOptions {
        time_limit: Duration::from_secs_f64(secs),
        threads: 2,
        ..SolveOptions::default()
    };
    let first = solve(before, "mip", &opts(first_budget)).expect("first solve");
    assert!(check(before, &first).is_valid());
    let started = Instant::now();
    let plan = solve(next, "mip", &opts(30.0)).expect("next solve");
    let seconds = started.elapsed().as_secs_f64();
    assert!(check(next, &plan).is_valid());
    seconds
}

/// The next-window half: a 1,000-order window solved after a 10,000-order window
/// that used its whole 1 s budget, and after a 200-order window that finished.
fn next_window(repeats: usize) {
    let busy = window(10_000, 1);
    let quick = window(200, 2);
    let next = window(1000, 3);
    let mut after_busy = Vec::new();
    let mut after_quick = Vec::new();
    for _ in 0..repeats {
        after_busy.push(next_solve_seconds(&busy, 1.0, &next));
        after_quick.push(next_solve_seconds(&quick, 1.0, &next));
    }
    let line = |label: &str, xs: &[f64]| {
        println!(
            "next 1k-order solve, {label:<28} p50 {:>7.1} ms  max {:>7.1} ms",
            quantile_ms(xs, 0.5),
            quantile_ms(xs, 1.0)
        )
    };
    line("after a budget-bound window", &after_busy);
    line("after a finished window", &after_quick);
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().expect("temp dir");
    if !benching {
        // `cargo test --all-targets`: one short run of each kind, checked.
        command_overrun(dir.path(), &[300], &[0.2], 1);
        return;
    }
    let repeats = std::env::var("OVERRUN_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let budgets = [0.5, 1.0, 2.0, 3.0, 5.0];
    let runs = command_overrun(dir.path(), &[1000, 10_000], &budgets, repeats);
    println!("overrun of `domopt solve` (wall - --time-limit), --threads 2");
    report("all runs", &runs.iter().collect::<Vec<_>>());
    let cut: Vec<&Run> = runs
        .iter()
        .filter(|r| r.status != PlanStatus::Optimal)
        .collect();
    report("runs stopped at the deadline", &cut);
    for orders in [1000, 10_000] {
        for budget in budgets {
            let these: Vec<&Run> = runs
                .iter()
                .filter(|r| r.orders == orders && r.budget == budget)
                .collect();
            report(&format!("{orders} orders, budget {budget} s"), &these);
        }
    }
    next_window(repeats.min(10));
}
