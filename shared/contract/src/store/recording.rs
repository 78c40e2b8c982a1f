//! Issue 8: a batched read answers each lookup as its own method does, a
//! recording write lands whole or not at all, and counters count each
//! increment once (R-2.5).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use outreach_app::model::{EnrollmentEvent, MessageRef};
use outreach_app::ports::{Activity, Found, Lookup, Store, StoreError};
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId};

use super::{CLAIMERS, campaign, enrollment, one_enrollment, race};
use crate::fixtures::{self, at};

/// Issue 8: a batched read answers each lookup as its own method does, in the
/// order asked, `None` for what is missing, also when a key is asked twice.
pub async fn batched_reads_answer_each_lookup(store: Arc<dyn Store>) {
    let org = OrgId::from("org-batch");
    let e = one_of_each_kind(&store, &org).await;
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
    let read_enrollment = enrollment(&store, org.as_str(), "enr-1").await;
    assert_eq!(read_enrollment.version, 2, "the latest version");
    assert_eq!(found[0], one(Found::Enrollment(Box::new(read_enrollment))));
    let read_campaign = campaign(&store, &org, "cmp-1").await;
    assert_eq!(found[1], one(Found::Campaign(Box::new(read_campaign))));
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
    assert_eq!(found[7..10], [None, None, None]);
    assert_eq!(found[10], one(Found::Candidate(Box::new(read_candidate))));
    assert_eq!(store.get_batch(&[]).await, Ok(vec![]));
}

/// One record of each kind a batched read can look up, the enrollment
/// (returned) in its second version so that versions are compared.
async fn one_of_each_kind(store: &Arc<dyn Store>, org: &OrgId) -> Enrollment {
    let e = one_enrollment(store, org.as_str()).await;
    let candidate = fixtures::candidate(org.as_str(), "cand-1", &["a@x.example"]);
    store
        .put_candidate(&candidate, None)
        .await
        .expect("candidate");
    let account = fixtures::account(org.as_str(), "acc-1", "usr-1", "me@corp.example");
    store.put_account(&account, None).await.expect("account");
    store
        .suppress(org, "hash-1", "complaint", at(10, 0))
        .await
        .expect("suppressed");
    store
        .put_record("bounced:x", &serde_json::json!({"bounced": true}), None)
        .await
        .expect("record");
    let current = enrollment(store, org.as_str(), "enr-1").await;
    store
        .update_enrollment(&current.value, current.version, Activity::Unchanged)
        .await
        .expect("updated");
    e
}

/// Issue 8, R-8.1: an enrollment's write with its event and its message's
/// index entries lands whole, or, on a stale version, not at all.
pub async fn recording_writes_land_together(store: Arc<dyn Store>) {
    let org = OrgId::from("org-record");
    one_enrollment(&store, org.as_str()).await;
    let current = enrollment(&store, org.as_str(), "enr-1").await;
    let message = sent_message(&org, "ses-1", at(10, 0));
    let mut ended = current.value.clone();
    ended.status = outreach_domain::enrollment::EnrollmentStatus::Replied;
    // Issue 20, R-2.5: the hand-off's send counts move with its record.
    let counters = [
        "reputation:account:acc-r".to_owned(),
        "reputation:org:org-record#3".to_owned(),
    ];
    let v = store
        .update_enrollment_recording(
            &ended,
            current.version,
            Activity::Ended,
            &recorded_event(&org, "sent"),
            Some(&message),
            &counters,
        )
        .await
        .expect("recorded");
    let read = enrollment(&store, org.as_str(), "enr-1").await;
    assert_eq!(read.version, v);
    assert_eq!(read.value, ended);
    assert_eq!(event_kinds(&store, &org).await, vec!["sent"]);
    assert_eq!(store.find_message("ses-1").await, Ok(Some(message.clone())));
    assert_eq!(
        store.find_message("ses-1@email.amazonses.com").await,
        Ok(Some(message))
    );
    let read_campaign = campaign(&store, &org, "cmp-1").await;
    assert_eq!(
        read_campaign.value.active_enrollments, 0,
        "the count moved too"
    );

    // A stale version: nothing of the write lands.
    assert_eq!(
        store
            .update_enrollment_recording(
                &current.value,
                current.version,
                Activity::Reopened,
                &recorded_event(&org, "stale"),
                Some(&sent_message(&org, "ses-2", at(11, 0))),
                &counters,
            )
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(enrollment(&store, org.as_str(), "enr-1").await, read);
    assert_eq!(event_kinds(&store, &org).await, vec!["sent"]);
    assert_eq!(store.find_message("ses-2").await, Ok(None));
    let read_campaign = campaign(&store, &org, "cmp-1").await;
    assert_eq!(read_campaign.value.active_enrollments, 0);
    // Counted once, by the write that landed; read back in a batch too.
    for key in &counters {
        assert_eq!(store.read_counter(key).await, Ok(1), "{key}");
    }
    let lookups: Vec<Lookup> = counters
        .iter()
        .map(|k| Lookup::Counter(k.clone()))
        .chain([Lookup::Counter("reputation:account:never".into())])
        .collect();
    let found = store.get_batch(&lookups).await.expect("a batch");
    let values: Vec<u64> = found
        .into_iter()
        .map(|f| match f {
            Some(Found::Counter(v)) => v,
            _ => 0,
        })
        .collect();
    assert_eq!(values, vec![1, 1, 0], "a counter never moved reads zero");
}

/// An event of `enr-1` at 10:00.
fn recorded_event(org: &OrgId, kind: &str) -> EnrollmentEvent {
    EnrollmentEvent {
        org_id: org.clone(),
        enrollment_id: EnrollmentId::from("enr-1"),
        at: at(10, 0),
        kind: kind.into(),
        step: Some(1),
        detail: None,
    }
}

/// Step 1 of `enr-1` handed off to ada with the mail service's id `ses_id`.
fn sent_message(org: &OrgId, ses_id: &str, sent_at: DateTime<Utc>) -> MessageRef {
    fixtures::message(
        org.as_str(),
        "cmp-1",
        "enr-1",
        ses_id,
        &format!("{ses_id}@email.amazonses.com"),
        "ada@home.example",
        1,
        sent_at,
    )
}

/// The kinds of `enr-1`'s events, in order.
async fn event_kinds(store: &Arc<dyn Store>, org: &OrgId) -> Vec<String> {
    let events = store
        .list_events(org, &EnrollmentId::from("enr-1"), 10)
        .await
        .expect("events");
    events.into_iter().map(|e| e.kind).collect()
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
