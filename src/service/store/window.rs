//! A window's commit: decisions, reservations and the watermark in one ledger
//! transaction that re-checks stock and capacity as they are now.

use super::*;

impl Store {
    /// Commits a checked window plan in one ledger transaction. Each order's
    /// reservations are re-checked against the stock and capacity as they are *now*
    /// (inventory may have changed while the window was solving); an order that no
    /// longer fits is requeued for the next window. An order of `taken` that the
    /// window's instance left out because it names a sku or pickup node the network
    /// no longer has is decided `unfilled` with reason `UNKNOWN_SKU` or
    /// `UNKNOWN_NODE`. A window with no orders of its own (all left out) is not
    /// written: its stranded decisions carry no window number. `network` gives the
    /// full node capacities of the period; `taken` are the window's orders as read.
    /// Returns how many orders were committed (stranded ones included) and deferred.
    pub fn commit_window(
        &mut self,
        window: &WindowRecord,
        network: &NetworkConfig,
        taken: &[PendingOrder],
        instance: &Instance,
        plan: &Plan,
    ) -> DbResult<(usize, usize)> {
        let tx = self.conn.transaction()?;
        let skus = instance.skus.iter().map(|s| s.id.as_str());
        let mut left = Left::read(&tx, network, skus)?;
        let mut by_order = decisions_by_order(plan);
        let stocked = stocked_nodes(instance);
        let in_window: HashMap<&str, &Order> =
            instance.orders.iter().map(|o| (o.id.as_str(), o)).collect();
        let window_id = (!instance.orders.is_empty()).then_some(window.id);
        let (mut committed, mut deferred, mut stranded) = (0, 0, 0);
        {
            let mut w = Writes::prepare(&tx)?;
            for p in taken {
                let Some(order) = in_window.get(p.order.id.as_str()) else {
                    let d = stranded_decision(network, &p.order);
                    if w.decide(p, status::UNFILLED, window_id, &d)? {
                        stranded += 1;
                    }
                    continue;
                };
                let mut d = by_order
                    .remove(order.id.as_str())
                    .unwrap_or_else(empty_decision);
                no_stock_left(&mut d, order, &stocked);
                let need = Need::of(&d);
                if !left.fits(&need) {
                    w.requeue(p)?;
                    deferred += 1;
                    continue;
                }
                d.cost = d.shipments.iter().map(|s| s.cost).sum::<f64>()
                    + instance.costs.split_penalty * d.shipments.len().saturating_sub(1) as f64
                    + d.unfilled.iter().map(|u| f64::from(u.qty)).sum::<f64>()
                        * order
                            .unfilled_penalty
                            .unwrap_or(instance.costs.unfilled_penalty);
                d.promised_delivery_days = d.shipments.iter().map(|s| s.delivery_days).max();
                let st = if d.shipments.is_empty() {
                    status::UNFILLED
                } else if d.unfilled.is_empty() {
                    status::ALLOCATED
                } else {
                    status::PARTIAL
                };
                if w.decide(p, st, window_id, &d)? {
                    left.take(need);
                    committed += 1;
                }
            }
        }
        left.write(&tx)?;
        if let Some(max_seq) = taken.iter().filter(|p| !p.requeued).map(|p| p.seq).max() {
            tx.execute(
                "UPDATE config SET value = CAST(MAX(CAST(value AS INTEGER), ?1) AS TEXT)
                 WHERE key = 'watermark'",
                params![max_seq],
            )?;
        }
        if window_id.is_some() {
            let mut kpis = window.kpis.clone();
            kpis["orders_committed"] = committed.into();
            kpis["orders_deferred"] = deferred.into();
            kpis["orders_stranded"] = stranded.into();
            tx.execute(
                "INSERT INTO windows (id, opened_at, closed_at, decided_at, kpis)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    window.id,
                    window.opened_at,
                    window.closed_at,
                    now(),
                    kpis.to_string()
                ],
            )?;
        }
        tx.commit()?;
        Ok((committed + stranded, deferred))
    }
}

/// The statements a window commit runs per order.
struct Writes<'t> {
    decide: rusqlite::CachedStatement<'t>,
    requeue: rusqlite::CachedStatement<'t>,
    unqueue: rusqlite::CachedStatement<'t>,
}

