//! What the MIP solver did, typed: each phase's figures and times. Serialised into
//! the plan's `stats` object under the keys `docs/solver.md` lists (fields left
//! unset by the window's path are left out; pass `i`'s figures are `mip{i}_…`).

use serde::Serialize;
use serde::ser::SerializeMap;

/// The MIP solver's statistics.
#[derive(Debug, Default, Clone, Serialize)]
pub struct MipStats {
    /// Why the plan is the greedy fallback, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// Why no MIP ran, when the budget ran out before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mip_status: Option<String>,
    /// The plan's relative gap to its lower bound.
    pub gap: Option<f64>,

    /// The best greedy plan's objective.
    pub incumbent_objective: f64,
    /// Seconds for the greedy policies.
    pub greedy_seconds: f64,
    /// Seconds for the option enumeration.
    pub enumeration_seconds: f64,
    /// Options enumerated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<usize>,
    /// Resource rows that can bind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_rows: Option<usize>,
    /// Seconds from the start to the end of the option list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enumerate_seconds: Option<f64>,

    /// Seconds for the per-node terms of the bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_terms_seconds: Option<f64>,
    /// The bound at zero prices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpriced_bound: Option<f64>,
    /// Seconds for the bound at zero prices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpriced_bound_seconds: Option<f64>,
    /// The ascent's value over its pool, at its last slice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ascent_pool_value: Option<f64>,
    /// Relax-and-cut cuts in the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ascent_cuts: Option<usize>,
    /// Ascent slices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ascent_slices: Option<usize>,
    /// Subgradient steps in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ascent_steps: Option<usize>,
    /// Seconds in subgradient steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ascent_step_seconds: Option<f64>,
    /// Seconds in the ascent's global bounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ascent_bound_seconds: Option<f64>,
    /// The best bound after the ascent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ascent_bound: Option<f64>,
    /// Seconds for the ascent phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ascent_seconds: Option<f64>,

    /// Why column generation was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cg_skipped: Option<String>,
    /// Steps of the ascent beside the node LP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_lp_ascent_steps: Option<usize>,
    /// The best bound the ascent beside the node LP found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_lp_ascent_bound: Option<f64>,
    /// The node LP's value (stock priced, so no bound).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_lp_objective: Option<f64>,
    /// The last master LP's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lp_objective: Option<f64>,
    /// The bound before the first cuts joined the master.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_before_cuts: Option<f64>,
    /// Rounds that added cuts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut_rounds: Option<usize>,
    /// Cuts in the master.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cuts: Option<usize>,
    /// Column generation rounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cg_rounds: Option<usize>,
    /// Seconds solving master LPs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cg_lp_seconds: Option<f64>,
    /// Seconds pricing options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cg_pricing_seconds: Option<f64>,
    /// Seconds separating cuts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cg_separation_seconds: Option<f64>,
    /// Columns in the last master.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_columns: Option<usize>,
    /// The best Lagrangian bound after column generation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lagrangian_bound: Option<f64>,
    /// The most valuable binding resources (see [`ShadowPrice`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow_prices: Option<Vec<ShadowPrice>>,
    /// Seconds for the column generation phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_generation_seconds: Option<f64>,

    /// Saving of the vote rounding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vote_rounded_saving: Option<f64>,
    /// Saving of the price-directed plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_directed_saving: Option<f64>,
    /// The price-directed plan's objective.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_directed_objective: Option<f64>,
    /// The LP rounding's objective.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounded_objective: Option<f64>,
    /// Seconds for the rounding phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding_seconds: Option<f64>,

    /// Orders the first MIP kept fixed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_orders: Option<usize>,
    /// Each MIP pass's figures, as `mip{i}_…` keys.
    #[serde(flatten)]
    pub passes: Passes,
    /// Seconds for the proof phase (every MIP pass).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mip_seconds: Option<f64>,

