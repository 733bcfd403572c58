//! Cover cuts on stock rows, which lift the LP bound towards the integer optimum.
//!
//! A stock row `Σ units ≤ S` is a knapsack over the orders that can take the sku
//! from the node. An order takes either none of a line's units from the node or
//! some number of them; when a set `C` of orders, each taking at least `u_k` units,
//! would need more than `S` (`Σ_C u_k > S`), at most `|C| − 1` of them can take
//! that many. The LP does not know this: it takes half of an order whose two units
//! the row can only hold one of. On generated windows these cuts close most of the
//! gap between the LP and the integer optimum (models/option-model.md; figures in
//! docs/tuning.md).
//!
//! A cut's dual price falls on the options of its orders that take at least their
//! threshold, so it is an extra cost per option ([`CutPrices::extra`]) beside the
//! resource prices.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::bound::{self, Bound, NodeTerms, Response};
use super::options::{FulfillmentOption, Resource};
use super::parallel::in_parts;
use super::prices::{Prices, RowIndex};
use crate::cost::Network;

/// Least violation for a cut to be added.
const MIN_VIOLATION: f64 = 0.02;
/// LP values below this count as zero.
const ZERO: f64 = 1e-7;

/// A valid inequality `Σ_j coefficient(j)·z[j] ≤ rhs` over the options, whose
/// coefficient any option (listed or not) gets from its order and shipments alone,
/// so it holds for columns generated after it, and is never negative.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Cut {
    /// A cover of one stock row.
    Cover(CoverCut),
    /// Half the sum of some rows, rounded down.
    ZeroHalf(ZeroHalfCut),
}

impl Cut {
    /// The right-hand side.
    pub(super) fn rhs(&self) -> usize {
        match self {
            Cut::Cover(c) => c.rhs,
            Cut::ZeroHalf(c) => c.rhs,
        }
    }

    /// The orders whose options may have a nonzero coefficient.
    pub(super) fn orders(&self) -> Vec<usize> {
        match self {
            Cut::Cover(c) => c.items.iter().map(|&(k, _)| k).collect(),
            Cut::ZeroHalf(c) => c.touched.clone(),
        }
    }

    /// An option's coefficient.
    pub(super) fn coefficient(&self, option: &FulfillmentOption) -> u32 {
        self.coefficient_of_parts(option.order, &parts_of(option))
    }

    /// The coefficient of an order's shape (shipments as node and lines).
    fn coefficient_of_shape(&self, order: usize, shape: &Response) -> u32 {
        let parts: Vec<(usize, &[(usize, u32)])> =
            shape.iter().map(|(n, l)| (*n, l.as_slice())).collect();
        self.coefficient_of_parts(order, &parts)
    }

    /// The coefficient of `order` shipping `parts` (node, (sku, units) lines).
    fn coefficient_of_parts(&self, order: usize, parts: &[(usize, &[(usize, u32)])]) -> u32 {
        match self {
            Cut::Cover(c) => u32::from(c.counts(order, parts)),
            Cut::ZeroHalf(c) => c.coefficient(order, parts),
        }
    }
}

/// An option's shipments as (node, (sku, units) lines).
fn parts_of(option: &FulfillmentOption) -> Vec<(usize, &[(usize, u32)])> {
    option
        .shipments
        .iter()
        .map(|a| (a.node, a.lines.as_slice()))
        .collect()
}

/// `Σ_{k∈items} [order k takes ≥ u_k units of sku from node] ≤ rhs`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct CoverCut {
    /// The stock row's node.
    pub node: usize,
    /// The stock row's sku.
    pub sku: usize,
    /// (order, least units), by order.
    pub items: Vec<(usize, u32)>,
    /// `|items| − 1`.
    pub rhs: usize,
}

impl CoverCut {
    /// The least units this cut counts for `order`, if the order is in it.
    fn threshold(&self, order: usize) -> Option<u32> {
        self.items
            .binary_search_by_key(&order, |&(k, _)| k)
            .ok()
            .map(|i| self.items[i].1)
    }

    /// Whether `option` takes at least its order's threshold from the cut's row.
    fn counts_option(&self, option: &FulfillmentOption) -> bool {
        self.counts(option.order, &parts_of(option))
    }

