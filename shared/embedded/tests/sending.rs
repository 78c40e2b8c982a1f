//! The hand-off rules through the
//! application layer on the embedded adapters, with a scripted mail service.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::ports::{
    Activity, Clock, IdSource, Job, Mailer, MailerError, OutboundMail, Scheduler, SentMail, Store,
    WakeUp,
};
use outreach_app::usecases::campaigns::NewCampaign;
use outreach_app::usecases::catalog::candidates::{NewCandidate, NewEmail};
use outreach_app::usecases::enrollments::AddCandidates;
use outreach_app::usecases::sending::JobOutcome;
use outreach_app::usecases::sending::messages::NewMessage;
use outreach_app::{Config, Error, Ports, Service};
use outreach_domain::campaign::{CampaignStatus, PauseReason, StepSpec, WhenToSend};
use outreach_domain::candidate::EmailType;
use outreach_domain::enrollment::{AttemptState, EnrollmentStatus};
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};

/// A mail service whose answers a test scripts: `None` delivers to the outbox.
struct ScriptedMailer {
    outbox: OutboxMailer,
    script: Mutex<VecDeque<Option<MailerError>>>,
    calls: AtomicUsize,
}

#[async_trait]
impl Mailer for ScriptedMailer {
    async fn send(&self, mail: &OutboundMail) -> Result<SentMail, MailerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        // Widen the window in which concurrent claimers could interfere.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let answer = self.script.lock().unwrap().pop_front().flatten();
        match answer {
            Some(err) => Err(err),
            None => self.outbox.send(mail).await,
        }
    }
}

struct AllSendable;

#[async_trait]
impl outreach_app::ports::Identities for AllSendable {
    async fn sendable(
        &self,
        _: &outreach_domain::EmailAddress,
    ) -> Result<bool, outreach_app::ports::IdentityError> {
        Ok(true)
    }

    async fn prepare(
        &self,
        _: &outreach_domain::EmailAddress,
    ) -> Result<(), outreach_app::ports::IdentityError> {
        Ok(())
    }

    async fn release(
        &self,
        _: &outreach_domain::EmailAddress,
    ) -> Result<(), outreach_app::ports::IdentityError> {
        Ok(())
    }

    async fn domain_verified(&self, _: &str) -> Result<bool, outreach_app::ports::IdentityError> {
        Ok(true)
    }

    async fn dmarc_policy(
        &self,
        _: &str,
    ) -> Result<Option<String>, outreach_app::ports::IdentityError> {
        Ok(None)
    }
}

