//! The MIP solver: the whole window as one set-packing model over per-order
//! fulfillment options, solved with HiGHS (formulation in `models/option-model.md`).
//!
//! Steps, all inside one wall-clock budget measured from `started`:
//! 1. run the greedy policies; the best plan is the incumbent and the fallback;
//! 2. enumerate fulfillment options per order (exact cost from [`crate::cost`]), plus
//!    the incumbent's own option so that it is always representable;
//! 3. Lagrangian ascent: a subgradient method prices the resource rows over every
//!    known option; each slice's prices give a lower bound valid for the *full*
//!    problem (not only for the enumerated options) and best responses that join
//!    the options;
//! 4. column generation: a restricted master LP (HiGHS interior point) starts from
//!    each order's cheapest options at the ascent's prices; its duals price every
//!    option and the ones with negative reduced cost join the master, until none is
//!    left; every round's duals give a lower bound too; the best one is kept;
//! 5. a price-directed rounding turns the LP into a plan, then HiGHS solves the
//!    master as a MIP from the best plan so far, on a worker thread guarded by our
//!    own deadline;
//! 6. local search on the best plan: ejection chains (`primal::eject`), then in
//!    windows over [`LP_MAX_ORDERS`] orders large-neighbourhood search (`lns.rs`)
//!    and ejection chains again;
//! 7. the best plan wins, with its status, bound and statistics.

mod bound;
mod lagrange;
mod lns;
mod model;
mod options;
mod primal;

use std::time::Instant;

use serde_json::json;

use crate::cost::Network;
use crate::domain::{Plan, PlanStatus};
use crate::solve::greedy::{self, Policy};
use crate::solve::{Allocation, SolveOptions, Usage, assemble_plan};
use model::{Duals, Model, Prices, binding_rows, build_model, run_guarded};
use options::{FulfillmentOption, add_incumbent_options, enumerate_options};
use primal::fits;

/// Options per order in the first restricted master besides the cheapest: the
/// cheapest by reduced cost at the ascent's prices, within [`INITIAL_RC_WINDOW`] of the
/// best.
const INITIAL_OPTIONS_PER_ORDER: usize = 1;
/// Reduced-cost window for the first restricted master.
const INITIAL_RC_WINDOW: f64 = 2.0;
/// Share of the budget the Lagrangian ascent may use.
const ASCENT_SHARE: f64 = 0.1;
/// Windows with more orders give the ascent a larger share of the budget and finish
/// with large-neighbourhood search on what the MIP leaves.
const LP_MAX_ORDERS: usize = 3000;
/// Share of the budget the ascent may use in windows above [`LP_MAX_ORDERS`].
const ASCENT_SHARE_LARGE: f64 = 0.25;
/// Windows with more orders start the LP master from each order's cheapest option
/// only (a larger first master does not solve in time).
const HUGE_ORDERS: usize = 30_000;
/// Subgradient steps between two global bounds.
const ASCENT_STEPS: usize = 300;
/// Options per order added by one pricing round, at most.
const ADDED_PER_ORDER: usize = 1;
/// Interior-point seconds per master column, roughly (measured on 2 cores: 0.6 s for
/// a 15,000-column master); used to skip an LP that cannot finish in time.
const LP_SECONDS_PER_COLUMN: f64 = 40e-6;
/// Column generation rounds, at most.
const MAX_ROUNDS: usize = 8;
/// Share of the budget column generation may use before the MIP starts.
const CG_SHARE: f64 = 0.7;
/// Windows with more orders fix the orders the LP has decided before the MIP.
const FULL_MIP_ORDERS: usize = 3000;
/// LP value at which an option counts as decided.
const DECIDED: f64 = 0.99;
/// Options per order added to the MIP by reduced-cost selection, at most.
const MIP_EXTRA_PER_ORDER: usize = 8;
/// Reduced cost below which an option improves the master.
const RC_EPS: f64 = 1e-6;

