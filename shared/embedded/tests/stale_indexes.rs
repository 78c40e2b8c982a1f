//! Indexes that lag (issue 19), through the application on the embedded
//! adapters: the `StaleIndexes` store of the contract suite answers the reads
//! DynamoDB serves from an eventually consistent index without the
//! enrollments created since it began to lag. A candidate added just before a
//! start, a resume or an edit must still be planned by it (R-5.2, R-5.4,
//! otherwise it is never planned, never swept, and its campaign
//! never completes. The same world checks that an organization's sends are
//! counted in sub-counters, not one item (R-2.5, issue 19).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::ports::{Clock, IdSource, Job, Store};
use outreach_app::usecases::campaigns::{CampaignEdit, NewCampaign};
use outreach_app::usecases::catalog::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::AddCandidates;
use outreach_app::{Config, Ports, Service};
use outreach_contract::StaleIndexes;
use outreach_domain::campaign::{Campaign, StepSpec, WhenToSend};
use outreach_domain::candidate::EmailType;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{EnrollmentId, OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};

struct World {
    service: Arc<Service>,
    store: Arc<StaleIndexes>,
    scheduler: Arc<LocalScheduler>,
    clock: Arc<LocalClock>,
    who: Identity,
    _dir: tempfile::TempDir,
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an instant")
        .with_timezone(&Utc)
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("a folder");
        let db = Db::in_memory().expect("a database");
        let clock = Arc::new(LocalClock::manual(db.clone(), at("2026-12-01T14:00:00Z")));
        let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
        let store = Arc::new(StaleIndexes::new(Arc::new(SqliteStore::new(db.clone()))));
        let scheduler = Arc::new(LocalScheduler::new(db.clone()));
        let outbox = Arc::new(
            OutboxMailer::new(db, dir.path().join("outbox"), clock.clone(), ids.clone())
                .expect("an outbox"),
        );
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
            Config::local(3000),
        );
        World {
            service,
            store,
            scheduler,
            clock,
            who: Identity {
                org_id: OrgId::from("acme"),
                user_id: UserId::from("alice"),
                email: None,
                admin: false,
            },
            _dir: dir,
        }
    }

    /// A draft two-step campaign sending from a linked account.
    async fn campaign(&self) -> Campaign {
        let s = &self.service;
        let account = s
            .accounts()
            .link_account(&self.who, "alice@recruit.example", None)
            .await
            .expect("linked");
        let project = s
            .catalog()
            .create_project(&self.who, "P")
            .await
            .expect("project");
        let step = |delay_days| StepSpec {
            subject: Some("Hi".into()),
            body: "<p>Hello</p>".into(),
            text: None,
            delay_days,
        };
        s.campaigns()
            .create_campaign(
                &self.who,
                &project.id,
                NewCampaign {
                    name: "C".into(),
                    sender_account_id: account.id.to_string(),
                    template_id: None,
                    steps: Some(vec![step(0), step(2)]),
                    timezone: Some("UTC".into()),
                    when_to_send: WhenToSend::WhenStarted,
                    recipient: None,
                    skip_weekends: false,
                    timezone_mode: Default::default(),
                    daily_limit: None,
                },
            )
            .await
            .expect("campaign")
    }

    /// Adds a new candidate `name` to the campaign: its enrollment.
    async fn add(&self, campaign: &Campaign, name: &str) -> EnrollmentId {
        let s = &self.service;
        let candidate = s
            .catalog()
            .create_candidate(
                &self.who,
                NewCandidate {
                    first_name: name.into(),
                    last_name: "X".into(),
                    title: None,
                    company: None,
                    location: None,
                    timezone: None,
                    emails: vec![NewEmail {
                        address: format!("{}@work.example", name.to_lowercase()),
                        kind: EmailType::Work,
                    }],
                },
            )
            .await
            .expect("candidate");
        let added = s
            .enrollments()
            .add_candidates(
                &self.who,
                campaign.id.as_str(),
                AddCandidates {
                    candidate_ids: vec![candidate.id.to_string()],
                    allow_duplicate: false,
                },
            )
            .await
            .expect("enrolled");
        added.enrollments[0].id.clone()
    }

    /// Runs every planning chunk the service queued, as the planner does.
    async fn run_fan_out(&self) {
        for _ in 0..100 {
            let soon = self.clock.now() + Duration::minutes(5);
            let Some(wake_up) = self.scheduler.next_due(soon).expect("the queue") else {
                return;
            };
            if matches!(wake_up.job, Job::PlanChunk { .. }) {
                self.clock.set(wake_up.at.max(self.clock.now()));
                self.service
                    .sending()
                    .run_job(&wake_up.job)
                    .await
                    .expect("the chunk runs");
            }
            self.scheduler.complete(&wake_up).expect("done");
        }
        panic!("the fan-out does not end");
    }

    async fn enrollment(&self, id: &EnrollmentId) -> Enrollment {
        self.store
            .get_enrollment(&self.who.org_id, id)
            .await
            .expect("read")
            .expect("the enrollment")
            .value
    }
}

