//! A lower bound valid for the full problem, from any nonnegative resource prices.

use std::time::Instant;

use super::options::{Resource, has_capacity};
use super::parallel::in_parts;
use super::prices::Prices;
use crate::cost::{Network, ServiceChoice};

/// A best response: shipments as (node, (sku, qty) lines).
pub(super) type Response = Vec<(usize, Vec<(usize, u32)>)>;

/// Lagrangian lower bound from resource prices, with each order's best response
/// under the relaxation, from which column generation builds real options.
///
/// Resource rows are priced at `prices`; every order then picks its best response
/// over *all* its possible options, bounded from below by a relaxation (cheapest
/// service base and per-weight parts taken separately, and any split bounded by the
/// two cheapest fixed costs), so the bound holds for the full problem.
pub(super) fn lagrangian_bound(
    net: &Network,
    terms: &NodeTerms,
    prices: &Prices,
    threads: usize,
    deadline: Instant,
) -> Option<Bound> {
    let orders = net.order_count();
    let chunk = orders.div_ceil(threads.max(1)).max(1024);
    let parts: Vec<Option<Bound>> = in_parts(orders.div_ceil(chunk), |i| {
        let first = i * chunk;
        let mut part = Bound::default();
        let mut scratch = Scratch::default();
        for order in first..orders.min(first + chunk) {
            if order % 256 == 0 && Instant::now() >= deadline {
                return None;
            }
            let (best, response) = order_best_response(net, terms, prices, order, &mut scratch);
            part.value += best;
            part.minima.push(best);
            part.responses.push(response);
        }
        Some(part)
    });
    let mut bound = Bound {
        value: -prices.cost_of_capacity(),
        ..Bound::default()
    };
    for part in parts {
        let part = part?;
        bound.value += part.value;
        bound.minima.extend(part.minima);
        bound.responses.extend(part.responses);
    }
    Some(bound)
}

/// A Lagrangian bound at some prices.
#[derive(Default)]
pub(super) struct Bound {
    /// The bound without the constant Σ unfilled penalty.
    pub value: f64,
    /// Per order: its lowest relaxed reduced cost (≤ 0).
    pub minima: Vec<f64>,
    /// Per order: the shipments of its best response (empty: ship nothing).
    pub responses: Vec<Response>,
}

/// What one node offers one order under the relaxation, at given prices (at zero
/// prices: the least real costs, as an arc block's nodes use them).
pub(super) struct NodeTerm {
    /// The node.
    pub node: usize,
    /// Least reduced cost of a shipment from the node before its units:
    /// `cost_per_shipment` + the cheapest allowed base and late part + the price of
    /// one shipment there.
    pub fixed: f64,
    /// Per line: the least reduced cost of one unit from the node (the cheapest
    /// allowed per-weight rate; any sign; unfilled penalty saved included) and the
    /// units it holds, at most the line's.
    pub units: Vec<(f64, u32)>,
}

impl NodeTerm {
    /// The relaxed reduced cost of shipping every unit of `lines` from this node, if
    /// it holds them all.
    fn whole_cost(&self, lines: &[(usize, u32)]) -> Option<f64> {
        let holds_all = lines
            .iter()
            .zip(&self.units)
            .all(|(&(_, q), &(_, avail))| avail == q);
        holds_all.then(|| {
            self.fixed
                + lines
                    .iter()
                    .zip(&self.units)
                    .map(|(&(_, q), &(a, _))| a * f64::from(q))
                    .sum::<f64>()
        })
    }
}

/// Every order's node terms before resource prices, computed once per window: the
/// lanes and rate-card look-ups behind them do not change with the prices, and
/// reading them instead of recomputing them makes every bound faster
/// (docs/tuning.md).
pub(super) struct NodeTerms {
    /// Per order: its first term; one more entry closes the last order's.
    first: Vec<usize>,
    /// Per order: where its first term's units start in `units`.
    first_unit: Vec<usize>,
    /// Per term: the node.
    node: Vec<u32>,
    /// Per term: `cost_per_shipment` + the cheapest allowed base and late part.
    fixed: Vec<f64>,
    /// Per term, one per order line: `cost_per_unit` + the cheapest allowed
    /// per-weight rate times the sku's weight, and the units the node holds (at most
    /// the line's).
    units: Vec<(f64, u32)>,
}

