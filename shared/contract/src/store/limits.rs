//! The item limit (issue 19 item 4): DynamoDB refuses an item over 400 KB, so
//! the embedded store refuses the same records at the same size, and local
//! mode cannot keep what DynamoDB would not.

use std::sync::Arc;

use outreach_app::model::{EnrollmentEvent, Template};
use outreach_app::ports::{Activity, MAX_ITEM_BYTES, MAX_RECORD_BYTES, Store, StoreError};
use outreach_domain::ids::{OrgId, UserId};
use serde_json::json;

use super::{enrollment, one_enrollment};
use crate::fixtures::{self, at};

/// A record whose JSON document is exactly `bytes` long: `{"body":"x…"}`.
fn record_of(bytes: usize) -> serde_json::Value {
    json!({ "body": "x".repeat(bytes - r#"{"body":""}"#.len()) })
}

/// A record over the item limit is refused alike by both stores
/// (`StoreError::TooLarge`, nothing written), whichever write carries it:
/// a create, a versioned replace, an upsert (a template) or a transaction (an
/// enrollment's recording). Size is measured as stored: control characters
/// take six bytes each. A record at the limit is kept by both.
pub async fn a_record_over_the_item_limit_is_refused(store: Arc<dyn Store>) {
    let too_large = Err(StoreError::TooLarge);
    // Creates: over the limit, as raw bytes and through escapes.
    let over = record_of(MAX_RECORD_BYTES + 1);
    assert_eq!(store.put_record("big", &over, None).await, too_large);
    let escaped = json!({ "body": "\u{1}".repeat(MAX_ITEM_BYTES / 4) });
    assert_eq!(store.put_record("big", &escaped, None).await, too_large);
    assert_eq!(store.get_record("big").await, Ok(None), "nothing written");
    // At the limit, kept; replacing it with a larger version is refused.
    let fits = record_of(MAX_RECORD_BYTES);
    assert_eq!(store.put_record("fits", &fits, None).await, Ok(1));
    assert_eq!(store.put_record("fits", &over, Some(1)).await, too_large);
    let kept = store.get_record("fits").await.expect("read").expect("kept");
    assert_eq!((kept.version, kept.value), (1, fits));

    // An upsert: a template of one huge step.
    let org = OrgId::from("org-limit");
    let mut steps = fixtures::campaign(org.as_str(), "c", "p", "a").steps;
    steps[0].body = "\"".repeat(MAX_ITEM_BYTES / 2);
    let template = Template {
        id: "tpl-huge".into(),
        org_id: org.clone(),
        name: "Huge".into(),
        steps,
        created_by: UserId::from("alice"),
        created_at: at(9, 0),
    };
    assert_eq!(
        store.put_template(&template).await,
        Err(StoreError::TooLarge)
    );
    assert_eq!(store.get_template(&org, "tpl-huge").await, Ok(None));

    // An enrollment grown past the limit: neither its write nor its recording
    // (a transaction with its event) lands.
    let e = one_enrollment(&store, org.as_str()).await;
    let mut grown = e.clone();
    grown
        .custom_fields
        .insert("notes".into(), "\u{1}".repeat(MAX_ITEM_BYTES / 5));
    assert_eq!(
        store
            .update_enrollment(&grown, 1, Activity::Unchanged)
            .await,
        too_large
    );
    let event = EnrollmentEvent {
        org_id: org.clone(),
        enrollment_id: e.id.clone(),
        at: at(10, 0),
        kind: "claimed".into(),
        step: Some(1),
        detail: None,
    };
    assert_eq!(
        store
            .update_enrollment_recording(&grown, 1, Activity::Unchanged, &event, None, &[])
            .await,
        too_large
    );
    let stored = enrollment(&store, org.as_str(), e.id.as_str()).await;
    assert_eq!((stored.version, &stored.value), (1, &e));
    let events = store.list_events(&org, &e.id, 10).await.expect("events");
    assert!(
        events.is_empty(),
        "no event of a refused recording: {events:?}"
    );
}
