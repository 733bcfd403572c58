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
//!    left; every round's duals give a lower bound too; the best one is kept
//!    (skipped when fewer than `MIN_LP_ROUNDS` rounds fit, `MIN_LP_ROUNDS_LARGE`
//!    over `LP_MAX_ORDERS` orders, and in windows over
//!    `HUGE_ORDERS` orders). Windows over `LP_MAX_ORDERS` orders where the rounds
//!    do not fit solve one LP instead, after the ascent: over each order's options
//!    nearly tied at the ascent's prices (`TIED_RC_WINDOW`), with the nodes'
//!    shipment and unit rows as constraints and stock priced at the ascent's
//!    prices (`node_master`), on one thread while the ascent goes on on the other;
//! 5. a price-directed rounding turns the LP into a plan, then HiGHS solves the
//!    master as a MIP from the best plan so far, on a worker thread guarded by our
//!    own deadline; windows of up to `FULL_MIP_ORDERS` orders then solve MIPs over
//!    every option within a reduced-cost room of the bound (orders with too many
//!    options there by their arc relaxation, `bound::ArcBlock`), whose own bound
//!    then holds for the whole problem (`add_within_room`);
//! 6. local search on the best plan: ejection chains (`primal::eject`), then in
//!    windows over `LP_MAX_ORDERS` orders large-neighbourhood search (`lns.rs`)
//!    and ejection chains again; in windows over `HUGE_ORDERS` orders the ascent
//!    goes on meanwhile on the spare core (`spare_core_ascent`) for a better bound;
//! 7. the best plan wins, with its status, bound and statistics.

mod bound;
mod cuts;
mod lagrange;
mod lns;
mod model;
mod options;
mod packed;
mod parallel;
mod prices;
mod primal;
mod stop;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::json;

use crate::cost::Network;
use crate::domain::{Plan, PlanStatus};
use crate::solve::greedy::{self, Policy};
use crate::solve::{Allocation, Leftovers, SolveOptions, Usage, assemble_plan};
use cuts::CutPrices;
use model::{Duals, HighsRun, Model, binding_rows, build_model, run_guarded, run_mip_to_target};
use options::{FulfillmentOption, add_incumbent_options, enumerate_options};
use prices::Prices;
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
/// Column generation runs only if this many rounds are predicted to fit its share
/// of the budget, else the one LP over the node rows does (10,000 orders: at 10 s,
/// 5.6 rounds predicted, column generation's plan came out at 209,365 against the
/// one LP's 209,294; at 15 s, 8.4 rounds, at 209,207 against 209,286).
const MIN_LP_ROUNDS: f64 = 6.0;
/// [`MIN_LP_ROUNDS`] for windows over [`LP_MAX_ORDERS`] orders, whose masters take
/// longer per column than [`LP_SECONDS_PER_COLUMN`] says (10,000 orders: 2.8-3.3 s a
/// round in a slow hour against 0.8 s predicted). At 15 s in that hour the one LP
/// gave 0.47% and 0.41% (`--seed 1`, `--seed 2`) against 0.62% and 0.57% for three
/// rounds of column generation; 30 s budgets keep column generation.
const MIN_LP_ROUNDS_LARGE: f64 = 9.0;
/// Share of the budget the ascent may use in windows above [`LP_MAX_ORDERS`] that
/// skip column generation (it stops earlier when its bound stalls). With
/// relax-and-cut a slice costs more (separation, cut rows, raised bounds), and in a
/// slow hour 40% left 900-1,280 steps: three 10,000-order windows × 5 s, interleaved
/// runs, gave 0.57-0.61%, 0.44-0.45% and 0.42-0.61% with 40% against 0.38-0.57%,
/// 0.45-0.51% and 0.36-0.41% with 50% (means 0.52% and 0.45%); 60% once 0.42%,
/// 0.56% and 0.36%.
const ASCENT_SHARE_WITHOUT_LP: f64 = 0.5;
/// The one LP must finish within this share of the budget.
const TIED_LP_SHARE: f64 = 0.85;
/// Interior point's optimality tolerance for the one LP: only its rounding is
/// used (over every row, 10,000 orders: 1.6-1.7 s instead of 2.0-2.1 s at
/// HiGHS's 1e-8, the same value to 0.0003%; at 1e-4 HiGHS no longer reports it
/// optimal).
const TIED_LP_TOLERANCE: f64 = 1e-5;
/// The one LP's options per order: those within this reduced cost of the order's
/// best at the ascent's prices, whose mix the LP settles (10,000 orders: about
/// 23,600 columns with each order's cheapest and the incumbent's; windows of 0.05,
/// 0.5 and 1.5 left the plans no better).
const TIED_RC_WINDOW: f64 = 0.2;
/// Seconds per column the one LP takes on one thread (10,000 orders: 0.30-0.48 s
/// for 21,000-39,000 columns; 100,000 orders: 11 s for 272,000, 41 µs each); it
/// is skipped when it would not finish in time.
const TIED_LP_SECONDS_PER_COLUMN: f64 = 25e-6;
/// Windows with more orders skip column generation: its first master would hold
/// each order's cheapest option only (a larger one does not solve in time), and
/// the few rounds that fit leave the LP far from converged.
const HUGE_ORDERS: usize = 30_000;
/// Share of the budget the first ascent may use in windows over [`HUGE_ORDERS`]
/// (the spare-core ascent goes on during local search): the price-directed start
/// and the neighbourhoods' candidates come from these prices, so a short ascent
/// costs plan quality. Measurements behind the value: `docs/tuning.md`.
const ASCENT_SHARE_HUGE: f64 = 0.35;
/// The ascent stops after this many slices in a row that raise the bound by less
/// than [`ASCENT_STALL`] of it (column generation or local search takes over).
const ASCENT_STALLED_SLICES: usize = 3;
/// Relative bound rise below which an ascent slice counts as stalled.
const ASCENT_STALL: f64 = 1e-5;
/// Ascent slices at most when column generation follows: the LP's duals then
/// give the bound, and the ascent only starts the master (1,000 orders: 6 slices
/// take 0.12 s; the scaled steps go on raising the bound slowly for 4 more).
const ASCENT_SLICES_BEFORE_LP: usize = 6;
/// Subgradient steps between two global bounds.
const ASCENT_STEPS: usize = 300;
/// Options per order added by one pricing round, at most.
const ADDED_PER_ORDER: usize = 1;
/// Interior-point seconds per master column, roughly (measured on 2 cores: 0.6 s for
/// a 15,000-column master); used to skip an LP that cannot finish in time.
const LP_SECONDS_PER_COLUMN: f64 = 40e-6;
/// Column generation rounds, at most (before cuts).
const MAX_ROUNDS: usize = 8;
/// Rounds of cuts at most. With {0, 1/2}-cuts the later rounds still lift the
/// bound: 1,000 orders × 10 s, seed 5 proved in 0.89 s with 10 against 1.42 s with
/// 6 (two runs each, interleaved; the other seeds, 1 s budgets, 1,500 orders × 2 s
/// and 3,000 × 5 s within noise).
const CUT_ROUNDS: usize = 10;
/// Rounds of column generation at most when cuts join the master.
const MAX_ROUNDS_WITH_CUTS: usize = 24;
/// Column generation separates cuts from this round on, and whenever it has
/// converged.
const CUTS_FROM_ROUND: usize = 4;
/// Cuts are separated only within this share of the budget, and column generation
/// goes on with them only within [`CUT_PHASE_SHARE`]: the MIP needs the rest. By
/// interior point from scratch each round, six rounds of cuts took a 3,000-order
/// window's column generation from 3.8 s to 6.3 s of 10 s and its MIP found no
/// plan. With the simplex session (0.5 and 0.6): 3,000 orders × 10 s 63,831 /
/// 63,809 (plan / bound) against 63,877 / 63,744 without cuts; 1,500 orders × 2 s
/// 33,071 / 33,067 against 33,081 / 33,043; 1,000 orders × 1 s, five windows:
/// four proved optimal, none without cuts (0.25 and 0.4 left no time for them).
const CUT_START_SHARE: f64 = 0.5;
/// See [`CUT_START_SHARE`].
const CUT_PHASE_SHARE: f64 = 0.6;
/// Share of the budget column generation may use before the MIP starts.
const CG_SHARE: f64 = 0.7;
/// Windows with more orders fix the orders the LP has decided before the MIP.
const FULL_MIP_ORDERS: usize = 3000;
/// LP value at which an option counts as decided.
const DECIDED: f64 = 0.99;
/// MIP passes at most: the first over the LP master's columns (windows that fix
/// orders stop there), then one per reduced-cost room.
const MIP_PASSES: usize = 3;
/// Share of the time left that a MIP over the undecided orders of a large window may
/// take; local search gets the rest.
const MIP_SHARE_LEFT: f64 = 0.6;
/// The first reduced-cost room, as a share of the bound (the integrality gaps of
/// generated windows measure 0.04% and up; the gap tolerance covers the rest), and
/// at least [`ROOM_MIN`]. 1,000 orders, seed 1: 5,348 options and a 1.2-1.4 s proof
/// with 0.04%, 8,942 and 1.3-1.6 s with 0.05%.
const ROOM_SHARE: f64 = 4e-4;
/// [`ROOM_SHARE`] for a bound raised by cover cuts, whose gap to the optimum is
/// smaller (1,000 orders, five windows: 0.003-0.07% after the cuts; a share of
/// 0.008% proved them in 1.4-3.0 s, 0.015% in 1.5-3.6 s, 0.04% in 1.6-4.0 s).
const ROOM_SHARE_WITH_CUTS: f64 = 1e-4;
/// The least first reduced-cost room.
const ROOM_MIN: f64 = 1.0;
/// The room up to the best plan is searched first unless it is more than this many
/// times the first room: after the MIP over the LP's undecided orders the best plan
/// is usually that close to the bound, and a first room MIP would then cost nearly
/// what the proof does without proving anything (1,000 orders × 1 s, seeds 1-5
/// interleaved in a slow hour: proved in 17 of 25 runs against 10 of 25 with the
/// first room always; seeds 1 and 3 gained. 1,500 orders × 2 s: optimal in 1.32 s
/// instead of 1.52 s; 3,000 orders × 5 s: 0.066% instead of 0.101%).
const QUICK_ROOM_FACTOR: f64 = 4.0;
/// Most options per order, on average, in a reduced-cost MIP (the room shrinks to
/// fit).
const ROOM_COLUMNS_PER_ORDER: usize = 10;
/// Most options per order, on average, in the reduced-cost MIPs after the first
/// (the room up to the plan, which proves it optimal when the list is complete;
/// 1,000 orders: 10,000-22,000 columns, 2-5 s).
const PROOF_COLUMNS_PER_ORDER: usize = 40;
/// Widest room, as a share of the bound, for which the proof pass lists
/// [`PROOF_COLUMNS_PER_ORDER`] options and arc blocks (generated 1,000-order
/// windows: 0.1-0.4%; the split-heavy dataset's 13% gap only took local search's
/// time, and its plan came out 0.8% dearer).
const PROOF_ROOM_SHARE: f64 = 0.01;
/// Most option shapes per order listed by reduced-cost enumeration in the proof
/// pass; an order with more is modelled by its arc relaxation instead
/// (`bound::ArcBlock`). Measured on a 1,000-order window's proof MIP (room 60):
/// 2,000 → 51k columns, 50 arc orders, 9.0 s; 200 → 22k columns, 109 arc orders,
/// 3.9 s; 50 → 222 arc orders, 10.5 s.
const SHAPES_PER_ORDER: usize = 200;
/// Most option shapes per order in the first room's list (no arc blocks there: an
/// order with more leaves the list incomplete).
const SHAPES_PER_ORDER_WITHOUT_ARCS: usize = 2000;
/// Relax-and-cut keeps at most one cut per this many orders.
const MAX_ORDERS_PER_CUT: usize = 5;
/// Reduced cost below which an option improves the master.
const RC_EPS: f64 = 1e-6;
/// A MIP stops at a plan this share of the gap tolerance above the best bound.
const TARGET_SHARE_OF_GAP: f64 = 0.9;

