//! The research workbench: `domopt compare` writes the numbers the checker computes,
//! and a replay with one window equals a direct solve.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use domopt::check::check;
use domopt::domain::{PLAN_FORMAT, Plan, PlanStatus};
use domopt::format::read_instance;
use domopt::generate::{GenParams, generate, stamp_day};
use domopt::solve::{SolveOptions, solve};
use domopt::workbench::replay::{parse_duration, replay};

fn dataset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(name)
}

/// Parses results.csv into (header, rows).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn field<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    &row[i]
}

fn num(header: &[String], row: &[String], name: &str) -> f64 {
    field(header, row, name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} = {:?}", field(header, row, name)))
}

#[test]
fn compare_writes_the_checked_numbers_to_csv_json_report_and_plots() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_domopt"))
        .args([
            "compare",
            "--solvers",
            "mip,cheapest,closest",
            "--time-limit",
            "5",
            "--out",
        ])
        .arg(out.path())
        .arg(dataset("tiny-2-orders.json"))
        .arg(dataset("three-item-dom.json"))
        .arg(dataset("example-12-orders.json"))
        .status()
        .unwrap();
    assert!(status.success());
    let (h, rows) = read_csv(&out.path().join("results.csv"));
    assert_eq!(rows.len(), 9);
    let row = |inst: &str, solver: &str| {
        rows.iter()
            .find(|r| field(&h, r, "instance") == inst && field(&h, r, "solver") == solver)
            .unwrap_or_else(|| panic!("no row {inst}/{solver}"))
            .clone()
    };
    // The hand-priced tiny optimum and the formats' example's proved optimum.
    let tiny = row("tiny-2-orders", "mip");
    assert!((num(&h, &tiny, "objective") - 36.51).abs() < 1e-6);
    assert_eq!(field(&h, &tiny, "status"), "optimal");
    assert!(num(&h, &tiny, "gap") < 1e-4);
    let ex = row("example-12-orders", "mip");
    assert!((num(&h, &ex, "objective") - 750.5573).abs() < 1e-3);
    assert!((num(&h, &ex, "lower_bound") - 750.5573).abs() < 1e-3);
    // Every plan valid, and every row's numbers agree with the checker's recomputation.
    for r in &rows {
        assert_eq!(field(&h, r, "valid"), "true");
        let inst = read_instance(&dataset(&format!("{}.json", field(&h, r, "instance")))).unwrap();
        let plan = solve(
            &inst,
            field(&h, r, "solver"),
            &SolveOptions {
                time_limit: Duration::from_secs(5),
                ..Default::default()
            },
        )
        .unwrap();
        let s = check(&inst, &plan).summary;
        assert!(
            (num(&h, r, "objective") - s.objective).abs() < 1e-4,
            "{r:?}"
        );
        assert_eq!(num(&h, r, "shipments") as usize, s.shipments);
        assert_eq!(num(&h, r, "split_shipments") as usize, s.extra_shipments);
        assert_eq!(num(&h, r, "unfilled_units") as u64, s.unfilled_units);
        let parts = [
            "shipping_cost",
            "handling_cost",
            "split_cost",
            "late_cost",
            "unfilled_cost",
        ]
        .iter()
        .map(|c| num(&h, r, c))
        .sum::<f64>();
        assert!(
            (parts - s.objective).abs() < 1e-3,
            "breakdown {parts} vs {}",
            s.objective
        );
        let ordered: u64 = inst
            .orders
            .iter()
            .flat_map(|o| &o.lines)
            .map(|l| u64::from(l.qty))
            .sum();
        assert!((num(&h, r, "fill_rate") - s.units_shipped as f64 / ordered as f64).abs() < 1e-6);
    }
    // Savings are against the other solvers on the same instance.
    let (m, c) = (
        row("example-12-orders", "mip"),
        row("example-12-orders", "closest"),
    );
    let want =
        100.0 * (num(&h, &c, "objective") - num(&h, &m, "objective")) / num(&h, &c, "objective");
    assert!((num(&h, &m, "saved_vs_closest_pct") - want).abs() < 1e-3);
    assert!(num(&h, &m, "saved_vs_closest_pct") > 0.0);
    // The other outputs exist and say the same.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 9);
    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(report.contains("All 9 plans are **valid**"));
    assert!(
        report.contains("| example-12-orders | mip | 750.56 |"),
        "{report}"
    );
    for svg in [
        "cost_vs_time.svg",
        "gap_by_instance.svg",
        "split_rate_by_solver.svg",
    ] {
        let text = std::fs::read_to_string(out.path().join(svg)).unwrap();
        assert!(text.starts_with("<svg") && text.contains("</svg>"), "{svg}");
    }
    // report.html holds the same tables and the plots themselves, nothing linked.
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.contains("All 9 plans are <b>valid</b>"));
    assert!(html.contains("<td>example-12-orders</td><td>mip</td><td>750.56</td>"));
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(!html.contains(".svg)") && !html.contains("src="));
}