impl NodeTerms {
    /// Every order's terms, over `threads` threads.
    pub(super) fn new(net: &Network, threads: usize) -> NodeTerms {
        let orders = net.order_count();
        let chunk = orders.div_ceil(threads.max(1)).max(1024);
        let parts: Vec<NodeTerms> = in_parts(orders.div_ceil(chunk), |i| {
            Self::of_orders(net, i * chunk..orders.min((i + 1) * chunk))
        });
        let mut all = NodeTerms::empty();
        for part in parts {
            let (terms, units) = (all.node.len(), all.units.len());
            all.first.extend(part.first.iter().map(|f| f + terms));
            all.first_unit
                .extend(part.first_unit.iter().map(|f| f + units));
            all.node.extend(part.node);
            all.fixed.extend(part.fixed);
            all.units.extend(part.units);
        }
        all.first.push(all.node.len());
        all
    }

    fn empty() -> NodeTerms {
        NodeTerms {
            first: Vec::new(),
            first_unit: Vec::new(),
            node: Vec::new(),
            fixed: Vec::new(),
            units: Vec::new(),
        }
    }

    /// The terms of `orders` (without the closing entry of `first`): the nodes
    /// able to ship part of each order (pickup: only its pickup node).
    fn of_orders(net: &Network, orders: std::ops::Range<usize>) -> NodeTerms {
        let services = &net.instance.rate_card.services;
        let mut out = NodeTerms::empty();
        for order in orders {
            out.first.push(out.node.len());
            out.first_unit.push(out.units.len());
            let lines = &net.lines[order];
            let nodes: Vec<usize> = match net.pickup[order] {
                Some(p) => vec![p],
                None => (0..net.node_count()).collect(),
            };
            for n in nodes {
                if !has_capacity(net, n) || !lines.iter().any(|&(s, _)| net.available(n, s) > 0) {
                    continue;
                }
                let node = &net.instance.nodes[n];
                let zone = net.lane(order, n).zone;
                // Cheapest allowed base and per-weight parts (pickup: none).
                let (base, per_weight) = if net.pickup[order].is_some() {
                    (0.0, 0.0)
                } else {
                    let allowed: Vec<(usize, f64)> = (0..services.len())
                        .filter_map(|s| {
                            net.price(order, n, zone, ServiceChoice::Carrier(s), 1, 0.0)
                                .map(|p| (s, p.late))
                        })
                        .collect();
                    if allowed.is_empty() {
                        continue;
                    }
                    let base = allowed
                        .iter()
                        .map(|&(s, late)| services[s].base[zone] + late)
                        .fold(f64::INFINITY, f64::min);
                    let per_weight = allowed
                        .iter()
                        .map(|&(s, _)| services[s].per_weight[zone])
                        .fold(f64::INFINITY, f64::min);
                    (base, per_weight)
                };
                out.node
                    .push(u32::try_from(n).expect("fewer than 2^32 nodes"));
                out.fixed.push(node.cost_per_shipment + base);
                out.units.extend(lines.iter().map(|&(s, q)| {
                    (
                        node.cost_per_unit + per_weight * net.sku_weight[s],
                        net.available(n, s).min(q),
                    )
                }));
            }
        }
        out
    }

    /// The nodes able to ship part of an order, with their relaxed reduced costs at
    /// `prices`.
    fn priced(&self, net: &Network, prices: &Prices, order: usize) -> Vec<NodeTerm> {
        let mut terms = Vec::new();
        self.priced_into(net, prices, order, &mut terms);
        terms
    }

    /// [`NodeTerms::priced`] into `terms`, reusing its buffers. A bound prices every
    /// order's terms; reusing these and the other per-order buffers ([`Scratch`])
    /// instead of allocating them afresh makes a bound faster, with the same value
    /// (docs/tuning.md).
    fn priced_into(&self, net: &Network, prices: &Prices, order: usize, terms: &mut Vec<NodeTerm>) {
        let price = |r: Resource| prices.get(r);
        let lines = &net.lines[order];
        let penalty = net.unit_penalty(order);
        let range = self.first[order]..self.first[order + 1];
        terms.resize_with(range.len(), || NodeTerm {
            node: 0,
            fixed: 0.0,
            units: Vec::new(),
        });
        for (k, (t, term)) in range.zip(terms.iter_mut()).enumerate() {
            let n = self.node[t] as usize;
            let unit_price = price(Resource::Units(n));
            let at = self.first_unit[order] + k * lines.len();
            term.node = n;
            term.fixed = self.fixed[t] + price(Resource::Shipments(n));
            term.units.clear();
            term.units
                .extend(lines.iter().zip(&self.units[at..at + lines.len()]).map(
                    |(&(s, _), &(a, avail))| {
                        (
                            a + price(Resource::Stock(n, s)) + unit_price - penalty,
                            avail,
                        )
                    },
                ));
        }
    }
}