    /// Whether `order`, shipping `parts` (node, (sku, units) lines), takes at least
    /// its threshold from the cut's row.
    fn counts(&self, order: usize, parts: &[(usize, &[(usize, u32)])]) -> bool {
        let Some(threshold) = self.threshold(order) else {
            return false;
        };
        let taken: u32 = parts
            .iter()
            .filter(|&&(n, _)| n == self.node)
            .flat_map(|&(_, lines)| lines)
            .filter(|&&(s, _)| s == self.sku)
            .map(|&(_, q)| q)
            .sum();
        taken >= threshold
    }
}

/// A {0, ½}-Chvátal-Gomory cut: the sum of some order rows (`Σ_{j∈J(o)} z[j] ≤ 1`),
/// stock rows and cover cuts, halved and rounded down. An option's coefficient is
/// half its entries in those rows, rounded down; the right-hand side is half their
/// capacities, rounded down. Valid for every plan: the halved sum holds for it, and
/// its left side is a whole number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ZeroHalfCut {
    /// The order rows summed, by order.
    pub orders: Vec<usize>,
    /// The stock rows summed, as (node, sku), sorted.
    pub stock: Vec<(usize, usize)>,
    /// The cover cuts summed.
    pub covers: Vec<CoverCut>,
    /// Half the summed capacities, rounded down.
    pub rhs: usize,
    /// The orders whose options can have a nonzero coefficient, by order.
    pub touched: Vec<usize>,
}

impl ZeroHalfCut {
    /// The summed rows' entries for `order` shipping `parts`, halved, rounded down.
    fn coefficient(&self, order: usize, parts: &[(usize, &[(usize, u32)])]) -> u32 {
        if self.touched.binary_search(&order).is_err() {
            return 0;
        }
        let mut sum = u32::from(self.orders.binary_search(&order).is_ok());
        for &(n, lines) in parts {
            for &(s, q) in lines {
                if self.stock.binary_search(&(n, s)).is_ok() {
                    sum += q;
                }
            }
        }
        for c in &self.covers {
            sum += u32::from(c.counts(order, parts));
        }
        sum / 2
    }
}

/// Per order: the positions in `cuts` of the cuts whose coefficients it may have.
pub(super) fn cuts_by_order(cuts: &[Cut]) -> HashMap<usize, Vec<usize>> {
    let mut of_order: HashMap<usize, Vec<usize>> = HashMap::new();
    for (c, cut) in cuts.iter().enumerate() {
        for k in cut.orders() {
            of_order.entry(k).or_default().push(c);
        }
    }
    of_order
}

/// The positions in `cuts` of the cuts with a nonzero coefficient on `option`, with
/// that coefficient, given their index by order ([`cuts_by_order`]).
pub(super) fn counting(
    cuts: &[Cut],
    of_order: &HashMap<usize, Vec<usize>>,
    option: &FulfillmentOption,
) -> Vec<(usize, u32)> {
    of_order
        .get(&option.order)
        .into_iter()
        .flatten()
        .map(|&c| (c, cuts[c].coefficient(option)))
        .filter(|&(_, a)| a > 0)
        .collect()
}

/// Cuts with their dual prices (≥ 0): an extra cost on the options they count.
#[derive(Clone, Default)]
pub(super) struct CutPrices {
    pub cuts: Vec<Cut>,
    pub values: Vec<f64>,
    /// Per order in some cut: the cuts it is in.
    of_order: HashMap<usize, Vec<usize>>,
}

impl CutPrices {
    /// `cuts` priced at `values`.
    pub(super) fn new(cuts: Vec<Cut>, values: Vec<f64>) -> Self {
        let mut of_order = cuts_by_order(&cuts);
        for list in of_order.values_mut() {
            list.retain(|&c| values[c] > 0.0);
        }
        of_order.retain(|_, list| !list.is_empty());
        CutPrices {
            cuts,
            values,
            of_order,
        }
    }

    /// The priced cuts' extra cost on an option.
    pub(super) fn extra(&self, option: &FulfillmentOption) -> f64 {
        self.of_order.get(&option.order).map_or(0.0, |cs| {
            cs.iter()
                .map(|&c| self.values[c] * f64::from(self.cuts[c].coefficient(option)))
                .sum()
        })
    }

