//! Checks of the `Store` port. Each takes a fresh, empty store.

use std::future::Future;
use std::sync::Arc;

use chrono::Duration;
use outreach_app::model::{
    EnrollmentEvent, LedgerKind, Notification, Project, Template, UserProfile,
};
use outreach_app::ports::{
    Activity, Found, Lookup, PageRequest, RevealOutcome, Store, StoreError, Versioned,
};
use outreach_domain::enrollment::{AttemptState, Enrollment};
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::fixtures::{self, address, at};

/// How many handlers race for the same attempt.
pub const CLAIMERS: usize = 20;

/// Runs `n` copies of a task at once and returns their answers.
async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for i in 0..n {
        tasks.spawn(task(i));
    }
    let mut answers = Vec::with_capacity(n);
    while let Some(answer) = tasks.join_next().await {
        answers.push(answer.expect("a racing task panicked"));
    }
    answers
}

fn page(limit: u32, after: Option<String>) -> PageRequest {
    PageRequest { limit, after }
}

async fn enrollment(store: &Arc<dyn Store>, org: &str, id: &str) -> Versioned<Enrollment> {
    store
        .get_enrollment(&OrgId::from(org), &EnrollmentId::from(id))
        .await
        .expect("the store answers")
        .expect("the enrollment exists")
}

/// A running campaign with one enrollment due at 10:00.
async fn one_enrollment(store: &Arc<dyn Store>, org: &str) -> Enrollment {
    store
        .put_campaign(&fixtures::campaign(org, "cmp-1", "prj-1", "acc-1"), None)
        .await
        .expect("campaign created");
    let e = fixtures::enrollment(org, "enr-1", "cmp-1", "cand-1", at(10, 0));
    store
        .insert_enrollment(&e)
        .await
        .expect("enrollment created");
    e
}

