//! A store whose answers get lost (issue 19): around any `Store`, it applies a
//! write and then, when told to, reports a transient error instead of the
//! write's answer — what a caller sees when a write reached the database and
//! the connection dropped (a timeout, a 500) before the answer came back. The
//! application must then find out what happened instead of assuming either:
//! a claim whose answer was lost is still this send's (R-8.1).
//!
//! ```ignore
//! let store = Arc::new(LostAnswers::new(inner));
//! store.lose_next("update_enrollment", 1);
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outreach_app::model::{
    EmailAccount, EnrollmentEvent, LedgerEntry, MessageRef, Notification, Project, Template,
    UserProfile,
};
use outreach_app::ports::{
    Activity, DailyLimits, DayCount, DaySlot, Found, Lookup, Page, PageRequest, RevealOutcome,
    Store, StoreError, Versioned,
};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};

/// The error a lost answer reads as.
pub const LOST: &str = "the connection closed before the answer (injected)";

/// A store that applies writes and loses the answers it is told to.
pub struct LostAnswers {
    inner: Arc<dyn Store>,
    /// How many of the next applied writes of each method lose their answer.
    armed: Mutex<HashMap<&'static str, usize>>,
    lost: AtomicUsize,
    /// Every call of each method, answered or not (what a use case costs).
    calls: Mutex<HashMap<&'static str, usize>>,
}

impl LostAnswers {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        LostAnswers {
            inner,
            armed: Mutex::new(HashMap::new()),
            lost: AtomicUsize::new(0),
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// The next `n` writes of `method` (the port's method name) that apply
    /// answer [`StoreError::Unavailable`] instead.
    pub fn lose_next(&self, method: &'static str, n: usize) {
        *self.armed.lock().expect("armed").entry(method).or_default() += n;
    }

    /// How many answers were lost so far.
    /// The calls of each method so far.
    pub fn calls(&self) -> HashMap<&'static str, usize> {
        self.calls.lock().expect("calls").clone()
    }

    fn count(&self, method: &'static str) {
        *self.calls.lock().expect("calls").entry(method).or_default() += 1;
    }

    pub fn lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }

    /// The answer of a write of `method`: lost if armed and the write applied.
    fn answer<T>(
        &self,
        method: &'static str,
        answer: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let value = answer?;
        let mut armed = self.armed.lock().expect("armed");
        match armed.get_mut(method) {
            Some(n) if *n > 0 => {
                *n -= 1;
                self.lost.fetch_add(1, Ordering::SeqCst);
                Err(StoreError::Unavailable(LOST.into()))
            }
            _ => Ok(value),
        }
    }
}

/// Forwards every method to the inner store, the default ones too (so that
/// the inner store's own versions run); `write` methods may lose their answer.
macro_rules! forward {
    ($($kind:ident $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        #[async_trait]
        impl Store for LostAnswers {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                    self.count(stringify!($name));
                    let answer = self.inner.$name($($arg),*).await;
                    forward!(@$kind self, $name, answer)
                }
            )*
        }
    };
    (@read $self:ident, $name:ident, $answer:ident) => { $answer };
    (@write $self:ident, $name:ident, $answer:ident) => { $self.answer(stringify!($name), $answer) };
}