/// Per line, the units that save (negative reduced cost) at each node term, as
/// (term position, reduced unit cost, units), cheapest first.
fn saving_offers(terms: &[NodeTerm], lines: usize) -> Vec<Vec<(usize, f64, u32)>> {
    let mut offers = Vec::new();
    saving_offers_into(terms, lines, &mut offers);
    offers
}

/// [`saving_offers`] into `offers`, reusing its buffers.
fn saving_offers_into(terms: &[NodeTerm], lines: usize, offers: &mut Vec<Vec<(usize, f64, u32)>>) {
    offers.resize_with(lines, Vec::new);
    offers.iter_mut().for_each(Vec::clear);
    for (p, term) in terms.iter().enumerate() {
        for (line_offers, &(a, avail)) in offers.iter_mut().zip(&term.units) {
            if a < 0.0 && avail > 0 {
                line_offers.push((p, a, avail));
            }
        }
    }
    for line_offers in offers.iter_mut() {
        line_offers.sort_by(|x, y| x.1.total_cmp(&y.1));
    }
}

/// Buffers one thread reuses from order to order while it computes best responses.
#[derive(Default)]
struct Scratch {
    terms: Vec<NodeTerm>,
    fixed: Vec<f64>,
    offers: Vec<Vec<(usize, f64, u32)>>,
}

/// The most shipments an order may use among `usable` nodes.
fn max_shipments(net: &Network, order: usize, usable: usize) -> usize {
    let total: u32 = net.lines[order].iter().map(|&(_, q)| q).sum();
    (net.order(order)
        .max_shipments
        .unwrap_or(u32::MAX)
        .min(total) as usize)
        .min(usable)
}

/// One order's lowest relaxed reduced cost over all its options (≤ 0: shipping
/// nothing costs 0) and the shipments of that best response.
fn order_best_response(
    net: &Network,
    node_terms: &NodeTerms,
    prices: &Prices,
    order: usize,
    scratch: &mut Scratch,
) -> (f64, Response) {
    let lines = &net.lines[order];
    node_terms.priced_into(net, prices, order, &mut scratch.terms);
    let terms = &scratch.terms;
    let mut best_single = 0.0f64; // shipping nothing
    let mut best_single_response: Response = Vec::new();
    if net.order(order).ship_complete {
        // All units or nothing: only nodes holding every unit count.
        for term in terms {
            if let Some(full) = term.whole_cost(lines)
                && full < best_single
            {
                best_single = full;
                best_single_response = vec![(term.node, lines.clone())];
            }
        }
        return (best_single, best_single_response);
    }
    // Single-node best response: ship each unit whose reduced cost is negative.
    let saves = |&(a, avail): &(f64, u32)| a < 0.0 && avail > 0;
    for term in terms {
        let mut single = term.fixed;
        for u in term.units.iter().filter(|u| saves(u)) {
            single += u.0 * f64::from(u.1);
        }
        if single < best_single {
            best_single = single;
            let shipped = lines
                .iter()
                .zip(&term.units)
                .filter(|(_, u)| saves(u))
                .map(|(&(s, _), &(_, avail))| (s, avail))
                .collect();
            best_single_response = vec![(term.node, shipped)];
        }
    }
    let max_size = max_shipments(net, order, terms.len());
    if max_size < 2 {
        return (best_single, best_single_response);
    }
    let fixed = &mut scratch.fixed;
    fixed.clear();
    fixed.extend(terms.iter().map(|t| t.fixed));
    saving_offers_into(terms, lines.len(), &mut scratch.offers);
    let offers = &scratch.offers;
    let split = net.instance.costs.split_penalty;
    match best_best_response(best_single, fixed, offers, lines, split, max_size) {
        (best, None) => (best, best_single_response),
        (best, Some(set)) => (best, fill_response(&set, terms, offers, lines)),
    }
}

/// An order's arc relaxation at zero prices (see [`ArcBlock`]), for a reduced-cost
/// MIP that cannot list its options; `None` for ship-complete orders (their options,
/// one per node holding everything, are always listed).
pub(super) fn arc_block(net: &Network, terms: &NodeTerms, order: usize) -> Option<ArcBlock> {
    if net.order(order).ship_complete {
        return None;
    }
    let terms = terms.priced(net, &Prices::zero(&[]), order);
    Some(ArcBlock {
        order,
        lines: net.lines[order].clone(),
        max_shipments: max_shipments(net, order, terms.len()),
        split: net.instance.costs.split_penalty,
        nodes: terms,
    })
}

