//! The statistics in the one table: a campaign's counters of one
//! quarter hour in one small item per counter shard, moved with `ADD` inside
//! the transaction of the enrollment or reply write that changed them (no
//! call of their own), and read by bucket range without a scan.
//!
//! | record | PK | SK | access patterns |
//! |---|---|---|---|
//! | statistics bucket | `STATS#o#k` (k < [`keys::TALLY_SHARDS`], the enrollment's counter shard) | `{bucket}#{campaign}` | `ADD c:{step}:{metric}` in the writer's transaction; `Query` of each shard, `SK BETWEEN from AND to` (buckets `[from, to)`: a sort key of the bucket `to` sorts after `to` itself) |
//!
//! The organization's events spread over the shards as its enrollments do,
//! so one organization's statistics take up to 8 × 1,000 write units a
//! second; a report reads 8 partitions whatever the number of campaigns.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use outreach_app::ports::StoreError;
use outreach_app::stats;
use outreach_app::tally::Tally;
use outreach_domain::ids::{CampaignId, OrgId};

use super::DynamoStore;
use super::access::{Query, Range};
use super::item::{self, build_error, n, text};
use super::keys::{self, Key, esc};

const COUNT_PREFIX: &str = "c:";

fn stats_pk(org: &str, shard: u32) -> String {
    format!("STATS#{}#{shard}", esc(org))
}

/// The item of a campaign's counters of one bucket in one shard.
pub fn stats_bucket(org: &str, shard: u32, bucket: &str, campaign: &str) -> Key {
    Key {
        pk: stats_pk(org, shard),
        sk: format!("{bucket}#{}", esc(campaign)),
    }
}

/// The `ADD`s that move `campaign`'s statistics by the statistics counters
/// in `delta` (the Outreach view's are left out): one update per bucket, in
/// the shard of `enrollment`.
pub(super) fn stats_writes(
    table: &str,
    org: &OrgId,
    campaign: &CampaignId,
    enrollment: &str,
    delta: &Tally,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut by_bucket: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for (name, d) in delta {
        if let Some((bucket, counter)) = stats::split(name)
            && *d != 0
        {
            by_bucket.entry(bucket).or_default().push((counter, *d));
        }
    }
    let shard = keys::tally_shard_of(enrollment);
    let mut writes = Vec::with_capacity(by_bucket.len());
    for (bucket, counters) in by_bucket {
        let key = stats_bucket(org.as_str(), shard, bucket, campaign.as_str());
        let mut names = HashMap::from([("#cid".to_owned(), item::ID.to_owned())]);
        let mut vals = HashMap::from([(":cid".to_owned(), item::s(campaign.as_str()))]);
        let mut adds = Vec::with_capacity(counters.len());
        for (i, (counter, d)) in counters.into_iter().enumerate() {
            adds.push(format!("#s{i} :s{i}"));
            names.insert(format!("#s{i}"), format!("{COUNT_PREFIX}{counter}"));
            vals.insert(format!(":s{i}"), n(d));
        }
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(item::key_item(&key)))
            .update_expression(format!("SET #cid = :cid ADD {}", adds.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(vals))
            .build()
            .map_err(build_error)?;
        writes.push(TransactWriteItem::builder().update(update).build());
    }
    Ok(writes)
}

pub(super) async fn stats_counters(
    store: &DynamoStore,
    org: &OrgId,
    from: &str,
    to: &str,
) -> Result<Vec<(CampaignId, Tally)>, StoreError> {
    let mut by_campaign: BTreeMap<String, Tally> = BTreeMap::new();
    if from >= to {
        return Ok(Vec::new());
    }
    for shard in 0..keys::TALLY_SHARDS {
        let query = Query::table(
            stats_pk(org.as_str(), shard),
            Range::Between(from.to_owned(), to.to_owned()),
        );
        for found in store.query(&query, None).await? {
            let sk = text(&found, keys::SK)?;
            let Some((bucket, _)) = sk.split_once('#') else {
                continue;
            };
            let campaign = text(&found, item::ID)?.to_owned();
            let tally = by_campaign.entry(campaign).or_default();
            for (name, value) in &found {
                if let (Some(counter), AttributeValue::N(v)) =
                    (name.strip_prefix(COUNT_PREFIX), value)
                {
                    let key = format!("{p}{bucket}{p}{counter}", p = stats::PREFIX);
                    *tally.entry(key).or_default() += v.parse::<i64>().unwrap_or(0);
                }
            }
        }
    }
    Ok(by_campaign
        .into_iter()
        .map(|(c, mut t)| {
            t.retain(|_, v| *v != 0);
            (CampaignId::new(c), t)
        })
        .collect())
}