/// of 20 handlers that read the same version and claim the same
/// attempt, exactly one conditional write wins.
pub async fn claim_is_won_once(store: Arc<dyn Store>) {
    let org = "org-claim";
    one_enrollment(&store, org).await;
    let barrier = Arc::new(Barrier::new(CLAIMERS));
    let wins = race(CLAIMERS, |i| {
        let store = store.clone();
        let barrier = barrier.clone();
        async move {
            let Versioned {
                value: mut e,
                version,
            } = enrollment(&store, org, "enr-1").await;
            // Everyone has read the same version before anyone writes.
            barrier.wait().await;
            let to = address(&format!("ada{i}@home.example"));
            if e.claim(1, to, at(10, 0), at(10, 5)).is_err() {
                return false;
            }
            match store
                .update_enrollment(&e, version, Activity::Unchanged)
                .await
            {
                Ok(_) => true,
                Err(StoreError::Conflict) => false,
                Err(other) => panic!("a claim failed otherwise than by conflict: {other}"),
            }
        }
    })
    .await;
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
    assert!(
        !due(at(10, 4)).await.contains(&mine),
        "the lease still holds"
    );
    assert!(due(at(10, 6)).await.contains(&mine), "the lease expired");

    let barrier = Arc::new(Barrier::new(5));
    let wins = race(5, |_| {
        let store = store.clone();
        let barrier = barrier.clone();
        async move {
            let Versioned {
                value: mut e,
                version,
            } = enrollment(&store, org, "enr-1").await;
            barrier.wait().await;
            for (step, attempt) in e.expired_claims(at(10, 6)) {
                e.record_sent(step, attempt, at(10, 0), None, true)
                    .expect("an expired claim is recorded");
            }
            store
                .update_enrollment(&e, version, Activity::Unchanged)
                .await
                .is_ok()
        }
    })
    .await;
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

    #[derive(Debug, Default, Clone, Copy)]
    struct Wins {
        bounced: usize,
        claimed: usize,
    }
    let barrier = Arc::new(Barrier::new(10));
    let results = race(10, |_| {
        let store = store.clone();
        let barrier = barrier.clone();
        async move {
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
                    assert!(e.bounce_attempt(1, 1, "550 no such user", at(10, 2)));
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
    assert!(!after.bounce_attempt(1, 1, "550 no such user", at(10, 3)));
}

/// a reveal spends one credit once; a refund returns it once,
/// under duplicate and concurrent calls, with exactly one ledger entry each.
pub async fn refund_is_given_once(store: Arc<dyn Store>) {
    let org = OrgId::from("org-refund");
    let now = at(10, 0);
    store.ensure_org(&org, 5, now).await.expect("org");
    store.ensure_org(&org, 5, now).await.expect("org again");
    assert_eq!(store.credit_balance(&org).await.expect("balance"), 5);
    let ada = CandidateId::from("cand-ada");
    assert_eq!(
        store.reveal(&org, &ada, now).await.expect("reveal"),
        RevealOutcome::Spent
    );
    assert_eq!(
        store.reveal(&org, &ada, now).await.expect("reveal"),
        RevealOutcome::AlreadyRevealed
    );
    assert!(store.is_revealed(&org, &ada).await.expect("revealed"));
    assert_eq!(store.credit_balance(&org).await.expect("balance"), 4);

    let refunds = race(10, |_| {
        let store = store.clone();
        let org = org.clone();
        let ada = ada.clone();
        async move {
            store
                .refund_once(&org, &ada, now)
                .await
                .expect("refund answers")
        }
    })
    .await;
    assert_eq!(refunds.iter().filter(|r| **r).count(), 1, "one refund");
    assert!(!store.refund_once(&org, &ada, now).await.expect("again"));
    assert!(
        !store
            .refund_once(&org, &CandidateId::from("cand-never"), now)
            .await
            .expect("never revealed")
    );
    assert_eq!(store.credit_balance(&org).await.expect("balance"), 5);
    assert!(
        store.is_revealed(&org, &ada).await.expect("revealed"),
        "a refund never un-reveals"
    );
    let ledger = store.ledger(&org, &page(100, None)).await.expect("ledger");
    let kinds: Vec<(LedgerKind, i64)> = ledger.items.iter().map(|e| (e.kind, e.amount)).collect();
    assert_eq!(
        kinds,
        vec![
            (LedgerKind::Grant, 5),
            (LedgerKind::Reveal, -1),
            (LedgerKind::Refund, 1)
        ]
    );
    assert!(ledger.items.windows(2).all(|w| w[0].seq < w[1].seq));
}

/// concurrent reveals of different candidates each spend one credit,
/// and none spends the last credit twice.
pub async fn reveals_spend_each_credit_once(store: Arc<dyn Store>) {
    let org = OrgId::from("org-reveal");
    store.ensure_org(&org, 3, at(9, 0)).await.expect("org");
    let outcomes = race(5, |i| {
        let store = store.clone();
        let org = org.clone();
        async move {
            store
                .reveal(&org, &CandidateId::new(format!("cand-{i}")), at(10, 0))
                .await
                .expect("reveal answers")
        }
    })
    .await;
    let spent = outcomes
        .iter()
        .filter(|o| **o == RevealOutcome::Spent)
        .count();
    assert_eq!(spent, 3);
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == RevealOutcome::NoCredits)
            .count(),
        2
    );
    assert_eq!(store.credit_balance(&org).await.expect("balance"), 0);
    let ledger = store.ledger(&org, &page(100, None)).await.expect("ledger");
    assert_eq!(ledger.items.len(), 4, "one grant and three reveals");
}

/// an admin's grant adds credits with one ledger entry, even when
/// reveals race with it.
pub async fn grants_add_credits(store: Arc<dyn Store>) {
    let org = OrgId::from("org-grant");
    store.ensure_org(&org, 2, at(9, 0)).await.expect("org");
    let answers = race(4, |i| {
        let store = store.clone();
        let org = org.clone();
        async move {
            if i % 2 == 0 {
                store.grant_credits(&org, 10, at(10, 0)).await.is_ok()
            } else {
                store
                    .reveal(&org, &CandidateId::new(format!("cand-{i}")), at(10, 0))
                    .await
                    .is_ok_and(|o| o == RevealOutcome::Spent)
            }
        }
    })
    .await;
    assert!(answers.iter().all(|ok| *ok));
    assert_eq!(store.credit_balance(&org).await, Ok(2 + 20 - 2));
    let ledger = store.ledger(&org, &page(100, None)).await.expect("ledger");
    let grants = ledger
        .items
        .iter()
        .filter(|e| e.kind == LedgerKind::Grant)
        .map(|e| e.amount)
        .collect::<Vec<_>>();
    assert_eq!(grants, vec![2, 10, 10]);
    assert_eq!(ledger.items.iter().map(|e| e.amount).sum::<i64>(), 20);
}

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
    let cmp = CampaignId::from("cmp-1");
    let get = || {
        let store = store.clone();
        let (org, cmp) = (org.clone(), cmp.clone());
        async move {
            store
                .get_campaign(&org, &cmp)
                .await
                .expect("read")
                .expect("exists")
        }
    };
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

/// both tokens of an enrollment find it.
pub async fn tokens_find_their_enrollment(store: Arc<dyn Store>) {
    let e = one_enrollment(&store, "org-tokens").await;
    let expected = Some((OrgId::from("org-tokens"), EnrollmentId::from("enr-1")));
    assert_eq!(store.find_token(&e.reply_token).await, Ok(expected.clone()));
    assert_eq!(store.find_token(&e.unsubscribe_token).await, Ok(expected));
    assert_eq!(store.find_token("no-such-token").await, Ok(None));
}

/// a message is found by the mail service's id and by its
/// Message-ID (with or without brackets); messages to an address come newest first.
pub async fn messages_are_found_by_either_id(store: Arc<dyn Store>) {
    let org = "org-messages";
    let m1 = fixtures::message(
        org,
        "cmp-1",
        "enr-1",
        "ses-1",
        "ses-1@email.amazonses.com",
        "ada@home.example",
        1,
        at(10, 0),
    );
    let m2 = fixtures::message(
        org,
        "cmp-1",
        "enr-1",
        "ses-2",
        "ses-2@email.amazonses.com",
        "ada@home.example",
        2,
        at(11, 0),
    );
    let other = fixtures::message(
        org,
        "cmp-1",
        "enr-2",
        "ses-3",
        "ses-3@email.amazonses.com",
        "bob@home.example",
        1,
        at(12, 0),
    );
    for m in [&m1, &m2, &other, &m1] {
        store.index_message(m).await.expect("indexed");
    }
    assert_eq!(store.find_message("ses-1").await, Ok(Some(m1.clone())));
    assert_eq!(
        store.find_message("ses-1@email.amazonses.com").await,
        Ok(Some(m1.clone()))
    );
    assert_eq!(
        store.find_message("<ses-1@email.amazonses.com>").await,
        Ok(Some(m1.clone()))
    );
    assert_eq!(store.find_message("ses-none").await, Ok(None));
    let ada = address("ada@home.example");
    assert_eq!(
        store.messages_to(&ada, 10).await,
        Ok(vec![m2.clone(), m1.clone()])
    );
    assert_eq!(store.messages_to(&ada, 1).await, Ok(vec![m2]));
    assert_eq!(
        store.messages_to(&address("eve@home.example"), 10).await,
        Ok(vec![])
    );
}

/// candidates are found by any of their addresses, within their
/// organization, and an address removed from a candidate stops finding it.
pub async fn candidates_are_found_by_address(store: Arc<dyn Store>) {
    let org = OrgId::from("org-addresses");
    let ada = fixtures::candidate(org.as_str(), "cand-1", &["a@x.example", "b@x.example"]);
    let bob = fixtures::candidate(org.as_str(), "cand-2", &["b@x.example"]);
    let foreign = fixtures::candidate("org-other", "cand-9", &["b@x.example"]);
    store.put_candidate(&ada, None).await.expect("ada");
    store.put_candidate(&bob, None).await.expect("bob");
    store.put_candidate(&foreign, None).await.expect("foreign");
    let with = |a: &'static str| {
        let store = store.clone();
        let org = org.clone();
        async move {
            store
                .candidates_with_address(&org, &address(a))
                .await
                .expect("lookup")
        }
    };
    assert_eq!(
        with("b@x.example").await,
        vec![ada.id.clone(), bob.id.clone()]
    );
    assert_eq!(with("a@x.example").await, vec![ada.id.clone()]);
    let mut moved = ada.clone();
    moved.emails =
        fixtures::candidate(org.as_str(), "cand-1", &["a@x.example", "c@x.example"]).emails;
    store.put_candidate(&moved, Some(1)).await.expect("moved");
    assert_eq!(with("b@x.example").await, vec![bob.id.clone()]);
    assert_eq!(with("c@x.example").await, vec![ada.id.clone()]);
    // A bounce mark keeps the addresses.
    let mut marked = moved.clone();
    marked.mark_bounced(&address("c@x.example"));
    store.put_candidate(&marked, Some(2)).await.expect("marked");
    assert_eq!(with("c@x.example").await, vec![ada.id.clone()]);
    assert_eq!(with("z@x.example").await, Vec::<CandidateId>::new());
}

