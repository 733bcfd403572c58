//! The proof phase: HiGHS MIPs from the best plan. The first runs over the LP
//! master's columns with the orders the LP has decided fixed (in large windows it is
//! the only one). Windows of up to `full_mip_orders` orders then solve MIPs over
//! every option within a reduced-cost room of the best bound (orders with too many
//! options there by their arc relaxation), whose own bound then holds for the
//! whole problem.

use std::collections::{BTreeSet, HashSet};
use std::time::Instant;

use super::bound::{self, ArcBlock};
use super::cuts::CutPrices;
use super::model::{self, Duals, Model, binding_rows, build_model, run_mip_to_target};
use super::option_list::{choice_of, group_by_order, real_option, shipments_key};
use super::options::{FulfillmentOption, Resource, add_incumbent_options};
use super::params::MipParams;
use super::prices::{Prices, RowIndex};
use super::{RC_EPS, Search, packed, primal, relative_gap};
use crate::cost::Network;
use crate::domain::PlanStatus;
use crate::solve::{Allocation, Usage, assemble_plan};

/// What the MIP passes share.
struct Passes {
    /// No LP master solved (or only the node LP) in a large window: no MIP runs.
    mip_skipped: bool,
    /// Passes after the first search reduced-cost rooms of the best bound.
    by_room: bool,
    /// Orders the first MIP keeps at the start plan's choice, and their allocations.
    fixed: Vec<bool>,
    fixed_allocs: Vec<Allocation>,
    /// The MIP's resource rows with the capacity the fixed orders leave.
    rows: Vec<(Resource, f64)>,
    /// When the last room's list was complete: the bound plus the room, below which
    /// every plan is in the MIP.
    room_cap: Option<f64>,
    /// The room of the last reduced-cost MIP if its list was complete (else 0).
    last_room: f64,
    /// The orders of the last reduced-cost MIP modelled by their arc relaxation.
    arcs: Vec<ArcBlock>,
}

