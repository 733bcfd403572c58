//! Inventory deltas on PostgreSQL: the rows they touch are locked (in (node, sku)
//! order) before they are read, so concurrent deltas and window commits never work
//! from a stale count.

use std::collections::BTreeSet;

use ::postgres::Transaction;

use super::*;

/// See [`Storage::apply_deltas`].
pub fn apply_deltas(
    tx: &mut Transaction,
    deltas: &[InventoryDelta],
    force: bool,
) -> Result<Vec<String>, StoreError> {
    let touched: BTreeSet<(&str, &str)> = deltas
        .iter()
        .map(|d| (d.node.as_str(), d.sku.as_str()))
        .collect();
    let nodes: Vec<&str> = touched.iter().map(|t| t.0).collect();
    let skus: Vec<&str> = touched.iter().map(|t| t.1).collect();
    tx.execute(
        "SELECT 1 FROM inventory i
         JOIN unnest($1::TEXT[], $2::TEXT[]) AS t(node, sku) ON i.node = t.node AND i.sku = t.sku
         ORDER BY i.node, i.sku FOR UPDATE OF i",
        &[&nodes, &skus],
    )?;
    for (i, d) in deltas.iter().enumerate() {
        apply_one(tx, i, d)?;
    }
    let mut short = Vec::new();
    let mut chosen: Vec<Holder> = Vec::new();
    for (node, sku) in &touched {
        let row = tx.query_one(
            "SELECT on_hand, reserved FROM inventory WHERE node = $1 AND sku = $2",
            &[node, sku],
        )?;
        let (on_hand, reserved): (i64, i64) = (row.get(0), row.get(1));
        if on_hand >= reserved {
            continue;
        }
        let mut need = reserved - on_hand;
        let mut ids = Vec::new();
        for (id, seq, at, body, d) in holders(tx, node, sku)? {
            if need <= 0 {
                break;
            }
            need -= d
                .shipments
                .iter()
                .filter(|s| s.node == *node)
                .flat_map(|s| &s.lines)
                .filter(|l| l.sku == *sku)
                .map(|l| i64::from(l.qty))
                .sum::<i64>();
            ids.push(id.clone());
            if !chosen.iter().any(|c| c.0 == id) {
                chosen.push((id, seq, at, body, d));
            }
        }
        short.push(format!(
            "{sku} at {node}: on_hand {on_hand} below reserved {reserved}; held by {}",
            ids.join(", ")
        ));
    }
    if short.is_empty() {
        return Ok(Vec::new());
    }
    if !force {
        return Err(StoreError::OverPromised(short));
    }
    for (id, seq, at, body, d) in &chosen {
        super::ledger::release_and_requeue(tx, id, *seq, *at, body, Some(d))?;
    }
    Ok(chosen.into_iter().map(|c| c.0).collect())
}

/// Applies delta `i` to its (locked) row.
fn apply_one(tx: &mut Transaction, i: usize, d: &InventoryDelta) -> Result<(), StoreError> {
    let row = tx.query_opt(
        "SELECT on_hand, reserved, safety_stock FROM inventory WHERE node = $1 AND sku = $2",
        &[&d.node, &d.sku],
    )?;
    let counts = row.map_or((0, 0, 0), |r| (r.get(0), r.get(1), r.get(2)));
    let (on_hand, reserved, safety) = d.applied(i, counts)?;
    tx.execute(
        "INSERT INTO inventory (node, sku, on_hand, reserved, safety_stock)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (node, sku) DO UPDATE SET on_hand = excluded.on_hand,
         reserved = excluded.reserved, safety_stock = excluded.safety_stock",
        &[&d.node, &d.sku, &on_hand, &reserved, &safety],
    )?;
    Ok(())
}

/// A decided order holding stock: id, sequence number, arrival time, body and decision.
type Holder = (String, i64, f64, String, Decision);

/// Decided orders that ship `sku` from `node`, the most recently decided first: id,
/// sequence number, arrival time, body and decision. Their order rows are locked, so
/// a cancel cannot release the same stock at the same time.
fn holders(tx: &mut Transaction, node: &str, sku: &str) -> DbResult<Vec<Holder>> {
    let rows = tx.query(
        "SELECT d.id, o.seq, o.received_at, COALESCE(d.body, o.body), d.decision
         FROM decisions d JOIN orders o ON o.id = d.id
         WHERE d.status IN ('allocated', 'partial') AND strpos(d.decision, $1) > 0
           AND strpos(d.decision, $2) > 0
         ORDER BY d.window_id DESC, o.seq DESC
         FOR UPDATE OF o",
        &[&node, &sku],
    )?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let d: Decision = serde_json::from_str(r.get::<_, &str>(4)).ok()?;
            let ships = d
                .shipments
                .iter()
                .any(|s| s.node == node && s.lines.iter().any(|l| l.sku == sku));
            ships.then(|| (r.get(0), r.get(1), r.get(2), r.get(3), d))
        })
        .collect())
}