impl<'t> Writes<'t> {
    fn prepare(tx: &'t rusqlite::Transaction) -> DbResult<Writes<'t>> {
        Ok(Writes {
            decide: tx.prepare_cached(
                "INSERT INTO decisions (id, status, window_id, decision, body)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
            )?,
            // An order cancelled while its window was solving has a decision row
            // already: it is neither decided again nor requeued.
            requeue: tx.prepare_cached(
                "INSERT OR IGNORE INTO requeue (id, seq, body) SELECT ?1, ?2, ?3
                 WHERE NOT EXISTS (SELECT 1 FROM decisions WHERE id = ?1)",
            )?,
            unqueue: tx.prepare_cached("DELETE FROM requeue WHERE id = ?1")?,
        })
    }

    /// Stores a decision unless the order has one already (cancelled during the
    /// solve); a requeued order leaves the requeue. Whether it was stored.
    fn decide(
        &mut self,
        p: &PendingOrder,
        st: &str,
        window: Option<i64>,
        d: &Decision,
    ) -> DbResult<bool> {
        let text = serde_json::to_string(d).expect("decisions serialize");
        let body = p
            .requeued
            .then(|| serde_json::to_string(&p.order).expect("orders serialize"));
        if self
            .decide
            .execute(params![p.order.id, st, window, text, body])?
            == 0
        {
            return Ok(false);
        }
        if p.requeued {
            self.unqueue.execute(params![p.order.id])?;
        }
        Ok(true)
    }

    fn requeue(&mut self, p: &PendingOrder) -> DbResult<()> {
        let body = serde_json::to_string(&p.order).expect("orders serialize");
        self.requeue.execute(params![p.order.id, p.seq, body])?;
        Ok(())
    }
}

/// Units per (node, sku) and shipments and units per node that one decision takes.
struct Need {
    stock: HashMap<(String, String), i64>,
    nodes: HashMap<String, (i64, i64)>,
}

impl Need {
    fn of(d: &Decision) -> Need {
        let mut need = Need {
            stock: HashMap::new(),
            nodes: HashMap::new(),
        };
        for s in &d.shipments {
            let e = need.nodes.entry(s.node.clone()).or_default();
            e.0 += 1;
            for l in &s.lines {
                *need
                    .stock
                    .entry((s.node.clone(), l.sku.clone()))
                    .or_default() += i64::from(l.qty);
                e.1 += i64::from(l.qty);
            }
        }
        need
    }
}

/// Stock and capacity left as the commit goes, and what it has taken so far.
struct Left {
    available: HashMap<(String, String), i64>,
    capacity: HashMap<String, (i64, i64)>,
    reserved: HashMap<(String, String), i64>,
    used: HashMap<String, (i64, i64)>,
}

impl Left {
    /// Stock of the window's `skus` (all a plan can take; read through the sku index,
    /// so the cost follows the window, not the catalog) and capacity, as they are
    /// inside `tx`.
    fn read<'a>(
        tx: &rusqlite::Transaction,
        network: &NetworkConfig,
        skus: impl Iterator<Item = &'a str>,
    ) -> DbResult<Left> {
        let mut available = HashMap::new();
        let list = serde_json::Value::from(skus.collect::<Vec<_>>()).to_string();
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
            .collect::<DbResult<HashMap<String, (i64, i64)>>>()?;
        let capacity = network
            .nodes
            .iter()
            .map(|n| {
                let (s, u) = used.get(&n.id).copied().unwrap_or((0, 0));
                (
                    n.id.clone(),
                    (
                        n.capacity_shipments.map_or(i64::MAX, |c| i64::from(c) - s),
                        n.capacity_units.map_or(i64::MAX, |c| i64::from(c) - u),
                    ),
                )
            })
            .collect();
        Ok(Left {
            available,
            capacity,
            reserved: HashMap::new(),
            used: HashMap::new(),
        })
    }

    /// Whether the stock and capacity left still hold `need`.
    fn fits(&self, need: &Need) -> bool {
        need.stock
            .iter()
            .all(|(k, &q)| self.available.get(k).copied().unwrap_or(0) >= q)
            && need.nodes.iter().all(|(n, &(s, u))| {
                self.capacity
                    .get(n)
                    .is_some_and(|&(cs, cu)| cs >= s && cu >= u)
            })
    }

