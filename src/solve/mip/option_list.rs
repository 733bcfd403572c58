//! The growing list of fulfillment options: grouping by order, and turning the
//! bound's best responses into real options that join the list.

use super::bound;
use super::options::{self, FulfillmentOption};
use super::primal;
use crate::cost::Network;
use crate::solve::Allocation;

/// Option indices of each order, cheapest first.
pub(super) fn options_by_order(net: &Network, options: &[FulfillmentOption]) -> Vec<Vec<usize>> {
    let mut by_order: Vec<Vec<usize>> = vec![Vec::new(); net.order_count()];
    for (j, o) in options.iter().enumerate() {
        by_order[o.order].push(j);
    }
    for ids in &mut by_order {
        ids.sort_by(|&a, &b| options[a].saving_cost.total_cmp(&options[b].saving_cost));
    }
    by_order
}

/// Each order's allocations, in plan order.
pub(super) fn group_by_order(net: &Network, allocs: &[Allocation]) -> Vec<Vec<Allocation>> {
    let mut by_order: Vec<Vec<Allocation>> = vec![Vec::new(); net.order_count()];
    for a in allocs {
        by_order[a.order].push(a.clone());
    }
    by_order
}

/// Turns best responses into real options (exact cost, cheapest service per
/// shipment) and appends those that are new, save money, and pass `accept` (a
/// reduced-cost test). Returns the indices of the appended options.
pub(super) fn add_responses(
    net: &Network,
    responses: &[bound::Response],
    options: &mut Vec<FulfillmentOption>,
    by_order: &mut [Vec<usize>],
    accept: &dyn Fn(&FulfillmentOption) -> bool,
) -> Vec<usize> {
    let mut appended = Vec::new();
    for (order, response) in responses.iter().enumerate() {
        let Some(option) = real_option(net, order, response) else {
            continue;
        };
        if by_order[order]
            .iter()
            .any(|&j| options[j].shipments == option.shipments)
        {
            continue;
        }
        if option.saving_cost < 0.0 && accept(&option) {
            by_order[order].push(options.len());
            appended.push(options.len());
            options.push(option);
        }
    }
    appended
}

/// The real option of a shape (each shipment with its cheapest allowed service,
/// priced exactly), if every shipment has a service.
pub(super) fn real_option(
    net: &Network,
    order: usize,
    shape: &bound::Response,
) -> Option<FulfillmentOption> {
    let shipments: Option<Vec<Allocation>> = shape
        .iter()
        .map(|(node, lines)| {
            (
                *node,
                lines
                    .iter()
                    .copied()
                    .filter(|&(_, q)| q > 0)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(node, lines)| {
            let zone = net.lane(order, node).zone;
            let units: u32 = lines.iter().map(|&(_, q)| q).sum();
            let weight = net.weight(lines.iter().copied());
            net.best_service(order, node, zone, units, weight)
                .map(|(service, _)| Allocation {
                    order,
                    node,
                    service,
                    lines,
                })
        })
        .collect();
    let shipments = shipments.filter(|s| !s.is_empty())?;
    Some(FulfillmentOption {
        order,
        saving_cost: options::option_cost(net, order, &shipments),
        shipments,
    })
}

/// An option's shipments in node order: options are the same when their shipments
/// are, in any order.
pub(super) fn shipments_key(option: &FulfillmentOption) -> Vec<Allocation> {
    let mut key = option.shipments.clone();
    key.sort_by_key(|a| a.node);
    key
}

/// The option of each order whose shipments are `by_start`'s (`None`: nothing
/// shipped).
pub(super) fn choice_of(
    options: &[FulfillmentOption],
    by_order: &[Vec<usize>],
    by_start: &[Vec<Allocation>],
) -> primal::Choice {
    by_order
        .iter()
        .zip(by_start)
        .map(|(ids, start)| {
            ids.iter()
                .copied()
                .find(|&j| !start.is_empty() && options[j].shipments == *start)
        })
        .collect()
}
