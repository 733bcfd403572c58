//! The storage backend tests run on: SQLite files in a temporary directory, or, with
//! `DOMOPT_TEST_STORAGE=postgres`, a fresh PostgreSQL database per data directory
//! on the server `DOMOPT_TEST_PG` names (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). A missing server fails the test
//! with a message saying how to start one; nothing is skipped.

use std::path::Path;

use domopt::service::store::Storage;

/// Whether this run's backend is PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("DOMOPT_TEST_STORAGE").is_ok_and(|v| v == "postgres")
}

/// The PostgreSQL server's administrative URL.
fn admin_url() -> String {
    std::env::var("DOMOPT_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of the database that stands for data directory `data` (created on first
/// use, so a restarted server finds what it stored): one database per directory, so
/// tests run in parallel without sharing state.
pub fn database_for(data: &Path) -> String {
    // The driver runs a runtime of its own: off any test's runtime.
    let data = data.to_path_buf();
    std::thread::spawn(move || create_database(&data))
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

fn create_database(data: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    let name = format!("domopt_t_{:016x}", h.finish());
    let admin = admin_url();
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "DOMOPT_TEST_STORAGE=postgres needs a PostgreSQL server at {admin} ({e}); \
             start one (scripts/test.sh does: apt-get install postgresql; pg_ctlcluster 15 main start) \
             or point DOMOPT_TEST_PG at one"
        )
    });
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .unwrap()
        .is_some();
    if !exists {
        // Two servers of one test may race to create it; the loser finds it made.
        let _ = client.batch_execute(&format!("CREATE DATABASE {name}"));
    }
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// The storage of data directory `data` on this run's backend.
pub fn open(data: &Path) -> Box<dyn Storage> {
    if on_postgres() {
        Box::new(domopt::service::store::postgres::PgStorage::connect(&database_for(data)).unwrap())
    } else {
        Box::new(domopt::service::store::sqlite::SqliteStorage::open(data).unwrap())
    }
}

/// Makes every insert into `table` (`windows` or `orders`) of data directory `data`
/// fail, as a database trigger on this run's backend, until [`clear_fault`].
pub fn inject_fault(data: &Path, table: &str) {
    if on_postgres() {
        on_postgres_db(
            data,
            &format!(
                "CREATE OR REPLACE FUNCTION injected_fault() RETURNS trigger AS
                 $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql;
                 CREATE TRIGGER fail_{table} BEFORE INSERT ON {table}
                 FOR EACH ROW EXECUTE FUNCTION injected_fault();"
            ),
        );
    } else {
        on_sqlite(
            data,
            table,
            &format!(
                "CREATE TRIGGER fail_{table} BEFORE INSERT ON {table}
                 BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
            ),
        );
    }
}

/// Removes the fault [`inject_fault`] put on `table`.
pub fn clear_fault(data: &Path, table: &str) {
    if on_postgres() {
        on_postgres_db(data, &format!("DROP TRIGGER fail_{table} ON {table};"));
    } else {
        on_sqlite(data, table, &format!("DROP TRIGGER fail_{table};"));
    }
}

/// Runs `sql` on the SQLite file holding `table` (orders live in the intake).
fn on_sqlite(data: &Path, table: &str, sql: &str) {
    let file = if table == "orders" {
        "intake.sqlite"
    } else {
        "ledger.sqlite"
    };
    let conn = rusqlite::Connection::open(data.join(file)).expect("the database opens");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn.execute_batch(sql).expect("the statement runs");
}

/// Runs `sql` on the PostgreSQL database of `data`, from a thread of its own.
fn on_postgres_db(data: &Path, sql: &str) {
    let (url, sql) = (database_for(data), sql.to_string());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("the database opens");
        c.batch_execute(&sql).expect("the statement runs");
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

/// True (after saying why on stderr) when this run is on PostgreSQL and the calling
/// test checks something only the embedded backend has (`what`); the SQLite run of
/// the suite runs it.
pub fn sqlite_only(what: &str) -> bool {
    if on_postgres() {
        eprintln!("not run on PostgreSQL: {what} belongs to the embedded SQLite backend");
    }
    on_postgres()
}
