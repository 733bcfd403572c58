//! Plans as one option per order: booking options against stock and capacity, a
//! price-directed construction, and single-order moves that polish a plan.

use std::collections::BTreeSet;
use std::time::Instant;

use super::options::FulfillmentOption;
use super::packed::Packed;
use crate::cost::Network;
use crate::solve::{Allocation, Usage};

/// Each order's chosen option (`None`: nothing shipped).
pub(super) type Choice = Vec<Option<usize>>;

/// Whether an option fits the stock and capacity left.
pub(super) fn fits(usage: &Usage, option: &FulfillmentOption) -> bool {
    // Shipments of one option come from distinct nodes, so each check is per shipment.
    option.shipments.iter().all(|a| {
        usage.shipments[a.node] >= 1
            && usage.units[a.node] >= i64::from(a.units())
            && a.lines
                .iter()
                .all(|&(s, q)| usage.stock_left(a.node, s) >= i64::from(q))
    })
}

/// Books an option's shipments.
pub(super) fn take(usage: &mut Usage, option: &FulfillmentOption) {
    for a in &option.shipments {
        usage.take(a.node, &a.lines);
    }
}

/// Returns an option's shipments.
pub(super) fn give_back(usage: &mut Usage, option: &FulfillmentOption) {
    for a in &option.shipments {
        usage.give_back(a.node, &a.lines);
    }
}

/// Rounds of the price-directed construction. Regret once over all options (the
/// order fixed up front) left plans far above where ejection chains end: the
/// orders last in line found every cheap node full. In rounds the plans start
/// lower and stay lower after local search (docs/tuning.md).
const CONSTRUCTION_ROUNDS: usize = 20;

/// Price-directed construction: every order ranks its options by reduced cost
/// `rc(j)`. In rounds, the orders that would lose most by missing their best option
/// that still fits (regret: the next fitting one, or nothing, against it) go
/// first, each round a share of those left, and take their best option that still
/// fits. Orders left with nothing then take their cheapest fitting option by real
/// cost.
pub(super) fn price_directed(
    net: &Network,
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    rc: &dyn Fn(usize) -> f64,
) -> Choice {
    let orders = net.order_count();
    let mut ranked: Vec<Vec<(f64, usize)>> = by_order
        .iter()
        .map(|ids| {
            let mut v: Vec<(f64, usize)> = ids.iter().map(|&j| (rc(j), j)).collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            v
        })
        .collect();
    let mut usage = Usage::new(net);
    let mut choice: Choice = vec![None; orders];
    // Regret over the options that still fit, recomputed each round: an order whose
    // best options others have taken goes sooner. (Orders without options: nothing.)
    let mut open: Vec<usize> = (0..orders).filter(|&o| !ranked[o].is_empty()).collect();
    let mut seq: Vec<usize> = Vec::with_capacity(orders);
    let mut round = 0;
    while !open.is_empty() {
        let rounds_left = CONSTRUCTION_ROUNDS.saturating_sub(round).max(1);
        round += 1;
        // Regret: how much worse the second fitting option (or nothing) is than the
        // first; orders with no fitting saving option wait for the last pass.
        let mut keyed: Vec<(f64, usize)> = Vec::with_capacity(open.len());
        for &o in &open {
            let mut fitting = ranked[o]
                .iter()
                .take_while(|&&(r, _)| r < 0.0)
                .filter(|&&(_, j)| fits(&usage, &options[j]));
            match fitting.next() {
                Some(&(first, _)) => {
                    let second = fitting.next().map_or(0.0, |&(r, _)| r);
                    keyed.push((second - first, o));
                }
                None => seq.push(o),
            }
        }
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let take_now = keyed.len().div_ceil(rounds_left);
        for &(_, o) in &keyed[..take_now] {
            seq.push(o);
            if let Some(&(_, j)) = ranked[o]
                .iter()
                .take_while(|&&(r, _)| r < 0.0)
                .find(|&&(_, j)| fits(&usage, &options[j]))
            {
                take(&mut usage, &options[j]);
                choice[o] = Some(j);
            }
        }
        open = keyed[take_now..].iter().map(|&(_, o)| o).collect();
    }
    for &o in &seq {
        if choice[o].is_none() {
            ranked[o].sort_by(|a, b| {
                options[a.1]
                    .saving_cost
                    .total_cmp(&options[b.1].saving_cost)
            });
            if let Some(&(_, j)) = ranked[o]
                .iter()
                .find(|&&(_, j)| options[j].saving_cost < 0.0 && fits(&usage, &options[j]))
            {
                take(&mut usage, &options[j]);
                choice[o] = Some(j);
            }
        }
    }
    choice
}