/// `compare --sweep SWEEP` of `solvers` on the 12-order example into `out`: the
/// results table's header and rows.
fn sweep_example(
    out: &tempfile::TempDir,
    solvers: &str,
    sweep: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let status = Command::new(env!("CARGO_BIN_EXE_domopt"))
        .args(["compare", "--solvers", solvers, "--time-limit", "5"])
        .args(["--sweep", sweep, "--out"])
        .arg(out.path())
        .arg(dataset("example-12-orders.json"))
        .status()
        .unwrap();
    assert!(status.success());
    read_csv(&out.path().join("results.csv"))
}

#[test]
fn a_split_penalty_sweep_prices_splits_at_each_value() {
    let out = tempfile::tempdir().unwrap();
    let (h, rows) = sweep_example(&out, "mip,cheapest", "split_penalty=0,5,40");
    assert_eq!(rows.len(), 6);
    let mut mip_splits = Vec::new();
    for r in &rows {
        assert_eq!(field(&h, r, "sweep_param"), "split_penalty");
        let penalty = num(&h, r, "sweep_value");
        let expected = penalty * num(&h, r, "split_shipments");
        assert!((num(&h, r, "split_cost") - expected).abs() < 1e-6, "{r:?}");
        if field(&h, r, "solver") == "mip" {
            mip_splits.push((penalty, num(&h, r, "split_shipments")));
        }
    }
    // A dearer split never buys more splits from the optimizer.
    mip_splits.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(
        mip_splits.windows(2).all(|w| w[1].1 <= w[0].1),
        "{mip_splits:?}"
    );
    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(report.contains("Pareto table") && report.contains("★"));
}

#[test]
fn a_mip_parameter_sweep_solves_each_value_and_checks_every_plan() {
    let out = tempfile::tempdir().unwrap();
    let (h, rows) = sweep_example(&out, "mip", "mip.ascent_steps=20,300");
    assert_eq!(rows.len(), 2);
    let values: Vec<f64> = rows.iter().map(|r| num(&h, r, "sweep_value")).collect();
    assert_eq!(values, vec![20.0, 300.0]);
    for r in &rows {
        assert_eq!(field(&h, r, "sweep_param"), "mip.ascent_steps");
        assert_eq!(field(&h, r, "valid"), "true", "{r:?}");
    }
}

#[test]
fn mip_parameters_reach_the_solver() {
    let inst = generate(&GenParams {
        orders: 300,
        nodes: 10,
        skus: 80,
        seed: 3,
        ..Default::default()
    });
    let mut opts = SolveOptions::default();
    opts.mip.ascent_steps = 7;
    opts.mip.ascent_slices_before_lp = 2;
    let plan = solve(&inst, "mip", &opts).unwrap();
    assert!(check(&inst, &plan).is_valid());
    let stats = plan.stats.as_ref().unwrap();
    let slices = stats["ascent_slices"].as_u64().unwrap();
    let steps = stats["ascent_steps"].as_u64().unwrap();
    assert!(slices <= 2, "{slices} slices");
    assert!(steps <= 7 * slices, "{steps} steps in {slices} slices");
}

fn day() -> domopt::domain::Instance {
    let mut inst = generate(&GenParams {
        orders: 400,
        nodes: 8,
        skus: 60,
        seed: 11,
        tightness: 1.3,
        ..Default::default()
    });
    stamp_day(&mut inst, 11);
    inst
}

