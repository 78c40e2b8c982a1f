//! The Outreach view's counts (R-11.1, issue 19 item 7): one row per
//! campaign and counter, moved in the transaction of every enrollment write
//! by what the write changes ([`outreach_app::tally`]).

use outreach_app::ports::StoreError;
use outreach_app::stats;
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
            Ok(tally::counted_with_stats(&before))
        }
        None => Ok(Vec::new()),
    }
}

/// Moves the counts of `e`'s campaign by `delta`: the Outreach view's in
/// `tallies`, the statistics' in `stats` (by bucket).
pub(super) fn move_tally(
    conn: &Connection,
    e: &Enrollment,
    delta: &Tally,
) -> Result<(), StoreError> {
    for (name, d) in delta {
        if stats::split(name).is_some() {
            continue;
        }
        conn.execute_cached(
            "INSERT INTO tallies (org, campaign, name, value) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(org, campaign, name) DO UPDATE SET value = value + excluded.value",
            params![e.org_id.as_str(), e.campaign_id.as_str(), name, d],
        )
        .map_err(err)?;
    }
    move_stats(conn, &e.org_id, &e.campaign_id, delta)
}

/// Moves a campaign's statistics counters by the ones in `delta`.
pub(super) fn move_stats(
    conn: &Connection,
    org: &OrgId,
    campaign: &CampaignId,
    delta: &Tally,
) -> Result<(), StoreError> {
    for (name, d) in delta {
        let Some((bucket, counter)) = stats::split(name) else {
            continue;
        };
        conn.execute_cached(
            "INSERT INTO stats (org, bucket, campaign, name, value) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(org, bucket, campaign, name) DO UPDATE SET value = value + excluded.value",
            params![org.as_str(), bucket, campaign.as_str(), counter, d],
        )
        .map_err(err)?;
    }
    Ok(())
}

/// The organization's statistics counters in the buckets `[from, to)`, by
/// campaign (`@{bucket}@{step}:{metric}` → count).
pub(super) async fn stats_counters(
    store: &SqliteStore,
    org: &OrgId,
    from: &str,
    to: &str,
) -> Result<Vec<(CampaignId, Tally)>, StoreError> {
    let rows = read_rows(
        &store.db.lock(),
        "SELECT campaign, bucket, name, value FROM stats \
         WHERE org = ?1 AND bucket >= ?2 AND bucket < ?3 AND value != 0",
        params![org.as_str(), from, to],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        },
    )?;
    let mut by_campaign: std::collections::BTreeMap<String, Tally> = Default::default();
    for (campaign, bucket, name, value) in rows {
        let key = format!("{}{bucket}{}{name}", stats::PREFIX, stats::PREFIX);
        by_campaign.entry(campaign).or_default().insert(key, value);
    }
    Ok(by_campaign
        .into_iter()
        .map(|(c, t)| (CampaignId::new(c), t))
        .collect())
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
