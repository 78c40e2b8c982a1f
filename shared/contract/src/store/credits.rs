//! Credits: a reveal spends one credit once, a refund returns
//! it once, a grant adds credits, each with exactly one ledger entry.

use std::sync::Arc;

use outreach_app::model::LedgerKind;
use outreach_app::ports::{RevealOutcome, Store};
use outreach_domain::ids::{CandidateId, OrgId};

use super::{page, race};
use crate::fixtures::at;

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
