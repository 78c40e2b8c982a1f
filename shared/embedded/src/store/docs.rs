//! The `docs` table every record kind shares: a JSON body keyed by (kind,
//! id) with the index columns its access patterns need, read and written
//! here for every kind.

use chrono::{DateTime, Utc};
use outreach_app::ports::{MAX_RECORD_BYTES, Page, PageRequest, StoreError, Versioned};
use rusqlite::{Connection, OptionalExtension, Params, Row, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::Cached;

pub(super) const ACCOUNT: &str = "account";
pub(super) const CANDIDATE: &str = "candidate";
pub(super) const PROJECT: &str = "project";
pub(super) const TEMPLATE: &str = "template";
pub(super) const CAMPAIGN: &str = "campaign";
pub(super) const ENROLLMENT: &str = "enrollment";
pub(super) const USER: &str = "user";
pub(super) const NOTIFICATION: &str = "notification";
pub(super) const RECORD: &str = "record";

/// The index columns of one document.
pub(super) struct Keys<'a> {
    pub(super) kind: &'static str,
    pub(super) id: &'a str,
    pub(super) org: &'a str,
    pub(super) parent: &'a str,
    pub(super) lookup: Option<String>,
    pub(super) due_at: Option<i64>,
}

impl<'a> Keys<'a> {
    /// A document of `org`, listed under no parent and found only by its id.
    pub(super) fn of(kind: &'static str, id: &'a str, org: &'a str) -> Self {
        Keys {
            kind,
            id,
            org,
            parent: "",
            lookup: None,
            due_at: None,
        }
    }

    /// Listed under `parent` (a project's campaigns, an owner's accounts).
    pub(super) fn under(self, parent: &'a str) -> Self {
        Keys { parent, ..self }
    }

    /// Found by `lookup` too (an account by owner and address, a campaign by sender).
    pub(super) fn found_by(self, lookup: String) -> Self {
        Keys {
            lookup: Some(lookup),
            ..self
        }
    }
}

/// Every SQLite or JSON failure is the port's `Unavailable`: none is the caller's fault.
pub(super) fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A record as the JSON its row keeps, refused like DynamoDB refuses an
/// item over its limit (`TooLarge`, nothing written): local mode keeps
/// nothing DynamoDB could not.
pub(super) fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    let body = serde_json::to_string(value).map_err(err)?;
    if body.len() > MAX_RECORD_BYTES {
        return Err(StoreError::TooLarge);
    }
    Ok(body)
}

