//! Issue 19 item 7: the Outreach view's counts are kept as events
//! happen, in the transaction of the enrollment write that changes them, and
//! always equal a recount of the enrollments.

use std::sync::Arc;

use outreach_app::model::EnrollmentEvent;
use outreach_app::ports::{Activity, Store, StoreError};
use outreach_app::tally::{self, Tally};
use outreach_domain::enrollment::{Enrollment, EnrollmentStatus};
use outreach_domain::ids::{CampaignId, OrgId};

use super::{campaign, enrollment, read_all};
use crate::fixtures::{self, address, at};

/// The kept counts and a recount of every enrollment, side by side.
async fn kept_and_recounted(store: &Arc<dyn Store>, org: &OrgId) -> (Tally, Tally) {
    let cmp = CampaignId::from("cmp-t");
    let kept = store
        .campaign_tally(org, &cmp)
        .await
        .expect("the counts are read");
    let (_, all) = read_all(3, |p| {
        let (store, org, cmp) = (store.clone(), org.clone(), cmp.clone());
        async move { store.list_enrollments(&org, &cmp, &p).await }
    })
    .await;
    (kept, tally::recount(all.iter()))
}

/// Writes `e` over its stored version with `activity`, through the recording
/// write when `recorded`.
async fn write(store: &Arc<dyn Store>, e: &Enrollment, activity: Activity, recorded: bool) {
    let stored = enrollment(store, e.org_id.as_str(), e.id.as_str()).await;
    if recorded {
        let event = EnrollmentEvent {
            org_id: e.org_id.clone(),
            enrollment_id: e.id.clone(),
            at: at(10, 0),
            kind: "sent".into(),
            step: Some(1),
            detail: None,
        };
        store
            .update_enrollment_recording(e, stored.version, activity, &event, None, &[])
            .await
            .expect("recorded");
    } else {
        store
            .update_enrollment(e, stored.version, activity)
            .await
            .expect("written");
    }
}

/// Claims and hands off step 1 of `e`.
async fn send_first(store: &Arc<dyn Store>, e: &mut Enrollment) {
    let attempt = e
        .claim(1, address("ada@home.example"), at(10, 0), at(10, 5))
        .expect("claimable");
    write(store, e, Activity::Unchanged, false).await;
    e.record_sent(1, attempt, at(10, 1), None, false)
        .expect("sent");
    write(store, e, Activity::Unchanged, true).await;
}

/// Sent and delivered; sent and bounced; sent and replied; sent and
/// unsubscribed; held as a duplicate; removed; and a stale write.
async fn events_of_every_kind(store: &Arc<dyn Store>, org: &OrgId, mut es: Vec<Enrollment>) {
    let store = store.clone();
    for e in es.iter_mut().take(4) {
        send_first(&store, e).await;
    }
    assert!(es[0].mark_delivered(1, 1, at(10, 2)));
    write(&store, &es[0], Activity::Unchanged, false).await;
    assert!(es[1].bounce_attempt(1, 1, "mailbox unknown", at(11, 0), at(11, 0)));
    write(&store, &es[1], Activity::Unchanged, false).await;
    for (i, status) in [
        (2, EnrollmentStatus::Replied),
        (3, EnrollmentStatus::Unsubscribed),
    ] {
        assert!(es[i].end(status, at(10, 3)).expect("ends"));
        write(&store, &es[i], Activity::Ended, true).await;
    }
    es[4].block("duplicate: cmp-other");
    write(&store, &es[4], Activity::Unchanged, false).await;
    assert!(
        es[5]
            .end(EnrollmentStatus::Removed, at(10, 4))
            .expect("ends")
    );
    write(&store, &es[5], Activity::Ended, false).await;
    // A stale write changes nothing.
    let stale = enrollment(&store, org.as_str(), "enr-t0").await;
    let mut lost = stale.value.clone();
    lost.end(EnrollmentStatus::Removed, at(10, 5))
        .expect("ends");
    assert_eq!(
        store
            .update_enrollment(&lost, stale.version - 1, Activity::Ended)
            .await,
        Err(StoreError::Conflict)
    );
}

pub async fn outreach_counts_agree_with_a_recount(store: Arc<dyn Store>) {
    let org = OrgId::from("org-tally");
    store
        .put_campaign(
            &fixtures::campaign(org.as_str(), "cmp-t", "prj-1", "acc-1"),
            None,
        )
        .await
        .expect("campaign");
    let mut es = Vec::new();
    for i in 0..6 {
        let e = fixtures::enrollment(
            org.as_str(),
            &format!("enr-t{i}"),
            "cmp-t",
            &format!("cand-{i}"),
            at(10, 0),
        );
        store.insert_enrollment(&e).await.expect("inserted");
        es.push(e);
    }
    events_of_every_kind(&store, &org, es).await;

    let (kept, recounted) = kept_and_recounted(&store, &org).await;
    assert_eq!(kept, recounted, "the kept counts are a recount's");
    let count = |name: String| kept.get(&name).copied().unwrap_or(0);
    assert_eq!(count(tally::step_counter(1, "sent")), 4);
    assert_eq!(count(tally::step_counter(1, "delivered")), 1);
    assert_eq!(count(tally::step_counter(1, "bounced")), 1);
    assert_eq!(count(tally::step_counter(1, "replied")), 1);
    assert_eq!(count(tally::step_counter(1, "unsubscribed")), 1);
    assert_eq!(count(tally::DUPLICATES.into()), 1);
    assert_eq!(count(tally::status_counter(EnrollmentStatus::Removed)), 1);
    assert_eq!(count(tally::status_counter(EnrollmentStatus::Blocked)), 1);
    // The counters did not take the active count's place: 6 joined, 3 ended.
    assert_eq!(
        campaign(&store, &org, "cmp-t")
            .await
            .value
            .active_enrollments,
        3
    );
    // Another campaign's counts are its own.
    assert_eq!(
        store
            .campaign_tally(&org, &CampaignId::from("cmp-none"))
            .await,
        Ok(Tally::new())
    );
}