    /// Takes `need` (which [`Left::fits`]).
    fn take(&mut self, need: Need) {
        for (k, q) in need.stock {
            *self.available.get_mut(&k).expect("checked by fits") -= q;
            *self.reserved.entry(k).or_default() += q;
        }
        for (n, (s, u)) in need.nodes {
            let c = self.capacity.get_mut(&n).expect("checked by fits");
            c.0 -= s;
            c.1 -= u;
            let e = self.used.entry(n).or_default();
            e.0 += s;
            e.1 += u;
        }
    }

    /// Adds what was taken to the ledger's reservations and capacity used.
    fn write(&self, tx: &rusqlite::Transaction) -> DbResult<()> {
        let mut take = tx.prepare_cached(
            "UPDATE inventory SET reserved = reserved + ?3 WHERE node = ?1 AND sku = ?2",
        )?;
        for ((node, sku), q) in &self.reserved {
            take.execute(params![node, sku, q])?;
        }
        let mut cap = tx.prepare_cached(
            "INSERT INTO capacity_used (node, shipments, units) VALUES (?1, ?2, ?3)
             ON CONFLICT (node) DO UPDATE SET shipments = shipments + excluded.shipments,
             units = units + excluded.units",
        )?;
        for (node, (s, u)) in &self.used {
            cap.execute(params![node, s, u])?;
        }
        Ok(())
    }
}

/// The nodes holding available stock of each sku in the window.
fn stocked_nodes(instance: &Instance) -> HashMap<&str, Vec<&str>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in instance.inventory.iter().filter(|r| r.available() > 0) {
        out.entry(r.sku.as_str()).or_default().push(r.node.as_str());
    }
    out
}

/// An order that excludes every node still holding a sku (re-routed away from all of
/// them) is short of stock, not of a fast enough node: its `SLA` lines of that sku
/// become `NO_STOCK`.
fn no_stock_left(d: &mut Decision, order: &Order, stocked: &HashMap<&str, Vec<&str>>) {
    if order.exclude_nodes.is_empty() {
        return;
    }
    for u in d.unfilled.iter_mut().filter(|u| u.reason == "SLA") {
        let open = stocked.get(u.sku.as_str()).is_some_and(|nodes| {
            nodes
                .iter()
                .any(|n| !order.exclude_nodes.iter().any(|x| x == n))
        });
        if !open {
            u.reason = "NO_STOCK".into();
        }
    }
}

/// The plan's shipments and unfilled lines grouped by order.
fn decisions_by_order(plan: &Plan) -> HashMap<&str, Decision> {
    let mut by_order: HashMap<&str, Decision> = HashMap::new();
    for s in &plan.shipments {
        by_order
            .entry(s.order.as_str())
            .or_insert_with(empty_decision)
            .shipments
            .push(s.clone());
    }
    for u in &plan.unfilled {
        by_order
            .entry(u.order.as_str())
            .or_insert_with(empty_decision)
            .unfilled
            .push(UnfilledLine::from(u));
    }
    by_order
}

/// The decision of an order that can no longer be allocated because it names a sku
/// (`UNKNOWN_SKU`) or pickup node (`UNKNOWN_NODE`) the network no longer has: every
/// line unfilled with that reason, priced at the unfilled penalty.
pub fn stranded_decision(network: &NetworkConfig, order: &Order) -> Decision {
    let skus: std::collections::HashSet<&str> =
        network.skus.iter().map(|s| s.id.as_str()).collect();
    let reason = if order.lines.iter().all(|l| skus.contains(l.sku.as_str())) {
        reason::UNKNOWN_NODE
    } else {
        reason::UNKNOWN_SKU
    };
    let penalty = order
        .unfilled_penalty
        .unwrap_or(network.costs.unfilled_penalty);
    let unfilled: Vec<UnfilledLine> = order
        .lines
        .iter()
        .map(|l| UnfilledLine {
            order: order.id.clone(),
            sku: l.sku.clone(),
            qty: l.qty,
            reason: reason.into(),
        })
        .collect();
    Decision {
        cost: unfilled.iter().map(|u| f64::from(u.qty)).sum::<f64>() * penalty,
        shipments: Vec::new(),
        unfilled,
        promised_delivery_days: None,
    }
}

fn empty_decision() -> Decision {
    Decision {
        shipments: Vec::new(),
        unfilled: Vec::new(),
        cost: 0.0,
        promised_delivery_days: None,
    }
}
