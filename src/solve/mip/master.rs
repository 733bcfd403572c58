//! The warm-started master LP of column generation: one HiGHS instance kept alive
//! between rounds, to which new columns and cut rows are added and which the
//! simplex method re-solves from the last basis.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::cuts::{Cut, counting};
use super::model::HighsRun;
use super::options::{FulfillmentOption, Resource};
use super::prices::RowIndex;
use super::stop::{self, SchedulerRelease, StopWhen};
use highs::HighsModelStatus;

/// HiGHS `simplex_strategy` values: dual and primal simplex.
const SIMPLEX_DUAL: i32 = 1;
/// See [`SIMPLEX_DUAL`].
const SIMPLEX_PRIMAL: i32 = 4;

/// A master LP kept alive in HiGHS between column-generation rounds: new columns
/// and cut rows join it, and the simplex method restarts from the last basis, far
/// quicker than a cold interior-point solve every round (docs/tuning.md).
pub(super) struct LpSession {
    highs: *mut std::ffi::c_void,
    orders: usize,
    /// Number of resource rows.
    resources: usize,
    row_index: RowIndex,
    /// The option ids of the columns, in column order.
    pub option_ids: Vec<usize>,
    /// Per option id: whether it is a column.
    in_master: Vec<bool>,
    /// The cuts that are rows, in row order after the resource rows.
    cuts: Vec<Cut>,
    /// Per order: the positions in `cuts` of the cuts whose coefficients it may have.
    cuts_of_order: HashMap<usize, Vec<usize>>,
    /// How many cuts were rows at the last solve.
    cuts_at_last_solve: usize,
    /// When the running solve must stop: HiGHS's interrupt callback reads it
    /// (boxed, at a fixed address, freed in `Drop` after the instance).
    stop: *mut StopWhen,
}

impl LpSession {
    /// An empty master over the order rows and `rows`; its solves stop at their
    /// deadline or once `cancel` is raised.
    pub(super) fn new(
        orders: usize,
        rows: &[(Resource, f64)],
        cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    ) -> Self {
        let stop = Box::into_raw(Box::new(StopWhen {
            deadline: Instant::now(),
            cancel,
            root_reserve: Duration::ZERO,
        }));
        // SAFETY: Highs_create returns a fresh instance owned by the session (freed in
        // Drop); option names and values are NUL-terminated literals; each row is
        // added with no entries.
        let highs = unsafe {
            let h = highs_sys::Highs_create();
            highs_sys::Highs_setBoolOptionValue(h, c"output_flag".as_ptr(), 0);
            highs_sys::Highs_setStringOptionValue(h, c"solver".as_ptr(), c"simplex".as_ptr());
            highs_sys::Highs_setStringOptionValue(h, c"presolve".as_ptr(), c"off".as_ptr());
            highs_sys::Highs_setIntOptionValue(h, c"threads".as_ptr(), 1);
            for _ in 0..orders {
                highs_sys::Highs_addRow(
                    h,
                    f64::NEG_INFINITY,
                    1.0,
                    0,
                    std::ptr::null(),
                    std::ptr::null(),
                );
            }
            for &(_, cap) in rows {
                highs_sys::Highs_addRow(
                    h,
                    f64::NEG_INFINITY,
                    cap,
                    0,
                    std::ptr::null(),
                    std::ptr::null(),
                );
            }
            // SAFETY: `stop` is freed in Drop, after the instance.
            stop::install(h, stop);
            h
        };
        LpSession {
            highs,
            orders,
            resources: rows.len(),
            row_index: RowIndex::new(rows),
            option_ids: Vec::new(),
            in_master: Vec::new(),
            cuts: Vec::new(),
            cuts_of_order: HashMap::new(),
            cuts_at_last_solve: 0,
            stop,
        }
    }

