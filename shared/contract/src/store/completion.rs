//! An ended enrollment leaves the due index; its campaign's completion check
//! is the store's instead (issue 19, R-5.2): written with the end, listed by
//! the sweeper, cleared only if no enrollment of its part ended since the
//! campaign was read.

use std::sync::Arc;

use outreach_app::ports::{Activity, CompletionCheck, Store};
use outreach_domain::enrollment::EnrollmentStatus;
use outreach_domain::ids::{CampaignId, OrgId};

use crate::fixtures::{self, at};

/// Every completion check of every shard.
async fn checks(store: &Arc<dyn Store>) -> Vec<CompletionCheck> {
    let mut all = Vec::new();
    for shard in 0..store.due_shards() {
        all.extend(
            store
                .list_completion_checks(shard, 100)
                .await
                .expect("checks"),
        );
    }
    all
}

/// Ends `id` as a handler does (the end, then what settles it) and writes it.
async fn end(store: &Arc<dyn Store>, org: &str, id: &str) {
    let mut e = super::enrollment(store, org, id).await;
    let was_open = e.value.is_open();
    e.value
        .end(EnrollmentStatus::Replied, at(10, 30))
        .expect("ends");
    assert!(e.value.settle(was_open, at(10, 30)));
    store
        .update_enrollment(&e.value, e.version, Activity::Ended)
        .await
        .expect("ended");
}

pub async fn an_ended_enrollment_leaves_the_due_index_for_a_completion_check(
    store: Arc<dyn Store>,
) {
    let org = "org-checks";
    let campaign = CampaignId::from("cmp-1");
    store
        .put_campaign(&fixtures::campaign(org, "cmp-1", "prj-1", "acc-1"), None)
        .await
        .expect("campaign");
    for id in ["enr-1", "enr-2"] {
        let e = fixtures::enrollment(org, id, "cmp-1", id, at(10, 0));
        store.insert_enrollment(&e).await.expect("enrollment");
    }
    assert!(checks(&store).await.is_empty(), "nothing ended yet");

    end(&store, org, "enr-1").await;
    let due = store.list_due(at(23, 0), 100).await.expect("due");
    assert_eq!(
        due.iter().map(|(_, id)| id.as_str()).collect::<Vec<_>>(),
        vec!["enr-2"],
        "the ended enrollment left the due index"
    );
    let pending = checks(&store).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (&pending[0].org, &pending[0].campaign),
        (&OrgId::from(org), &campaign)
    );
    let read = store
        .get_campaign(&OrgId::from(org), &campaign)
        .await
        .expect("read")
        .expect("campaign");
    assert_eq!(read.value.active_enrollments, 1);
    assert!(
        store
            .clear_completion_check(&pending[0], read.version)
            .await
            .expect("clears"),
        "nothing ended since the read"
    );
    assert!(checks(&store).await.is_empty());

    // An end after the read keeps its check: its handler may have died.
    let before = store
        .get_campaign(&OrgId::from(org), &campaign)
        .await
        .expect("read")
        .expect("campaign");
    end(&store, org, "enr-2").await;
    let due = store.list_due(at(23, 0), 100).await.expect("due");
    assert!(due.is_empty(), "{due:?}");
    let pending = checks(&store).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(
        !store
            .clear_completion_check(&pending[0], before.version)
            .await
            .expect("answers"),
        "an enrollment ended since that read"
    );
    assert_eq!(checks(&store).await, pending, "the check stays");
    let now = store
        .get_campaign(&OrgId::from(org), &campaign)
        .await
        .expect("read")
        .expect("campaign");
    assert_eq!(now.value.active_enrollments, 0);
    assert!(
        store
            .clear_completion_check(&pending[0], now.version)
            .await
            .expect("clears")
    );
    assert!(checks(&store).await.is_empty());
}
