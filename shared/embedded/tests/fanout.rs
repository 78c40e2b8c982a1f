//! The background fan-out of a large start (SPEC §15, issue 8): the request
//! answers after the first chunk; queued chunks plan the rest, idempotently,
//! and a crash in the middle leaves no enrollment without a wake-up.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::ports::{Clock, IdSource, PageRequest, Store};
use outreach_app::usecases::campaigns::{FAN_OUT_CHUNK, NewCampaign};
use outreach_app::usecases::catalog::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::AddCandidates;
use outreach_app::{Config, Ports, Service};
use outreach_domain::campaign::{StepSpec, WhenToSend};
use outreach_domain::candidate::EmailType;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{CampaignId, OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn all_enrollments(
    store: &SqliteStore,
    org: &OrgId,
    campaign: &CampaignId,
) -> Vec<Enrollment> {
    let mut out = Vec::new();
    let mut page = PageRequest {
        limit: 500,
        after: None,
    };
    loop {
        let p = store.list_enrollments(org, campaign, &page).await.unwrap();
        out.extend(p.items);
        match p.next {
            Some(n) => page.after = Some(n),
            None => return out,
        }
    }
}

/// A service on local adapters with a draft campaign of `n` candidates.
struct Fixture {
    service: Arc<Service>,
    store: Arc<SqliteStore>,
    scheduler: Arc<LocalScheduler>,
    clock: Arc<LocalClock>,
    who: Identity,
    campaign: outreach_domain::campaign::Campaign,
    n: usize,
    _dir: tempfile::TempDir,
}

/// Two chunks and a half of candidates, added to a draft campaign; the
/// first chunk planned in the start request or not (§15: local mode or AWS).
async fn fixture(plan_first_chunk_in_request: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::in_memory().unwrap();
    let clock = Arc::new(LocalClock::manual(db.clone(), at("2026-12-01T14:00:00Z")));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    let store = Arc::new(SqliteStore::new(db.clone()));
    let scheduler = Arc::new(LocalScheduler::new(db.clone()));
    let outbox = Arc::new(
        OutboxMailer::new(db, dir.path().join("outbox"), clock.clone(), ids.clone()).unwrap(),
    );
    let mut config = Config::local(3000);
    config.initial_credits = 10_000;
    config.plan_first_chunk_in_request = plan_first_chunk_in_request;
    let service = Service::new(
        Ports {
            store: store.clone(),
            scheduler: scheduler.clone(),
            mailer: outbox.clone(),
            clock: clock.clone(),
            ids,
            auth: Arc::new(Hs256Authenticator::new(b"test")),
            identities: outbox,
            queue: scheduler.clone(),
        },
        config,
    );
    let who = Identity {
        org_id: OrgId::from("acme"),
        user_id: UserId::from("alice"),
        email: None,
        admin: false,
    };
    let account = service
        .accounts()
        .link_account(&who, "alice@acme.example", None)
        .await
        .unwrap();
    let project = service.catalog().create_project(&who, "P").await.unwrap();
    let campaign = service
        .campaigns()
        .create_campaign(
            &who,
            &project.id,
            NewCampaign {
                name: "Big".into(),
                sender_account_id: account.id.to_string(),
                template_id: None,
                steps: Some(vec![StepSpec {
                    subject: Some("Hi".into()),
                    body: "<p>Hi</p>".into(),
                    text: None,
                    delay_days: 0,
                }]),
                timezone: Some("UTC".into()),
                when_to_send: WhenToSend::WhenStarted,
                recipient: None,
                skip_weekends: false,
                timezone_mode: Default::default(),
                daily_limit: None,
            },
        )
        .await
        .unwrap();
    let n = FAN_OUT_CHUNK as usize * 2 + 50;
    let mut candidate_ids = Vec::new();
    for i in 0..n {
        let c = service
            .catalog()
            .create_candidate(
                &who,
                NewCandidate {
                    first_name: format!("C{i}"),
                    last_name: "X".into(),
                    title: None,
                    company: None,
                    location: None,
                    timezone: None,
                    emails: vec![NewEmail {
                        address: format!("c{i}@x.example"),
                        kind: EmailType::Work,
                    }],
                },
            )
            .await
            .unwrap();
        candidate_ids.push(c.id.to_string());
    }
    service
        .enrollments()
        .add_candidates(
            &who,
            campaign.id.as_str(),
            AddCandidates {
                candidate_ids,
                allow_duplicate: false,
            },
        )
        .await
        .unwrap();
    Fixture {
        service,
        store,
        scheduler,
        clock,
        who,
        campaign,
        n,
        _dir: dir,
    }
}

#[tokio::test]
async fn a_large_start_answers_after_one_chunk_and_the_queue_plans_the_rest_once() {
    let Fixture {
        service,
        store,
        scheduler,
        clock,
        who,
        campaign,
        n,
        _dir,
    } = fixture(true).await;
    let start = clock.now();
    service
        .campaigns()
        .start_campaign(&who, campaign.id.as_str())
        .await
        .unwrap();

    // Answered after the first chunk: the rest shows `not_started`/pending, unplanned.
    let planned = |es: &[Enrollment]| es.iter().filter(|e| e.next_due_at.is_some()).count();
    let after_start = all_enrollments(&store, &who.org_id, &campaign.id).await;
    assert_eq!(planned(&after_start), FAN_OUT_CHUNK as usize);

    // The queue: a chunk that "crashes" before completing is simply run again.
    let first = scheduler
        .next_due(clock.now())
        .unwrap()
        .expect("a queued chunk");
    service.sending().run_job(&first.job).await.unwrap();
    let versions: Vec<u32> = all_enrollments(&store, &who.org_id, &campaign.id)
        .await
        .iter()
        .map(|e| e.plan_version)
        .collect();
    service.sending().run_job(&first.job).await.unwrap();
    let again: Vec<u32> = all_enrollments(&store, &who.org_id, &campaign.id)
        .await
        .iter()
        .map(|e| e.plan_version)
        .collect();
    assert_eq!(versions, again, "re-running a chunk plans nothing twice");
    scheduler.complete(&first).unwrap();
    while let Some(job) = scheduler.next_due(clock.now()).unwrap() {
        service.sending().run_job(&job.job).await.unwrap();
        scheduler.complete(&job).unwrap();
    }
    let done = all_enrollments(&store, &who.org_id, &campaign.id).await;
    assert_eq!(planned(&done), n, "every enrollment is planned");
    assert!(
        done.iter().all(|e| e.plan_start == Some(start)),
        "the grace period counts from the start, not from the chunk"
    );
    assert!(done.iter().all(|e| e.plan_version == 1));
    // Every enrollment has exactly one live wake-up: n send wake-ups are pending.
    assert_eq!(scheduler.pending().unwrap(), n);
}

/// §15 in the AWS composition: the start request plans nothing itself (its
/// calls do not grow with the campaign); the queue plans every chunk, the
/// first included, each enrollment once, and a chunk run twice (a crash
/// before its message was deleted) plans nothing twice.
#[tokio::test]
async fn without_the_inline_chunk_the_queue_plans_every_enrollment_once() {
    let Fixture {
        service,
        store,
        scheduler,
        clock,
        who,
        campaign,
        n,
        _dir,
    } = fixture(false).await;
    let start = clock.now();
    service
        .campaigns()
        .start_campaign(&who, campaign.id.as_str())
        .await
        .unwrap();
    let planned = |es: &[Enrollment]| es.iter().filter(|e| e.next_due_at.is_some()).count();
    let after_start = all_enrollments(&store, &who.org_id, &campaign.id).await;
    assert_eq!(planned(&after_start), 0, "the request planned nothing");
    assert_eq!(scheduler.pending().unwrap(), 1, "one queued fan-out job");

    let first = scheduler
        .next_due(clock.now())
        .unwrap()
        .expect("a queued chunk");
    service.sending().run_job(&first.job).await.unwrap();
    let plans = |es: &[Enrollment]| -> Vec<_> {
        es.iter()
            .map(|e| (e.id.clone(), e.plan_version, e.next_due_at))
            .collect()
    };
    let once = all_enrollments(&store, &who.org_id, &campaign.id).await;
    assert_eq!(planned(&once), FAN_OUT_CHUNK as usize);
    service.sending().run_job(&first.job).await.unwrap();
    let twice = all_enrollments(&store, &who.org_id, &campaign.id).await;
    assert_eq!(
        plans(&once),
        plans(&twice),
        "re-running a chunk plans nothing twice"
    );
    scheduler.complete(&first).unwrap();
    while let Some(job) = scheduler.next_due(clock.now()).unwrap() {
        service.sending().run_job(&job.job).await.unwrap();
        scheduler.complete(&job).unwrap();
    }
    let done = all_enrollments(&store, &who.org_id, &campaign.id).await;
    assert_eq!(planned(&done), n, "every enrollment is planned");
    assert!(done.iter().all(|e| e.plan_start == Some(start)));
    assert!(done.iter().all(|e| e.plan_version == 1));
    assert_eq!(scheduler.pending().unwrap(), n);
}
