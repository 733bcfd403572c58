//! `domopt compare`: every solver on every instance (optionally over a parameter
//! sweep), every plan through the checker, results as CSV, JSON, a Markdown report and
//! SVG plots.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use super::ResultRow;
use super::kpis;
use crate::check::check;
use crate::domain::Instance;
use crate::format::read_instance;
use crate::solve::{MipParams, SolveOptions, solve};

/// A parameter varied over values (`--sweep NAME=V1,V2,...`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// `split_penalty`, `unfilled_penalty`, `late_penalty`, `capacity` (a factor on
    /// every node capacity) or `mip.NAME`, a field of [`MipParams`].
    pub param: String,
    /// The values.
    pub values: Vec<f64>,
}

/// Parameters a sweep may vary.
pub const SWEEP_PARAMS: &[&str] = &[
    "split_penalty",
    "unfilled_penalty",
    "late_penalty",
    "capacity",
];

impl Sweep {
    /// Parses `NAME=V1,V2,...`.
    pub fn parse(s: &str) -> Result<Sweep, String> {
        let (param, values) = s
            .split_once('=')
            .ok_or_else(|| format!("--sweep \"{s}\": expected NAME=V1,V2,..."))?;
        let mip_param = param.strip_prefix("mip.");
        if let Some(name) = mip_param {
            if !MipParams::names().iter().any(|n| n == name) {
                return Err(format!(
                    "--sweep: unknown MIP parameter \"{name}\"; one of mip.{}",
                    MipParams::names().join(", mip.")
                ));
            }
        } else if !SWEEP_PARAMS.contains(&param) {
            return Err(format!(
                "--sweep: unknown parameter \"{param}\"; one of {}, mip.NAME",
                SWEEP_PARAMS.join(", ")
            ));
        }
        let values = values
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .ok_or_else(|| format!("--sweep: \"{v}\" is not a number >= 0"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(name) = mip_param {
            for v in &values {
                MipParams::default()
                    .set(name, &v.to_string())
                    .map_err(|e| format!("--sweep: {e}"))?;
            }
        }
        if param == "unfilled_penalty" && values.contains(&0.0) {
            return Err("--sweep: unfilled_penalty must be > 0".into());
        }
        Ok(Sweep {
            param: param.to_string(),
            values,
        })
    }

    /// The instance with the parameter set to `value`.
    pub fn apply(&self, instance: &Instance, value: f64) -> Instance {
        let mut inst = instance.clone();
        match self.param.as_str() {
            "split_penalty" => inst.costs.split_penalty = value,
            "unfilled_penalty" => inst.costs.unfilled_penalty = value,
            "late_penalty" => inst.costs.late_penalty_per_day = Some(value),
            mip if mip.starts_with("mip.") => {}
            "capacity" => {
                let scale = |c: Option<u32>| c.map(|c| (f64::from(c) * value).round() as u32);
                for n in &mut inst.nodes {
                    n.capacity_shipments = scale(n.capacity_shipments);
                    n.capacity_units = scale(n.capacity_units);
                }
            }
            _ => unreachable!("parse admits only SWEEP_PARAMS"),
        }
        inst.name = format!("{}[{}={value}]", instance.name, self.param);
        inst
    }
}

/// How to compare.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Solver names.
    pub solvers: Vec<String>,
    /// Budget per solve.
    pub time_limit: Duration,
    /// HiGHS threads.
    pub threads: u32,
    /// Optional sweep.
    pub sweep: Option<Sweep>,
}

/// The instance files of the arguments: files as given, directories scanned (not
/// recursively) for `.json` and `.json.gz`, sorted by name.
pub fn instance_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(a)
                .map_err(|e| format!("{}: {e}", a.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.to_string_lossy();
                    n.ends_with(".json") || n.ends_with(".json.gz")
                })
                .collect();
            files.sort();
            out.extend(files);
        } else if a.exists() {
            out.push(a.clone());
        } else {
            return Err(format!("{}: no such file or directory", a.display()));
        }
    }
    if out.is_empty() {
        return Err("no instance files (.json, .json.gz) found".into());
    }
    Ok(out)
}

/// The file name without `.json` / `.json.gz`: how instances are named in reports.
pub fn file_label(file: &Path) -> String {
    let name = file
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    name.trim_end_matches(".gz")
        .trim_end_matches(".json")
        .to_string()
}