/// One order's relaxed shape costs at some prices, as the searches charge them: per
/// shipment its node's fixed term and its units at the node's unit costs, plus the
/// split penalty per shipment after the first. Every real option with a shape costs
/// at least the shape's relaxed cost. The order's node terms are priced once.
pub(super) struct ShapeCosts<'a> {
    net: &'a Network<'a>,
    terms: Vec<NodeTerm>,
    lines: &'a [(usize, u32)],
}

impl<'a> ShapeCosts<'a> {
    /// `order`'s shape costs at `prices`.
    pub(super) fn new(
        net: &'a Network<'a>,
        node_terms: &NodeTerms,
        prices: &Prices,
        order: usize,
    ) -> Self {
        ShapeCosts {
            net,
            terms: node_terms.priced(net, prices, order),
            lines: &net.lines[order],
        }
    }

    /// The relaxed cost of `shape`; `None` if a shipment comes from a node that
    /// cannot ship the order or holds fewer units.
    pub(super) fn cost(&self, shape: &Response) -> Option<f64> {
        let mut cost = self.net.split_cost(shape.len());
        for (node, shipped) in shape {
            let term = self.terms.iter().find(|t| t.node == *node)?;
            cost += term.fixed;
            for &(sku, q) in shipped {
                let line = self.lines.iter().position(|&(s, _)| s == sku)?;
                let (unit, held) = term.units[line];
                if q > held {
                    return None;
                }
                cost += unit * f64::from(q);
            }
        }
        Some(cost)
    }
}

/// Every shape (shipments as node and lines) of one order whose relaxed reduced
/// cost at `prices` is at most `ceiling`, or `None` when there are more than
/// `limit` (or the node-set search passes its budget). A real option costs at least
/// its shape's relaxed cost, so every option of the order whose reduced cost is at
/// most `ceiling` has one of these shapes.
pub(super) fn shapes_within(
    net: &Network,
    node_terms: &NodeTerms,
    prices: &Prices,
    order: usize,
    ceiling: f64,
    limit: usize,
) -> Option<Vec<Response>> {
    let o = net.order(order);
    let lines = &net.lines[order];
    let terms = node_terms.priced(net, prices, order);
    let mut shapes = Vec::new();
    if o.ship_complete {
        for term in &terms {
            if term.whole_cost(lines).is_some_and(|c| c <= ceiling) {
                shapes.push(vec![(term.node, lines.clone())]);
            }
        }
        return (shapes.len() <= limit).then_some(shapes);
    }
    let fixed: Vec<f64> = terms.iter().map(|t| t.fixed).collect();
    let offers = saving_offers(&terms, lines.len());
    let split = net.instance.costs.split_penalty;
    let mut search = NodeSetSearch {
        nodes: (0..terms.len()).collect(),
        fixed: &fixed,
        split,
        offers: &offers,
        lines,
        max_size: max_shipments(net, order, terms.len()),
        in_set: vec![false; terms.len()],
        with: Vec::new(),
        chosen: Vec::new(),
        evaluated: 0,
        best: f64::INFINITY,
        best_set: None,
        open: f64::INFINITY,
        ceiling: Some(ceiling),
        within: Vec::new(),
    };
    if !search.visit(0, -split) {
        return None;
    }
    let mut tries = limit.saturating_mul(FILL_TRIES_PER_SHAPE);
    for (set, cost) in search.within {
        let members: Vec<&NodeTerm> = set.iter().map(|&p| &terms[p]).collect();
        let room = ceiling - cost;
        if !fills_within(&members, lines, room, limit, &mut tries, &mut shapes) {
            return None;
        }
    }
    (shapes.len() <= limit).then_some(shapes)
}

