//! The PostgreSQL statements of orders, inventory and window commits. Functions that
//! write take the transaction [`super::PgStorage::transaction`] runs (and may run
//! again); rows a write re-checks are locked first, always in (node, sku) or id order.

use std::collections::{BTreeMap, HashSet};

use ::postgres::{GenericClient, Transaction};

use super::*;
use crate::service::store::commit::{Left, Settlement, settle};

/// See [`Storage::submit`].
pub fn submit(tx: &mut Transaction, orders: &[Order]) -> Result<SubmitOutcome, StoreError> {
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    let bodies: Vec<String> = orders
        .iter()
        .map(|o| serde_json::to_string(o).expect("orders serialize"))
        .collect();
    let digests: Vec<String> = orders.iter().map(digest).collect();
    let at = now();
    let inserted = tx.query(
        "WITH input AS (
             SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[]) WITH ORDINALITY
                 AS t(id, body, digest, n)),
         ins AS (
             INSERT INTO orders (id, body, digest, received_at)
             SELECT id, body, digest, $4 FROM input ORDER BY n
             ON CONFLICT (id) DO NOTHING RETURNING seq, id)
         INSERT INTO queue (id, seq, received_at) SELECT id, seq, $4 FROM ins RETURNING id",
        &[&ids, &bodies, &digests, &at],
    )?;
    let new: HashSet<String> = inserted.iter().map(|r| r.get(0)).collect();
    let mut outcome = SubmitOutcome {
        accepted: new.len(),
        duplicates: 0,
    };
    let others: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !new.contains(*id))
        .collect();
    if others.is_empty() {
        return Ok(outcome);
    }
    let stored: HashMap<String, String> = tx
        .query(
            "SELECT id, digest FROM orders WHERE id = ANY($1)",
            &[&others],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut conflicts = Vec::new();
    for (o, d) in orders.iter().zip(&digests) {
        if new.contains(&o.id) {
            continue;
        }
        match stored.get(&o.id) {
            Some(s) if s == d => outcome.duplicates += 1,
            _ => conflicts.push(o.id.clone()),
        }
    }
    if conflicts.is_empty() {
        Ok(outcome)
    } else {
        Err(StoreError::Conflict(conflicts))
    }
}

/// See [`Storage::pending`].
pub fn pending(c: &mut impl GenericClient, limit: usize) -> DbResult<Vec<PendingOrder>> {
    let rows = c.query(
        "SELECT q.seq, q.requeued, COALESCE(q.body, o.body) FROM queue q
         JOIN orders o ON o.id = q.id
         ORDER BY q.requeued DESC, q.seq LIMIT $1",
        &[&(limit as i64)],
    )?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(PendingOrder {
                seq: r.get(0),
                requeued: r.get(1),
                order: serde_json::from_str(r.get::<_, &str>(2)).ok()?,
            })
        })
        .collect())
}

/// See [`Storage::order`].
pub fn order(c: &mut impl GenericClient, id: &str) -> DbResult<Option<OrderRecord>> {
    let row = c.query_opt(
        "SELECT o.id, o.seq, o.received_at, COALESCE(q.body, d.body, o.body), d.status,
                d.window_id, d.decision
         FROM orders o
         LEFT JOIN decisions d ON d.id = o.id
         LEFT JOIN queue q ON q.id = o.id
         WHERE o.id = $1",
        &[&id],
    )?;
    Ok(row.map(|r| OrderRecord {
        id: r.get(0),
        seq: r.get(1),
        received_at: r.get(2),
        order: serde_json::from_str(r.get::<_, &str>(3)).expect("stored orders parse"),
        status: r
            .get::<_, Option<String>>(4)
            .unwrap_or_else(|| status::PENDING.into()),
        window: r.get(5),
        decision: r
            .get::<_, Option<&str>>(6)
            .and_then(|d| serde_json::from_str(d).ok()),
    }))
}

/// The order `id` read after locking its row, so that cancels, re-routes and window
/// commits of one order follow each other.
fn locked_order(tx: &mut Transaction, id: &str) -> Result<OrderRecord, StoreError> {
    tx.execute("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", &[&id])?;
    order(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("order \"{id}\"")))
}

