//! The set-packing model handed to HiGHS, and guarded HiGHS runs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use highs::{ColProblem, HighsModelStatus, Row, Sense};

use super::bound::ArcBlock;
use super::cuts::{Cut, CutPrices, counting, cuts_by_order};
use super::options::{FulfillmentOption, Resource};
use super::prices::{Prices, RowIndex};
use super::stop::{self, SchedulerRelease, StopWhen};
use crate::cost::Network;
use crate::solve::{SolveOptions, Usage};

/// Time kept back from HiGHS for assembling the plan after it stops.
pub(super) const FINISH_MARGIN: Duration = Duration::from_millis(30);

/// One column: order, cost, and (resource row index, coefficient) pairs.
type Column = (usize, f64, Vec<(usize, f64)>);

/// The model's rows and columns, ready to hand to HiGHS.
pub(super) struct Model {
    /// Resource rows that can bind, with their capacity.
    pub rows: Vec<(Resource, f64)>,
    /// Resource → row position in `rows`.
    pub row_index: RowIndex,
    /// Per column: order, cost, and (resource row index, coefficient) pairs.
    columns: Vec<Column>,
    /// Per column: its index in the option list.
    pub option_ids: Vec<usize>,
    /// Number of orders (one row each, before the resource rows).
    pub orders: usize,
    /// Per order, whether it must ship (its row is then `= 1`): in a reduced-cost
    /// MIP over a room `r`, an order whose shipping nothing exceeds its minimum by
    /// more than `r` ships in every plan cheaper than the bound plus `r`.
    pub must_ship: Vec<bool>,
    /// Orders modelled by their arc relaxation instead of listed options.
    pub arcs: Vec<ArcBlock>,
    /// Cuts, one row each after the resource rows.
    pub cuts: Vec<Cut>,
    /// Per column: the cuts with a nonzero coefficient on it, with that coefficient.
    cut_columns: Vec<Vec<(usize, u32)>>,
}

/// Resource rows that can bind: those whose capacity is below the most that all
/// orders together could use with the known options (each order uses one option).
pub(super) fn binding_rows(
    net: &Network,
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
) -> Vec<(Resource, f64)> {
    binding_rows_within(options, by_order, |r| capacity(net, r))
}

/// A resource's capacity in the window (`None`: unlimited).
pub(super) fn capacity(net: &Network, r: Resource) -> Option<f64> {
    match r {
        Resource::Stock(n, s) => Some(f64::from(net.available(n, s))),
        Resource::Shipments(n) => net.instance.nodes[n].capacity_shipments.map(f64::from),
        Resource::Units(n) => net.instance.nodes[n].capacity_units.map(f64::from),
    }
}

/// Rows that can bind among groups of options (one group per order; each order
/// uses at most one option of its group) against `capacity` (`None`: unlimited),
/// in a fixed order: stock, then shipments, then units.
pub(super) fn binding_rows_within(
    options: &[FulfillmentOption],
    groups: &[Vec<usize>],
    capacity: impl Fn(Resource) -> Option<f64>,
) -> Vec<(Resource, f64)> {
    let mut max_use: HashMap<Resource, f64> = HashMap::new();
    let mut order_max: Vec<(Resource, f64)> = Vec::new();
    for ids in groups {
        order_max.clear();
        for &j in ids {
            for (r, q) in options[j].usage() {
                match order_max.iter_mut().find(|(r2, _)| *r2 == r) {
                    Some((_, m)) => *m = m.max(q),
                    None => order_max.push((r, q)),
                }
            }
        }
        for &(r, q) in &order_max {
            *max_use.entry(r).or_insert(0.0) += q;
        }
    }
    let mut binding: Vec<(Resource, f64)> = max_use
        .into_iter()
        .filter_map(|(r, m)| capacity(r).filter(|&c| m > c).map(|c| (r, c)))
        .collect();
    binding.sort_by_key(|&(r, _)| match r {
        Resource::Stock(n, s) => (0, n, s),
        Resource::Shipments(n) => (1, n, 0),
        Resource::Units(n) => (2, n, 0),
    });
    binding
}

/// What is left of a resource after the shipments booked in `left` (`None`:
/// unlimited).
pub(super) fn capacity_left(left: &Usage, r: Resource) -> Option<f64> {
    let v = match r {
        Resource::Stock(n, s) => left.stock_left(n, s),
        Resource::Shipments(n) => left.shipments[n],
        Resource::Units(n) => left.units[n],
    };
    (v != i64::MAX).then_some(v as f64)
}

