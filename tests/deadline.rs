//! Short budgets through the real binary: every `domopt solve` that runs out of
//! time mid-HiGHS still exits 0 with a valid plan (no solver thread left to crash
//! the process at exit).

mod common;

use domopt::domain::{Instance, PlanStatus};
use domopt::format::{read_plan, write_json};
use domopt::generate::{GenParams, generate};
use std::path::Path;
use std::process::Command;

/// Writes a generated window to `dir` and returns it with its path.
fn window(dir: &Path, orders: usize, nodes: usize, tightness: f64) -> (Instance, String) {
    let inst = generate(&GenParams {
        orders,
        nodes,
        skus: orders / 2,
        seed: 7,
        tightness,
        ..GenParams::default()
    });
    let path = dir.join(format!("w{orders}.json"));
    write_json(&inst, Some(&path)).unwrap();
    (inst, path.to_string_lossy().into_owned())
}

#[test]
fn short_budgets_exit_zero_with_a_valid_plan() {
    let dir = tempfile::tempdir().unwrap();
    // A tight 800-order window (the shape that aborted at exit), and larger ones
    // that no budget here solves to the end.
    let windows = [
        window(dir.path(), 800, 20, 0.8),
        window(dir.path(), 3000, 30, 1.0),
        window(dir.path(), 8000, 40, 1.0),
    ];
    let budgets = [0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0];
    let mut cut_short = 0;
    let mut runs = 0;
    for (inst, path) in &windows {
        for (k, budget) in budgets.iter().enumerate() {
            let out = dir.path().join(format!("p-{}-{k}.json", inst.orders.len()));
            let result = Command::new(env!("CARGO_BIN_EXE_domopt"))
                .args(["solve", path, "--solver", "mip", "--threads", "2"])
                .args(["--time-limit", &budget.to_string()])
                .args(["--out", out.to_str().unwrap()])
                .output()
                .unwrap();
            assert!(
                result.status.success(),
                "budget {budget}s on {} orders: {:?}\n{}",
                inst.orders.len(),
                result.status,
                String::from_utf8_lossy(&result.stderr)
            );
            let plan = read_plan(&out).unwrap();
            common::assert_valid(inst, &plan);
            runs += 1;
            cut_short += usize::from(plan.status != PlanStatus::Optimal);
            eprintln!(
                "{} orders, budget {budget}s: {:?} in {:.3}s",
                inst.orders.len(),
                plan.status,
                plan.solve_seconds
            );
        }
    }
    // The budgets must bind: most runs end with HiGHS stopped, not finished.
    assert!(
        cut_short * 2 > runs,
        "only {cut_short} of {runs} runs were cut short by their budget"
    );
}

#[test]
fn a_raised_cancel_flag_ends_a_long_solve_of_a_large_window_early() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    // A large window (column generation without the warm master, neighbourhood
    // search) with a budget far longer than the test waits.
    let inst = generate(&GenParams {
        orders: 6_000,
        nodes: 30,
        skus: 1_500,
        seed: 3,
        ..GenParams::default()
    });
    let cancel = Arc::new(AtomicBool::new(false));
    let opts = domopt::SolveOptions {
        time_limit: Duration::from_secs(600),
        threads: 2,
        cancel: Some(cancel.clone()),
        ..Default::default()
    };
    let started = Instant::now();
    let plan = std::thread::scope(|s| {
        let solve = s.spawn(|| domopt::solve(&inst, &opts));
        std::thread::sleep(Duration::from_secs(2));
        cancel.store(true, Ordering::Relaxed);
        solve.join().unwrap()
    });
    // Far inside the 600 s budget whatever the machine's speed.
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "{:?}",
        started.elapsed()
    );
    common::assert_valid(&inst, &plan);
    assert_ne!(plan.status, PlanStatus::Optimal, "stopped before any proof");
}