/// .x: a candidate's enrollments across campaigns, and the one in a campaign.
pub async fn enrollments_are_found_by_candidate(store: Arc<dyn Store>) {
    let org = OrgId::from("org-by-candidate");
    for cmp in ["cmp-1", "cmp-2"] {
        store
            .put_campaign(
                &fixtures::campaign(org.as_str(), cmp, "prj-1", "acc-1"),
                None,
            )
            .await
            .expect("campaign");
    }
    for (id, cmp, cand) in [
        ("enr-1", "cmp-1", "cand-1"),
        ("enr-2", "cmp-2", "cand-1"),
        ("enr-3", "cmp-1", "cand-2"),
    ] {
        store
            .insert_enrollment(&fixtures::enrollment(
                org.as_str(),
                id,
                cmp,
                cand,
                at(10, 0),
            ))
            .await
            .expect("enrollment");
    }
    let cand1 = CandidateId::from("cand-1");
    assert_eq!(
        store.enrollments_of_candidate_in_org(&org, &cand1).await,
        Ok(vec![
            EnrollmentId::from("enr-1"),
            EnrollmentId::from("enr-2")
        ])
    );
    assert_eq!(
        store
            .enrollment_of_candidate(&org, &CampaignId::from("cmp-1"), &cand1)
            .await,
        Ok(Some(EnrollmentId::from("enr-1")))
    );
    assert_eq!(
        store
            .enrollment_of_candidate(
                &org,
                &CampaignId::from("cmp-2"),
                &CandidateId::from("cand-2")
            )
            .await,
        Ok(None)
    );
    assert_eq!(
        store
            .enrollments_of_candidate_in_org(&OrgId::from("org-other"), &cand1)
            .await,
        Ok(vec![])
    );
}

