//! # domopt — distributed order management optimizer
//!
//! domopt decides, for a window of orders, which fulfillment node ships which line
//! with which carrier service. It reads `domopt.instance/1` documents, produces
//! `domopt.plan/1` plans with greedy baselines or a mixed-integer program solved by
//! HiGHS, and checks any plan against the exact cost and constraint semantics
//! (`docs/formats.md`).
//!
//! The three calls a researcher needs are at the crate root:
//!
//! ```
//! use domopt::generate::{GenParams, generate};
//! use domopt::{SolveOptions, Solver, check, solve};
//!
//! let instance = generate(&GenParams { orders: 50, nodes: 5, skus: 20, ..Default::default() });
//! let options = SolveOptions { solver: Solver::Cheapest, ..Default::default() };
//! let plan = solve(&instance, &options);
//! let report = check(&instance, &plan);
//! assert!(report.is_valid(), "{:?}", report.violations);
//! assert!((report.summary.objective - plan.objective).abs() < 1e-6);
//! ```
//!
//! [`read_instance`] reads an instance file (`.json` or `.json.gz`); `examples/`
//! has a runnable example. The checker ([`check`]) depends on the domain and the
//! cost model only, never on a solver.

#![warn(missing_docs)]

pub mod bench;
pub mod check;
pub mod cost;
pub mod domain;
pub mod format;
pub mod generate;
pub mod service;
pub mod solve;
pub mod workbench;

pub use check::{Report, check};
pub use domain::{Instance, Plan};
pub use format::{read_instance, read_plan};
pub use solve::{MipParams, SolveOptions, Solver, run as solve};