/// Runs every solver on every instance. `progress` is called after each solve with
/// (done, total, label).
pub fn run(
    files: &[PathBuf],
    opts: &CompareOptions,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<Vec<ResultRow>, String> {
    let variants = opts.sweep.as_ref().map_or(1, |s| s.values.len());
    let total = files.len() * variants * opts.solvers.len();
    let mut done = 0;
    let mut rows = Vec::new();
    for file in files {
        let base = read_instance(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let cases: Vec<(Option<(String, f64)>, Instance)> = match &opts.sweep {
            None => vec![(None, base.clone())],
            Some(s) => s
                .values
                .iter()
                .map(|&v| (Some((s.param.clone(), v)), s.apply(&base, v)))
                .collect(),
        };
        for (sweep, inst) in cases {
            let first = rows.len();
            for solver in &opts.solvers {
                let mut so = SolveOptions {
                    time_limit: opts.time_limit,
                    threads: opts.threads,
                    ..SolveOptions::default()
                };
                if let Some((param, value)) = &sweep
                    && let Some(name) = param.strip_prefix("mip.")
                {
                    so.mip.set(name, &value.to_string())?;
                }
                let plan = solve(&inst, solver, &so).map_err(|e| e.to_string())?;
                let report = check(&inst, &plan);
                if !report.is_valid() {
                    tracing::error!(
                        instance = %inst.name,
                        solver = %solver,
                        violations = ?report.violations.iter().take(5).collect::<Vec<_>>(),
                        "INVALID PLAN"
                    );
                }
                rows.push(ResultRow {
                    instance: file_label(file),
                    file: file.display().to_string(),
                    sweep: sweep.clone(),
                    solver: solver.clone(),
                    kpis: kpis(&inst, &plan, &report),
                    saved_vs: BTreeMap::new(),
                });
                done += 1;
                progress(done, total, &format!("{} {solver}", inst.name));
            }
            let objectives: Vec<(String, f64)> = rows[first..]
                .iter()
                .map(|r| (r.solver.clone(), r.kpis.objective))
                .collect();
            for r in &mut rows[first..] {
                for (other, theirs) in &objectives {
                    if *other != r.solver && *theirs > 0.0 {
                        r.saved_vs
                            .insert(other.clone(), 100.0 * (theirs - r.kpis.objective) / theirs);
                    }
                }
            }
        }
    }
    Ok(rows)
}

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:.6}"))
}

