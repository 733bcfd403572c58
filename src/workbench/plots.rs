//! SVG plots of a comparison, drawn with plotters: cost against solve time, gap to the
//! proved bound by instance, and split rate by solver.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use super::ResultRow;

type PlotResult = Result<(), Box<dyn std::error::Error>>;

fn color(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 6] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    PALETTE[i % PALETTE.len()]
}

/// Writes `cost_vs_time.svg`, `gap_by_instance.svg` and `split_rate_by_solver.svg`.
pub fn write_all(dir: &Path, rows: &[ResultRow], solvers: &[String]) -> Result<(), String> {
    fn e(name: &'static str) -> impl Fn(Box<dyn std::error::Error>) -> String {
        move |err| format!("plot {name}: {err}")
    }
    cost_vs_time(&dir.join("cost_vs_time.svg"), rows, solvers).map_err(e("cost_vs_time"))?;
    gap_by_instance(&dir.join("gap_by_instance.svg"), rows).map_err(e("gap_by_instance"))?;
    split_rate(&dir.join("split_rate_by_solver.svg"), rows, solvers).map_err(e("split_rate"))?;
    Ok(())
}

/// Each plan as a point: solve time (log scale) against its cost above the best plan
/// of its instance, in percent.
fn cost_vs_time(path: &Path, rows: &[ResultRow], solvers: &[String]) -> PlotResult {
    let mut best: BTreeMap<String, f64> = BTreeMap::new();
    for r in rows {
        let b = best.entry(r.label()).or_insert(f64::INFINITY);
        *b = b.min(r.kpis.objective);
    }
    let above = |r: &ResultRow| {
        let b = best[&r.label()];
        if b > 0.0 {
            100.0 * (r.kpis.objective - b) / b
        } else {
            0.0
        }
    };
    let t_min = rows
        .iter()
        .map(|r| r.kpis.solve_seconds.max(1e-4))
        .fold(f64::INFINITY, f64::min);
    let t_max = rows
        .iter()
        .map(|r| r.kpis.solve_seconds.max(1e-4))
        .fold(0.0, f64::max);
    let y_max = rows.iter().map(above).fold(0.0, f64::max).max(1.0) * 1.1;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Cost above the best plan vs solve time", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(
            ((t_min / 2.0)..(t_max * 2.0).max(t_min * 4.0)).log_scale(),
            0.0..y_max,
        )?;
    chart
        .configure_mesh()
        .x_desc("solve seconds (log)")
        .y_desc("% above best plan of the instance")
        .draw()?;
    for (i, s) in solvers.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(
                rows.iter().filter(|r| &r.solver == s).map(|r| {
                    Circle::new((r.kpis.solve_seconds.max(1e-4), above(r)), 5, c.filled())
                }),
            )?
            .label(s.as_str())
            .legend(move |(x, y)| Circle::new((x, y), 5, c.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The gap to the proved lower bound of every plan that has one, by instance.
fn gap_by_instance(path: &Path, rows: &[ResultRow]) -> PlotResult {
    let with_gap: Vec<&ResultRow> = rows.iter().filter(|r| r.kpis.gap.is_some()).collect();
    let names: Vec<String> = with_gap
        .iter()
        .map(|r| format!("{} ({})", r.label(), r.solver))
        .collect();
    let y_max = with_gap
        .iter()
        .filter_map(|r| r.kpis.gap)
        .fold(0.0, f64::max)
        .max(1e-4)
        * 100.0
        * 1.15;
    let n = with_gap.len().max(1);
    let root = SVGBackend::new(path, (800, 120 + 40 * n as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    // Horizontal bars, one row per plan, labelled at the bar's end.
    let x_max = y_max * 1.8;
    let mut chart = ChartBuilder::on(&root)
        .caption("Gap to the proved lower bound", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(10)
        .build_cartesian_2d(0.0..x_max, 0.0..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("gap %")
        .draw()?;
    chart.draw_series(with_gap.iter().enumerate().map(|(i, r)| {
        let g = 100.0 * r.kpis.gap.unwrap_or(0.0);
        let y = (n - 1 - i) as f64;
        Rectangle::new([(0.0, y + 0.2), (g, y + 0.8)], color(0).filled())
    }))?;
    chart.draw_series(with_gap.iter().enumerate().map(|(i, r)| {
        let g = 100.0 * r.kpis.gap.unwrap_or(0.0);
        let y = (n - 1 - i) as f64;
        Text::new(
            format!("{}: {g:.3}%", names[i]),
            (g + x_max * 0.01, y + 0.65),
            ("sans-serif", 13),
        )
    }))?;
    root.present()?;
    Ok(())
}

/// Mean split rate (share of shipped orders sent in more than one parcel) per solver.
fn split_rate(path: &Path, rows: &[ResultRow], solvers: &[String]) -> PlotResult {
    let means: Vec<f64> = solvers
        .iter()
        .map(|s| {
            let v: Vec<f64> = rows
                .iter()
                .filter(|r| &r.solver == s)
                .map(|r| r.kpis.split_rate)
                .collect();
            if v.is_empty() {
                0.0
            } else {
                100.0 * v.iter().sum::<f64>() / v.len() as f64
            }
        })
        .collect();
    let y_max = means.iter().copied().fold(0.0, f64::max).max(1.0) * 1.2;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = solvers.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Split rate by solver (mean over instances)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n as f64, 0.0..y_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("% of shipped orders split")
        .draw()?;
    chart.draw_series(means.iter().enumerate().map(|(i, &m)| {
        Rectangle::new(
            [(i as f64 + 0.2, 0.0), (i as f64 + 0.8, m)],
            color(i).filled(),
        )
    }))?;
    chart.draw_series(means.iter().enumerate().map(|(i, &m)| {
        Text::new(
            format!("{} {m:.1}%", solvers[i]),
            (i as f64 + 0.25, m + y_max * 0.03),
            ("sans-serif", 14),
        )
    }))?;
    root.present()?;
    Ok(())
}
