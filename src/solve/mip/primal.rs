//! Plans as one option per order, and booking options against stock and capacity.

use super::options::FulfillmentOption;
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

/// The allocations of a choice.
pub(super) fn allocations(options: &[FulfillmentOption], choice: &Choice) -> Vec<Allocation> {
    choice
        .iter()
        .flatten()
        .flat_map(|&j| options[j].shipments.iter().cloned())
        .collect()
}