/// Solves the window; never fails: without a better plan it returns the best
/// greedy plan with status `fallback`.
pub fn solve(net: &Network, opts: &SolveOptions, started: Instant) -> Plan {
    let deadline = started + opts.time_limit;
    let mut stats = json!({});
    let mut phase = Instant::now();
    let mut lap = |name: &str, stats: &mut serde_json::Value| {
        stats[format!("{name}_seconds")] = json!(phase.elapsed().as_secs_f64());
        phase = Instant::now();
    };

    // 1. Incumbent: the best greedy plan.
    let (incumbent_allocs, incumbent) = Policy::ALL
        .iter()
        .map(|&p| {
            let allocs = greedy::allocate(net, p);
            let plan = assemble_plan(net, &allocs, "mip", PlanStatus::Fallback);
            (allocs, plan)
        })
        .min_by(|a, b| a.1.objective.total_cmp(&b.1.objective))
        .expect("three policies");
    stats["incumbent_objective"] = json!(incumbent.objective);
    lap("greedy", &mut stats);
    let finish = |mut plan: Plan, lower_bound: Option<f64>, mut stats: serde_json::Value| {
        let lb = lower_bound.map(|lb| lb.min(plan.objective));
        let gap = lb.map(|lb| (plan.objective - lb) / plan.objective.abs().max(1e-9));
        if plan.status != PlanStatus::Fallback {
            plan.status = if gap.is_some_and(|g| g <= opts.gap) {
                PlanStatus::Optimal
            } else {
                PlanStatus::Feasible
            };
        }
        stats["gap"] = json!(gap);
        plan.lower_bound = lb;
        plan.solve_seconds = started.elapsed().as_secs_f64();
        plan.stats = Some(stats);
        plan
    };

    // 2. Options.
    let Some((mut options, complete)) = enumerate_options(net, deadline) else {
        stats["fallback_reason"] = json!("time budget spent enumerating options");
        return finish(incumbent, None, stats);
    };
    stats["options"] = json!(options.len());
    if Instant::now() + model::FINISH_MARGIN >= deadline {
        stats["mip_status"] = json!("skipped: no time left after enumeration");
        let best = incumbent.clone();
        return conclude(best, incumbent, false, None, stats, finish);
    }
    add_incumbent_options(net, &incumbent_allocs, &mut options);
    let mut by_order = options_by_order(net, &options);
    let total_penalty: f64 = (0..net.order_count())
        .map(|o| net.unit_penalty(o) * net.lines[o].iter().map(|&(_, q)| f64::from(q)).sum::<f64>())
        .sum();
    let rows = binding_rows(net, &options, &by_order);
    stats["resource_rows"] = json!(rows.len());

    lap("enumerate", &mut stats);
    if Instant::now() + model::FINISH_MARGIN >= deadline {
        stats["mip_status"] = json!("skipped: no time left after enumeration");
        let best = incumbent.clone();
        return conclude(best, incumbent, false, None, stats, finish);
    }

    let cg_deadline = started + opts.time_limit.mul_f64(CG_SHARE);
    let large = net.order_count() > LP_MAX_ORDERS;
    let huge = net.order_count() > HUGE_ORDERS;
    let ascent_share = if large {
        ASCENT_SHARE_LARGE
    } else {
        ASCENT_SHARE
    };
    let ascent_deadline = started + opts.time_limit.mul_f64(ascent_share);

    // 3. Lagrangian ascent over every known option, with a global bound per slice.
    let zero_prices = Prices::zero(&rows);
    let mut pool = lagrange::Pool::new(net.order_count(), &zero_prices, opts.threads as usize);
    for (j, o) in options.iter().enumerate() {
        pool.push(j, o, &zero_prices);
    }
    let target = incumbent.objective - total_penalty;
    let mut prices = zero_prices.clone();
    let mut lower_bound: Option<f64> = None;
    let (mut scale, mut slices, mut steps) = (1.0, 0, 0);
    let (mut ascent_seconds, mut bound_seconds) = (0.0, 0.0);
    loop {
        let t = Instant::now();
        let Some((lb, responses)) =
            bound::lagrangian_bound(net, &prices, opts.threads as usize, cg_deadline)
        else {
            break;
        };
        bound_seconds += t.elapsed().as_secs_f64();
        let lb = total_penalty + lb;
        if slices == 0 {
            stats["unpriced_bound"] = json!(lb);
            stats["unpriced_bound_seconds"] = json!(t.elapsed().as_secs_f64());
        }
        lower_bound = Some(lower_bound.map_or(lb, |b: f64| b.max(lb)));
        let minima = pool.order_minima(&prices.values);
        let new = add_responses(net, &responses, &mut options, &mut by_order, &|o| {
            prices.reduced_cost(o, 0.0) < minima[o.order] - RC_EPS
        });
        for &j in &new {
            pool.push(j, &options[j], &zero_prices);
        }
        if Instant::now() >= ascent_deadline || (new.is_empty() && scale < lagrange::MIN_SCALE) {
            break;
        }
        let t = Instant::now();
        let ascent = pool.ascend(&prices.values, target, 1.0, ASCENT_STEPS, ascent_deadline);
        ascent_seconds += t.elapsed().as_secs_f64();
        scale = ascent.scale;
        steps += ascent.iterations;
        slices += 1;
        prices.values = ascent.prices;
        stats["ascent_pool_value"] = json!(total_penalty + ascent.value);
    }
    stats["ascent_slices"] = json!(slices);
    stats["ascent_steps"] = json!(steps);
    stats["ascent_step_seconds"] = json!(ascent_seconds);
    stats["ascent_bound_seconds"] = json!(bound_seconds);
    stats["ascent_bound"] = json!(lower_bound);
    // Each order's pool columns by reduced cost at the ascent's prices, cheapest first.
    let ascent_ranked: Vec<Vec<(f64, usize)>> = (0..net.order_count())
        .map(|o| {
            let mut cols = pool.order_columns(o, &prices.values);
            cols.sort_by(|a, b| a.0.total_cmp(&b.0));
            cols
        })
        .collect();
    lap("ascent", &mut stats);

    // 4. Column generation from the options the ascent's prices favour.
    let mut included: Vec<bool> = vec![false; options.len()];
    for (ids, cols) in by_order.iter().zip(&ascent_ranked) {
        if let Some(&j) = ids.first() {
            included[j] = true;
        }
        let cheapest = cols.first().map_or(0.0, |c| c.0);
        for &(_, j) in cols
            .iter()
            .take(if huge { 0 } else { INITIAL_OPTIONS_PER_ORDER })
            .filter(|c| c.0 <= cheapest + INITIAL_RC_WINDOW)
        {
            included[j] = true;
        }
    }
    let incumbent_by_order = group_by_order(net, &incumbent_allocs);
    for (j, o) in options.iter().enumerate() {
        if !o.shipments.is_empty() && o.shipments == incumbent_by_order[o.order] {
            included[j] = true;
        }
    }
    let mut last_lp: Option<(Model, Duals, Vec<f64>)> = None;
    let mut rounds = 0;
    let (mut lp_seconds, mut pricing_seconds) = (0.0, 0.0);
    // Skip the LP when its first solve cannot finish in the time left for it (a
    // rough rate from this machine class: interior point on these masters).
    let first_master = included.iter().filter(|&&b| b).count();
    let predicted = first_master as f64 * LP_SECONDS_PER_COLUMN;
    let lp_time = cg_deadline.saturating_duration_since(Instant::now());
    if predicted > lp_time.as_secs_f64() {
        stats["cg_skipped"] = json!(format!(
            "first master of {first_master} columns predicted at {predicted:.1} s, {:.1} s left",
            lp_time.as_secs_f64()
        ));
    }
    while rounds < MAX_ROUNDS && Instant::now() < cg_deadline && predicted <= lp_time.as_secs_f64()
    {
        rounds += 1;
        let ids: Vec<usize> = (0..options.len()).filter(|&j| included[j]).collect();
        let master = build_model(net.order_count(), rows.clone(), &options, &ids);
        let t = Instant::now();
        let Some(lp) = run_guarded(master.problem(false), None, opts, cg_deadline) else {
            break;
        };
        lp_seconds += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let Some(row_duals) = lp.row_duals else { break };
        let duals = master.duals(&row_duals);
        let Some((lb, responses)) =
            bound::lagrangian_bound(net, &duals.prices, opts.threads as usize, cg_deadline)
        else {
            break;
        };
        let lb = total_penalty + lb;
        lower_bound = Some(lower_bound.map_or(lb, |b: f64| b.max(lb)));
        stats["lp_objective"] = json!(total_penalty + lp.objective);
        let new = add_responses(net, &responses, &mut options, &mut by_order, &|o| {
            duals.reduced_cost(o) < -RC_EPS
        });
        included.resize(options.len(), false);
        let added = new.len() + price_options(&duals, &options, &by_order, &mut included);
        pricing_seconds += t.elapsed().as_secs_f64();
        last_lp = Some((master, duals, lp.columns));
        if added == 0 {
            break;
        }
    }
    stats["cg_rounds"] = json!(rounds);
    stats["cg_lp_seconds"] = json!(lp_seconds);
    stats["cg_pricing_seconds"] = json!(pricing_seconds);
    stats["master_columns"] = json!(included.iter().filter(|&&b| b).count());
    stats["lagrangian_bound"] = json!(lower_bound);
    stats["shadow_prices"] = match &last_lp {
        Some((_, duals, _)) => shadow_prices(net, &duals.prices),
        None => shadow_prices(net, &prices),
    };
    lap("column_generation", &mut stats);

    // 5. Price-directed rounding, then the MIP from the best plan so far.
    let mut best_allocs = incumbent_allocs.clone();
    let mut best_plan = incumbent.clone();
    // A plan from the ascent's prices: the one to beat when no LP master solved.
    let assemble_time;
    {
        let mut rc: Vec<f64> = vec![f64::INFINITY; options.len()];
        for &(r, j) in ascent_ranked.iter().flatten() {
            rc[j] = r;
        }
        let mut choice = primal::price_directed(net, &options, &by_order, &|j| rc[j]);
        primal::improve(net, &options, &by_order, &mut choice, deadline);
        let directed = primal::allocations(&options, &choice);
        let assembling = Instant::now();
        let plan = assemble_plan(net, &directed, "mip", PlanStatus::Feasible);
        assemble_time = assembling.elapsed();
        stats["price_directed_objective"] = json!(plan.objective);
        if plan.objective < best_plan.objective {
            best_allocs = directed;
            best_plan = plan;
        }
    }
    if let Some((master, duals, lp_x)) = &last_lp
        && Instant::now() < deadline
    {
        let rounded = round_lp(net, master, duals, lp_x, &options, &by_order);
        let plan = assemble_plan(net, &rounded, "mip", PlanStatus::Feasible);
        stats["rounded_objective"] = json!(plan.objective);
        if plan.objective < best_plan.objective {
            best_allocs = rounded;
            best_plan = plan;
        }
    }
    lap("rounding", &mut stats);
    if Instant::now() + model::FINISH_MARGIN >= deadline {
        stats["mip_status"] = json!("skipped: no time left");
        return conclude(best_plan, incumbent, false, lower_bound, stats, finish);
    }
    let known = options.len();
    add_incumbent_options(net, &best_allocs, &mut options);
    for j in known..options.len() {
        by_order[options[j].order].push(j);
    }
    included.resize(options.len(), false);
    let start_by_order = group_by_order(net, &best_allocs);
    for (j, o) in options.iter().enumerate() {
        if !start_by_order[o.order].is_empty() && o.shipments == start_by_order[o.order] {
            included[j] = true;
        }
    }
    // Large windows: orders the LP has decided keep the rounded choice, and the MIP
    // re-optimizes the others against what they leave.
    let fixed = if net.order_count() > FULL_MIP_ORDERS {
        decided_orders(net, last_lp.as_ref(), &start_by_order, &options, &by_order)
    } else {
        vec![false; net.order_count()]
    };
    let fixed_allocs: Vec<Allocation> = best_allocs
        .iter()
        .filter(|a| fixed[a.order])
        .cloned()
        .collect();
    let mut rows = binding_rows(net, &options, &by_order);
    let mut left = Usage::new(net);
    for a in &fixed_allocs {
        left.take(a.node, &a.lines);
    }
    for (r, cap) in &mut rows {
        *cap = model::capacity_left(&left, *r).unwrap_or(*cap);
    }
    stats["fixed_orders"] = json!(fixed.iter().filter(|&&f| f).count());
    let mut mip_finished = false;
    for pass in 0..2 {
        if large && last_lp.is_none() {
            // No LP solved in time: a MIP over the whole window will not finish
            // either; neighbourhood search below uses the time instead.
            stats["mip0_status"] = json!("skipped: no LP master solved");
            break;
        }
        if pass == 1 && net.order_count() > FULL_MIP_ORDERS {
            // Windows with fixed orders: ejection chains over every order (below) do
            // more with the time than a second MIP over the free ones.
            break;
        }
        if pass == 1 {
            // A second MIP with more columns, while time is left and the gap is open.
            let closed = lower_bound.is_some_and(|lb| {
                (best_plan.objective - lb) / best_plan.objective.abs().max(1e-9) <= opts.gap
            });
            let Some((_, duals, _)) = &last_lp else {
                break;
            };
            if closed || Instant::now() + model::FINISH_MARGIN >= deadline {
                break;
            }
            add_by_reduced_cost(
                duals,
                &options,
                &by_order,
                &fixed,
                best_plan.objective - lower_bound.unwrap_or(f64::NEG_INFINITY),
                &mut included,
            );
        }
        let start_by_order = group_by_order(net, &best_allocs);
        let ids: Vec<usize> = (0..options.len())
            .filter(|&j| included[j] && !fixed[options[j].order])
            .collect();
        let master = build_model(net.order_count(), rows.clone(), &options, &ids);
        let start: Vec<f64> = ids
            .iter()
            .map(|&j| {
                f64::from(u8::from(
                    options[j].shipments == start_by_order[options[j].order],
                ))
            })
            .collect();
        stats[format!("mip{pass}_columns")] = json!(ids.len());
        let Some(run) = run_guarded(master.problem(true), Some(start), opts, deadline) else {
            stats[format!("mip{pass}_status")] = json!("no plan within the time budget");
            break;
        };
        mip_finished |= run.status == highs::HighsModelStatus::Optimal;
        stats[format!("mip{pass}_status")] = json!(format!("{:?}", run.status));
        stats[format!("mip{pass}_nodes")] = json!(run.nodes);
        stats[format!("mip{pass}_gap_restricted")] = json!(run.gap);
        let chosen: Vec<Allocation> = master
            .option_ids
            .iter()
            .zip(&run.columns)
            .filter(|(_, x)| **x > 0.5)
            .flat_map(|(&j, _)| options[j].shipments.iter().cloned())
            .chain(fixed_allocs.iter().cloned())
            .collect();
        let plan = assemble_plan(net, &chosen, "mip", PlanStatus::Feasible);
        stats[format!("mip{pass}_objective")] = json!(plan.objective);
        if plan.objective < best_plan.objective {
            best_plan = plan;
            best_allocs = chosen;
        }
        // With every option of every order in the master, the MIP's own bound holds
        // for the whole problem.
        if complete && ids.len() == options.len() && run.dual_bound.is_finite() {
            let restricted = total_penalty + run.dual_bound;
            lower_bound = Some(lower_bound.map_or(restricted, |b| b.max(restricted)));
        }
    }
    lap("mip", &mut stats);
    // 6. Local search on the best plan: ejection chains, then (large windows)
    // neighbourhood search, then ejection chains again on what it changed.
    if Instant::now() + model::FINISH_MARGIN * 5 < deadline {
        // Keep back what turning the choice into a plan takes (measured above).
        let stop = deadline - model::FINISH_MARGIN * 3 - assemble_time.mul_f64(1.5);
        let by_start = group_by_order(net, &best_allocs);
        let mut choice = choice_of(&options, &by_order, &by_start);
        let t = Instant::now();
        let ejected = primal::eject(net, &options, &by_order, &mut choice, stop);
        let eject_time = t.elapsed();
        let (mut moves, mut evicted, mut saved) = (ejected.moves, ejected.evicted, ejected.saved);
        if large && Instant::now() + model::FINISH_MARGIN * 5 < stop {
            let candidates =
                candidate_options(&options, &by_order, last_lp.as_ref(), &ascent_ranked);
            // The second pass of ejection chains only revisits what LNS changed.
            let lns_stop = stop - eject_time.mul_f64(0.25);
            let lns = lns::search(net, &options, &candidates, &mut choice, opts, lns_stop);
            stats["lns_neighbourhoods"] = json!(lns.neighbourhoods);
            stats["lns_improved"] = json!(lns.improved);
            stats["lns_saved"] = json!(lns.saved);
            if lns.improved > 0 {
                let again = primal::eject(net, &options, &by_order, &mut choice, stop);
                moves += again.moves;
                evicted += again.evicted;
                saved += again.saved;
            }
        }
        stats["eject_moves"] = json!(moves);
        stats["eject_evicted"] = json!(evicted);
        stats["eject_saved"] = json!(saved);
        let allocs = primal::allocations(&options, &choice);
        let plan = assemble_plan(net, &allocs, "mip", PlanStatus::Feasible);
        if plan.objective < best_plan.objective {
            best_plan = plan;
        }
        lap("local_search", &mut stats);
    }
    let plan = conclude(
        best_plan,
        incumbent,
        mip_finished,
        lower_bound,
        stats,
        finish,
    );
    // Freeing millions of options takes a noticeable part of a second on big
    // windows: do it off the caller's clock.
    std::thread::spawn(move || drop((options, by_order, pool, last_lp)));
    plan
}

