//! Campaigns and their enrollments: the campaign's active-enrollment
//! counter moved in the same transaction as the enrollment write, the lookups
//! by candidate and sender, and the due enrollments the sweeper reads.

use chrono::{DateTime, Utc};
use outreach_app::ports::{Activity, CompletionCheck, Page, PageRequest, StoreError, Versioned};
use outreach_app::tally;
use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId};
use rusqlite::{OptionalExtension, Transaction, params};

use super::SqliteStore;
use super::docs::{CAMPAIGN, ENROLLMENT, Keys, err, get_doc, list_docs, ms, put_doc, read_rows};
use super::tally::{counted_before, move_tally};
use crate::db::Cached;

/// An enrollment is listed under its campaign, found by its candidate, and
/// in the due index while something is due.
pub(super) fn enrollment_keys(e: &Enrollment) -> Keys<'_> {
    Keys {
        kind: ENROLLMENT,
        id: e.id.as_str(),
        org: e.org_id.as_str(),
        parent: e.campaign_id.as_str(),
        lookup: Some(e.candidate_id.to_string()),
        due_at: e.next_due_at.map(ms),
    }
}

/// Moves a campaign's active count; its version moves too, so that a campaign
/// read before cannot be written back over the change.
pub(super) fn adjust_counter(
    tx: &Transaction<'_>,
    campaign: &CampaignId,
    delta: i64,
) -> Result<(), StoreError> {
    tx.execute_cached(
        "UPDATE docs SET counter = counter + ?1, version = version + 1 WHERE kind = ?2 AND id = ?3",
        params![delta, CAMPAIGN, campaign.as_str()],
    )
    .map_err(err)?;
    if delta < 0 {
        // An enrollment ended: the campaign's completion check (issue 19),
        // in the same transaction, so that it outlives a handler that dies.
        tx.execute_cached(
            "INSERT OR IGNORE INTO completion_checks (org, campaign)
             SELECT org, id FROM docs WHERE kind = ?1 AND id = ?2",
            params![CAMPAIGN, campaign.as_str()],
        )
        .map_err(err)?;
    }
    Ok(())
}

/// The pending completion checks (one shard: the embedded store's due index has one).
pub(super) async fn list_completion_checks(
    store: &SqliteStore,
    shard: u32,
    limit: u32,
) -> Result<Vec<CompletionCheck>, StoreError> {
    if shard != 0 {
        return Ok(Vec::new());
    }
    read_rows(
        &store.db.lock(),
        "SELECT org, campaign FROM completion_checks ORDER BY org, campaign LIMIT ?1",
        params![limit as i64],
        |r| {
            Ok(CompletionCheck {
                org: OrgId::new(r.get::<_, String>(0)?),
                campaign: CampaignId::new(r.get::<_, String>(1)?),
                part: 0,
            })
        },
    )
}

/// Removes a check while the campaign is still at `version` (every end moves it).
pub(super) async fn clear_completion_check(
    store: &SqliteStore,
    check: &CompletionCheck,
    version: u64,
) -> Result<bool, StoreError> {
    let removed = store
        .db
        .lock()
        .execute_cached(
            "DELETE FROM completion_checks WHERE org = ?1 AND campaign = ?2 AND EXISTS
             (SELECT 1 FROM docs WHERE kind = ?3 AND id = ?2 AND org = ?1 AND version = ?4)",
            params![
                check.org.as_str(),
                check.campaign.as_str(),
                CAMPAIGN,
                version as i64
            ],
        )
        .map_err(err)?;
    Ok(removed > 0)
}

pub(super) async fn get_campaign(
    store: &SqliteStore,
    org: &OrgId,
    id: &CampaignId,
) -> Result<Option<Versioned<Campaign>>, StoreError> {
    get_doc(&store.db.lock(), CAMPAIGN, Some(org.as_str()), id.as_str())
}

pub(super) async fn put_campaign(
    store: &SqliteStore,
    c: &Campaign,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let keys = Keys::of(CAMPAIGN, c.id.as_str(), c.org_id.as_str())
        .under(c.project_id.as_str())
        .found_by(c.sender_account_id.to_string());
    put_doc(&store.db.lock(), &keys, c, expected)
}

pub(super) async fn list_campaigns(
    store: &SqliteStore,
    org: &OrgId,
    project: &str,
    page: &PageRequest,
) -> Result<Page<Campaign>, StoreError> {
    list_docs(&store.db.lock(), CAMPAIGN, org.as_str(), project, page)
}

pub(super) async fn campaigns_using(
    store: &SqliteStore,
    account: &AccountId,
) -> Result<Vec<(OrgId, CampaignId)>, StoreError> {
    read_rows(
        &store.db.lock(),
        "SELECT org, id FROM docs WHERE kind = ?1 AND lookup = ?2 ORDER BY id",
        params![CAMPAIGN, account.as_str()],
        |r| {
            Ok((
                OrgId::new(r.get::<_, String>(0)?),
                CampaignId::new(r.get::<_, String>(1)?),
            ))
        },
    )
}

