//! Fault-injecting adapters around the embedded ones: a store that yields to
//! other tasks between calls (so concurrent handlers interleave in a seeded
//! order), can crash its handler after a write, and reports every state change
//! to the oracle; a mailer that throttles, times out, refuses, blames the sender
//! or crashes before or after the outbox write; a scheduler that can crash
//! before creating a wake-up; seeded ids.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outreach_app::model::{
    EmailAccount, EnrollmentEvent, LedgerEntry, MessageRef, Notification, Project, Template,
    UserProfile,
};
use outreach_app::ports::{
    Activity, CompletionCheck, DailyLimits, DayCount, DaySlot, IdSource, Mailer, MailerError,
    OutboundMail, Page, PageRequest, Queue, RevealOutcome, Scheduler, SchedulerError, SentMail,
    Store, StoreError, Versioned, WakeUp,
};
use outreach_app::reply::{Reply, ReplyFilter};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};
use outreach_embedded::{LocalScheduler, OutboxMailer, SqliteStore};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::handler::{self, Crash};
use crate::oracle::{CallOutcome, Oracle};

/// Probabilities of the mailer's answers (per call) for one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct MailerFaults {
    pub deferred: f64,
    pub unconfirmed: f64,
    pub sender_fault: f64,
    pub refused: f64,
}

/// The seeded source of every scheduling and fault decision taken inside the
/// adapters. One run is one thread, so the order of draws is fixed by the seed.
pub struct Chaos {
    rng: Mutex<StdRng>,
    /// Whether several handlers run at once (only then is yielding useful).
    pub concurrent: AtomicBool,
    /// Whether faults are injected at all (off while a run drains).
    pub enabled: AtomicBool,
    pub mailer: Mutex<MailerFaults>,
    /// A throttling storm: the mail service defers every send
    /// for hours, so that steps leave a day or more late.
    pub throttled: AtomicBool,
    /// Whether the store's wrappers lose answers and serve indexes stale
    /// (issue 19): from the end of the organization's setup on.
    pub store_faults: AtomicBool,
}

impl Chaos {
    pub fn new(seed: u64) -> Arc<Chaos> {
        Arc::new(Chaos {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            concurrent: AtomicBool::new(false),
            enabled: AtomicBool::new(true),
            mailer: Mutex::new(MailerFaults::default()),
            throttled: AtomicBool::new(false),
            store_faults: AtomicBool::new(false),
        })
    }

    /// Lets other handlers run here, sometimes: the interleaving of concurrent
    /// handlers is decided by the seed.
    pub async fn maybe_yield(&self) {
        if !self.concurrent.load(Ordering::Relaxed) {
            return;
        }
        let n = {
            let mut rng = self.rng.lock().expect("rng");
            if rng.random_bool(0.4) {
                rng.random_range(1..4)
            } else {
                0
            }
        };
        for _ in 0..n {
            tokio::task::yield_now().await;
        }
    }

    fn mailer_fault(&self) -> Option<MailerError> {
        if !self.enabled.load(Ordering::Relaxed) {
            return None;
        }
        if self.throttled.load(Ordering::Relaxed) {
            return Some(MailerError::Deferred(
                "Daily message quota exceeded.".into(),
            ));
        }
        let f = *self.mailer.lock().expect("faults");
        let roll: f64 = self.rng.lock().expect("rng").random();
        let mut edge = f.deferred;
        if roll < edge {
            return Some(MailerError::Deferred(
                "Maximum sending rate exceeded.".into(),
            ));
        }
        edge += f.sender_fault;
        if roll < edge {
            return Some(MailerError::SenderFault(
                "Email address is not verified.".into(),
            ));
        }
        edge += f.refused;
        if roll < edge {
            return Some(MailerError::RecipientRefused(
                "550 5.1.1 mailbox unavailable".into(),
            ));
        }
        edge += f.unconfirmed;
        if roll < edge {
            return Some(MailerError::Unconfirmed("timeout after dispatch".into()));
        }
        None
    }
}

