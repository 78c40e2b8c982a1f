//! What comes back: reply and unsubscribe tokens, candidates by
//! address, the suppression list, de-duplication markers of notifications
//! and the notifications shown to a project.

use chrono::{DateTime, Utc};
use outreach_app::model::Notification;
use outreach_app::ports::StoreError;
use outreach_domain::EmailAddress;
use outreach_domain::ids::{CandidateId, EnrollmentId, OrgId};
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use super::docs::{Keys, NOTIFICATION, err, ms, read_bodies, read_rows, upsert_doc};
use crate::db::Cached;

pub(super) async fn find_token(
    store: &SqliteStore,
    token: &str,
) -> Result<Option<(OrgId, EnrollmentId)>, StoreError> {
    store
        .db
        .lock()
        .query_row_cached(
            "SELECT org, enrollment FROM tokens WHERE token = ?1",
            [token],
            |r| {
                Ok((
                    OrgId::new(r.get::<_, String>(0)?),
                    EnrollmentId::new(r.get::<_, String>(1)?),
                ))
            },
        )
        .optional()
        .map_err(err)
}

pub(super) async fn candidates_with_address(
    store: &SqliteStore,
    org: &OrgId,
    address: &EmailAddress,
) -> Result<Vec<CandidateId>, StoreError> {
    read_rows(
        &store.db.lock(),
        "SELECT candidate FROM candidate_addresses WHERE org = ?1 AND address = ?2 ORDER BY candidate",
        params![org.as_str(), address.as_str()],
        |r| Ok(CandidateId::new(r.get::<_, String>(0)?)),
    )
}

/// `true` only for the call whose insert created the row.
pub(super) async fn suppress(
    store: &SqliteStore,
    org: &OrgId,
    key: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let conn = store.db.lock();
    let n = conn
        .execute_cached(
            "INSERT INTO suppressions (org, key, reason, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(org, key) DO NOTHING",
            params![org.as_str(), key, reason, now.to_rfc3339()],
        )
        .map_err(err)?;
    if n == 0 && !reason.starts_with("reply:") {
        // the person's own stop takes over an entry a reply's class
        // caused, which a correction of that class then leaves in place.
        conn.execute_cached(
            "UPDATE suppressions SET reason = ?3 WHERE org = ?1 AND key = ?2 AND reason LIKE 'reply:%'",
            params![org.as_str(), key, reason],
        )
        .map_err(err)?;
    }
    Ok(n == 1)
}

pub(super) async fn is_suppressed(
    store: &SqliteStore,
    org: &OrgId,
    key: &str,
) -> Result<bool, StoreError> {
    Ok(store
        .db
        .lock()
        .query_row_cached(
            "SELECT 1 FROM suppressions WHERE org = ?1 AND key = ?2",
            [org.as_str(), key],
            |_| Ok(true),
        )
        .optional()
        .map_err(err)?
        .unwrap_or(false))
}

/// `true` only for the call whose insert created the marker.
pub(super) async fn first_time(
    store: &SqliteStore,
    key: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = store
        .db
        .lock()
        .execute_cached(
            "INSERT INTO seen (key, expires_at) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
            params![key, ms(expires_at)],
        )
        .map_err(err)?;
    Ok(n == 1)
}

pub(super) async fn put_notification(
    store: &SqliteStore,
    n: &Notification,
) -> Result<(), StoreError> {
    let keys = Keys::of(NOTIFICATION, &n.id, n.org_id.as_str()).under(&n.project_id);
    upsert_doc(&store.db.lock(), &keys, n)
}

/// A project's notifications, all of them (no cap: DynamoDB answers them
/// all too), newest first.
pub(super) async fn list_notifications(
    store: &SqliteStore,
    org: &OrgId,
    project: &str,
) -> Result<Vec<Notification>, StoreError> {
    let mut all: Vec<Notification> = read_bodies(
        &store.db.lock(),
        "SELECT body FROM docs WHERE kind = ?1 AND org = ?2 AND parent = ?3",
        params![NOTIFICATION, org.as_str(), project],
    )?;
    all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(all)
}
