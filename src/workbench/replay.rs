//! `domopt replay`: streams a period of timestamped orders (`placed_at`) through windows
//! of a fixed length against carried-over inventory and node capacity, solving and
//! checking each window, to measure what batching is worth (window length against
//! cost, splits and unfilled units).

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use crate::check::check;
use crate::domain::Instance;
use crate::solve::{SolveOptions, solve};

/// One replayed window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WindowResult {
    /// Window number from 0.
    pub index: usize,
    /// Window start, seconds.
    pub start: f64,
    /// Orders in the window.
    pub orders: usize,
    /// Checked objective.
    pub objective: f64,
    /// Shipments.
    pub shipments: usize,
    /// Shipments beyond each order's first.
    pub split_shipments: usize,
    /// Units unfilled.
    pub unfilled_units: u64,
    /// Late shipments.
    pub late_shipments: usize,
    /// Solve time.
    pub solve_seconds: f64,
    /// Checker verdict.
    pub valid: bool,
}

/// A whole replay.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReplayResult {
    /// Window length in seconds.
    pub window_seconds: f64,
    /// Solver.
    pub solver: String,
    /// Per window.
    pub windows: Vec<WindowResult>,
    /// Sum of the windows' objectives.
    pub objective: f64,
    /// Total shipments.
    pub shipments: usize,
    /// Total split shipments.
    pub split_shipments: usize,
    /// Total unfilled units.
    pub unfilled_units: u64,
    /// Total late shipments.
    pub late_shipments: usize,
    /// Total solve time.
    pub solve_seconds: f64,
    /// Whether every window's plan passed the checker.
    pub all_valid: bool,
    /// The windows' plans, in order.
    #[serde(skip)]
    pub plans: Vec<crate::domain::Plan>,
}

/// Parses a window length: `900`, `900s`, `15m`, `1h`.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let err = || format!("bad window length \"{s}\": use e.g. 30s, 15m, 1h");
    let (num, unit) = match s.trim().char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let v: f64 = num.trim().parse().map_err(|_| err())?;
    let secs = match unit {
        's' => v,
        'm' => v * 60.0,
        'h' => v * 3600.0,
        _ => return Err(err()),
    };
    if secs.is_finite() && secs > 0.0 {
        Ok(secs)
    } else {
        Err(err())
    }
}

/// Replays `day` (orders with `placed_at`; missing times count as 0) through windows of
/// `window_seconds`: each window sees the stock and node capacity left by the windows
/// before it. Every plan goes through the checker.
pub fn replay(
    day: &Instance,
    window_seconds: f64,
    solver: &str,
    time_limit: Duration,
    threads: u32,
) -> Result<ReplayResult, String> {
    let mut orders = day.orders.clone();
    orders.sort_by(|a, b| {
        a.placed_at
            .unwrap_or(0.0)
            .total_cmp(&b.placed_at.unwrap_or(0.0))
    });
    let mut inventory = day.inventory.clone();
    let row_of: HashMap<(String, String), usize> = inventory
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.node.clone(), r.sku.clone()), i))
        .collect();
    let mut nodes = day.nodes.clone();
    let node_of: HashMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.clone(), i))
        .collect();
    let mut result = ReplayResult {
        window_seconds,
        solver: solver.to_string(),
        windows: Vec::new(),
        objective: 0.0,
        shipments: 0,
        split_shipments: 0,
        unfilled_units: 0,
        late_shipments: 0,
        solve_seconds: 0.0,
        all_valid: true,
        plans: Vec::new(),
    };
    let mut next = 0;
    while next < orders.len() {
        let index = (orders[next].placed_at.unwrap_or(0.0) / window_seconds).floor();
        let end = orders[next..]
            .iter()
            .position(|o| (o.placed_at.unwrap_or(0.0) / window_seconds).floor() > index)
            .map_or(orders.len(), |p| next + p);
        let inst = Instance {
            name: format!("{}#{}", day.name, result.windows.len()),
            nodes: nodes.clone(),
            inventory: inventory.clone(),
            orders: orders[next..end].to_vec(),
            ..day.clone()
        };
        next = end;
        let opts = SolveOptions {
            time_limit,
            threads,
            ..SolveOptions::default()
        };
        let plan = solve(&inst, solver, &opts).map_err(|e| e.to_string())?;
        let report = check(&inst, &plan);
        let s = &report.summary;
        result.all_valid &= report.is_valid();
        // Carry over: shipped units become reserved, capacity counts down.
        for sh in &plan.shipments {
            let n = node_of[&sh.node];
            if let Some(c) = nodes[n].capacity_shipments.as_mut() {
                *c = c.saturating_sub(1);
            }
            for l in &sh.lines {
                if let Some(c) = nodes[n].capacity_units.as_mut() {
                    *c = c.saturating_sub(l.qty);
                }
                if let Some(&r) = row_of.get(&(sh.node.clone(), l.sku.clone())) {
                    inventory[r].reserved = inventory[r].reserved.saturating_add(l.qty);
                }
            }
        }
        result.windows.push(WindowResult {
            index: result.windows.len(),
            start: index * window_seconds,
            orders: inst.orders.len(),
            objective: s.objective,
            shipments: s.shipments,
            split_shipments: s.extra_shipments,
            unfilled_units: s.unfilled_units,
            late_shipments: s.late_shipments,
            solve_seconds: plan.solve_seconds,
            valid: report.is_valid(),
        });
        result.objective += s.objective;
        result.shipments += s.shipments;
        result.split_shipments += s.extra_shipments;
        result.unfilled_units += s.unfilled_units;
        result.late_shipments += s.late_shipments;
        result.solve_seconds += plan.solve_seconds;
        result.plans.push(plan);
    }
    Ok(result)
}
