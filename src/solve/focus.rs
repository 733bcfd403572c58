//! Cutting a window down to what its orders can touch. Stock constraints are per
//! (node, sku) and capacities per node, so the skus no order names, and their stock
//! rows, change nothing in any plan; on a wide catalog they are most of the document
//! (200,000 skus and 4 million rows against the few thousand skus a window names).

use std::collections::HashSet;

use crate::domain::Instance;

/// The instance restricted to the skus its orders name and their inventory rows, when
/// that leaves out at least half of the rows; `None` when it would not pay (the
/// solver then works on the instance as it is). Nodes, costs, the rate card and the
/// orders are unchanged, and skus and rows keep their order.
pub fn ordered_skus_only(instance: &Instance) -> Option<Instance> {
    let named: HashSet<&str> = instance
        .orders
        .iter()
        .flat_map(|o| o.lines.iter().map(|l| l.sku.as_str()))
        .collect();
    let kept = instance
        .inventory
        .iter()
        .filter(|r| named.contains(r.sku.as_str()))
        .count();
    if kept * 2 > instance.inventory.len() {
        return None;
    }
    Some(Instance {
        format: instance.format.clone(),
        name: instance.name.clone(),
        nodes: instance.nodes.clone(),
        skus: instance
            .skus
            .iter()
            .filter(|s| named.contains(s.id.as_str()))
            .cloned()
            .collect(),
        inventory: instance
            .inventory
            .iter()
            .filter(|r| named.contains(r.sku.as_str()))
            .cloned()
            .collect(),
        rate_card: instance.rate_card.clone(),
        costs: instance.costs.clone(),
        orders: instance.orders.clone(),
    })
}