/// Returns an order's reserved stock and used capacity.
fn release(tx: &mut Transaction, decision: Option<&Decision>) -> DbResult<()> {
    let Some(d) = decision else { return Ok(()) };
    for s in &d.shipments {
        let mut units = 0i64;
        for l in &s.lines {
            units += i64::from(l.qty);
            tx.execute(
                "UPDATE inventory SET reserved = GREATEST(0, reserved - $3)
                 WHERE node = $1 AND sku = $2",
                &[&s.node, &l.sku, &i64::from(l.qty)],
            )?;
        }
        tx.execute(
            "UPDATE capacity_used SET shipments = GREATEST(0, shipments - 1),
             units = GREATEST(0, units - $2) WHERE node = $1",
            &[&s.node, &units],
        )?;
    }
    Ok(())
}

/// See [`Storage::cancel`].
pub fn cancel(tx: &mut Transaction, id: &str) -> Result<(), StoreError> {
    let rec = locked_order(tx, id)?;
    if rec.status == status::CANCELLED {
        return Err(StoreError::State(format!(
            "order \"{id}\" is already cancelled"
        )));
    }
    release(tx, rec.decision.as_ref())?;
    tx.execute("DELETE FROM queue WHERE id = $1", &[&id])?;
    let body = serde_json::to_string(&rec.order).expect("orders serialize");
    tx.execute(
        "INSERT INTO decisions (id, status, window_id, decision, body)
         VALUES ($1, 'cancelled', $2, NULL, $3)
         ON CONFLICT (id) DO UPDATE SET status = 'cancelled', decision = NULL",
        &[&id, &rec.window, &body],
    )?;
    Ok(())
}

/// See [`Storage::reroute`].
pub fn reroute(tx: &mut Transaction, id: &str, node: &str) -> Result<(), StoreError> {
    let rec = locked_order(tx, id)?;
    let order = rec.rerouted(node)?;
    let body = serde_json::to_string(&order).expect("orders serialize");
    release_and_requeue(
        tx,
        id,
        rec.seq,
        rec.received_at,
        &body,
        rec.decision.as_ref(),
    )?;
    Ok(())
}

/// Returns a decided order's stock and capacity and moves it back to the queue
/// (requeued) with `body` as its order.
pub fn release_and_requeue(
    tx: &mut Transaction,
    id: &str,
    seq: i64,
    received_at: f64,
    body: &str,
    decision: Option<&Decision>,
) -> DbResult<()> {
    release(tx, decision)?;
    tx.execute("DELETE FROM decisions WHERE id = $1", &[&id])?;
    tx.execute(
        "INSERT INTO queue (id, seq, requeued, body, received_at) VALUES ($1, $2, TRUE, $3, $4)",
        &[&id, &seq, &body, &received_at],
    )?;
    Ok(())
}

/// Rows with one entry per (node, sku), the last of each pair winning.
fn last_per_row(rows: &[InventoryRow]) -> BTreeMap<(&str, &str), &InventoryRow> {
    rows.iter()
        .map(|r| ((r.node.as_str(), r.sku.as_str()), r))
        .collect()
}

/// See [`Storage::set_inventory`].
pub fn set_inventory(tx: &mut Transaction, rows: &[InventoryRow], full: bool) -> DbResult<()> {
    if full {
        tx.execute("UPDATE inventory SET on_hand = 0", &[])?;
    }
    let rows = last_per_row(rows);
    for chunk in rows.values().collect::<Vec<_>>().chunks(10_000) {
        let nodes: Vec<&str> = chunk.iter().map(|r| r.node.as_str()).collect();
        let skus: Vec<&str> = chunk.iter().map(|r| r.sku.as_str()).collect();
        let on_hand: Vec<i64> = chunk.iter().map(|r| i64::from(r.on_hand)).collect();
        let safety: Vec<i64> = chunk.iter().map(|r| i64::from(r.safety_stock)).collect();
        tx.execute(
            "INSERT INTO inventory (node, sku, on_hand, reserved, safety_stock)
             SELECT node, sku, on_hand, 0, safety
             FROM unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[])
                 AS t(node, sku, on_hand, safety)
             ORDER BY node, sku
             ON CONFLICT (node, sku) DO UPDATE
             SET on_hand = excluded.on_hand, safety_stock = excluded.safety_stock",
            &[&nodes, &skus, &on_hand, &safety],
        )?;
    }
    Ok(())
}

