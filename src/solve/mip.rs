//! placeholder
use super::{SolveOptions, assemble_plan, greedy};
use crate::cost::Network;
use crate::domain::{Plan, PlanStatus};
/// placeholder
pub fn solve(net: &Network, _opts: &SolveOptions, started: std::time::Instant) -> Plan {
    let a = greedy::allocate(net, greedy::Policy::Cheapest);
    let mut p = assemble_plan(net, &a, "mip", PlanStatus::Fallback);
    p.solve_seconds = started.elapsed().as_secs_f64();
    p
}