impl Search<'_> {
    /// Runs the MIP passes while they can still improve the plan or its bound.
    pub(super) fn prove(&mut self) {
        let mut ps = self.prepare_passes();
        for pass in 0..self.p.mip_passes {
            if self.cancelled() {
                break;
            }
            if ps.by_room && pass > 0 {
                let saved = self.eject_best();
                self.included.resize(self.options.len(), false);
                self.stats.pass(pass).eject_before_saved = Some(saved);
            }
            if ps.mip_skipped {
                // No LP solved in time: a MIP over the whole window will not finish
                // either; neighbourhood search uses the time instead.
                self.stats.pass(0).status = Some("skipped: no LP master solved".into());
                break;
            }
            if pass > 0 && !ps.by_room {
                // Windows with fixed orders: ejection chains over every order do
                // more with the time than a second MIP over the free ones.
                break;
            }
            if ps.by_room && pass > 0 && self.best_bound.is_some() && !self.list_room(pass, &mut ps)
            {
                break;
            }
            if !self.run_pass(pass, &mut ps) {
                break;
            }
        }
        self.stats.mip_seconds = Some(self.laps.lap());
    }

    /// Before the first pass: ejection chains on the best plan (by-room windows),
    /// its options in the master, and the orders the LP has decided fixed.
    fn prepare_passes(&mut self) -> Passes {
        let net = self.net;
        // Large windows without an LP master run no MIP and need none of its
        // preparation, which would take a noticeable part of their budget; local
        // search finds the best plan's options without it.
        let mip_skipped = self.sched.large && (self.last_lp.is_none() || self.sched.node_lp);
        let by_room = net.order_count() <= self.p.full_mip_orders && self.best_bound.is_some();
        if by_room && !mip_skipped {
            let saved = self.eject_best();
            self.stats.pass(0).eject_before_saved = Some(saved);
        }
        let start_by_order = group_by_order(net, &self.best_allocs);
        if !mip_skipped {
            let known = self.options.len();
            add_incumbent_options(net, &self.best_allocs, &mut self.options);
            for j in known..self.options.len() {
                self.by_order[self.options[j].order].push(j);
            }
            self.included.resize(self.options.len(), false);
            for (j, o) in self.options.iter().enumerate() {
                if !start_by_order[o.order].is_empty() && o.shipments == start_by_order[o.order] {
                    self.included[j] = true;
                }
            }
        }
        // Orders the LP has decided keep the start plan's choice, and the first MIP
        // re-optimizes the others against what they leave.
        let fixed = if mip_skipped {
            vec![false; net.order_count()]
        } else {
            decided_orders(
                self.p,
                net,
                self.last_lp.as_ref(),
                &start_by_order,
                &self.options,
                &self.by_order,
            )
        };
        let fixed_allocs: Vec<Allocation> = self
            .best_allocs
            .iter()
            .filter(|a| fixed[a.order])
            .cloned()
            .collect();
        let mut rows = if mip_skipped {
            Vec::new()
        } else {
            binding_rows(net, &self.options, &self.by_order)
        };
        let mut left = Usage::new(net);
        for a in &fixed_allocs {
            left.take(a.node, &a.lines);
        }
        for (r, cap) in &mut rows {
            *cap = model::capacity_left(&left, *r).unwrap_or(*cap);
        }
        self.stats.fixed_orders = Some(fixed.iter().filter(|&&f| f).count());
        Passes {
            mip_skipped,
            by_room,
            fixed,
            fixed_allocs,
            rows,
            room_cap: None,
            last_room: 0.0,
            arcs: Vec::new(),
        }
    }

    /// Lists the options within the pass's reduced-cost room of the best bound as
    /// the MIP's columns. Returns false when no pass should follow: the gap is
    /// closed, time is short, the room is no wider than the last, or the listing ran
    /// out of time.
    fn list_room(&mut self, pass: usize, ps: &mut Passes) -> bool {
        let (net, p, opts) = (self.net, self.p, self.opts);
        let Some(bb) = self.best_bound.as_ref() else {
            return true;
        };
        let closed = self
            .lower_bound
            .is_some_and(|lb| relative_gap(self.best_plan.objective, lb) <= opts.gap);
        if closed || Instant::now() + model::FINISH_MARGIN >= self.deadline {
            return false;
        }
        // The room up to the best plan (less half the gap tolerance: proving no plan
        // below that is enough for `optimal`). When that is more than
        // `quick_room_factor` times the usual integrality gap, first a room of that
        // size, for a cheaper plan that shrinks it.
        let gap_room = self.best_plan.objective - bb.value;
        let share = if bb.cuts.cuts.is_empty() {
            p.room_share
        } else {
            p.room_share_with_cuts
        };
        let quick_room = (share * bb.value.abs()).max(p.room_min);
        let proof_room =
            (self.best_plan.objective * (1.0 - 0.5 * opts.gap) - bb.value).max(p.room_min);
        let quick = pass == 1 && proof_room > p.quick_room_factor * quick_room;
        let room = if quick {
            gap_room.min(quick_room)
        } else {
            proof_room
        };
        if pass > 1 && room <= ps.last_room * (1.0 + 1e-9) {
            // The same list again (or one the budget cuts back to it) would give the
            // same MIP.
            return false;
        }
        let t = Instant::now();
        let known = self.options.len();
        // Only options within the room can be part of a cheaper plan; the start
        // plan's are kept too (in `run_pass`).
        self.included.iter_mut().for_each(|b| *b = false);
        // The first room is for a quick plan: arc blocks would make its MIP far
        // larger. The proof pass needs them and more columns, unless the room is too
        // wide to prove anything in time; it then stays like the first.
        let proving = !quick && room <= p.proof_room_share * bb.value.abs();
        let per_order = if proving {
            p.proof_columns_per_order
        } else {
            p.room_columns_per_order
        };
        let room_of = RoomOf {
            prices: &bb.prices,
            cut_prices: &bb.cuts,
            minima: &bb.minima,
            room,
            budget: per_order * net.order_count(),
            with_arcs: proving,
        };
        let Some(listed) = add_within_room(
            net,
            p,
            &self.node_terms,
            &room_of,
            &mut self.options,
            &mut self.by_order,
            &mut self.included,
            self.deadline,
        ) else {
            return false;
        };
        let bound_value = bb.value;
        self.stats.pass(pass).arc_orders = Some(listed.arcs.len());
        ps.arcs = listed.arcs;
        // A complete list of the whole room holds every plan a smaller room would;
        // a list the budget cut back or left incomplete does not.
        ps.last_room = if listed.complete && listed.room >= room {
            room
        } else {
            0.0
        };
        let room = listed.room;
        ps.room_cap = listed.complete.then_some(bound_value + room);
        self.stats.pass(pass).room = Some(room);
        self.stats.pass(pass).room_complete = Some(listed.complete);
        self.stats.pass(pass).room_added = Some(self.options.len() - known);
        self.stats.pass(pass).room_seconds = Some(t.elapsed().as_secs_f64());
        ps.rows = self.room_rows(&ps.arcs);
        let dropped = drop_dominated(&ps.rows, &self.options, &self.by_order, &mut self.included);
        self.stats.pass(pass).room_dominated = Some(dropped);
        true
    }

    /// The rows of a reduced-cost MIP: those its options can bind, and every limited
    /// resource its arc blocks touch.
    fn room_rows(&self, arcs: &[ArcBlock]) -> Vec<(Resource, f64)> {
        let mut rows = binding_rows(self.net, &self.options, &self.by_order);
        let known: HashSet<Resource> = rows.iter().map(|r| r.0).collect();
        // In resource order, so that the MIP's rows (and so its plan among ties) do
        // not depend on hashing.
        let touched: BTreeSet<Resource> = arcs
            .iter()
            .flat_map(|b| b.usage())
            .map(|(r, _)| r)
            .filter(|r| !known.contains(r))
            .collect();
        rows.extend(
            touched
                .into_iter()
                .filter_map(|r| model::capacity(self.net, r).map(|c| (r, c))),
        );
        rows
    }

    /// Solves one pass's MIP from the best plan and takes its plan and bound.
    /// Returns false when HiGHS found no plan in time.
    fn run_pass(&mut self, pass: usize, ps: &mut Passes) -> bool {
        let (net, opts) = (self.net, self.opts);
        let start_by_order = group_by_order(net, &self.best_allocs);
        for (j, o) in self.options.iter().enumerate() {
            if !o.shipments.is_empty() && o.shipments == start_by_order[o.order] {
                self.included[j] = true;
            }
        }
        // Only the first MIP keeps the decided orders fixed.
        let fixing = pass == 0;
        let ids: Vec<usize> = (0..self.options.len())
            .filter(|&j| self.included[j] && !(fixing && ps.fixed[self.options[j].order]))
            .collect();
        let master = self.pass_master(pass, ps, &ids, &start_by_order);
        if master.option_ids.is_empty() && master.arc_columns() == 0 {
            // Every order is fixed (the LP decided them all): the plan is the fixed
            // orders' allocations, with nothing for HiGHS to decide, and the room
            // passes may still prove it.
            self.stats.pass(pass).status = Some("every order fixed".into());
            let chosen: Vec<Allocation> =
                ps.fixed_allocs.iter().filter(|_| fixing).cloned().collect();
            let plan = assemble_plan(net, &chosen, "mip", PlanStatus::Feasible);
            self.stats.pass(pass).objective = Some(plan.objective);
            self.offer(plan, chosen);
            return true;
        }
        let start: Vec<f64> = ids
            .iter()
            .map(|&j| {
                let o = &self.options[j];
                f64::from(u8::from(o.shipments == start_by_order[o.order]))
            })
            .chain(std::iter::repeat_n(0.0, master.arc_columns()))
            .collect();
        self.stats.pass(pass).columns = Some(ids.len());
        let t = Instant::now();
        // The MIP over a large window's undecided orders is followed by local
        // search, which needs time of its own: the MIP gets a share of what is left.
        let now = Instant::now();
        let mip_deadline = if ps.by_room {
            self.deadline
        } else {
            now + self
                .deadline
                .saturating_duration_since(now)
                .mul_f64(self.p.mip_share_left)
        };
        // A plan the bound already known proves good enough needs no proof from HiGHS.
        let target = proof_target(self.p, self.lower_bound, opts.gap);
        let problem = master.problem(true);
        let run = run_mip_to_target(
            problem,
            start,
            self.total_penalty,
            !ps.by_room,
            target,
            opts,
            mip_deadline,
        );
        self.stats.pass(pass).seconds = Some(t.elapsed().as_secs_f64());
        let Some(run) = run else {
            self.stats.pass(pass).status = Some("no plan within the time budget".into());
            return false;
        };
        self.mip_finished |= matches!(
            run.status,
            highs::HighsModelStatus::Optimal | highs::HighsModelStatus::ObjectiveTarget
        );
        self.stats.pass(pass).status = Some(format!("{:?}", run.status));
        self.stats.pass(pass).nodes = Some(run.nodes);
        self.stats.pass(pass).gap_restricted = Some(run.gap);
        let chosen: Vec<Allocation> = master
            .option_ids
            .iter()
            .zip(&run.columns)
            .filter(|(_, x)| **x > 0.5)
            .flat_map(|(&j, _)| self.options[j].shipments.iter().cloned())
            .chain(ps.fixed_allocs.iter().filter(|_| fixing).cloned())
            .chain(
                master
                    .arc_shapes(&run.columns)
                    .iter()
                    .filter_map(|(order, shape)| real_option(net, *order, shape))
                    .flat_map(|o| o.shipments),
            )
            .collect();
        let plan = assemble_plan(net, &chosen, "mip", PlanStatus::Feasible);
        self.stats.pass(pass).objective = Some(plan.objective);
        self.offer(plan, chosen);
        // With every option of every order in the master, the MIP's own bound holds
        // for the whole problem. With every option within the reduced-cost room,
        // every plan cheaper than the room's cap is in the master: the bound is the
        // least of the MIP's bound and the cap.
        let restricted = self.total_penalty + run.dual_bound;
        let proved = if self.complete && ids.len() == self.options.len() {
            Some(restricted)
        } else {
            ps.room_cap.map(|cap| restricted.min(cap))
        };
        if let Some(lb) = proved.filter(|lb| lb.is_finite()) {
            self.raise_bound(lb);
        }
        true
    }

    /// The pass's MIP over the options `ids`, with the best bound's cover cuts as
    /// rows (they hold for every plan) and, in a room pass with a complete list, the
    /// orders that must ship and the arc blocks.
    fn pass_master(
        &self,
        pass: usize,
        ps: &mut Passes,
        ids: &[usize],
        start_by_order: &[Vec<Allocation>],
    ) -> Model {
        let orders = self.net.order_count();
        let mut master = build_model(orders, ps.rows.clone(), &self.options, ids);
        // An order an arc block models does not count in the cuts, which only
        // weakens them.
        if let Some(b) = self.best_bound.as_ref() {
            master.add_cuts(&b.cuts.cuts, &self.options);
        }
        if let (Some(cap), Some(bb)) = (ps.room_cap, self.best_bound.as_ref())
            && pass > 0
        {
            // Shipping nothing has reduced cost 0, so it exceeds the order's minimum
            // by −minimum. Orders the start plan leaves unserved keep `≤ 1` so that
            // the start stays feasible (dropping a row only relaxes the MIP).
            let room = cap - bb.value;
            master.must_ship = bb
                .minima
                .iter()
                .zip(start_by_order)
                .map(|(m, start)| -m > room + RC_EPS && !start.is_empty())
                .collect();
            master.arcs = std::mem::take(&mut ps.arcs);
        }
        master
    }

    /// Ejection chains on the best plan so far (its options joining the list first);
    /// keeps the result when it is cheaper. Returns what they saved.
    pub(super) fn eject_best(&mut self) -> f64 {
        let net = self.net;
        let known = self.options.len();
        add_incumbent_options(net, &self.best_allocs, &mut self.options);
        for j in known..self.options.len() {
            self.by_order[self.options[j].order].push(j);
        }
        let by_start = group_by_order(net, &self.best_allocs);
        let mut choice = choice_of(&self.options, &self.by_order, &by_start);
        let packed = packed::Packed::new(net, &self.options);
        let ejected = primal::eject(
            net,
            &packed,
            &self.by_order,
            &mut choice,
            primal::MoveRule::MostSaving,
            self.deadline,
        );
        if ejected.saved > 0.0 {
            let allocs = primal::allocations(&self.options, &choice);
            let plan = assemble_plan(net, &allocs, "mip", PlanStatus::Feasible);
            self.offer(plan, allocs);
        }
        ejected.saved
    }
}

