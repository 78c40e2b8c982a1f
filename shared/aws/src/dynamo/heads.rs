//! A campaign as three kinds of item (issue 19 item 1): its head (the
//! settings, small, read strongly consistent by every send), its steps
//! (immutable, one item per version that changed them, cached by the process
//! that read them) and its counter shards ([`super::tally`]). The port's
//! campaign is their sum; its version is the head's plus every shard's count
//! of moves of `active`, so that it moves when an enrollment joins or ends,
//! as the embedded store's does, and a write of a campaign read before such a
//! move fails: it is one transaction with a condition on the head's version
//! and on every shard's `changes` (completion, R-5.2, relies on it).

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};
use outreach_app::ports::{StoreError, Versioned};
use outreach_domain::campaign::Campaign;
use outreach_domain::ids::{CampaignId, OrgId};

use super::DynamoStore;
use super::access::CREATE;
use super::cache::Parts;
use super::item::{
    self, ACTIVE, DOC, DynamoError, ID, Item, ItemBuilder, ORG, VERSION, build_error, n, number, s,
    text, tx_put, tx_update,
};
use super::keys::{self, Key};
use super::tally::{CHANGES, counters, shard_keys};

/// The head's attribute naming the steps item in force.
pub(crate) const STEPS_AT: &str = "steps_v";

/// Every key a read of the campaign needs besides its steps: head, then shards.
pub(super) fn campaign_keys(org: &str, id: &str) -> Vec<Key> {
    let mut wanted = vec![keys::campaign(org, id)];
    wanted.extend(shard_keys(org, id));
    wanted
}

/// Items by key, as a batched read returns them.
pub(super) fn by_key(items: Vec<Item>) -> Result<HashMap<Key, Item>, StoreError> {
    items
        .into_iter()
        .map(|i| {
            let key = Key {
                pk: text(&i, keys::PK)?.to_owned(),
                sk: text(&i, keys::SK)?.to_owned(),
            };
            Ok((key, i))
        })
        .collect()
}

impl DynamoStore {
    /// The steps written at `at`: remembered, or read (once per process).
    async fn steps_at(
        &self,
        org: &str,
        id: &str,
        at: u64,
    ) -> Result<Arc<serde_json::Value>, StoreError> {
        let fact = (org.to_owned(), id.to_owned(), at);
        if let Some(steps) = self.caches.steps.get(&fact) {
            return Ok(steps);
        }
        let item = self
            .get(&keys::campaign_steps(org, id, at))
            .await?
            .ok_or_else(|| StoreError::Unavailable(format!("campaign {id}: steps {at} missing")))?;
        let steps: serde_json::Value = serde_json::from_str(text(&item, DOC)?)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let steps = Arc::new(steps);
        self.caches.steps.put(fact, steps.clone());
        Ok(steps)
    }

    /// The campaign `org`/`id` out of the items of a batched read of
    /// [`campaign_keys`] (`None` without its head).
    pub(super) async fn campaign_in(
        &self,
        org: &str,
        id: &str,
        found: &HashMap<Key, Item>,
    ) -> Result<Option<Versioned<Campaign>>, StoreError> {
        let Some(head) = found.get(&keys::campaign(org, id)) else {
            return Ok(None);
        };
        let shards: Vec<Option<&Item>> = shard_keys(org, id).iter().map(|k| found.get(k)).collect();
        let sum = counters(&shards);
        let mut value: serde_json::Value = serde_json::from_str(text(head, DOC)?)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        if let Ok(at) = number(head, STEPS_AT) {
            let steps = self.steps_at(org, id, at as u64).await?;
            value["steps"] = (*steps).clone();
        }
        // A head written before the counters moved out keeps its count.
        let active = number(head, ACTIVE).unwrap_or(0) + sum.active;
        value["active_enrollments"] = active.into();
        let campaign: Campaign =
            serde_json::from_value(value).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let parts = Parts {
            head: number(head, VERSION)? as u64,
            changes: sum.changes,
        };
        let version = parts.head + parts.changes.iter().sum::<u64>();
        self.caches
            .parts
            .put((org.to_owned(), id.to_owned(), version), parts);
        Ok(Some(Versioned {
            value: campaign,
            version,
        }))
    }

    /// The campaigns whose heads these are, with their counters (one batched
    /// read for all).
    pub(super) async fn campaigns_of_heads(
        &self,
        heads: Vec<Item>,
    ) -> Result<Vec<Versioned<Campaign>>, StoreError> {
        let ids = heads
            .iter()
            .map(|h| Ok((text(h, ORG)?.to_owned(), text(h, ID)?.to_owned())))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let shards: Vec<Key> = ids.iter().flat_map(|(o, c)| shard_keys(o, c)).collect();
        let mut found = by_key(self.get_many(&shards).await?)?;
        found.extend(by_key(heads)?);
        let mut out = Vec::with_capacity(ids.len());
        for (org, id) in &ids {
            if let Some(c) = self.campaign_in(org, id, &found).await? {
                out.push(c);
            }
        }
        Ok(out)
    }
}

pub(super) async fn get_campaign(
    store: &DynamoStore,
    org: &OrgId,
    id: &CampaignId,
) -> Result<Option<Versioned<Campaign>>, StoreError> {
    let (org, id) = (org.as_str(), id.as_str());
    let found = by_key(store.get_many(&campaign_keys(org, id)).await?)?;
    store.campaign_in(org, id, &found).await
}

