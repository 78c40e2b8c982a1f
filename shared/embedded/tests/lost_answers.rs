//! Store answers lost after the write applied (issue 19), through the
//! application on the embedded adapters: the `LostAnswers` store of the
//! contract suite applies a write and answers a transient error, as a
//! connection that dropped after DynamoDB wrote would. No step may be lost to
//! it: a claim whose answer was lost is still the send's.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::ports::{
    Clock, DaySlot, IdSource, Identities, IdentityError, Job, Mailer, MailerError, OutboundMail,
    SentMail, Store, WakeUp,
};
use outreach_app::usecases::campaigns::NewCampaign;
use outreach_app::usecases::catalog::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::AddCandidates;
use outreach_app::usecases::sending::JobOutcome;
use outreach_app::{Config, Ports, Service};
use outreach_contract::LostAnswers;
use outreach_domain::EmailAddress;
use outreach_domain::campaign::{StepSpec, WhenToSend};
use outreach_domain::candidate::EmailType;
use outreach_domain::enrollment::{AttemptState, Enrollment};
use outreach_domain::ids::{AccountId, CampaignId, EnrollmentId, OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};

/// The outbox, counting the hand-offs.
struct Counted {
    outbox: OutboxMailer,
    calls: AtomicUsize,
}

#[async_trait]
impl Mailer for Counted {
    async fn send(&self, mail: &OutboundMail) -> Result<SentMail, MailerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.outbox.send(mail).await
    }
}

struct AllSendable;

#[async_trait]
impl Identities for AllSendable {
    async fn sendable(&self, _: &EmailAddress) -> Result<bool, IdentityError> {
        Ok(true)
    }
    async fn prepare(&self, _: &EmailAddress) -> Result<(), IdentityError> {
        Ok(())
    }
    async fn release(&self, _: &EmailAddress) -> Result<(), IdentityError> {
        Ok(())
    }
    async fn domain_verified(&self, _: &str) -> Result<bool, IdentityError> {
        Ok(true)
    }
    async fn dmarc_policy(&self, _: &str) -> Result<Option<String>, IdentityError> {
        Ok(None)
    }
}

struct World {
    service: Arc<Service>,
    store: Arc<LostAnswers>,
    scheduler: Arc<LocalScheduler>,
    clock: Arc<LocalClock>,
    mailer: Arc<Counted>,
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
        World::with(|_| {})
    }

    fn with(change: impl FnOnce(&mut Config)) -> World {
        let mut config = Config::local(3000);
        change(&mut config);
        let dir = tempfile::tempdir().expect("a folder");
        let db = Db::in_memory().expect("a database");
        let clock = Arc::new(LocalClock::manual(db.clone(), at("2026-12-01T14:00:00Z")));
        let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
        let store = Arc::new(LostAnswers::new(Arc::new(SqliteStore::new(db.clone()))));
        let scheduler = Arc::new(LocalScheduler::new(db.clone()));
        let outbox = OutboxMailer::new(db, dir.path().join("outbox"), clock.clone(), ids.clone())
            .expect("an outbox");
        let mailer = Arc::new(Counted {
            outbox,
            calls: AtomicUsize::new(0),
        });
        let service = Service::new(
            Ports {
                store: store.clone(),
                scheduler: scheduler.clone(),
                mailer: mailer.clone(),
                clock: clock.clone(),
                ids,
                auth: Arc::new(Hs256Authenticator::new(b"test")),
                identities: Arc::new(AllSendable),
                queue: scheduler.clone(),
            },
            config,
        );
        World {
            service,
            store,
            scheduler,
            clock,
            mailer,
            who: Identity {
                org_id: OrgId::from("acme"),
                user_id: UserId::from("alice"),
                email: None,
                admin: false,
            },
            _dir: dir,
        }
    }

    /// A started one-step campaign with one candidate, its sender account
    /// limited to `daily_limit` messages a day: (account, enrollment).
    async fn started(&self, daily_limit: Option<u32>) -> (AccountId, EnrollmentId) {
        let s = &self.service;
        let account = s
            .accounts()
            .link_account(&self.who, "alice@recruit.example", None)
            .await
            .expect("linked");
        s.accounts()
            .set_account_daily_limit(&self.who, account.id.as_str(), daily_limit)
            .await
            .expect("limit set");
        let candidate = s
            .catalog()
            .create_candidate(
                &self.who,
                NewCandidate {
                    first_name: "Ada".into(),
                    last_name: "Lovelace".into(),
                    title: None,
                    company: None,
                    location: None,
                    timezone: None,
                    emails: vec![NewEmail {
                        address: "ada@work.example".into(),
                        kind: EmailType::Work,
                    }],
                },
            )
            .await
            .expect("candidate");
        let project = s
            .catalog()
            .create_project(&self.who, "P")
            .await
            .expect("project");
        let step = StepSpec {
            subject: Some("Hi".into()),
            body: "<p>Hello</p>".into(),
            text: None,
            delay_days: 0,
        };
        let campaign = s
            .campaigns()
            .create_campaign(
                &self.who,
                &project.id,
                NewCampaign {
                    name: "C".into(),
                    sender_account_id: account.id.to_string(),
                    template_id: None,
                    steps: Some(vec![step]),
                    timezone: Some("UTC".into()),
                    when_to_send: WhenToSend::WhenStarted,
                    recipient: None,
                    skip_weekends: false,
                    timezone_mode: Default::default(),
                    daily_limit: None,
                },
            )
            .await
            .expect("campaign");
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
        s.campaigns()
            .start_campaign(&self.who, campaign.id.as_str())
            .await
            .expect("started");
        (account.id, added.enrollments[0].id.clone())
    }

    async fn enrollment(&self, id: &EnrollmentId) -> Enrollment {
        self.store
            .get_enrollment(&self.who.org_id, id)
            .await
            .expect("read")
            .expect("the enrollment")
            .value
    }

    /// The wake-up of the enrollment's due step, at its time.
    async fn due_job(&self, id: &EnrollmentId) -> Job {
        let e = self.enrollment(id).await;
        let due = e.next_due_at.expect("a step is due");
        self.clock.set(due);
        WakeUp::send_step(&e, due).job
    }

    fn hand_offs(&self) -> usize {
        self.mailer.calls.load(Ordering::SeqCst)
    }
}