/// Appends to `shapes` every way to fill an order's lines from `members` (each
/// shipping at least one unit) whose units cost at most `room` more than the best
/// fill (each line taking its cheapest saving units); false past `limit` shapes or
/// once `tries` combinations of the lines have been looked at (those that leave a
/// member empty are not shapes of this set but still cost work).
fn fills_within(
    members: &[&NodeTerm],
    lines: &[(usize, u32)],
    room: f64,
    limit: usize,
    tries: &mut usize,
    shapes: &mut Vec<Response>,
) -> bool {
    // Per line: each distribution of its units over the members, with its extra cost
    // over the line's best fill, cheapest first.
    let mut per_line: Vec<Vec<(f64, Vec<u32>)>> = Vec::with_capacity(lines.len());
    for (i, &(_, qty)) in lines.iter().enumerate() {
        let offers: Vec<(f64, u32)> = members.iter().map(|m| m.units[i]).collect();
        let best = least_fill(&offers, qty);
        let mut found = Vec::new();
        let mut units = vec![0; members.len()];
        let ceiling = best + room;
        distributions(&offers, 0, qty, 0.0, ceiling, limit, &mut units, &mut found);
        if found.len() > limit {
            return false;
        }
        let mut found: Vec<(f64, Vec<u32>)> =
            found.into_iter().map(|(c, u)| (c - best, u)).collect();
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        per_line.push(found);
    }
    // Combine the lines within the room; every member must ship something.
    let mut picks: Vec<usize> = Vec::with_capacity(lines.len());
    combine(&per_line, room, &mut picks, 0.0, &mut |picks| {
        if *tries == 0 {
            return false;
        }
        *tries -= 1;
        let per_node: Response = members
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let shipped: Vec<(usize, u32)> = lines
                    .iter()
                    .zip(picks.iter().zip(&per_line))
                    .map(|(&(sku, _), (&pick, line))| (sku, line[pick].1[k]))
                    .filter(|&(_, q)| q > 0)
                    .collect();
                (m.node, shipped)
            })
            .collect();
        if per_node.iter().all(|(_, l)| !l.is_empty()) {
            shapes.push(per_node);
        }
        shapes.len() <= limit
    })
}

/// Line combinations a fill listing may look at per shape it may list.
const FILL_TRIES_PER_SHAPE: usize = 8;

/// The least cost of up to `qty` units from `offers` (reduced unit cost, units held):
/// the cheapest saving units.
fn least_fill(offers: &[(f64, u32)], qty: u32) -> f64 {
    let mut saving: Vec<(f64, u32)> = offers.iter().copied().filter(|o| o.0 < 0.0).collect();
    saving.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (mut cost, mut left) = (0.0, qty);
    for (a, avail) in saving {
        let take = left.min(avail);
        cost += a * f64::from(take);
        left -= take;
    }
    cost
}

/// Every distribution of at most `left` units over `offers[k..]` (within what each
/// holds) whose total cost with `spent` stays at most `ceiling`, into `found`; stops
/// once `found` holds more than `limit`.
#[allow(clippy::too_many_arguments)]
fn distributions(
    offers: &[(f64, u32)],
    k: usize,
    left: u32,
    spent: f64,
    ceiling: f64,
    limit: usize,
    units: &mut Vec<u32>,
    found: &mut Vec<(f64, Vec<u32>)>,
) {
    if found.len() > limit || spent + least_fill(&offers[k..], left) > ceiling + 1e-9 {
        return;
    }
    if k == offers.len() {
        found.push((spent, units.clone()));
        return;
    }
    let (a, avail) = offers[k];
    for u in 0..=left.min(avail) {
        units[k] = u;
        let spent = spent + a * f64::from(u);
        distributions(offers, k + 1, left - u, spent, ceiling, limit, units, found);
    }
    units[k] = 0;
}

/// Calls `emit` with every choice of one distribution per line whose extra costs sum
/// to at most `room`; stops when `emit` returns false (and returns false then).
fn combine(
    per_line: &[Vec<(f64, Vec<u32>)>],
    room: f64,
    picks: &mut Vec<usize>,
    spent: f64,
    emit: &mut dyn FnMut(&[usize]) -> bool,
) -> bool {
    let line = picks.len();
    if line == per_line.len() {
        return emit(picks);
    }
    for (k, &(extra, _)) in per_line[line].iter().enumerate() {
        if spent + extra > room + 1e-9 {
            break;
        }
        picks.push(k);
        let more = combine(per_line, room, picks, spent + extra, emit);
        picks.pop();
        if !more {
            return false;
        }
    }
    true
}

/// The shipments of a multi-node best response: each line's units from the set's
/// cheapest offers within stock.
fn fill_response(
    set: &[usize],
    terms: &[NodeTerm],
    offers: &[Vec<(usize, f64, u32)>],
    lines: &[(usize, u32)],
) -> Response {
    let mut per_node: Vec<(usize, Vec<(usize, u32)>)> =
        set.iter().map(|&p| (terms[p].node, Vec::new())).collect();
    for (line_offers, &(sku, qty)) in offers.iter().zip(lines) {
        // Offers come cheapest first.
        let sorted = line_offers.iter().filter(|o| set.contains(&o.0));
        let mut left = qty;
        for o in sorted {
            let take = left.min(o.2);
            if take > 0 {
                let i = set.iter().position(|&p| p == o.0).expect("in set");
                per_node[i].1.push((sku, take));
                left -= take;
            }
        }
    }
    per_node.retain(|(_, l)| !l.is_empty());
    per_node
}