/// campaigns sending from an account, in any organization.
pub async fn campaigns_are_found_by_sender(store: Arc<dyn Store>) {
    store
        .put_campaign(
            &fixtures::campaign("org-a", "cmp-1", "prj-1", "acc-shared"),
            None,
        )
        .await
        .expect("a");
    store
        .put_campaign(
            &fixtures::campaign("org-b", "cmp-2", "prj-9", "acc-shared"),
            None,
        )
        .await
        .expect("b");
    let mut moving = fixtures::campaign("org-a", "cmp-3", "prj-1", "acc-shared");
    store.put_campaign(&moving, None).await.expect("c");
    store
        .put_campaign(
            &fixtures::campaign("org-a", "cmp-4", "prj-1", "acc-other"),
            None,
        )
        .await
        .expect("d");
    moving.sender_account_id = AccountId::from("acc-other");
    store.put_campaign(&moving, Some(1)).await.expect("moved");
    assert_eq!(
        store.campaigns_using(&AccountId::from("acc-shared")).await,
        Ok(vec![
            (OrgId::from("org-a"), CampaignId::from("cmp-1")),
            (OrgId::from("org-b"), CampaignId::from("cmp-2")),
        ])
    );
    assert_eq!(
        store.campaigns_using(&AccountId::from("acc-other")).await,
        Ok(vec![
            (OrgId::from("org-a"), CampaignId::from("cmp-3")),
            (OrgId::from("org-a"), CampaignId::from("cmp-4")),
        ])
    );
}

/// accounts by id (across organizations), by owner and address, and all of them.
pub async fn accounts_are_found(store: Arc<dyn Store>) {
    let org = OrgId::from("org-accounts");
    let alice = UserId::from("alice");
    let a1 = fixtures::account(org.as_str(), "acc-1", "alice", "alice@acme.example");
    let a2 = fixtures::account(org.as_str(), "acc-2", "alice", "hm@acme.example");
    let b1 = fixtures::account(org.as_str(), "acc-3", "bob", "bob@acme.example");
    let other = fixtures::account("org-other", "acc-4", "alice", "alice@acme.example");
    for a in [&a1, &a2, &b1, &other] {
        store.put_account(a, None).await.expect("account");
    }
    let found = store
        .find_account(&alice, &org, &address("alice@acme.example"))
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!((found.value, found.version), (a1.clone(), 1));
    assert_eq!(
        store
            .find_account(&UserId::from("bob"), &org, &address("alice@acme.example"))
            .await,
        Ok(None)
    );
    assert_eq!(
        store.accounts_of(&org, &alice).await,
        Ok(vec![a1.clone(), a2.clone()])
    );
    assert_eq!(
        store
            .get_account(&AccountId::from("acc-4"))
            .await
            .expect("read")
            .map(|v| v.value),
        Some(other.clone())
    );
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let p = store
            .list_all_accounts(&page(3, after))
            .await
            .expect("page");
        assert!(p.items.len() <= 3);
        all.extend(p.items.into_iter().map(|a| a.id.to_string()));
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(all, vec!["acc-1", "acc-2", "acc-3", "acc-4"]);
}

