//! The one SQLite database of a data folder, shared by the local adapters.
//!
//! SQLite (bundled, through rusqlite) was chosen over redb because the store
//! needs secondary indexes (due times, lookups by candidate or address) and
//! multi-record transactions (enrollment + campaign counter, reveal + ledger),
//! which SQL gives directly; WAL mode keeps every committed write across a
//! `kill -9`.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

/// `execute` and `query_row` through the connection's statement cache: the
/// store runs a few dozen statements over and over, and parsing each one anew
/// was a tenth of a sent step's time (issue 8).
pub trait Cached {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// Room for every statement of the local adapters, so that none is evicted.
const STATEMENT_CACHE: usize = 128;

#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS docs (
    kind    TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    org     TEXT    NOT NULL,
    parent  TEXT    NOT NULL DEFAULT '',
    lookup  TEXT,
    version INTEGER NOT NULL,
    counter INTEGER NOT NULL DEFAULT 0,
    due_at  INTEGER,
    body    TEXT    NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS docs_by_parent ON docs (kind, org, parent, id);
CREATE TABLE IF NOT EXISTS completion_checks (
    org      TEXT NOT NULL,
    campaign TEXT NOT NULL,
    PRIMARY KEY (org, campaign)
);
CREATE TABLE IF NOT EXISTS orgs (
    org     TEXT PRIMARY KEY,
    balance INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reveals (
    org       TEXT NOT NULL,
    candidate TEXT NOT NULL,
    PRIMARY KEY (org, candidate)
);
CREATE TABLE IF NOT EXISTS ledger (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    org       TEXT NOT NULL,
    kind      TEXT NOT NULL,
    candidate TEXT,
    amount    INTEGER NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_by_org ON ledger (org, seq);
CREATE TABLE IF NOT EXISTS events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    org        TEXT NOT NULL,
    enrollment TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_enrollment ON events (org, enrollment, seq);
CREATE TABLE IF NOT EXISTS wakeups (
    name TEXT PRIMARY KEY,
    at   INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS wakeups_by_time ON wakeups (at, name);
CREATE TABLE IF NOT EXISTS outbox (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    id   TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token      TEXT PRIMARY KEY,
    org        TEXT NOT NULL,
    enrollment TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id      TEXT PRIMARY KEY,
    to_addr TEXT NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_recipient ON messages (to_addr);
CREATE TABLE IF NOT EXISTS candidate_addresses (
    org       TEXT NOT NULL,
    address   TEXT NOT NULL,
    candidate TEXT NOT NULL,
    PRIMARY KEY (org, address, candidate)
);
CREATE TABLE IF NOT EXISTS suppressions (
    org    TEXT NOT NULL,
    key    TEXT NOT NULL,
    reason TEXT NOT NULL,
    at     TEXT NOT NULL,
    PRIMARY KEY (org, key)
);
CREATE TABLE IF NOT EXISTS refunds (
    org       TEXT NOT NULL,
    candidate TEXT NOT NULL,
    PRIMARY KEY (org, candidate)
);
CREATE TABLE IF NOT EXISTS seen (
    key        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
-- The Outreach view's counts (R-11.1), moved with every enrollment write.
CREATE TABLE IF NOT EXISTS tallies (
    org      TEXT NOT NULL,
    campaign TEXT NOT NULL,
    name     TEXT NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (org, campaign, name)
);
-- The statistics (R-11.3): a campaign's counters per quarter hour, moved
-- with every enrollment and reply write; read by bucket range.
CREATE TABLE IF NOT EXISTS stats (
    org      TEXT NOT NULL,
    bucket   TEXT NOT NULL,
    campaign TEXT NOT NULL,
    name     TEXT NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (org, bucket, campaign, name)
);
CREATE TABLE IF NOT EXISTS counters (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
-- The daily limits' counts (R-6.7): a sender account's messages of a day
-- (campaign '') and each campaign's among them.
CREATE TABLE IF NOT EXISTS daily_counts (
    account  TEXT NOT NULL,
    day      TEXT NOT NULL,
    campaign TEXT NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (account, day, campaign)
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Every index ends with the column the queries order by, so that SQLite never
-- walks a whole kind or organization or sorts it (tests/query_plans.rs). The
-- first three replace indexes of earlier data folders, dropped here.
DROP INDEX IF EXISTS docs_by_due;
DROP INDEX IF EXISTS docs_by_lookup;
DROP INDEX IF EXISTS docs_by_any_org_lookup;
CREATE INDEX IF NOT EXISTS docs_by_kind_due ON docs (kind, due_at, id) WHERE due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS docs_by_org_lookup ON docs (kind, org, lookup, id);
CREATE INDEX IF NOT EXISTS docs_by_any_org_lookup_id ON docs (kind, lookup, id);
CREATE INDEX IF NOT EXISTS candidate_addresses_by_candidate ON candidate_addresses (org, candidate);
-- Replies (R-9.9, R-11.2): the columns their list filters on, and its order
-- (`sort`: arrival time in zero-padded milliseconds, then the id), newest first.
CREATE TABLE IF NOT EXISTS replies (
    org      TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    sort     TEXT    NOT NULL,
    project  TEXT    NOT NULL,
    campaign TEXT    NOT NULL,
    class    TEXT    NOT NULL,
    unread   INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    body     TEXT    NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE INDEX IF NOT EXISTS replies_by_time ON replies (org, sort);
CREATE INDEX IF NOT EXISTS replies_by_campaign ON replies (org, campaign, sort);
CREATE INDEX IF NOT EXISTS replies_by_project ON replies (org, project, sort);
-- A candidate's replies, which erasure blanks (R-3.6): by the body's
-- candidate, so that data folders made before need no new column.
CREATE INDEX IF NOT EXISTS replies_by_candidate ON replies (org, json_extract(body, '$.candidate_id'), id);
"#;

impl Db {
    pub fn open(path: &Path) -> rusqlite::Result<Db> {
        let conn = Connection::open(path)?;
        let db = Self::init(conn)?;
        // Takes the data folder's lock now (a write), so that a second process
        // is refused when it opens, not at its first write.
        db.lock().execute_batch("BEGIN IMMEDIATE; COMMIT;")?;
        Ok(db)
    }

    pub fn in_memory() -> rusqlite::Result<Db> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> rusqlite::Result<Db> {
        // One process owns a data folder: the lock is taken once and held, so
        // a transaction takes no file locks and the WAL index lives in memory
        // (issue 8), and a second `outreach-local` on the same folder is
        // refused instead of running the same wake-ups.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        // WAL with NORMAL sync survives a process crash (kill -9) with every
        // committed transaction; only a power loss could lose the last ones.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Checkpoints every 10,000 pages (40 MB of WAL) rather than 1,000: a
        // page written by many transactions goes to the database file once,
        // not once for each (issue 8).
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.execute_batch(SCHEMA)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The connection, for one short synchronous use (never held across an await).
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the database holds any record of the service (anything but
    /// its clock): a data folder in use, not one just made.
    pub fn has_data(&self) -> rusqlite::Result<bool> {
        self.lock().query_row(
            "SELECT EXISTS (SELECT 1 FROM docs) OR EXISTS (SELECT 1 FROM orgs) \
             OR EXISTS (SELECT 1 FROM suppressions) OR EXISTS (SELECT 1 FROM outbox)",
            [],
            |r| r.get(0),
        )
    }

    pub fn get_meta(&self, key: &str) -> rusqlite::Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.lock()
            .query_row_cached("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    }

    pub fn set_meta(&self, key: &str, value: &str) -> rusqlite::Result<()> {
        self.lock().execute_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}