/// Builds the model over `rows` with one column per option in `included`.
pub(super) fn build_model(
    orders: usize,
    rows: Vec<(Resource, f64)>,
    options: &[FulfillmentOption],
    included: &[usize],
) -> Model {
    let row_index = RowIndex::new(&rows);
    let columns = included
        .iter()
        .map(|&j| {
            let o = &options[j];
            let coefs = o
                .usage()
                .into_iter()
                .filter_map(|(r, q)| row_index.get(r).map(|i| (i, q)))
                .collect();
            (o.order, o.saving_cost, coefs)
        })
        .collect();
    Model {
        rows,
        row_index,
        columns,
        option_ids: included.to_vec(),
        orders,
        must_ship: Vec::new(),
        arcs: Vec::new(),
        cuts: Vec::new(),
        cut_columns: Vec::new(),
    }
}

impl Model {
    /// The cost of column `i`.
    #[cfg(test)]
    pub(super) fn column_cost(&self, i: usize) -> f64 {
        self.columns[i].1
    }

    /// Adds `shift(option id)` to each column's cost.
    pub(super) fn shift_costs(&mut self, shift: impl Fn(usize) -> f64) {
        for (column, &j) in self.columns.iter_mut().zip(&self.option_ids) {
            column.1 += shift(j);
        }
    }

    /// Adds the cuts as rows.
    pub(super) fn add_cuts(&mut self, cuts: &[Cut], options: &[FulfillmentOption]) {
        let of_order = cuts_by_order(cuts);
        self.cut_columns = self
            .option_ids
            .iter()
            .map(|&j| counting(cuts, &of_order, &options[j]))
            .collect();
        self.cuts = cuts.to_vec();
    }

    /// Prices and order duals from the LP's row duals: HiGHS reports duals of ≤ rows
    /// in a minimization as ≤ 0, so a resource's price is −dual.
    pub(super) fn duals(&self, row_duals: &[f64]) -> Duals {
        let cut_row = self.orders + self.rows.len();
        Duals {
            cuts: CutPrices::new(
                self.cuts.clone(),
                (0..self.cuts.len())
                    .map(|c| (-row_duals[cut_row + c]).max(0.0))
                    .collect(),
            ),
            prices: Prices {
                values: (0..self.rows.len())
                    .map(|i| (-row_duals[self.orders + i]).max(0.0))
                    .collect(),
                rows: self.rows.clone(),
                row_index: self.row_index.clone(),
            },
            orders: row_duals[..self.orders]
                .iter()
                .map(|d| (-d).max(0.0))
                .collect(),
        }
    }

    /// The HiGHS problem: order rows first, then resource rows; binary or
    /// continuous columns.
    pub(super) fn problem(&self, integer: bool) -> ColProblem {
        let mut p = ColProblem::default();
        let order_rows: Vec<Row> = (0..self.orders)
            .map(|o| {
                if self.must_ship.get(o).copied().unwrap_or(false) {
                    p.add_row(1.0..=1.0)
                } else {
                    p.add_row(..=1.0)
                }
            })
            .collect();
        let resource_rows: Vec<Row> = self.rows.iter().map(|&(_, c)| p.add_row(..=c)).collect();
        let cut_rows: Vec<Row> = self
            .cuts
            .iter()
            .map(|c| p.add_row(..=c.rhs() as f64))
            .collect();
        for (i, (order, cost, coefs)) in self.columns.iter().enumerate() {
            let cuts = self.cut_columns.get(i).map_or(&[][..], Vec::as_slice);
            let factors = std::iter::once((order_rows[*order], 1.0))
                .chain(coefs.iter().map(|&(i, q)| (resource_rows[i], q)))
                .chain(cuts.iter().map(|&(c, a)| (cut_rows[c], f64::from(a))));
            // The LP leaves the upper bound to the order row, so that the row's dual
            // carries it (the Lagrangian bound reads row duals only).
            if integer {
                p.add_column_with_integrality(*cost, 0.0..=1.0, factors, true);
            } else {
                p.add_column(*cost, 0.0.., factors);
            }
        }
        for block in &self.arcs {
            self.add_arc_block(&mut p, block, order_rows[block.order], &resource_rows);
        }
        p
    }

