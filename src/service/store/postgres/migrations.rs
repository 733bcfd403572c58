//! The PostgreSQL schema as numbered migrations, applied in order at start; each
//! version is recorded in `schema_migrations` and never edited once released (a
//! change is a new version).

use ::postgres::Client;

use super::DbResult;

/// Each migration: its version and its statements.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "
CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO config (key, value) VALUES ('network_version', '0');
CREATE TABLE orders (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    digest TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL);
CREATE TABLE queue (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    requeued BOOLEAN NOT NULL DEFAULT FALSE,
    body TEXT,
    received_at DOUBLE PRECISION NOT NULL);
CREATE INDEX queue_in_order ON queue (requeued DESC, seq);
CREATE TABLE inventory (
    node TEXT NOT NULL, sku TEXT NOT NULL,
    on_hand BIGINT NOT NULL, reserved BIGINT NOT NULL, safety_stock BIGINT NOT NULL,
    PRIMARY KEY (node, sku));
CREATE INDEX inventory_by_sku ON inventory (sku);
CREATE TABLE inventory_stage (
    upload BIGINT NOT NULL, ord BIGSERIAL, node TEXT NOT NULL, sku TEXT NOT NULL,
    on_hand BIGINT NOT NULL, safety_stock BIGINT NOT NULL,
    staged_at DOUBLE PRECISION NOT NULL);
CREATE INDEX inventory_stage_by_upload ON inventory_stage (upload);
CREATE TABLE capacity_used (
    node TEXT PRIMARY KEY, shipments BIGINT NOT NULL, units BIGINT NOT NULL);
CREATE TABLE decisions (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, window_id BIGINT,
    decision TEXT, body TEXT);
CREATE INDEX decisions_by_window ON decisions (window_id);
CREATE TABLE windows (
    id BIGINT PRIMARY KEY,
    opened_at DOUBLE PRECISION NOT NULL, closed_at DOUBLE PRECISION NOT NULL,
    decided_at DOUBLE PRECISION NOT NULL, kpis TEXT NOT NULL,
    pool TEXT NOT NULL, replica TEXT NOT NULL, token BIGINT NOT NULL);
CREATE TABLE leases (
    pool TEXT PRIMARY KEY, holder TEXT NOT NULL, token BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL);
CREATE TABLE replicas (
    id TEXT PRIMARY KEY, address TEXT NOT NULL, started_at DOUBLE PRECISION NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL);
",
)];

/// Applies the migrations `client`'s database has not had, under a transaction-level
/// advisory lock so that replicas starting together wait for each other.
pub fn apply(client: &mut Client) -> DbResult<()> {
    let mut tx = client.transaction()?;
    // Any constant: the lock only orders domopt's own migrations.
    tx.execute("SELECT pg_advisory_xact_lock(7261535)", &[])?;
    let fresh: bool = tx
        .query_one("SELECT to_regclass('schema_migrations') IS NULL", &[])?
        .get(0);
    if fresh {
        tx.batch_execute(
            "CREATE TABLE schema_migrations (
                 version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )?;
    }
    let done: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .get(0);
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > done) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )?;
        tracing::info!(version, "database migrated");
    }
    tx.commit()?;
    Ok(())
}
