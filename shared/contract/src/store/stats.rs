//! the statistics are kept as events happen, in the atomic write of
//! the enrollment or reply that changed, each event in the quarter hour it
//! happened in; they always equal a recount of the enrollments and replies,
//! and a range reads exactly its buckets (half-open).

use std::sync::Arc;

use outreach_app::ports::{Activity, Store};
use outreach_app::reply::Reply;
use outreach_app::stats;
use outreach_app::tally::Tally;
use outreach_domain::enrollment::{Enrollment, EnrollmentStatus, OptOut};
use outreach_domain::ids::OrgId;
use outreach_domain::inbound::ReplyClass;

use super::enrollment;
use super::replies::reply;
use crate::fixtures::{self, address, at};

async fn write(store: &Arc<dyn Store>, e: &Enrollment, activity: Activity) {
    let stored = enrollment(store, e.org_id.as_str(), e.id.as_str()).await;
    store
        .update_enrollment(e, stored.version, activity)
        .await
        .expect("written");
}

/// Sends step 1 of `e` at 10:01 (claimed at 10:00).
async fn send_first(store: &Arc<dyn Store>, e: &mut Enrollment) {
    let attempt = e
        .claim(1, address("ada@home.example"), at(10, 0), at(10, 5))
        .expect("claimable");
    write(store, e, Activity::Unchanged).await;
    e.record_sent(1, attempt, at(10, 1), None, false)
        .expect("sent");
    write(store, e, Activity::Unchanged).await;
}

/// The kept counters of the whole day, by counter name.
async fn kept(store: &Arc<dyn Store>, org: &OrgId, from: &str, to: &str) -> Tally {
    let found = store
        .stats_counters(org, from, to)
        .await
        .expect("the statistics are read");
    assert!(found.len() <= 1, "one campaign: {found:?}");
    found
        .into_iter()
        .inspect(|(c, _)| assert_eq!(c.as_str(), "cmp-s"))
        .flat_map(|(_, t)| t)
        .collect()
}

fn replies_of(org: &OrgId) -> (Reply, Reply, Reply) {
    let mut first = reply(org.as_str(), "rpl-s1", "prj-1", "cmp-s", 40, None);
    first.class = Some(ReplyClass::Interested);
    first.automatic = false;
    first.first = true;
    first.after_s = Some(2_340);
    let mut later = reply(org.as_str(), "rpl-s2", "prj-1", "cmp-s", 50, None);
    later.class = Some(ReplyClass::Other);
    later.automatic = false;
    later.first = false;
    let auto = reply(org.as_str(), "rpl-s3", "prj-1", "cmp-s", 41, None);
    (first, later, auto)
}

/// Four enrollments sent at 10:01: delivered at 10:20, bounced at 11:00, a
/// complaint at 10:50; a first reply (corrected since), a later one and an
/// automatic one. Returns the enrollments and the replies as they are.
async fn events(store: &Arc<dyn Store>, org: &OrgId) -> (Vec<Enrollment>, [Reply; 3]) {
    let campaign = fixtures::campaign(org.as_str(), "cmp-s", "prj-1", "acc-1");
    store.put_campaign(&campaign, None).await.expect("campaign");
    let mut es = Vec::new();
    for i in 0..4 {
        let e = fixtures::enrollment(
            org.as_str(),
            &format!("enr-s{i}"),
            "cmp-s",
            &format!("cand-{i}"),
            at(10, 0),
        );
        store.insert_enrollment(&e).await.expect("inserted");
        es.push(e);
    }
    for e in es.iter_mut() {
        send_first(store, e).await;
    }
    assert!(es[0].mark_delivered(1, 1, at(10, 20)));
    write(store, &es[0], Activity::Unchanged).await;
    assert!(es[1].bounce_attempt(1, 1, "550 unknown", at(11, 0), at(11, 0)));
    write(store, &es[1], Activity::Unchanged).await;
    assert!(
        es[2]
            .end(EnrollmentStatus::Unsubscribed, at(10, 50))
            .expect("ends")
    );
    es[2].opt_out = Some(OptOut {
        at: at(10, 50),
        complaint: true,
    });
    es[2].complained_at = Some(at(10, 50));
    write(store, &es[2], Activity::Ended).await;
    // A duplicate delivery of the first reply creates nothing.
    let (first, later, auto) = replies_of(org);
    for r in [&first, &later, &auto, &first] {
        store.create_reply(r).await.expect("created");
    }
    // A user's correction moves the first reply's class.
    let stored = store
        .get_reply(org, &first.id)
        .await
        .expect("read")
        .expect("found");
    let mut corrected = stored.value.clone();
    corrected.class = Some(ReplyClass::NotInterested);
    store
        .update_reply(&corrected, stored.version)
        .await
        .expect("corrected");
    (es, [corrected, later, auto])
}

pub async fn statistics_agree_with_a_recount_by_quarter_hour(store: Arc<dyn Store>) {
    let org = OrgId::from("org-stats");
    let (es, replies) = events(&store, &org).await;
    let day = |h: u32, m: u32| stats::bucket(at(h, m));
    let all = kept(&store, &org, &day(0, 0), &day(23, 45)).await;
    let recounted = stats::recount(es.iter(), replies.iter());
    assert_eq!(all, recounted, "the kept statistics are a recount's");
    let count = |t: &Tally, counter: &str| {
        t.iter()
            .filter(|(n, _)| stats::split(n).is_some_and(|(_, c)| c == counter))
            .map(|(_, v)| *v)
            .sum::<i64>()
    };
    assert_eq!(count(&all, "1:sent"), 4);
    assert_eq!(count(&all, "1:delivered"), 1);
    assert_eq!(count(&all, "1:bounced"), 1);
    assert_eq!(count(&all, "1:complaints"), 1);
    assert_eq!(count(&all, "1:replied:not_interested"), 1);
    assert_eq!(
        count(&all, "1:replied:interested"),
        0,
        "the correction moved it"
    );
    assert_eq!(
        count(&all, "1:replied:other"),
        0,
        "a later reply is not counted"
    );
    assert_eq!(count(&all, "1:auto_replies"), 1);
    assert_eq!(count(&all, "1:ttr:2340"), 1);
    // [10:15, 10:30) holds the delivery only; [10:00, 10:15) the sends.
    let quarter = kept(&store, &org, &day(10, 15), &day(10, 30)).await;
    assert_eq!(count(&quarter, "1:delivered"), 1);
    assert_eq!(quarter.values().sum::<i64>(), 1, "{quarter:?}");
    let sends = kept(&store, &org, &day(10, 0), &day(10, 15)).await;
    assert_eq!(count(&sends, "1:sent"), 4);
    assert_eq!(sends.values().sum::<i64>(), 4, "{sends:?}");
    assert!(
        kept(&store, &org, &day(12, 0), &day(13, 0))
            .await
            .is_empty()
    );
}
