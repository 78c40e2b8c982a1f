//! What both stores must answer alike where they once differed (issue 19,
//! items 8 and 9): one account per owner and address, the first index entry
//! of a message id, a grant before the organization is first seen, lists
//! that are not paged, and the order of an enrollment's events.

use std::sync::Arc;

use outreach_app::ports::{Store, StoreError};
use outreach_domain::ids::{AccountId, OrgId, UserId};

use super::{CLAIMERS, race};
use crate::fixtures::{self, address};

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