forward! {
    write ensure_org(org: &OrgId, initial_credits: i64, now: DateTime<Utc>) -> ();
    read credit_balance(org: &OrgId) -> i64;
    write reveal(org: &OrgId, candidate: &CandidateId, now: DateTime<Utc>) -> RevealOutcome;
    write grant_credits(org: &OrgId, amount: i64, now: DateTime<Utc>) -> ();
    read is_revealed(org: &OrgId, candidate: &CandidateId) -> bool;
    read ledger(org: &OrgId, page: &PageRequest) -> Page<LedgerEntry>;
    read get_user(org: &OrgId, user: &UserId) -> Option<UserProfile>;
    write put_user(profile: &UserProfile) -> ();
    read get_account(id: &AccountId) -> Option<Versioned<EmailAccount>>;
    read find_account(owner: &UserId, org: &OrgId, address: &EmailAddress)
        -> Option<Versioned<EmailAccount>>;
    read accounts_of(org: &OrgId, owner: &UserId) -> Vec<EmailAccount>;
    write put_account(account: &EmailAccount, expected: Option<u64>) -> u64;
    read get_candidate(org: &OrgId, id: &CandidateId) -> Option<Versioned<Candidate>>;
    write put_candidate(candidate: &Candidate, expected: Option<u64>) -> u64;
    read list_candidates(org: &OrgId, page: &PageRequest) -> Page<Candidate>;
    read get_project(org: &OrgId, id: &str) -> Option<Project>;
    write put_project(project: &Project) -> ();
    read list_projects(org: &OrgId, page: &PageRequest) -> Page<Project>;
    read get_template(org: &OrgId, id: &str) -> Option<Template>;
    write put_template(template: &Template) -> ();
    write delete_template(org: &OrgId, id: &str) -> ();
    read list_templates(org: &OrgId, page: &PageRequest) -> Page<Template>;
    read get_campaign(org: &OrgId, id: &CampaignId) -> Option<Versioned<Campaign>>;
    write put_campaign(campaign: &Campaign, expected: Option<u64>) -> u64;
    read list_campaigns(org: &OrgId, project: &str, page: &PageRequest) -> Page<Campaign>;
    read get_enrollment(org: &OrgId, id: &EnrollmentId) -> Option<Versioned<Enrollment>>;
    write insert_enrollment(enrollment: &Enrollment) -> ();
    write update_enrollment(enrollment: &Enrollment, expected: u64, activity: Activity) -> u64;
    read list_enrollments(org: &OrgId, campaign: &CampaignId, page: &PageRequest)
        -> Page<Enrollment>;
    read campaign_tally(org: &OrgId, campaign: &CampaignId) -> outreach_app::tally::Tally;
    read list_due(before: DateTime<Utc>, limit: u32) -> Vec<(OrgId, EnrollmentId)>;
    read enrollment_of_candidate(org: &OrgId, campaign: &CampaignId, candidate: &CandidateId)
        -> Option<EnrollmentId>;
    read enrollments_of_candidate_in_org(org: &OrgId, candidate: &CandidateId)
        -> Vec<EnrollmentId>;
    read campaigns_using(account: &AccountId) -> Vec<(OrgId, CampaignId)>;
    read find_token(token: &str) -> Option<(OrgId, EnrollmentId)>;
    write index_message(message: &MessageRef) -> ();
    read find_message(id: &str) -> Option<MessageRef>;
    read messages_to(address: &EmailAddress, limit: u32) -> Vec<MessageRef>;
    read candidates_with_address(org: &OrgId, address: &EmailAddress) -> Vec<CandidateId>;
    write suppress(org: &OrgId, key: &str, reason: &str, now: DateTime<Utc>) -> bool;
    read is_suppressed(org: &OrgId, key: &str) -> bool;
    write refund_once(org: &OrgId, candidate: &CandidateId, now: DateTime<Utc>) -> bool;
    write first_time(key: &str, expires_at: DateTime<Utc>) -> bool;
    write put_notification(notification: &Notification) -> ();
    read list_notifications(org: &OrgId, project: &str) -> Vec<Notification>;
    read list_all_accounts(page: &PageRequest) -> Page<EmailAccount>;
    read get_record(key: &str) -> Option<Versioned<serde_json::Value>>;
    write put_record(key: &str, value: &serde_json::Value, expected: Option<u64>) -> u64;
    write take_day_slot(slot: &DaySlot, limits: DailyLimits) -> bool;
    write release_day_slot(slot: &DaySlot) -> ();
    read day_count(slot: &DaySlot) -> DayCount;
    write increment_counter(key: &str) -> u64;
    write increment_counters(keys: &[String]) -> Vec<u64>;
    read read_counter(key: &str) -> u64;
    read get_batch(lookups: &[Lookup]) -> Vec<Option<Found>>;
    write update_enrollment_recording(
        enrollment: &Enrollment,
        expected: u64,
        activity: Activity,
        event: &EnrollmentEvent,
        message: Option<&MessageRef>,
    ) -> u64;
    write append_event(event: &EnrollmentEvent) -> ();
    read list_events(org: &OrgId, enrollment: &EnrollmentId, limit: u32) -> Vec<EnrollmentEvent>;
}
