//! Conditional writes under concurrent handlers: of many handlers that read
//! the same version, one write wins, and a campaign's active count
//! moves only with enrollment writes.

use std::sync::Arc;

use chrono::Duration;
use outreach_app::ports::{Activity, Store, StoreError, Versioned};
use outreach_domain::enrollment::{AttemptState, Enrollment};
use outreach_domain::ids::{EnrollmentId, OrgId};
use tokio::sync::Barrier;

use super::{CLAIMERS, campaign, enrollment, one_enrollment, race};
use crate::fixtures::{self, address, at};

/// of 20 handlers that read the same version and claim the same
/// attempt, exactly one conditional write wins.
pub async fn claim_is_won_once(store: Arc<dyn Store>) {
    let org = "org-claim";
    one_enrollment(&store, org).await;
    let answers = write_from_one_version(&store, org, CLAIMERS, |i, e| {
        let to = address(&format!("ada{i}@home.example"));
        e.claim(1, to, at(10, 0), at(10, 5)).is_ok()
    })
    .await;
    let wins: Vec<bool> = answers
        .into_iter()
        .map(|answer| match answer {
            Some(Ok(_)) => true,
            None | Some(Err(StoreError::Conflict)) => false,
            Some(Err(other)) => panic!("a claim failed otherwise than by conflict: {other}"),
        })
        .collect();
    assert_eq!(
        wins.iter().filter(|w| **w).count(),
        1,
        "exactly one claim wins"
    );
    let after = enrollment(&store, org, "enr-1").await;
    assert_eq!(after.version, 2);
    let attempts = &after.value.steps[0].attempts;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].state, AttemptState::Claimed);
}

/// a claim whose lease expired is found by `list_due` once the lease
/// ends, and of several sweepers only one finalises it.
pub async fn expired_claim_is_swept_once(store: Arc<dyn Store>) {
    let org = "org-sweep";
    one_enrollment(&store, org).await;
    let Versioned {
        value: mut e,
        version,
    } = enrollment(&store, org, "enr-1").await;
    e.claim(1, address("ada@home.example"), at(10, 0), at(10, 5))
        .expect("claimable");
    store
        .update_enrollment(&e, version, Activity::Unchanged)
        .await
        .expect("claimed");
    let due = |before| {
        let store = store.clone();
        async move { store.list_due(before, 100).await.expect("list_due answers") }
    };
    let mine = (OrgId::from(org), EnrollmentId::from("enr-1"));
    // Issue 19: the claim keeps the entry at its planned instant (no due
    // key moves); the lease is the item's, read by the sweeper.
    assert!(
        due(at(10, 0)).await.contains(&mine),
        "the claim stays due at its planned instant"
    );
    let claimed = enrollment(&store, org, "enr-1").await.value;
    assert!(
        claimed.expired_claims(at(10, 4)).is_empty(),
        "the lease still holds"
    );
    assert_eq!(
        claimed.expired_claims(at(10, 6)),
        vec![(1, 1)],
        "the lease expired"
    );

    let answers = write_from_one_version(&store, org, 5, |_, e| {
        for (step, attempt) in e.expired_claims(at(10, 6)) {
            e.record_sent(step, attempt, at(10, 0), None, true)
                .expect("an expired claim is recorded");
        }
        true
    })
    .await;
    let wins: Vec<bool> = answers.iter().map(|a| matches!(a, Some(Ok(_)))).collect();
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "one sweeper wins");
    let after = enrollment(&store, org, "enr-1").await.value;
    let attempt = &after.steps[0].attempts[0];
    assert_eq!(attempt.state, AttemptState::Sent);
    assert!(attempt.unconfirmed);
    assert!(
        !due(at(10, 6)).await.contains(&mine),
        "step 2 is due tomorrow"
    );
    assert!(due(at(10, 0) + Duration::days(1)).await.contains(&mine));
}

/// Runs `n` handlers that each read `enr-1` of `org` and, once all of them
/// have read the same version, write back what `change` made of it (nothing
/// when `change` declines): the answer of each write.
async fn write_from_one_version<F>(
    store: &Arc<dyn Store>,
    org: &'static str,
    n: usize,
    change: F,
) -> Vec<Option<Result<u64, StoreError>>>
where
    F: Fn(usize, &mut Enrollment) -> bool + Send + Sync + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let change = Arc::new(change);
    race(n, |i| {
        let (store, barrier, change) = (store.clone(), barrier.clone(), change.clone());
        async move {
            let Versioned {
                value: mut e,
                version,
            } = enrollment(&store, org, "enr-1").await;
            // Everyone has read the same version before anyone writes.
            barrier.wait().await;
            if !change(i, &mut e) {
                return None;
            }
            Some(
                store
                    .update_enrollment(&e, version, Activity::Unchanged)
                    .await,
            )
        }
    })
    .await
}

