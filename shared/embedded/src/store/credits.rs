//! Organizations and credits: a balance per organization, a
//! reveal and a refund marker per candidate, and the ledger, each movement one
//! transaction.

use chrono::{DateTime, Utc};
use outreach_app::model::{LedgerEntry, LedgerKind};
use outreach_app::ports::{Page, PageRequest, RevealOutcome, StoreError};
use outreach_domain::ids::{CandidateId, OrgId};
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use super::docs::{err, page_of, read_rows};
use crate::db::Cached;

/// Appends a ledger entry in the caller's transaction; `seq` is the table's
/// own increasing number, which is all the port promises.
fn add_ledger(
    tx: &Connection,
    org: &OrgId,
    kind: LedgerKind,
    candidate: Option<&CandidateId>,
    amount: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let kind = serde_json::to_value(kind).map_err(err)?;
    tx.execute_cached(
        "INSERT INTO ledger (org, kind, candidate, amount, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            org.as_str(),
            kind.as_str().unwrap_or_default(),
            candidate.map(|c| c.as_str()),
            amount,
            at.to_rfc3339()
        ],
    )
    .map_err(err)?;
    Ok(())
}

/// Only the call that creates the organization grants its initial credits.
pub(super) async fn ensure_org(
    store: &SqliteStore,
    org: &OrgId,
    initial_credits: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    let created = tx
        .execute_cached(
            "INSERT INTO orgs (org, balance) VALUES (?1, ?2) ON CONFLICT(org) DO NOTHING",
            params![org.as_str(), initial_credits],
        )
        .map_err(err)?;
    if created == 1 && initial_credits > 0 {
        add_ledger(&tx, org, LedgerKind::Grant, None, initial_credits, now)?;
    }
    tx.commit().map_err(err)
}

pub(super) async fn credit_balance(store: &SqliteStore, org: &OrgId) -> Result<i64, StoreError> {
    let conn = store.db.lock();
    Ok(conn
        .query_row_cached(
            "SELECT balance FROM orgs WHERE org = ?1",
            [org.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?
        .unwrap_or(0))
}

/// The marker, the balance and the ledger entry in one transaction; a balance
/// at zero spends nothing.
pub(super) async fn reveal(
    store: &SqliteStore,
    org: &OrgId,
    candidate: &CandidateId,
    now: DateTime<Utc>,
) -> Result<RevealOutcome, StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    let already = is_revealed_in(&tx, org, candidate)?;
    if already {
        return Ok(RevealOutcome::AlreadyRevealed);
    }
    let spent = tx
        .execute_cached(
            "UPDATE orgs SET balance = balance - 1 WHERE org = ?1 AND balance > 0",
            [org.as_str()],
        )
        .map_err(err)?;
    if spent == 0 {
        return Ok(RevealOutcome::NoCredits);
    }
    tx.execute_cached(
        "INSERT INTO reveals (org, candidate) VALUES (?1, ?2)",
        [org.as_str(), candidate.as_str()],
    )
    .map_err(err)?;
    add_ledger(&tx, org, LedgerKind::Reveal, Some(candidate), -1, now)?;
    tx.commit().map_err(err)?;
    Ok(RevealOutcome::Spent)
}

pub(super) async fn grant_credits(
    store: &SqliteStore,
    org: &OrgId,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    // Granted before the organization was first seen: it starts with the
    // grant and is seen from then on, as in DynamoDB, so that the balance
    // is what the ledger says.
    tx.execute_cached(
        "INSERT INTO orgs (org, balance) VALUES (?2, ?1) ON CONFLICT(org) DO UPDATE SET balance = balance + ?1",
        params![amount, org.as_str()],
    )
    .map_err(err)?;
    add_ledger(&tx, org, LedgerKind::Grant, None, amount, now)?;
    tx.commit().map_err(err)
}

pub(super) async fn is_revealed(
    store: &SqliteStore,
    org: &OrgId,
    candidate: &CandidateId,
) -> Result<bool, StoreError> {
    is_revealed_in(&store.db.lock(), org, candidate)
}

/// Whether `candidate` was revealed, read inside the caller's transaction
/// where there is one, so that a reveal and a refund decide on what they read.
fn is_revealed_in(
    conn: &Connection,
    org: &OrgId,
    candidate: &CandidateId,
) -> Result<bool, StoreError> {
    conn.query_row_cached(
        "SELECT 1 FROM reveals WHERE org = ?1 AND candidate = ?2",
        [org.as_str(), candidate.as_str()],
        |_| Ok(true),
    )
    .optional()
    .map_err(err)
    .map(|found| found.unwrap_or(false))
}

/// Pages by sequence number, the cursor being the last `seq`.
pub(super) async fn ledger(
    store: &SqliteStore,
    org: &OrgId,
    page: &PageRequest,
) -> Result<Page<LedgerEntry>, StoreError> {
    let conn = store.db.lock();
    let after: i64 = page
        .after
        .as_deref()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let limit = page.limit.max(1) as i64;
    let rows = read_rows(
        &conn,
        "SELECT seq, kind, candidate, amount, at FROM ledger WHERE org = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        params![org.as_str(), after, limit + 1],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
            ))
        },
    )?;
    let entries = rows
        .into_iter()
        .map(|(seq, kind, candidate, amount, at)| {
            let entry = LedgerEntry {
                seq,
                kind: serde_json::from_value(serde_json::Value::String(kind)).map_err(err)?,
                candidate_id: candidate.map(CandidateId::new),
                amount,
                at: DateTime::parse_from_rfc3339(&at)
                    .map_err(err)?
                    .with_timezone(&Utc),
            };
            Ok((seq.to_string(), entry))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(page_of(entries, limit))
}

/// The refund marker's primary key makes a second refund change nothing.
pub(super) async fn refund_once(
    store: &SqliteStore,
    org: &OrgId,
    candidate: &CandidateId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    let revealed = is_revealed_in(&tx, org, candidate)?;
    if !revealed {
        return Ok(false);
    }
    let marked = tx
        .execute_cached(
            "INSERT INTO refunds (org, candidate) VALUES (?1, ?2) ON CONFLICT(org, candidate) DO NOTHING",
            [org.as_str(), candidate.as_str()],
        )
        .map_err(err)?;
    if marked == 0 {
        return Ok(false);
    }
    tx.execute_cached(
        "UPDATE orgs SET balance = balance + 1 WHERE org = ?1",
        [org.as_str()],
    )
    .map_err(err)?;
    add_ledger(&tx, org, LedgerKind::Refund, Some(candidate), 1, now)?;
    tx.commit().map_err(err)?;
    Ok(true)
}
