//! What both stores must answer alike where they once differed (issue 19,
//! items 8 and 9): one account per owner and address, the first index entry
//! of a message id, a grant before the organization is first seen, lists
//! that are not paged, and the order of an enrollment's events.

use std::sync::Arc;

use chrono::Duration;
use outreach_app::model::{EnrollmentEvent, MessageRef, Notification};
use outreach_app::ports::{Activity, Store, StoreError};
use outreach_domain::ids::{AccountId, OrgId, UserId};

use super::{CLAIMERS, enrollment, one_enrollment, page, race};
use crate::fixtures::{self, address, at};

/// concurrent first links of one address by one owner, each with an
/// account id of its own, create one account; the others are told `Conflict`
/// (the link then finds the account that won). The same owner and address in
/// another organization, or another owner of the address, are other accounts.
pub async fn one_account_per_owner_and_address(store: Arc<dyn Store>) {
    let org = OrgId::from("org-link");
    let answers = race(CLAIMERS, |i| {
        let store = store.clone();
        async move {
            let a = fixtures::account(
                "org-link",
                &format!("acc-{i:02}"),
                "alice",
                "hm@acme.example",
            );
            store.put_account(&a, None).await.map(|_| a.id)
        }
    })
    .await;
    let won: Vec<&AccountId> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "exactly one creation wins: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| a.is_ok() || a == &Err(StoreError::Conflict)),
        "the others conflict: {answers:?}"
    );
    let alice = UserId::from("alice");
    let found = store
        .find_account(&alice, &org, &address("hm@acme.example"))
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(&found.value.id, won[0]);
    let owned = store.accounts_of(&org, &alice).await.expect("accounts");
    assert_eq!(owned.iter().map(|a| &a.id).collect::<Vec<_>>(), won);
    // A later creation from the same starting state conflicts too.
    let late = fixtures::account(org.as_str(), "acc-late", "alice", "hm@acme.example");
    assert_eq!(
        store.put_account(&late, None).await,
        Err(StoreError::Conflict)
    );
    // The winner is still replaced by version.
    let mut renamed = found.value.clone();
    renamed.display_name = "Hiring".into();
    assert_eq!(
        store.put_account(&renamed, Some(found.version)).await,
        Ok(found.version + 1)
    );
    // Other owners and organizations are other accounts.
    for a in [
        fixtures::account(org.as_str(), "acc-bob", "bob", "hm@acme.example"),
        fixtures::account("org-other", "acc-other", "alice", "hm@acme.example"),
        fixtures::account(org.as_str(), "acc-alice-2", "alice", "alice@acme.example"),
    ] {
        assert_eq!(store.put_account(&a, None).await, Ok(1), "{}", a.id);
    }
}

/// a message id maps to the one attempt it was first
/// recorded for. A second index entry under an id already taken changes
/// nothing (the first writer wins), and a recording that carries one still
/// records the enrollment, its event and the new id.
pub async fn a_message_id_keeps_its_first_attempt(store: Arc<dyn Store>) {
    let org = "org-first-message";
    let first = fixtures::message(
        org,
        "cmp-1",
        "enr-1",
        "ses-1",
        "mid-1@x.example",
        "ada@home.example",
        1,
        at(10, 0),
    );
    store.index_message(&first).await.expect("indexed");
    let mut again = fixtures::message(
        org,
        "cmp-1",
        "enr-1",
        "ses-1",
        "mid-2@x.example",
        "ada@home.example",
        1,
        at(11, 0),
    );
    again.attempt = 2;
    again.account_seq = Some(7);
    store
        .index_message(&again)
        .await
        .expect("a repeat is no error");
    assert_eq!(store.find_message("ses-1").await, Ok(Some(first.clone())));
    assert_eq!(
        store.find_message("mid-1@x.example").await,
        Ok(Some(first.clone()))
    );
    // The id not taken yet is indexed, both ids or neither being the rule
    // only for ids that are free.
    assert_eq!(
        store.find_message("mid-2@x.example").await,
        Ok(Some(again.clone()))
    );
    let to = store
        .messages_to(&address("ada@home.example"), 10)
        .await
        .expect("messages");
    assert_eq!(to, vec![first.clone()]);
    a_recording_keeps_a_taken_id(&store, org, first, again).await;
}