/// Local search: each order in turn moves to its cheapest option (by real cost) that
/// fits once its own option is returned; repeats while a pass improves and time is
/// left. Never makes the plan worse.
pub(super) fn improve(
    net: &Network,
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    choice: &mut Choice,
    deadline: Instant,
) {
    let mut usage = Usage::new(net);
    for j in choice.iter().flatten() {
        take(&mut usage, &options[*j]);
    }
    let cost = |c: Option<usize>| c.map_or(0.0, |j| options[j].saving_cost);
    loop {
        let mut improved = false;
        for o in 0..choice.len() {
            if o % 512 == 0 && Instant::now() >= deadline {
                return;
            }
            let current = choice[o];
            if let Some(j) = current {
                give_back(&mut usage, &options[j]);
            }
            let mut best = current;
            for &j in &by_order[o] {
                if options[j].saving_cost < cost(best) - 1e-9 && fits(&usage, &options[j]) {
                    best = Some(j);
                }
            }
            if let Some(j) = best {
                take(&mut usage, &options[j]);
            }
            if best != current {
                choice[o] = best;
                improved = true;
            }
        }
        if !improved {
            return;
        }
    }
}

/// The allocations of a choice.
pub(super) fn allocations(options: &[FulfillmentOption], choice: &Choice) -> Vec<Allocation> {
    choice
        .iter()
        .flatten()
        .flat_map(|&j| options[j].shipments.iter().cloned())
        .collect()
}

/// Which of an order's cheaper options an ejection chain moves it to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MoveRule {
    /// The cheapest that room can be made for.
    Cheapest,
    /// The one whose whole move saves most: every cheaper option is tried and
    /// undone first. In mid-sized windows it finds cheaper plans for a little more
    /// time; in the largest the longer chains cost more than they save
    /// (docs/tuning.md).
    MostSaving,
}

/// What [`eject`] did.
#[derive(Default)]
pub(super) struct EjectStats {
    /// Moves applied (each: one order to a cheaper option, others making room).
    pub moves: usize,
    /// Orders moved to make room.
    pub evicted: usize,
    /// Total saving.
    pub saved: f64,
}