/// The sweeper's view: enrollments due at or before an instant, earliest first.
pub async fn due_enrollments_come_earliest_first(store: Arc<dyn Store>) {
    let org = "org-due";
    store
        .put_campaign(&fixtures::campaign(org, "cmp-1", "prj-1", "acc-1"), None)
        .await
        .expect("campaign");
    for (id, m) in [
        ("enr-c", 3),
        ("enr-a", 1),
        ("enr-b", 2),
        ("enr-b2", 2),
        ("enr-late", 50),
    ] {
        store
            .insert_enrollment(&fixtures::enrollment(org, id, "cmp-1", id, at(10, m)))
            .await
            .expect("enrollment");
    }
    let mut idle = fixtures::enrollment(org, "enr-idle", "cmp-1", "idle", at(10, 0));
    idle.pause().expect("pausable");
    store.insert_enrollment(&idle).await.expect("idle");
    let ids = |v: Vec<(OrgId, EnrollmentId)>| -> Vec<String> {
        v.into_iter()
            .inspect(|(o, _)| assert_eq!(o.as_str(), org))
            .map(|(_, e)| e.to_string())
            .collect()
    };
    assert_eq!(
        ids(store.list_due(at(10, 30), 10).await.expect("due")),
        vec!["enr-a", "enr-b", "enr-b2", "enr-c"]
    );
    assert_eq!(
        ids(store.list_due(at(10, 30), 2).await.expect("due")),
        vec!["enr-a", "enr-b"]
    );
    assert_eq!(
        ids(store.list_due(at(10, 1), 10).await.expect("due")),
        vec!["enr-a"],
        "the bound is inclusive"
    );
    assert!(store.list_due(at(10, 0), 10).await.expect("due").is_empty());
}

/// Lists page through more than one page with the opaque cursor.
pub async fn lists_paginate(store: Arc<dyn Store>) {
    let org = OrgId::from("org-pages");
    for i in 0..7 {
        store
            .put_candidate(
                &fixtures::candidate(
                    org.as_str(),
                    &format!("cand-{i}"),
                    &[&format!("c{i}@x.example")],
                ),
                None,
            )
            .await
            .expect("candidate");
    }
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let p = store
            .list_candidates(&org, &page(3, after))
            .await
            .expect("page");
        pages.push(p.items.len());
        seen.extend(p.items.iter().map(|c| c.id.to_string()));
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, vec![3, 3, 1]);
    assert_eq!(
        seen,
        (0..7).map(|i| format!("cand-{i}")).collect::<Vec<_>>()
    );

    // Exactly two full pages: the second says nothing more follows.
    let first = store
        .list_candidates(&org, &page(6, None))
        .await
        .expect("page");
    assert!(first.next.is_some());
    let rest = store
        .list_candidates(&org, &page(6, first.next))
        .await
        .expect("page");
    assert_eq!((rest.items.len(), rest.next), (1, None));

    let cmp = CampaignId::from("cmp-1");
    for c in ["cmp-1", "cmp-2"] {
        store
            .put_campaign(&fixtures::campaign(org.as_str(), c, "prj-1", "acc-1"), None)
            .await
            .expect("campaign");
    }
    for i in 0..5 {
        let e = fixtures::enrollment(
            org.as_str(),
            &format!("enr-{i}"),
            "cmp-1",
            &format!("cand-{i}"),
            at(10, 0),
        );
        store.insert_enrollment(&e).await.expect("enrollment");
    }
    store
        .insert_enrollment(&fixtures::enrollment(
            org.as_str(),
            "enr-x",
            "cmp-2",
            "cand-x",
            at(10, 0),
        ))
        .await
        .expect("other campaign");
    let mut enrolled = Vec::new();
    let mut after = None;
    loop {
        let p = store
            .list_enrollments(&org, &cmp, &page(2, after))
            .await
            .expect("page");
        assert!(p.items.len() <= 2);
        enrolled.extend(p.items.iter().map(|e| e.id.to_string()));
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(
        enrolled,
        (0..5).map(|i| format!("enr-{i}")).collect::<Vec<_>>()
    );
    let campaigns = store
        .list_campaigns(&org, "prj-1", &page(1, None))
        .await
        .expect("page");
    assert_eq!(campaigns.items.len(), 1);
    let campaigns = store
        .list_campaigns(&org, "prj-1", &page(1, campaigns.next))
        .await
        .expect("page");
    assert_eq!(
        (campaigns.items[0].id.as_str(), campaigns.next),
        ("cmp-2", None)
    );

    store.ensure_org(&org, 10, at(9, 0)).await.expect("org");
    for i in 0..6 {
        store
            .reveal(&org, &CandidateId::new(format!("cand-{i}")), at(10, i))
            .await
            .expect("reveal");
    }
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let p = store.ledger(&org, &page(3, after)).await.expect("page");
        entries.extend(p.items.iter().map(|e| (e.seq, e.kind)));
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(entries.len(), 7);
    assert_eq!(entries[0].1, LedgerKind::Grant);
    assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
}

