//! What comes back: reply and unsubscribe tokens, candidates by
//! address, the suppression list, de-duplication markers of notifications
//! and the notifications shown to a project.

use chrono::{DateTime, Utc};
use outreach_app::model::Notification;
use outreach_app::ports::StoreError;
use outreach_domain::EmailAddress;
use outreach_domain::ids::{CandidateId, EnrollmentId, OrgId};

use super::DynamoStore;
use super::access::{Query, Range};
use super::item::{ID, ItemBuilder, ORG, n, text};
use super::keys;

pub(super) async fn find_token(
    store: &DynamoStore,
    token: &str,
) -> Result<Option<(OrgId, EnrollmentId)>, StoreError> {
    match store.get(&keys::token(token)).await? {
        Some(item) => Ok(Some((
            OrgId::new(text(&item, ORG)?),
            EnrollmentId::new(text(&item, ID)?),
        ))),
        None => Ok(None),
    }
}

pub(super) async fn candidates_with_address(
    store: &DynamoStore,
    org: &OrgId,
    address: &EmailAddress,
) -> Result<Vec<CandidateId>, StoreError> {
    let query = Query::table(keys::address_pk(org.as_str(), address.as_str()), Range::All);
    store.sorted_ids(&query, CandidateId::new).await
}

pub(super) async fn suppress(
    store: &DynamoStore,
    org: &OrgId,
    key: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let item = ItemBuilder::new(&keys::suppression(org.as_str(), key))
        .text("reason", reason)
        .text("at", now.to_rfc3339())
        .build();
    let created = store.create_once(item).await?;
    if !created && !reason.starts_with("reply:") {
        super::replies::take_over_suppression(store, org, key, reason).await?;
    }
    Ok(created)
}

pub(super) async fn is_suppressed(
    store: &DynamoStore,
    org: &OrgId,
    key: &str,
) -> Result<bool, StoreError> {
    Ok(store
        .get(&keys::suppression(org.as_str(), key))
        .await?
        .is_some())
}

pub(super) async fn first_time(
    store: &DynamoStore,
    key: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let item = ItemBuilder::new(&keys::seen(key))
        .attr(keys::TTL, n(expires_at.timestamp()))
        .build();
    store.create_once(item).await
}

pub(super) async fn put_notification(
    store: &DynamoStore,
    notification: &Notification,
) -> Result<(), StoreError> {
    let key = keys::notification(
        notification.org_id.as_str(),
        &notification.project_id,
        &notification.id,
    );
    store
        .upsert(ItemBuilder::new(&key).doc(notification)?)
        .await
}

pub(super) async fn list_notifications(
    store: &DynamoStore,
    org: &OrgId,
    project: &str,
) -> Result<Vec<Notification>, StoreError> {
    let query = Query::table(
        keys::org_pk(org.as_str()),
        Range::BeginsWith(keys::notification_prefix(project)),
    );
    let mut found: Vec<Notification> = store.query_docs(&query, None).await?;
    found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(found)
}
