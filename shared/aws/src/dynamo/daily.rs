//! The daily limits' counts: one item per sender account and day,
//! with the account's count in `sent` and each campaign's in an attribute of
//! its own, so that a slot is one conditional `UpdateItem` `ADD` on both —
//! DynamoDB applies concurrent updates of one item one after the other, so
//! fifty sends taking slots at once each get an answer on the first try,
//! where a read and a versioned write lost most races.

use chrono::{Duration, NaiveTime};
use outreach_app::ports::{DailyLimits, DayCount, DaySlot, StoreError};

use super::DynamoStore;
use super::item::{DynamoError, Item, SENT, Values, n, number};
use super::keys::{self, Key};

fn key_of(slot: &DaySlot) -> Key {
    keys::daily(slot.account.as_str(), slot.day)
}

/// The attribute of the campaign's count.
fn campaign_attribute(slot: &DaySlot) -> String {
    format!("campaign:{}", slot.campaign)
}

/// A count of the item, zero when it was never counted.
fn count(item: &Item, name: &str) -> Result<u32, StoreError> {
    if !item.contains_key(name) {
        return Ok(0);
    }
    let value = number(item, name)?;
    u32::try_from(value).map_err(|_| StoreError::Unavailable(format!("a day's count of {value}")))
}

pub(super) async fn take_day_slot(
    store: &DynamoStore,
    slot: &DaySlot,
    limits: DailyLimits,
) -> Result<bool, StoreError> {
    let mut conditions = Vec::new();
    let mut vals: Values = vec![(":one", n(1)), (":ttl", n(expiry(slot)))];
    if let Some(limit) = limits.account {
        conditions.push("(attribute_not_exists(#sent) OR #sent < :account_limit)");
        vals.push((":account_limit", n(limit)));
    }
    if let Some(limit) = limits.campaign {
        conditions.push("(attribute_not_exists(#campaign) OR #campaign < :campaign_limit)");
        vals.push((":campaign_limit", n(limit)));
    }
    let condition = conditions.join(" AND ");
    let attribute = campaign_attribute(slot);
    let taken = store
        .update_returning(
            &key_of(slot),
            "SET #ttl = :ttl ADD #sent :one, #campaign :one",
            (!condition.is_empty()).then_some(condition.as_str()),
            vals,
            &[("#campaign", &attribute)],
        )
        .await;
    match taken {
        Ok(_) => Ok(true),
        Err(DynamoError::ConditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn release_day_slot(
    store: &DynamoStore,
    slot: &DaySlot,
) -> Result<(), StoreError> {
    let attribute = campaign_attribute(slot);
    let released = store
        .update_returning(
            &key_of(slot),
            "ADD #sent :minus_one, #campaign :minus_one",
            Some("#sent > :zero AND #campaign > :zero"),
            vec![(":minus_one", n(-1)), (":zero", n(0))],
            &[("#campaign", &attribute)],
        )
        .await;
    match released {
        // Nothing counted: nothing to give back.
        Ok(_) | Err(DynamoError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn day_count(store: &DynamoStore, slot: &DaySlot) -> Result<DayCount, StoreError> {
    let Some(item) = store.get(&key_of(slot)).await? else {
        return Ok(DayCount::default());
    };
    Ok(DayCount {
        sent: count(&item, SENT)?,
        of_campaign: count(&item, &campaign_attribute(slot))?,
    })
}

/// When a day's count may go (epoch seconds): two days after the day ends in
/// any time zone; no rule reads a past day's count.
fn expiry(slot: &DaySlot) -> i64 {
    (slot.day + Duration::days(3))
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp()
}