    /// Seconds of the first ejection chains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eject_seconds: Option<f64>,
    /// Moves the ejection chains made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eject_moves: Option<usize>,
    /// Orders the ejection chains evicted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eject_evicted: Option<usize>,
    /// What the ejection chains saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eject_saved: Option<f64>,
    /// Seconds of the second ejection chains, after neighbourhood search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eject_again_seconds: Option<f64>,
    /// What the second ejection chains saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eject_again_saved: Option<f64>,
    /// Neighbourhoods searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lns_neighbourhoods: Option<usize>,
    /// Neighbourhoods that improved the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lns_improved: Option<usize>,
    /// What neighbourhood search saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lns_saved: Option<f64>,
    /// Neighbourhoods seeded by the bound's costliest orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lns_seeded: Option<usize>,
    /// Rounds of neighbourhood search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lns_rounds: Option<usize>,
    /// Slices of the spare-core ascent during local search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spare_ascent_slices: Option<usize>,
    /// Steps of the spare-core ascent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spare_ascent_steps: Option<usize>,
    /// The best bound the spare-core ascent found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spare_ascent_bound: Option<f64>,
    /// How far local search ran past its stop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_search_overrun_seconds: Option<f64>,
    /// Seconds turning the final choice into a plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_assembly_seconds: Option<f64>,
    /// Seconds kept back for the final assembly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assembly_kept_back_seconds: Option<f64>,
    /// Seconds for the local-search phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_search_seconds: Option<f64>,
}

impl MipStats {
    /// Pass `i`'s figures (created when first named).
    pub fn pass(&mut self, i: usize) -> &mut PassStats {
        if self.passes.0.len() <= i {
            self.passes.0.resize_with(i + 1, PassStats::default);
        }
        &mut self.passes.0[i]
    }

    /// As the plan's `stats` object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// One binding resource's dual price: what one more unit of it would save in the
/// LP relaxation.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowPrice {
    /// `stock`, `shipments` or `units`.
    pub resource: &'static str,
    /// The node's id.
    pub node: String,
    /// The sku's id (stock only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The price.
    pub price: f64,
}

/// One MIP pass: its reduced-cost room (room passes), its MIP and its outcome.
#[derive(Debug, Default, Clone, Serialize)]
pub struct PassStats {
    /// What the ejection chains before it saved.
    pub eject_before_saved: Option<f64>,
    /// The reduced-cost room (room passes).
    pub room: Option<f64>,
    /// Whether the room's list was complete.
    pub room_complete: Option<bool>,
    /// Options the room listing added.
    pub room_added: Option<usize>,
    /// Seconds listing the room.
    pub room_seconds: Option<f64>,
    /// Options dropped as dominated.
    pub room_dominated: Option<usize>,
    /// Orders modelled by arc blocks.
    pub arc_orders: Option<usize>,
    /// Option columns in the MIP.
    pub columns: Option<usize>,
    /// HiGHS's seconds.
    pub seconds: Option<f64>,
    /// HiGHS's model status.
    pub status: Option<String>,
    /// Branch-and-bound nodes.
    pub nodes: Option<i64>,
    /// HiGHS's gap on the restricted MIP.
    pub gap_restricted: Option<f64>,
    /// The plan's objective.
    pub objective: Option<f64>,
}

/// The MIP passes, serialised as flat `mip{i}_…` keys (and `eject_before_mip{i}_saved`).
#[derive(Debug, Default, Clone)]
pub struct Passes(pub Vec<PassStats>);

impl Serialize for Passes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (i, pass) in self.0.iter().enumerate() {
            let serde_json::Value::Object(fields) =
                serde_json::to_value(pass).map_err(serde::ser::Error::custom)?
            else {
                continue;
            };
            for (name, value) in fields {
                if value.is_null() {
                    continue;
                }
                let key = match name.as_str() {
                    "eject_before_saved" => format!("eject_before_mip{i}_saved"),
                    other => format!("mip{i}_{other}"),
                };
                map.serialize_entry(&key, &value)?;
            }
        }
        map.end()
    }
}