/// duplicate handling of one hard bounce ends attempt 1 once,
/// and the re-send creates attempt 2 once, however the handlers interleave.
pub async fn next_attempt_is_created_once(store: Arc<dyn Store>) {
    let org = "org-bounce";
    one_enrollment(&store, org).await;
    let Versioned {
        value: mut e,
        version,
    } = enrollment(&store, org, "enr-1").await;
    e.claim(1, address("ada@home.example"), at(10, 0), at(10, 5))
        .expect("claimable");
    e.record_sent(
        1,
        1,
        at(10, 0),
        Some(("ses-1".into(), "<ses-1@email.amazonses.com>".into())),
        false,
    )
    .expect("sent");
    store
        .update_enrollment(&e, version, Activity::Unchanged)
        .await
        .expect("recorded");

    let barrier = Arc::new(Barrier::new(10));
    let results = race(10, |_| {
        bounce_then_resend(store.clone(), org, barrier.clone())
    })
    .await;
    assert_eq!(results.iter().map(|w| w.bounced).sum::<usize>(), 1);
    assert_eq!(results.iter().map(|w| w.claimed).sum::<usize>(), 1);
    let Versioned {
        value: mut after, ..
    } = enrollment(&store, org, "enr-1").await;
    let attempts = &after.steps[0].attempts;
    assert_eq!(attempts.len(), 2, "attempt 2 exists once");
    assert_eq!(attempts[0].state, AttemptState::Bounced);
    assert_eq!(attempts[1].state, AttemptState::Claimed);
    assert_eq!(attempts[1].address, address("ada@work.example"));
    // A late duplicate of the bounce changes nothing.
    assert!(!after.bounce_attempt(1, 1, "550 no such user", at(10, 3), at(10, 3)));
}

/// The writes of one handler of [`next_attempt_is_created_once`] that won.
#[derive(Debug, Default, Clone, Copy)]
struct Wins {
    bounced: usize,
    claimed: usize,
}

/// One handler of a duplicated bounce: until attempt 2 exists, it marks
/// attempt 1 bounced or, once it is, claims the re-send to the other address,
/// each time from the version it just read.
async fn bounce_then_resend(
    store: Arc<dyn Store>,
    org: &'static str,
    barrier: Arc<Barrier>,
) -> Wins {
    let mut wins = Wins::default();
    let mut first = true;
    for _ in 0..40 {
        let Versioned {
            value: mut e,
            version,
        } = enrollment(&store, org, "enr-1").await;
        if first {
            // Every handler starts from the same version.
            barrier.wait().await;
            first = false;
        }
        let latest = e.steps[0].attempts.last().map(|a| (a.number, a.state));
        let bouncing = match latest {
            Some((1, AttemptState::Sent)) => true,
            Some((1, AttemptState::Bounced)) => false,
            _ => break, // attempt 2 exists: nothing left to do
        };
        if bouncing {
            assert!(e.bounce_attempt(1, 1, "550 no such user", at(10, 2), at(10, 2)));
        } else {
            let n = e
                .claim(1, address("ada@work.example"), at(10, 2), at(10, 7))
                .expect("the step is due again after the bounce");
            assert_eq!(n, 2);
        }
        match store
            .update_enrollment(&e, version, Activity::Unchanged)
            .await
        {
            Ok(_) if bouncing => wins.bounced += 1,
            Ok(_) => wins.claimed += 1,
            Err(StoreError::Conflict) => {}
            Err(other) => panic!("{other}"),
        }
    }
    wins
}

