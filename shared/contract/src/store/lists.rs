//! Lists page through with the opaque cursor and keep to their
//! organization; the catalog, notifications and events round-trip.

use std::sync::Arc;

use outreach_app::model::{
    EnrollmentEvent, LedgerKind, Notification, Project, Template, UserProfile,
};
use outreach_app::ports::Store;
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId, UserId};

use super::{one_enrollment, page, read_all};
use crate::fixtures::{self, at};

/// Candidates page through more than one page with the opaque cursor.
pub async fn candidates_paginate(store: Arc<dyn Store>) {
    let org = OrgId::from("org-pages");
    for i in 0..7 {
        let address = format!("c{i}@x.example");
        let candidate = fixtures::candidate(org.as_str(), &format!("cand-{i}"), &[&address]);
        store
            .put_candidate(&candidate, None)
            .await
            .expect("candidate");
    }
    let (pages, seen) = read_all(3, |p| {
        let (store, org) = (store.clone(), org.clone());
        async move { store.list_candidates(&org, &p).await }
    })
    .await;
    assert_eq!(pages, vec![3, 3, 1]);
    assert_eq!(
        seen.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
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
}

/// A campaign's enrollments and a project's campaigns page through, each list
/// keeping to its campaign or project.
pub async fn enrollments_and_campaigns_paginate(store: Arc<dyn Store>) {
    let org = OrgId::from("org-pages");
    for c in ["cmp-1", "cmp-2"] {
        store
            .put_campaign(&fixtures::campaign(org.as_str(), c, "prj-1", "acc-1"), None)
            .await
            .expect("campaign");
    }
    let enrolled = (0..5).map(|i| (format!("enr-{i}"), "cmp-1", format!("cand-{i}")));
    let other = std::iter::once(("enr-x".to_owned(), "cmp-2", "cand-x".to_owned()));
    for (id, cmp, cand) in enrolled.chain(other) {
        let e = fixtures::enrollment(org.as_str(), &id, cmp, &cand, at(10, 0));
        store.insert_enrollment(&e).await.expect("enrollment");
    }
    let (pages, enrolled) = read_all(2, |p| {
        let (store, org) = (store.clone(), org.clone());
        async move {
            let cmp = CampaignId::from("cmp-1");
            store.list_enrollments(&org, &cmp, &p).await
        }
    })
    .await;
    assert!(pages.iter().all(|n| *n <= 2));
    assert_eq!(
        enrolled
            .iter()
            .map(|e| e.id.to_string())
            .collect::<Vec<_>>(),
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
}

/// The ledger pages through in sequence order, from the initial grant.
pub async fn ledger_paginates(store: Arc<dyn Store>) {
    let org = OrgId::from("org-pages");
    store.ensure_org(&org, 10, at(9, 0)).await.expect("org");
    for i in 0..6 {
        store
            .reveal(&org, &CandidateId::new(format!("cand-{i}")), at(10, i))
            .await
            .expect("reveal");
    }
    let (_, entries) = read_all(3, |p| {
        let (store, org) = (store.clone(), org.clone());
        async move { store.ledger(&org, &p).await }
    })
    .await;
    assert_eq!(entries.len(), 7);
    assert_eq!(entries[0].kind, LedgerKind::Grant);
    assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));
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

/// A user profile is replaced whole and read only within its organization.
pub async fn users_round_trip(store: Arc<dyn Store>) {
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
}

/// Projects round-trip and list a page at a time.
pub async fn projects_round_trip(store: Arc<dyn Store>) {
    let org = OrgId::from("org-catalog");
    for i in 0..3 {
        let project = Project {
            id: format!("prj-{i}"),
            org_id: org.clone(),
            name: format!("Project {i}"),
            created_by: UserId::from("alice"),
            created_at: at(9, 0),
        };
        store.put_project(&project).await.expect("project");
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
}

/// Templates round-trip and list; deleting one twice is no error.
pub async fn templates_round_trip(store: Arc<dyn Store>) {
    let org = OrgId::from("org-catalog");
    for i in 0..3 {
        let template = Template {
            id: format!("tpl-{i}"),
            org_id: org.clone(),
            name: format!("Template {i}"),
            steps: fixtures::campaign(org.as_str(), "c", "p", "a").steps,
            created_by: UserId::from("alice"),
            created_at: at(9, 0),
        };
        store.put_template(&template).await.expect("template");
    }
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