/// Ejection-chain local search: an order moves to a cheaper option even when that
/// option's stock is taken, if the orders holding that stock can move to other
/// options (or ship nothing) for less than the order saves. Repeats while a pass
/// improves and time is left; never makes the plan worse. `rule` says which of an
/// order's cheaper options it moves to. Options are read from `packed` (the option
/// list in flat arrays); `by_order` holds their ids.
pub(super) fn eject(
    net: &Network,
    packed: &Packed,
    by_order: &[Vec<usize>],
    choice: &mut Choice,
    rule: MoveRule,
    deadline: Instant,
) -> EjectStats {
    let mut stats = EjectStats::default();
    let mut plan = Ejector::new(net, packed, by_order, choice);
    // Skus whose holders changed since an order was last tried: only orders with
    // such a sku can have a new move.
    let mut changed = vec![true; net.sku_count()];
    loop {
        let mut improved = false;
        let saved_before = stats.saved;
        let dirty = std::mem::replace(&mut changed, vec![false; net.sku_count()]);
        // Orders that could gain most first.
        let mut seq: Vec<(f64, usize)> = (0..choice.len())
            .filter(|&o| net.lines[o].iter().any(|&(s, _)| dirty[s]))
            .filter_map(|o| {
                let best = plan.by_order[o]
                    .first()
                    .map_or(f64::INFINITY, |&j| packed.cost[j]);
                let now = plan.cost(plan.choice[o]);
                (best < now - 1e-9).then_some((best - now, o))
            })
            .collect();
        seq.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (k, &(_, o)) in seq.iter().enumerate() {
            if k % 64 == 0 && Instant::now() >= deadline {
                *choice = plan.choice;
                return stats;
            }
            let now = plan.cost(plan.choice[o]);
            let targets: Vec<usize> = plan.by_order[o]
                .iter()
                .copied()
                .take_while(|&j| packed.cost[j] < now - 1e-9)
                .collect();
            let targets = match rule {
                MoveRule::Cheapest => targets,
                MoveRule::MostSaving if targets.len() > 1 => targets
                    .into_iter()
                    .filter_map(|j| plan.saving_of(o, j).map(|saved| (saved, j)))
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, j)| j)
                    .into_iter()
                    .collect(),
                MoveRule::MostSaving => targets,
            };
            for j in targets {
                if let Some((saved, evicted, moved)) = plan.try_move(o, j) {
                    for p in moved {
                        for &(s, _) in &net.lines[p] {
                            changed[s] = true;
                        }
                    }
                    stats.moves += 1;
                    stats.evicted += evicted;
                    stats.saved += saved;
                    improved = true;
                    break;
                }
            }
        }
        // Later passes save less and less, each taking about as long as the first
        // (docs/tuning.md); past a small share the time is better spent elsewhere.
        let pass_saved = stats.saved - saved_before;
        if !improved || pass_saved < LAST_PASS_SHARE * stats.saved {
            *choice = plan.choice;
            return stats;
        }
    }
}

/// An ejection pass that saves less than this share of all the passes' savings is
/// the last.
const LAST_PASS_SHARE: f64 = 0.03;

/// A plan under ejection-chain search: the choice, what it uses, who holds each
/// (node, sku), and a log of changes to undo.
struct Ejector<'a> {
    packed: &'a Packed,
    /// Each order's options, cheapest first.
    by_order: Vec<Vec<usize>>,
    choice: Choice,
    usage: Usage,
    /// Orders whose option ships from each stock slot (`node * skus + sku`).
    stock_holders: Vec<Vec<usize>>,
    /// Per node, the orders whose option ships from it, cheapest to move elsewhere
    /// first: keyed by [`Ejector::exit_cost`] when they took the option (the key
    /// grows stale as stock changes hands; it only orders the scan).
    node_holders: Vec<BTreeSet<(u64, usize)>>,
    /// Per order, the keys its option holds in `node_holders`.
    node_keys: Vec<Vec<(usize, u64)>>,
    /// (order, option before) for every change since the move started.
    log: Vec<(usize, Option<usize>)>,
}

impl<'a> Ejector<'a> {
    fn new(net: &Network, packed: &'a Packed, by_order: &[Vec<usize>], choice: &Choice) -> Self {
        let mut by_order = by_order.to_vec();
        for ids in &mut by_order {
            ids.sort_by(|&a, &b| packed.cost[a].total_cmp(&packed.cost[b]));
        }
        let mut plan = Ejector {
            packed,
            by_order,
            choice: vec![None; choice.len()],
            usage: Usage::new(net),
            stock_holders: vec![Vec::new(); net.node_count() * net.sku_count()],
            node_holders: vec![BTreeSet::new(); net.node_count()],
            node_keys: vec![Vec::new(); choice.len()],
            log: Vec::new(),
        };
        for (o, &c) in choice.iter().enumerate() {
            plan.set(o, c);
        }
        plan.log.clear();
        plan
    }

    fn cost(&self, c: Option<usize>) -> f64 {
        c.map_or(0.0, |j| self.packed.cost[j])
    }