/// Through a recording: the enrollment and its event land, the taken id
/// keeps its first attempt.
async fn a_recording_keeps_a_taken_id(
    store: &Arc<dyn Store>,
    org: &str,
    first: MessageRef,
    again: MessageRef,
) {
    let store = store.clone();
    let e = one_enrollment(&store, org).await;
    let current = enrollment(&store, org, "enr-1").await;
    let mut changed = e.clone();
    changed.next_due_at = Some(at(12, 0));
    let event = EnrollmentEvent {
        org_id: OrgId::from(org),
        enrollment_id: e.id.clone(),
        at: at(11, 30),
        kind: "sent".into(),
        step: Some(1),
        detail: None,
    };
    let mut repeat = again.clone();
    repeat.rfc822_message_id = "mid-3@x.example".into();
    let v = store
        .update_enrollment_recording(
            &changed,
            current.version,
            Activity::Unchanged,
            &event,
            Some(&repeat),
            &[],
        )
        .await
        .expect("the recording lands");
    assert_eq!(v, current.version + 1);
    assert_eq!(
        enrollment(&store, org, "enr-1").await.value.next_due_at,
        Some(at(12, 0))
    );
    let events = store
        .list_events(&OrgId::from(org), &e.id, 10)
        .await
        .expect("events");
    assert_eq!(events, vec![event]);
    assert_eq!(store.find_message("ses-1").await, Ok(Some(first)));
    assert_eq!(
        store.find_message("mid-3@x.example").await,
        Ok(Some(repeat))
    );
}

/// credits granted before the organization is first seen are its
/// balance, as the ledger says; it is seen from then on, so a later first
/// sight grants nothing more. Balance and ledger always agree.
pub async fn a_grant_before_the_organization_is_its_balance(store: Arc<dyn Store>) {
    let org = OrgId::from("org-early-grant");
    store.grant_credits(&org, 5, at(9, 0)).await.expect("grant");
    assert_eq!(store.credit_balance(&org).await, Ok(5));
    store.ensure_org(&org, 3, at(10, 0)).await.expect("seen");
    let ledger = store.ledger(&org, &page(100, None)).await.expect("ledger");
    let sum: i64 = ledger.items.iter().map(|e| e.amount).sum();
    assert_eq!(store.credit_balance(&org).await, Ok(sum));
    assert_eq!(sum, 5, "{:?}", ledger.items);
    store
        .grant_credits(&org, 2, at(11, 0))
        .await
        .expect("grant");
    assert_eq!(store.credit_balance(&org).await, Ok(7));
}

/// The lists that are not paged (an owner's accounts, a project's
/// notifications) answer all of their items in both stores, never a silent
/// first part: paged lists answer the size asked for, however large.
pub async fn unpaged_lists_are_whole(store: Arc<dyn Store>) {
    const MANY: u32 = 1001;
    let org = OrgId::from("org-many");
    let started = at(0, 0);
    let items: Vec<Notification> = (0..MANY)
        .map(|i| Notification {
            // Ids in the opposite order of time: a first part by id is the oldest.
            id: format!("n-{:04}", MANY - i),
            org_id: org.clone(),
            project_id: "prj-1".into(),
            kind: "sender_error".into(),
            message: format!("notice {i}"),
            account_id: None,
            campaign_ids: vec![],
            created_at: started + Duration::seconds(i64::from(i)),
            resolved_at: None,
        })
        .collect();
    for chunk in items.chunks(50) {
        race(chunk.len(), |i| {
            let (store, n) = (store.clone(), chunk[i].clone());
            async move { store.put_notification(&n).await.expect("notification") }
        })
        .await;
    }
    let listed = store
        .list_notifications(&org, "prj-1")
        .await
        .expect("notifications");
    assert_eq!(listed.len(), MANY as usize);
    assert_eq!(listed.first(), items.last(), "the newest first");
    let accounts: Vec<_> = (0..MANY)
        .map(|i| {
            fixtures::account(
                org.as_str(),
                &format!("acc-{i:04}"),
                "alice",
                &format!("a{i}@acme.example"),
            )
        })
        .collect();
    for chunk in accounts.chunks(50) {
        race(chunk.len(), |i| {
            let (store, a) = (store.clone(), chunk[i].clone());
            async move { store.put_account(&a, None).await.expect("account") }
        })
        .await;
    }
    let owned = store
        .accounts_of(&org, &UserId::from("alice"))
        .await
        .expect("accounts");
    assert_eq!(owned, accounts);
    let all = store
        .list_all_accounts(&page(MANY + 5, None))
        .await
        .expect("page");
    assert_eq!((all.items.len(), all.next), (MANY as usize, None));
}