/// Most sets one order's best-response search evaluates exactly; past it, the
/// branches not yet explored are bounded instead (see [`NodeSetSearch`]).
const SEARCH_BUDGET: usize = 2000;

/// Branch-and-bound over the node sets of one order's best response.
///
/// The order's saving from a set of nodes (each line taking its cheapest offers within
/// stock) is submodular in the set: a node adds at most what it adds to any subset.
/// So a set `C` extended by nodes `T` costs at least `cost(C) + Σ_{n∈T} (fixed[n] +
/// split − gain_n(C))`, where `gain_n(C)` is what `n` would add to `C` alone; nodes
/// whose term is not negative never help below `C`, and a branch whose best case
/// cannot beat the best set found is cut.
struct NodeSetSearch<'a> {
    /// Candidate node positions, most promising alone first.
    nodes: Vec<usize>,
    /// Per position: fixed cost of a shipment from the node.
    fixed: &'a [f64],
    split: f64,
    /// Per line: (position, reduced unit cost < 0, units) offers, cheapest first.
    offers: &'a [Vec<(usize, f64, u32)>],
    lines: &'a [(usize, u32)],
    max_size: usize,
    in_set: Vec<bool>,
    /// Scratch for [`NodeSetSearch::saving_with`]: the set with extra nodes.
    with: Vec<bool>,
    chosen: Vec<usize>,
    evaluated: usize,
    best: f64,
    best_set: Option<Vec<usize>>,
    /// Lowest bound of the branches left unexplored when the budget ran out.
    open: f64,
    /// Listing mode: every set costing at most this is collected in `within`
    /// (instead of searching for the best one).
    ceiling: Option<f64>,
    within: Vec<(Vec<usize>, f64)>,
}

impl NodeSetSearch<'_> {
    /// Whether a branch whose sets all cost at least `lower` can be skipped.
    fn cut(&self, lower: f64) -> bool {
        match self.ceiling {
            Some(ceiling) => lower > ceiling,
            None => lower >= self.best,
        }
    }

    /// What each candidate node would add to the saving of the chosen set, indexed
    /// by position.
    fn gains(&self) -> Vec<f64> {
        let mut gains = vec![0.0; self.fixed.len()];
        let mut chosen: Vec<(f64, u32)> = Vec::new();
        for (line_offers, &(_, qty)) in self.offers.iter().zip(self.lines) {
            // The chosen set's own fill of this line, cheapest units first.
            chosen.clear();
            let mut unfilled = qty;
            for &(p, a, avail) in line_offers {
                if unfilled == 0 {
                    break;
                }
                if self.in_set[p] {
                    let take = unfilled.min(avail);
                    chosen.push((a, take));
                    unfilled -= take;
                }
            }
            for &(p, a, avail) in line_offers {
                if self.in_set[p] {
                    continue;
                }
                // New units fill the unfilled slots, then replace dearer chosen ones.
                let units = avail.min(qty);
                let first = units.min(unfilled);
                let mut gain = -a * f64::from(first);
                let mut rest = units - first;
                for &(c, count) in chosen.iter().rev() {
                    if rest == 0 || c <= a {
                        break;
                    }
                    let t = rest.min(count);
                    gain += (c - a) * f64::from(t);
                    rest -= t;
                }
                gains[p] += gain;
            }
        }
        gains
    }

    /// The saving of the chosen set together with the candidates from position
    /// `from` on (`None`: alone), each line taking its cheapest offers among them
    /// within stock.
    fn saving_with(&mut self, from: Option<usize>) -> f64 {
        let with = &mut self.with;
        with.clear();
        with.extend_from_slice(&self.in_set);
        for &p in from.map_or(&[][..], |f| &self.nodes[f..]) {
            with[p] = true;
        }
        let mut saving = 0.0;
        for (line_offers, &(_, qty)) in self.offers.iter().zip(self.lines) {
            let mut left = qty;
            for &(p, a, avail) in line_offers {
                if left == 0 {
                    break;
                }
                if with[p] {
                    let take = left.min(avail);
                    saving -= a * f64::from(take);
                    left -= take;
                }
            }
        }
        saving
    }

    /// Explores the sets that extend the chosen ones (costing `cost`; `-split` when
    /// none is chosen) with candidates from `from` on; false when the budget ran out.
    ///
    /// Bound of a branch: adding nodes `T` costs `Σ (fixed + split)` and gains at most
    /// `Σ gain_n` (submodularity) and at most `cap`, what all candidates together
    /// would add; the least of that over fractional `T` is a fractional knapsack,
    /// filled greedily by cost per unit of gain.
    fn visit(&mut self, from: usize, cost: f64) -> bool {
        if self.chosen.len() >= self.max_size {
            return true;
        }
        let gains = self.gains();
        let items: Vec<(f64, f64)> = self.nodes[from..]
            .iter()
            .map(|&p| (self.fixed[p] + self.split, gains[p]))
            .collect();
        let cap = self.saving_with(Some(from)) - self.saving_with(None);
        let mut by_ratio: Vec<usize> = (0..items.len())
            .filter(|&k| items[k].0 < items[k].1)
            .collect();
        by_ratio.sort_by(|&x, &y| (items[x].0 * items[y].1).total_cmp(&(items[y].0 * items[x].1)));
        // Least cost of adding candidates from position `first` on, gaining ≤ `cap`.
        let knapsack = |first: usize, cap: f64| -> f64 {
            let (mut paid, mut got) = (0.0, 0.0);
            for &k in &by_ratio {
                if got >= cap {
                    break;
                }
                if k < first {
                    continue;
                }
                let (f, m) = items[k];
                let share = ((cap - got) / m).min(1.0);
                paid += f * share;
                got += m * share;
            }
            paid - got
        };
        for (i, &(f, m)) in items.iter().enumerate() {
            if f >= m && self.ceiling.is_none() {
                continue; // never pays for itself below this set
            }
            let with = cost + f - m;
            let below = knapsack(i + 1, (cap - m).max(0.0));
            if self.cut(with + below) {
                continue;
            }
            if self.evaluated >= SEARCH_BUDGET {
                self.open = self.open.min(cost + knapsack(i, cap));
                return false;
            }
            self.evaluated += 1;
            let p = self.nodes[from + i];
            self.chosen.push(p);
            if self.ceiling.is_some_and(|c| with <= c) {
                self.within.push((self.chosen.clone(), with));
            } else if self.ceiling.is_none() && with < self.best {
                self.best = with;
                self.best_set = Some(self.chosen.clone());
            }
            self.in_set[p] = true;
            let finished = self.cut(with + below) || self.visit(from + i + 1, with);
            self.in_set[p] = false;
            self.chosen.pop();
            if !finished {
                self.open = self.open.min(cost + knapsack(i + 1, cap));
                return false;
            }
        }
        true
    }
}

