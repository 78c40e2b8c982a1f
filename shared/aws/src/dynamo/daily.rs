//! The daily limits' counts: one item per sender account and day,
//! with the account's count in `sent` and each campaign's in an attribute of
//! its own, so that a slot is one conditional `UpdateItem` `ADD` on both —
//! DynamoDB applies concurrent updates of one item one after the other, so
//! fifty sends taking slots at once each get an answer on the first try,
//! where a read and a versioned write lost most races. A claim takes its
//! slot in the same `TransactWriteItems` as the claim's `Put` (issue 20):
//! the cancellation reasons tell a lost claim from a full day.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{Duration, NaiveTime};
use outreach_app::ports::{DailyLimits, DayCount, DaySlot, StoreError};
use outreach_domain::enrollment::Enrollment;

use super::DynamoStore;
use super::access::SAME_VERSION;
use super::campaigns::enrollment_item;
use super::item::{
    DynamoError, Item, SENT, Values, build_error, key_item, n, names, number, tx_put, values,
};
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

/// The slot's `ADD` on both counts, with the limits' conditions: its
/// expression, condition, values and the campaign count's attribute.
struct SlotUpdate {
    expression: &'static str,
    condition: String,
    vals: Values,
    attribute: String,
}

fn slot_update(slot: &DaySlot, limits: DailyLimits) -> SlotUpdate {
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
    SlotUpdate {
        expression: "SET #ttl = :ttl ADD #sent :one, #campaign :one",
        condition: conditions.join(" AND "),
        vals,
        attribute: campaign_attribute(slot),
    }
}

impl SlotUpdate {
    fn condition(&self) -> Option<&str> {
        (!self.condition.is_empty()).then_some(self.condition.as_str())
    }

    /// The update as an item of a transaction.
    fn in_transaction(self, table: &str, slot: &DaySlot) -> Result<TransactWriteItem, StoreError> {
        let mut attribute_names =
            names(&[Some(self.expression), self.condition()]).unwrap_or_default();
        attribute_names.insert("#campaign".to_owned(), self.attribute.clone());
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key_item(&key_of(slot))))
            .update_expression(self.expression)
            .set_condition_expression(self.condition().map(str::to_owned))
            .set_expression_attribute_names(Some(attribute_names))
            .set_expression_attribute_values(values(self.vals))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

pub(super) async fn take_day_slot(
    store: &DynamoStore,
    slot: &DaySlot,
    limits: DailyLimits,
) -> Result<bool, StoreError> {
    let update = slot_update(slot, limits);
    let taken = store
        .update_returning(
            &key_of(slot),
            update.expression,
            update.condition(),
            update.vals.clone(),
            &[("#campaign", &update.attribute)],
        )
        .await;
    match taken {
        Ok(_) => Ok(true),
        Err(DynamoError::ConditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A claim and its day's slot: the enrollment's versioned
/// `Put` and the slot's conditional `ADD` in one `TransactWriteItems`. A
/// cancellation names the item whose condition failed: the enrollment's (a
/// lost claim, whether or not the day is full too) or only the slot's (a
/// full day); either way nothing was written.
pub(super) async fn update_enrollment_taking_slot(
    store: &DynamoStore,
    e: &Enrollment,
    expected: u64,
    slot: &DaySlot,
    limits: DailyLimits,
) -> Result<Option<u64>, StoreError> {
    let claim = tx_put(
        &store.table,
        enrollment_item(e, expected + 1)?,
        Some(SAME_VERSION),
        vec![(":v", n(expected))],
    )?;
    let mut writes = vec![
        claim,
        slot_update(slot, limits).in_transaction(&store.table, slot)?,
    ];
    writes.extend(store.counters_write(e, Some(expected), 0).await?);
    match store.transact(writes).await {
        Ok(()) => {}
        Err(err) if err.condition_failed_at(0) => return Err(StoreError::Conflict),
        Err(err) if err.condition_failed_at(1) => return Ok(None),
        Err(err) => return Err(err.into()),
    }
    store.remember_counted(e, expected + 1);
    Ok(Some(expected + 1))
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
