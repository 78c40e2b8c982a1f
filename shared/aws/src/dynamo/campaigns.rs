//! Campaigns and their enrollments: the list of a project's campaigns
//! (a campaign's items are in [`super::heads`]), enrollment writes that move
//! their campaign's counters ([`super::tally`]) in the same transaction, the
//! lookups by candidate and sender, and the sharded due index the sweeper
//! reads.

use chrono::{DateTime, Utc};
use outreach_app::ports::{Activity, Page, PageRequest, StoreError, Versioned};
use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId};

use super::DynamoStore;
use super::access::{CREATE, Query, Range, SAME_VERSION};
use super::item::{ID, Item, ItemBuilder, ORG, VERSION, doc, n, text, tx_condition, tx_put};
use super::keys;

pub(super) fn enrollment_item(e: &Enrollment, version: u64) -> Result<Item, StoreError> {
    let (org, id) = (e.org_id.as_str(), e.id.as_str());
    let mut item = ItemBuilder::new(&keys::enrollment(org, id))
        .doc(e)?
        .attr(VERSION, n(version))
        .text(ORG, org)
        .text(ID, id)
        .index(
            keys::GSI1PK,
            keys::GSI1SK,
            &keys::enrollment_in_campaign(org, e.campaign_id.as_str(), id),
        )
        .index(
            keys::GSI2PK,
            keys::GSI2SK,
            &keys::enrollment_of_candidate(
                org,
                e.candidate_id.as_str(),
                e.campaign_id.as_str(),
                id,
            ),
        );
    // Sparse: only an enrollment with something due is in the due index.
    if let Some(due) = e.next_due_at {
        item = item.index(keys::GSI3PK, keys::GSI3SK, &keys::due(org, id, due));
    }
    Ok(item.build())
}

pub(super) async fn list_campaigns(
    store: &DynamoStore,
    org: &OrgId,
    project: &str,
    page: &PageRequest,
) -> Result<Page<Campaign>, StoreError> {
    let org = org.as_str();
    let query = Query::index_page(
        keys::GSI1,
        keys::campaigns_of_project_pk(org, project),
        keys::CAMPAIGN_PREFIX,
        page.after.as_deref(),
        |id| {
            (
                keys::campaign(org, id),
                keys::campaign_in_project(org, project, id),
            )
        },
    );
    // The index gives the heads; their counters and steps are read with them.
    let heads = store
        .page(
            query,
            page.limit,
            |i| Ok(i.clone()),
            |i: &Item| text(i, ID).unwrap_or_default().to_owned(),
        )
        .await?;
    let items = store.campaigns_of_heads(heads.items).await?;
    Ok(Page {
        items: items.into_iter().map(|c| c.value).collect(),
        next: heads.next,
    })
}

pub(super) async fn campaigns_using(
    store: &DynamoStore,
    account: &AccountId,
) -> Result<Vec<(OrgId, CampaignId)>, StoreError> {
    let query = Query::index(
        keys::GSI2,
        keys::campaigns_using_pk(account.as_str()),
        Range::BeginsWith(keys::CAMPAIGN_PREFIX.into()),
    );
    let mut found = store
        .query(&query, None)
        .await?
        .iter()
        .map(|i| Ok((OrgId::new(text(i, ORG)?), CampaignId::new(text(i, ID)?))))
        .collect::<Result<Vec<_>, StoreError>>()?;
    found.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    Ok(found)
}

pub(super) async fn get_enrollment(
    store: &DynamoStore,
    org: &OrgId,
    id: &EnrollmentId,
) -> Result<Option<Versioned<Enrollment>>, StoreError> {
    let found: Option<Versioned<Enrollment>> = store
        .get_versioned(&keys::enrollment(org.as_str(), id.as_str()))
        .await?;
    if let Some(v) = &found {
        store.remember_counted(&v.value, v.version);
    }
    Ok(found)
}