/// See [`Storage::stage_rows`].
pub fn stage_rows(tx: &mut Transaction, upload: i64, rows: &[InventoryRow]) -> DbResult<()> {
    let nodes: Vec<&str> = rows.iter().map(|r| r.node.as_str()).collect();
    let skus: Vec<&str> = rows.iter().map(|r| r.sku.as_str()).collect();
    let on_hand: Vec<i64> = rows.iter().map(|r| i64::from(r.on_hand)).collect();
    let safety: Vec<i64> = rows.iter().map(|r| i64::from(r.safety_stock)).collect();
    tx.execute(
        "INSERT INTO inventory_stage (upload, node, sku, on_hand, safety_stock, staged_at)
         SELECT $1, node, sku, on_hand, safety, $6
         FROM unnest($2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[])
             WITH ORDINALITY AS t(node, sku, on_hand, safety, n)
         ORDER BY n",
        &[&upload, &nodes, &skus, &on_hand, &safety, &now()],
    )?;
    Ok(())
}

/// See [`Storage::apply_stage`].
pub fn apply_stage(tx: &mut Transaction, upload: i64, full: bool) -> DbResult<usize> {
    if full {
        tx.execute("UPDATE inventory SET on_hand = 0", &[])?;
    }
    tx.execute(
        "INSERT INTO inventory (node, sku, on_hand, reserved, safety_stock)
         SELECT node, sku, on_hand, 0, safety_stock FROM (
             SELECT DISTINCT ON (node, sku) node, sku, on_hand, safety_stock
             FROM inventory_stage WHERE upload = $1
             ORDER BY node, sku, ord DESC) last
         ON CONFLICT (node, sku) DO UPDATE
         SET on_hand = excluded.on_hand, safety_stock = excluded.safety_stock",
        &[&upload],
    )?;
    let staged = tx.execute("DELETE FROM inventory_stage WHERE upload = $1", &[&upload])?;
    // Rows applied as the embedded backend counts them: every staged row.
    Ok(staged as usize)
}

/// See [`Storage::recent_flows`].
pub fn recent_flows(
    c: &mut impl GenericClient,
    windows: i64,
    limit: usize,
) -> DbResult<Vec<(String, f64, f64)>> {
    let rows = c.query(
        "SELECT d.decision, COALESCE(d.body, o.body) FROM decisions d
         JOIN orders o ON o.id = d.id
         WHERE d.window_id > (SELECT COALESCE(MAX(id), 0) FROM windows) - $1
         ORDER BY d.window_id DESC LIMIT $2",
        &[&windows, &(limit as i64)],
    )?;
    Ok(flows_of(rows.iter().map(|r| (r.get(0), r.get(1))), limit))
}

/// See [`Storage::commit_window`]: checks the fence (holding the lease row shared, so
/// no replica can take the lease over until this commit ends), locks the window's
/// orders, stock rows and capacity rows, settles and writes.
pub fn commit_window(
    tx: &mut Transaction,
    fence: &Fence,
    window: &WindowRecord,
    network: &NetworkConfig,
    taken: &[PendingOrder],
    instance: &Instance,
    plan: &Plan,
) -> Result<CommitCounts, StoreError> {
    let held = tx.query_opt(
        "SELECT token FROM leases WHERE pool = $1 AND holder = $2 AND token = $3
           AND expires_at > clock_timestamp() FOR SHARE",
        &[&fence.pool, &fence.replica, &fence.token],
    )?;
    if held.is_none() {
        return Err(StoreError::Fenced(format!(
            "replica {} no longer holds the lease of pool {} with token {}",
            fence.replica, fence.pool, fence.token
        )));
    }
    let ids: Vec<&str> = taken.iter().map(|p| p.order.id.as_str()).collect();
    let queued: HashSet<String> = tx
        .query(
            "SELECT id FROM queue WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&ids],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Taken orders that left the queue since they were read were cancelled.
    let already: HashSet<String> = ids
        .iter()
        .filter(|id| !queued.contains(**id))
        .map(|id| id.to_string())
        .collect();
    let skus: Vec<&str> = instance.skus.iter().map(|s| s.id.as_str()).collect();
    let left = read_left(tx, network, &skus)?;
    let s = settle(left, window, network, taken, instance, plan, &already);
    write_settlement(tx, &s)?;
    if let Some(id) = s.window_id {
        tx.execute(
            "INSERT INTO windows (id, opened_at, closed_at, decided_at, kpis, pool, replica, token)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &id,
                &window.opened_at,
                &window.closed_at,
                &now(),
                &s.kpis(window).to_string(),
                &fence.pool,
                &fence.replica,
                &fence.token,
            ],
        )?;
    }
    Ok(s.counts)
}

