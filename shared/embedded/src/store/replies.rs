//! Replies: one row each in `replies`, with the columns its
//! list filters on (project, campaign, class, unread) and its sort key
//! (arrival time, then id), so that a page is one indexed query newest first.
//! The suppression entries a reply's class caused are lifted here too.

use outreach_app::ports::{Page, PageRequest, StoreError, Versioned};
use outreach_app::reply::{Reply, ReplyFilter, reply_sort_key};
use outreach_app::stats;
use outreach_app::tally;
use outreach_domain::ids::{CandidateId, OrgId};
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use super::docs::{encode, err, page_of, read_rows};
use super::tally::move_stats;
use crate::db::Cached;

/// The row's filter columns: project (empty for a single message), class
/// (empty for an automatic reply), unread (0 or 1).
fn columns(r: &Reply) -> (&str, &str, i64) {
    let project = if r.single { "" } else { r.project_id.as_str() };
    let class = r.class.map_or("", |c| c.as_str());
    (project, class, i64::from(r.unread()))
}

pub(super) async fn create_reply(store: &SqliteStore, r: &Reply) -> Result<bool, StoreError> {
    let body = encode(r)?;
    let (project, class, unread) = columns(r);
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    let n = tx
        .execute_cached(
            "INSERT INTO replies (org, id, sort, project, campaign, class, unread, version, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8) ON CONFLICT(org, id) DO NOTHING",
            params![
                r.org_id.as_str(),
                r.id,
                reply_sort_key(r),
                project,
                r.campaign_id.as_str(),
                class,
                unread,
                body
            ],
        )
        .map_err(err)?;
    if n == 1 {
        // the reply's statistics, in the same transaction.
        let delta = tally::change(&[], &stats::counted_reply(r));
        move_stats(&tx, &r.org_id, &r.campaign_id, &delta)?;
    }
    tx.commit().map_err(err)?;
    Ok(n == 1)
}

pub(super) async fn get_reply(
    store: &SqliteStore,
    org: &OrgId,
    id: &str,
) -> Result<Option<Versioned<Reply>>, StoreError> {
    let row: Option<(String, i64)> = store
        .db
        .lock()
        .query_row_cached(
            "SELECT body, version FROM replies WHERE org = ?1 AND id = ?2",
            params![org.as_str(), id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(err)?;
    row.map(|(body, version)| {
        Ok(Versioned {
            value: serde_json::from_str(&body).map_err(err)?,
            version: version as u64,
        })
    })
    .transpose()
}

pub(super) async fn update_reply(
    store: &SqliteStore,
    r: &Reply,
    expected: u64,
) -> Result<u64, StoreError> {
    let body = encode(r)?;
    let (project, class, unread) = columns(r);
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    let before: Option<String> = tx
        .query_row_cached(
            "SELECT body FROM replies WHERE org = ?1 AND id = ?2 AND version = ?3",
            params![r.org_id.as_str(), r.id, expected as i64],
            |row| row.get(0),
        )
        .optional()
        .map_err(err)?;
    let Some(before) = before else {
        return Err(StoreError::Conflict);
    };
    let before: Reply = serde_json::from_str(&before).map_err(err)?;
    tx.execute_cached(
        "UPDATE replies SET project = ?3, campaign = ?4, class = ?5, unread = ?6, body = ?7, \
         version = version + 1 WHERE org = ?1 AND id = ?2 AND version = ?8",
        params![
            r.org_id.as_str(),
            r.id,
            project,
            r.campaign_id.as_str(),
            class,
            unread,
            body,
            expected as i64
        ],
    )
    .map_err(err)?;
    // a corrected class moves its statistics, in the same transaction.
    let delta = tally::change(&stats::counted_reply(&before), &stats::counted_reply(r));
    move_stats(&tx, &r.org_id, &r.campaign_id, &delta)?;
    tx.commit().map_err(err)?;
    Ok(expected + 1)
}

pub(super) async fn list_replies(
    store: &SqliteStore,
    org: &OrgId,
    filter: &ReplyFilter,
    page: &PageRequest,
) -> Result<Page<Reply>, StoreError> {
    let limit = i64::from(page.limit.max(1));
    // Past every sort key ('~' sorts after the digits of the time part).
    let before = page.after.clone().unwrap_or_else(|| "~".into());
    let rows = read_rows(
        &store.db.lock(),
        "SELECT sort, body FROM replies WHERE org = ?1 AND sort < ?2 \
         AND (?3 IS NULL OR (project = ?3 AND project <> '')) \
         AND (?4 IS NULL OR campaign = ?4) AND (?5 IS NULL OR class = ?5) \
         AND (?6 IS NULL OR unread = ?6) ORDER BY sort DESC LIMIT ?7",
        params![
            org.as_str(),
            before,
            filter.project_id,
            filter.campaign_id.as_ref().map(|c| c.as_str()),
            filter.class.map(|c| c.as_str()),
            filter.unread.map(i64::from),
            limit + 1
        ],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    let items = rows
        .into_iter()
        .map(|(sort, body)| Ok((sort, serde_json::from_str(&body).map_err(err)?)))
        .collect::<Result<Vec<(String, Reply)>, StoreError>>()?;
    Ok(page_of(items, limit))
}

/// the candidate's replies, by the index on the body's candidate.
pub(super) async fn replies_of_candidate(
    store: &SqliteStore,
    org: &OrgId,
    candidate: &CandidateId,
) -> Result<Vec<String>, StoreError> {
    read_rows(
        &store.db.lock(),
        "SELECT id FROM replies WHERE org = ?1 \
         AND json_extract(body, '$.candidate_id') = ?2 ORDER BY id",
        params![org.as_str(), candidate.as_str()],
        |r| r.get::<_, String>(0),
    )
}

pub(super) async fn lift_suppression(
    store: &SqliteStore,
    org: &OrgId,
    key: &str,
    reason: &str,
) -> Result<bool, StoreError> {
    let n = store
        .db
        .lock()
        .execute_cached(
            "DELETE FROM suppressions WHERE org = ?1 AND key = ?2 AND reason = ?3",
            params![org.as_str(), key, reason],
        )
        .map_err(err)?;
    Ok(n == 1)
}