    /// Adds the cuts of `cuts` beyond those already rows, then the options marked in
    /// `included` that are not yet columns.
    pub(super) fn sync(&mut self, options: &[FulfillmentOption], included: &[bool], cuts: &[Cut]) {
        let first_cut_row = self.orders + self.resources;
        for cut in &cuts[self.cuts.len()..] {
            let (index, value): (Vec<i32>, Vec<f64>) = self
                .option_ids
                .iter()
                .enumerate()
                .map(|(col, &j)| (hi(col), f64::from(cut.coefficient(&options[j]))))
                .filter(|&(_, a)| a > 0.0)
                .unzip();
            // SAFETY: the live instance; `index` and `value` hold `len` entries each.
            unsafe {
                highs_sys::Highs_addRow(
                    self.highs,
                    f64::NEG_INFINITY,
                    cut.rhs() as f64,
                    hi(index.len()),
                    index.as_ptr(),
                    value.as_ptr(),
                )
            };
            for k in cut.orders() {
                self.cuts_of_order
                    .entry(k)
                    .or_default()
                    .push(self.cuts.len());
            }
            self.cuts.push(cut.clone());
        }
        self.in_master.resize(options.len(), false);
        for (j, option) in options.iter().enumerate() {
            if !included[j] || self.in_master[j] {
                continue;
            }
            let mut index = vec![hi(option.order)];
            let mut value = vec![1.0];
            for (r, q) in option.usage() {
                if let Some(i) = self.row_index.get(r) {
                    index.push(hi(self.orders + i));
                    value.push(q);
                }
            }
            for (c, a) in counting(&self.cuts, &self.cuts_of_order, option) {
                index.push(hi(first_cut_row + c));
                value.push(f64::from(a));
            }
            // SAFETY: the live instance; `index` and `value` hold `len` entries each,
            // every index an existing row.
            unsafe {
                highs_sys::Highs_addCol(
                    self.highs,
                    option.saving_cost,
                    0.0,
                    f64::INFINITY,
                    hi(index.len()),
                    index.as_ptr(),
                    value.as_ptr(),
                )
            };
            self.in_master[j] = true;
            self.option_ids.push(j);
        }
    }

    /// Solves the master from the last basis; `None` past the deadline or unless
    /// optimal.
    pub(super) fn solve(&mut self, deadline: Instant) -> Option<HighsRun> {
        let left = deadline.checked_duration_since(Instant::now())?;
        let rows = self.orders + self.resources + self.cuts.len();
        let _release = SchedulerRelease;
        let mut columns = vec![0.0; self.option_ids.len()];
        let mut row_duals = vec![0.0; rows];
        // SAFETY: the live instance; the buffers hold one entry per column and row;
        // `stop` is the session's own, not read while it is written here.
        let objective = unsafe {
            (*self.stop).deadline = deadline;
            highs_sys::Highs_setDoubleOptionValue(
                self.highs,
                c"time_limit".as_ptr(),
                left.as_secs_f64(),
            );
            highs_sys::Highs_zeroAllClocks(self.highs);
            // New columns leave the last basis primal feasible, new cut rows leave it
            // dual feasible: primal simplex for the one, dual for the other; each
            // restarts from that basis faster than the other method (docs/tuning.md).
            let strategy = if self.cuts.len() > self.cuts_at_last_solve {
                SIMPLEX_DUAL
            } else {
                SIMPLEX_PRIMAL
            };
            highs_sys::Highs_setIntOptionValue(self.highs, c"simplex_strategy".as_ptr(), strategy);
            self.cuts_at_last_solve = self.cuts.len();
            highs_sys::Highs_run(self.highs);
            let status = highs_sys::Highs_getModelStatus(self.highs);
            if status != highs_sys::kHighsModelStatusOptimal {
                return None;
            }
            highs_sys::Highs_getSolution(
                self.highs,
                columns.as_mut_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                row_duals.as_mut_ptr(),
            );
            highs_sys::Highs_getObjectiveValue(self.highs)
        };
        Some(HighsRun {
            status: HighsModelStatus::Optimal,
            objective,
            columns,
            row_duals: Some(row_duals),
            dual_bound: f64::NEG_INFINITY,
            gap: f64::INFINITY,
            nodes: 0,
        })
    }
}

impl Drop for LpSession {
    fn drop(&mut self) {
        // SAFETY: the instance and `stop` were created in `new` and are freed once,
        // here, the instance first (it holds the pointer to `stop`).
        unsafe {
            highs_sys::Highs_destroy(self.highs);
            drop(Box::from_raw(self.stop));
        }
    }
}

/// A row or column position as HiGHS's integer.
fn hi(i: usize) -> i32 {
    i32::try_from(i).expect("fewer than 2^31 rows and columns")
}