/// Stock of the window's skus and the capacity used, locked for the commit.
fn read_left(tx: &mut Transaction, network: &NetworkConfig, skus: &[&str]) -> DbResult<Left> {
    let available = tx
        .query(
            "SELECT node, sku, on_hand - reserved - safety_stock FROM inventory
             WHERE sku = ANY($1) ORDER BY node, sku FOR UPDATE",
            &[&skus],
        )?
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect();
    let used = tx
        .query(
            "SELECT node, shipments, units FROM capacity_used ORDER BY node FOR UPDATE",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    Ok(Left::new(network, available, &used))
}

/// Writes a settlement: decisions, the queue, reservations and capacity used.
fn write_settlement(tx: &mut Transaction, s: &Settlement) -> DbResult<()> {
    let mut ids = Vec::new();
    let mut statuses = Vec::new();
    let mut texts = Vec::new();
    let mut bodies = Vec::new();
    for (p, st, d) in &s.decided {
        ids.push(p.order.id.as_str());
        statuses.push(*st);
        texts.push(serde_json::to_string(d).expect("decisions serialize"));
        bodies.push(
            p.requeued
                .then(|| serde_json::to_string(&p.order).expect("orders serialize")),
        );
    }
    tx.execute(
        "INSERT INTO decisions (id, status, window_id, decision, body)
         SELECT id, st, $5, d, b FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[])
             AS t(id, st, d, b)",
        &[&ids, &statuses, &texts, &bodies, &s.window_id],
    )?;
    tx.execute("DELETE FROM queue WHERE id = ANY($1)", &[&ids])?;
    let requeued: Vec<&str> = s.requeued.iter().map(|p| p.order.id.as_str()).collect();
    let bodies: Vec<String> = s
        .requeued
        .iter()
        .map(|p| serde_json::to_string(&p.order).expect("orders serialize"))
        .collect();
    tx.execute(
        "UPDATE queue q SET requeued = TRUE, body = t.body
         FROM unnest($1::TEXT[], $2::TEXT[]) AS t(id, body) WHERE q.id = t.id",
        &[&requeued, &bodies],
    )?;
    let mut reserved: Vec<(&(String, String), &i64)> = s.reserved.iter().collect();
    reserved.sort();
    let nodes: Vec<&str> = reserved.iter().map(|r| r.0.0.as_str()).collect();
    let skus: Vec<&str> = reserved.iter().map(|r| r.0.1.as_str()).collect();
    let qty: Vec<i64> = reserved.iter().map(|r| *r.1).collect();
    tx.execute(
        "UPDATE inventory i SET reserved = i.reserved + t.q
         FROM unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[]) AS t(node, sku, q)
         WHERE i.node = t.node AND i.sku = t.sku",
        &[&nodes, &skus, &qty],
    )?;
    let mut used: Vec<(&String, &(i64, i64))> = s.used.iter().collect();
    used.sort();
    let nodes: Vec<&str> = used.iter().map(|u| u.0.as_str()).collect();
    let ships: Vec<i64> = used.iter().map(|u| u.1.0).collect();
    let units: Vec<i64> = used.iter().map(|u| u.1.1).collect();
    tx.execute(
        "INSERT INTO capacity_used (node, shipments, units)
         SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::BIGINT[])
         ON CONFLICT (node) DO UPDATE SET
             shipments = capacity_used.shipments + excluded.shipments,
             units = capacity_used.units + excluded.units",
        &[&nodes, &ships, &units],
    )?;
    Ok(())
}