pub(super) async fn get_enrollment(
    store: &SqliteStore,
    org: &OrgId,
    id: &EnrollmentId,
) -> Result<Option<Versioned<Enrollment>>, StoreError> {
    get_doc(
        &store.db.lock(),
        ENROLLMENT,
        Some(org.as_str()),
        id.as_str(),
    )
}

/// A token already taken is a conflict, as an existing enrollment is; an
/// ended enrollment is not counted.
pub(super) async fn insert_enrollment(
    store: &SqliteStore,
    e: &Enrollment,
) -> Result<(), StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    put_doc(&tx, &enrollment_keys(e), e, None)?;
    move_tally(&tx, e, &tally::change(&[], &tally::counted_with_stats(e)))?;
    for token in [&e.reply_token, &e.unsubscribe_token] {
        tx.execute_cached(
            "INSERT INTO tokens (token, org, enrollment) VALUES (?1, ?2, ?3)",
            params![token, e.org_id.as_str(), e.id.as_str()],
        )
        .map_err(|x| match x {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Conflict
            }
            other => err(other),
        })?;
    }
    if !e.is_ended() {
        adjust_counter(&tx, &e.campaign_id, 1)?;
    }
    tx.commit().map_err(err)
}

pub(super) async fn update_enrollment(
    store: &SqliteStore,
    e: &Enrollment,
    expected: u64,
    activity: Activity,
) -> Result<u64, StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    let v = write_enrollment(&tx, e, expected, activity)?;
    tx.commit().map_err(err)?;
    Ok(v)
}

/// Writes the enrollment over version `expected` and moves the campaign's
/// count of active enrollments with it, inside the caller's transaction.
pub(super) fn write_enrollment(
    tx: &rusqlite::Transaction<'_>,
    e: &Enrollment,
    expected: u64,
    activity: Activity,
) -> Result<u64, StoreError> {
    let before = counted_before(tx, e)?;
    let v = put_doc(tx, &enrollment_keys(e), e, Some(expected))?;
    move_tally(
        tx,
        e,
        &tally::change(&before, &tally::counted_with_stats(e)),
    )?;
    if activity != Activity::Unchanged {
        adjust_counter(tx, &e.campaign_id, activity.delta())?;
    }
    Ok(v)
}

pub(super) async fn list_enrollments(
    store: &SqliteStore,
    org: &OrgId,
    campaign: &CampaignId,
    page: &PageRequest,
) -> Result<Page<Enrollment>, StoreError> {
    list_docs(
        &store.db.lock(),
        ENROLLMENT,
        org.as_str(),
        campaign.as_str(),
        page,
    )
}

/// SQLite reads what it wrote: the same list.
pub(super) async fn list_enrollments_consistent(
    store: &SqliteStore,
    org: &OrgId,
    campaign: &CampaignId,
    page: &PageRequest,
) -> Result<Page<Enrollment>, StoreError> {
    list_enrollments(store, org, campaign, page).await
}

/// An enrollment's lookup column is its candidate and its parent its campaign.
pub(super) async fn enrollment_of_candidate(
    store: &SqliteStore,
    org: &OrgId,
    campaign: &CampaignId,
    candidate: &CandidateId,
) -> Result<Option<EnrollmentId>, StoreError> {
    let conn = store.db.lock();
    conn.query_row_cached(
        "SELECT id FROM docs WHERE kind = ?1 AND org = ?2 AND lookup = ?3 AND parent = ?4 LIMIT 1",
        params![
            ENROLLMENT,
            org.as_str(),
            candidate.as_str(),
            campaign.as_str()
        ],
        |r| Ok(EnrollmentId::new(r.get::<_, String>(0)?)),
    )
    .optional()
    .map_err(err)
}

pub(super) async fn enrollments_of_candidate_in_org(
    store: &SqliteStore,
    org: &OrgId,
    candidate: &CandidateId,
) -> Result<Vec<EnrollmentId>, StoreError> {
    read_rows(
        &store.db.lock(),
        "SELECT id FROM docs WHERE kind = ?1 AND org = ?2 AND lookup = ?3 ORDER BY id",
        params![ENROLLMENT, org.as_str(), candidate.as_str()],
        |r| Ok(EnrollmentId::new(r.get::<_, String>(0)?)),
    )
}

/// Due enrollments of every organization (the sweeper), earliest first, then by id.
pub(super) async fn list_due(
    store: &SqliteStore,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<(OrgId, EnrollmentId)>, StoreError> {
    read_rows(
        &store.db.lock(),
        "SELECT org, id FROM docs WHERE due_at IS NOT NULL AND due_at <= ?1 AND kind = ?2 ORDER BY due_at, id LIMIT ?3",
        params![ms(before), ENROLLMENT, limit as i64],
        |r| {
            Ok((
                OrgId::new(r.get::<_, String>(0)?),
                EnrollmentId::new(r.get::<_, String>(1)?),
            ))
        },
    )
}