struct World {
    service: Arc<Service>,
    store: Arc<SqliteStore>,
    scheduler: Arc<LocalScheduler>,
    clock: Arc<LocalClock>,
    mailer: Arc<ScriptedMailer>,
    who: Identity,
    _dir: tempfile::TempDir,
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::in_memory().unwrap();
        let clock = Arc::new(LocalClock::manual(db.clone(), at("2026-12-01T14:00:00Z")));
        let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
        let store = Arc::new(SqliteStore::new(db.clone()));
        let scheduler = Arc::new(LocalScheduler::new(db.clone()));
        let mailer = Arc::new(ScriptedMailer {
            outbox: OutboxMailer::new(db, dir.path().join("outbox"), clock.clone(), ids.clone())
                .unwrap(),
            script: Mutex::new(VecDeque::new()),
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
            Config::local(3000),
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

    fn script(&self, answers: Vec<Option<MailerError>>) {
        *self.mailer.script.lock().unwrap() = answers.into();
    }

    fn calls(&self) -> usize {
        self.mailer.calls.load(Ordering::SeqCst)
    }

    /// A running campaign with one candidate; returns (campaign, enrollment).
    /// A campaign of `two_steps` with one candidate, Ada, at her work address.
    async fn ada_at_work(&self) -> (CampaignId, EnrollmentId) {
        let emails = vec![("ada@work.example", EmailType::Work)];
        self.campaign(two_steps(), emails, None).await
    }

    async fn campaign(
        &self,
        steps: Vec<StepSpec>,
        emails: Vec<(&str, EmailType)>,
        title: Option<&str>,
    ) -> (CampaignId, EnrollmentId) {
        let s = &self.service;
        let account = s
            .accounts()
            .link_account(&self.who, "alice@recruit.example", Some("Alice R".into()))
            .await
            .unwrap();
        let candidate = s
            .catalog()
            .create_candidate(
                &self.who,
                NewCandidate {
                    first_name: "Ada".into(),
                    last_name: "Lovelace".into(),
                    title: title.map(str::to_owned),
                    company: None,
                    location: None,
                    timezone: None,
                    emails: emails
                        .into_iter()
                        .map(|(a, kind)| NewEmail {
                            address: a.into(),
                            kind,
                        })
                        .collect(),
                },
            )
            .await
            .unwrap();
        let project = s.catalog().create_project(&self.who, "P").await.unwrap();
        let campaign = s
            .campaigns()
            .create_campaign(
                &self.who,
                &project.id,
                NewCampaign {
                    name: "C".into(),
                    sender_account_id: account.id.to_string(),
                    template_id: None,
                    steps: Some(steps),
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
            .unwrap();
        s.campaigns()
            .start_campaign(&self.who, campaign.id.as_str())
            .await
            .unwrap();
        (campaign.id, added.enrollments[0].id.clone())
    }

    async fn job(&self, enrollment: &EnrollmentId) -> Job {
        let e = self
            .store
            .get_enrollment(&self.who.org_id, enrollment)
            .await
            .unwrap()
            .unwrap()
            .value;
        WakeUp::send_step(&e, e.next_due_at.unwrap()).job
    }

    async fn enrollment(&self, id: &EnrollmentId) -> outreach_domain::enrollment::Enrollment {
        self.store
            .get_enrollment(&self.who.org_id, id)
            .await
            .unwrap()
            .unwrap()
            .value
    }
}

fn step(subject: Option<&str>, body: &str, delay: u32) -> StepSpec {
    StepSpec {
        subject: subject.map(str::to_owned),
        body: body.into(),
        text: None,
        delay_days: delay,
    }
}

fn two_steps() -> Vec<StepSpec> {
    vec![
        step(Some("Hi {{ candidate.first_name }}"), "<p>Hello</p>", 0),
        step(None, "<p>Again</p>", 1),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_wake_ups_hand_an_attempt_off_once() {
    // duplicate firings and concurrent calls never hand an attempt off twice.
    let w = World::new();
    let (_, eid) = w.ada_at_work().await;
    w.clock.set(at("2026-12-01T14:20:00Z"));
    let job = w.job(&eid).await;
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let service = w.service.clone();
            let job = job.clone();
            tokio::spawn(async move { service.sending().run_job(&job).await })
        })
        .collect();
    let mut sent = 0;
    for r in runs {
        if let Ok(JobOutcome::Sent { .. }) = r.await.unwrap() {
            sent += 1;
        }
    }
    assert_eq!(sent, 1);
    assert_eq!(w.calls(), 1);
    let e = w.enrollment(&eid).await;
    assert_eq!(e.steps[0].attempts.len(), 1);
    assert_eq!(e.status, EnrollmentStatus::InProgress);
    // The fired wake-up again, later: stale, does nothing.
    assert!(matches!(
        w.service.sending().run_job(&job).await.unwrap(),
        JobOutcome::Stale(_)
    ));
    assert_eq!(w.calls(), 1);
}

#[tokio::test]
async fn an_answer_lost_after_dispatch_is_sent_unconfirmed_and_never_resent() {
    // a timeout or 5xx after dispatch records the attempt sent, unconfirmed.
    let w = World::new();
    let (_, eid) = w.ada_at_work().await;
    w.clock.set(at("2026-12-01T14:20:00Z"));
    w.script(vec![Some(MailerError::Unconfirmed("timeout".into()))]);
    let job = w.job(&eid).await;
    assert!(matches!(
        w.service.sending().run_job(&job).await.unwrap(),
        JobOutcome::Sent {
            step: 1,
            attempt: 1
        }
    ));
    assert!(matches!(
        w.service.sending().run_job(&job).await.unwrap(),
        JobOutcome::Stale(_)
    ));
    assert_eq!(w.calls(), 1);
    let e = w.enrollment(&eid).await;
    let a = &e.steps[0].attempts[0];
    assert_eq!(a.state, AttemptState::Sent);
    assert!(a.unconfirmed);
    // The next step is planned and has its wake-up.
    assert_eq!(e.next_step, 2);
    assert!(e.next_due_at.is_some());
    assert!(
        w.scheduler
            .next_due(e.next_due_at.unwrap())
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_deferred_send_is_replanned_not_dropped() {
    // throttling proves non-acceptance; the step is re-planned under a new plan version.
    let w = World::new();
    let (_, eid) = w.ada_at_work().await;
    w.clock.set(at("2026-12-01T14:20:00Z"));
    w.script(vec![Some(MailerError::Deferred(
        "Maximum sending rate exceeded".into(),
    ))]);
    let first = w.job(&eid).await;
    assert_eq!(
        w.service.sending().run_job(&first).await.unwrap(),
        JobOutcome::Deferred
    );
    let e = w.enrollment(&eid).await;
    assert!(e.steps[0].attempts.is_empty(), "the claim was given back");
    assert_eq!(e.next_due_at, Some(at("2026-12-01T14:25:00Z")));
    assert!(
        matches!(
            w.service.sending().run_job(&first).await.unwrap(),
            JobOutcome::Stale(_)
        ),
        "the old wake-up is stale"
    );
    let retry = w.job(&eid).await;
    w.clock.set(at("2026-12-01T14:25:00Z"));
    assert!(matches!(
        w.service.sending().run_job(&retry).await.unwrap(),
        JobOutcome::Sent {
            step: 1,
            attempt: 1
        }
    ));
    assert_eq!(w.calls(), 2);
}

#[tokio::test]
async fn a_claim_whose_lease_expired_is_finalised_once_by_the_sweeper() {
    // a crash between claim and record leaves a claim; the sweeper counts it
    // as sent (unconfirmed) once and plans the next step.
    let w = World::new();
    let (_, eid) = w.ada_at_work().await;
    let now = at("2026-12-01T14:20:00Z");
    w.clock.set(now);
    // The process "dies" right after its claim was written.
    let v = w
        .store
        .get_enrollment(&w.who.org_id, &eid)
        .await
        .unwrap()
        .unwrap();
    let mut e = v.value;
    e.claim(
        1,
        outreach_domain::EmailAddress::parse("ada@work.example").unwrap(),
        now,
        now + Duration::minutes(5),
    )
    .unwrap();
    w.store
        .update_enrollment(&e, v.version, Activity::Unchanged)
        .await
        .unwrap();

    let early = w.service.sending().sweep(Duration::zero()).await.unwrap();
    assert_eq!(early.expired_claims, 0, "the lease still holds");
    w.clock.set(at("2026-12-01T14:26:00Z"));
    let report = w.service.sending().sweep(Duration::zero()).await.unwrap();
    assert_eq!(report.expired_claims, 1);
    let again = w.service.sending().sweep(Duration::zero()).await.unwrap();
    assert_eq!(again.expired_claims, 0);
    let e = w.enrollment(&eid).await;
    assert!(e.steps[0].attempts[0].unconfirmed);
    assert_eq!(e.next_step, 2);
    assert_eq!(w.calls(), 0, "never handed off again");
    assert!(
        w.scheduler
            .next_due(e.next_due_at.unwrap())
            .unwrap()
            .is_some(),
        "the next step has a wake-up"
    );
}

#[tokio::test]
async fn a_lost_wake_up_is_rescued_by_the_sweeper() {
    // no enrollment is left without a wake-up.
    let w = World::new();
    let (_, eid) = w.ada_at_work().await;
    let e = w.enrollment(&eid).await;
    w.scheduler
        .cancel(&WakeUp::send_step(&e, e.next_due_at.unwrap()).name)
        .await
        .unwrap();
    w.clock.set(at("2026-12-01T14:30:00Z"));
    let report = w
        .service
        .sending()
        .sweep(Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(report.rescued, 1);
    assert_eq!(w.calls(), 1);
    assert_eq!(
        w.enrollment(&eid).await.steps[0].attempts[0].state,
        AttemptState::Sent
    );
}

#[tokio::test]
async fn a_wake_up_after_pause_or_stop_sends_nothing() {
    //
    let w = World::new();
    let (cid, eid) = w.ada_at_work().await;
    let job = w.job(&eid).await;
    w.service
        .campaigns()
        .pause_campaign(&w.who, cid.as_str())
        .await
        .unwrap();
    w.clock.set(at("2026-12-01T14:20:00Z"));
    assert!(matches!(
        w.service.sending().run_job(&job).await.unwrap(),
        JobOutcome::Held(_)
    ));
    w.service
        .campaigns()
        .resume_campaign(&w.who, cid.as_str())
        .await
        .unwrap();
    assert!(
        matches!(
            w.service.sending().run_job(&job).await.unwrap(),
            JobOutcome::Stale(_)
        ),
        "resume re-planned the overdue step"
    );
    w.service
        .campaigns()
        .stop_campaign(&w.who, cid.as_str())
        .await
        .unwrap();
    let replanned = w.job(&eid).await;
    w.clock.set(at("2026-12-01T15:00:00Z"));
    assert!(matches!(
        w.service.sending().run_job(&replanned).await.unwrap(),
        JobOutcome::Held(_)
    ));
    assert_eq!(w.calls(), 0);
}

#[tokio::test]
async fn a_missing_merge_field_blocks_instead_of_sending_half_rendered() {
    //
    let w = World::new();
    let steps = vec![step(
        Some("About your role as {{ candidate.title }}"),
        "<p>Hi</p>",
        0,
    )];
    let (_, eid) = w
        .campaign(steps, vec![("ada@work.example", EmailType::Work)], None)
        .await;
    w.clock.set(at("2026-12-01T14:20:00Z"));
    let outcome = w
        .service
        .sending()
        .run_job(&w.job(&eid).await)
        .await
        .unwrap();
    assert_eq!(outcome, JobOutcome::Blocked("candidate.title".into()));
    let e = w.enrollment(&eid).await;
    assert_eq!(e.status, EnrollmentStatus::Blocked);
    assert_eq!(e.status.label(), "Needs attention");
    assert_eq!(
        e.blocked_reason.as_deref(),
        Some("missing_field:candidate.title")
    );
    assert_eq!(w.calls(), 0);
}

#[tokio::test]
async fn a_step_over_the_render_budget_blocks_with_render_limit() {
    // issue 15: like a missing field, never a crash.
    let w = World::new();
    let bomb = "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}";
    let (_, eid) = w
        .campaign(
            vec![step(Some("Hi"), bomb, 0)],
            vec![("ada@work.example", EmailType::Work)],
            None,
        )
        .await;
    w.clock.set(at("2026-12-01T14:20:00Z"));
    let outcome = w
        .service
        .sending()
        .run_job(&w.job(&eid).await)
        .await
        .unwrap();
    assert_eq!(outcome, JobOutcome::Blocked("render_limit".into()));
    let e = w.enrollment(&eid).await;
    assert_eq!(e.status, EnrollmentStatus::Blocked);
    assert_eq!(e.blocked_reason.as_deref(), Some("render_limit"));
    assert_eq!(w.calls(), 0);
}

#[tokio::test]
async fn a_single_message_over_the_render_budget_is_refused_with_422() {
    // issue 15: refused before anything is stored or sent.
    let w = World::new();
    let s = &w.service;
    let account = s
        .accounts()
        .link_account(&w.who, "alice@recruit.example", Some("Alice R".into()))
        .await
        .unwrap();
    let candidate = s
        .catalog()
        .create_candidate(
            &w.who,
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
        .unwrap();
    let message = NewMessage {
        sender_account_id: Some(account.id.to_string()),
        template_id: None,
        step_index: None,
        subject: Some("Hi".into()),
        body: Some("{{ [1]|batch(100000000000) }}".into()),
        address: None,
        in_reply_to: None,
    };
    match s
        .sending()
        .send_single(&w.who, candidate.id.as_str(), message)
        .await
    {
        Err(Error::Invalid { detail, .. }) => {
            assert!(detail.contains("render_limit"), "{detail}")
        }
        other => panic!("expected 422, got {other:?}"),
    }
    assert_eq!(w.calls(), 0);
    let (_, sent) = s
        .sending()
        .single_messages(&w.who, candidate.id.as_str())
        .await
        .unwrap();
    assert!(sent.is_empty(), "a refused message is not stored");
}

#[tokio::test]
async fn no_address_blocks_and_a_refused_recipient_cascades_then_ends_bounced() {
    // no address at all → blocked `no_address`.
    let w = World::new();
    let (_, eid) = w.campaign(two_steps(), vec![], None).await;
    w.clock.set(at("2026-12-01T14:20:00Z"));
    assert_eq!(
        w.service
            .sending()
            .run_job(&w.job(&eid).await)
            .await
            .unwrap(),
        JobOutcome::Blocked("no_address".into())
    );

    // an address refused outright is bounced; the same step goes to
    // the next address as attempt 2; with none left the enrollment ends bounced.
    let w = World::new();
    let (cid, eid) = w
        .campaign(
            two_steps(),
            vec![
                ("ada@work.example", EmailType::Work),
                ("ada@home.example", EmailType::Personal),
            ],
            None,
        )
        .await;
    w.clock.set(at("2026-12-01T14:20:00Z"));
    w.script(vec![
        Some(MailerError::RecipientRefused("550 no such user".into())),
        Some(MailerError::RecipientRefused("550 no such user".into())),
    ]);
    w.service
        .sending()
        .run_job(&w.job(&eid).await)
        .await
        .unwrap();
    let e = w.enrollment(&eid).await;
    assert_eq!(e.steps[0].attempts[0].state, AttemptState::Bounced);
    w.clock.set(e.next_due_at.unwrap());
    w.service
        .sending()
        .run_job(&w.job(&eid).await)
        .await
        .unwrap();
    let e = w.enrollment(&eid).await;
    assert_eq!(e.steps[0].attempts[1].number, 2);
    assert_eq!(e.steps[0].attempts[1].address.as_str(), "ada@home.example");
    w.clock.set(e.next_due_at.unwrap());
    assert_eq!(
        w.service
            .sending()
            .run_job(&w.job(&eid).await)
            .await
            .unwrap(),
        JobOutcome::Ended("bounced")
    );
    let e = w.enrollment(&eid).await;
    assert_eq!(e.status, EnrollmentStatus::Bounced);
    let candidate = w
        .service
        .catalog()
        .candidate(&w.who, e.candidate_id.as_str())
        .await
        .unwrap();
    assert!(
        candidate.emails.iter().all(|m| m.bounced),
        "R-3.5: bounced for the organization"
    );
    let c = w
        .store
        .get_campaign(&w.who.org_id, &cid)
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(c.status, CampaignStatus::Completed);
}

#[tokio::test]
async fn a_sender_fault_pauses_the_campaign_and_sends_nothing() {
    // R-2.3 (the part the foundation covers): the account goes to `error`, the
    // campaign pauses with `sender_error`, the claim is given back.
    let w = World::new();
    let (cid, eid) = w.ada_at_work().await;
    w.clock.set(at("2026-12-01T14:20:00Z"));
    w.script(vec![Some(MailerError::SenderFault(
        "Email address is not verified".into(),
    ))]);
    assert_eq!(
        w.service
            .sending()
            .run_job(&w.job(&eid).await)
            .await
            .unwrap(),
        JobOutcome::SenderFault
    );
    let c = w
        .store
        .get_campaign(&w.who.org_id, &cid)
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(c.status, CampaignStatus::Paused);
    assert_eq!(c.pause_reason, Some(PauseReason::SenderError));
    assert!(w.enrollment(&eid).await.steps[0].attempts.is_empty());
    let accounts = w.service.accounts().list_accounts(&w.who).await.unwrap();
    assert_eq!(
        accounts[0].status,
        outreach_app::model::AccountStatus::Error
    );
    let _ = w.clock.now();
}

#[tokio::test]
async fn a_wake_up_without_or_with_a_wrong_candidate_reads_the_enrollments_own() {
    // Issue 8: a wake-up names the candidate so that the hand-off reads it with
    // the enrollment. One made before that (no candidate), or naming another
    // candidate, still sends to the enrollment's own candidate.
    for hint in [None, Some(CandidateId::from("cand_someone_else"))] {
        let w = World::new();
        let (_, eid) = w.ada_at_work().await;
        w.clock.set(at("2026-12-01T14:20:00Z"));
        let mut job = w.job(&eid).await;
        let Job::SendStep { candidate_id, .. } = &mut job else {
            panic!("a send-step job");
        };
        assert!(candidate_id.is_some(), "new wake-ups name the candidate");
        *candidate_id = hint.clone();
        assert!(
            matches!(
                w.service.sending().run_job(&job).await.unwrap(),
                JobOutcome::Sent {
                    step: 1,
                    attempt: 1
                }
            ),
            "hint {hint:?}"
        );
        let e = w.enrollment(&eid).await;
        assert_eq!(e.steps[0].attempts[0].address.as_str(), "ada@work.example");
        assert_eq!(w.calls(), 1);
    }
}

#[tokio::test]
async fn an_ended_enrollment_leaves_the_due_index_and_the_sweeper_still_completes_its_campaign() {
    // issue 19: the write that ends an enrollment removes its due
    // entry; when its handler dies before the campaign's completion check,
    // the check written with the end has the sweeper complete the campaign.
    let w = World::new();
    let (cid, eid) = w.ada_at_work().await;
    let v = w
        .store
        .get_enrollment(&w.who.org_id, &eid)
        .await
        .unwrap()
        .unwrap();
    let mut e = v.value;
    let was_open = e.is_open();
    let now = at("2026-12-01T14:05:00Z");
    w.clock.set(now);
    e.end(EnrollmentStatus::Removed, now).unwrap();
    assert!(e.settle(was_open, now));
    // The handler's write, and then it dies.
    w.store
        .update_enrollment(&e, v.version, Activity::Ended)
        .await
        .unwrap();
    let due = w
        .store
        .list_due(at("2027-01-01T00:00:00Z"), 100)
        .await
        .unwrap();
    assert!(due.is_empty(), "nothing ended is due: {due:?}");
    let campaign = |w: &World| {
        let (store, org, cid) = (w.store.clone(), w.who.org_id.clone(), cid.clone());
        async move { store.get_campaign(&org, &cid).await.unwrap().unwrap().value }
    };
    assert_eq!(campaign(&w).await.status, CampaignStatus::Running);
    w.clock.set(at("2026-12-01T14:10:00Z"));
    let report = w
        .service
        .sending()
        .sweep(Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(report.completion_checks, 1, "{report:?}");
    assert_eq!(campaign(&w).await.status, CampaignStatus::Completed);
    let again = w.service.sending().sweep(Duration::zero()).await.unwrap();
    assert_eq!(again.completion_checks, 0, "the check was cleared");
}
