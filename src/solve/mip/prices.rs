//! Prices of the resource rows, and the dense resource → row index they are read
//! through.

use super::options::{FulfillmentOption, Resource};

/// Resource → row position, as a dense table over the nodes and skus the rows
/// mention. (Lagrangian bounds look up every order × node × sku, and a hash lookup
/// per price took a sizeable share of a large window's solve; docs/tuning.md.)
#[derive(Debug, Clone, Default)]
pub(super) struct RowIndex {
    nodes: usize,
    skus: usize,
    /// Row position + 1 per resource slot (0: no row): stock at `node * skus + sku`,
    /// then each node's shipments, then each node's units.
    slot: Vec<u32>,
}

impl RowIndex {
    /// The index of `rows`.
    pub(super) fn new(rows: &[(Resource, f64)]) -> Self {
        let (mut nodes, mut skus) = (0, 0);
        for &(r, _) in rows {
            match r {
                Resource::Stock(n, s) => {
                    nodes = nodes.max(n + 1);
                    skus = skus.max(s + 1);
                }
                Resource::Shipments(n) | Resource::Units(n) => nodes = nodes.max(n + 1),
            }
        }
        let mut index = RowIndex {
            nodes,
            skus,
            slot: vec![0; nodes * skus + 2 * nodes],
        };
        for (i, &(r, _)) in rows.iter().enumerate() {
            let at = index.slot_of(r).expect("within the table");
            index.slot[at] = u32::try_from(i + 1).expect("fewer than 2^32 rows");
        }
        index
    }

    fn slot_of(&self, r: Resource) -> Option<usize> {
        match r {
            Resource::Stock(n, s) => (n < self.nodes && s < self.skus).then(|| n * self.skus + s),
            Resource::Shipments(n) => (n < self.nodes).then(|| self.nodes * self.skus + n),
            Resource::Units(n) => (n < self.nodes).then(|| self.nodes * self.skus + self.nodes + n),
        }
    }

    /// The row position of `r`, if it has a row.
    pub(super) fn get(&self, r: Resource) -> Option<usize> {
        let at = self.slot_of(r)?;
        self.slot[at].checked_sub(1).map(|i| i as usize)
    }
}

/// Nonnegative prices of the resource rows (0 for resources without a row).
#[derive(Clone)]
pub(super) struct Prices {
    /// The priced rows with their capacity.
    pub rows: Vec<(Resource, f64)>,
    /// Resource → position in `rows`.
    pub row_index: RowIndex,
    /// Price per row.
    pub values: Vec<f64>,
}

impl Prices {
    /// All rows at price zero.
    pub(super) fn zero(rows: &[(Resource, f64)]) -> Self {
        Prices {
            values: vec![0.0; rows.len()],
            row_index: RowIndex::new(rows),
            rows: rows.to_vec(),
        }
    }

    /// Price of one unit of a resource.
    pub(super) fn get(&self, r: Resource) -> f64 {
        self.row_index.get(r).map_or(0.0, |i| self.values[i])
    }

    /// Σ price × capacity over the rows.
    pub(super) fn cost_of_capacity(&self) -> f64 {
        self.rows
            .iter()
            .zip(&self.values)
            .map(|(&(_, cap), p)| p * cap)
            .sum()
    }

    /// Reduced cost of an option: its cost plus the price of what it uses, against
    /// its order's own price `order_price` (≥ 0; the option's share of the order row).
    pub(super) fn reduced_cost(&self, option: &FulfillmentOption, order_price: f64) -> f64 {
        let resources: f64 = option
            .usage()
            .into_iter()
            .map(|(r, q)| self.get(r) * q)
            .sum();
        option.saving_cost + resources + order_price
    }
}