/// Seeded ids and tokens: a run's ids, hence its jitter, depend on the seed only.
pub struct SimIds {
    rng: Mutex<StdRng>,
    counter: AtomicU64,
}

impl SimIds {
    pub fn new(seed: u64) -> SimIds {
        SimIds {
            rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x1d5_1d5)),
            counter: AtomicU64::new(0),
        }
    }
}

impl IdSource for SimIds {
    fn new_id(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let r = self.rng.lock().expect("rng").next_u64();
        format!("{prefix}_{n:08x}{r:016x}")
    }

    fn token(&self) -> String {
        let mut bytes = [0u8; 16];
        self.rng.lock().expect("rng").fill_bytes(&mut bytes);
        // 128 random bits, spelt like the real tokens.
        outreach_domain::token::encode(&bytes)
    }
}

/// The scheduler (and the queue, which locally is the same table): the
/// embedded one, with a crash before creating a wake-up.
pub struct SimScheduler {
    pub inner: Arc<LocalScheduler>,
    pub chaos: Arc<Chaos>,
}

#[async_trait]
impl Scheduler for SimScheduler {
    async fn schedule(&self, wake_up: &WakeUp) -> Result<(), SchedulerError> {
        self.chaos.maybe_yield().await;
        if let Some(h) = handler::current()
            && h.crash == Crash::BeforeSchedule
        {
            handler::park().await;
        }
        self.inner.schedule(wake_up).await
    }

    async fn cancel(&self, name: &str) -> Result<(), SchedulerError> {
        self.chaos.maybe_yield().await;
        self.inner.cancel(name).await
    }
}

#[async_trait]
impl Queue for SimScheduler {
    async fn enqueue(&self, job: &WakeUp) -> Result<(), SchedulerError> {
        self.schedule(job).await
    }
}

/// The mail service: the embedded outbox behind scripted faults, every call
/// judged by the oracle before anything leaves.
pub struct SimMailer {
    pub outbox: Arc<OutboxMailer>,
    pub oracle: Arc<Oracle>,
    pub chaos: Arc<Chaos>,
}

#[async_trait]
impl Mailer for SimMailer {
    async fn send(&self, mail: &OutboundMail) -> Result<SentMail, MailerError> {
        let is_forward = mail.tags.iter().any(|(k, v)| k == "kind" && v == "forward");
        if is_forward {
            // forwards carry no step; they go out as they are.
            return self.outbox.send(mail).await;
        }
        let call = self.oracle.before_send(mail);
        self.chaos.maybe_yield().await;
        let crash = handler::current().map_or(Crash::None, |h| h.crash);
        if crash == Crash::MailerBeforeSend {
            self.oracle
                .after_send(call, CallOutcome::CrashedBefore, None);
            handler::park().await;
        }
        let fault = self.chaos.mailer_fault();
        match fault {
            Some(MailerError::Deferred(why)) => {
                self.oracle.after_send(call, CallOutcome::Deferred, None);
                return Err(MailerError::Deferred(why));
            }
            Some(MailerError::SenderFault(why)) => {
                self.oracle.after_send(call, CallOutcome::SenderFault, None);
                return Err(MailerError::SenderFault(why));
            }
            Some(MailerError::RecipientRefused(why)) => {
                self.oracle.after_send(call, CallOutcome::Refused, None);
                return Err(MailerError::RecipientRefused(why));
            }
            _ => {}
        }
        let sent = match self.outbox.send(mail).await {
            Ok(sent) => sent,
            Err(e) => {
                self.oracle.after_send(call, CallOutcome::Failed, None);
                return Err(e);
            }
        };
        if crash == Crash::MailerAfterSend {
            self.oracle
                .after_send(call, CallOutcome::CrashedAfter, Some((mail, &sent)));
            handler::park().await;
        }
        if let Some(MailerError::Unconfirmed(why)) = fault {
            self.oracle
                .after_send(call, CallOutcome::Unconfirmed, Some((mail, &sent)));
            return Err(MailerError::Unconfirmed(why));
        }
        self.oracle
            .after_send(call, CallOutcome::Sent, Some((mail, &sent)));
        self.chaos.maybe_yield().await;
        Ok(sent)
    }
}

