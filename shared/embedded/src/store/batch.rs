//! `get_batch` on SQLite: every lookup read under one hold of the
//! connection, each exactly as its own method reads it (a page of
//! enrollments reads its candidates and their suppression entries this way,
//! issue 20), rather than taking the connection once per item.

use outreach_app::model::UserProfile;
use outreach_app::ports::{Found, Lookup, StoreError};
use rusqlite::OptionalExtension;

use super::SqliteStore;
use super::docs::{ACCOUNT, CAMPAIGN, CANDIDATE, ENROLLMENT, RECORD, USER, err, get_doc};
use crate::db::Cached;

pub(super) async fn get_batch(
    store: &SqliteStore,
    lookups: &[Lookup],
) -> Result<Vec<Option<Found>>, StoreError> {
    let conn = store.db.lock();
    let mut out = Vec::with_capacity(lookups.len());
    for lookup in lookups {
        out.push(match lookup {
            Lookup::Enrollment(org, id) => {
                get_doc(&conn, ENROLLMENT, Some(org.as_str()), id.as_str())?
                    .map(|v| Found::Enrollment(Box::new(v)))
            }
            Lookup::Campaign(org, id) => get_doc(&conn, CAMPAIGN, Some(org.as_str()), id.as_str())?
                .map(|v| Found::Campaign(Box::new(v))),
            Lookup::Candidate(org, id) => {
                get_doc(&conn, CANDIDATE, Some(org.as_str()), id.as_str())?
                    .map(|v| Found::Candidate(Box::new(v)))
            }
            Lookup::Account(id) => {
                get_doc(&conn, ACCOUNT, None, id.as_str())?.map(|v| Found::Account(Box::new(v)))
            }
            Lookup::Suppressed(org, key) => conn
                .query_row_cached(
                    "SELECT 1 FROM suppressions WHERE org = ?1 AND key = ?2",
                    [org.as_str(), key],
                    |_| Ok(()),
                )
                .optional()
                .map_err(err)?
                .map(|()| Found::Suppressed),
            Lookup::Record(key) => get_doc(&conn, RECORD, None, key)?.map(Found::Record),
            Lookup::Counter(key) => {
                let value: Option<i64> = conn
                    .query_row_cached("SELECT value FROM counters WHERE key = ?1", [key], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(err)?;
                Some(Found::Counter(value.unwrap_or(0) as u64))
            }
            Lookup::User(org, id) => {
                // As `get_user` reads it.
                let key = format!("{org}|{id}");
                get_doc::<UserProfile>(&conn, USER, Some(org.as_str()), &key)?
                    .map(|v| Found::User(Box::new(v.value)))
            }
        });
    }
    Ok(out)
}