/// a record of another organization reads exactly as an unknown one.
pub async fn organizations_are_isolated(store: Arc<dyn Store>) {
    let e = one_enrollment(&store, "org-a").await;
    store
        .put_candidate(
            &fixtures::candidate("org-a", "cand-1", &["a@x.example"]),
            None,
        )
        .await
        .expect("candidate");
    let b = OrgId::from("org-b");
    assert_eq!(store.get_enrollment(&b, &e.id).await, Ok(None));
    assert_eq!(store.get_campaign(&b, &e.campaign_id).await, Ok(None));
    assert_eq!(store.get_candidate(&b, &e.candidate_id).await, Ok(None));
    assert_eq!(
        store
            .list_candidates(&b, &page(10, None))
            .await
            .map(|p| p.items.len()),
        Ok(0)
    );
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

/// a project's notifications, newest first, replaced by id.
pub async fn notifications_are_listed_newest_first(store: Arc<dyn Store>) {
    let org = OrgId::from("org-notify");
    let notification = |id: &str, project: &str, h: u32| Notification {
        id: id.into(),
        org_id: org.clone(),
        project_id: project.into(),
        kind: "sender_error".into(),
        message: format!("notice {id}"),
        account_id: None,
        campaign_ids: vec![],
        created_at: at(h, 0),
        resolved_at: None,
    };
    let n1 = notification("n-1", "prj-1", 10);
    let n2 = notification("n-2", "prj-1", 11);
    for n in [&n1, &n2, &notification("n-3", "prj-2", 12)] {
        store.put_notification(n).await.expect("notification");
    }
    let mut resolved = n1.clone();
    resolved.resolved_at = Some(at(13, 0));
    store.put_notification(&resolved).await.expect("replaced");
    assert_eq!(
        store.list_notifications(&org, "prj-1").await,
        Ok(vec![n2, resolved])
    );
}

/// An enrollment's events, in order, apart from the enrollment.
pub async fn events_are_kept_in_order(store: Arc<dyn Store>) {
    let org = OrgId::from("org-events");
    let e = EnrollmentId::from("enr-1");
    let event = |kind: &str, enrollment: &EnrollmentId| EnrollmentEvent {
        org_id: org.clone(),
        enrollment_id: enrollment.clone(),
        at: at(10, 0),
        kind: kind.into(),
        step: Some(1),
        detail: None,
    };
    for kind in ["claimed", "sent", "delivered"] {
        store.append_event(&event(kind, &e)).await.expect("event");
    }
    store
        .append_event(&event("sent", &EnrollmentId::from("enr-2")))
        .await
        .expect("other");
    let kinds = |v: Vec<EnrollmentEvent>| v.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(
        kinds(store.list_events(&org, &e, 10).await.expect("events")),
        vec!["claimed", "sent", "delivered"]
    );
    assert_eq!(
        kinds(store.list_events(&org, &e, 2).await.expect("events")),
        vec!["claimed", "sent"]
    );
}

/// Users, projects and templates round-trip and list.
pub async fn catalog_records_round_trip(store: Arc<dyn Store>) {
    let org = OrgId::from("org-catalog");
    let mut user = UserProfile {
        id: UserId::from("alice"),
        org_id: org.clone(),
        display_name: "Alice".into(),
        timezone: Default::default(),
        notification_address: None,
    };
    store.put_user(&user).await.expect("user");
    user.display_name = "Alice R".into();
    store.put_user(&user).await.expect("user again");
    assert_eq!(store.get_user(&org, &user.id).await, Ok(Some(user.clone())));
    assert_eq!(
        store.get_user(&OrgId::from("org-x"), &user.id).await,
        Ok(None)
    );
    for i in 0..3 {
        let project = Project {
            id: format!("prj-{i}"),
            org_id: org.clone(),
            name: format!("Project {i}"),
            created_by: user.id.clone(),
            created_at: at(9, 0),
        };
        store.put_project(&project).await.expect("project");
        let template = Template {
            id: format!("tpl-{i}"),
            org_id: org.clone(),
            name: format!("Template {i}"),
            steps: fixtures::campaign(org.as_str(), "c", "p", "a").steps,
            created_by: user.id.clone(),
            created_at: at(9, 0),
        };
        store.put_template(&template).await.expect("template");
    }
    let projects = store
        .list_projects(&org, &page(2, None))
        .await
        .expect("page");
    assert_eq!(projects.items.len(), 2);
    let projects = store
        .list_projects(&org, &page(2, projects.next))
        .await
        .expect("page");
    assert_eq!(
        (projects.items[0].id.as_str(), projects.next),
        ("prj-2", None)
    );
    assert_eq!(
        store
            .get_project(&org, "prj-1")
            .await
            .expect("read")
            .map(|p| p.name),
        Some("Project 1".to_owned())
    );
    let templates = store
        .list_templates(&org, &page(10, None))
        .await
        .expect("page");
    assert_eq!(templates.items.len(), 3);
    assert_eq!(
        store
            .get_template(&org, "tpl-2")
            .await
            .expect("read")
            .map(|t| t.steps.len()),
        Some(2)
    );
    assert_eq!(store.get_template(&org, "tpl-9").await, Ok(None));
    store.delete_template(&org, "tpl-2").await.expect("deleted");
    store
        .delete_template(&org, "tpl-2")
        .await
        .expect("deleted again");
    assert_eq!(store.get_template(&org, "tpl-2").await, Ok(None));
    assert_eq!(
        store
            .list_templates(&org, &page(10, None))
            .await
            .map(|p| p.items.len()),
        Ok(2)
    );
}

/// Issue 8: a batched read answers each lookup as its own method does, in the
/// order asked, `None` for what is missing, also when a key is asked twice.
pub async fn batched_reads_answer_each_lookup(store: Arc<dyn Store>) {
    let org = OrgId::from("org-batch");
    let e = one_enrollment(&store, org.as_str()).await;
    let candidate = fixtures::candidate(org.as_str(), "cand-1", &["a@x.example"]);
    store
        .put_candidate(&candidate, None)
        .await
        .expect("candidate");
    let account = fixtures::account(org.as_str(), "acc-1", "usr-1", "me@corp.example");
    store.put_account(&account, None).await.expect("account");
    store
        .suppress(&org, "hash-1", "complaint", at(10, 0))
        .await
        .expect("suppressed");
    store
        .put_record("bounced:x", &serde_json::json!({"bounced": true}), None)
        .await
        .expect("record");
    // A second version of the enrollment, so that versions are compared.
    let current = enrollment(&store, org.as_str(), "enr-1").await;
    store
        .update_enrollment(&current.value, current.version, Activity::Unchanged)
        .await
        .expect("updated");
    let lookups = [
        Lookup::Enrollment(org.clone(), e.id.clone()),
        Lookup::Campaign(org.clone(), CampaignId::from("cmp-1")),
        Lookup::Candidate(org.clone(), CandidateId::from("cand-1")),
        Lookup::Account(AccountId::from("acc-1")),
        Lookup::Suppressed(org.clone(), "hash-1".into()),
        Lookup::Suppressed(org.clone(), "hash-2".into()),
        Lookup::Record("bounced:x".into()),
        Lookup::Record("bounced:y".into()),
        Lookup::Enrollment(org.clone(), EnrollmentId::from("enr-none")),
        // Another organization's enrollment id is not this one's.
        Lookup::Enrollment(OrgId::from("org-other"), e.id.clone()),
        Lookup::Candidate(org.clone(), CandidateId::from("cand-1")),
    ];
    let found = store.get_batch(&lookups).await.expect("a batch read");
    assert_eq!(found.len(), lookups.len());
    let one = |v| Some(v);
    assert_eq!(
        found[0],
        one(Found::Enrollment(Box::new(
            enrollment(&store, org.as_str(), "enr-1").await
        )))
    );
    assert_eq!(
        found[0].as_ref().map(|f| match f {
            Found::Enrollment(v) => v.version,
            _ => 0,
        }),
        Some(current.version + 1),
        "the latest version"
    );
    let campaign = store
        .get_campaign(&org, &CampaignId::from("cmp-1"))
        .await
        .expect("campaign")
        .expect("exists");
    assert_eq!(found[1], one(Found::Campaign(Box::new(campaign))));
    let read_candidate = store
        .get_candidate(&org, &CandidateId::from("cand-1"))
        .await
        .expect("candidate")
        .expect("exists");
    assert_eq!(
        found[2],
        one(Found::Candidate(Box::new(read_candidate.clone())))
    );
    let read_account = store
        .get_account(&AccountId::from("acc-1"))
        .await
        .expect("account")
        .expect("exists");
    assert_eq!(found[3], one(Found::Account(Box::new(read_account))));
    assert_eq!(found[4], Some(Found::Suppressed));
    assert_eq!(found[5], None);
    let record = store.get_record("bounced:x").await.expect("record");
    assert_eq!(found[6], record.map(Found::Record));
    assert_eq!(found[7], None);
    assert_eq!(found[8], None);
    assert_eq!(found[9], None);
    assert_eq!(found[10], one(Found::Candidate(Box::new(read_candidate))));
    assert_eq!(store.get_batch(&[]).await, Ok(vec![]));
}

/// Issue 8, R-8.1: an enrollment's write with its event and its message's
/// index entries lands whole, or, on a stale version, not at all.
pub async fn recording_writes_land_together(store: Arc<dyn Store>) {
    let org = OrgId::from("org-record");
    one_enrollment(&store, org.as_str()).await;
    let current = enrollment(&store, org.as_str(), "enr-1").await;
    let event = |kind: &str| EnrollmentEvent {
        org_id: org.clone(),
        enrollment_id: EnrollmentId::from("enr-1"),
        at: at(10, 0),
        kind: kind.into(),
        step: Some(1),
        detail: None,
    };
    let message = fixtures::message(
        org.as_str(),
        "cmp-1",
        "enr-1",
        "ses-1",
        "ses-1@email.amazonses.com",
        "ada@home.example",
        1,
        at(10, 0),
    );
    let mut ended = current.value.clone();
    ended.status = outreach_domain::enrollment::EnrollmentStatus::Replied;
    let v = store
        .update_enrollment_recording(
            &ended,
            current.version,
            Activity::Ended,
            &event("sent"),
            Some(&message),
        )
        .await
        .expect("recorded");
    let read = enrollment(&store, org.as_str(), "enr-1").await;
    assert_eq!(read.version, v);
    assert_eq!(read.value, ended);
    let kinds = |v: Vec<EnrollmentEvent>| v.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    let events = store
        .list_events(&org, &EnrollmentId::from("enr-1"), 10)
        .await
        .expect("events");
    assert_eq!(kinds(events), vec!["sent"]);
    assert_eq!(store.find_message("ses-1").await, Ok(Some(message.clone())));
    assert_eq!(
        store.find_message("ses-1@email.amazonses.com").await,
        Ok(Some(message))
    );
    let campaign = store
        .get_campaign(&org, &CampaignId::from("cmp-1"))
        .await
        .expect("campaign")
        .expect("exists");
    assert_eq!(campaign.value.active_enrollments, 0, "the count moved too");

    // A stale version: nothing of the write lands.
    let other = fixtures::message(
        org.as_str(),
        "cmp-1",
        "enr-1",
        "ses-2",
        "ses-2@email.amazonses.com",
        "ada@home.example",
        1,
        at(11, 0),
    );
    assert_eq!(
        store
            .update_enrollment_recording(
                &current.value,
                current.version,
                Activity::Reopened,
                &event("stale"),
                Some(&other),
            )
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(enrollment(&store, org.as_str(), "enr-1").await, read);
    let events = store
        .list_events(&org, &EnrollmentId::from("enr-1"), 10)
        .await
        .expect("events");
    assert_eq!(kinds(events), vec!["sent"]);
    assert_eq!(store.find_message("ses-2").await, Ok(None));
    let campaign = store
        .get_campaign(&org, &CampaignId::from("cmp-1"))
        .await
        .expect("campaign")
        .expect("exists");
    assert_eq!(campaign.value.active_enrollments, 0);
}

/// Issue 8, R-2.5: racing increments of a counter each get a value of their
/// own, 1 to n; counters and records with the same name are apart.
pub async fn counters_count_each_increment_once(store: Arc<dyn Store>) {
    assert_eq!(store.read_counter("reputation:org:o1").await, Ok(0));
    let values = race(CLAIMERS, |_| {
        let store = store.clone();
        async move {
            store
                .increment_counter("reputation:org:o1")
                .await
                .expect("incremented")
        }
    })
    .await;
    let mut sorted = values.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=CLAIMERS as u64).collect::<Vec<_>>());
    assert_eq!(
        store.read_counter("reputation:org:o1").await,
        Ok(CLAIMERS as u64)
    );
    assert_eq!(store.read_counter("reputation:org:o2").await, Ok(0));
    assert_eq!(store.increment_counter("reputation:org:o2").await, Ok(1));
    // Several at once: each counter's next value, in the order asked.
    assert_eq!(
        store
            .increment_counters(&["reputation:org:o2".into(), "reputation:org:o1".into()])
            .await,
        Ok(vec![2, CLAIMERS as u64 + 1])
    );
    assert_eq!(store.increment_counters(&[]).await, Ok(vec![]));
    assert_eq!(store.get_record("reputation:org:o1").await, Ok(None));
    store
        .put_record("reputation:org:o1", &serde_json::json!({"hits": []}), None)
        .await
        .expect("a record");
    assert_eq!(
        store.read_counter("reputation:org:o1").await,
        Ok(CLAIMERS as u64 + 1)
    );
}
