//! A campaign's enrollments read consistently (issue 19): what plans a start,
//! a resume or an edit, and what decides completion, lists every enrollment
//! created before it, whatever an index has caught up with.

use std::sync::Arc;

use outreach_app::ports::{Activity, Store};
use outreach_domain::enrollment::EnrollmentStatus;
use outreach_domain::ids::{CampaignId, OrgId};

use super::{page, read_all};
use crate::StaleIndexes;
use crate::fixtures::{self, at};

/// The consistent list pages through a campaign's enrollments in the order
/// of `list_enrollments`, ended ones too, each as last written, and keeps to
/// its campaign and organization (an id with `#` reaches no other's).
pub async fn enrollments_are_listed_consistently(store: Arc<dyn Store>) {
    let org = OrgId::from("org-members");
    let other_org = OrgId::from("org-members#x");
    // Unescaped, `x#cmp-9` of one and `cmp-9` of the other would share a partition.
    for (o, c) in [(&org, "cmp-1"), (&org, "x#cmp-9"), (&other_org, "cmp-9")] {
        store
            .put_campaign(&fixtures::campaign(o.as_str(), c, "prj-1", "acc-1"), None)
            .await
            .expect("campaign");
    }
    let ids = ["enr-0", "enr-1", "enr-2#x", "enr-3", "enr-4"];
    for (i, id) in ids.iter().enumerate() {
        let e = fixtures::enrollment(org.as_str(), id, "cmp-1", &format!("cand-{i}"), at(10, 0));
        store.insert_enrollment(&e).await.expect("enrollment");
    }
    for (o, c, id) in [(&org, "x#cmp-9", "enr-y"), (&other_org, "cmp-9", "enr-z")] {
        let e = fixtures::enrollment(o.as_str(), id, c, "cand-y", at(10, 0));
        store.insert_enrollment(&e).await.expect("enrollment");
    }
    // One ended after its insert: still listed, as it is now.
    let mut ended = super::enrollment(&store, org.as_str(), "enr-3").await;
    ended
        .value
        .end(EnrollmentStatus::Removed, at(11, 0))
        .expect("ends");
    store
        .update_enrollment(&ended.value, ended.version, Activity::Ended)
        .await
        .expect("ended");

    let cmp = CampaignId::from("cmp-1");
    let (pages, listed) = read_all(2, |p| {
        let (store, org, cmp) = (store.clone(), org.clone(), cmp.clone());
        async move { store.list_enrollments_consistent(&org, &cmp, &p).await }
    })
    .await;
    assert_eq!(pages, vec![2, 2, 1], "pages of two");
    let listed_ids: Vec<String> = listed.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(
        listed_ids, ids,
        "every enrollment of the campaign, in order"
    );
    let (_, indexed) = read_all(2, |p| {
        let (store, org, cmp) = (store.clone(), org.clone(), cmp.clone());
        async move { store.list_enrollments(&org, &cmp, &p).await }
    })
    .await;
    let indexed_ids: Vec<String> = indexed.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(listed_ids, indexed_ids, "the same list as list_enrollments");
    let removed = listed.iter().find(|e| e.id.as_str() == "enr-3");
    assert_eq!(
        removed.map(|e| e.status),
        Some(EnrollmentStatus::Removed),
        "each enrollment as last written"
    );
    for (o, c, id) in [(&org, "x#cmp-9", "enr-y"), (&other_org, "cmp-9", "enr-z")] {
        let only = store
            .list_enrollments_consistent(o, &CampaignId::from(c), &page(10, None))
            .await
            .expect("page");
        let only: Vec<String> = only.items.iter().map(|e| e.id.to_string()).collect();
        assert_eq!(only, [id], "{c} of {o} keeps to itself");
    }
}

/// With the indexes lagging ([`StaleIndexes`]), an enrollment created just
/// now is missing from `list_enrollments` but on the consistent list: what
/// plans a start reads the latter.
pub async fn a_lagging_index_hides_nothing_from_the_consistent_list(store: Arc<dyn Store>) {
    let stale = StaleIndexes::new(store);
    let org = OrgId::from("org-lag");
    stale
        .put_campaign(
            &fixtures::campaign(org.as_str(), "cmp-1", "prj-1", "acc-1"),
            None,
        )
        .await
        .expect("campaign");
    let old = fixtures::enrollment(org.as_str(), "enr-old", "cmp-1", "cand-1", at(10, 0));
    stale.insert_enrollment(&old).await.expect("enrollment");
    stale.lag();
    let new = fixtures::enrollment(org.as_str(), "enr-new", "cmp-1", "cand-2", at(10, 0));
    stale.insert_enrollment(&new).await.expect("enrollment");
    assert_eq!(stale.unseen(), 1);
    let cmp = CampaignId::from("cmp-1");
    let indexed = stale
        .list_enrollments(&org, &cmp, &page(10, None))
        .await
        .expect("page");
    let ids = |p: &[outreach_domain::enrollment::Enrollment]| {
        p.iter().map(|e| e.id.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&indexed.items), ["enr-old"], "the index lags");
    let consistent = stale
        .list_enrollments_consistent(&org, &cmp, &page(10, None))
        .await
        .expect("page");
    assert_eq!(ids(&consistent.items), ["enr-new", "enr-old"]);
}