pub(super) async fn insert_enrollment(
    store: &DynamoStore,
    e: &Enrollment,
) -> Result<(), StoreError> {
    let mut writes = vec![tx_put(
        &store.table,
        enrollment_item(e, 1)?,
        Some(CREATE),
        vec![],
    )?];
    for token in [&e.reply_token, &e.unsubscribe_token] {
        let item = ItemBuilder::new(&keys::token(token))
            .text(ORG, e.org_id.as_str())
            .text(ID, e.id.as_str())
            .build();
        writes.push(tx_put(&store.table, item, Some(CREATE), vec![])?);
    }
    let counted = !e.is_ended();
    if counted {
        // The campaign must exist for its count to move (its head is not written).
        writes.push(tx_condition(
            &store.table,
            &keys::campaign(e.org_id.as_str(), e.campaign_id.as_str()),
            "attribute_exists(#pk)",
        )?);
    }
    writes.extend(store.counters_write(e, None, i64::from(counted)).await?);
    // Last, so the positions above keep their meaning for the errors below.
    writes.push(member_put(store, e)?);
    match store.transact(writes).await {
        Ok(()) => {
            store.remember_counted(e, 1);
            Ok(())
        }
        Err(err)
            if counted
                && err.condition_failed_at(3)
                && !(0..3).any(|i| err.condition_failed_at(i)) =>
        {
            Err(StoreError::Unavailable(format!(
                "campaign {} does not exist",
                e.campaign_id
            )))
        }
        Err(err) => Err(err.into()),
    }
}

pub(super) async fn update_enrollment(
    store: &DynamoStore,
    e: &Enrollment,
    expected: u64,
    activity: Activity,
) -> Result<u64, StoreError> {
    let item = enrollment_item(e, expected + 1)?;
    let counters = store
        .counters_write(e, Some(expected), activity.delta())
        .await?;
    if !counters.is_empty() {
        let mut writes = vec![tx_put(
            &store.table,
            item,
            Some(SAME_VERSION),
            vec![(":v", n(expected))],
        )?];
        writes.extend(counters);
        match store.transact(writes).await {
            Ok(()) => {}
            Err(err) if err.condition_failed_at(0) => return Err(StoreError::Conflict),
            Err(err) => return Err(err.into()),
        }
    } else {
        // A claim, a record, a re-plan: one conditional write.
        store
            .put(item, Some(SAME_VERSION), vec![(":v", n(expected))])
            .await
            .map_err(StoreError::from)?;
    }
    store.remember_counted(e, expected + 1);
    Ok(expected + 1)
}

pub(super) async fn list_enrollments(
    store: &DynamoStore,
    org: &OrgId,
    campaign: &CampaignId,
    page: &PageRequest,
) -> Result<Page<Enrollment>, StoreError> {
    let (org, campaign) = (org.as_str(), campaign.as_str());
    let query = Query::index_page(
        keys::GSI1,
        keys::enrollments_of_campaign_pk(org, campaign),
        keys::ENROLLMENT_PREFIX,
        page.after.as_deref(),
        |id| {
            (
                keys::enrollment(org, id),
                keys::enrollment_in_campaign(org, campaign, id),
            )
        },
    );
    store
        .page(query, page.limit, doc, |e: &Enrollment| e.id.to_string())
        .await
}

/// The membership item of an enrollment (see [`keys::member`]).
fn member_put(
    store: &DynamoStore,
    e: &Enrollment,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    let (org, id) = (e.org_id.as_str(), e.id.as_str());
    let item = ItemBuilder::new(&keys::member(org, e.campaign_id.as_str(), id))
        .text(ORG, org)
        .text(ID, id)
        .build();
    tx_put(&store.table, item, None, vec![])
}