    /// Moves order `o` to `new`, logging the change.
    fn set(&mut self, o: usize, new: Option<usize>) {
        let packed = self.packed;
        self.log.push((o, self.choice[o]));
        if let Some(c) = self.choice[o] {
            packed.give_back(&mut self.usage, c);
            let forget = |h: &mut Vec<usize>| {
                if let Some(i) = h.iter().position(|&p| p == o) {
                    h.swap_remove(i);
                }
            };
            for k in packed.shipments(c) {
                for (s, _) in packed.lines(k) {
                    forget(&mut self.stock_holders[s]);
                }
            }
            for (n, key) in std::mem::take(&mut self.node_keys[o]) {
                self.node_holders[n].remove(&(key, o));
            }
        }
        if let Some(c) = new {
            for k in packed.shipments(c) {
                let n = packed.node(k);
                let key = order_key(self.exit_cost(o, c, n));
                self.node_holders[n].insert((key, o));
                self.node_keys[o].push((n, key));
            }
            packed.take(&mut self.usage, c);
            for k in packed.shipments(c) {
                for (s, _) in packed.lines(k) {
                    self.stock_holders[s].push(o);
                }
            }
        }
        self.choice[o] = new;
    }

    /// What order `o`, about to take option `c`, would pay to ship from somewhere
    /// other than node `n` instead: its cheapest option without `n` that fits what
    /// is left (or nothing), less `c`'s cost.
    fn exit_cost(&self, o: usize, c: usize, n: usize) -> f64 {
        let packed = self.packed;
        let nothing = -packed.cost[c];
        self.by_order[o]
            .iter()
            .find(|&&j| !packed.ships_from(j, n) && packed.fits(&self.usage, j))
            .map_or(nothing, |&j| (packed.cost[j] - packed.cost[c]).min(nothing))
    }

    /// Undoes the logged changes.
    fn undo(&mut self) {
        while let Some((o, old)) = self.log.pop() {
            self.set(o, old);
            self.log.pop();
        }
    }

    /// Order `o` takes option `j`, the holders of the stock it lacks moving out of
    /// the way; kept only if the whole move saves money. Returns (saving, orders
    /// moved to make room, every order moved).
    fn try_move(&mut self, o: usize, j: usize) -> Option<(f64, usize, Vec<usize>)> {
        let saved = self.attempt(o, j)?;
        // The log holds `o` leaving its option, the evictions, and `o` taking `j`.
        let evicted = self.log.len() - 2;
        let moved = self.log.drain(..).map(|(p, _)| p).collect();
        Some((saved, evicted, moved))
    }

    /// What moving order `o` to option `j` as [`Ejector::try_move`] would save,
    /// leaving the plan as it was.
    fn saving_of(&mut self, o: usize, j: usize) -> Option<f64> {
        let saved = self.attempt(o, j)?;
        self.undo();
        Some(saved)
    }

    /// Order `o` takes option `j` with the holders of what it lacks moving out of
    /// the way, logged; undone unless the whole move saves money. Returns the
    /// saving.
    fn attempt(&mut self, o: usize, j: usize) -> Option<f64> {
        self.log.clear();
        let mut delta = self.packed.cost[j] - self.cost(self.choice[o]);
        self.set(o, None);
        if self.make_room(o, j, &mut delta) && delta < -1e-6 && self.packed.fits(&self.usage, j) {
            self.set(o, Some(j));
            return Some(-delta);
        }
        self.undo();
        None
    }