/// The store: the embedded SQLite store, observed and perturbed.
pub struct SimStore {
    pub inner: Arc<SqliteStore>,
    pub oracle: Arc<Oracle>,
    pub chaos: Arc<Chaos>,
}

impl SimStore {
    async fn before(&self) {
        self.chaos.maybe_yield().await;
    }

    /// After a write: the scripted crash of the current handler, if it is due.
    async fn after_write(&self) {
        if let Some(h) = handler::current()
            && h.count_write()
        {
            handler::park().await;
        }
    }
}

#[async_trait]
impl Store for SimStore {
    async fn ensure_org(
        &self,
        org: &OrgId,
        initial_credits: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.before().await;
        let r = self.inner.ensure_org(org, initial_credits, now).await;
        self.after_write().await;
        r
    }

    async fn credit_balance(&self, org: &OrgId) -> Result<i64, StoreError> {
        self.before().await;
        self.inner.credit_balance(org).await
    }

    async fn reveal(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        now: DateTime<Utc>,
    ) -> Result<RevealOutcome, StoreError> {
        self.before().await;
        let r = self.inner.reveal(org, candidate, now).await;
        if let Ok(RevealOutcome::Spent) = r {
            self.oracle.on_reveal(candidate);
        }
        self.after_write().await;
        r
    }

    async fn grant_credits(
        &self,
        org: &OrgId,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.before().await;
        let r = self.inner.grant_credits(org, amount, now).await;
        self.after_write().await;
        r
    }

    async fn is_revealed(&self, org: &OrgId, candidate: &CandidateId) -> Result<bool, StoreError> {
        self.before().await;
        self.inner.is_revealed(org, candidate).await
    }

    async fn ledger(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        self.before().await;
        self.inner.ledger(org, page).await
    }

