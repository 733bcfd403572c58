//! # domopt — distributed order management optimizer
//!
//! domopt decides, for a window of orders, which fulfillment node ships which line
//! with which carrier service. It reads `domopt.instance/1` documents, produces
//! `domopt.plan/1` plans with greedy baselines or a mixed-integer program solved by
//! HiGHS, and checks any plan against the exact cost and constraint semantics.
//!
//! ```
//! use domopt::{check, generate, solve};
//!
//! let instance = generate::generate(&generate::GenParams { orders: 50, nodes: 5, skus: 20, ..Default::default() });
//! let plan = solve::solve(&instance, "cheapest", &solve::SolveOptions::default()).unwrap();
//! let report = check::check(&instance, &plan);
//! assert!(report.is_valid(), "{:?}", report.violations);
//! assert!((report.summary.objective - plan.objective).abs() < 1e-6);
//! ```

pub mod bench;
pub mod check;
pub mod cost;
pub mod domain;
pub mod format;
pub mod generate;
pub mod service;
pub mod solve;
pub mod workbench;