/// The lowest relaxed reduced cost of an order over every set of at most
/// `max_size` nodes (`best_single` being the best single node, or 0 for shipping
/// nothing), with the set when a set beats `best_single`. Exact while the search
/// stays within [`SEARCH_BUDGET`]; otherwise a lower bound, with the best set found.
/// Each line's `offers` come cheapest first, as [`saving_offers`] sorts them.
fn best_best_response(
    best_single: f64,
    fixed: &[f64],
    offers: &[Vec<(usize, f64, u32)>],
    lines: &[(usize, u32)],
    split: f64,
    max_size: usize,
) -> (f64, Option<Vec<usize>>) {
    // A node alone saves `alone`; in a set of two or more it must pay for its
    // shipment and split out of that.
    let mut alone = vec![0.0; fixed.len()];
    for (line_offers, &(_, qty)) in offers.iter().zip(lines) {
        for &(p, a, avail) in line_offers {
            alone[p] -= a * f64::from(avail.min(qty));
        }
    }
    let mut nodes: Vec<usize> = (0..fixed.len())
        .filter(|&p| fixed[p] + split < alone[p])
        .collect();
    nodes.sort_by(|&a, &b| (fixed[a] - alone[a]).total_cmp(&(fixed[b] - alone[b])));
    let mut search = NodeSetSearch {
        in_set: vec![false; fixed.len()],
        with: Vec::new(),
        nodes,
        fixed,
        split,
        offers,
        lines,
        max_size,
        chosen: Vec::new(),
        evaluated: 0,
        best: best_single,
        best_set: None,
        open: f64::INFINITY,
        ceiling: None,
        within: Vec::new(),
    };
    search.visit(0, -split);
    (search.best.min(search.open), search.best_set)
}

