//! "Handled" markers written only after the work they guard succeeded
//! (issue 18): a check before the work, a mark after it. A failed attempt
//! leaves no marker, so its retry does the work again instead of being
//! refused as a duplicate and lost; two attempts at once may both do it, so
//! what a marker guards must be harmless twice (an idempotent handler, a
//! second copy of a forward), never a candidate's mail (that is the claim's
//! job, R-8.1).
//!
//! A marker is an expiring record (`{"until": …}`): DynamoDB deletes it in
//! its own time after `until`, and one still found after `until` reads as absent.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::ports::{Store, StoreError};

/// Whether `key` was marked handled and its marker has not expired by `now`.
pub async fn is_marked(
    store: &dyn Store,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let found = store.get_record(key).await?;
    Ok(found.is_some_and(|r| {
        r.value
            .get("until")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_none_or(|until| until > now)
    }))
}

/// Marks `key` handled until `until`; marking twice is no error.
pub async fn mark(store: &dyn Store, key: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
    let value = serde_json::json!({ "until": until.to_rfc3339() });
    let current = store.get_record(key).await?;
    match store
        .put_expiring_record(key, &value, current.map(|r| r.version), until)
        .await
    {
        // A concurrent attempt marked it first: handled either way.
        Ok(_) | Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e),
    }
}
