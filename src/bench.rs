//! `domopt bench`: generates windows of several sizes (or reads every window of
//! directories, one family each), solves each with the greedy policies and the MIP,
//! checks every plan, and prints the README's benchmark tables.

use std::time::{Duration, Instant};

use crate::check::check;
use crate::domain::Instance;
use crate::format::read_instance;
use crate::generate::{GenParams, generate};
use crate::solve::{SolveOptions, greedy::Policy, solve};

/// One benchmark size: a generated window and the MIP's time budget.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchCase {
    /// Orders in the window.
    pub orders: usize,
    /// Nodes.
    pub nodes: usize,
    /// Skus.
    pub skus: usize,
    /// MIP time budget in seconds.
    pub seconds: f64,
}

impl BenchCase {
    /// Parses `ORDERSxNODESxSKUS:SECONDS`, e.g. `10000x50x2000:5`.
    pub fn parse(s: &str) -> Result<BenchCase, String> {
        let err = || {
            format!("bad size \"{s}\": expected ORDERSxNODESxSKUS:SECONDS, e.g. 10000x50x2000:5")
        };
        let (dims, secs) = s.split_once(':').ok_or_else(err)?;
        let d: Vec<usize> = dims
            .split('x')
            .map(|x| x.parse().map_err(|_| err()))
            .collect::<Result<_, _>>()?;
        let seconds: f64 = secs.parse().map_err(|_| err())?;
        if d.len() != 3 || d[1] == 0 || d[2] == 0 || !(seconds > 0.0 && seconds.is_finite()) {
            return Err(err());
        }
        Ok(BenchCase {
            orders: d[0],
            nodes: d[1],
            skus: d[2],
            seconds,
        })
    }
}

/// One row of the benchmark table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchRow {
    /// The window: its size as `orders × nodes × skus`, or its file name.
    pub size: String,
    /// MIP time budget.
    pub budget_seconds: f64,
    /// Best greedy policy and its objective.
    pub best_greedy: (String, f64),
    /// MIP plan objective.
    pub mip_objective: f64,
    /// MIP lower bound.
    pub lower_bound: Option<f64>,
    /// (objective − bound) / objective.
    pub gap: Option<f64>,
    /// Saving of the MIP against the best greedy plan, as a fraction.
    pub saving_vs_greedy: f64,
    /// MIP wall time including model building.
    pub mip_seconds: f64,
    /// MIP plan status.
    pub status: String,
    /// Whether every plan passed the checker.
    pub all_valid: bool,
}

/// Runs the cases; `threads` goes to the MIP.
pub fn run(cases: &[BenchCase], seed: u64, threads: u32) -> Vec<BenchRow> {
    cases
        .iter()
        .map(|c| {
            let inst = generate(&GenParams {
                orders: c.orders,
                nodes: c.nodes,
                skus: c.skus,
                seed,
                ..Default::default()
            });
            let label = format!("{} × {} × {}", c.orders, c.nodes, c.skus);
            bench_window(&inst, label, c.seconds, seed, threads)
        })
        .collect()
}

/// One family of windows: the directory's name and its rows.
pub type Suite = (String, Vec<BenchRow>);

/// Runs every window (`*.json`, `*.json.gz`) of each directory at each budget, in file
/// name order; one [`Suite`] per directory.
pub fn run_suites(
    dirs: &[std::path::PathBuf],
    budgets: &[f64],
    seed: u64,
    threads: u32,
) -> Result<Vec<Suite>, String> {
    let mut suites = Vec::new();
    for dir in dirs {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.to_string_lossy();
                name.ends_with(".json") || name.ends_with(".json.gz")
            })
            .collect();
        files.sort();
        let mut rows = Vec::new();
        for file in files {
            let inst = read_instance(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let name = file.file_name().map_or(String::new(), |n| {
                let n = n.to_string_lossy();
                n.trim_end_matches(".gz")
                    .trim_end_matches(".json")
                    .to_string()
            });
            for &b in budgets {
                rows.push(bench_window(&inst, name.clone(), b, seed, threads));
            }
        }
        let family = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        suites.push((family, rows));
    }
    Ok(suites)
}

/// Solves one window with every greedy policy and with the MIP at `seconds`, checking
/// every plan.
pub fn bench_window(
    inst: &Instance,
    label: String,
    seconds: f64,
    seed: u64,
    threads: u32,
) -> BenchRow {
    let mut all_valid = true;
    let mut best_greedy = (String::new(), f64::INFINITY);
    for p in Policy::ALL {
        let plan = solve(inst, p.name(), &SolveOptions::default()).expect("known policy");
        all_valid &= check(inst, &plan).is_valid();
        if plan.objective < best_greedy.1 {
            best_greedy = (p.name().to_string(), plan.objective);
        }
    }
    let opts = SolveOptions {
        time_limit: Duration::from_secs_f64(seconds),
        threads,
        seed,
        ..Default::default()
    };
    let t = Instant::now();
    let plan = solve(inst, "mip", &opts).expect("mip");
    let mip_seconds = t.elapsed().as_secs_f64();
    all_valid &= check(inst, &plan).is_valid();
    let gap = plan
        .lower_bound
        .map(|lb| (plan.objective - lb) / plan.objective.abs().max(1e-9));
    BenchRow {
        size: label,
        budget_seconds: seconds,
        saving_vs_greedy: (best_greedy.1 - plan.objective) / best_greedy.1,
        best_greedy,
        mip_objective: plan.objective,
        lower_bound: plan.lower_bound,
        gap,
        mip_seconds,
        status: serde_json::to_value(plan.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        all_valid,
    }
}

/// The rows as a Markdown table whose first column is headed `first` (e.g.
/// `orders × nodes × skus`, or `window`).
pub fn markdown(first: &str, rows: &[BenchRow]) -> String {
    let mut out = format!(
        "| {first} | budget s | MIP s | MIP objective | lower bound | gap | best greedy | MIP saves | status | plans valid |\n|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {:.2} | {:.1} | {} | {} | {} {:.1} | {:.2}% | {} | {} |\n",
            r.size,
            r.budget_seconds,
            r.mip_seconds,
            r.mip_objective,
            r.lower_bound.map_or("-".into(), |b| format!("{b:.1}")),
            r.gap.map_or("-".into(), |g| format!("{:.2}%", g * 100.0)),
            r.best_greedy.0,
            r.best_greedy.1,
            r.saving_vs_greedy * 100.0,
            r.status,
            if r.all_valid { "yes" } else { "NO" },
        ));
    }
    out
}

/// Peak resident memory of this process in MiB (Linux), if known.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