/// Due times are epoch milliseconds, so that SQLite compares them as numbers.
pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A document by kind and id; with `org`, only if that organization owns it.
/// A campaign's body gets its counter column, the only truth about the count.
pub(super) fn get_doc<T: DeserializeOwned>(
    conn: &Connection,
    kind: &str,
    org: Option<&str>,
    id: &str,
) -> Result<Option<Versioned<T>>, StoreError> {
    let row: Option<(String, String, i64, i64)> = conn
        .query_row_cached(
            "SELECT org, body, version, counter FROM docs WHERE kind = ?1 AND id = ?2",
            params![kind, id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(err)?;
    match row {
        // A foreign id reads exactly as an unknown one.
        Some((row_org, _, _, _)) if org.is_some_and(|o| o != row_org) => Ok(None),
        Some((_, body, version, counter)) => Ok(Some(Versioned {
            value: decode(kind, &body, counter)?,
            version: version as u64,
        })),
        None => Ok(None),
    }
}

/// A document's body; a campaign's gets its counter column, the only truth
/// about its active enrollments. Any other kind is read straight into its
/// type, without a `Value` in between (issue 20).
fn decode<T: DeserializeOwned>(kind: &str, body: &str, counter: i64) -> Result<T, StoreError> {
    if kind != CAMPAIGN {
        return serde_json::from_str(body).map_err(err);
    }
    let mut value: serde_json::Value = serde_json::from_str(body).map_err(err)?;
    value["active_enrollments"] = counter.into();
    serde_json::from_value(value).map_err(err)
}

/// Creates (`expected: None`) or replaces version `expected` of a document.
pub(super) fn put_doc<T: Serialize>(
    conn: &Connection,
    keys: &Keys<'_>,
    value: &T,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let body = encode(value)?;
    match expected {
        None => {
            let inserted = conn
                .execute_cached(
                    "INSERT INTO docs (kind, id, org, parent, lookup, version, due_at, body) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)
                     ON CONFLICT(kind, id) DO NOTHING",
                    params![keys.kind, keys.id, keys.org, keys.parent, keys.lookup, keys.due_at, body],
                )
                .map_err(err)?;
            if inserted == 0 {
                Err(StoreError::Conflict)
            } else {
                Ok(1)
            }
        }
        Some(v) => {
            // Most writes keep a document's parent and lookup (an enrollment's
            // campaign and candidate): then the indexes on them are left alone
            // (SQLite rewrites the index entries of every column it sets, a
            // page written each, issue 8). Otherwise, or on a stale version,
            // the full update below decides.
            let kept = conn
                .execute_cached(
                    "UPDATE docs SET body = ?1, due_at = ?2, version = version + 1
                     WHERE kind = ?3 AND id = ?4 AND org = ?5 AND version = ?6 AND parent = ?7 AND lookup IS ?8",
                    params![body, keys.due_at, keys.kind, keys.id, keys.org, v as i64, keys.parent, keys.lookup],
                )
                .map_err(err)?;
            if kept == 1 {
                return Ok(v + 1);
            }
            let updated = conn
                .execute_cached(
                    "UPDATE docs SET body = ?1, lookup = ?2, due_at = ?3, parent = ?4, version = version + 1
                     WHERE kind = ?5 AND id = ?6 AND org = ?7 AND version = ?8",
                    params![body, keys.lookup, keys.due_at, keys.parent, keys.kind, keys.id, keys.org, v as i64],
                )
                .map_err(err)?;
            if updated == 0 {
                Err(StoreError::Conflict)
            } else {
                Ok(v + 1)
            }
        }
    }
}

/// Replaces a document whatever its version (records no rule depends on racing).
pub(super) fn upsert_doc<T: Serialize>(
    conn: &Connection,
    keys: &Keys<'_>,
    value: &T,
) -> Result<(), StoreError> {
    let body = encode(value)?;
    conn.execute_cached(
        "INSERT INTO docs (kind, id, org, parent, lookup, version, due_at, body) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)
         ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body, lookup = excluded.lookup, version = docs.version + 1",
        params![keys.kind, keys.id, keys.org, keys.parent, keys.lookup, keys.due_at, body],
    )
    .map_err(err)?;
    Ok(())
}

/// One page of a parent's documents in id order; one row more than asked
/// tells whether more follow, and the cursor is the last id.
pub(super) fn list_docs<T: DeserializeOwned>(
    conn: &Connection,
    kind: &str,
    org: &str,
    parent: &str,
    page: &PageRequest,
) -> Result<Page<T>, StoreError> {
    let limit = page.limit.max(1) as i64;
    let after = page.after.clone().unwrap_or_default();
    let rows = read_rows(
        conn,
        "SELECT id, body, counter FROM docs WHERE kind = ?1 AND org = ?2 AND parent = ?3 AND id > ?4 ORDER BY id LIMIT ?5",
        params![kind, org, parent, after, limit + 1],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )?;
    let items = rows
        .into_iter()
        .map(|(id, body, counter)| Ok((id, decode(kind, &body, counter)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(page_of(items, limit))
}

/// A page of rows read with one more than `limit`: the extra row only tells
/// that more follow, and the cursor is the id of the last row kept.
pub(super) fn page_of<T>(mut rows: Vec<(String, T)>, limit: i64) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|(id, _)| id.clone())
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(|(_, item)| item).collect(),
        next,
    }
}

/// Every row `sql` reads, each made by `row`.
pub(super) fn read_rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(err)?;
    let rows = stmt.query_map(params, row).map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

/// The JSON documents `sql` reads in its first column, decoded.
pub(super) fn read_bodies<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<Vec<T>, StoreError> {
    read_rows(conn, sql, params, |r| r.get::<_, String>(0))?
        .iter()
        .map(|body| serde_json::from_str(body).map_err(err))
        .collect()
}
