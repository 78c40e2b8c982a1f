//! The Outreach view's counts (R-11.1, issue 19 item 7): one row per
//! campaign and counter, moved in the transaction of every enrollment write
//! by what the write changes ([`outreach_app::tally`]).

use outreach_app::ports::StoreError;
use outreach_app::tally::{self, Tally};
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{CampaignId, OrgId};
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use super::docs::{ENROLLMENT, err, read_rows};
use crate::db::Cached;

/// What the stored version of `e` counts (nothing when it is new), read
/// inside the writing transaction.
pub(super) fn counted_before(conn: &Connection, e: &Enrollment) -> Result<Vec<String>, StoreError> {
    let body: Option<String> = conn
        .query_row_cached(
            "SELECT body FROM docs WHERE kind = ?1 AND id = ?2 AND org = ?3",
            params![ENROLLMENT, e.id.as_str(), e.org_id.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?;
    match body {
        Some(b) => {
            let before: Enrollment = serde_json::from_str(&b).map_err(err)?;
            Ok(tally::counted(&before))
        }
        None => Ok(Vec::new()),
    }
}

/// Moves the counts of `e`'s campaign by `delta`.
pub(super) fn move_tally(
    conn: &Connection,
    e: &Enrollment,
    delta: &Tally,
) -> Result<(), StoreError> {
    for (name, d) in delta {
        conn.execute_cached(
            "INSERT INTO tallies (org, campaign, name, value) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(org, campaign, name) DO UPDATE SET value = value + excluded.value",
            params![e.org_id.as_str(), e.campaign_id.as_str(), name, d],
        )
        .map_err(err)?;
    }
    Ok(())
}

pub(super) async fn campaign_tally(
    store: &SqliteStore,
    org: &OrgId,
    campaign: &CampaignId,
) -> Result<Tally, StoreError> {
    let rows = read_rows(
        &store.db.lock(),
        "SELECT name, value FROM tallies WHERE org = ?1 AND campaign = ?2 AND value != 0",
        params![org.as_str(), campaign.as_str()],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
    )?;
    Ok(rows.into_iter().collect())
}
