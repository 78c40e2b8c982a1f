//! Keyed records (the reputation windows, R-2.5) and counters, apart from
//! each other: a counter is one row incremented in place.

use outreach_app::ports::{StoreError, Versioned};
use rusqlite::{Connection, OptionalExtension};

use super::SqliteStore;
use super::docs::{Keys, RECORD, err, get_doc, put_doc};
use crate::db::Cached;

/// Adds one to a counter (created at zero) and returns the new value.
pub(super) fn increment(conn: &Connection, key: &str) -> Result<u64, StoreError> {
    let value: i64 = conn
        .query_row_cached(
            "INSERT INTO counters (key, value) VALUES (?1, 1) ON CONFLICT(key) DO UPDATE SET value = value + 1 RETURNING value",
            [key],
            |r| r.get(0),
        )
        .map_err(err)?;
    Ok(value as u64)
}

pub(super) async fn get_record(
    store: &SqliteStore,
    key: &str,
) -> Result<Option<Versioned<serde_json::Value>>, StoreError> {
    get_doc(&store.db.lock(), RECORD, None, key)
}

/// Records belong to no organization: their keys are global.
pub(super) async fn put_record(
    store: &SqliteStore,
    key: &str,
    value: &serde_json::Value,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let keys = Keys::of(RECORD, key, "");
    put_doc(&store.db.lock(), &keys, value, expected)
}

pub(super) async fn increment_counter(store: &SqliteStore, key: &str) -> Result<u64, StoreError> {
    increment(&store.db.lock(), key)
}

/// One transaction for all, so that they move together or not at all.
pub(super) async fn increment_counters(
    store: &SqliteStore,
    keys: &[String],
) -> Result<Vec<u64>, StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    let mut values = Vec::with_capacity(keys.len());
    for key in keys {
        values.push(increment(&tx, key)?);
    }
    tx.commit().map_err(err)?;
    Ok(values)
}

pub(super) async fn read_counter(store: &SqliteStore, key: &str) -> Result<u64, StoreError> {
    let value: Option<i64> = store
        .db
        .lock()
        .query_row_cached("SELECT value FROM counters WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()
        .map_err(err)?;
    Ok(value.unwrap_or(0) as u64)
}