#[test]
fn a_replay_with_one_window_equals_a_direct_solve() {
    let inst = day();
    for solver in ["cheapest", "mip"] {
        let opts = SolveOptions {
            time_limit: Duration::from_secs(5),
            ..Default::default()
        };
        let direct = solve(&inst, solver, &opts).unwrap();
        common::assert_valid(&inst, &direct);
        let r = replay(&inst, 86_400.0, solver, Duration::from_secs(5), 1).unwrap();
        assert_eq!(r.windows.len(), 1);
        assert!(r.all_valid);
        assert!(
            (r.objective - direct.objective).abs() < 1e-6,
            "{solver}: replay {} vs direct {}",
            r.objective,
            direct.objective
        );
        assert_eq!(r.shipments, direct.shipments.len());
    }
}

#[test]
fn windows_carry_stock_and_capacity_over_so_the_day_never_oversells() {
    let inst = day();
    for window in ["15m", "1h", "4h"] {
        let r = replay(
            &inst,
            parse_duration(window).unwrap(),
            "cheapest",
            Duration::from_secs(2),
            1,
        )
        .unwrap();
        assert!(r.all_valid);
        assert!(r.windows.len() > 1);
        assert_eq!(
            r.windows.iter().map(|w| w.orders).sum::<usize>(),
            inst.orders.len()
        );
        // All windows' shipments together form one valid plan for the whole day: no
        // unit and no unit of capacity is used twice across windows.
        let day_plan = Plan {
            format: PLAN_FORMAT.into(),
            instance: inst.name.clone(),
            solver: "replay".into(),
            status: PlanStatus::Feasible,
            objective: r.objective,
            lower_bound: None,
            solve_seconds: 0.0,
            shipments: r.plans.iter().flat_map(|p| p.shipments.clone()).collect(),
            unfilled: r.plans.iter().flat_map(|p| p.unfilled.clone()).collect(),
            stats: None,
        };
        let report = check(&inst, &day_plan);
        assert!(report.is_valid(), "{window}: {:?}", report.violations);
        assert!((report.summary.objective - r.objective).abs() < 1e-4);
    }
    assert_eq!(parse_duration("15m").unwrap(), 900.0);
    assert_eq!(parse_duration("2h").unwrap(), 7200.0);
    assert!(parse_duration("fast").is_err());
}

#[test]
fn compare_and_replay_refuse_bad_arguments_with_exit_2() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_domopt"))
            .args(args)
            .output()
            .unwrap()
    };
    let tiny = dataset("tiny-2-orders.json");
    let tiny = tiny.to_str().unwrap();
    for args in [
        vec!["compare", tiny, "--solvers", "mip,magic"],
        vec!["compare", tiny, "--sweep", "colour=1,2"],
        vec!["compare", tiny, "--sweep", "split_penalty=1,x"],
        vec!["compare", tiny, "--sweep", "mip.no_such_param=1"],
        vec!["compare", tiny, "--sweep", "mip.ascent_steps=1.5"],
        vec!["compare", "/no/such/dir"],
        vec!["replay", tiny, "--window", "soon"],
        vec!["replay", tiny, "--solver", "magic"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error:"),
            "{args:?}"
        );
    }
}

#[test]
fn the_mip_reports_shadow_prices_of_binding_resources_in_tight_windows() {
    let inst = generate(&GenParams {
        orders: 300,
        nodes: 10,
        skus: 80,
        seed: 5,
        tightness: 1.8,
        ..Default::default()
    });
    let plan = solve(
        &inst,
        "mip",
        &SolveOptions {
            time_limit: Duration::from_secs(5),
            ..Default::default()
        },
    )
    .unwrap();
    common::assert_valid(&inst, &plan);
    let k = domopt::workbench::kpis(&inst, &plan, &check(&inst, &plan));
    assert!(
        !k.shadow_prices.is_empty(),
        "a window at tightness 1.8 has binding stock"
    );
    for p in &k.shadow_prices {
        assert!(p.price.is_finite() && p.price > 0.0);
        assert!(inst.nodes.iter().any(|n| n.id == p.node));
        match p.resource.as_str() {
            "stock" => {
                let sku = p.sku.as_deref().unwrap();
                // Stock that binds is stock some order in the window asks for.
                assert!(
                    inst.orders
                        .iter()
                        .any(|o| o.lines.iter().any(|l| l.sku == sku))
                );
            }
            "shipments" | "units" => assert!(p.sku.is_none()),
            other => panic!("unknown resource {other}"),
        }
    }
    assert!(k.shadow_prices.windows(2).all(|w| w[0].price >= w[1].price));
}
