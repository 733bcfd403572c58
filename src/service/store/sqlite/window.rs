//! A window's commit in the ledger: decisions, reservations and the watermark in one
//! transaction that re-checks stock and capacity as they are now.

use std::collections::HashSet;

use super::*;
use crate::service::store::commit::{Left, Settlement, settle};

impl Store {
    /// Commits a checked window plan in one ledger transaction ([`settle`] decides;
    /// this reads and writes the rows). One process holds the data directory, so
    /// the fence always holds here.
    pub fn commit_window(
        &mut self,
        window: &WindowRecord,
        network: &NetworkConfig,
        taken: &[PendingOrder],
        instance: &Instance,
        plan: &Plan,
    ) -> SqlResult<CommitCounts> {
        let tx = self.conn.transaction()?;
        let skus: Vec<&str> = instance.skus.iter().map(|s| s.id.as_str()).collect();
        let left = read_left(&tx, network, &skus)?;
        let already = decided_already(&tx, taken)?;
        let s = settle(left, window, network, taken, instance, plan, &already);
        write_settlement(&tx, &s)?;
        if let Some(id) = s.window_id {
            tx.execute(
                "INSERT INTO windows (id, opened_at, closed_at, decided_at, kpis)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id,
                    window.opened_at,
                    window.closed_at,
                    now(),
                    s.kpis(window).to_string()
                ],
            )?;
        }
        tx.commit()?;
        Ok(s.counts)
    }
}

/// Stock of the window's `skus` (all a plan can take; read through the sku index, so
/// the cost follows the window, not the catalog) and capacity, as they are in `tx`.
fn read_left(
    tx: &rusqlite::Transaction,
    network: &NetworkConfig,
    skus: &[&str],
) -> SqlResult<Left> {
    let mut available = HashMap::new();
    let list = serde_json::Value::from(skus.to_vec()).to_string();
    let mut stmt = tx.prepare_cached(
        "SELECT node, sku, on_hand - reserved - safety_stock FROM inventory
         WHERE sku IN (SELECT value FROM json_each(?1))",
    )?;
    for row in stmt.query_map(params![list], |r| {
        Ok(((r.get(0)?, r.get(1)?), r.get::<_, i64>(2)?))
    })? {
        let (k, v) = row?;
        available.insert(k, v);
    }
    let mut stmt = tx.prepare_cached("SELECT node, shipments, units FROM capacity_used")?;
    let used = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (r.get::<_, i64>(1)?, r.get::<_, i64>(2)?),
            ))
        })?
        .collect::<Result<HashMap<String, (i64, i64)>, _>>()?;
    Ok(Left::new(network, available, &used))
}

/// The orders of `taken` that have a decision already (cancelled while the window was
/// solving).
fn decided_already(
    tx: &rusqlite::Transaction,
    taken: &[PendingOrder],
) -> SqlResult<HashSet<String>> {
    let ids: Vec<&str> = taken.iter().map(|p| p.order.id.as_str()).collect();
    let list = serde_json::Value::from(ids).to_string();
    let mut stmt = tx
        .prepare_cached("SELECT id FROM decisions WHERE id IN (SELECT value FROM json_each(?1))")?;
    let rows = stmt.query_map(params![list], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// Writes a settlement's decisions, requeues, reservations, capacity and watermark.
fn write_settlement(tx: &rusqlite::Transaction, s: &Settlement) -> SqlResult<()> {
    let mut decide = tx.prepare_cached(
        "INSERT INTO decisions (id, status, window_id, decision, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut unqueue = tx.prepare_cached("DELETE FROM requeue WHERE id = ?1")?;
    for (p, st, d) in &s.decided {
        let text = serde_json::to_string(d).expect("decisions serialize");
        let body = p
            .requeued
            .then(|| serde_json::to_string(&p.order).expect("orders serialize"));
        decide.execute(params![p.order.id, st, s.window_id, text, body])?;
        if p.requeued {
            unqueue.execute(params![p.order.id])?;
        }
    }
    let mut requeue =
        tx.prepare_cached("INSERT OR IGNORE INTO requeue (id, seq, body) VALUES (?1, ?2, ?3)")?;
    for p in &s.requeued {
        let body = serde_json::to_string(&p.order).expect("orders serialize");
        requeue.execute(params![p.order.id, p.seq, body])?;
    }
    let mut take = tx.prepare_cached(
        "UPDATE inventory SET reserved = reserved + ?3 WHERE node = ?1 AND sku = ?2",
    )?;
    for ((node, sku), q) in &s.reserved {
        take.execute(params![node, sku, q])?;
    }
    let mut cap = tx.prepare_cached(
        "INSERT INTO capacity_used (node, shipments, units) VALUES (?1, ?2, ?3)
         ON CONFLICT (node) DO UPDATE SET shipments = shipments + excluded.shipments,
         units = units + excluded.units",
    )?;
    for (node, (sh, u)) in &s.used {
        cap.execute(params![node, sh, u])?;
    }
    if let Some(max_seq) = s.watermark {
        tx.execute(
            "UPDATE config SET value = CAST(MAX(CAST(value AS INTEGER), ?1) AS TEXT)
             WHERE key = 'watermark'",
            params![max_seq],
        )?;
    }
    Ok(())
}