/// The head's document (no steps, no counter) and the steps.
fn split(campaign: &Campaign) -> Result<(String, serde_json::Value), StoreError> {
    let mut value =
        serde_json::to_value(campaign).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let steps = value
        .as_object_mut()
        .and_then(|o| {
            o.remove("active_enrollments");
            o.remove("steps")
        })
        .unwrap_or_default();
    Ok((item::to_json(&value)?, steps))
}

fn steps_item(org: &str, id: &str, at: u64, steps: &serde_json::Value) -> Result<Item, StoreError> {
    Ok(ItemBuilder::new(&keys::campaign_steps(org, id, at))
        .text(DOC, item::to_json(steps)?)
        .build())
}

/// A failed condition anywhere in a campaign write is a lost race.
fn conflict_or(err: DynamoError) -> StoreError {
    match err {
        DynamoError::Cancelled(reasons)
            if reasons.iter().any(|r| r == "ConditionalCheckFailed") =>
        {
            StoreError::Conflict
        }
        other => other.into(),
    }
}

/// A new campaign: its head and its first steps, together.
async fn create_campaign(
    store: &DynamoStore,
    campaign: &Campaign,
    body: String,
    steps: serde_json::Value,
) -> Result<u64, StoreError> {
    let (org, id) = (campaign.org_id.as_str(), campaign.id.as_str());
    let key = keys::campaign(org, id);
    let in_project = keys::campaign_in_project(org, campaign.project_id.as_str(), id);
    let by_sender = keys::campaign_by_sender(campaign.sender_account_id.as_str(), org, id);
    let head = ItemBuilder::new(&key)
        .text(DOC, body)
        .attr(VERSION, n(1))
        .attr(STEPS_AT, n(1))
        .text(ORG, org)
        .text(ID, id)
        .index(keys::GSI1PK, keys::GSI1SK, &in_project)
        .index(keys::GSI2PK, keys::GSI2SK, &by_sender)
        .build();
    let writes = vec![
        tx_put(&store.table, head, Some(CREATE), vec![])?,
        tx_put(&store.table, steps_item(org, id, 1, &steps)?, None, vec![])?,
    ];
    store.transact(writes).await.map_err(conflict_or)?;
    store
        .caches
        .steps
        .put((org.to_owned(), id.to_owned(), 1), Arc::new(steps));
    Ok(1)
}

pub(super) async fn put_campaign(
    store: &DynamoStore,
    campaign: &Campaign,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let (org, id) = (campaign.org_id.as_str(), campaign.id.as_str());
    let key = keys::campaign(org, id);
    let in_project = keys::campaign_in_project(org, campaign.project_id.as_str(), id);
    let by_sender = keys::campaign_by_sender(campaign.sender_account_id.as_str(), org, id);
    let (body, steps) = split(campaign)?;
    let Some(expected) = expected else {
        return create_campaign(store, campaign, body, steps).await;
    };
    let parts = parts_of(store, org, id, expected).await?;
    // Steps already written (the same as a version this process knows) are
    // named again; new ones get an item of their own.
    let known = store
        .caches
        .steps
        .find(|(o, c, _), v| o == org && c == id && **v == steps)
        .map(|((_, _, at), _)| at);
    let at = known.unwrap_or(parts.head + 1);
    let mut writes = vec![tx_update(
        &store.table,
        &key,
        "SET #doc = :doc, #v = :next, #sv = :sv, #g1pk = :g1pk, #g1sk = :g1sk, #g2pk = :g2pk, #g2sk = :g2sk",
        Some("#v = :v"),
        vec![
            (":doc", s(body)),
            (":next", n(parts.head + 1)),
            (":v", n(parts.head)),
            (":sv", n(at)),
            (":g1pk", s(in_project.pk)),
            (":g1sk", s(in_project.sk)),
            (":g2pk", s(by_sender.pk)),
            (":g2sk", s(by_sender.sk)),
        ],
    )?];
    for (shard, changes) in shard_keys(org, id).iter().zip(&parts.changes) {
        writes.push(unchanged(&store.table, shard, *changes)?);
    }
    if known.is_none() {
        writes.push(tx_put(
            &store.table,
            steps_item(org, id, at, &steps)?,
            None,
            vec![],
        )?);
    }
    store.transact(writes).await.map_err(conflict_or)?;
    store
        .caches
        .steps
        .put((org.to_owned(), id.to_owned(), at), Arc::new(steps));
    Ok(expected + 1)
}

/// What port version `expected` of a campaign is made of: remembered from
/// this process's read, or read now (a conflict if it is not the current one).
pub(super) async fn parts_of(
    store: &DynamoStore,
    org: &str,
    id: &str,
    expected: u64,
) -> Result<Parts, StoreError> {
    let at = (org.to_owned(), id.to_owned(), expected);
    if let Some(parts) = store.caches.parts.get(&at) {
        return Ok(parts);
    }
    let found = by_key(store.get_many(&campaign_keys(org, id)).await?)?;
    match store.campaign_in(org, id, &found).await? {
        Some(now) if now.version == expected => {
            store.caches.parts.get(&at).ok_or(StoreError::Conflict)
        }
        _ => Err(StoreError::Conflict),
    }
}

/// A condition that a counter shard's `active` has not moved since it was read.
fn unchanged(table: &str, shard: &Key, changes: u64) -> Result<TransactWriteItem, StoreError> {
    let condition = if changes == 0 {
        "attribute_not_exists(#ch) OR #ch = :ch"
    } else {
        "#ch = :ch"
    };
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(item::key_item(shard)))
        .condition_expression(condition)
        .expression_attribute_names("#ch", CHANGES)
        .expression_attribute_values(":ch", n(changes))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}
