//! Replies (R-9.9, R-11.2; issue 21): a reply is created once however often
//! its message is delivered, its read flag and class change under a version
//! check, its lists answer newest first with every filter and follow each
//! change, and a suppression a reply's class caused is lifted only while no
//! person's own stop took it over.

use std::sync::Arc;

use chrono::Duration;
use outreach_app::ports::{Store, StoreError};
use outreach_app::reply::{Reply, ReplyFilter};
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};
use outreach_domain::inbound::ReplyClass;

use super::{page, race};
use crate::fixtures::{address, at};

/// A reply of `org` to an enrollment of `campaign` in `project`, `minutes`
/// after 10:00, of `class` (`None`: automatic).
pub fn reply(
    org: &str,
    id: &str,
    project: &str,
    campaign: &str,
    minutes: i64,
    class: Option<ReplyClass>,
) -> Reply {
    Reply {
        id: id.into(),
        org_id: OrgId::from(org),
        project_id: project.into(),
        campaign_id: CampaignId::from(campaign),
        single: project.is_empty(),
        step: Some(1),
        candidate_id: CandidateId::from("cand-1"),
        enrollment_id: EnrollmentId::from(format!("enr-{id}").as_str()),
        received_at: at(10, 0) + Duration::minutes(minutes),
        from: Some(address("ada@example.com")),
        sent_to: Some(address("ada@example.com")),
        subject: "Re: Hello".into(),
        text: "Thanks!".into(),
        class,
        automatic: class.is_none(),
        read: false,
        message_id: Some(format!("{id}@mail.example")),
        references: vec!["q1@recruit.example".into(), "q2@recruit.example".into()],
        raw_ref: None,
        first: class.is_some(),
        after_s: Some(3_600),
        answered_at: None,
    }
}

async fn ids(store: &Arc<dyn Store>, org: &str, filter: ReplyFilter) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let p = store
            .list_replies(&OrgId::from(org), &filter, &page(2, after))
            .await
            .expect("the store answers");
        out.extend(p.items.into_iter().map(|r| r.id));
        match p.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

/// R-9.6/R-11.2: a duplicate delivery (even concurrent) creates one reply.
pub async fn a_reply_is_created_once(store: Arc<dyn Store>) {
    let r = reply(
        "org-r",
        "rpl-1",
        "prj-1",
        "cmp-1",
        0,
        Some(ReplyClass::Interested),
    );
    let created = race(8, |_| {
        let (store, r) = (store.clone(), r.clone());
        async move { store.create_reply(&r).await.expect("answers") }
    })
    .await;
    assert_eq!(created.iter().filter(|c| **c).count(), 1);
    let got = store
        .get_reply(&OrgId::from("org-r"), "rpl-1")
        .await
        .expect("answers")
        .expect("kept");
    assert_eq!(got.value, r);
    assert_eq!(
        ids(&store, "org-r", ReplyFilter::default()).await,
        vec!["rpl-1"]
    );
    // Another organization sees nothing of it (R-1.1).
    assert_eq!(
        store.get_reply(&OrgId::from("org-x"), "rpl-1").await,
        Ok(None)
    );
    assert!(
        ids(&store, "org-x", ReplyFilter::default())
            .await
            .is_empty()
    );
}

/// R-11.2: lists are newest first, paginated, and every filter holds.
pub async fn replies_are_listed_newest_first_by_filter(store: Arc<dyn Store>) {
    use ReplyClass::*;
    let all = [
        reply("org-l", "a", "p1", "c1", 1, Some(Interested)),
        reply("org-l", "b", "p1", "c2", 2, Some(OptOut)),
        reply("org-l", "c", "p2", "c3", 3, None),
        reply("org-l", "d", "", "msg1", 4, Some(Interested)),
        reply("org-l", "e", "p1", "c1", 5, Some(NotInterested)),
    ];
    for r in &all {
        assert_eq!(store.create_reply(r).await, Ok(true));
    }
    let f = |project: Option<&str>, campaign: Option<&str>, class, unread: bool| ReplyFilter {
        project_id: project.map(str::to_owned),
        campaign_id: campaign.map(CampaignId::from),
        class,
        // `false`: no read filter (the lists as before `Some(false)` existed).
        unread: unread.then_some(true),
    };
    assert_eq!(
        ids(&store, "org-l", ReplyFilter::default()).await,
        vec!["e", "d", "c", "b", "a"]
    );
    assert_eq!(
        ids(&store, "org-l", f(Some("p1"), None, None, false)).await,
        vec!["e", "b", "a"]
    );
    assert_eq!(
        ids(&store, "org-l", f(None, Some("c1"), None, false)).await,
        vec!["e", "a"]
    );
    assert_eq!(
        ids(&store, "org-l", f(None, None, Some(Interested), false)).await,
        vec!["d", "a"]
    );
    assert_eq!(
        ids(&store, "org-l", f(Some("p1"), None, Some(Interested), true)).await,
        vec!["a"]
    );
    assert!(
        ids(&store, "org-l", f(Some("p2"), Some("c1"), None, false))
            .await
            .is_empty()
    );
    changes_move_replies_between_lists(&store).await;
}