    /// The priced cuts' extra cost on an order's shape.
    pub(super) fn extra_shape(&self, order: usize, shape: &Response) -> f64 {
        self.of_order.get(&order).map_or(0.0, |cs| {
            cs.iter()
                .map(|&c| {
                    self.values[c] * f64::from(self.cuts[c].coefficient_of_shape(order, shape))
                })
                .sum()
        })
    }

    /// The orders some priced cut counts.
    pub(super) fn orders(&self) -> impl Iterator<Item = usize> + '_ {
        self.of_order.keys().copied()
    }

    /// Σ price × right-hand side: what the bound gives back for the cuts.
    pub(super) fn cost_of_rhs(&self) -> f64 {
        self.cuts
            .iter()
            .zip(&self.values)
            .map(|(c, v)| v * c.rhs() as f64)
            .sum()
    }
}

/// Most shapes listed per cut order when its least cost with the cuts is sought;
/// past it the order keeps its minimum without them (still a valid bound).
const SHAPES_PER_CUT_ORDER: usize = 2000;

/// The Lagrangian bound at `prices` (`bound`, over every option) raised by the
/// cuts' prices: each order some cut counts gets its least relaxed reduced cost
/// with the cuts' extra costs (every shape of it within the cost of its best
/// response so priced, listed), and the bound gives back Σ price × right-hand
/// side. Each such order's response becomes its cheapest shape so priced. Valid
/// for the full problem: a plan's orders each pay at least their minimum, and its
/// cut rows' slack is not negative.
///
/// Past `deadline` the orders left keep their minima (the bound stays valid).
#[allow(clippy::too_many_arguments)]
pub(super) fn raise_bound(
    net: &Network,
    node_terms: &NodeTerms,
    prices: &Prices,
    cut_prices: &CutPrices,
    bound: &mut Bound,
    threads: usize,
    deadline: Instant,
) {
    bound.value -= cut_prices.cost_of_rhs();
    let mut orders: Vec<usize> = cut_prices.orders().collect();
    orders.sort_unstable();
    // Orders are independent: split them over the threads (large windows have
    // enough cut orders to keep a second thread busy; docs/tuning.md).
    let chunk = orders.len().div_ceil(threads.max(1)).max(1);
    let responses = &bound.responses;
    let parts: Vec<&[usize]> = orders.chunks(chunk).collect();
    let raised: Vec<(usize, f64, Response)> = in_parts(parts.len(), |i| {
        let mut out = Vec::new();
        for (n, &k) in parts[i].iter().enumerate() {
            if n % 16 == 0 && Instant::now() >= deadline {
                break;
            }
            let (best, shape) =
                least_with_cuts(net, node_terms, prices, cut_prices, k, &responses[k]);
            out.push((k, best, shape));
        }
        out
    })
    .into_iter()
    .flatten()
    .collect();
    for (k, best, shape) in raised {
        if best > bound.minima[k] {
            bound.value += best - bound.minima[k];
            bound.minima[k] = best;
            bound.responses[k] = shape;
        }
    }
}

/// Order `k`'s least relaxed reduced cost with the cuts' extra costs, and the shape
/// that has it (empty: ship nothing); its plain minimum's (−∞: not found) when it has
/// more shapes than [`SHAPES_PER_CUT_ORDER`] below its response's cost with the cuts.
fn least_with_cuts(
    net: &Network,
    node_terms: &NodeTerms,
    prices: &Prices,
    cut_prices: &CutPrices,
    k: usize,
    response: &Response,
) -> (f64, Response) {
    // An upper bound on the least cost with the cuts: shipping nothing (0), or the
    // best response without them, now with their extra cost.
    let costs = bound::ShapeCosts::new(net, node_terms, prices, k);
    let mut best = 0.0;
    let mut best_shape: Response = Vec::new();
    if !response.is_empty()
        && let Some(c) = costs.cost(response)
    {
        let c = c + cut_prices.extra_shape(k, response);
        if c < best {
            best = c;
            best_shape = response.clone();
        }
    }
    // Every shape cheaper than that with the cuts is cheaper without them.
    let Some(shapes) = bound::shapes_within(net, node_terms, prices, k, best, SHAPES_PER_CUT_ORDER)
    else {
        return (f64::NEG_INFINITY, Vec::new());
    };
    for shape in shapes {
        if let Some(c) = costs.cost(&shape) {
            let c = c + cut_prices.extra_shape(k, &shape);
            if c < best {
                best = c;
                best_shape = shape;
            }
        }
    }
    (best, best_shape)
}

