//! The MIP solver's tuning parameters, one struct with documented defaults. The
//! measurements that chose each default are in `docs/tuning.md`.

use serde::{Deserialize, Serialize};

/// Tuning parameters of the MIP solver. "Share" means a share of the whole budget
/// (`--time-limit`) unless said otherwise; "large" windows have more than
/// `lp_max_orders` orders and "huge" ones more than `huge_orders`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MipParams {
    /// Options per order in the first master besides the cheapest, by reduced cost.
    pub initial_options_per_order: usize,
    /// Reduced-cost room of the first master's extra options.
    pub initial_rc_room: f64,
    /// Share the Lagrangian ascent may use in windows up to `lp_max_orders`.
    pub ascent_share: f64,
    /// Orders above which a window is large: more ascent, fixed orders, neighbourhood search.
    pub lp_max_orders: usize,
    /// Share the ascent may use in large windows that run column generation.
    pub ascent_share_large: f64,
    /// Column generation runs only if this many rounds fit its share of the budget.
    pub min_lp_rounds: f64,
    /// `min_lp_rounds` for large windows.
    pub min_lp_rounds_large: f64,
    /// Share the ascent may use in large windows that skip column generation.
    pub ascent_share_without_lp: f64,
    /// Share of the budget by which the node LP over nearly tied options must finish.
    pub node_lp_share: f64,
    /// Interior point's optimality tolerance for the node LP.
    pub node_lp_tolerance: f64,
    /// Reduced-cost room of the options the node LP settles.
    pub node_lp_rc_room: f64,
    /// Predicted seconds per column of the node LP (skipped when it cannot finish).
    pub node_lp_seconds_per_column: f64,
    /// Orders above which a window skips column generation altogether.
    pub huge_orders: usize,
    /// Share the first ascent may use in huge windows.
    pub ascent_share_huge: f64,
    /// Slices in a row below `ascent_stall` after which the ascent stops.
    pub ascent_stalled_slices: usize,
    /// Relative bound rise below which an ascent slice counts as stalled.
    pub ascent_stall: f64,
    /// Ascent slices at most when column generation follows (small windows).
    pub ascent_slices_before_lp: usize,
    /// Subgradient steps between two global bounds.
    pub ascent_steps: usize,
    /// Options per order one pricing round adds, at most.
    pub added_per_order: usize,
    /// Predicted interior-point seconds per master column.
    pub lp_seconds_per_column: f64,
    /// Column generation rounds at most, before cuts.
    pub max_rounds: usize,
    /// Rounds of cut separation at most.
    pub cut_rounds: usize,
    /// Column generation rounds at most once cuts are in the master.
    pub max_rounds_with_cuts: usize,
    /// Round from which cuts are separated even before column generation converges.
    pub cuts_from_round: usize,
    /// Share by which cut separation must start.
    pub cut_start_share: f64,
    /// Share by which column generation with cuts must stop.
    pub cut_phase_share: f64,
    /// Share by which column generation must stop and the MIP start.
    pub cg_share: f64,
    /// Orders above which the first MIP fixes the orders the LP has decided.
    pub full_mip_orders: usize,
    /// LP value at which an option counts as decided.
    pub decided: f64,
    /// MIP passes at most: the LP master's, then one per reduced-cost room.
    pub mip_passes: usize,
    /// Share of the time left that the MIP over a large window's undecided orders may take.
    pub mip_share_left: f64,
    /// The first reduced-cost room, as a share of the bound.
    pub room_share: f64,
    /// `room_share` for a bound raised by cover cuts.
    pub room_share_with_cuts: f64,
    /// The least first reduced-cost room, in cost units.
    pub room_min: f64,
    /// The room up to the best plan goes first unless it is this many times the first room.
    pub quick_room_factor: f64,
    /// Options per order on average in a reduced-cost MIP (the room shrinks to fit).
    pub room_columns_per_order: usize,
    /// Options per order on average in the proof pass's reduced-cost MIP.
    pub proof_columns_per_order: usize,
    /// Widest room, as a share of the bound, that the proof pass tries to prove.
    pub proof_room_share: f64,
    /// Option shapes per order listed in the proof pass; more go to an arc block.
    pub shapes_per_order: usize,
    /// Option shapes per order listed in the first room (no arc blocks there).
    pub shapes_per_order_without_arcs: usize,
    /// Relax-and-cut keeps at most one cut per this many orders.
    pub max_orders_per_cut: usize,
    /// A MIP stops at a plan this share of the gap tolerance above the best bound.
    pub target_share_of_gap: f64,
}

impl Default for MipParams {
    fn default() -> Self {
        MipParams {
            initial_options_per_order: 1,
            initial_rc_room: 2.0,
            ascent_share: 0.1,
            lp_max_orders: 3000,
            ascent_share_large: 0.25,
            min_lp_rounds: 6.0,
            min_lp_rounds_large: 9.0,
            ascent_share_without_lp: 0.5,
            node_lp_share: 0.85,
            node_lp_tolerance: 1e-5,
            node_lp_rc_room: 0.2,
            node_lp_seconds_per_column: 25e-6,
            huge_orders: 30_000,
            ascent_share_huge: 0.35,
            ascent_stalled_slices: 3,
            ascent_stall: 1e-5,
            ascent_slices_before_lp: 6,
            ascent_steps: 300,
            added_per_order: 1,
            lp_seconds_per_column: 40e-6,
            max_rounds: 8,
            cut_rounds: 10,
            max_rounds_with_cuts: 24,
            cuts_from_round: 4,
            cut_start_share: 0.5,
            cut_phase_share: 0.6,
            cg_share: 0.7,
            full_mip_orders: 3000,
            decided: 0.99,
            mip_passes: 3,
            mip_share_left: 0.6,
            room_share: 4e-4,
            room_share_with_cuts: 1e-4,
            room_min: 1.0,
            quick_room_factor: 4.0,
            room_columns_per_order: 10,
            proof_columns_per_order: 40,
            proof_room_share: 0.01,
            shapes_per_order: 200,
            shapes_per_order_without_arcs: 2000,
            max_orders_per_cut: 5,
            target_share_of_gap: 0.9,
        }
    }
}

impl MipParams {
    /// Sets the parameter `name` (a field name) from its text `value`, as
    /// `compare --sweep mip.NAME=…` does. Errors name the parameter.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let mut fields = serde_json::to_value(&*self).map_err(|e| e.to_string())?;
        let slot = fields
            .get_mut(name)
            .ok_or_else(|| format!("unknown MIP parameter `{name}`"))?;
        let parsed: serde_json::Value = if slot.is_u64() {
            value
                .parse::<u64>()
                .map(serde_json::Value::from)
                .map_err(|_| format!("mip.{name} needs a whole number, got `{value}`"))?
        } else {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(serde_json::Value::from)
                .ok_or_else(|| format!("mip.{name} needs a number, got `{value}`"))?
        };
        *slot = parsed;
        *self = serde_json::from_value(fields).map_err(|e| format!("mip.{name}: {e}"))?;
        Ok(())
    }

    /// The names of every parameter, in alphabetical order.
    pub fn names() -> Vec<String> {
        match serde_json::to_value(MipParams::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}