/// The final choice: the best plan, unless the budget ran out before anything beat
/// the greedy incumbent, which is then returned as `fallback`.
fn conclude(
    mut best_plan: Plan,
    incumbent: Plan,
    mip_finished: bool,
    lower_bound: Option<f64>,
    mut stats: serde_json::Value,
    finish: impl FnOnce(Plan, Option<f64>, serde_json::Value) -> Plan,
) -> Plan {
    if best_plan.objective >= incumbent.objective && !mip_finished {
        let mut plan = incumbent;
        plan.status = PlanStatus::Fallback;
        stats["fallback_reason"] =
            json!("no plan better than the greedy incumbent within the time budget");
        return finish(plan, lower_bound, stats);
    }
    best_plan.status = PlanStatus::Feasible;
    finish(best_plan, lower_bound, stats)
}

/// Orders whose LP solution is (almost) integral and agrees with the start plan: one
/// option at ≥ [`DECIDED`] that the plan uses, or no LP mass and nothing shipped.
fn decided_orders(
    net: &Network,
    last_lp: Option<&(Model, Duals, Vec<f64>)>,
    start_by_order: &[Vec<Allocation>],
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
) -> Vec<bool> {
    let Some((master, _, lp_x)) = last_lp else {
        return vec![false; net.order_count()];
    };
    let mut lp_value = vec![0.0; options.len()];
    for (&j, &x) in master.option_ids.iter().zip(lp_x) {
        lp_value[j] = x;
    }
    (0..net.order_count())
        .map(|o| {
            let mass: f64 = by_order[o].iter().map(|&j| lp_value[j]).sum();
            if start_by_order[o].is_empty() {
                return mass <= 1.0 - DECIDED;
            }
            by_order[o]
                .iter()
                .any(|&j| lp_value[j] >= DECIDED && options[j].shipments == start_by_order[o])
        })
        .collect()
}