/// A page of the campaign's membership items, read consistently, then their
/// enrollments (one consistent `BatchGetItem`), in the order of the page.
pub(super) async fn list_enrollments_consistent(
    store: &DynamoStore,
    org: &OrgId,
    campaign: &CampaignId,
    page: &PageRequest,
) -> Result<Page<Enrollment>, StoreError> {
    let (org, campaign) = (org.as_str(), campaign.as_str());
    let after = page
        .after
        .as_deref()
        .map(|id| (keys::member(org, campaign, id), None));
    let query = Query::table(
        keys::campaign_pk(org, campaign),
        Range::BeginsWith(keys::MEMBER_PREFIX.into()),
    )
    .after(after);
    let ids = store
        .page(
            query,
            page.limit,
            |i| text(i, ID).map(str::to_owned),
            String::clone,
        )
        .await?;
    let wanted: Vec<keys::Key> = ids
        .items
        .iter()
        .map(|id| keys::enrollment(org, id))
        .collect();
    let mut found = std::collections::HashMap::new();
    for item in store.get_many(&wanted).await? {
        let e: Enrollment = doc(&item)?;
        found.insert(e.id.to_string(), e);
    }
    Ok(Page {
        items: ids.items.iter().filter_map(|id| found.remove(id)).collect(),
        next: ids.next,
    })
}

pub(super) async fn enrollment_of_candidate(
    store: &DynamoStore,
    org: &OrgId,
    campaign: &CampaignId,
    candidate: &CandidateId,
) -> Result<Option<EnrollmentId>, StoreError> {
    let query = Query::index(
        keys::GSI2,
        keys::enrollments_of_candidate_pk(org.as_str(), candidate.as_str()),
        Range::BeginsWith(keys::candidate_campaign_prefix(campaign.as_str())),
    );
    let found = store.query(&query, Some(1)).await?;
    found
        .first()
        .map(|i| text(i, ID).map(EnrollmentId::new))
        .transpose()
}

pub(super) async fn enrollments_of_candidate_in_org(
    store: &DynamoStore,
    org: &OrgId,
    candidate: &CandidateId,
) -> Result<Vec<EnrollmentId>, StoreError> {
    let query = Query::index(
        keys::GSI2,
        keys::enrollments_of_candidate_pk(org.as_str(), candidate.as_str()),
        Range::BeginsWith(keys::CAMPAIGN_PREFIX.into()),
    );
    store.sorted_ids(&query, EnrollmentId::new).await
}

pub(super) async fn list_due(
    store: &DynamoStore,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<(OrgId, EnrollmentId)>, StoreError> {
    let limit = limit as usize;
    if limit == 0 {
        return Ok(Vec::new());
    }
    // Each shard is in due order; the earliest `limit` overall are among the
    // earliest `limit` of each shard. (The sweeper reads one shard at a time,
    // `list_due_in`; this merge serves whoever wants the service's earliest.)
    let mut due = Vec::new();
    for shard in 0..keys::DUE_SHARDS {
        due.extend(due_in_shard(store, shard, before, limit).await?);
    }
    due.sort();
    Ok(due
        .into_iter()
        .take(limit)
        .map(|(_, org, id)| (org, id))
        .collect())
}

pub(super) async fn list_due_in(
    store: &DynamoStore,
    shard: u32,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<(OrgId, EnrollmentId)>, StoreError> {
    if limit == 0 || shard >= keys::DUE_SHARDS {
        return Ok(Vec::new());
    }
    let due = due_in_shard(store, shard, before, limit as usize).await?;
    Ok(due.into_iter().map(|(_, org, id)| (org, id)).collect())
}

/// The earliest `limit` entries of one shard due at or before `before`, with their sort keys.
async fn due_in_shard(
    store: &DynamoStore,
    shard: u32,
    before: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<(String, OrgId, EnrollmentId)>, StoreError> {
    let bound = keys::due_upper_bound(before);
    let query = Query::index(keys::GSI3, keys::due_pk(shard), Range::Below(bound));
    let mut due = Vec::new();
    for item in store.query(&query, Some(limit)).await? {
        let sort = text(&item, keys::GSI3SK)?.to_owned();
        let org = OrgId::new(text(&item, ORG)?);
        let id = EnrollmentId::new(text(&item, ID)?);
        due.push((sort, org, id));
    }
    Ok(due)
}
