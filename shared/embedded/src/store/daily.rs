//! The daily limits' counts: a row for a sender account's messages
//! of a day and one for each campaign's among them, checked and counted in
//! one transaction, so that concurrent sends never race for a slot.

use outreach_app::ports::{Activity, DailyLimits, DayCount, DaySlot, StoreError};
use outreach_domain::enrollment::Enrollment;
use rusqlite::{Connection, OptionalExtension};

use super::SqliteStore;
use super::campaigns::write_enrollment;
use super::docs::err;
use crate::db::Cached;

/// The campaign of the account's own count.
const ACCOUNT: &str = "";

fn read(conn: &Connection, slot: &DaySlot, campaign: &str) -> Result<u32, StoreError> {
    let value: Option<i64> = conn
        .query_row_cached(
            "SELECT value FROM daily_counts WHERE account = ?1 AND day = ?2 AND campaign = ?3",
            (slot.account.as_str(), slot.day.to_string(), campaign),
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?;
    Ok(u32::try_from(value.unwrap_or(0)).unwrap_or(0))
}

/// Adds `delta` to a count, never below zero.
fn add(conn: &Connection, slot: &DaySlot, campaign: &str, delta: i64) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT INTO daily_counts (account, day, campaign, value) VALUES (?1, ?2, ?3, MAX(?4, 0)) \
         ON CONFLICT(account, day, campaign) DO UPDATE SET value = MAX(value + ?4, 0)",
        (slot.account.as_str(), slot.day.to_string(), campaign, delta),
    )
    .map_err(err)?;
    Ok(())
}

fn counts(conn: &Connection, slot: &DaySlot) -> Result<DayCount, StoreError> {
    Ok(DayCount {
        sent: read(conn, slot, ACCOUNT)?,
        of_campaign: read(conn, slot, slot.campaign.as_str())?,
    })
}

/// Counts one message of `slot` inside the caller's transaction if both
/// limits leave room: whether it did.
fn take(conn: &Connection, slot: &DaySlot, limits: DailyLimits) -> Result<bool, StoreError> {
    let now = counts(conn, slot)?;
    let room = limits.account.is_none_or(|l| now.sent < l)
        && limits.campaign.is_none_or(|l| now.of_campaign < l);
    if room {
        add(conn, slot, ACCOUNT, 1)?;
        add(conn, slot, slot.campaign.as_str(), 1)?;
    }
    Ok(room)
}

pub(super) async fn take_day_slot(
    store: &SqliteStore,
    slot: &DaySlot,
    limits: DailyLimits,
) -> Result<bool, StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    let room = take(&tx, slot, limits)?;
    tx.commit().map_err(err)?;
    Ok(room)
}

/// A claim and its day's slot in one transaction, as
/// DynamoDB writes them in one `TransactWriteItems`: the enrollment's
/// version is checked first (a changed enrollment is a conflict whether or
/// not the day is full), and a full day rolls the claim back.
pub(super) async fn update_enrollment_taking_slot(
    store: &SqliteStore,
    e: &Enrollment,
    expected: u64,
    slot: &DaySlot,
    limits: DailyLimits,
) -> Result<Option<u64>, StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    let version = write_enrollment(&tx, e, expected, Activity::Unchanged)?;
    if !take(&tx, slot, limits)? {
        // Dropping the transaction rolls the claim back.
        return Ok(None);
    }
    tx.commit().map_err(err)?;
    Ok(Some(version))
}

pub(super) async fn release_day_slot(
    store: &SqliteStore,
    slot: &DaySlot,
) -> Result<(), StoreError> {
    let mut conn = store.db.lock();
    let tx = conn.transaction().map_err(err)?;
    // As in DynamoDB: only a slot the campaign holds is given back.
    let now = counts(&tx, slot)?;
    if now.sent > 0 && now.of_campaign > 0 {
        add(&tx, slot, ACCOUNT, -1)?;
        add(&tx, slot, slot.campaign.as_str(), -1)?;
    }
    tx.commit().map_err(err)?;
    Ok(())
}

pub(super) async fn day_count(store: &SqliteStore, slot: &DaySlot) -> Result<DayCount, StoreError> {
    counts(&store.db.lock(), slot)
}