/// Candidate options per order for local and neighbourhood search: the cheapest
/// by reduced cost under the last LP's duals (else the ascent's prices) and every
/// option the LP uses.
fn candidate_options(
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    last_lp: Option<&(Model, Duals, Vec<f64>)>,
    ascent_ranked: &[Vec<(f64, usize)>],
) -> Vec<Vec<usize>> {
    let mut ranked: Vec<Vec<(f64, usize)>> = match last_lp {
        Some((_, duals, _)) => by_order
            .iter()
            .map(|ids| {
                ids.iter()
                    .map(|&j| (duals.reduced_cost(&options[j]), j))
                    .collect()
            })
            .collect(),
        None => ascent_ranked.to_vec(),
    };
    for c in &mut ranked {
        c.sort_by(|a, b| a.0.total_cmp(&b.0));
        c.truncate(lns::OPTIONS_PER_ORDER);
    }
    let mut candidates: Vec<Vec<usize>> = ranked
        .into_iter()
        .map(|c| c.into_iter().map(|(_, j)| j).collect())
        .collect();
    if let Some((master, _, lp_x)) = last_lp {
        for (&j, &x) in master.option_ids.iter().zip(lp_x) {
            if x > 1e-6 && !candidates[options[j].order].contains(&j) {
                candidates[options[j].order].push(j);
            }
        }
    }
    candidates
}