    /// Adds an order's arc relaxation: its linking rows, then its columns in the
    /// layout [`ArcBlock::column_count`] describes.
    fn add_arc_block(
        &self,
        p: &mut ColProblem,
        block: &ArcBlock,
        order_row: Row,
        resources: &[Row],
    ) {
        let row_of = |r: Resource| self.row_index.get(r).map(|i| resources[i]);
        let ships_any = p.add_row(..=0.0); // u − Σ y ≤ 0
        let count = p.add_row(..=block.max_shipments as f64); // Σ y ≤ max
        let line_rows: Vec<Row> = block.lines.iter().map(|_| p.add_row(..=0.0)).collect(); // Σ_n x − qty·u ≤ 0
        let node_links: Vec<Row> = block.nodes.iter().map(|_| p.add_row(..=0.0)).collect(); // y − u ≤ 0
        let unit_links: Vec<Vec<Option<Row>>> = block
            .nodes
            .iter()
            .map(|n| {
                n.units
                    .iter()
                    .map(|u| (u.1 > 0).then(|| p.add_row(..=0.0)))
                    .collect()
            })
            .collect(); // x − held·y ≤ 0
        let mut u_factors = vec![(order_row, 1.0), (ships_any, 1.0)];
        u_factors.extend(
            line_rows
                .iter()
                .zip(&block.lines)
                .map(|(&r, &(_, q))| (r, -f64::from(q))),
        );
        u_factors.extend(node_links.iter().map(|&r| (r, -1.0)));
        p.add_column_with_integrality(-block.split, 0.0..=1.0, u_factors, true);
        for (k, n) in block.nodes.iter().enumerate() {
            let mut y_factors = vec![(ships_any, -1.0), (count, 1.0), (node_links[k], 1.0)];
            y_factors.extend(row_of(Resource::Shipments(n.node)).map(|r| (r, 1.0)));
            for (link, &(_, held)) in unit_links[k].iter().zip(&n.units) {
                if let Some(link) = link {
                    y_factors.push((*link, -f64::from(held)));
                }
            }
            p.add_column_with_integrality(n.fixed + block.split, 0.0..=1.0, y_factors, true);
            for (i, (&(sku, _), &(unit, held))) in block.lines.iter().zip(&n.units).enumerate() {
                let Some(link) = unit_links[k][i] else {
                    continue;
                };
                let mut x_factors = vec![(line_rows[i], 1.0), (link, 1.0)];
                x_factors.extend(row_of(Resource::Stock(n.node, sku)).map(|r| (r, 1.0)));
                x_factors.extend(row_of(Resource::Units(n.node)).map(|r| (r, 1.0)));
                p.add_column_with_integrality(unit, 0.0..=f64::from(held), x_factors, true);
            }
        }
    }

    /// Columns of the HiGHS problem beyond the options' (the arc blocks').
    pub(super) fn arc_columns(&self) -> usize {
        self.arcs.iter().map(ArcBlock::column_count).sum()
    }

    /// The shipments the arc blocks chose in a solution `x` of the whole problem
    /// (columns in [`Model::problem`]'s order), as (order, shape) for each block
    /// that ships.
    pub(super) fn arc_shapes(&self, x: &[f64]) -> Vec<(usize, super::bound::Response)> {
        let mut col = self.columns.len();
        let mut out = Vec::new();
        for block in &self.arcs {
            let ships = x.get(col).is_some_and(|&v| v > 0.5);
            col += 1;
            let mut shape = Vec::new();
            for n in &block.nodes {
                col += 1; // y
                let mut lines = Vec::new();
                for (&(sku, _), &(_, held)) in block.lines.iter().zip(&n.units) {
                    if held == 0 {
                        continue;
                    }
                    let units = x.get(col).map_or(0, |&v| v.round().max(0.0) as u32);
                    col += 1;
                    if units > 0 {
                        lines.push((sku, units));
                    }
                }
                if !lines.is_empty() {
                    shape.push((n.node, lines));
                }
            }
            if ships && !shape.is_empty() {
                out.push((block.order, shape));
            }
        }
        out
    }
}

/// An LP master's duals: resource prices, each order row's price (≥ 0) and the
/// cuts' prices.
pub(super) struct Duals {
    pub prices: Prices,
    pub orders: Vec<f64>,
    pub cuts: CutPrices,
}

impl Duals {
    /// Reduced cost of an option in the master.
    pub(super) fn reduced_cost(&self, option: &FulfillmentOption) -> f64 {
        self.prices.reduced_cost(option, self.orders[option.order]) + self.cuts.extra(option)
    }
}

