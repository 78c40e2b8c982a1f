//! A campaign's counters in items of their own (issue 19 items 1 and 7):
//! [`keys::TALLY_SHARDS`] small items per campaign, each with the active
//! enrollments that count in it (`active`), how often that moved
//! (`changes`) and the Outreach view's counts (`c:<name>`, R-11.1). An
//! enrollment write moves its shard with one `ADD` in its own transaction,
//! so the campaign's head is never written by a send, and no one item takes
//! every end of a busy campaign.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use outreach_app::ports::StoreError;
use outreach_app::tally::{self, Tally};
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{CampaignId, OrgId};

use super::DynamoStore;
use super::item::{self, ACTIVE, Item, VERSION, build_error, doc, n, number};
use super::keys::{self, Key};
use super::stats::stats_writes;

/// How often a shard's `active` moved.
pub(crate) const CHANGES: &str = "changes";
/// The prefix of the Outreach view's counters on a shard.
const COUNT_PREFIX: &str = "c:";

/// The counter shards of a campaign, in shard order.
pub(super) fn shard_keys(org: &str, campaign: &str) -> Vec<Key> {
    (0..keys::TALLY_SHARDS)
        .map(|k| keys::tally_shard(org, campaign, k))
        .collect()
}

/// What the shards of a campaign hold, summed (missing shards are zero).
pub(super) struct Counters {
    pub active: i64,
    pub changes: Vec<u64>,
    pub tally: Tally,
}

pub(super) fn counters(shards: &[Option<&Item>]) -> Counters {
    let mut sum = Counters {
        active: 0,
        changes: Vec::with_capacity(shards.len()),
        tally: Tally::new(),
    };
    for shard in shards {
        let Some(item) = shard else {
            sum.changes.push(0);
            continue;
        };
        sum.active += number(item, ACTIVE).unwrap_or(0);
        sum.changes
            .push(u64::try_from(number(item, CHANGES).unwrap_or(0)).unwrap_or(0));
        for (name, value) in item.iter() {
            if let (Some(counter), AttributeValue::N(v)) = (name.strip_prefix(COUNT_PREFIX), value)
            {
                *sum.tally.entry(counter.to_owned()).or_default() += v.parse::<i64>().unwrap_or(0);
            }
        }
    }
    sum.tally.retain(|_, v| *v != 0);
    sum
}

impl DynamoStore {
    /// Remembers what version `version` of `e` counts in (it never changes).
    pub(super) fn remember_counted(&self, e: &Enrollment, version: u64) {
        self.caches.counted.put(
            (e.org_id.to_string(), e.id.to_string(), version),
            Arc::new(tally::counted_with_stats(e)),
        );
    }

    /// What version `expected` of `e` counts in: remembered from its read,
    /// or read now; `None` when the stored version is another (the write
    /// over it would fail its condition anyway).
    async fn counted_at(
        &self,
        e: &Enrollment,
        expected: u64,
    ) -> Result<Option<Arc<Vec<String>>>, StoreError> {
        let at = (e.org_id.to_string(), e.id.to_string(), expected);
        if let Some(found) = self.caches.counted.get(&at) {
            return Ok(Some(found));
        }
        let key = keys::enrollment(e.org_id.as_str(), e.id.as_str());
        let Some(stored) = self.get(&key).await? else {
            return Ok(None);
        };
        if number(&stored, VERSION).ok() != i64::try_from(expected).ok() {
            return Ok(None);
        }
        let before: Enrollment = doc(&stored)?;
        let counted = Arc::new(tally::counted_with_stats(&before));
        self.caches.counted.put(at, counted.clone());
        Ok(Some(counted))
    }

    /// The counter writes of an enrollment write over version `expected`
    /// (`None` for a new one), if it moves any counter: its shard's, then one
    /// per statistics bucket it moves; `Err(Conflict)` when
    /// `expected` is not the stored version.
    pub(super) async fn counters_write(
        &self,
        e: &Enrollment,
        expected: Option<u64>,
        activity: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let before = match expected {
            None => Arc::new(Vec::new()),
            Some(v) => self.counted_at(e, v).await?.ok_or(StoreError::Conflict)?,
        };
        let delta = tally::change(&before, &tally::counted_with_stats(e));
        let mut writes: Vec<TransactWriteItem> =
            shard_update(&self.table, e, activity, &tally::view_only(&delta))?
                .into_iter()
                .collect();
        writes.extend(stats_writes(
            &self.table,
            &e.org_id,
            &e.campaign_id,
            e.id.as_str(),
            &delta,
        )?);
        Ok(writes)
    }
}

/// `ADD`s to the shard `e` counts in: `activity` to `active` (and one to
/// `changes`), `delta` to the view's counters.
fn shard_update(
    table: &str,
    e: &Enrollment,
    activity: i64,
    delta: &Tally,
) -> Result<Option<TransactWriteItem>, StoreError> {
    if activity == 0 && delta.is_empty() {
        return Ok(None);
    }
    let mut adds = Vec::new();
    let mut names = HashMap::new();
    let mut vals = HashMap::new();
    if activity != 0 {
        adds.push("#a :a, #ch :one".to_owned());
        names.insert("#a".to_owned(), ACTIVE.to_owned());
        names.insert("#ch".to_owned(), CHANGES.to_owned());
        vals.insert(":a".to_owned(), n(activity));
        vals.insert(":one".to_owned(), n(1));
    }
    for (i, (name, d)) in delta.iter().enumerate() {
        adds.push(format!("#t{i} :t{i}"));
        names.insert(format!("#t{i}"), format!("{COUNT_PREFIX}{name}"));
        vals.insert(format!(":t{i}"), n(*d));
    }
    let (org, campaign) = (e.org_id.as_str(), e.campaign_id.as_str());
    let part = keys::tally_shard_of(e.id.as_str());
    let shard = keys::tally_shard(org, campaign, part);
    let mut expression = format!("ADD {}", adds.join(", "));
    if activity < 0 {
        // The campaign's completion check (issue 19): the same keys on every
        // end, so that the index is written only while none is pending.
        let check = keys::completion_check(org, campaign, part);
        expression.push_str(" SET #c3pk = :c3pk, #c3sk = :c3sk, #corg = :corg, #cid = :cid");
        for (name, attr, value) in [
            ("c3pk", keys::GSI3PK, check.pk),
            ("c3sk", keys::GSI3SK, check.sk),
            ("corg", item::ORG, org.to_owned()),
            ("cid", item::ID, campaign.to_owned()),
        ] {
            names.insert(format!("#{name}"), attr.to_owned());
            vals.insert(format!(":{name}"), item::s(value));
        }
    }
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(item::key_item(&shard)))
        .update_expression(expression)
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(vals))
        .build()
        .map_err(build_error)?;
    Ok(Some(TransactWriteItem::builder().update(update).build()))
}

pub(super) async fn campaign_tally(
    store: &DynamoStore,
    org: &OrgId,
    campaign: &CampaignId,
) -> Result<Tally, StoreError> {
    let wanted = shard_keys(org.as_str(), campaign.as_str());
    let found = store.get_many(&wanted).await?;
    let by_pk: HashMap<&str, &Item> = found
        .iter()
        .filter_map(|i| Some((item::text(i, keys::PK).ok()?, i)))
        .collect();
    let shards: Vec<Option<&Item>> = wanted
        .iter()
        .map(|k| by_pk.get(k.pk.as_str()).copied())
        .collect();
    Ok(counters(&shards).tally)
}