/// `results.csv`: one line per (instance, sweep value, solver).
pub fn csv(rows: &[ResultRow], solvers: &[String]) -> String {
    let mut out = String::from(
        "instance,sweep_param,sweep_value,solver,valid,status,fallback,objective,lower_bound,gap,solve_seconds,orders,cost_per_order,shipping_cost,handling_cost,split_cost,late_cost,unfilled_cost,shipments,split_shipments,shipments_per_order,split_rate,fill_rate,late_shipments,unfilled_units",
    );
    for s in solvers {
        let _ = write!(out, ",saved_vs_{s}_pct");
    }
    out.push('\n');
    for r in rows {
        let k = &r.kpis;
        let (sp, sv) = r
            .sweep
            .as_ref()
            .map_or((String::new(), String::new()), |(p, v)| {
                (p.clone(), v.to_string())
            });
        let status = serde_json::to_value(k.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = write!(
            out,
            "{},{sp},{sv},{},{},{status},{},{:.6},{},{},{:.6},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{},{},{:.6},{:.6},{:.6},{},{}",
            r.instance,
            r.solver,
            k.valid,
            k.fallback,
            k.objective,
            opt(k.lower_bound),
            opt(k.gap),
            k.solve_seconds,
            k.orders,
            k.cost_per_order,
            k.shipping_cost,
            k.handling_cost,
            k.split_cost,
            k.late_cost,
            k.unfilled_cost,
            k.shipments,
            k.split_shipments,
            k.shipments_per_order,
            k.split_rate,
            k.fill_rate,
            k.late_shipments,
            k.unfilled_units
        );
        for s in solvers {
            let _ = write!(
                out,
                ",{}",
                r.saved_vs
                    .get(s)
                    .map_or(String::new(), |v| format!("{v:.4}"))
            );
        }
        out.push('\n');
    }
    out
}

/// Whether row `i` is Pareto-efficient among `group` on (operational cost, split
/// shipments, late shipments, unfilled units): no other plan is at least as good on
/// all four and better on one.
fn efficient(group: &[&ResultRow], i: usize) -> bool {
    let key = |r: &ResultRow| {
        let k = &r.kpis;
        [
            k.shipping_cost + k.handling_cost,
            k.split_shipments as f64,
            k.late_shipments as f64,
            k.unfilled_units as f64,
        ]
    };
    let me = key(group[i]);
    !group.iter().enumerate().any(|(j, r)| {
        let o = key(r);
        j != i
            && o.iter().zip(&me).all(|(a, b)| a <= &(b + 1e-9))
            && o.iter().zip(&me).any(|(a, b)| *a < b - 1e-9)
    })
}

/// `report.md`: the per-instance table, the cost breakdown, unfilled reasons, zone
/// mix, node utilization, shadow prices, and the Pareto table when sweeping.
pub fn report(rows: &[ResultRow], opts: &CompareOptions) -> String {
    let mut out = String::new();
    report_header(&mut out, rows, opts);
    results_table(&mut out, rows, opts);
    cost_breakdown(&mut out, rows);
    zone_mix(&mut out, rows);
    shadow_price_table(&mut out, rows);
    if let Some(s) = &opts.sweep {
        pareto_table(&mut out, rows, s);
    }
    let _ = writeln!(
        out,
        "\n## Plots\n\n![cost vs time](cost_vs_time.svg)\n\n![gap to bound](gap_by_instance.svg)\n\n![split rate](split_rate_by_solver.svg)"
    );
    out
}

/// The title, the run's settings, and whether every plan was valid.
fn report_header(out: &mut String, rows: &[ResultRow], opts: &CompareOptions) {
    let invalid: Vec<&ResultRow> = rows.iter().filter(|r| !r.kpis.valid).collect();
    let _ = writeln!(out, "# domopt compare\n");
    let _ = writeln!(
        out,
        "Solvers: {}; budget {} s per solve; {} HiGHS thread(s); {} cores. Every plan was checked by the plan checker.\n",
        opts.solvers.join(", "),
        opts.time_limit.as_secs_f64(),
        opts.threads,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if invalid.is_empty() {
        let _ = writeln!(out, "All {} plans are **valid**.\n", rows.len());
    } else {
        let _ = writeln!(
            out,
            "**{} INVALID PLAN(S)** — a solver bug:\n",
            invalid.len()
        );
        for r in &invalid {
            let _ = writeln!(
                out,
                "- **INVALID**: {} / {} ({} violations)",
                r.instance, r.solver, r.kpis.violations
            );
        }
        out.push('\n');
    }
}

/// One row per plan: objective, bound, gap, savings against each baseline, KPIs.
fn results_table(out: &mut String, rows: &[ResultRow], opts: &CompareOptions) {
    let baselines: Vec<&String> = opts.solvers.iter().filter(|s| *s != "mip").collect();
    let _ = writeln!(out, "## Results\n");
    let _ = write!(
        out,
        "| instance | solver | objective | lower bound | gap | "
    );
    for b in &baselines {
        let _ = write!(out, "saved vs {b} | ");
    }
    let _ = writeln!(
        out,
        "shipments/order | split rate | fill rate | late | unfilled units | solve s | fallback |"
    );
    let _ = write!(out, "|---|---|---|---|---|");
    for _ in &baselines {
        out.push_str("---|");
    }
    out.push_str("---|---|---|---|---|---|---|\n");
    for r in rows {
        let k = &r.kpis;
        let name = r.label();
        let _ = write!(
            out,
            "| {name} | {}{} | {:.2} | {} | {} | ",
            r.solver,
            if k.valid { "" } else { " **INVALID**" },
            k.objective,
            k.lower_bound.map_or("—".into(), |b| format!("{b:.2}")),
            k.gap.map_or("—".into(), |g| format!("{:.2}%", 100.0 * g)),
        );
        for b in &baselines {
            let _ = write!(
                out,
                "{} | ",
                r.saved_vs
                    .get(*b)
                    .map_or("—".into(), |v| format!("{v:.2}%"))
            );
        }
        let _ = writeln!(
            out,
            "{:.3} | {:.1}% | {:.1}% | {} | {} | {:.2} | {} |",
            k.shipments_per_order,
            100.0 * k.split_rate,
            100.0 * k.fill_rate,
            k.late_shipments,
            k.unfilled_units,
            k.solve_seconds,
            if k.fallback { "yes" } else { "no" }
        );
    }
}

/// Each plan's cost by component and its unfilled units by reason.
fn cost_breakdown(out: &mut String, rows: &[ResultRow]) {
    let _ = writeln!(
        out,
        "\n## Cost breakdown\n\n| instance | solver | cost/order | shipping | handling | split | late | unfilled | unfilled units by reason |\n|---|---|---|---|---|---|---|---|---|"
    );
    for r in rows {
        let k = &r.kpis;
        let reasons: Vec<String> = k
            .unfilled_by_reason
            .iter()
            .map(|(r, q)| format!("{r} {q}"))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            r.label(),
            r.solver,
            k.cost_per_order,
            k.shipping_cost,
            k.handling_cost,
            k.split_cost,
            k.late_cost,
            k.unfilled_cost,
            if reasons.is_empty() {
                "—".into()
            } else {
                reasons.join(", ")
            }
        );
    }
}

/// Carrier shipments per zone and the three busiest nodes of each plan.
fn zone_mix(out: &mut String, rows: &[ResultRow]) {
    let _ = writeln!(
        out,
        "\n## Zone mix (carrier shipments per zone) and busiest nodes\n\n| instance | solver | zone mix (1..n) | busiest nodes (units, utilization) |\n|---|---|---|---|"
    );
    for r in rows {
        let k = &r.kpis;
        let mut nodes: Vec<&super::NodeUse> = k.nodes.iter().filter(|n| n.units > 0).collect();
        nodes.sort_by_key(|n| std::cmp::Reverse(n.units));
        let busiest: Vec<String> = nodes
            .iter()
            .take(3)
            .map(|n| {
                let util = n.unit_utilization.or(n.shipment_utilization);
                format!(
                    "{} {}{}",
                    n.node,
                    n.units,
                    util.map_or(String::new(), |u| format!(" ({:.0}%)", 100.0 * u))
                )
            })
            .collect();
        let zones: Vec<String> = k.zone_mix.iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            r.label(),
            r.solver,
            zones.join(" / "),
            busiest.join("; ")
        );
    }
}