    /// Frees what option `j` of order `o` lacks (a node's shipment or unit capacity,
    /// stock of a sku at a node): one holder at a time lets go, the one that can do
    /// so most cheaply, adding its cost to `delta`. False when nobody can, or the
    /// moves cost what `o` saves.
    fn make_room(&mut self, o: usize, j: usize, delta: &mut f64) -> bool {
        let packed = self.packed;
        for k in packed.shipments(j) {
            let (node, units) = (packed.node(k), packed.units(k));
            while self.usage.shipments[node] < 1 || self.usage.units[node] < units {
                if !self.evict(o, Held::Node(node), delta) {
                    return false;
                }
            }
            for (s, q) in packed.lines(k) {
                while self.usage.stock[s] < q {
                    if !self.evict(o, Held::Stock(s), delta) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// The first holders of a resource an eviction looks at (a node's: those that
    /// can leave it most cheaply).
    fn holders(&self, held: Held) -> Vec<usize> {
        match held {
            Held::Stock(s) => self.stock_holders[s]
                .iter()
                .take(EVICTION_SCAN)
                .copied()
                .collect(),
            Held::Node(n) => self.node_holders[n]
                .iter()
                .take(EVICTION_SCAN)
                .map(|&(_, o)| o)
                .collect(),
        }
    }

    /// Moves the holder of `held` (other than `o`) that can let go of it most
    /// cheaply to its cheapest option that fits without it, or to nothing.
    fn evict(&mut self, o: usize, held: Held, delta: &mut f64) -> bool {
        if *delta >= 0.0 {
            return false;
        }
        let packed = self.packed;
        let without = |c: usize| match held {
            Held::Stock(s) => !packed.uses_slot(c, s),
            Held::Node(n) => !packed.ships_from(c, n),
        };
        let mut best: Option<(f64, usize, Option<usize>)> = None;
        for p in self.holders(held) {
            let Some(cur) = self.choice[p] else { continue };
            if p == o {
                continue;
            }
            // Only a holder that can beat the best so far matters: skip those whose
            // every alternative costs more, and stop scanning at that cost.
            // (An eviction costing `-delta` or more leaves the move saving nothing.)
            let beat = best.map_or(-*delta, |b| b.0);
            let nothing = -packed.cost[cur];
            let cheapest = self.by_order[p]
                .first()
                .map_or(f64::INFINITY, |&c| packed.cost[c] - packed.cost[cur]);
            if nothing >= beat && cheapest >= beat {
                continue;
            }
            packed.give_back(&mut self.usage, cur);
            // Cheapest first: the first option that fits without the resource is the
            // best, unless shipping nothing is cheaper.
            let mut alt: (f64, Option<usize>) = (nothing, None);
            let limit = nothing.min(beat);
            for &c in &self.by_order[p] {
                let d = packed.cost[c] - packed.cost[cur];
                if d >= limit {
                    break;
                }
                if without(c) && packed.fits(&self.usage, c) {
                    alt = (d, Some(c));
                    break;
                }
            }
            packed.take(&mut self.usage, cur);
            if alt.0 < beat {
                best = Some((alt.0, p, alt.1));
            }
        }
        let Some((d, p, alt)) = best else {
            return false;
        };
        *delta += d;
        self.set(p, alt);
        true
    }
}

/// A sort key for `x` that orders like `f64::total_cmp`.
fn order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// A resource an ejection frees: a stock slot (`node * skus + sku`), or a node's
/// capacity.
#[derive(Clone, Copy)]
enum Held {
    Stock(usize),
    Node(usize),
}

/// Holders of one resource an eviction looks at, at most: a node can have a
/// thousand, looked at cheapest to move first: that leaves cheaper plans, in less
/// time, than scanning them in the order they came, as long as the key asks
/// whether the order's other options fit the stock left. Fewer or more than 64
/// did worse (docs/tuning.md).
const EVICTION_SCAN: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Instance, PlanStatus};
    use crate::solve::assemble_plan;
    use std::time::Duration;

    /// Two nodes; order X is cheapest from A but may use B, order Y is a pickup at
    /// A. A holds `stock_at_a` units and ships at most `shipments_at_a` shipments, B
    /// holds one unit: with X at A, Y can only be served if X moves.
    fn two_orders(stock_at_a: u32, shipments_at_a: u32) -> Instance {
        crate::format::instance_from_value(&serde_json::json!({
            "format": "domopt.instance/1",
            "name": "ejection",
            "nodes": [
                {"id": "A", "kind": "store", "lat": 40.0, "lon": -100.0, "handling_days": 0,
                 "cost_per_shipment": 1.0, "cost_per_unit": 0.5,
                 "capacity_shipments": shipments_at_a},
                {"id": "B", "kind": "dc", "lat": 40.0, "lon": -95.0, "handling_days": 0,
                 "cost_per_shipment": 1.0, "cost_per_unit": 0.5}
            ],
            "skus": [{"id": "S", "weight": 1.0}],
            "inventory": [
                {"node": "A", "sku": "S", "on_hand": stock_at_a},
                {"node": "B", "sku": "S", "on_hand": 1}
            ],
            "rate_card": {"zone_upper_miles": [100.0, 1000.0], "services": [
                {"name": "ground", "transit_days": [1, 2, 3], "base": [5.0, 8.0, 12.0],
                 "per_weight": [0.1, 0.2, 0.3]}
            ]},
            "costs": {"split_penalty": 2.0, "unfilled_penalty": 60.0},
            "orders": [
                {"id": "X", "ship_to": {"lat": 40.0, "lon": -100.1}, "promise_days": 5,
                 "lines": [{"sku": "S", "qty": 1}]},
                {"id": "Y", "ship_to": {"lat": 40.0, "lon": -100.0}, "promise_days": 5,
                 "pickup_node": "A", "lines": [{"sku": "S", "qty": 1}]}
            ]
        }))
        .expect("a valid instance")
    }

    #[test]
    fn an_ejection_chain_makes_room_where_single_moves_cannot() {
        // Short of stock at A, then short of shipment capacity at A.
        for (stock_at_a, shipments_at_a) in [(1, 5), (2, 1)] {
            ejection_frees(&two_orders(stock_at_a, shipments_at_a));
        }
    }

    /// Every option of a small window, with each order's option ids.
    fn every_option(net: &Network) -> (Vec<FulfillmentOption>, Vec<Vec<usize>>) {
        let (options, _) =
            super::super::options::enumerate_options(net, Instant::now() + Duration::from_secs(5))
                .expect("options");
        let mut by_order: Vec<Vec<usize>> = vec![Vec::new(); net.order_count()];
        for (j, o) in options.iter().enumerate() {
            by_order[o.order].push(j);
        }
        (options, by_order)
    }

    fn ejection_frees(inst: &Instance) {
        let net = Network::new(inst);
        let (options, by_order) = every_option(&net);
        let at = |order: usize, node: usize| {
            by_order[order]
                .iter()
                .copied()
                .find(|&j| options[j].shipments.iter().all(|a| a.node == node))
                .expect("an option")
        };
        let (x_at_a, x_at_b, y_at_a) = (at(0, 0), at(0, 1), at(1, 0));
        assert!(options[x_at_a].saving_cost < options[x_at_b].saving_cost);
        for rule in [MoveRule::Cheapest, MoveRule::MostSaving] {
            let mut choice: Choice = vec![Some(x_at_a), None];
            ejection_moves(inst, &net, &options, &by_order, &mut choice, rule);
            assert_eq!(choice, vec![Some(x_at_b), Some(y_at_a)], "{rule:?}");
        }
    }

    /// Ejection chains from `choice` under `rule`: one move evicting one order,
    /// saving what the plan's objective says, leaving a valid plan.
    fn ejection_moves(
        inst: &Instance,
        net: &Network,
        options: &[FulfillmentOption],
        by_order: &[Vec<usize>],
        choice: &mut Choice,
        rule: MoveRule,
    ) {
        let plan_cost =
            |c: &Choice| assemble_plan(net, &allocations(options, c), "mip", PlanStatus::Feasible);
        let before = plan_cost(choice).objective;
        // Single-order moves find nothing: Y's only option does not fit.
        let mut single = choice.clone();
        improve(
            net,
            options,
            by_order,
            &mut single,
            Instant::now() + Duration::from_secs(5),
        );
        assert_eq!(single, *choice);
        let stats = eject(
            net,
            &Packed::new(net, options),
            by_order,
            choice,
            rule,
            Instant::now() + Duration::from_secs(5),
        );
        assert_eq!((stats.moves, stats.evicted), (1, 1), "{rule:?}");
        let after = plan_cost(choice);
        assert!(crate::check::check(inst, &after).is_valid());
        assert!(
            (before - after.objective - stats.saved).abs() < 1e-9,
            "saved {} but the plan went from {before} to {}",
            stats.saved,
            after.objective
        );
    }

    /// Nodes A and B ship one shipment each, C any number; orders X, Y and Z want
    /// one unit each, every node holds plenty.
    fn three_orders() -> Instance {
        let node = |id: &str, lon: f64, cap: Option<u32>| {
            let mut n = serde_json::json!({"id": id, "kind": "dc", "lat": 40.0, "lon": lon,
                "handling_days": 0, "cost_per_shipment": 1.0, "cost_per_unit": 0.5});
            if let Some(c) = cap {
                n["capacity_shipments"] = serde_json::json!(c);
            }
            n
        };
        let order = |id: &str| {
            serde_json::json!({"id": id, "ship_to": {"lat": 40.0, "lon": -100.0},
                "promise_days": 5, "lines": [{"sku": "S", "qty": 1}]})
        };
        crate::format::instance_from_value(&serde_json::json!({
            "format": "domopt.instance/1",
            "name": "regret",
            "nodes": [node("A", -100.0, Some(1)), node("B", -99.0, Some(1)), node("C", -98.0, None)],
            "skus": [{"id": "S", "weight": 1.0}],
            "inventory": [
                {"node": "A", "sku": "S", "on_hand": 5},
                {"node": "B", "sku": "S", "on_hand": 5},
                {"node": "C", "sku": "S", "on_hand": 5}
            ],
            "rate_card": {"zone_upper_miles": [100.0, 1000.0], "services": [
                {"name": "ground", "transit_days": [1, 2, 3], "base": [5.0, 8.0, 12.0],
                 "per_weight": [0.1, 0.2, 0.3]}
            ]},
            "costs": {"split_penalty": 2.0, "unfilled_penalty": 60.0},
            "orders": [order("X"), order("Y"), order("Z")]
        }))
        .expect("a valid instance")
    }

    #[test]
    fn the_construction_serves_first_whoever_loses_most_among_what_still_fits() {
        // Reduced costs by (order, node): X barely prefers A to B (regret 0.5 over
        // every option), Y needs A and Z needs B (regret 2 each; C is their fallback).
        // Regret fixed up front serves Y, Z, then X at C (-21 in all). Once Y holds A,
        // X's regret over what still fits is 8.5 (B against C): X takes B and Z
        // falls back to C (-27.5).
        let inst = three_orders();
        let net = Network::new(&inst);
        let (options, by_order) = every_option(&net);
        let table = [[-10.0, -9.5, -1.0], [-10.0, 5.0, -8.0], [5.0, -10.0, -8.0]];
        let rc = |j: usize| {
            let o = &options[j];
            assert_eq!(o.shipments.len(), 1, "one unit, one shipment");
            table[o.order][o.shipments[0].node]
        };
        let choice = price_directed(&net, &options, &by_order, &rc);
        let nodes: Vec<usize> = choice
            .iter()
            .map(|c| options[c.expect("every order served")].shipments[0].node)
            .collect();
        assert_eq!(nodes, vec![1, 0, 2], "X at B, Y at A, Z at C");
        let plan = assemble_plan(
            &net,
            &allocations(&options, &choice),
            "mip",
            PlanStatus::Feasible,
        );
        let report = crate::check::check(&inst, &plan);
        assert!(report.is_valid(), "{:?}", report.violations);
    }
}