/// The objective below which `lower_bound` proves a plan good enough:
/// `target_share_of_gap` of the gap tolerance above it.
fn proof_target(p: &MipParams, lower_bound: Option<f64>, gap: f64) -> f64 {
    lower_bound.map_or(f64::NEG_INFINITY, |lb| {
        lb + p.target_share_of_gap * gap * lb.abs()
    })
}

/// Orders whose LP solution is (almost) integral and agrees with the start plan: one
/// option at ≥ `decided` that the plan uses, or no LP mass and nothing shipped.
fn decided_orders(
    p: &MipParams,
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
                return mass <= 1.0 - p.decided;
            }
            by_order[o]
                .iter()
                .any(|&j| lp_value[j] >= p.decided && options[j].shipments == start_by_order[o])
        })
        .collect()
}

/// Takes out of the MIP (`included`) each option that another included option of
/// its order dominates: costs no more and uses no more of any row in `rows` (the
/// other resources cannot bind whatever the orders choose). Swapping a dominated
/// option for its dominator keeps any plan feasible and no dearer, so the MIP's
/// optimum is unchanged. Returns how many were taken out.
fn drop_dominated(
    rows: &[(Resource, f64)],
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    included: &mut [bool],
) -> usize {
    let row_index = RowIndex::new(rows);
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

/// What a reduced-cost listing is asked for: the bound's prices, cut prices and
/// per-order minima, the room, the most options to list, and whether orders with
/// too many options get arc blocks.
pub(super) struct RoomOf<'b> {
    pub prices: &'b Prices,
    pub cut_prices: &'b CutPrices,
    pub minima: &'b [f64],
    pub room: f64,
    pub budget: usize,
    pub with_arcs: bool,
}