/// Every conditional write refuses a stale version.
pub async fn stale_writes_conflict(store: Arc<dyn Store>) {
    let org = "org-versions";
    let mut c = fixtures::candidate(org, "cand-1", &["ada@home.example"]);
    assert_eq!(store.put_candidate(&c, None).await, Ok(1));
    assert_eq!(
        store.put_candidate(&c, None).await,
        Err(StoreError::Conflict)
    );
    c.first_name = "Augusta".into();
    assert_eq!(store.put_candidate(&c, Some(1)).await, Ok(2));
    assert_eq!(
        store.put_candidate(&c, Some(1)).await,
        Err(StoreError::Conflict)
    );
    let read = store
        .get_candidate(&OrgId::from(org), &c.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (read.value.first_name.as_str(), read.version),
        ("Augusta", 2)
    );

    let mut a = fixtures::account(org, "acc-1", "alice", "alice@acme.example");
    assert_eq!(store.put_account(&a, None).await, Ok(1));
    assert_eq!(store.put_account(&a, None).await, Err(StoreError::Conflict));
    a.display_name = "Alice R".into();
    assert_eq!(store.put_account(&a, Some(1)).await, Ok(2));
    assert_eq!(
        store.put_account(&a, Some(1)).await,
        Err(StoreError::Conflict)
    );

    let campaign = fixtures::campaign(org, "cmp-1", "prj-1", "acc-1");
    assert_eq!(store.put_campaign(&campaign, None).await, Ok(1));
    assert_eq!(
        store.put_campaign(&campaign, None).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.put_campaign(&campaign, Some(1)).await, Ok(2));
    assert_eq!(
        store.put_campaign(&campaign, Some(1)).await,
        Err(StoreError::Conflict)
    );

    let e = fixtures::enrollment(org, "enr-1", "cmp-1", "cand-1", at(10, 0));
    store.insert_enrollment(&e).await.expect("inserted");
    assert_eq!(store.insert_enrollment(&e).await, Err(StoreError::Conflict));
    assert_eq!(
        store.update_enrollment(&e, 1, Activity::Unchanged).await,
        Ok(2)
    );
    assert_eq!(
        store.update_enrollment(&e, 1, Activity::Unchanged).await,
        Err(StoreError::Conflict)
    );

    let value = serde_json_value(&[("window", 1)]);
    assert_eq!(store.put_record("rep-1", &value, None).await, Ok(1));
    assert_eq!(
        store.put_record("rep-1", &value, None).await,
        Err(StoreError::Conflict)
    );
    let next = serde_json_value(&[("window", 2)]);
    assert_eq!(store.put_record("rep-1", &next, Some(1)).await, Ok(2));
    assert_eq!(
        store.put_record("rep-1", &next, Some(1)).await,
        Err(StoreError::Conflict)
    );
    let read = store
        .get_record("rep-1")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!((read.value, read.version), (next, 2));
    assert_eq!(store.get_record("rep-none").await, Ok(None));
}

fn serde_json_value(pairs: &[(&str, i64)]) -> serde_json::Value {
    serde_json::Value::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).into()))
            .collect(),
    )
}

/// the active-enrollment counter moves only with enrollment writes;
/// writing the campaign never overwrites it, and a campaign read before an
/// enrollment joined cannot be written back over that change.
pub async fn campaign_counter_survives_campaign_writes(store: Arc<dyn Store>) {
    let org = OrgId::from("org-counter");
    let get = || campaign(&store, &org, "cmp-1");
    store
        .put_campaign(
            &fixtures::campaign(org.as_str(), "cmp-1", "prj-1", "acc-1"),
            None,
        )
        .await
        .expect("created");
    for i in 0..3 {
        let e = fixtures::enrollment(
            org.as_str(),
            &format!("enr-{i}"),
            "cmp-1",
            &format!("cand-{i}"),
            at(10, 0),
        );
        store.insert_enrollment(&e).await.expect("inserted");
    }
    let read = get().await;
    assert_eq!(read.value.active_enrollments, 3);

    let mut edited = read.value.clone();
    edited.name = "Renamed".into();
    edited.active_enrollments = 99;
    store
        .put_campaign(&edited, Some(read.version))
        .await
        .expect("edited");
    let read = get().await;
    assert_eq!(read.value.name, "Renamed");
    assert_eq!(
        read.value.active_enrollments, 3,
        "the counter is not the document's"
    );

    let Versioned {
        value: mut e,
        version,
    } = enrollment(&store, org.as_str(), "enr-0").await;
    e.end(
        outreach_domain::enrollment::EnrollmentStatus::Removed,
        at(10, 1),
    )
    .expect("ends");
    store
        .update_enrollment(&e, version, Activity::Ended)
        .await
        .expect("ended");
    assert_eq!(get().await.value.active_enrollments, 2);
    store
        .update_enrollment(&e, version + 1, Activity::Reopened)
        .await
        .expect("reopened");
    assert_eq!(get().await.value.active_enrollments, 3);

    // Read, then an enrollment joins: the stale campaign cannot be written back.
    let stale = get().await;
    let late = fixtures::enrollment(org.as_str(), "enr-late", "cmp-1", "cand-late", at(10, 0));
    store.insert_enrollment(&late).await.expect("joined");
    assert_eq!(
        store.put_campaign(&stale.value, Some(stale.version)).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(get().await.value.active_enrollments, 4);
}