/// the claim applied, its answer was lost. Before, the send stopped
/// with an error, every later try found the claim "already claimed", and
/// five minutes later the sweeper recorded the step sent, unconfirmed —
/// without anything sent. Now the send finds its own claim and hands off,
/// once.
#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_handed_off_once() {
    let w = World::new();
    let (_, eid) = w.started(None).await;
    let job = w.due_job(&eid).await;
    w.store.lose_next("update_enrollment", 1);
    let outcome = w.service.sending().run_job(&job).await;
    assert_eq!(w.store.lost(), 1, "the claim's answer was lost");
    assert!(
        matches!(
            outcome,
            Ok(JobOutcome::Sent {
                step: 1,
                attempt: 1
            })
        ),
        "the send went on with its own claim: {outcome:?}"
    );
    assert_eq!(w.hand_offs(), 1);
    // Nothing is left for a duplicate wake-up or the sweeper.
    assert!(matches!(
        w.service.sending().run_job(&job).await,
        Ok(JobOutcome::Stale(_))
    ));
    w.clock.set(w.clock.now() + Duration::minutes(10));
    let swept = w
        .service
        .sending()
        .sweep(Duration::zero())
        .await
        .expect("swept");
    assert_eq!(swept.expired_claims, 0);
    let e = w.enrollment(&eid).await;
    assert_eq!(e.steps[0].attempts.len(), 1);
    let attempt = &e.steps[0].attempts[0];
    assert_eq!(attempt.state, AttemptState::Sent);
    assert!(!attempt.unconfirmed, "a real send, confirmed");
    assert_eq!(w.hand_offs(), 1, "handed off exactly once");
}

/// under a daily limit, a claim whose answer was lost keeps
/// the one slot it took: sent once, counted once.
#[tokio::test]
async fn a_lost_claim_answer_counts_its_slot_once() {
    let w = World::new();
    let (account, eid) = w.started(Some(5)).await;
    let job = w.due_job(&eid).await;
    w.store.lose_next("update_enrollment", 1);
    let outcome = w.service.sending().run_job(&job).await;
    assert!(
        matches!(outcome, Ok(JobOutcome::Sent { .. })),
        "{outcome:?}"
    );
    assert_eq!(w.hand_offs(), 1);
    let e = w.enrollment(&eid).await;
    let slot = DaySlot {
        account,
        day: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"),
        campaign: CampaignId::from(e.campaign_id.as_str()),
    };
    assert_eq!(w.store.day_count(&slot).await.map(|c| c.sent), Ok(1));
}

/// the record of a hand-off applied, its answer was lost: the send
/// reports the error, and no try sends again (the record stands).
#[tokio::test]
async fn a_record_whose_answer_was_lost_is_never_sent_again() {
    let w = World::new();
    let (_, eid) = w.started(None).await;
    let job = w.due_job(&eid).await;
    w.store.lose_next("update_enrollment_recording", 1);
    let first = w.service.sending().run_job(&job).await;
    assert_eq!(w.store.lost(), 1);
    assert!(first.is_err(), "the lost answer is reported: {first:?}");
    assert!(matches!(
        w.service.sending().run_job(&job).await,
        Ok(JobOutcome::Stale(_))
    ));
    let e = w.enrollment(&eid).await;
    assert_eq!(e.steps[0].attempts[0].state, AttemptState::Sent);
    assert!(!e.steps[0].attempts[0].unconfirmed);
    assert_eq!(w.hand_offs(), 1);
}

/// Issue 19: a fan-out chunk whose write's answer was lost fails; local mode
/// drops a failed job, and nothing else plans the campaign's enrollments
/// . The chunk queues itself again a minute later.
#[tokio::test]
async fn a_fan_out_chunk_that_lost_an_answer_goes_again() {
    let w = World::with(|c| c.plan_first_chunk_in_request = false);
    let (_, id) = w.started(None).await;
    assert!(
        w.enrollment(&id).await.next_due_at.is_none(),
        "not planned yet"
    );
    let now = w.clock.now();
    let queued = w
        .scheduler
        .next_due(now)
        .expect("the scheduler answers")
        .expect("the start queued its fan-out");
    assert!(matches!(queued.job, Job::PlanChunk { .. }));
    w.store.lose_next("update_enrollment", 1);
    assert!(w.service.sending().run_job(&queued.job).await.is_err());
    // As the local runtime does with a failed job: dropped.
    w.scheduler.complete(&queued).expect("removed");
    let again = w
        .scheduler
        .next_due(now + Duration::minutes(1))
        .expect("the scheduler answers")
        .expect("the chunk goes again");
    assert!(again.name.contains(".failed"), "{}", again.name);
    assert_eq!(again.job, queued.job);
    w.clock.set(again.at);
    w.service
        .sending()
        .run_job(&again.job)
        .await
        .expect("the chunk runs");
    assert!(w.enrollment(&id).await.next_due_at.is_some(), "planned");
}