/// What [`add_within_room`] listed.
pub(super) struct Listing {
    /// Whether every option within the room is listed or in an arc block.
    pub complete: bool,
    /// The room the list holds (smaller than asked when the column budget cut it).
    pub room: f64,
    /// The orders with too many options within the room to list, as arc relaxations.
    pub arcs: Vec<ArcBlock>,
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
pub(super) fn add_within_room(
    net: &Network,
    p: &MipParams,
    node_terms: &bound::NodeTerms,
    ask: &RoomOf,
    options: &mut Vec<FulfillmentOption>,
    by_order: &mut [Vec<usize>],
    included: &mut Vec<bool>,
    deadline: Instant,
) -> Option<Listing> {
    let mut complete = true;
    let mut arcs = Vec::new();
    let shape_limit = if ask.with_arcs {
        p.shapes_per_order
    } else {
        p.shapes_per_order_without_arcs
    };
    let room = ask.room;
    // Options within the room with their excess over their order's minimum: known
    // ones by index, new ones whole.
    let mut known_within: Vec<(f64, usize)> = Vec::new();
    let mut new_within: Vec<(f64, FulfillmentOption)> = Vec::new();
    for (order, &minimum) in ask.minima.iter().enumerate() {
        if order % 64 == 0 && Instant::now() >= deadline {
            return None;
        }
        let ceiling = minimum + room + RC_EPS;
        let excess = |o: &FulfillmentOption| {
            (o.saving_cost < 0.0)
                .then(|| ask.prices.reduced_cost(o, 0.0) + ask.cut_prices.extra(o) - minimum)
                .filter(|&e| e <= room + RC_EPS)
        };
        for &j in &by_order[order] {
            if let Some(e) = excess(&options[j]) {
                known_within.push((e, j));
            }
        }
        let Some(shapes) =
            bound::shapes_within(net, node_terms, ask.prices, order, ceiling, shape_limit)
        else {
            match bound::arc_block(net, node_terms, order).filter(|_| ask.with_arcs) {
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
    if known_within.len() + new_within.len() > ask.budget {
        let mut all: Vec<f64> = known_within
            .iter()
            .map(|c| c.0)
            .chain(new_within.iter().map(|c| c.0))
            .collect();
        all.sort_by(f64::total_cmp);
        room = all[ask.budget] - RC_EPS;
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