/// Cover cuts that an LP solution violates, one per stock row at most, not among
/// `known`. `columns` are the master's option ids with their LP values `x`; `rows`
/// the master's resource rows with their capacity.
pub(super) fn separate(
    options: &[FulfillmentOption],
    columns: &[usize],
    x: &[f64],
    rows: &[(Resource, f64)],
    row_index: &RowIndex,
    known: &HashSet<Cut>,
) -> Vec<Cut> {
    // Per row: (order, units, LP value) of the options that take stock from it.
    let mut takers: Vec<Vec<(usize, u32, f64)>> = vec![Vec::new(); rows.len()];
    for (&j, &v) in columns.iter().zip(x) {
        if v <= ZERO {
            continue;
        }
        let o = &options[j];
        for a in &o.shipments {
            for &(s, q) in &a.lines {
                if let Some(r) = row_index.get(Resource::Stock(a.node, s)) {
                    takers[r].push((o.order, q, v));
                }
            }
        }
    }
    let mut found = Vec::new();
    for (list, &(r, cap)) in takers.iter().zip(rows) {
        let Resource::Stock(node, sku) = r else {
            continue;
        };
        // Rows whose takers all take one unit (or none) are cardinality rows: no
        // cover cut beats the row itself.
        if list.iter().all(|t| t.1 < 2) {
            continue;
        }
        if let Some(items) = violated_cover(list, cap) {
            let cut = Cut::Cover(CoverCut {
                node,
                sku,
                rhs: items.len() - 1,
                items,
            });
            if !known.contains(&cut) {
                found.push(cut);
            }
        }
    }
    found
}

/// Most rows a {0, ½}-cut sums: wider sums rarely pay for their density, and the
/// cuts within this limit raise the LP as far as those over any number of rows
/// (docs/tuning.md).
const ZERO_HALF_MAX_ROWS: usize = 12;
/// Most {0, ½}-cuts added per round, the most violated first.
const ZERO_HALF_PER_ROUND: usize = 200;

/// A sum of rows being built by [`separate_zero_half`]: the support columns with an
/// odd entry (a bit set), whether the capacities' sum is odd, the rows' slack, and
/// the rows (codes: orders, then stock rows, then cover cuts), sorted.
struct RowSum {
    odd_columns: Vec<u64>,
    odd_rhs: bool,
    slack: f64,
    rows: Vec<usize>,
}

impl RowSum {
    /// Adds `other` modulo 2: a row in both drops out (summed twice, it adds a
    /// whole row, which changes no parity and only weakens the cut). `slack_of`
    /// holds each row's slack by code.
    fn add(&mut self, other: &RowSum, slack_of: &[f64]) {
        let mut rows = Vec::with_capacity(self.rows.len() + other.rows.len());
        let (mut i, mut k) = (0, 0);
        while i < self.rows.len() || k < other.rows.len() {
            match (self.rows.get(i), other.rows.get(k)) {
                (Some(a), Some(b)) if a == b => {
                    i += 1;
                    k += 1;
                }
                (Some(a), Some(b)) if a < b => {
                    rows.push(*a);
                    i += 1;
                }
                (Some(_), Some(b)) => {
                    rows.push(*b);
                    k += 1;
                }
                (Some(a), None) => {
                    rows.push(*a);
                    i += 1;
                }
                (None, Some(b)) => {
                    rows.push(*b);
                    k += 1;
                }
                (None, None) => unreachable!(),
            }
        }
        for (a, b) in self.odd_columns.iter_mut().zip(&other.odd_columns) {
            *a ^= b;
        }
        self.odd_rhs ^= other.odd_rhs;
        self.slack = rows.iter().map(|&r| slack_of[r]).sum();
        self.rows = rows;
    }