/// the candidate added while the index lags is planned by the start.
/// Before, the start's page came from the index: it was never planned.
#[tokio::test]
async fn a_candidate_added_just_before_the_start_is_planned() {
    let w = World::new();
    let campaign = w.campaign().await;
    let ada = w.add(&campaign, "Ada").await;
    w.store.lag();
    let bob = w.add(&campaign, "Bob").await;
    assert_eq!(w.store.unseen(), 1, "the index misses Bob");
    w.service
        .campaigns()
        .start_campaign(&w.who, campaign.id.as_str())
        .await
        .expect("started");
    w.run_fan_out().await;
    for id in [&ada, &bob] {
        let e = w.enrollment(id).await;
        assert!(
            e.next_due_at.is_some() && e.plan_start.is_some(),
            "{id} is planned: {e:?}"
        );
    }
}

/// the candidate added to a paused campaign while the index lags is
/// planned by the resume.
#[tokio::test]
async fn a_candidate_added_while_paused_is_planned_by_the_resume() {
    let w = World::new();
    let campaign = w.campaign().await;
    let ada = w.add(&campaign, "Ada").await;
    let c = w.service.campaigns();
    c.start_campaign(&w.who, campaign.id.as_str())
        .await
        .expect("started");
    w.run_fan_out().await;
    c.pause_campaign(&w.who, campaign.id.as_str())
        .await
        .expect("paused");
    w.store.lag();
    let bob = w.add(&campaign, "Bob").await;
    assert!(w.enrollment(&bob).await.next_due_at.is_none());
    w.clock.set(w.clock.now() + Duration::hours(1));
    c.resume_campaign(&w.who, campaign.id.as_str())
        .await
        .expect("resumed");
    w.run_fan_out().await;
    for id in [&ada, &bob] {
        let e = w.enrollment(id).await;
        assert!(e.next_due_at.is_some(), "{id} is planned: {e:?}");
    }
}

/// an edit that re-times the steps re-plans the enrollment added just
/// before it, while the index lags.
#[tokio::test]
async fn an_edit_replans_a_candidate_added_just_before() {
    let w = World::new();
    let campaign = w.campaign().await;
    // A campaign starts with a candidate.
    w.add(&campaign, "Ada").await;
    let c = w.service.campaigns();
    c.start_campaign(&w.who, campaign.id.as_str())
        .await
        .expect("started");
    w.run_fan_out().await;
    w.store.lag();
    let bob = w.add(&campaign, "Bob").await;
    let before = w.enrollment(&bob).await;
    assert!(before.next_due_at.is_some(), "planned by its add");
    c.edit_campaign(
        &w.who,
        campaign.id.as_str(),
        CampaignEdit {
            skip_weekends: Some(true),
            when_to_send: Some(WhenToSend::BestTime),
            ..Default::default()
        },
    )
    .await
    .expect("edited");
    let after = w.enrollment(&bob).await;
    assert!(
        after.plan_version > before.plan_version,
        "re-planned under the edit: {before:?} then {after:?}"
    );
}

/// issue 19: the organization's count of sends is not one item
/// written on every send: the sends of one organization spread over its
/// sub-counters (`reputation:org:<org>#n`), which together count each once.
/// Before, every send incremented `reputation:org:<org>`.
#[tokio::test]
async fn an_organizations_sends_spread_over_its_sub_counters() {
    use outreach_app::usecases::returns::reputation::ORG_SHARDS;
    use outreach_app::usecases::sending::JobOutcome;
    let w = World::new();
    let campaign = w.campaign().await;
    let mut enrolled = Vec::new();
    for i in 0..24 {
        enrolled.push(w.add(&campaign, &format!("C{i}")).await);
    }
    w.service
        .campaigns()
        .start_campaign(&w.who, campaign.id.as_str())
        .await
        .expect("started");
    w.run_fan_out().await;
    for id in &enrolled {
        let e = w.enrollment(id).await;
        let due = e.next_due_at.expect("planned");
        w.clock.set(due.max(w.clock.now()));
        let job = outreach_app::ports::WakeUp::send_step(&e, due).job;
        let outcome = w.service.sending().run_job(&job).await.expect("sent");
        assert!(matches!(outcome, JobOutcome::Sent { .. }), "{outcome:?}");
    }
    let org = w.who.org_id.as_str();
    let whole = w
        .store
        .read_counter(&format!("reputation:org:{org}"))
        .await
        .expect("read");
    assert_eq!(whole, 0, "no single counter of the organization");
    let mut counts = Vec::new();
    for shard in 0..ORG_SHARDS {
        let key = format!("reputation:org:{org}#{shard}");
        counts.push(w.store.read_counter(&key).await.expect("read"));
    }
    assert_eq!(
        counts.iter().sum::<u64>(),
        24,
        "each send counted once: {counts:?}"
    );
    assert!(
        counts.iter().filter(|n| **n > 0).count() >= 3,
        "spread over the sub-counters: {counts:?}"
    );
}