/// What a HiGHS run returned.
pub(super) struct HighsRun {
    pub status: HighsModelStatus,
    pub objective: f64,
    pub columns: Vec<f64>,
    pub row_duals: Option<Vec<f64>>,
    pub dual_bound: f64,
    pub gap: f64,
    pub nodes: i64,
}

/// Runs HiGHS on the calling thread until it finishes or `deadline` (less
/// [`FINISH_MARGIN`]) comes, whichever is first: an interrupt callback stops it
/// then, or as soon as `opts.cancel` is raised, with whatever it has.
///
/// `offset` is a constant HiGHS adds to the objective while it runs (so that its
/// relative gap is measured on the plan's cost, not on the savings); the values
/// returned leave it out again. `presolve` off saves its time on masters whose
/// columns are already few and useful (measured on the reduced-cost MIPs).
pub(super) fn run_guarded(
    problem: ColProblem,
    start: Option<Vec<f64>>,
    offset: f64,
    presolve: bool,
    opts: &SolveOptions,
    deadline: Instant,
) -> Option<HighsRun> {
    run_highs(
        problem,
        start,
        offset,
        Tuning::guarded(presolve),
        opts,
        deadline,
    )
}

/// [`run_guarded`] for a MIP that may stop at its first plan cheaper than
/// `objective_target` (offset included): one a bound known outside it already
/// proves good enough.
pub(super) fn run_mip_to_target(
    problem: ColProblem,
    start: Vec<f64>,
    offset: f64,
    presolve: bool,
    objective_target: f64,
    opts: &SolveOptions,
    deadline: Instant,
) -> Option<HighsRun> {
    let tuning = Tuning {
        objective_target: Some(objective_target),
        ..Tuning::guarded(presolve)
    };
    run_highs(problem, Some(start), offset, tuning, opts, deadline)
}

/// [`run_guarded`] for an LP solved by interior point only to `tolerance` (its
/// optimality tolerance), with presolve.
pub(super) fn run_rough_lp(
    problem: ColProblem,
    offset: f64,
    tolerance: f64,
    opts: &SolveOptions,
    deadline: Instant,
) -> Option<HighsRun> {
    let tuning = Tuning {
        presolve: true,
        lp_tolerance: Some(tolerance),
        detect_symmetry: true,
        objective_target: None,
    };
    run_highs(problem, None, offset, tuning, opts, deadline)
}

/// [`run_guarded`] for a neighbourhood's small MIP, started from `start`: no
/// presolve and no symmetry detection. On these sub-MIPs both cost more time than
/// they save, so without them more neighbourhoods are searched in the same time,
/// with the same savings each (docs/tuning.md).
pub(super) fn run_neighbourhood_mip(
    problem: ColProblem,
    start: Vec<f64>,
    opts: &SolveOptions,
    deadline: Instant,
) -> Option<HighsRun> {
    let tuning = Tuning {
        presolve: false,
        lp_tolerance: None,
        detect_symmetry: false,
        objective_target: None,
    };
    run_highs(problem, Some(start), 0.0, tuning, opts, deadline)
}

/// How a HiGHS run departs from its defaults.
struct Tuning {
    presolve: bool,
    /// Interior point's optimality tolerance for an LP.
    lp_tolerance: Option<f64>,
    /// Whether a MIP looks for symmetry.
    detect_symmetry: bool,
    /// A MIP stops at its first plan cheaper than this.
    objective_target: Option<f64>,
}

impl Tuning {
    /// [`run_guarded`]'s: HiGHS's defaults, presolve as given.
    fn guarded(presolve: bool) -> Self {
        Tuning {
            presolve,
            lp_tolerance: None,
            detect_symmetry: true,
            objective_target: None,
        }
    }
}

/// [`run_guarded`], tuned.
fn run_highs(
    problem: ColProblem,
    start: Option<Vec<f64>>,
    offset: f64,
    tuning: Tuning,
    opts: &SolveOptions,
    deadline: Instant,
) -> Option<HighsRun> {
    let left = deadline
        .checked_duration_since(Instant::now())?
        .checked_sub(FINISH_MARGIN)?;
    // Declared before the model so that they outlive it: the scheduler is released
    // after the model is gone, and `stop` outlives every call HiGHS makes to it.
    let _release = SchedulerRelease;
    let is_mip = start.is_some();
    let stop = StopWhen {
        deadline: Instant::now() + left,
        cancel: opts.cancel.clone(),
        root_reserve: stop::root_reserve(start.as_ref().map_or(0, Vec::len)),
    };
    let mut model = problem.try_optimise(Sense::Minimise).ok()?;
    configure(&mut model, &tuning, left, opts, is_mip);
    if is_mip && let Some(path) = &opts.write_model {
        write_model(&mut model, path);
    }
    // SAFETY: the pointer is the live model owned here; `stop` lives until this
    // function returns, after the model's last run.
    unsafe {
        highs_sys::Highs_changeObjectiveOffset(model.as_mut_ptr(), offset);
        stop::install(model.as_mut_ptr(), &stop);
    }
    if let Some(s) = &start {
        let _ = model.try_set_solution(Some(s), None, None, None);
    }
    let solved = model.try_solve().ok()?;
    read_run(&solved, offset, is_mip)
}