    async fn get_user(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<UserProfile>, StoreError> {
        self.before().await;
        self.inner.get_user(org, user).await
    }

    async fn put_user(&self, profile: &UserProfile) -> Result<(), StoreError> {
        self.before().await;
        let r = self.inner.put_user(profile).await;
        self.after_write().await;
        r
    }

    async fn get_account(
        &self,
        id: &AccountId,
    ) -> Result<Option<Versioned<EmailAccount>>, StoreError> {
        self.before().await;
        self.inner.get_account(id).await
    }

    async fn find_account(
        &self,
        owner: &UserId,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<Option<Versioned<EmailAccount>>, StoreError> {
        self.before().await;
        self.inner.find_account(owner, org, address).await
    }

    async fn accounts_of(
        &self,
        org: &OrgId,
        owner: &UserId,
    ) -> Result<Vec<EmailAccount>, StoreError> {
        self.before().await;
        self.inner.accounts_of(org, owner).await
    }

    async fn put_account(
        &self,
        account: &EmailAccount,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.before().await;
        let r = self.inner.put_account(account, expected).await;
        if r.is_ok() {
            self.oracle.on_account_write(account);
        }
        self.after_write().await;
        r
    }

    async fn get_candidate(
        &self,
        org: &OrgId,
        id: &CandidateId,
    ) -> Result<Option<Versioned<Candidate>>, StoreError> {
        self.before().await;
        self.inner.get_candidate(org, id).await
    }

    async fn put_candidate(
        &self,
        candidate: &Candidate,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.before().await;
        let r = self.inner.put_candidate(candidate, expected).await;
        if r.is_ok() {
            self.oracle.on_candidate_write(candidate);
        }
        self.after_write().await;
        r
    }

    async fn list_candidates(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Candidate>, StoreError> {
        self.before().await;
        self.inner.list_candidates(org, page).await
    }

    async fn get_project(&self, org: &OrgId, id: &str) -> Result<Option<Project>, StoreError> {
        self.before().await;
        self.inner.get_project(org, id).await
    }

    async fn put_project(&self, project: &Project) -> Result<(), StoreError> {
        self.before().await;
        let r = self.inner.put_project(project).await;
        self.after_write().await;
        r
    }

    async fn list_projects(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Project>, StoreError> {
        self.before().await;
        self.inner.list_projects(org, page).await
    }

    async fn get_template(&self, org: &OrgId, id: &str) -> Result<Option<Template>, StoreError> {
        self.before().await;
        self.inner.get_template(org, id).await
    }

    async fn put_template(&self, template: &Template) -> Result<(), StoreError> {
        self.before().await;
        let r = self.inner.put_template(template).await;
        self.after_write().await;
        r
    }

    async fn delete_template(&self, org: &OrgId, id: &str) -> Result<(), StoreError> {
        self.before().await;
        let r = self.inner.delete_template(org, id).await;
        self.after_write().await;
        r
    }

    async fn list_templates(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Template>, StoreError> {
        self.before().await;
        self.inner.list_templates(org, page).await
    }

    async fn get_campaign(
        &self,
        org: &OrgId,
        id: &CampaignId,
    ) -> Result<Option<Versioned<Campaign>>, StoreError> {
        self.before().await;
        self.inner.get_campaign(org, id).await
    }

    async fn put_campaign(
        &self,
        campaign: &Campaign,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.before().await;
        let r = self.inner.put_campaign(campaign, expected).await;
        if r.is_ok() {
            self.oracle.on_campaign_write(campaign);
        }
        self.after_write().await;
        r
    }

    async fn list_campaigns(
        &self,
        org: &OrgId,
        project: &str,
        page: &PageRequest,
    ) -> Result<Page<Campaign>, StoreError> {
        self.before().await;
        self.inner.list_campaigns(org, project, page).await
    }

    async fn get_enrollment(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
    ) -> Result<Option<Versioned<Enrollment>>, StoreError> {
        self.before().await;
        let r = self.inner.get_enrollment(org, id).await;
        if let Some(h) = handler::current() {
            h.note_read(id.as_str(), self.oracle.next_seq());
        }
        r
    }

    async fn insert_enrollment(&self, enrollment: &Enrollment) -> Result<(), StoreError> {
        self.before().await;
        let r = self.inner.insert_enrollment(enrollment).await;
        if r.is_ok() {
            self.oracle.on_enrollment_write(None, enrollment);
        }
        self.after_write().await;
        r
    }

    async fn update_enrollment(
        &self,
        enrollment: &Enrollment,
        expected: u64,
        activity: Activity,
    ) -> Result<u64, StoreError> {
        self.before().await;
        let r = self
            .inner
            .update_enrollment(enrollment, expected, activity)
            .await;
        if r.is_ok() {
            // The write succeeded, so nothing was written since the version it
            // names: the oracle's latest copy is the state it replaced.
            self.oracle.on_enrollment_update(enrollment);
        }
        self.after_write().await;
        r
    }

    async fn list_enrollments(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        page: &PageRequest,
    ) -> Result<Page<Enrollment>, StoreError> {
        self.before().await;
        self.inner.list_enrollments(org, campaign, page).await
    }

    async fn list_enrollments_consistent(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        page: &PageRequest,
    ) -> Result<Page<Enrollment>, StoreError> {
        self.before().await;
        self.inner
            .list_enrollments_consistent(org, campaign, page)
            .await
    }

    async fn campaign_tally(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
    ) -> Result<outreach_app::tally::Tally, StoreError> {
        self.before().await;
        self.inner.campaign_tally(org, campaign).await
    }

    async fn stats_counters(
        &self,
        org: &OrgId,
        from: &str,
        to: &str,
    ) -> Result<Vec<(CampaignId, outreach_app::tally::Tally)>, StoreError> {
        self.before().await;
        self.inner.stats_counters(org, from, to).await
    }

    async fn list_due(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(OrgId, EnrollmentId)>, StoreError> {
        self.before().await;
        self.inner.list_due(before, limit).await
    }

    async fn list_completion_checks(
        &self,
        shard: u32,
        limit: u32,
    ) -> Result<Vec<CompletionCheck>, StoreError> {
        self.before().await;
        self.inner.list_completion_checks(shard, limit).await
    }

    async fn clear_completion_check(
        &self,
        check: &CompletionCheck,
        version: u64,
    ) -> Result<bool, StoreError> {
        self.before().await;
        let r = self.inner.clear_completion_check(check, version).await;
        self.after_write().await;
        r
    }

    async fn enrollment_of_candidate(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        candidate: &CandidateId,
    ) -> Result<Option<EnrollmentId>, StoreError> {
        self.before().await;
        self.inner
            .enrollment_of_candidate(org, campaign, candidate)
            .await
    }

    async fn enrollments_of_candidate_in_org(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Result<Vec<EnrollmentId>, StoreError> {
        self.before().await;
        self.inner
            .enrollments_of_candidate_in_org(org, candidate)
            .await
    }

    async fn campaigns_using(
        &self,
        account: &AccountId,
    ) -> Result<Vec<(OrgId, CampaignId)>, StoreError> {
        self.before().await;
        self.inner.campaigns_using(account).await
    }

    async fn find_token(&self, token: &str) -> Result<Option<(OrgId, EnrollmentId)>, StoreError> {
        self.before().await;
        self.inner.find_token(token).await
    }

    async fn index_message(&self, message: &MessageRef) -> Result<(), StoreError> {
        self.before().await;
        let r = self.inner.index_message(message).await;
        self.after_write().await;
        r
    }

    async fn find_message(&self, id: &str) -> Result<Option<MessageRef>, StoreError> {
        self.before().await;
        self.inner.find_message(id).await
    }

    async fn messages_to(
        &self,
        address: &EmailAddress,
        limit: u32,
    ) -> Result<Vec<MessageRef>, StoreError> {
        self.before().await;
        self.inner.messages_to(address, limit).await
    }

    async fn candidates_with_address(
        &self,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<Vec<CandidateId>, StoreError> {
        self.before().await;
        self.inner.candidates_with_address(org, address).await
    }

    async fn suppress(
        &self,
        org: &OrgId,
        key: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.before().await;
        let r = self.inner.suppress(org, key, reason, now).await;
        if r.is_ok() {
            self.oracle.on_suppress(org, key);
        }
        self.after_write().await;
        r
    }

    async fn is_suppressed(&self, org: &OrgId, key: &str) -> Result<bool, StoreError> {
        self.before().await;
        self.inner.is_suppressed(org, key).await
    }

    async fn refund_once(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.before().await;
        // The state is judged on, read in the same step as the refund.
        let c = self.inner.get_candidate(org, candidate).await?;
        let mut statuses = Vec::new();
        for id in self
            .inner
            .enrollments_of_candidate_in_org(org, candidate)
            .await?
        {
            if let Some(e) = self.inner.get_enrollment(org, &id).await? {
                statuses.push(e.value.status);
            }
        }
        let r = self.inner.refund_once(org, candidate, now).await;
        if let Ok(true) = r {
            self.oracle
                .on_refund(candidate, c.map(|v| v.value).as_ref(), &statuses);
        }
        self.after_write().await;
        r
    }

    async fn first_time(&self, key: &str, expires_at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.before().await;
        let r = self.inner.first_time(key, expires_at).await;
        self.after_write().await;
        r
    }

    async fn put_notification(&self, notification: &Notification) -> Result<(), StoreError> {
        self.before().await;
        let r = self.inner.put_notification(notification).await;
        self.after_write().await;
        r
    }

    async fn list_notifications(
        &self,
        org: &OrgId,
        project: &str,
    ) -> Result<Vec<Notification>, StoreError> {
        self.before().await;
        self.inner.list_notifications(org, project).await
    }

    async fn list_all_accounts(
        &self,
        page: &PageRequest,
    ) -> Result<Page<EmailAccount>, StoreError> {
        self.before().await;
        self.inner.list_all_accounts(page).await
    }

    async fn get_record(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<serde_json::Value>>, StoreError> {
        self.before().await;
        self.inner.get_record(key).await
    }

    async fn put_record(
        &self,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.before().await;
        let r = self.inner.put_record(key, value, expected).await;
        self.after_write().await;
        r
    }

    // The daily limits' counts yield where their read-then-write once did
    // (read, then write when there is room), so that seeded runs keep their
    // interleavings; the count itself is one atomic call.
    async fn take_day_slot(&self, slot: &DaySlot, limits: DailyLimits) -> Result<bool, StoreError> {
        self.before().await;
        let r = self.inner.take_day_slot(slot, limits).await;
        if r == Ok(true) {
            self.before().await;
            self.after_write().await;
        }
        r
    }

    async fn release_day_slot(&self, slot: &DaySlot) -> Result<(), StoreError> {
        self.before().await;
        self.before().await;
        let r = self.inner.release_day_slot(slot).await;
        self.after_write().await;
        r
    }

    async fn day_count(&self, slot: &DaySlot) -> Result<DayCount, StoreError> {
        self.before().await;
        self.inner.day_count(slot).await
    }

    async fn update_enrollment_taking_slot(
        &self,
        enrollment: &Enrollment,
        expected: u64,
        slot: &DaySlot,
        limits: DailyLimits,
    ) -> Result<Option<u64>, StoreError> {
        self.before().await;
        let r = self
            .inner
            .update_enrollment_taking_slot(enrollment, expected, slot, limits)
            .await;
        if matches!(r, Ok(Some(_))) {
            // As for `update_enrollment`: the claim replaced the latest copy.
            self.oracle.on_enrollment_update(enrollment);
        }
        self.after_write().await;
        r
    }

    async fn append_event(&self, event: &EnrollmentEvent) -> Result<(), StoreError> {
        self.before().await;
        let r = self.inner.append_event(event).await;
        self.after_write().await;
        r
    }

    async fn list_events(
        &self,
        org: &OrgId,
        enrollment: &EnrollmentId,
        limit: u32,
    ) -> Result<Vec<EnrollmentEvent>, StoreError> {
        self.before().await;
        self.inner.list_events(org, enrollment, limit).await
    }

    // Replies: forwarded. The simulation never corrects a
    // class, so no suppression is lifted under the oracle's eyes.
    async fn create_reply(&self, reply: &Reply) -> Result<bool, StoreError> {
        self.before().await;
        let r = self.inner.create_reply(reply).await;
        self.after_write().await;
        r
    }

    async fn get_reply(
        &self,
        org: &OrgId,
        id: &str,
    ) -> Result<Option<Versioned<Reply>>, StoreError> {
        self.before().await;
        self.inner.get_reply(org, id).await
    }

    async fn update_reply(&self, reply: &Reply, expected: u64) -> Result<u64, StoreError> {
        self.before().await;
        let r = self.inner.update_reply(reply, expected).await;
        self.after_write().await;
        r
    }

    async fn list_replies(
        &self,
        org: &OrgId,
        filter: &ReplyFilter,
        page: &PageRequest,
    ) -> Result<Page<Reply>, StoreError> {
        self.before().await;
        self.inner.list_replies(org, filter, page).await
    }

    async fn replies_of_candidate(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Result<Vec<String>, StoreError> {
        self.before().await;
        self.inner.replies_of_candidate(org, candidate).await
    }

    async fn lift_suppression(
        &self,
        org: &OrgId,
        key: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.before().await;
        let r = self.inner.lift_suppression(org, key, reason).await;
        self.after_write().await;
        r
    }
}
