//! Solves one window with the MIP and with the best greedy policy, checks both plans
//! and prints what the optimizer saved.
//!
//!     cargo run --release --example solve_window [INSTANCE.json[.gz]]
//!
//! Without an argument it generates a 500-order window (seed 1).

use std::time::Duration;

use domopt::generate::{GenParams, generate};
use domopt::{SolveOptions, Solver, check, read_instance, solve};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let instance = match std::env::args().nth(1) {
        Some(path) => read_instance(path.as_ref())?,
        None => generate(&GenParams {
            orders: 500,
            nodes: 15,
            skus: 200,
            seed: 1,
            ..Default::default()
        }),
    };
    println!(
        "{}: {} orders, {} nodes, {} skus",
        instance.name,
        instance.orders.len(),
        instance.nodes.len(),
        instance.skus.len()
    );
    let mut results = Vec::new();
    for solver in [Solver::Mip, Solver::Cheapest] {
        let options = SolveOptions {
            solver,
            time_limit: Duration::from_secs(10),
            ..Default::default()
        };
        let plan = solve(&instance, &options);
        let report = check(&instance, &plan);
        if !report.is_valid() {
            return Err(format!("{solver} plan is invalid: {:?}", report.violations).into());
        }
        let bound = plan.lower_bound.map_or("-".into(), |b| format!("{b:.2}"));
        println!(
            "{solver:>8}: objective {:.2} (bound {bound}), {} shipments, {} units unfilled, {:.2} s",
            plan.objective,
            report.summary.shipments,
            report.summary.unfilled_units,
            plan.solve_seconds
        );
        results.push(plan.objective);
    }
    let saved = 100.0 * (results[1] - results[0]) / results[1];
    println!("the MIP saves {saved:.2}% against the cheapest-first greedy policy");
    Ok(())
}