    /// How far the halved sum's cut is from holding at the LP solution, times 2:
    /// `1 − slack − Σ x` over the columns with an odd entry (positive: violated).
    fn violation(&self, x: &[f64]) -> f64 {
        if !self.odd_rhs {
            return f64::NEG_INFINITY;
        }
        let mut cost = self.slack;
        for (w, &word) in self.odd_columns.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                cost += x[w * 64 + bits.trailing_zeros() as usize];
                bits &= bits - 1;
            }
            if cost >= 1.0 {
                return 1.0 - cost;
            }
        }
        1.0 - cost
    }
}

/// {0, ½}-cuts that an LP solution violates and `known` lacks, the most violated
/// first. A sum of order rows, stock rows and the cover cuts among `cuts` whose
/// capacities add up to an odd number, halved and rounded down, is violated by
/// `(1 − slack − Σ x)/2`, the sums over its rows' slack and over the columns with
/// an odd entry in it. Such sums are found by Gaussian elimination modulo 2 over
/// the LP's support, the column with the largest value first (the heuristic of
/// Koster, Zymolka and Kutschka, 2009). `columns`, `x`, `rows` and `row_index` as
/// for [`separate`].
#[allow(clippy::too_many_arguments)]
pub(super) fn separate_zero_half(
    net: &Network,
    options: &[FulfillmentOption],
    columns: &[usize],
    x: &[f64],
    rows: &[(Resource, f64)],
    row_index: &RowIndex,
    cuts: &[Cut],
    known: &HashSet<Cut>,
) -> Vec<Cut> {
    let support: Vec<usize> = (0..columns.len()).filter(|&i| x[i] > ZERO).collect();
    let values: Vec<f64> = support.iter().map(|&i| x[i]).collect();
    let words = support.len().div_ceil(64);
    let orders = net.order_count();
    let covers: Vec<&CoverCut> = cuts
        .iter()
        .filter_map(|c| match c {
            Cut::Cover(cover) => Some(cover),
            Cut::ZeroHalf(_) => None,
        })
        .collect();
    let mut covers_of_order: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, c) in covers.iter().enumerate() {
        for &(k, _) in &c.items {
            covers_of_order.entry(k).or_default().push(i);
        }
    }
    // Row codes: order o is o, stock row r is orders + r, cover i is
    // orders + rows.len() + i.
    let first_cover = orders + rows.len();
    let codes = first_cover + covers.len();
    let mut capacity = vec![1.0; codes];
    for (r, &(_, cap)) in rows.iter().enumerate() {
        capacity[orders + r] = cap;
    }
    for (i, c) in covers.iter().enumerate() {
        capacity[first_cover + i] = c.rhs as f64;
    }
    let mut activity = vec![0.0; codes];
    let mut entries: Vec<Vec<(usize, u32)>> = vec![Vec::new(); codes];
    for (p, &i) in support.iter().enumerate() {
        let option = &options[columns[i]];
        let v = x[i];
        let mut add = |code: usize, a: u32| {
            activity[code] += v * f64::from(a);
            entries[code].push((p, a));
        };
        add(option.order, 1);
        for shipment in &option.shipments {
            for &(s, q) in &shipment.lines {
                if let Some(r) = row_index.get(Resource::Stock(shipment.node, s)) {
                    add(orders + r, q);
                }
            }
        }
        for &c in covers_of_order.get(&option.order).into_iter().flatten() {
            if covers[c].counts_option(option) {
                add(first_cover + c, 1);
            }
        }
    }
    let slack_of: Vec<f64> = capacity
        .iter()
        .zip(&activity)
        .map(|(c, a)| (c - a).max(0.0))
        .collect();
    let most_slack = 1.0 - 2.0 * MIN_VIOLATION;
    let live: Vec<RowSum> = (0..codes)
        .filter(|&code| !entries[code].is_empty() && slack_of[code] < most_slack)
        .map(|code| {
            let mut odd_columns = vec![0u64; words];
            for &(p, a) in &entries[code] {
                if a % 2 == 1 {
                    odd_columns[p / 64] ^= 1 << (p % 64);
                }
            }
            RowSum {
                odd_columns,
                odd_rhs: (capacity[code].round() as i64) % 2 == 1,
                slack: slack_of[code],
                rows: vec![code],
            }
        })
        .collect();
    let found = violated_sums(live, &values, &slack_of);
    let mut orders_of_sku: Vec<Vec<usize>> = vec![Vec::new(); net.sku_count()];
    for (o, lines) in net.lines.iter().enumerate() {
        for &(s, _) in lines {
            orders_of_sku[s].push(o);
        }
    }
    let mut out = Vec::new();
    for (codes, _) in found {
        if out.len() == ZERO_HALF_PER_ROUND {
            break;
        }
        let mut cut = ZeroHalfCut {
            orders: Vec::new(),
            stock: Vec::new(),
            covers: Vec::new(),
            rhs: 0,
            touched: Vec::new(),
        };
        let mut total = 0usize;
        for &code in &codes {
            total += capacity[code].round() as usize;
            if code < orders {
                cut.orders.push(code);
            } else if code < first_cover {
                if let Resource::Stock(n, s) = rows[code - orders].0 {
                    cut.stock.push((n, s));
                }
            } else {
                cut.covers.push(covers[code - first_cover].clone());
            }
        }
        cut.rhs = total / 2;
        cut.stock.sort_unstable();
        cut.touched = touched_orders(net, &cut, &orders_of_sku);
        // Kept only if the cut as built cuts the LP solution off.
        let cut = Cut::ZeroHalf(cut);
        let lhs: f64 = support
            .iter()
            .map(|&i| x[i] * f64::from(cut.coefficient(&options[columns[i]])))
            .sum();
        if lhs >= cut.rhs() as f64 + MIN_VIOLATION && !known.contains(&cut) {
            out.push(cut);
        }
    }
    out
}