/// The option of each order whose shipments are `by_start`'s (`None`: nothing
/// shipped).
fn choice_of(
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    by_start: &[Vec<Allocation>],
) -> primal::Choice {
    by_order
        .iter()
        .zip(by_start)
        .map(|(ids, start)| {
            ids.iter()
                .copied()
                .find(|&j| !start.is_empty() && options[j].shipments == *start)
        })
        .collect()
}

/// Option indices of each order, cheapest first.
fn options_by_order(net: &Network, options: &[FulfillmentOption]) -> Vec<Vec<usize>> {
    let mut by_order: Vec<Vec<usize>> = vec![Vec::new(); net.order_count()];
    for (j, o) in options.iter().enumerate() {
        by_order[o.order].push(j);
    }
    for ids in &mut by_order {
        ids.sort_by(|&a, &b| options[a].saving_cost.total_cmp(&options[b].saving_cost));
    }
    by_order
}

/// Each order's allocations, in plan order.
fn group_by_order(net: &Network, allocs: &[Allocation]) -> Vec<Vec<Allocation>> {
    let mut by_order: Vec<Vec<Allocation>> = vec![Vec::new(); net.order_count()];
    for a in allocs {
        by_order[a.order].push(a.clone());
    }
    by_order
}

/// Turns best responses into real options (exact cost, cheapest service per
/// shipment) and appends those that are new, save money, and pass `accept` (a
/// reduced-cost test). Returns the indices of the appended options.
fn add_responses(
    net: &Network,
    responses: &[bound::Response],
    options: &mut Vec<FulfillmentOption>,
    by_order: &mut [Vec<usize>],
    accept: &dyn Fn(&FulfillmentOption) -> bool,
) -> Vec<usize> {
    let mut appended = Vec::new();
    for (order, response) in responses.iter().enumerate() {
        if response.is_empty() {
            continue;
        }
        let shipments: Option<Vec<Allocation>> = response
            .iter()
            .map(|(node, lines)| {
                (
                    node,
                    lines
                        .iter()
                        .copied()
                        .filter(|&(_, q)| q > 0)
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, lines)| !lines.is_empty())
            .map(|(node, lines)| {
                let zone = net.lane(order, *node).zone;
                let units: u32 = lines.iter().map(|&(_, q)| q).sum();
                let weight = net.weight(lines.iter().copied());
                net.best_service(order, *node, zone, units, weight)
                    .map(|(service, _)| Allocation {
                        order,
                        node: *node,
                        service,
                        lines,
                    })
            })
            .collect();
        let Some(shipments) = shipments.filter(|s| !s.is_empty()) else {
            continue;
        };
        if by_order[order]
            .iter()
            .any(|&j| options[j].shipments == shipments)
        {
            continue;
        }
        let option = FulfillmentOption {
            order,
            saving_cost: options::option_cost(net, order, &shipments),
            shipments,
        };
        if option.saving_cost < 0.0 && accept(&option) {
            by_order[order].push(options.len());
            appended.push(options.len());
            options.push(option);
        }
    }
    appended
}

/// Adds to the master the options with negative reduced cost (the most negative
/// few per order); returns how many were added.
fn price_options(
    duals: &Duals,
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    included: &mut [bool],
) -> usize {
    let mut added = 0;
    for ids in by_order {
        let mut negative: Vec<(f64, usize)> = ids
            .iter()
            .filter(|&&j| !included[j])
            .map(|&j| (duals.reduced_cost(&options[j]), j))
            .filter(|&(rc, _)| rc < -RC_EPS)
            .collect();
        negative.sort_by(|a, b| a.0.total_cmp(&b.0));
        for &(_, j) in negative.iter().take(ADDED_PER_ORDER) {
            included[j] = true;
            added += 1;
        }
    }
    added
}

/// Price-directed rounding of the LP: orders the LP serves most decidedly go first;
/// each takes, among the master's options, the one with the largest LP value (then
/// the lowest reduced cost) that still fits the stock and capacity left, or nothing.
fn round_lp(
    net: &Network,
    master: &Model,
    duals: &Duals,
    lp_x: &[f64],
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
) -> Vec<Allocation> {
    let mut lp_value = vec![0.0; options.len()];
    for (&j, &x) in master.option_ids.iter().zip(lp_x) {
        lp_value[j] = x;
    }
    let decided = |o: usize| by_order[o].iter().map(|&j| lp_value[j]).fold(0.0, f64::max);
    let mut order_seq: Vec<usize> = (0..net.order_count()).collect();
    order_seq.sort_by(|&a, &b| decided(b).total_cmp(&decided(a)).then(a.cmp(&b)));
    let mut usage = Usage::new(net);
    let mut out = Vec::new();
    for o in order_seq {
        let mut candidates: Vec<(f64, f64, usize)> = by_order[o]
            .iter()
            .map(|&j| (lp_value[j], duals.reduced_cost(&options[j]), j))
            .collect();
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.total_cmp(&b.1)));
        if let Some(&(_, _, j)) = candidates
            .iter()
            .find(|&&(_, _, j)| fits(&usage, &options[j]))
        {
            for a in &options[j].shipments {
                usage.take(a.node, &a.lines);
                out.push(a.clone());
            }
        }
    }
    out
}