/// One order's relaxation as an arc model, for a reduced-cost MIP where its options
/// within the room are too many to list. Variables: `u` (the order ships), per node
/// `y` (a shipment from it) and per (line, node) integer units `x`; cost
/// `Σ (fixed + split)·y − split·u + Σ unit·x`, with `y ≤ u`, `u ≤ Σ y`,
/// `Σ y ≤ max_shipments`, `x ≤ held·y`, `Σ_n x ≤ qty·u`, and `y`/`x` in the node's
/// shipment, unit and stock rows. Every real option of the order is a solution that
/// costs at least as much (the carrier's base and per-weight parts are each taken at
/// their cheapest allowed rate), so the MIP's bound stays valid.
pub(super) struct ArcBlock {
    /// The order.
    pub order: usize,
    /// Its lines as (sku, qty).
    pub lines: Vec<(usize, u32)>,
    /// The nodes that can ship part of it, with their least costs (the bound's
    /// relaxation at zero prices).
    pub nodes: Vec<NodeTerm>,
    /// Most shipments it may use.
    pub max_shipments: usize,
    /// The window's split penalty.
    pub split: f64,
}

impl ArcBlock {
    /// Resources the block can use, with the most it can use of each.
    pub(super) fn usage(&self) -> Vec<(Resource, f64)> {
        let mut out = Vec::new();
        for n in &self.nodes {
            out.push((Resource::Shipments(n.node), 1.0));
            let mut units = 0.0;
            for (&(sku, _), &(_, held)) in self.lines.iter().zip(&n.units) {
                if held > 0 {
                    out.push((Resource::Stock(n.node, sku), f64::from(held)));
                    units += f64::from(held);
                }
            }
            out.push((Resource::Units(n.node), units));
        }
        out
    }

    /// Number of HiGHS columns: `u`, then per node `y` and its held lines' `x`.
    pub(super) fn column_count(&self) -> usize {
        1 + self
            .nodes
            .iter()
            .map(|n| 1 + n.units.iter().filter(|u| u.1 > 0).count())
            .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The cost of one node set by definition: fixed costs, splits, and each line
    /// filled from the set's cheapest offers within stock.
    fn set_cost(
        set: &[usize],
        fixed: &[f64],
        offers: &[Vec<(usize, f64, u32)>],
        lines: &[(usize, u32)],
        split: f64,
    ) -> f64 {
        let mut cost: f64 = set.iter().map(|&p| fixed[p]).sum::<f64>();
        cost += split * (set.len() as f64 - 1.0);
        for (line_offers, &(_, qty)) in offers.iter().zip(lines) {
            let mut sorted: Vec<_> = line_offers.iter().filter(|o| set.contains(&o.0)).collect();
            sorted.sort_by(|x, y| x.1.total_cmp(&y.1));
            let mut left = qty;
            for o in sorted {
                let take = left.min(o.2);
                cost += o.1 * f64::from(take);
                left -= take;
            }
        }
        cost
    }

    #[test]
    fn the_node_set_search_finds_the_best_set_of_every_small_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..300 {
            let nodes = rng.gen_range(1..=9);
            let fixed: Vec<f64> = (0..nodes).map(|_| rng.gen_range(0.0..30.0)).collect();
            let lines: Vec<(usize, u32)> = (0..rng.gen_range(1..=4))
                .map(|s| (s, rng.gen_range(1..=4)))
                .collect();
            let mut offers: Vec<Vec<(usize, f64, u32)>> = vec![Vec::new(); lines.len()];
            for line_offers in &mut offers {
                for p in 0..nodes {
                    if rng.gen_bool(0.6) {
                        line_offers.push((p, rng.gen_range(-60.0..-1.0), rng.gen_range(1..=4)));
                    }
                }
                line_offers.sort_by(|x, y| x.1.total_cmp(&y.1));
            }
            let split = rng.gen_range(0.0..5.0);
            let max_size = rng.gen_range(1..=nodes);
            // Brute force over every non-empty set within the size limit.
            let mut best = 0.0f64;
            let mut best_single = 0.0f64;
            for mask in 1u32..(1 << nodes) {
                let set: Vec<usize> = (0..nodes).filter(|&p| mask & (1 << p) != 0).collect();
                if set.len() > max_size {
                    continue;
                }
                let c = set_cost(&set, &fixed, &offers, &lines, split);
                best = best.min(c);
                if set.len() == 1 {
                    best_single = best_single.min(c);
                }
            }
            let (found, set) =
                best_best_response(best_single, &fixed, &offers, &lines, split, max_size);
            assert!(
                (found - best).abs() < 1e-9,
                "search {found} brute force {best}"
            );
            if let Some(set) = set {
                assert!(set.len() <= max_size);
                let c = set_cost(&set, &fixed, &offers, &lines, split);
                assert!((c - found).abs() < 1e-9, "set costs {c}, reported {found}");
            }
        }
    }
}