/// Reading one reply and correcting another move them between the lists
/// (the replies of [`replies_are_listed_newest_first_by_filter`]).
async fn changes_move_replies_between_lists(store: &Arc<dyn Store>) {
    use ReplyClass::*;
    let f = |project: Option<&str>, campaign: Option<&str>, class, unread: bool| ReplyFilter {
        project_id: project.map(str::to_owned),
        campaign_id: campaign.map(CampaignId::from),
        class,
        // `false`: no read filter (the lists as before `Some(false)` existed).
        unread: unread.then_some(true),
    };
    let org = OrgId::from("org-l");
    let a = store
        .get_reply(&org, "a")
        .await
        .expect("answers")
        .expect("kept");
    let mut read = a.value.clone();
    read.read = true;
    assert_eq!(
        store.update_reply(&read, a.version).await,
        Ok(a.version + 1)
    );
    assert_eq!(
        store.update_reply(&read, a.version).await,
        Err(StoreError::Conflict),
        "a stale version is refused"
    );
    let b = store
        .get_reply(&org, "b")
        .await
        .expect("answers")
        .expect("kept");
    let mut corrected = b.value.clone();
    corrected.class = Some(Interested);
    store
        .update_reply(&corrected, b.version)
        .await
        .expect("updated");
    assert_eq!(
        ids(store, "org-l", f(None, None, None, true)).await,
        vec!["e", "d", "c", "b"]
    );
    // R-11.2: `unread=false` lists only the read ones (issue 21: it listed all).
    let read_only = |project: Option<&str>| ReplyFilter {
        project_id: project.map(str::to_owned),
        unread: Some(false),
        ..ReplyFilter::default()
    };
    assert_eq!(ids(store, "org-l", read_only(None)).await, vec!["a"]);
    assert_eq!(ids(store, "org-l", read_only(Some("p1"))).await, vec!["a"]);
    assert!(ids(store, "org-l", read_only(Some("p2"))).await.is_empty());
    assert_eq!(
        ids(store, "org-l", f(Some("p1"), None, Some(Interested), false)).await,
        vec!["b", "a"]
    );
    assert!(
        ids(store, "org-l", f(None, None, Some(OptOut), false))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(store, "org-l", f(Some("p1"), None, Some(Interested), true)).await,
        vec!["b"]
    );
}

/// R-9.9: a suppression a reply's class caused is lifted by its own reason
/// only; a person's stop (link, complaint) takes it over and it stays.
pub async fn a_reply_suppression_lifts_only_while_its_own(store: Arc<dyn Store>) {
    let org = OrgId::from("org-s");
    let now = at(10, 0);
    assert_eq!(store.suppress(&org, "h1", "reply:r1", now).await, Ok(true));
    assert_eq!(
        store.lift_suppression(&org, "h1", "reply:r2").await,
        Ok(false)
    );
    assert_eq!(store.is_suppressed(&org, "h1").await, Ok(true));
    assert_eq!(
        store.lift_suppression(&org, "h1", "reply:r1").await,
        Ok(true)
    );
    assert_eq!(store.is_suppressed(&org, "h1").await, Ok(false));
    // A second reply's opt-out does not take over the first's entry…
    assert_eq!(store.suppress(&org, "h2", "reply:r1", now).await, Ok(true));
    assert_eq!(store.suppress(&org, "h2", "reply:r2", now).await, Ok(false));
    assert_eq!(
        store.lift_suppression(&org, "h2", "reply:r1").await,
        Ok(true)
    );
    // …but an unsubscribe does, and then no correction lifts it.
    assert_eq!(store.suppress(&org, "h3", "reply:r3", now).await, Ok(true));
    assert_eq!(
        store.suppress(&org, "h3", "unsubscribe", now).await,
        Ok(false)
    );
    assert_eq!(
        store.lift_suppression(&org, "h3", "reply:r3").await,
        Ok(false)
    );
    assert_eq!(store.is_suppressed(&org, "h3").await, Ok(true));
    // A complaint first: a later reply's opt-out changes nothing.
    assert_eq!(store.suppress(&org, "h4", "complaint", now).await, Ok(true));
    assert_eq!(store.suppress(&org, "h4", "reply:r4", now).await, Ok(false));
    assert_eq!(
        store.lift_suppression(&org, "h4", "reply:r4").await,
        Ok(false)
    );
    assert_eq!(store.is_suppressed(&org, "h4").await, Ok(true));
}