/// Sets a run's options: its time limit, threads, seed, gap, and `tuning`.
fn configure(
    model: &mut highs::Model,
    tuning: &Tuning,
    left: Duration,
    opts: &SolveOptions,
    is_mip: bool,
) {
    let _ = model.try_set_option("time_limit", left.as_secs_f64());
    let _ = model.try_set_option("threads", opts.threads.max(1) as i32);
    let _ = model.try_set_option("random_seed", (opts.seed as i32).rem_euclid(i32::MAX));
    let _ = model.try_set_option("mip_rel_gap", opts.gap);
    if !is_mip {
        // Interior point without crossover: fast on these models, and any
        // nonnegative prices give a valid Lagrangian bound.
        let _ = model.try_set_option("solver", "ipm");
        let _ = model.try_set_option("run_crossover", "off");
        if let Some(tolerance) = tuning.lp_tolerance {
            let _ = model.try_set_option("ipm_optimality_tolerance", tolerance);
        }
    }
    if !tuning.presolve {
        let _ = model.try_set_option("presolve", "off");
    }
    if !tuning.detect_symmetry {
        let _ = model.try_set_option("mip_detect_symmetry", false);
    }
    if let Some(target) = tuning.objective_target {
        let _ = model.try_set_option("objective_target", target);
    }
    if is_mip {
        // A MIP starts from a feasible plan: feasibility jump, which hunts for a
        // first one, only takes time.
        let _ = model.try_set_option("mip_heuristic_run_feasibility_jump", false);
    }
}

/// Writes the model HiGHS holds to `path` (format from the extension).
fn write_model(model: &mut highs::Model, path: &std::path::Path) {
    if let Ok(c_path) = std::ffi::CString::new(path.to_string_lossy().as_bytes()) {
        // SAFETY: the pointer is the live model; the path is a valid NUL-terminated
        // string for the duration of the call.
        unsafe { highs_sys::Highs_writeModel(model.as_mut_ptr(), c_path.as_ptr()) };
    }
}

/// What a finished run found, `None` without a feasible solution.
fn read_run(solved: &highs::SolvedModel, offset: f64, is_mip: bool) -> Option<HighsRun> {
    let status = solved.status();
    // Read the raw info value: the highs crate panics on the value HiGHS reports
    // when it never ran (e.g. an empty model).
    let has_solution = solved
        .int_info_value(c"primal_solution_status")
        .is_ok_and(|v| v == i64::from(highs_sys::kHighsSolutionStatusFeasible));
    if !has_solution {
        return None;
    }
    let sol = solved.get_solution();
    Some(HighsRun {
        status,
        objective: solved.objective_value() - offset,
        columns: sol.columns().to_vec(),
        row_duals: (!is_mip && status == HighsModelStatus::Optimal)
            .then(|| sol.dual_rows().to_vec()),
        dual_bound: solved
            .double_info_value(c"mip_dual_bound")
            .map_or(f64::NEG_INFINITY, |b| b - offset),
        gap: solved
            .double_info_value(c"mip_gap")
            .unwrap_or(f64::INFINITY),
        nodes: node_count(solved),
    })
}

/// Branch-and-bound nodes of a solved MIP (0 when HiGHS cannot say).
fn node_count(solved: &highs::SolvedModel) -> i64 {
    // HiGHS keeps this count as a 64-bit integer, which the highs crate's
    // int_info_value cannot read.
    let mut v: i64 = 0;
    // SAFETY: the pointer is the live solved model; the name is NUL-terminated and
    // `v` outlives the call.
    let status = unsafe {
        highs_sys::Highs_getInt64InfoValue(solved.as_ptr(), c"mip_node_count".as_ptr(), &mut v)
    };
    if status == highs_sys::kHighsStatusOk {
        v
    } else {
        0
    }
}