/// Solves the window; never fails: without a better plan it returns the best
/// greedy plan with status `fallback`. Large working memory goes to `leftovers`
/// for the caller to free when it suits it.
pub fn solve(
    net: &Network,
    opts: &SolveOptions,
    started: Instant,
    leftovers: &mut Leftovers,
) -> Plan {
    let deadline = started + opts.time_limit;
    let mut stats = json!({});
    let mut phase = Instant::now();
    let mut lap = |name: &str, stats: &mut serde_json::Value| {
        stats[format!("{name}_seconds")] = json!(phase.elapsed().as_secs_f64());
        phase = Instant::now();
    };

    // 1. Incumbent: the best greedy plan; 2. every order's options. The two are
    // independent: with a second thread they run side by side (100,000 orders: 3 s
    // and 4 s one after the other).
    let best_greedy = || {
        let t = Instant::now();
        let best = Policy::ALL
            .iter()
            .map(|&p| {
                let allocs = greedy::allocate(net, p);
                let plan = assemble_plan(net, &allocs, "mip", PlanStatus::Fallback);
                (allocs, plan)
            })
            .min_by(|a, b| a.1.objective.total_cmp(&b.1.objective))
            .expect("three policies");
        (best, t.elapsed())
    };
    let enumerate = || {
        let t = Instant::now();
        (enumerate_options(net, deadline), t.elapsed())
    };
    let (((incumbent_allocs, incumbent), greedy_time), (enumerated, enumerate_time)) =
        if opts.threads > 1 {
            std::thread::scope(|s| {
                let greedy = s.spawn(best_greedy);
                let enumerated = enumerate();
                (greedy.join().expect("greedy policies"), enumerated)
            })
        } else {
            (best_greedy(), enumerate())
        };
    stats["incumbent_objective"] = json!(incumbent.objective);
    stats["greedy_seconds"] = json!(greedy_time.as_secs_f64());
    stats["enumeration_seconds"] = json!(enumerate_time.as_secs_f64());
    let finish = |mut plan: Plan, lower_bound: Option<f64>, mut stats: serde_json::Value| {
        let lb = lower_bound.map(|lb| lb.min(plan.objective));
        let gap = lb.map(|lb| relative_gap(plan.objective, lb));
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

    let Some((mut options, complete)) = enumerated else {
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
    let total_penalty = total_unfilled_penalty(net);
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
    // Column generation pays only when several rounds fit: the first master holds
    // about two options per order. Otherwise the ascent gets more of the budget (its
    // bound is then the plan's) and local search the rest.
    let share_left = CG_SHARE
        - if large {
            ASCENT_SHARE_LARGE
        } else {
            ASCENT_SHARE
        };
    let round_seconds = 2.0 * net.order_count() as f64 * LP_SECONDS_PER_COLUMN;
    let min_rounds = if large {
        MIN_LP_ROUNDS_LARGE
    } else {
        MIN_LP_ROUNDS
    };
    let lp_pays = !huge && round_seconds * min_rounds <= share_left * opts.time_limit.as_secs_f64();
    // Large windows that column generation does not pay for solve one LP over the
    // options the ascent finds nearly tied, on one thread while the ascent goes on
    // on the other, and round it.
    let tied_lp = large && !lp_pays && !huge && opts.threads > 1;
    let ascent_share = match (large, lp_pays || huge) {
        (false, _) => ASCENT_SHARE,
        (true, _) if huge => ASCENT_SHARE_HUGE,
        (true, true) => ASCENT_SHARE_LARGE,
        (true, false) => ASCENT_SHARE_WITHOUT_LP,
    };
    let ascent_deadline = started + opts.time_limit.mul_f64(ascent_share);

    // 3. Lagrangian ascent over every known option, with a global bound per slice.
    let t = Instant::now();
    let node_terms = bound::NodeTerms::new(net, opts.threads as usize);
    stats["node_terms_seconds"] = json!(t.elapsed().as_secs_f64());
    let zero_prices = Prices::zero(&rows);
    let mut pool = lagrange::Pool::new(net.order_count(), &zero_prices, opts.threads as usize);
    pool.extend(options.iter().enumerate(), &zero_prices);
    let target = incumbent.objective - total_penalty;
    let mut prices = zero_prices.clone();
    let mut lower_bound: Option<f64> = None;
    // The prices of the best bound so far, with its value and each order's minimum.
    let mut best_bound: Option<BestBound> = None;
    let (mut scale, mut slices, mut steps) = (1.0, 0, 0);
    // Slices in a row whose bound did not beat the best by ASCENT_STALL.
    let mut stalled = 0;
    let (mut ascent_seconds, mut bound_seconds, mut bounds) = (0.0, 0.0, 0);
    // The last slice's votes per option and its steps.
    let mut last_votes: (Vec<(usize, u32)>, usize) = (Vec::new(), 0);
    // Relax-and-cut: windows over LP_MAX_ORDERS orders add cover cuts, separated
    // from each slice's averaged best responses, to the pool as rows with prices
    // of their own (smaller windows cut their LP master instead). --threads 2
    // --seed 1: 10,000 orders × 5 s, three windows, 0.29-0.37% against 0.44-0.52%
    // without; × 30 s (column generation after the ascent) 0.12% against 0.37%;
    // 100,000 orders × 60 s 0.64% against 0.72%.
    let relax_and_cut = large;
    let mut known_cuts: HashSet<cuts::Cut> = HashSet::new();
    loop {
        let t = Instant::now();
        let Some((bound, cut_prices)) = global_bound(
            net,
            &node_terms,
            &pool,
            &prices,
            opts.threads as usize,
            cg_deadline,
        ) else {
            break;
        };
        bound_seconds += t.elapsed().as_secs_f64();
        bounds += 1;
        let lb = total_penalty + bound.value;
        stalled = stalled_after(stalled, lb, lower_bound.unwrap_or(f64::NEG_INFINITY));
        let responses = keep_best_bound(&mut best_bound, lb, &prices, &cut_prices, bound);
        if slices == 0 {
            stats["unpriced_bound"] = json!(lb);
            stats["unpriced_bound_seconds"] = json!(t.elapsed().as_secs_f64());
        }
        lower_bound = Some(lower_bound.map_or(lb, |b: f64| b.max(lb)));
        let minima = pool.order_minima(&prices.values);
        let new = add_responses(net, &responses, &mut options, &mut by_order, &|o| {
            prices.reduced_cost(o, 0.0) < minima[o.order] - RC_EPS
        });
        pool.extend(new.iter().map(|&j| (j, &options[j])), &zero_prices);
        if Instant::now() >= ascent_deadline
            || (new.is_empty() && scale < lagrange::MIN_SCALE)
            || stalled >= ASCENT_STALLED_SLICES
            || (lp_pays && !large && slices >= ASCENT_SLICES_BEFORE_LP)
        {
            break;
        }
        let t = Instant::now();
        let ascent = pool.ascend(
            &prices.values,
            target,
            1.0,
            ASCENT_STEPS,
            ascent_deadline,
            None,
        );
        ascent_seconds += t.elapsed().as_secs_f64();
        scale = ascent.scale;
        steps += ascent.iterations;
        last_votes = (pool.option_votes(&ascent.votes), ascent.iterations);
        slices += 1;
        prices.values = ascent.prices;
        stats["ascent_pool_value"] = json!(total_penalty + ascent.value);
        if relax_and_cut && pool.cuts().len() < net.order_count() / MAX_ORDERS_PER_CUT {
            let (ids, shares): (Vec<usize>, Vec<f64>) = last_votes
                .0
                .iter()
                .map(|&(j, v)| (j, f64::from(v) / last_votes.1.max(1) as f64))
                .unzip();
            let new = cuts::separate(
                &options,
                &ids,
                &shares,
                &rows,
                &zero_prices.row_index,
                &known_cuts,
            );
            if !new.is_empty() {
                pool.add_cuts(&new, &options);
                prices.values.resize(prices.values.len() + new.len(), 0.0);
                known_cuts.extend(new);
            }
        }
    }
    stats["ascent_cuts"] = json!(pool.cuts().len());
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

    // 4. Column generation from the options the ascent's prices favour (or the one
    // LP over the nearly tied ones).
    let mut included: Vec<bool> = vec![false; options.len()];
    let (per_order, window) = if tied_lp {
        (usize::MAX, TIED_RC_WINDOW)
    } else {
        (INITIAL_OPTIONS_PER_ORDER, INITIAL_RC_WINDOW)
    };
    for (ids, cols) in by_order.iter().zip(&ascent_ranked) {
        if let Some(&j) = ids.first() {
            included[j] = true;
        }
        let cheapest = cols.first().map_or(0.0, |c| c.0);
        for &(_, j) in cols
            .iter()
            .take(per_order)
            .filter(|c| c.0 <= cheapest + window)
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
    // Where the ascent beside the one LP stopped: the ascent during local search
    // goes on from there.
    let mut beside_prices: Option<Prices> = None;
    let mut rounds = 0;
    let (mut lp_seconds, mut pricing_seconds, mut separation_seconds) = (0.0, 0.0, 0.0);
    // Skip the LP when its first solve cannot finish in the time left for it (a
    // rough rate from this machine class: interior point on these masters). Huge
    // windows skip it too: from each order's cheapest option a few rounds leave the
    // LP far from converged (100,000 orders: 2 rounds in 25 s, the LP still 14%
    // above the bound), and ejection chains from the ascent's plan do better with
    // the time (measured: 1,805.6k against 1,826.8k at 60 s).
    let first_master = included.iter().filter(|&&b| b).count();
    let predicted = first_master as f64
        * if tied_lp {
            TIED_LP_SECONDS_PER_COLUMN
        } else {
            LP_SECONDS_PER_COLUMN
        };
    let cg_deadline = if tied_lp {
        started + opts.time_limit.mul_f64(TIED_LP_SHARE)
    } else {
        cg_deadline
    };
    let lp_time = cg_deadline.saturating_duration_since(Instant::now());
    let skip_lp = if huge {
        Some(format!("window over {HUGE_ORDERS} orders"))
    } else if !lp_pays && !tied_lp {
        Some(format!(
            "fewer than {min_rounds} rounds of about {round_seconds:.1} s fit the budget"
        ))
    } else {
        (predicted > lp_time.as_secs_f64()).then(|| {
            format!(
                "first master of {first_master} columns predicted at {predicted:.1} s, {:.1} s left",
                lp_time.as_secs_f64()
            )
        })
    };
    if let Some(reason) = &skip_lp {
        stats["cg_skipped"] = json!(reason);
    }
    // Cover cuts: in windows whose reduced-cost MIPs prove the plan, where a
    // higher bound shrinks their room.
    let with_cuts = !large;
    let (mut cuts, mut known_cuts, mut cut_rounds) = (Vec::new(), HashSet::new(), 0);
    let cut_start_by = started + opts.time_limit.mul_f64(CUT_START_SHARE);
    let cut_phase_end = started + opts.time_limit.mul_f64(CUT_PHASE_SHARE);
    // Windows up to LP_MAX_ORDERS keep their master in HiGHS between rounds, solved
    // by simplex from the last basis (1,000 orders, five windows: column generation
    // with cuts in 0.29-0.53 s instead of 0.57-1.09 s by interior point from
    // scratch; the proofs in 0.64-1.91 s instead of 0.92-2.35 s). Larger masters keep
    // interior point, which solves them faster than a cold simplex.
    let mut session =
        (!large).then(|| model::LpSession::new(net.order_count(), &rows, opts.cancel.clone()));
    while (rounds < MAX_ROUNDS
        || (cut_rounds > 0 && rounds < MAX_ROUNDS_WITH_CUTS && Instant::now() < cut_phase_end))
        && Instant::now() < cg_deadline
        && skip_lp.is_none()
    {
        rounds += 1;
        let ids: Vec<usize> = match session.as_mut() {
            Some(s) => {
                s.sync(&options, &included, &cuts);
                s.option_ids.clone()
            }
            None => (0..options.len()).filter(|&j| included[j]).collect(),
        };
        let master = if tied_lp {
            node_master(net.order_count(), &rows, &prices, &options, &ids)
        } else {
            let mut m = build_model(net.order_count(), rows.clone(), &options, &ids);
            m.add_cuts(&cuts, &options);
            m
        };
        let t = Instant::now();
        let lp = if tied_lp {
            let best = lower_bound.unwrap_or(f64::NEG_INFINITY);
            let (lp, beside) = lp_beside_ascent(
                net,
                &node_terms,
                &master,
                &mut pool,
                prices.clone(),
                (target, total_penalty, best),
                opts,
                cg_deadline,
            );
            stats["tied_lp_ascent_steps"] = json!(beside.steps);
            stats["tied_lp_ascent_bound"] = json!(beside.bound);
            beside_prices = Some(beside.prices);
            if let Some(lb) = beside.bound {
                lower_bound = Some(lower_bound.map_or(lb, |b| b.max(lb)));
            }
            lp
        } else if let Some(s) = session.as_mut() {
            s.solve(cg_deadline)
        } else {
            run_guarded(
                master.problem(false),
                None,
                total_penalty,
                true,
                opts,
                cg_deadline,
            )
        };
        let Some(lp) = lp else {
            break;
        };
        lp_seconds += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let Some(row_duals) = lp.row_duals else { break };
        let duals = master.duals(&row_duals);
        if tied_lp {
            // One LP only: its rounding is what it is for. (Its value, with stock
            // priced over a few options per order, bounds nothing.)
            stats["node_lp_objective"] = json!(total_penalty + lp.objective);
            last_lp = Some((master, duals, lp.columns));
            break;
        }
        let Some(mut bound) = bound::lagrangian_bound(
            net,
            &node_terms,
            &duals.prices,
            opts.threads as usize,
            cg_deadline,
        ) else {
            break;
        };
        if !cuts.is_empty() {
            cuts::raise_bound(
                net,
                &node_terms,
                &duals.prices,
                &duals.cuts,
                &mut bound,
                opts.threads as usize,
                cg_deadline,
            );
        }
        let lb = total_penalty + bound.value;
        let responses = keep_best_bound(&mut best_bound, lb, &duals.prices, &duals.cuts, bound);
        lower_bound = Some(lower_bound.map_or(lb, |b: f64| b.max(lb)));
        stats["lp_objective"] = json!(total_penalty + lp.objective);
        let new = add_responses(net, &responses, &mut options, &mut by_order, &|o| {
            duals.reduced_cost(o) < -RC_EPS
        });
        included.resize(options.len(), false);
        let added = new.len() + price_options(&duals, &options, &by_order, &mut included);
        pricing_seconds += t.elapsed().as_secs_f64();
        // Converged: cover cuts and {0, 1/2}-cuts the LP violates join the master,
        // and column generation goes on with their prices. (1,000 orders, seed 5:
        // the bound after its rounds 20,295.6 against 20,285.3 with covers alone,
        // the optimum 20,298.2.)
        let separating = added == 0 || rounds >= CUTS_FROM_ROUND;
        let new_cuts = if separating
            && cut_rounds < CUT_ROUNDS
            && with_cuts
            && Instant::now() < cut_start_by
        {
            let t = Instant::now();
            let mut found = cuts::separate(
                &options,
                &master.option_ids,
                &lp.columns,
                &master.rows,
                &master.row_index,
                &known_cuts,
            );
            found.extend(cuts::separate_zero_half(
                net,
                &options,
                &master.option_ids,
                &lp.columns,
                &master.rows,
                &master.row_index,
                &master.cuts,
                &known_cuts,
            ));
            separation_seconds += t.elapsed().as_secs_f64();
            found
        } else {
            Vec::new()
        };
        last_lp = Some((master, duals, lp.columns));
        if added == 0 && new_cuts.is_empty() {
            break;
        }
        if !new_cuts.is_empty() {
            if cut_rounds == 0 {
                stats["bound_before_cuts"] = json!(lower_bound);
            }
            cut_rounds += 1;
            known_cuts.extend(new_cuts.iter().cloned());
            cuts.extend(new_cuts);
        }
    }
    stats["cut_rounds"] = json!(cut_rounds);
    stats["cuts"] = json!(cuts.len());
    stats["cg_rounds"] = json!(rounds);
    stats["cg_lp_seconds"] = json!(lp_seconds);
    stats["cg_pricing_seconds"] = json!(pricing_seconds);
    stats["cg_separation_seconds"] = json!(separation_seconds);
    stats["master_columns"] = json!(included.iter().filter(|&&b| b).count());
    stats["lagrangian_bound"] = json!(lower_bound);
    stats["shadow_prices"] = match &last_lp {
        Some((_, duals, _)) if !tied_lp => shadow_prices(net, &duals.prices),
        _ => shadow_prices(net, &prices),
    };
    lap("column_generation", &mut stats);

    // 5. Price-directed rounding, then the MIP from the best plan so far.
    let mut best_allocs = incumbent_allocs.clone();
    let mut best_plan = incumbent.clone();
    // A plan cheaper than the one local search starts from (see the rounding below).
    let mut set_aside: Option<Plan> = None;
    // A plan from the ascent's prices: the one to beat when no LP master solved.
    let assemble_time;
    // Each option's reduced cost at the ascent's prices (options outside the pool:
    // infinite).
    let mut ascent_rc: Vec<f64> = vec![f64::INFINITY; options.len()];
    for &(r, j) in ascent_ranked.iter().flatten() {
        ascent_rc[j] = r;
    }
    {
        let rc = &ascent_rc;
        let mut choice = primal::price_directed(net, &options, &by_order, &|j| rc[j]);
        primal::improve(net, &options, &by_order, &mut choice, deadline);
        // The rounding of the ascent's averaged best responses, when it is better.
        let (votes, voted_steps) = &last_votes;
        if *voted_steps > 0 {
            let mut share = vec![0.0; options.len()];
            for &(j, v) in votes {
                share[j] = f64::from(v) / *voted_steps as f64;
            }
            let mut voted = round_by_value(net, &options, &by_order, &share, rc);
            primal::improve(net, &options, &by_order, &mut voted, deadline);
            let cost = |c: &primal::Choice| -> f64 {
                c.iter().flatten().map(|&j| options[j].saving_cost).sum()
            };
            stats["vote_rounded_saving"] = json!(cost(&voted));
            stats["price_directed_saving"] = json!(cost(&choice));
            if cost(&voted) < cost(&choice) {
                choice = voted;
            }
        }
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
        // The one LP's duals price the node rows only: its ties break by the
        // ascent's reduced costs instead.
        let dual_rc: Vec<f64>;
        let rc = if tied_lp {
            &ascent_rc
        } else {
            dual_rc = options.iter().map(|o| duals.reduced_cost(o)).collect();
            &dual_rc
        };
        let rounded = round_lp(net, master, lp_x, rc, &options, &by_order);
        let plan = assemble_plan(net, &rounded, "mip", PlanStatus::Feasible);
        stats["rounded_objective"] = json!(plan.objective);
        // On the one LP's path local search starts from the rounding even when the
        // price-directed plan is cheaper: it ends lower from there (10,000 orders ×
        // 5 s, three windows, three runs each: 0.48% gap against 0.56% on average,
        // lower in all nine pairs). The cheaper plan is kept aside.
        let start_here = tied_lp && plan.objective < incumbent.objective;
        if plan.objective < best_plan.objective || start_here {
            if best_plan.objective < plan.objective {
                set_aside = Some(std::mem::replace(&mut best_plan, plan));
            } else {
                best_plan = plan;
            }
            best_allocs = rounded;
        }
    }
    lap("rounding", &mut stats);
    if Instant::now() + model::FINISH_MARGIN >= deadline {
        stats["mip_status"] = json!("skipped: no time left");
        let best = cheaper(best_plan, set_aside);
        return conclude(best, incumbent, false, lower_bound, stats, finish);
    }
    // Large windows without an LP master run no MIP (below), and need none of its
    // preparation (100,000 orders: 0.9 s). The local search finds the best plan's
    // options without it: they come from the option list or the greedy plan.
    let mip_skipped = large && (last_lp.is_none() || tied_lp);
    // Windows of up to FULL_MIP_ORDERS orders with a bound go on, after the first
    // MIP, with MIPs over every option within a reduced-cost room of it (no order
    // fixed), each from the best plan, on which ejection chains run first (a few
    // milliseconds).
    let by_room = net.order_count() <= FULL_MIP_ORDERS && best_bound.is_some();
    if by_room && !mip_skipped {
        let saved = eject_best(
            net,
            &mut options,
            &mut by_order,
            &mut best_allocs,
            &mut best_plan,
            deadline,
        );
        stats["eject_before_mip0_saved"] = json!(saved);
    }
    let start_by_order = group_by_order(net, &best_allocs);
    if !mip_skipped {
        let known = options.len();
        add_incumbent_options(net, &best_allocs, &mut options);
        for j in known..options.len() {
            by_order[options[j].order].push(j);
        }
        included.resize(options.len(), false);
        for (j, o) in options.iter().enumerate() {
            if !start_by_order[o.order].is_empty() && o.shipments == start_by_order[o.order] {
                included[j] = true;
            }
        }
    }
    // Orders the LP has decided keep the start plan's choice, and the first MIP
    // re-optimizes the others against what they leave. In large windows it is the
    // only MIP; in small ones it finds, in a few hundredths of a second, the plan
    // the room MIPs start from (1,000 orders, five windows: 6-148 orders free, plans
    // 0-0.02% above the optimum, two of them optimal).
    let fixed = if !mip_skipped {
        decided_orders(net, last_lp.as_ref(), &start_by_order, &options, &by_order)
    } else {
        vec![false; net.order_count()]
    };
    let fixed_allocs: Vec<Allocation> = best_allocs
        .iter()
        .filter(|a| fixed[a.order])
        .cloned()
        .collect();
    let mut rows = if mip_skipped {
        Vec::new()
    } else {
        binding_rows(net, &options, &by_order)
    };
    let mut left = Usage::new(net);
    for a in &fixed_allocs {
        left.take(a.node, &a.lines);
    }
    for (r, cap) in &mut rows {
        *cap = model::capacity_left(&left, *r).unwrap_or(*cap);
    }
    stats["fixed_orders"] = json!(fixed.iter().filter(|&&f| f).count());
    let mut mip_finished = false;
    // When reduced-cost enumeration listed every option within the room: the bound
    // plus the room, below which every plan is in the MIP.
    let mut room_cap: Option<f64> = None;
    // The room of the last reduced-cost MIP if its list was complete (else 0).
    let mut last_room = 0.0;
    // The orders of the last reduced-cost MIP modelled by their arc relaxation.
    let mut arcs: Vec<bound::ArcBlock> = Vec::new();
    for pass in 0..MIP_PASSES {
        if by_room && pass > 0 {
            let saved = eject_best(
                net,
                &mut options,
                &mut by_order,
                &mut best_allocs,
                &mut best_plan,
                deadline,
            );
            included.resize(options.len(), false);
            stats[format!("eject_before_mip{pass}_saved")] = json!(saved);
        }
        if mip_skipped {
            // No LP solved in time: a MIP over the whole window will not finish
            // either; neighbourhood search below uses the time instead.
            stats["mip0_status"] = json!("skipped: no LP master solved");
            break;
        }
        if pass > 0 && !by_room {
            // Windows with fixed orders: ejection chains over every order (below) do
            // more with the time than a second MIP over the free ones.
            break;
        }
        if let Some(BestBound {
            value: bound_value,
            prices: bound_prices,
            cuts: bound_cuts,
            minima,
        }) = best_bound.as_ref().filter(|_| by_room && pass > 0)
        {
            let closed =
                lower_bound.is_some_and(|lb| relative_gap(best_plan.objective, lb) <= opts.gap);
            if closed || Instant::now() + model::FINISH_MARGIN >= deadline {
                break;
            }
            // The room up to the best plan (less half the gap tolerance: proving no
            // plan below that is enough for `optimal`, with room to spare for
            // rounding). When that is more than QUICK_ROOM_FACTOR times the usual
            // integrality gap, first a room of that size, for a cheaper plan that
            // shrinks it.
            let gap_room = best_plan.objective - bound_value;
            let share = if bound_cuts.cuts.is_empty() {
                ROOM_SHARE
            } else {
                ROOM_SHARE_WITH_CUTS
            };
            let quick_room = (share * bound_value.abs()).max(ROOM_MIN);
            let proof_room =
                (best_plan.objective * (1.0 - 0.5 * opts.gap) - bound_value).max(ROOM_MIN);
            let quick = pass == 1 && proof_room > QUICK_ROOM_FACTOR * quick_room;
            let room = if quick {
                gap_room.min(quick_room)
            } else {
                proof_room
            };
            if pass > 1 && room <= last_room * (1.0 + 1e-9) {
                // The same list again (or one the budget cuts back to it) would
                // give the same MIP.
                break;
            }
            let t = Instant::now();
            let known = options.len();
            // Only options within the room can be part of a cheaper plan; the start
            // plan's are kept too (below).
            included.iter_mut().for_each(|b| *b = false);
            // The first room is for a quick plan: arc blocks would make its MIP far
            // larger (3,000 orders × 30 nodes: 331 of them, and HiGHS no longer
            // finished in 5 s). The proof pass needs them and more columns, unless
            // the room is too wide to prove anything in time; it then stays like
            // the first and leaves local search its time.
            let proving = !quick && room <= PROOF_ROOM_SHARE * bound_value.abs();
            let listed = add_within_room(
                net,
                &node_terms,
                bound_prices,
                bound_cuts,
                minima,
                room,
                if proving {
                    PROOF_COLUMNS_PER_ORDER
                } else {
                    ROOM_COLUMNS_PER_ORDER
                } * net.order_count(),
                proving,
                &mut options,
                &mut by_order,
                &mut included,
                deadline,
            );
            let Some(Listing {
                complete,
                room: listed_room,
                arcs: listed_arcs,
            }) = listed
            else {
                break;
            };
            stats[format!("mip{pass}_arc_orders")] = json!(listed_arcs.len());
            arcs = listed_arcs;
            // A complete list of the whole room holds every plan a smaller room
            // would; a list the budget cut back or left incomplete (the first pass
            // lists fewer options per order, and no arc blocks) does not.
            last_room = if complete && listed_room >= room {
                room
            } else {
                0.0
            };
            let room = listed_room;
            room_cap = complete.then_some(bound_value + room);
            stats[format!("mip{pass}_room")] = json!(room);
            stats[format!("mip{pass}_room_complete")] = json!(complete);
            stats[format!("mip{pass}_room_added")] = json!(options.len() - known);
            stats[format!("mip{pass}_room_seconds")] = json!(t.elapsed().as_secs_f64());
            rows = binding_rows(net, &options, &by_order);
            // The arc blocks may use resources no listed option can exhaust: give
            // every limited resource they touch a row.
            let known: HashSet<options::Resource> = rows.iter().map(|r| r.0).collect();
            let touched: HashSet<options::Resource> = arcs
                .iter()
                .flat_map(|b| b.usage())
                .map(|(r, _)| r)
                .filter(|r| !known.contains(r))
                .collect();
            rows.extend(
                touched
                    .into_iter()
                    .filter_map(|r| model::capacity(net, r).map(|c| (r, c))),
            );
            let dropped = drop_dominated(&rows, &options, &by_order, &mut included);
            stats[format!("mip{pass}_room_dominated")] = json!(dropped);
        }
        let start_by_order = group_by_order(net, &best_allocs);
        for (j, o) in options.iter().enumerate() {
            if !o.shipments.is_empty() && o.shipments == start_by_order[o.order] {
                included[j] = true;
            }
        }
        // Only the first MIP keeps the decided orders fixed.
        let fixing = pass == 0;
        let ids: Vec<usize> = (0..options.len())
            .filter(|&j| included[j] && !(fixing && fixed[options[j].order]))
            .collect();
        let mut master = build_model(net.order_count(), rows.clone(), &options, &ids);
        // The best bound's cover cuts hold for every plan, so for this MIP's too;
        // as rows they tighten its root (1,000 orders, the second room: 0.19-0.21 s
        // instead of 0.26-0.32 s on seed 3, 0.54-0.58 s instead of 0.62-0.66 s on
        // seed 5; 1,500 orders × 2 s: the first MIP finished in 0.4-0.6 s where it
        // had reached its limit at 0.8 s). An order an arc block models does not
        // count in them, which only weakens them.
        if let Some(b) = best_bound.as_ref() {
            master.add_cuts(&b.cuts.cuts, &options);
        }
        if let (
            Some(cap),
            Some(BestBound {
                value: bound_value,
                minima,
                ..
            }),
        ) = (room_cap, best_bound.as_ref())
            && pass > 0
        {
            // Shipping nothing has reduced cost 0, so it exceeds the order's minimum
            // by −minimum. Orders the start plan leaves unserved keep `≤ 1` so that
            // the start stays feasible (dropping a row only relaxes the MIP).
            let room = cap - bound_value;
            master.must_ship = minima
                .iter()
                .zip(&start_by_order)
                .map(|(m, start)| -m > room + RC_EPS && !start.is_empty())
                .collect();
            master.arcs = std::mem::take(&mut arcs);
        }
        let start: Vec<f64> = ids
            .iter()
            .map(|&j| {
                f64::from(u8::from(
                    options[j].shipments == start_by_order[options[j].order],
                ))
            })
            .chain(std::iter::repeat_n(0.0, master.arc_columns()))
            .collect();
        stats[format!("mip{pass}_columns")] = json!(ids.len());
        let t = Instant::now();
        let presolve = !by_room;
        // The MIP over the orders the LP leaves undecided is followed by local
        // search, which needs time of its own: the MIP gets at most a share of what
        // is left (10,000 orders × 30 s on a slow machine: column generation took
        // 14-16 s, the MIP the rest, and with no local search the plans stopped at
        // 210.3-221.3k; with the cap, 209.28k).
        let now = Instant::now();
        let mip_deadline = if by_room {
            deadline
        } else {
            now + deadline
                .saturating_duration_since(now)
                .mul_f64(MIP_SHARE_LEFT)
        };
        // A plan the bound already known proves good enough needs no proof from
        // HiGHS (1,000 orders: HiGHS had found it and went on to its own bound,
        // 0.3-0.5 s, until the budget ran out).
        let run = run_mip_to_target(
            master.problem(true),
            start,
            total_penalty,
            presolve,
            proof_target(lower_bound, opts.gap),
            opts,
            mip_deadline,
        );
        stats[format!("mip{pass}_seconds")] = json!(t.elapsed().as_secs_f64());
        let Some(run) = run else {
            stats[format!("mip{pass}_status")] = json!("no plan within the time budget");
            break;
        };
        mip_finished |= matches!(
            run.status,
            highs::HighsModelStatus::Optimal | highs::HighsModelStatus::ObjectiveTarget
        );
        stats[format!("mip{pass}_status")] = json!(format!("{:?}", run.status));
        stats[format!("mip{pass}_nodes")] = json!(run.nodes);
        stats[format!("mip{pass}_gap_restricted")] = json!(run.gap);
        let chosen: Vec<Allocation> = master
            .option_ids
            .iter()
            .zip(&run.columns)
            .filter(|(_, x)| **x > 0.5)
            .flat_map(|(&j, _)| options[j].shipments.iter().cloned())
            .chain(fixed_allocs.iter().filter(|_| fixing).cloned())
            .chain(
                master
                    .arc_shapes(&run.columns)
                    .iter()
                    .filter_map(|(order, shape)| real_option(net, *order, shape))
                    .flat_map(|o| o.shipments),
            )
            .collect();
        let plan = assemble_plan(net, &chosen, "mip", PlanStatus::Feasible);
        stats[format!("mip{pass}_objective")] = json!(plan.objective);
        if plan.objective < best_plan.objective {
            best_plan = plan;
            best_allocs = chosen;
        }
        // With every option of every order in the master, the MIP's own bound holds
        // for the whole problem. With every option within the reduced-cost room,
        // every plan cheaper than the room's cap is in the master: the bound is the
        // least of the MIP's bound and the cap.
        let restricted = total_penalty + run.dual_bound;
        let proved = if complete && ids.len() == options.len() {
            Some(restricted)
        } else {
            room_cap.map(|cap| restricted.min(cap))
        };
        if let Some(lb) = proved.filter(|lb| lb.is_finite()) {
            lower_bound = Some(lower_bound.map_or(lb, |b| b.max(lb)));
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
        // Huge windows, whose ascent its share of the budget cuts off: local search
        // runs on one thread, so the ascent goes on on the other for a better bound,
        // each slice's global bound computed early enough to finish by `stop`. (In
        // 10,000-order windows, through the whole local search: no gain in the plan,
        // which lost neighbourhood search's second thread.)
        let spare_ascent =
            huge && last_lp.is_none() && opts.threads > 1 && stalled < ASCENT_STALLED_SLICES;
        // Windows on the one LP's path: the first ejection chains run on one
        // thread, and the ascent goes on on the other until they end (10,000 orders:
        // about 300 steps, the bound 5-28 higher in four runs of six).
        let spare_during_eject = tied_lp && stalled < ASCENT_STALLED_SLICES;
        let eject_done = AtomicBool::new(false);
        let spare = std::thread::scope(|scope| {
            let eject_done = &eject_done;
            let worker = (spare_ascent || spare_during_eject).then(|| {
                pool.set_threads(1);
                let one_bound = bound_seconds / bounds.max(1) as f64 * opts.threads as f64;
                let slices_stop = stop
                    .checked_sub(std::time::Duration::from_secs_f64(1.5 * one_bound))
                    .unwrap_or(stop);
                let prices = beside_prices.take().unwrap_or_else(|| prices.clone());
                let (pool, node_terms) = (&mut pool, &node_terms);
                let best = lower_bound.unwrap_or(f64::NEG_INFINITY);
                scope.spawn(move || {
                    spare_core_ascent(
                        net,
                        node_terms,
                        pool,
                        prices,
                        (target, total_penalty, best),
                        slices_stop,
                        stop,
                        spare_during_eject.then_some((eject_done, 1)),
                    )
                })
            });
            let t = Instant::now();
            let packed = packed::Packed::new(net, &options);
            // Each order's most saving move pays where chains take a fraction of a
            // second; in huge windows the extra time is neighbourhood search's.
            let move_rule = if huge {
                primal::MoveRule::Cheapest
            } else {
                primal::MoveRule::MostSaving
            };
            let ejected = primal::eject(net, &packed, &by_order, &mut choice, move_rule, stop);
            eject_done.store(true, Ordering::Relaxed);
            let eject_time = t.elapsed();
            stats["eject_seconds"] = json!(eject_time.as_secs_f64());
            let (mut moves, mut evicted, mut saved) =
                (ejected.moves, ejected.evicted, ejected.saved);
            if large && Instant::now() + model::FINISH_MARGIN * 5 < stop {
                // The one LP's duals, of a master of tied options only, rank the
                // others worse than the ascent's prices (10,000 orders × 5 s, three
                // windows: plans 0-60 lower with the ascent's ranking).
                let lp_ranking = last_lp.as_ref().filter(|_| !tied_lp);
                let candidates = candidate_options(&options, &by_order, lp_ranking, &ascent_ranked);
                // The second pass of ejection chains only revisits what LNS changed;
                // when the first ran past the time kept for it, LNS takes what is
                // left (100,000 orders: otherwise up to 6 s went unused).
                let kept = stop.checked_sub(eject_time.mul_f64(0.25)).unwrap_or(stop);
                let lns_stop = if kept > Instant::now() + model::FINISH_MARGIN * 10 {
                    kept
                } else {
                    stop
                };
                let seeds = |choice: &primal::Choice| {
                    best_bound.as_ref().map_or(Vec::new(), |b| {
                        costliest_orders(&options, choice, &b.prices, &b.minima)
                    })
                };
                let lns = lns::search(
                    net,
                    &options,
                    &candidates,
                    &seeds,
                    &mut choice,
                    opts,
                    // The spare core's ascent has the other thread.
                    if spare_ascent {
                        1
                    } else {
                        opts.threads as usize
                    },
                    lns_stop,
                );
                stats["lns_neighbourhoods"] = json!(lns.neighbourhoods);
                stats["lns_improved"] = json!(lns.improved);
                stats["lns_saved"] = json!(lns.saved);
                stats["lns_seeded"] = json!(lns.seeded);
                stats["lns_rounds"] = json!(lns.rounds);
                if lns.improved > 0 {
                    let t = Instant::now();
                    let again =
                        primal::eject(net, &packed, &by_order, &mut choice, move_rule, stop);
                    stats["eject_again_seconds"] = json!(t.elapsed().as_secs_f64());
                    stats["eject_again_saved"] = json!(again.saved);
                    moves += again.moves;
                    evicted += again.evicted;
                    saved += again.saved;
                }
            }
            stats["eject_moves"] = json!(moves);
            stats["eject_evicted"] = json!(evicted);
            stats["eject_saved"] = json!(saved);
            worker.map(|w| w.join().expect("spare-core ascent"))
        });
        if let Some(spare) = spare {
            stats["spare_ascent_slices"] = json!(spare.slices);
            stats["spare_ascent_steps"] = json!(spare.steps);
            stats["spare_ascent_bound"] = json!(spare.bound);
            if let Some(lb) = spare.bound {
                lower_bound = Some(lower_bound.map_or(lb, |b| b.max(lb)));
            }
        }
        stats["local_search_overrun_seconds"] =
            json!(Instant::now().saturating_duration_since(stop).as_secs_f64());
        let assembling = Instant::now();
        let allocs = primal::allocations(&options, &choice);
        let plan = assemble_plan(net, &allocs, "mip", PlanStatus::Feasible);
        stats["final_assembly_seconds"] = json!(assembling.elapsed().as_secs_f64());
        stats["assembly_kept_back_seconds"] = json!((deadline - stop).as_secs_f64());
        if plan.objective < best_plan.objective {
            best_plan = plan;
        }
        lap("local_search", &mut stats);
    }
    // A plan the bound proves optimal is no fallback, even where no MIP ran (small
    // windows whose room MIPs the bound made unnecessary).
    let best_plan = cheaper(best_plan, set_aside);
    let proved = lower_bound.is_some_and(|lb| relative_gap(best_plan.objective, lb) <= opts.gap);
    let plan = conclude(
        best_plan,
        incumbent,
        mip_finished || proved,
        lower_bound,
        stats,
        finish,
    );
    // Freeing millions of options takes a noticeable part of a second on big
    // windows: the caller chooses when (after writing the plan, or never in a
    // process about to exit).
    let big = (ascent_ranked, ascent_rc, node_terms, best_bound, included);
    let allocations = (incumbent_allocs, incumbent_by_order, best_allocs);
    leftovers.keep((options, by_order, pool, last_lp, big, allocations));
    plan
}

/// How far `objective` lies above `lower_bound`, relative to the objective (the
/// `gap` that `--gap` is compared with).
fn relative_gap(objective: f64, lower_bound: f64) -> f64 {
    (objective - lower_bound) / objective.abs().max(1e-9)
}

/// The objective below which `lower_bound` proves a plan good enough: this share
/// of the gap tolerance above it.
fn proof_target(lower_bound: Option<f64>, gap: f64) -> f64 {
    lower_bound.map_or(f64::NEG_INFINITY, |lb| {
        lb + TARGET_SHARE_OF_GAP * gap * lb.abs()
    })
}

/// Ejection chains on the best plan so far (its options joining the list first);
/// keeps the result when it is cheaper. Returns what they saved.
fn eject_best(
    net: &Network,
    options: &mut Vec<FulfillmentOption>,
    by_order: &mut [Vec<usize>],
    best_allocs: &mut Vec<Allocation>,
    best_plan: &mut Plan,
    deadline: Instant,
) -> f64 {
    let known = options.len();
    add_incumbent_options(net, best_allocs, options);
    for j in known..options.len() {
        by_order[options[j].order].push(j);
    }
    let by_start = group_by_order(net, best_allocs);
    let mut choice = choice_of(options, by_order, &by_start);
    let packed = packed::Packed::new(net, options);
    // The most saving moves: 1,000 orders (seed 1), proved in 1.04-1.06 s instead of
    // 1.30-1.31 s, and seeds 3-5 no slower.
    let ejected = primal::eject(
        net,
        &packed,
        by_order,
        &mut choice,
        primal::MoveRule::MostSaving,
        deadline,
    );
    if ejected.saved > 0.0 {
        let allocs = primal::allocations(options, &choice);
        let plan = assemble_plan(net, &allocs, "mip", PlanStatus::Feasible);
        if plan.objective < best_plan.objective {
            *best_plan = plan;
            *best_allocs = allocs;
        }
    }
    ejected.saved
}

/// Orders by how far their option in `choice` lies above their best response at
/// `prices` (reduced cost minus the order's `minima`, the bound's share of the gap),
/// largest first; orders at their best response are left out.
fn costliest_orders(
    options: &[FulfillmentOption],
    choice: &primal::Choice,
    prices: &Prices,
    minima: &[f64],
) -> Vec<usize> {
    let mut excess: Vec<(f64, usize)> = choice
        .iter()
        .zip(minima)
        .enumerate()
        .map(|(o, (c, m))| {
            let rc = c.map_or(0.0, |j| prices.reduced_cost(&options[j], 0.0));
            (rc - m, o)
        })
        .filter(|&(e, _)| e > RC_EPS)
        .collect();
    excess.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    excess.into_iter().map(|(_, o)| o).collect()
}

/// Slices in a row that stalled, after one whose bound is `lb`: a slice stalls unless
/// it beats the best bound so far, `best`, by [`ASCENT_STALL`] of it.
fn stalled_after(stalled: usize, lb: f64, best: f64) -> usize {
    if lb > best + ASCENT_STALL * lb.abs().max(1.0) {
        0
    } else {
        stalled + 1
    }
}

/// What the ascent on the spare core did: its slices and steps, and the best
/// global bound it found (with the constant), if any beat the one it started from.
struct SpareAscent {
    slices: usize,
    steps: usize,
    bound: Option<f64>,
    /// The prices it ended at.
    prices: Prices,
}

/// The global bound at `prices` (the resource rows' prices, then the pool's cut
/// rows'), raised by the cuts' prices, with those prices.
fn global_bound(
    net: &Network,
    node_terms: &bound::NodeTerms,
    pool: &lagrange::Pool,
    prices: &Prices,
    threads: usize,
    deadline: Instant,
) -> Option<(bound::Bound, CutPrices)> {
    let mut bound = bound::lagrangian_bound(net, node_terms, prices, threads, deadline)?;
    let cut_prices = pool.cut_prices(&prices.values);
    if !cut_prices.cuts.is_empty() {
        cuts::raise_bound(
            net,
            node_terms,
            prices,
            &cut_prices,
            &mut bound,
            threads,
            deadline,
        );
    }
    Some((bound, cut_prices))
}

/// Goes on with the Lagrangian ascent on one thread from `prices` while local search
/// runs: slices of subgradient steps towards `target` until `slices_stop`, each
/// followed by a global bound (cut off at `stop`) whose best responses join the
/// pool (as columns of no listed option: id `usize::MAX`); stops early when the
/// bound stalls like the first ascent's, or when `cancel`'s flag is raised (with
/// the threads a bound may take once it is). The tuple is (target, the constant Σ
/// unfilled penalty, the best bound so far).
#[allow(clippy::too_many_arguments)]
fn spare_core_ascent(
    net: &Network,
    node_terms: &bound::NodeTerms,
    pool: &mut lagrange::Pool,
    mut prices: Prices,
    (target, total_penalty, mut best): (f64, f64, f64),
    slices_stop: Instant,
    stop: Instant,
    cancel: Option<(&AtomicBool, usize)>,
) -> SpareAscent {
    let start = best;
    let (mut slices, mut steps) = (0, 0);
    let mut stalled = 0;
    let flag = cancel.map(|(flag, _)| flag);
    let cancelled = || flag.is_some_and(|c| c.load(Ordering::Relaxed));
    while Instant::now() < slices_stop && stalled < ASCENT_STALLED_SLICES && !cancelled() {
        let ascent = pool.ascend(&prices.values, target, 1.0, ASCENT_STEPS, slices_stop, flag);
        slices += 1;
        steps += ascent.iterations;
        prices.values = ascent.prices;
        let threads = match cancel {
            Some((_, threads)) if cancelled() => threads,
            _ => 1,
        };
        let Some((bound, _)) = global_bound(net, node_terms, pool, &prices, threads, stop) else {
            break;
        };
        let lb = total_penalty + bound.value;
        stalled = stalled_after(stalled, lb, best);
        best = best.max(lb);
        let minima = pool.order_minima(&prices.values);
        let new: Vec<FulfillmentOption> = bound
            .responses
            .iter()
            .enumerate()
            .filter_map(|(order, response)| real_option(net, order, response))
            .filter(|option| {
                option.saving_cost < 0.0
                    && prices.reduced_cost(option, 0.0) < minima[option.order] - RC_EPS
            })
            .collect();
        pool.extend(new.iter().map(|o| (usize::MAX, o)), &prices);
    }
    SpareAscent {
        slices,
        steps,
        bound: (best > start).then_some(best),
        prices,
    }
}

/// Solves `master` as an LP (to [`TIED_LP_TOLERANCE`]) on one thread while the
/// ascent goes on from `prices` on the other (as [`spare_core_ascent`], `pool`
/// evaluated on one thread) until the LP is done or `deadline`. Returns the LP's
/// run and what the ascent did.
#[allow(clippy::too_many_arguments)]
fn lp_beside_ascent(
    net: &Network,
    node_terms: &bound::NodeTerms,
    master: &Model,
    pool: &mut lagrange::Pool,
    prices: Prices,
    targets: (f64, f64, f64),
    opts: &SolveOptions,
    deadline: Instant,
) -> (Option<HighsRun>, SpareAscent) {
    let one_thread = SolveOptions {
        threads: 1,
        ..opts.clone()
    };
    let problem = master.problem(false);
    let done = AtomicBool::new(false);
    pool.set_threads(1);
    let out = std::thread::scope(|scope| {
        let lp = scope.spawn(|| {
            let run =
                model::run_rough_lp(problem, targets.1, TIED_LP_TOLERANCE, &one_thread, deadline);
            done.store(true, Ordering::Relaxed);
            run
        });
        let beside = spare_core_ascent(
            net,
            node_terms,
            pool,
            prices,
            targets,
            deadline,
            deadline,
            // The LP's thread is free once it is done: the last bound takes both.
            Some((&done, 2)),
        );
        (lp.join().expect("LP worker"), beside)
    });
    pool.set_threads(opts.threads as usize);
    out
}

/// The unfilled penalty of the whole window, every unit unserved: the constant
/// the model's costs (savings against shipping nothing) leave out.
fn total_unfilled_penalty(net: &Network) -> f64 {
    (0..net.order_count())
        .map(|o| net.unit_penalty(o) * net.lines[o].iter().map(|&(_, q)| f64::from(q)).sum::<f64>())
        .sum()
}

/// The final choice: the best plan, unless the budget ran out before anything beat
/// the greedy incumbent (and no MIP finished nor the bound proved it), which is then
/// returned as `fallback`.
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

/// The cheaper of `plan` and `other`.
fn cheaper(plan: Plan, other: Option<Plan>) -> Plan {
    match other {
        Some(other) if other.objective < plan.objective => other,
        _ => plan,
    }
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

/// Takes out of the MIP (`included`) each option that another included option of
/// its order dominates: costs no more and uses no more of any row in `rows` (the
/// other resources cannot bind whatever the orders choose). Swapping a dominated
/// option for its dominator keeps any plan feasible and no dearer, so the MIP's
/// optimum is unchanged. Returns how many were taken out.
fn drop_dominated(
    rows: &[(options::Resource, f64)],
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    included: &mut [bool],
) -> usize {
    let row_index = prices::RowIndex::new(rows);
    let mut dropped = 0;
    for ids in by_order {
        // (cost, usage of the rows as (row, amount) sorted by row, option)
        type Candidate = (f64, Vec<(usize, f64)>, usize);
        let mut candidates: Vec<Candidate> = ids
            .iter()
            .filter(|&&j| included[j])
            .map(|&j| {
                let mut usage: Vec<(usize, f64)> = options[j]
                    .usage()
                    .into_iter()
                    .filter_map(|(r, q)| row_index.get(r).map(|i| (i, q)))
                    .collect();
                usage.sort_by_key(|u| u.0);
                (options[j].saving_cost, usage, j)
            })
            .collect();
        if candidates.len() < 2 {
            continue;
        }
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.len().cmp(&b.1.len())));
        let mut kept: Vec<usize> = Vec::new();
        for (k, (_, usage, j)) in candidates.iter().enumerate() {
            let dominated = kept.iter().any(|&d| uses_no_more(&candidates[d].1, usage));
            if dominated {
                included[*j] = false;
                dropped += 1;
            } else {
                kept.push(k);
            }
        }
    }
    dropped
}

/// Whether sparse usage `a` (sorted by row) is at most `b` on every row.
fn uses_no_more(a: &[(usize, f64)], b: &[(usize, f64)]) -> bool {
    let mut rest = b.iter();
    a.iter().all(|&(row, q)| {
        rest.by_ref()
            .find(|&&(r, _)| r >= row)
            .is_some_and(|&(r, qb)| r == row && q <= qb)
    })
}

/// Keeps `bound` (worth `lb` with the unfilled penalties) when it beats the best so
/// far; returns its best responses.
fn keep_best_bound(
    best: &mut Option<BestBound>,
    lb: f64,
    prices: &Prices,
    cuts: &CutPrices,
    bound: bound::Bound,
) -> Vec<bound::Response> {
    if best.as_ref().is_none_or(|b| lb > b.value) {
        *best = Some(BestBound {
            value: lb,
            prices: prices.clone(),
            cuts: cuts.clone(),
            minima: bound.minima,
        });
    }
    bound.responses
}

/// The best bound so far, with what it was computed from.
struct BestBound {
    /// The bound, with the unfilled penalties.
    value: f64,
    /// The resource prices.
    prices: Prices,
    /// The cover cuts' prices.
    cuts: CutPrices,
    /// Each order's least relaxed reduced cost at these prices.
    minima: Vec<f64>,
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
        let Some(option) = real_option(net, order, response) else {
            continue;
        };
        if by_order[order]
            .iter()
            .any(|&j| options[j].shipments == option.shipments)
        {
            continue;
        }
        if option.saving_cost < 0.0 && accept(&option) {
            by_order[order].push(options.len());
            appended.push(options.len());
            options.push(option);
        }
    }
    appended
}

/// The real option of a shape (each shipment with its cheapest allowed service,
/// priced exactly), if every shipment has a service.
fn real_option(net: &Network, order: usize, shape: &bound::Response) -> Option<FulfillmentOption> {
    let shipments: Option<Vec<Allocation>> = shape
        .iter()
        .map(|(node, lines)| {
            (
                *node,
                lines
                    .iter()
                    .copied()
                    .filter(|&(_, q)| q > 0)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(node, lines)| {
            let zone = net.lane(order, node).zone;
            let units: u32 = lines.iter().map(|&(_, q)| q).sum();
            let weight = net.weight(lines.iter().copied());
            net.best_service(order, node, zone, units, weight)
                .map(|(service, _)| Allocation {
                    order,
                    node,
                    service,
                    lines,
                })
        })
        .collect();
    let shipments = shipments.filter(|s| !s.is_empty())?;
    Some(FulfillmentOption {
        order,
        saving_cost: options::option_cost(net, order, &shipments),
        shipments,
    })
}

/// An option's shipments in node order: options are the same when their shipments
/// are, in any order.
fn shipments_key(option: &FulfillmentOption) -> Vec<Allocation> {
    let mut key = option.shipments.clone();
    key.sort_by_key(|a| a.node);
    key
}

/// Reduced-cost enumeration. With prices `π` whose bound is `L`, any plan costs at
/// least `L + Σ_o (rc_o − min_o)` (`rc_o` the reduced cost of order `o`'s option,
/// `min_o` its relaxed minimum), so a plan cheaper than `L + room` uses only
/// options with `rc ≤ min_o + room`. Adds those to `options` and the MIP
/// (`included`), at most `budget` of them: past it the room shrinks to what the
/// budget holds. Orders with too many options within the room to list get their
/// arc relaxation instead (`Listing::arcs`) when `with_arcs`, else the list is
/// incomplete. Returns `None` past the deadline.
#[allow(clippy::too_many_arguments)]
fn add_within_room(
    net: &Network,
    node_terms: &bound::NodeTerms,
    prices: &Prices,
    cut_prices: &CutPrices,
    minima: &[f64],
    room: f64,
    budget: usize,
    with_arcs: bool,
    options: &mut Vec<FulfillmentOption>,
    by_order: &mut [Vec<usize>],
    included: &mut Vec<bool>,
    deadline: Instant,
) -> Option<Listing> {
    let mut complete = true;
    let mut arcs = Vec::new();
    let shape_limit = if with_arcs {
        SHAPES_PER_ORDER
    } else {
        SHAPES_PER_ORDER_WITHOUT_ARCS
    };
    // Options within the room with their excess over their order's minimum: known
    // ones by index, new ones whole.
    let mut known_within: Vec<(f64, usize)> = Vec::new();
    let mut new_within: Vec<(f64, FulfillmentOption)> = Vec::new();
    for order in 0..net.order_count() {
        if order % 64 == 0 && Instant::now() >= deadline {
            return None;
        }
        let ceiling = minima[order] + room + RC_EPS;
        let excess = |o: &FulfillmentOption| {
            (o.saving_cost < 0.0)
                .then(|| prices.reduced_cost(o, 0.0) + cut_prices.extra(o) - minima[order])
                .filter(|&e| e <= room + RC_EPS)
        };
        for &j in &by_order[order] {
            if let Some(e) = excess(&options[j]) {
                known_within.push((e, j));
            }
        }
        let Some(shapes) =
            bound::shapes_within(net, node_terms, prices, order, ceiling, shape_limit)
        else {
            match bound::arc_block(net, node_terms, order).filter(|_| with_arcs) {
                Some(block) => arcs.push(block),
                None => complete = false,
            }
            continue;
        };
        let known: HashSet<Vec<Allocation>> = by_order[order]
            .iter()
            .map(|&j| shipments_key(&options[j]))
            .collect();
        for shape in &shapes {
            let Some(option) = real_option(net, order, shape) else {
                continue;
            };
            if let Some(e) = excess(&option)
                && !known.contains(&shipments_key(&option))
            {
                new_within.push((e, option));
            }
        }
    }
    // Past the budget, the room shrinks to the largest excess that fits it.
    let mut room = room;
    if known_within.len() + new_within.len() > budget {
        let mut all: Vec<f64> = known_within
            .iter()
            .map(|c| c.0)
            .chain(new_within.iter().map(|c| c.0))
            .collect();
        all.sort_by(f64::total_cmp);
        room = all[budget] - RC_EPS;
    }
    for (e, j) in known_within {
        included[j] |= e <= room;
    }
    for (e, option) in new_within {
        if e <= room {
            by_order[option.order].push(options.len());
            options.push(option);
            included.push(true);
        }
    }
    Some(Listing {
        complete,
        room,
        arcs,
    })
}

/// What [`add_within_room`] listed.
struct Listing {
    /// Whether every option within the room is listed or in an arc block.
    complete: bool,
    /// The room the list holds (smaller than asked when the column budget cut it).
    room: f64,
    /// The orders with too many options within the room to list, as arc relaxations.
    arcs: Vec<bound::ArcBlock>,
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

/// The one LP's master over the options `ids`: only the nodes' shipment and unit
/// rows among `rows` stay constraints; stock, which each order's few options share
/// with few others, is priced into each column's cost at `prices` (the ascent's).
/// The node rows tie every order to every other, and a rounding needs their mix
/// settled exactly; stock conflicts the rounding and ejection chains resolve
/// themselves. 10,000 orders: 0.30-0.35 s where the master over every row took
/// 1.6-2.1 s, and its rounding costs 221-233k where that one's cost 225-237k (three
/// windows). Stock priced out of a master over every row, or the window cut in two
/// with the rows between the halves priced, rounded to 234-238k.
fn node_master(
    orders: usize,
    rows: &[(options::Resource, f64)],
    prices: &Prices,
    options: &[FulfillmentOption],
    ids: &[usize],
) -> Model {
    let is_stock = |r: &options::Resource| matches!(r, options::Resource::Stock(..));
    let node_rows = rows.iter().filter(|(r, _)| !is_stock(r)).copied().collect();
    let mut master = build_model(orders, node_rows, options, ids);
    master.shift_costs(|j| {
        options[j]
            .usage()
            .into_iter()
            .filter(|(r, _)| is_stock(r))
            .map(|(r, q)| prices.get(r) * q)
            .sum()
    });
    master
}

/// Price-directed rounding of the LP `lp_x` over `master`'s columns, ties broken
/// by the reduced costs `rc` per option (see [`round_by_value`]).
fn round_lp(
    net: &Network,
    master: &Model,
    lp_x: &[f64],
    rc: &[f64],
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
) -> Vec<Allocation> {
    let mut lp_value = vec![0.0; options.len()];
    for (&j, &x) in master.option_ids.iter().zip(lp_x) {
        lp_value[j] = x;
    }
    primal::allocations(
        options,
        &round_by_value(net, options, by_order, &lp_value, rc),
    )
}

/// Rounding of a fractional solution `value` (per option: the LP's value, or the
/// share of ascent steps whose best response it was): orders served most decidedly
/// go first; each takes the option with the largest value (then the lowest
/// reduced cost `rc`) that still fits the stock and capacity left, or nothing.
fn round_by_value(
    net: &Network,
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    value: &[f64],
    rc: &[f64],
) -> primal::Choice {
    let decided = |o: usize| by_order[o].iter().map(|&j| value[j]).fold(0.0, f64::max);
    let mut order_seq: Vec<usize> = (0..net.order_count()).collect();
    order_seq.sort_by(|&a, &b| decided(b).total_cmp(&decided(a)).then(a.cmp(&b)));
    let mut usage = Usage::new(net);
    let mut choice: primal::Choice = vec![None; net.order_count()];
    for o in order_seq {
        let mut candidates: Vec<(f64, f64, usize)> =
            by_order[o].iter().map(|&j| (value[j], rc[j], j)).collect();
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.total_cmp(&b.1)));
        if let Some(&(_, _, j)) = candidates
            .iter()
            .find(|&&(_, _, j)| fits(&usage, &options[j]))
        {
            for a in &options[j].shipments {
                usage.take(a.node, &a.lines);
            }
            choice[o] = Some(j);
        }
    }
    choice
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

#[cfg(test)]
mod tests;
