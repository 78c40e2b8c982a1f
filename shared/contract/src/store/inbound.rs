//! Markers written once: a notification key is seen the first time only
//! an address is suppressed once per organization.

use std::sync::Arc;

use chrono::Duration;
use outreach_app::ports::Store;
use outreach_domain::ids::OrgId;

use super::race;
use crate::fixtures::at;

/// a notification key is seen the first time only, even concurrently.
pub async fn first_time_is_seen_once(store: Arc<dyn Store>) {
    let expires = at(10, 0) + Duration::days(14);
    assert!(store.first_time("bounce-1", expires).await.expect("first"));
    assert!(!store.first_time("bounce-1", expires).await.expect("again"));
    let firsts = race(10, |_| {
        let store = store.clone();
        async move {
            store
                .first_time("delivery-2", expires)
                .await
                .expect("answers")
        }
    })
    .await;
    assert_eq!(firsts.iter().filter(|f| **f).count(), 1);
}

/// an address key is suppressed once per organization.
pub async fn suppression_is_recorded_once(store: Arc<dyn Store>) {
    let org = OrgId::from("org-suppress");
    assert_eq!(
        store.suppress(&org, "hash-1", "complaint", at(10, 0)).await,
        Ok(true)
    );
    assert_eq!(
        store
            .suppress(&org, "hash-1", "unsubscribe", at(10, 1))
            .await,
        Ok(false)
    );
    assert_eq!(store.is_suppressed(&org, "hash-1").await, Ok(true));
    assert_eq!(store.is_suppressed(&org, "hash-2").await, Ok(false));
    assert_eq!(
        store
            .is_suppressed(&OrgId::from("org-other"), "hash-1")
            .await,
        Ok(false)
    );
}