/// The sums of at most [`ZERO_HALF_MAX_ROWS`] rows violated by at least twice
/// [`MIN_VIOLATION`] that Gaussian elimination modulo 2 meets, starting from the
/// single rows `live`, with their violation, the most violated first. `values` are
/// the LP values of the support's columns, `slack_of` each row's slack by code.
fn violated_sums(
    mut live: Vec<RowSum>,
    values: &[f64],
    slack_of: &[f64],
) -> Vec<(Vec<usize>, f64)> {
    let most_slack = 1.0 - 2.0 * MIN_VIOLATION;
    let mut found: HashMap<Vec<usize>, f64> = HashMap::new();
    let mut record = |sum: &RowSum| {
        let violation = sum.violation(values);
        if violation >= 2.0 * MIN_VIOLATION && sum.rows.len() <= ZERO_HALF_MAX_ROWS {
            found.insert(sum.rows.clone(), violation);
        }
    };
    live.iter().for_each(&mut record);
    let mut by_value: Vec<usize> = (0..values.len()).collect();
    by_value.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    for p in by_value {
        let (word, bit) = (p / 64, 1u64 << (p % 64));
        let Some(pivot_at) = (0..live.len())
            .filter(|&s| live[s].odd_columns[word] & bit != 0)
            .min_by(|&a, &b| {
                live[a]
                    .slack
                    .total_cmp(&live[b].slack)
                    .then(live[a].rows.len().cmp(&live[b].rows.len()))
            })
        else {
            continue;
        };
        let pivot = live.swap_remove(pivot_at);
        for sum in live.iter_mut() {
            if sum.odd_columns[word] & bit != 0 {
                sum.add(&pivot, slack_of);
                record(sum);
            }
        }
        live.retain(|s| {
            s.slack < most_slack && !s.rows.is_empty() && s.rows.len() <= ZERO_HALF_MAX_ROWS
        });
    }
    let mut found: Vec<(Vec<usize>, f64)> = found.into_iter().collect();
    found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    found
}