/// The top five shadow prices of each plan that reports them.
fn shadow_price_table(out: &mut String, rows: &[ResultRow]) {
    let priced: Vec<&ResultRow> = rows
        .iter()
        .filter(|r| !r.kpis.shadow_prices.is_empty())
        .collect();
    if !priced.is_empty() {
        let _ = writeln!(
            out,
            "\n## Shadow prices (MIP)\n\nWhat one more unit would save, from the duals of the MIP's last LP master (column generation): an estimate for the integer plan, zero for resources that do not bind. Top 5 per plan.\n\n| instance | resource | node | sku | saving per unit |\n|---|---|---|---|---|"
        );
        for r in priced {
            for p in r.kpis.shadow_prices.iter().take(5) {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {:.2} |",
                    r.label(),
                    p.resource,
                    p.node,
                    p.sku.as_deref().unwrap_or("—"),
                    p.price
                );
            }
        }
    }
}

/// The sweep's Pareto table: ★ marks the plans no other plan of the instance beats on every measure at once.
fn pareto_table(out: &mut String, rows: &[ResultRow], s: &Sweep) {
    let _ = writeln!(
        out,
        "\n## Sweep over `{}` (Pareto table)\n\nOperational cost is shipping + handling (what is paid to carriers and nodes). ★ marks plans no other plan of the same instance beats on operational cost, split shipments, late shipments and unfilled units at once.\n\n| instance | {} | solver | objective | operational cost | split rate | late shipments | unfilled units | efficient |\n|---|---|---|---|---|---|---|---|---|",
        s.param, s.param
    );
    let mut by_instance: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
    for r in rows {
        by_instance.entry(r.instance.as_str()).or_default().push(r);
    }
    for group in by_instance.values() {
        for (i, r) in group.iter().enumerate() {
            let k = &r.kpis;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.2} | {:.2} | {:.1}% | {} | {} | {} |",
                r.instance,
                r.sweep.as_ref().map_or(0.0, |x| x.1),
                r.solver,
                k.objective,
                k.shipping_cost + k.handling_cost,
                100.0 * k.split_rate,
                k.late_shipments,
                k.unfilled_units,
                if efficient(group, i) { "★" } else { "" }
            );
        }
    }
}

/// Writes `results.csv`, `results.json`, `report.md`, the SVG plots, and
/// `report.html` (the report and its plots in one file) into `dir`.
pub fn write_outputs(dir: &Path, rows: &[ResultRow], opts: &CompareOptions) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let w = |name: &str, text: String| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    w("results.csv", csv(rows, &opts.solvers))?;
    w(
        "results.json",
        serde_json::to_string_pretty(rows).expect("rows serialize"),
    )?;
    let markdown = report(rows, opts);
    w("report.md", markdown.clone())?;
    super::plots::write_all(dir, rows, &opts.solvers)?;
    w("report.html", super::html::report_html(&markdown, dir))
}
