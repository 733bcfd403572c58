//! Inventory and node capacity in the ledger: rows, deltas, reservations checks.

use super::*;

impl Store {
    /// Every inventory row.
    pub fn inventory(&self) -> SqlResult<Vec<InventoryRow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT node, sku, on_hand, reserved, safety_stock FROM inventory")?;
        let rows = stmt.query_map([], row_to_inventory)?;
        rows.collect()
    }

    /// Inventory rows of the given skus (found by the sku index, so the cost follows
    /// the skus asked for, not the catalog). Counts are clamped to 32 bits as in
    /// [`Store::inventory`].
    pub fn inventory_of_skus<'a>(
        &self,
        skus: impl IntoIterator<Item = &'a str>,
    ) -> SqlResult<Vec<InventoryRow>> {
        let list = serde_json::Value::from(skus.into_iter().collect::<Vec<_>>()).to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT node, sku, on_hand, reserved, safety_stock FROM inventory
             WHERE sku IN (SELECT value FROM json_each(?1))",
        )?;
        let rows = stmt.query_map(params![list], row_to_inventory)?;
        rows.collect()
    }

    /// Inventory rows of one sku, as stored (64-bit counts).
    pub fn inventory_of(&self, sku: &str) -> SqlResult<Vec<StockLevel>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT node, sku, on_hand, reserved, safety_stock FROM inventory
             WHERE sku = ?1 ORDER BY node",
        )?;
        let rows = stmt.query_map(params![sku], |r| {
            Ok(StockLevel {
                node: r.get(0)?,
                sku: r.get(1)?,
                on_hand: r.get(2)?,
                reserved: r.get(3)?,
                safety_stock: r.get(4)?,
            })
        })?;
        rows.collect()
    }

    /// Sets on_hand and safety stock of the given rows (a full snapshot also zeroes
    /// on_hand of rows it does not name). Reservations are the ledger's and stay.
    pub fn set_inventory(&mut self, rows: &[InventoryRow], full: bool) -> SqlResult<()> {
        let tx = self.conn.transaction()?;
        if full {
            tx.execute("UPDATE inventory SET on_hand = 0", [])?;
        }
        {
            let mut up = tx.prepare_cached(
                "INSERT INTO inventory (node, sku, on_hand, reserved, safety_stock)
                 VALUES (?1, ?2, ?3, 0, ?4)
                 ON CONFLICT (node, sku) DO UPDATE
                 SET on_hand = excluded.on_hand, safety_stock = excluded.safety_stock",
            )?;
            for r in rows {
                up.execute(params![r.node, r.sku, r.on_hand, r.safety_stock])?;
            }
        }
        tx.commit()
    }

    /// Adds rows to the stage of a streamed snapshot `upload` (one short transaction,
    /// so windows go on while a large snapshot arrives).
    pub fn stage_rows(&mut self, upload: i64, rows: &[InventoryRow]) -> SqlResult<()> {
        let tx = self.conn.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO inventory_stage (upload, node, sku, on_hand, safety_stock)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for r in rows {
                ins.execute(params![upload, r.node, r.sku, r.on_hand, r.safety_stock])?;
            }
        }
        tx.commit()
    }

    /// Applies the staged snapshot `upload` in one transaction, as
    /// [`Store::set_inventory`] applies rows (later rows of a pair win), and empties
    /// its stage. Returns the rows applied.
    pub fn apply_stage(&mut self, upload: i64, full: bool) -> SqlResult<usize> {
        let tx = self.conn.transaction()?;
        if full {
            tx.execute("UPDATE inventory SET on_hand = 0", [])?;
        }
        let n = tx.execute(
            "INSERT INTO inventory (node, sku, on_hand, reserved, safety_stock)
             SELECT node, sku, on_hand, 0, safety_stock FROM inventory_stage
             WHERE upload = ?1 ORDER BY rowid
             ON CONFLICT (node, sku) DO UPDATE
             SET on_hand = excluded.on_hand, safety_stock = excluded.safety_stock",
            params![upload],
        )?;
        tx.execute(
            "DELETE FROM inventory_stage WHERE upload = ?1",
            params![upload],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Drops the stage of `upload`, or of every upload (`None`: at start, the stages
    /// of snapshots a stopped server never finished).
    pub fn discard_stage(&self, upload: Option<i64>) -> SqlResult<()> {
        match upload {
            Some(u) => self
                .conn
                .execute("DELETE FROM inventory_stage WHERE upload = ?1", params![u]),
            None => self.conn.execute("DELETE FROM inventory_stage", []),
        }
        .map(|_| ())
    }

    /// Applies inventory deltas atomically; refuses the batch if any row would go
    /// negative or a pick exceeds what is reserved. A batch that leaves a row's on_hand
    /// below what decided orders reserve there is refused with the over-promised
    /// orders ([`StoreError::OverPromised`]) unless `force`; with `force` enough of
    /// those orders (the most recently decided first) return their stock and
    /// capacity and wait for the next window. Returns the orders so re-routed.
    pub fn apply_deltas(
        &mut self,
        deltas: &[InventoryDelta],
        force: bool,
    ) -> Result<Vec<String>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut touched = Vec::new();
        for (i, d) in deltas.iter().enumerate() {
            touched.push((d.node.clone(), d.sku.clone()));
            let row: Option<(i64, i64, i64)> = tx
                .query_row(
                    "SELECT on_hand, reserved, safety_stock FROM inventory
                     WHERE node = ?1 AND sku = ?2",
                    params![d.node, d.sku],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (on_hand, reserved, safety) = d.applied(i, row.unwrap_or((0, 0, 0)))?;
            tx.execute(
                "INSERT INTO inventory (node, sku, on_hand, reserved, safety_stock)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (node, sku) DO UPDATE SET on_hand = excluded.on_hand,
                 reserved = excluded.reserved, safety_stock = excluded.safety_stock",
                params![d.node, d.sku, on_hand, reserved, safety],
            )?;
        }
        touched.sort();
        touched.dedup();
        let mut short = Vec::new();
        let mut chosen: Vec<(String, i64, String, Decision)> = Vec::new();
        for (node, sku) in &touched {
            let (on_hand, reserved): (i64, i64) = tx.query_row(
                "SELECT on_hand, reserved FROM inventory WHERE node = ?1 AND sku = ?2",
                params![node, sku],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if on_hand >= reserved {
                continue;
            }
            let mut need = reserved - on_hand;
            let mut ids = Vec::new();
            for (id, seq, body, d) in holders(&tx, node, sku)? {
                if need <= 0 {
                    break;
                }
                let held: i64 = d
                    .shipments
                    .iter()
                    .filter(|s| &s.node == node)
                    .flat_map(|s| &s.lines)
                    .filter(|l| &l.sku == sku)
                    .map(|l| i64::from(l.qty))
                    .sum();
                need -= held;
                ids.push(id.clone());
                if !chosen.iter().any(|c| c.0 == id) {
                    chosen.push((id, seq, body, d));
                }
            }
            short.push(format!(
                "{sku} at {node}: on_hand {on_hand} below reserved {reserved}; held by {}",
                ids.join(", ")
            ));
        }
        if short.is_empty() {
            tx.commit()?;
            return Ok(Vec::new());
        }
        if !force {
            return Err(StoreError::OverPromised(short));
        }
        for (id, seq, body, d) in &chosen {
            Self::release(&tx, Some(d))?;
            tx.execute("DELETE FROM decisions WHERE id = ?1", params![id])?;
            tx.execute(
                "INSERT INTO requeue (id, seq, body) VALUES (?1, ?2, ?3)",
                params![id, seq, body],
            )?;
        }
        tx.commit()?;
        Ok(chosen.into_iter().map(|c| c.0).collect())
    }

    /// Shipments and units used per node in the current capacity period.
    pub fn capacity_used(&self) -> SqlResult<HashMap<String, (u64, u64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT node, shipments, units FROM capacity_used")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64),
            ))
        })?;
        rows.collect()
    }

    /// Starts a new capacity period: every node's capacity is whole again.
    pub fn reset_capacity(&self) -> SqlResult<()> {
        self.conn.execute("DELETE FROM capacity_used", [])?;
        Ok(())
    }
}

/// Decided orders that ship `sku` from `node`, the most recently decided first: id,
/// intake sequence number, body and decision.
fn holders(
    tx: &rusqlite::Transaction,
    node: &str,
    sku: &str,
) -> SqlResult<Vec<(String, i64, String, Decision)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT d.id, o.seq, COALESCE(d.body, o.body), d.decision
         FROM decisions d JOIN intake.orders o ON o.id = d.id
         WHERE d.status IN ('allocated', 'partial') AND instr(d.decision, ?1) > 0
           AND instr(d.decision, ?2) > 0
         ORDER BY d.window_id DESC, o.seq DESC",
    )?;
    let rows = stmt.query_map(params![node, sku], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, seq, body, text) = row?;
        let Ok(d) = serde_json::from_str::<Decision>(&text) else {
            continue;
        };
        let ships = d
            .shipments
            .iter()
            .any(|s| s.node == node && s.lines.iter().any(|l| l.sku == sku));
        if ships {
            out.push((id, seq, body, d));
        }
    }
    Ok(out)
}