/// R-3.6: a candidate's replies are found by the candidate (consistently,
/// without a scan), in their organization only; a blanked reply keeps its
/// place on every list it was on, so that counts stay right, and holds none
/// of the candidate's address, subject or text any more.
pub async fn a_candidates_replies_are_found_and_blanked(store: Arc<dyn Store>) {
    use ReplyClass::*;
    let mut of_bea = reply("org-k", "k2", "p1", "c1", 2, Some(Interested));
    of_bea.candidate_id = CandidateId::from("cand-bea");
    let mut foreign = reply("org-kx", "k9", "p1", "c1", 3, Some(Interested));
    foreign.candidate_id = CandidateId::from("cand-1");
    for r in [
        reply("org-k", "k3", "p1", "c1", 1, Some(Interested)),
        reply("org-k", "k1", "", "msg1", 4, None),
        of_bea,
        foreign,
    ] {
        assert_eq!(store.create_reply(&r).await, Ok(true));
    }
    let of = |org: &str, candidate: &str| {
        let store = store.clone();
        let (org, candidate) = (OrgId::from(org), CandidateId::from(candidate));
        async move { store.replies_of_candidate(&org, &candidate).await }
    };
    assert_eq!(
        of("org-k", "cand-1").await,
        Ok(vec!["k1".into(), "k3".into()])
    );
    assert_eq!(of("org-k", "cand-bea").await, Ok(vec!["k2".into()]));
    assert_eq!(of("org-k", "cand-none").await, Ok(vec![]));
    assert_eq!(of("org-kx", "cand-1").await, Ok(vec!["k9".into()]));
    a_blanked_reply_keeps_its_lists(&store).await;
    assert_eq!(
        of("org-k", "cand-1").await,
        Ok(vec!["k1".into(), "k3".into()])
    );
}

/// The reply `k3` of [`a_candidates_replies_are_found_and_blanked`],
/// blanked, holds nothing personal and stays on its lists.
async fn a_blanked_reply_keeps_its_lists(store: &Arc<dyn Store>) {
    use ReplyClass::*;
    let org = OrgId::from("org-k");
    let before = store
        .get_reply(&org, "k3")
        .await
        .expect("answers")
        .expect("kept");
    let mut blanked = before.value.clone();
    assert!(blanked.blank());
    assert!(!blanked.clone().blank(), "blanking twice changes nothing");
    store
        .update_reply(&blanked, before.version)
        .await
        .expect("updated");
    let after = store
        .get_reply(&org, "k3")
        .await
        .expect("answers")
        .expect("kept");
    assert_eq!(after.value, blanked);
    assert_eq!(
        (
            after.value.from,
            after.value.sent_to,
            after.value.message_id
        ),
        (None, None, None)
    );
    assert!(after.value.subject.is_empty() && after.value.text.is_empty());
    assert_eq!(
        after.value.class,
        Some(Interested),
        "its class still counts"
    );
    let filter = |class| ReplyFilter {
        campaign_id: Some(CampaignId::from("c1")),
        class,
        unread: Some(true),
        ..ReplyFilter::default()
    };
    assert_eq!(
        ids(store, "org-k", filter(Some(Interested))).await,
        vec!["k2", "k3"]
    );
    let listed = store
        .list_replies(&org, &filter(None), &page(10, None))
        .await
        .expect("answers");
    let k3 = listed.items.iter().find(|r| r.id == "k3").expect("listed");
    assert_eq!(*k3, blanked, "the list shows the blanked reply");
}