/// Reduced-cost selection: an option whose reduced cost exceeds `room` (the gap
/// between the best plan and the bound) cannot be part of a better plan; the cheaper
/// ones of each free order join the MIP, a few per order.
fn add_by_reduced_cost(
    duals: &Duals,
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    fixed: &[bool],
    room: f64,
    included: &mut [bool],
) {
    for (o, ids) in by_order.iter().enumerate() {
        if fixed[o] {
            continue;
        }
        let mut cheap: Vec<(f64, usize)> = ids
            .iter()
            .filter(|&&j| !included[j])
            .map(|&j| (duals.reduced_cost(&options[j]), j))
            .filter(|&(rc, _)| rc <= room)
            .collect();
        cheap.sort_by(|a, b| a.0.total_cmp(&b.0));
        for &(_, j) in cheap.iter().take(MIP_EXTRA_PER_ORDER) {
            included[j] = true;
        }
    }
}

/// The most valuable binding resources by the last LP master's duals: what one more
/// unit of stock at a node, or one more shipment or unit of node capacity, would save
/// in the LP relaxation (an estimate for the integer plan). Highest first, at most 25.
fn shadow_prices(net: &Network, p: &Prices) -> serde_json::Value {
    let inst = net.instance;
    let mut prices: Vec<(f64, serde_json::Value)> = p
        .rows
        .iter()
        .filter_map(|&(r, _)| {
            let price = p.get(r);
            (price > 1e-6).then(|| {
                let v = match r {
                    options::Resource::Stock(n, k) => json!({"resource": "stock", "node": inst.nodes[n].id, "sku": inst.skus[k].id, "price": price}),
                    options::Resource::Shipments(n) => json!({"resource": "shipments", "node": inst.nodes[n].id, "price": price}),
                    options::Resource::Units(n) => json!({"resource": "units", "node": inst.nodes[n].id, "price": price}),
                };
                (price, v)
            })
        })
        .collect();
    prices.sort_by(|a, b| b.0.total_cmp(&a.0));
    json!(
        prices
            .into_iter()
            .take(25)
            .map(|(_, v)| v)
            .collect::<Vec<_>>()
    )
}
