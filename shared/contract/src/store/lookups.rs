//! Every way a record is found again: by token, message id, address,
//! candidate, sender, owner and due time, within its organization.

use std::sync::Arc;

use outreach_app::ports::Store;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};

use super::{one_enrollment, read_all};
use crate::fixtures::{self, address, at};

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
    let (pages, all) = read_all(3, |p| {
        let store = store.clone();
        async move { store.list_all_accounts(&p).await }
    })
    .await;
    assert!(pages.iter().all(|n| *n <= 3));
    assert_eq!(
        all.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        vec!["acc-1", "acc-2", "acc-3", "acc-4"]
    );
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

/// The shards of the due index hold every due enrollment once, each shard in
/// due order, and an enrollment leaves them once nothing is due (issue 19:
/// the sweeper reads shard by shard, R-8.1).
pub async fn due_shards_hold_each_due_enrollment_once(store: Arc<dyn Store>) {
    let org = "org-shards";
    store
        .put_campaign(&fixtures::campaign(org, "cmp-1", "prj-1", "acc-1"), None)
        .await
        .expect("campaign");
    let mut expected = Vec::new();
    for i in 0..40u32 {
        let id = format!("enr-{i}");
        let e = fixtures::enrollment(org, &id, "cmp-1", &id, at(10, i % 7));
        store.insert_enrollment(&e).await.expect("enrollment");
        expected.push(id);
    }
    // One settles: ended with nothing due, it is in no shard.
    let mut ended = super::enrollment(&store, org, "enr-0").await;
    ended
        .value
        .end(
            outreach_domain::enrollment::EnrollmentStatus::Removed,
            at(9, 30),
        )
        .expect("ends");
    assert_eq!(ended.value.next_due_at, None);
    store
        .update_enrollment(
            &ended.value,
            ended.version,
            outreach_app::ports::Activity::Ended,
        )
        .await
        .expect("ended");
    expected.retain(|id| id != "enr-0");
    let shards = store.due_shards();
    assert!(shards >= 1);
    let mut seen = Vec::new();
    let mut used = 0;
    for shard in 0..shards {
        let due = store.list_due_in(shard, at(11, 0), 100).await.expect("due");
        used += usize::from(!due.is_empty());
        let mut times = Vec::new();
        for (o, id) in due {
            assert_eq!(o.as_str(), org);
            let e = super::enrollment(&store, org, id.as_str()).await.value;
            times.push(e.next_due_at.expect("due"));
            seen.push(id.to_string());
        }
        assert!(times.is_sorted(), "shard {shard} in due order");
    }
    assert!(
        store
            .list_due_in(shards, at(11, 0), 100)
            .await
            .expect("due")
            .is_empty(),
        "no shard past the last"
    );
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected, "each due enrollment in one shard, once");
    assert!(
        used >= shards.min(4) as usize,
        "spread over the shards: {used} used"
    );
    let merged = store.list_due(at(11, 0), 100).await.expect("due");
    assert!(merged.iter().all(|(_, id)| id.as_str() != "enr-0"));
    assert_eq!(merged.len(), expected.len());
}
