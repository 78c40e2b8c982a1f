//! What a send records: an enrollment's events, kept apart so
//! an enrollment stays small, and a handed-off message under both of its ids;
//! a hand-off writes them with the enrollment in one transaction.

use outreach_app::model::{EnrollmentEvent, MessageRef};
use outreach_app::ports::{Activity, StoreError};
use outreach_domain::EmailAddress;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{EnrollmentId, OrgId};
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use super::campaigns::write_enrollment;
use super::docs::{encode, err, read_bodies};
use crate::db::Cached;

/// Events are listed in the order of their times, then of their rows (as
/// DynamoDB sorts them by time, then by arrival).
fn insert_event(conn: &Connection, event: &EnrollmentEvent) -> Result<(), StoreError> {
    let body = encode(event)?;
    conn.execute_cached(
        "INSERT INTO events (org, enrollment, body) VALUES (?1, ?2, ?3)",
        params![event.org_id.as_str(), event.enrollment_id.as_str(), body],
    )
    .map_err(err)?;
    Ok(())
}

/// A handed-off message under both of its ids.
fn insert_message(conn: &Connection, m: &MessageRef) -> Result<(), StoreError> {
    let body = encode(m)?;
    for id in [&m.message_id, &m.rfc822_message_id] {
        conn.execute_cached(
            "INSERT INTO messages (id, to_addr, body) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
            params![id, m.to.as_str(), body],
        )
        .map_err(err)?;
    }
    Ok(())
}

pub(super) async fn append_event(
    store: &SqliteStore,
    event: &EnrollmentEvent,
) -> Result<(), StoreError> {
    insert_event(&store.db.lock(), event)
}

/// The enrollment, the count, the event, the message and its send counters
/// in one transaction.
pub(super) async fn update_enrollment_recording(
    store: &SqliteStore,
    e: &Enrollment,
    expected: u64,
    activity: Activity,
    event: &EnrollmentEvent,
    message: Option<&MessageRef>,
    counters: &[String],
) -> Result<u64, StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    let v = write_enrollment(&tx, e, expected, activity)?;
    insert_event(&tx, event)?;
    if let Some(m) = message {
        insert_message(&tx, m)?;
    }
    for key in counters {
        super::records::increment(&tx, key)?;
    }
    tx.commit().map_err(err)?;
    Ok(v)
}

pub(super) async fn list_events(
    store: &SqliteStore,
    org: &OrgId,
    enrollment: &EnrollmentId,
    limit: u32,
) -> Result<Vec<EnrollmentEvent>, StoreError> {
    // An enrollment's events are few: all of them, put in time order (the
    // sort is stable, so events of one instant keep the order of their rows).
    let mut events: Vec<EnrollmentEvent> = read_bodies(
        &store.db.lock(),
        "SELECT body FROM events WHERE org = ?1 AND enrollment = ?2 ORDER BY seq",
        params![org.as_str(), enrollment.as_str()],
    )?;
    events.sort_by_key(|e| e.at);
    events.truncate(limit as usize);
    Ok(events)
}

pub(super) async fn index_message(store: &SqliteStore, m: &MessageRef) -> Result<(), StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    insert_message(&tx, m)?;
    tx.commit().map_err(err)
}

/// Either id, with or without the angle brackets of a Message-ID header.
pub(super) async fn find_message(
    store: &SqliteStore,
    id: &str,
) -> Result<Option<MessageRef>, StoreError> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let body: Option<String> = store
        .db
        .lock()
        .query_row_cached("SELECT body FROM messages WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(err)?;
    body.map(|b| serde_json::from_str(&b).map_err(err))
        .transpose()
}

pub(super) async fn messages_to(
    store: &SqliteStore,
    address: &EmailAddress,
    limit: u32,
) -> Result<Vec<MessageRef>, StoreError> {
    // Each message is indexed under two ids; the Message-ID form contains '@'.
    read_bodies(
        &store.db.lock(),
        "SELECT body FROM messages WHERE to_addr = ?1 AND id NOT LIKE '%@%' ORDER BY rowid DESC LIMIT ?2",
        params![address.as_str(), limit as i64],
    )
}
