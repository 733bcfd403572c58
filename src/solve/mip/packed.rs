//! Options packed into flat arrays for the inner loops of local search.
//!
//! A [`FulfillmentOption`] keeps its shipments, and each shipment its lines, in
//! vectors of their own: checking whether an option fits follows two pointers and
//! sums a shipment's units every time. Ejection chains run that check millions of
//! times, so they read options from here instead: an option's shipments and their
//! lines are contiguous slices, each line already keyed by its stock slot.

use std::ops::Range;

use super::options::FulfillmentOption;
use crate::cost::Network;
use crate::solve::Usage;

/// Every option's shipments and lines in flat arrays, indexed like the options.
pub(super) struct Packed {
    /// Option `j`'s shipments are `first_shipment[j]..first_shipment[j + 1]`.
    first_shipment: Vec<u32>,
    /// Per shipment: the node it ships from.
    node: Vec<u32>,
    /// Per shipment: its units.
    units: Vec<u32>,
    /// Shipment `k`'s lines are `first_line[k]..first_line[k + 1]`.
    first_line: Vec<u32>,
    /// Per line: its stock slot ([`Network::stock_slot`], the layout of [`Usage::stock`]).
    slot: Vec<u32>,
    /// Per line: its quantity.
    qty: Vec<u32>,
    /// Per option: its cost (less the unfilled penalty saved).
    pub cost: Vec<f64>,
}

/// Index into the packed arrays (they stay far below `u32::MAX` entries: 100,000
/// orders hold a few million options).
fn index(i: usize) -> u32 {
    u32::try_from(i).expect("packed options fit u32 indices")
}

impl Packed {
    /// Packs `options`.
    pub fn new(net: &Network, options: &[FulfillmentOption]) -> Packed {
        let shipments: usize = options.iter().map(|o| o.shipments.len()).sum();
        let mut packed = Packed {
            first_shipment: Vec::with_capacity(options.len() + 1),
            node: Vec::with_capacity(shipments),
            units: Vec::with_capacity(shipments),
            first_line: Vec::with_capacity(shipments + 1),
            slot: Vec::new(),
            qty: Vec::new(),
            cost: options.iter().map(|o| o.saving_cost).collect(),
        };
        packed.first_shipment.push(0);
        packed.first_line.push(0);
        for option in options {
            for a in &option.shipments {
                packed.node.push(index(a.node));
                packed.units.push(a.units());
                for &(sku, q) in &a.lines {
                    let slot = net
                        .stock_slot(a.node, sku)
                        .expect("options ship only (node, sku) pairs with stock");
                    packed.slot.push(index(slot));
                    packed.qty.push(q);
                }
                packed.first_line.push(index(packed.slot.len()));
            }
            packed.first_shipment.push(index(packed.node.len()));
        }
        packed
    }

    /// Option `j`'s shipments (indices into the per-shipment arrays).
    pub fn shipments(&self, j: usize) -> Range<usize> {
        self.first_shipment[j] as usize..self.first_shipment[j + 1] as usize
    }

    /// The node shipment `k` ships from.
    pub fn node(&self, k: usize) -> usize {
        self.node[k] as usize
    }

    /// The units of shipment `k`.
    pub fn units(&self, k: usize) -> i64 {
        i64::from(self.units[k])
    }

    /// Shipment `k`'s lines as (stock slot, quantity).
    pub fn lines(&self, k: usize) -> impl Iterator<Item = (usize, i64)> + '_ {
        let r = self.first_line[k] as usize..self.first_line[k + 1] as usize;
        self.slot[r.clone()]
            .iter()
            .zip(&self.qty[r])
            .map(|(&s, &q)| (s as usize, i64::from(q)))
    }

    /// Whether option `j` fits the stock and capacity left.
    pub fn fits(&self, usage: &Usage, j: usize) -> bool {
        // Shipments of one option come from distinct nodes, so each check is per
        // shipment.
        self.shipments(j).all(|k| {
            let n = self.node(k);
            usage.shipments[n] >= 1
                && usage.units[n] >= self.units(k)
                && self.lines(k).all(|(s, q)| usage.stock[s] >= q)
        })
    }

    /// Books option `j`'s shipments.
    pub fn take(&self, usage: &mut Usage, j: usize) {
        for k in self.shipments(j) {
            let n = self.node(k);
            usage.shipments[n] -= 1;
            usage.units[n] -= self.units(k);
            for (s, q) in self.lines(k) {
                usage.stock[s] -= q;
            }
        }
    }

    /// Returns option `j`'s shipments booked by [`Packed::take`].
    pub fn give_back(&self, usage: &mut Usage, j: usize) {
        for k in self.shipments(j) {
            let n = self.node(k);
            usage.shipments[n] += 1;
            usage.units[n] += self.units(k);
            for (s, q) in self.lines(k) {
                usage.stock[s] += q;
            }
        }
    }

    /// Whether option `j` ships from `node`.
    pub fn ships_from(&self, j: usize, node: usize) -> bool {
        self.shipments(j).any(|k| self.node(k) == node)
    }

    /// Whether option `j` uses stock slot `slot`.
    pub fn uses_slot(&self, j: usize, slot: usize) -> bool {
        self.shipments(j)
            .any(|k| self.lines(k).any(|(s, _)| s == slot))
    }
}