/// The orders whose options can have a nonzero coefficient in `cut`: those whose
/// entries in its rows can add up to 2 or more.
fn touched_orders(net: &Network, cut: &ZeroHalfCut, orders_of_sku: &[Vec<usize>]) -> Vec<usize> {
    let mut candidates: Vec<usize> = cut.orders.clone();
    for c in &cut.covers {
        candidates.extend(c.items.iter().map(|&(k, _)| k));
    }
    for &(_, s) in &cut.stock {
        candidates.extend(&orders_of_sku[s]);
    }
    candidates.sort_unstable();
    candidates.dedup();
    let stock_skus: HashSet<usize> = cut.stock.iter().map(|&(_, s)| s).collect();
    candidates
        .into_iter()
        .filter(|&o| {
            let in_orders = u32::from(cut.orders.binary_search(&o).is_ok());
            let units: u32 = net.lines[o]
                .iter()
                .filter(|(s, _)| stock_skus.contains(s))
                .map(|&(_, q)| q)
                .sum();
            let in_covers = cut
                .covers
                .iter()
                .filter(|c| c.threshold(o).is_some())
                .count() as u32;
            in_orders + units + in_covers >= 2
        })
        .collect()
}

/// A violated cover among one row's takers (order, units, LP value), as (order,
/// least units) by order: greedily the orders whose count is nearest 1 per unit of
/// weight, with each order counted from its largest units taken, then from its
/// smallest; then made minimal.
fn violated_cover(takers: &[(usize, u32, f64)], cap: f64) -> Option<Vec<(usize, u32)>> {
    let mut per_order: HashMap<usize, Vec<(u32, f64)>> = HashMap::new();
    for &(k, u, v) in takers {
        let e = per_order.entry(k).or_default();
        match e.iter_mut().find(|(uu, _)| *uu == u) {
            Some(slot) => slot.1 += v,
            None => e.push((u, v)),
        }
    }
    for largest in [true, false] {
        // (slack 1 − z, threshold, order) per order.
        let mut items: Vec<(f64, u32, usize)> = per_order
            .iter()
            .map(|(&k, taken)| {
                let u = if largest {
                    taken.iter().map(|t| t.0).max()
                } else {
                    taken.iter().map(|t| t.0).min()
                }
                .expect("an order with takings");
                let z: f64 = taken.iter().filter(|t| t.0 >= u).map(|t| t.1).sum();
                ((1.0 - z).max(0.0), u, k)
            })
            .collect();
        items.sort_by(|a, b| {
            (a.0 / f64::from(a.1))
                .total_cmp(&(b.0 / f64::from(b.1)))
                .then(a.2.cmp(&b.2))
        });
        let mut weight = 0.0;
        let mut cover = Vec::new();
        for &item in &items {
            cover.push(item);
            weight += f64::from(item.1);
            if weight > cap + 1e-9 {
                break;
            }
        }
        if weight <= cap + 1e-9 {
            continue;
        }
        // Dropping an item lowers the right-hand side by 1 and the left by its
        // count: the violation does not fall. Drop the slackest while still a cover.
        cover.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
        let mut i = 0;
        while i < cover.len() {
            if cover[i].0 > 0.0 && weight - f64::from(cover[i].1) > cap + 1e-9 {
                weight -= f64::from(cover[i].1);
                cover.remove(i);
            } else {
                i += 1;
            }
        }
        let slack: f64 = cover.iter().map(|c| c.0).sum();
        if 1.0 - slack >= MIN_VIOLATION {
            let mut out: Vec<(usize, u32)> = cover.iter().map(|c| (c.2, c.1)).collect();
            out.sort_unstable();
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_an_order_that_does_not_fit_is_cut() {
        // Stock 2: order 1 takes one unit, order 2 half of its two units.
        let takers = [(1, 1, 1.0), (2, 2, 0.5)];
        assert_eq!(violated_cover(&takers, 2.0), Some(vec![(1, 1), (2, 2)]));
    }

    #[test]
    fn a_row_that_holds_everything_has_no_cut() {
        let takers = [(1, 1, 1.0), (2, 2, 1.0)];
        assert_eq!(violated_cover(&takers, 3.0), None);
    }

    #[test]
    fn an_integral_solution_violates_no_cover() {
        // Orders 1 and 3 fit stock 3; order 2 takes nothing from this row.
        let takers = [(1, 1, 1.0), (3, 2, 1.0), (2, 2, 0.0)];
        assert_eq!(violated_cover(&takers, 3.0), None);
    }
}
