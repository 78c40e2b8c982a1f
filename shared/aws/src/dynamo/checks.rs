//! A campaign's completion checks (issue 19, R-5.2): the write that ends an
//! enrollment sets one on its counter shard ([`super::tally`]) in the same
//! transaction, an entry of GSI3 under `CHECK#n`; the sweeper lists them,
//! checks the campaign's completion and removes each one whose shard no
//! enrollment ended in since. An ended enrollment keeps no due entry.

use outreach_app::ports::{CompletionCheck, StoreError};
use outreach_domain::ids::{CampaignId, OrgId};

use super::DynamoStore;
use super::access::{Query, Range};
use super::heads::parts_of;
use super::item::{DynamoError, ID, ORG, n, text};
use super::keys;
use super::tally::CHANGES;

pub(super) async fn list_completion_checks(
    store: &DynamoStore,
    shard: u32,
    limit: u32,
) -> Result<Vec<CompletionCheck>, StoreError> {
    if limit == 0 || shard >= keys::DUE_SHARDS {
        return Ok(Vec::new());
    }
    let query = Query::index(keys::GSI3, keys::check_pk(shard), Range::All);
    let mut out = Vec::new();
    for item in store.query(&query, Some(limit as usize)).await? {
        let sort = text(&item, keys::GSI3SK)?;
        let part = sort
            .rsplit('#')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| StoreError::Unavailable(format!("a check's key {sort}")))?;
        out.push(CompletionCheck {
            org: OrgId::new(text(&item, ORG)?),
            campaign: CampaignId::new(text(&item, ID)?),
            part,
        });
    }
    Ok(out)
}

pub(super) async fn clear_completion_check(
    store: &DynamoStore,
    check: &CompletionCheck,
    version: u64,
) -> Result<bool, StoreError> {
    let (org, campaign) = (check.org.as_str(), check.campaign.as_str());
    let parts = match parts_of(store, org, campaign, version).await {
        Ok(parts) => parts,
        Err(StoreError::Conflict) => return Ok(false),
        Err(other) => return Err(other),
    };
    let Some(&changes) = parts.changes.get(check.part as usize) else {
        return Ok(false);
    };
    // Only if no enrollment of the shard ended since the campaign was read:
    // such an end's check is this one, and its handler may have died.
    let removed = store
        .update_returning(
            &keys::tally_shard(org, campaign, check.part),
            "REMOVE #g3pk, #g3sk",
            Some("attribute_exists(#pk) AND #ch = :ch"),
            vec![(":ch", n(changes))],
            &[("#ch", CHANGES)],
        )
        .await;
    match removed {
        Ok(_) => Ok(true),
        Err(DynamoError::ConditionFailed) => Ok(false),
        Err(other) => Err(other.into()),
    }
}
