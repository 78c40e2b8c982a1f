//! The ports: what the application needs from the outside world. Each has an
//! embedded twin (local mode) and an AWS twin, and one contract suite for both.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::{Enrollment, PlannedSend};
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};
use serde::{Deserialize, Serialize};

use crate::model::{
    EmailAccount, EnrollmentEvent, LedgerEntry, MessageRef, Notification, Project, Template,
    UserProfile,
};
use crate::retry::{Attempt, retry_versioned};

mod daily;
pub use daily::{DailyLimits, DayCount, DaySlot};

mod mail;
pub use mail::{Identities, IdentityError, Mailer, MailerError, OutboundMail, SentMail};
mod raw_mail;
pub use raw_mail::{NoRawMail, RawMail, RawMailError, RawMessage, content_name};

/// The time source. Only clock adapters read the system time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// Fresh ids and unguessable tokens.
pub trait IdSource: Send + Sync {
    /// A new opaque id with `prefix` (`cmp`, `enr`, …), sortable by creation.
    fn new_id(&self, prefix: &str) -> String;
    /// A secret of at least 128 random bits, URL-safe, carrying no readable id.
    fn token(&self) -> String;
}

/// A record and the version its next conditional write must name.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PageRequest {
    pub limit: u32,
    /// The sort key of the last item of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items may follow.
    pub next: Option<String>,
}

/// DynamoDB's item limit (400 KB), which every store enforces alike, so that
/// local mode cannot keep what DynamoDB would refuse.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The largest record either store keeps, measured as its JSON document: the
/// item limit less room for the keys and index attributes stored beside it
/// (well under 1 KB; the rest is margin). Both stores refuse a larger one at
/// this same size, with [`StoreError::TooLarge`] and nothing written.
pub const MAX_RECORD_BYTES: usize = MAX_ITEM_BYTES - 8 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the record changed (or exists) since it was read.
    #[error("the record changed concurrently")]
    Conflict,
    /// The record is larger than a store item may be ([`MAX_RECORD_BYTES`]);
    /// nothing was written. Writing it again cannot succeed.
    #[error("the record is larger than the store's item limit (400 KB)")]
    TooLarge,
    #[error("the store failed: {0}")]
    Unavailable(String),
}

/// How an enrollment write changes its campaign's count of active
/// (not ended) enrollments, which completes the campaign at zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Unchanged,
    /// The enrollment went from active to ended: one less.
    Ended,
    /// An ended enrollment became active again (a user's retry, R-9.2): one more.
    Reopened,
}

impl Activity {
    pub fn ended_if(ended_now: bool) -> Activity {
        if ended_now {
            Activity::Ended
        } else {
            Activity::Unchanged
        }
    }

    pub fn delta(self) -> i64 {
        match self {
            Activity::Unchanged => 0,
            Activity::Ended => -1,
            Activity::Reopened => 1,
        }
    }
}

/// A reminder that an enrollment of a campaign ended since the sweeper last
/// looked (issue 19): written in the ending write's own atomic write, so that
/// the campaign's completion is checked even when the handler dies
/// after that write. One a store part of the campaign (a counter shard in
/// DynamoDB), however many enrollments ended: no ended enrollment stays in
/// the due index for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CompletionCheck {
    pub org: OrgId,
    pub campaign: CampaignId,
    /// The part of the campaign the reminder is on.
    pub part: u32,
}

/// The answer to a reveal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealOutcome {
    Spent,
    AlreadyRevealed,
    NoCredits,
}

/// One item of a batched read ([`Store::get_batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Enrollment(OrgId, EnrollmentId),
    Campaign(OrgId, CampaignId),
    Candidate(OrgId, CandidateId),
    Account(AccountId),
    /// Whether a keyed hash is on the organization's suppression list.
    Suppressed(OrgId, String),
    Record(String),
    /// A counter's value ([`Store::read_counter`]; issue 20).
    Counter(String),
    /// A user's profile ([`Store::get_user`]): the send reads its sender
    /// account's owner's time zone with the rest (R-6.7, issue 20).
    User(OrgId, UserId),
}

/// What a [`Lookup`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Enrollment(Box<Versioned<Enrollment>>),
    Campaign(Box<Versioned<Campaign>>),
    Candidate(Box<Versioned<Candidate>>),
    Account(Box<Versioned<EmailAccount>>),
    Suppressed,
    Record(Versioned<serde_json::Value>),
    Counter(u64),
    User(Box<UserProfile>),
}

/// Persistent state. Every write that decides something is conditional on the
/// version that was read; reads are strongly consistent.
#[async_trait]
pub trait Store: Send + Sync {
    // Organizations and credits.
    /// Creates the organization with its initial credits (a `grant` in the ledger) the first time it is seen.
    async fn ensure_org(
        &self,
        org: &OrgId,
        initial_credits: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn credit_balance(&self, org: &OrgId) -> Result<i64, StoreError>;
    /// Spends one credit for `candidate` unless already revealed, atomically with its ledger entry.
    async fn reveal(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        now: DateTime<Utc>,
    ) -> Result<RevealOutcome, StoreError>;
    /// Adds credits with a `grant` ledger entry, atomically.
    async fn grant_credits(
        &self,
        org: &OrgId,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn is_revealed(&self, org: &OrgId, candidate: &CandidateId) -> Result<bool, StoreError>;
    async fn ledger(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, StoreError>;

    // Users.
    async fn get_user(&self, org: &OrgId, user: &UserId)
    -> Result<Option<UserProfile>, StoreError>;
    async fn put_user(&self, profile: &UserProfile) -> Result<(), StoreError>;

    // Sender accounts. Accounts are looked up by id across organizations
    // because a delegate of another organization may use one.
    async fn get_account(
        &self,
        id: &AccountId,
    ) -> Result<Option<Versioned<EmailAccount>>, StoreError>;
    async fn find_account(
        &self,
        owner: &UserId,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<Option<Versioned<EmailAccount>>, StoreError>;
    async fn accounts_of(
        &self,
        org: &OrgId,
        owner: &UserId,
    ) -> Result<Vec<EmailAccount>, StoreError>;
    /// `expected: None` creates (Conflict if it exists); `Some(v)` replaces version `v`.
    async fn put_account(
        &self,
        account: &EmailAccount,
        expected: Option<u64>,
    ) -> Result<u64, StoreError>;

    // Candidates.
    async fn get_candidate(
        &self,
        org: &OrgId,
        id: &CandidateId,
    ) -> Result<Option<Versioned<Candidate>>, StoreError>;
    async fn put_candidate(
        &self,
        candidate: &Candidate,
        expected: Option<u64>,
    ) -> Result<u64, StoreError>;
    async fn list_candidates(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Candidate>, StoreError>;

    // Projects and templates.
    async fn get_project(&self, org: &OrgId, id: &str) -> Result<Option<Project>, StoreError>;
    async fn put_project(&self, project: &Project) -> Result<(), StoreError>;
    async fn list_projects(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Project>, StoreError>;
    async fn get_template(&self, org: &OrgId, id: &str) -> Result<Option<Template>, StoreError>;
    async fn put_template(&self, template: &Template) -> Result<(), StoreError>;
    async fn delete_template(&self, org: &OrgId, id: &str) -> Result<(), StoreError>;
    async fn list_templates(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Template>, StoreError>;

    // Campaigns.
    async fn get_campaign(
        &self,
        org: &OrgId,
        id: &CampaignId,
    ) -> Result<Option<Versioned<Campaign>>, StoreError>;
    async fn put_campaign(
        &self,
        campaign: &Campaign,
        expected: Option<u64>,
    ) -> Result<u64, StoreError>;
    async fn list_campaigns(
        &self,
        org: &OrgId,
        project: &str,
        page: &PageRequest,
    ) -> Result<Page<Campaign>, StoreError>;

    // Enrollments.
    async fn get_enrollment(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
    ) -> Result<Option<Versioned<Enrollment>>, StoreError>;
    /// Creates an enrollment and adds one to its campaign's active count, atomically.
    async fn insert_enrollment(&self, enrollment: &Enrollment) -> Result<(), StoreError>;
    /// Replaces version `expected`; the campaign's count of active enrollments
    /// changes with `activity` in the same atomic write.
    async fn update_enrollment(
        &self,
        enrollment: &Enrollment,
        expected: u64,
        activity: Activity,
    ) -> Result<u64, StoreError>;
    async fn list_enrollments(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        page: &PageRequest,
    ) -> Result<Page<Enrollment>, StoreError>;
    /// [`Store::list_enrollments`], read consistently: every enrollment
    /// inserted before the call is on its pages (in DynamoDB from membership
    /// items written in the enrollment's own transaction and queried with
    /// `ConsistentRead`, never from an eventually consistent index). What
    /// decides from a campaign's enrollments reads this: the plans of a start,
    /// a resume or an edit, and completion (R-5.2, R-5.4, R-10.1; issue 19).
    async fn list_enrollments_consistent(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        page: &PageRequest,
    ) -> Result<Page<Enrollment>, StoreError>;
    /// The campaign's counts of the Outreach view, moved by every
    /// enrollment write in its transaction ([`crate::tally`]); always equal to
    /// a recount of its enrollments.
    async fn campaign_tally(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
    ) -> Result<crate::tally::Tally, StoreError>;
    /// Enrollments whose `next_due_at` is at or before `before`, earliest first.
    async fn list_due(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(OrgId, EnrollmentId)>, StoreError>;
    /// How many partitions the due index has: the sweeper reads each with
    /// [`Store::list_due_in`], a bounded pass at a time (issue 19).
    fn due_shards(&self) -> u32 {
        1
    }
    /// [`Store::list_due`] of one partition (`shard` below
    /// [`Store::due_shards`]): its enrollments due at or before `before`,
    /// earliest first. The partitions together hold every due enrollment, each once.
    async fn list_due_in(
        &self,
        shard: u32,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(OrgId, EnrollmentId)>, StoreError> {
        if shard == 0 {
            self.list_due(before, limit).await
        } else {
            Ok(Vec::new())
        }
    }
    /// The completion checks pending in partition `shard` of the due index
    /// (below [`Store::due_shards`]), at most `limit` (issue 19).
    async fn list_completion_checks(
        &self,
        shard: u32,
        limit: u32,
    ) -> Result<Vec<CompletionCheck>, StoreError>;
    /// Removes `check` unless an enrollment of its part of the campaign ended
    /// since the campaign was read at `version` (then `Ok(false)`, and the
    /// check stays for the next sweep).
    async fn clear_completion_check(
        &self,
        check: &CompletionCheck,
        version: u64,
    ) -> Result<bool, StoreError>;
    async fn enrollment_of_candidate(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        candidate: &CandidateId,
    ) -> Result<Option<EnrollmentId>, StoreError>;

    /// Every enrollment of a candidate in an organization, across campaigns.
    async fn enrollments_of_candidate_in_org(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Result<Vec<EnrollmentId>, StoreError>;
    /// Campaigns that send from `account`, in any organization.
    async fn campaigns_using(
        &self,
        account: &AccountId,
    ) -> Result<Vec<(OrgId, CampaignId)>, StoreError>;

    // What comes back. Tokens of an enrollment (reply and unsubscribe) are
    // indexed by `insert_enrollment`.
    /// The enrollment whose Reply-To or unsubscribe token this is.
    async fn find_token(&self, token: &str) -> Result<Option<(OrgId, EnrollmentId)>, StoreError>;
    /// Records where a handed-off message belongs, under both of its ids.
    async fn index_message(&self, message: &MessageRef) -> Result<(), StoreError>;
    /// A message by the mail service's id or by its Message-ID (without brackets).
    async fn find_message(&self, id: &str) -> Result<Option<MessageRef>, StoreError>;
    /// Messages handed off to `address`, in any organization (reply matching by sender, R-9.6).
    async fn messages_to(
        &self,
        address: &EmailAddress,
        limit: u32,
    ) -> Result<Vec<MessageRef>, StoreError>;
    /// Candidates of an organization that have `address` among their emails.
    async fn candidates_with_address(
        &self,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<Vec<CandidateId>, StoreError>;
    /// Puts a keyed hash of an address on the organization's suppression list
    /// `true` the first time. An entry whose reason starts
    /// with `reply:` (an opt-out a reply's class caused, R-9.9) takes the
    /// reason of a later call whose reason does not, so that it can no longer
    /// be lifted ([`Store::lift_suppression`]).
    async fn suppress(
        &self,
        org: &OrgId,
        key: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn is_suppressed(&self, org: &OrgId, key: &str) -> Result<bool, StoreError>;
    /// Returns the credit of a revealed candidate with its ledger entry, exactly
    /// once per reveal; `false` when already refunded or never revealed.
    async fn refund_once(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// `true` the first time `key` is seen (notification de-duplication, R-9.8);
    /// the marker may be forgotten after `expires_at`.
    async fn first_time(&self, key: &str, expires_at: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Creates or replaces a notification.
    async fn put_notification(&self, notification: &Notification) -> Result<(), StoreError>;
    /// A project's notifications, newest first.
    async fn list_notifications(
        &self,
        org: &OrgId,
        project: &str,
    ) -> Result<Vec<Notification>, StoreError>;

    /// Every sender account, across organizations, for the identity check.
    async fn list_all_accounts(&self, page: &PageRequest)
    -> Result<Page<EmailAccount>, StoreError>;
    /// A small keyed aggregate (reputation windows, R-2.5), with its version.
    async fn get_record(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<serde_json::Value>>, StoreError>;
    /// `expected: None` creates (Conflict if it exists); `Some(v)` replaces version `v`.
    async fn put_record(
        &self,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
    ) -> Result<u64, StoreError>;
    /// [`Store::put_record`] of a record that may be forgotten after
    /// `expires_at` (an Idempotency-Key's, kept 24 hours, SPEC §13). Until then
    /// it reads like any record; after, DynamoDB deletes it in its own time
    /// (its `ttl` attribute), and the caller, whose clock decides, treats an
    /// expired record it still finds as absent. By default it is kept like any
    /// record (the embedded store: the key's next use replaces it).
    async fn put_expiring_record(
        &self,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
        expires_at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let _ = expires_at;
        self.put_record(key, value, expected).await
    }

    // The daily limits: each slot is one atomic write, however many
    // sends take one at once.
    /// Counts one message of `slot.campaign` on its day if neither of
    /// `limits` is reached (a count below each), in one atomic conditional
    /// write: whether it did.
    async fn take_day_slot(&self, slot: &DaySlot, limits: DailyLimits) -> Result<bool, StoreError>;
    /// Gives back a slot taken with [`Store::take_day_slot`]: one less in both
    /// counts, never below zero.
    async fn release_day_slot(&self, slot: &DaySlot) -> Result<(), StoreError>;
    /// The day's count of `slot.account`, and of `slot.campaign` among it.
    async fn day_count(&self, slot: &DaySlot) -> Result<DayCount, StoreError>;
    /// [`Store::update_enrollment`] (activity unchanged: a claim, R-8.1) and
    /// [`Store::take_day_slot`] in one atomic write (one `TransactWriteItems`
    /// in DynamoDB): the new version when both were written; `None` when the
    /// day is full; `Conflict` when the enrollment changed since `expected`,
    /// whether or not the day is full too. Either refusal writes nothing.
    async fn update_enrollment_taking_slot(
        &self,
        enrollment: &Enrollment,
        expected: u64,
        slot: &DaySlot,
        limits: DailyLimits,
    ) -> Result<Option<u64>, StoreError>;

    /// Adds one to the counter `key` (which starts at zero) and returns the new
    /// value, atomically: no two calls get the same value (the reputation
    /// windows' sequence numbers, R-2.5). Counters and records are apart.
    async fn increment_counter(&self, key: &str) -> Result<u64, StoreError> {
        // Stores without an atomic counter: a versioned record.
        let key = format!("counter:{key}");
        let key = &key;
        retry_versioned(
            || async move {
                let current = self.get_record(key).await?;
                let (value, expected) = match &current {
                    Some(v) => (v.value.as_u64().unwrap_or(0), Some(v.version)),
                    None => (0, None),
                };
                match self
                    .put_record(key, &serde_json::json!(value + 1), expected)
                    .await
                {
                    Ok(_) => Ok(Attempt::Done(value + 1)),
                    Err(StoreError::Conflict) => Ok(Attempt::Lost),
                    Err(e) => Err(e),
                }
            },
            || Err(StoreError::Conflict),
        )
        .await
    }
    /// [`Store::increment_counter`] of each key, in order; one transaction
    /// where the store has them (local mode), one call a key in DynamoDB.
    async fn increment_counters(&self, keys: &[String]) -> Result<Vec<u64>, StoreError> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.increment_counter(key).await?);
        }
        Ok(values)
    }
    /// The counter's value; zero when it was never incremented.
    async fn read_counter(&self, key: &str) -> Result<u64, StoreError> {
        Ok(self
            .get_record(&format!("counter:{key}"))
            .await?
            .and_then(|v| v.value.as_u64())
            .unwrap_or(0))
    }

    /// Reads many items at once, each as its own method reads it (one
    /// `BatchGetItem` in DynamoDB): the answers in the order of `lookups`,
    /// `None` for what is missing.
    async fn get_batch(&self, lookups: &[Lookup]) -> Result<Vec<Option<Found>>, StoreError> {
        let mut out = Vec::with_capacity(lookups.len());
        for lookup in lookups {
            out.push(match lookup {
                Lookup::Enrollment(org, id) => self
                    .get_enrollment(org, id)
                    .await?
                    .map(|v| Found::Enrollment(Box::new(v))),
                Lookup::Campaign(org, id) => self
                    .get_campaign(org, id)
                    .await?
                    .map(|v| Found::Campaign(Box::new(v))),
                Lookup::Candidate(org, id) => self
                    .get_candidate(org, id)
                    .await?
                    .map(|v| Found::Candidate(Box::new(v))),
                Lookup::Account(id) => self
                    .get_account(id)
                    .await?
                    .map(|v| Found::Account(Box::new(v))),
                Lookup::Suppressed(org, key) => self
                    .is_suppressed(org, key)
                    .await?
                    .then_some(Found::Suppressed),
                Lookup::Record(key) => self.get_record(key).await?.map(Found::Record),
                Lookup::Counter(key) => Some(Found::Counter(self.read_counter(key).await?)),
                Lookup::User(org, id) => {
                    self.get_user(org, id).await?.map(Box::new).map(Found::User)
                }
            });
        }
        Ok(out)
    }

    /// [`Store::update_enrollment`] together with what the write records: its
    /// event and, for a hand-off, the message's index entries,
    /// in one atomic write where the store has one (a single
    /// `TransactWriteItems` in DynamoDB, a transaction in SQLite). The write
    /// also adds one to each of `counters` (the reputation windows' send
    /// counts of a hand-off, R-2.5; issue 20): they move if, and only if,
    /// the enrollment's version check passes, so exactly once.
    async fn update_enrollment_recording(
        &self,
        enrollment: &Enrollment,
        expected: u64,
        activity: Activity,
        event: &EnrollmentEvent,
        message: Option<&MessageRef>,
        counters: &[String],
    ) -> Result<u64, StoreError> {
        let version = self
            .update_enrollment(enrollment, expected, activity)
            .await?;
        self.increment_counters(counters).await?;
        if let Err(err) = self.append_event(event).await {
            tracing::warn!(enrollment = %enrollment.id, kind = %event.kind, error = %err, "could not record an enrollment event");
        }
        if let Some(message) = message {
            self.index_message(message).await?;
        }
        Ok(version)
    }

    // Events shown on an enrollment (kept apart so an enrollment stays small).
    async fn append_event(&self, event: &EnrollmentEvent) -> Result<(), StoreError>;
    async fn list_events(
        &self,
        org: &OrgId,
        enrollment: &EnrollmentId,
        limit: u32,
    ) -> Result<Vec<EnrollmentEvent>, StoreError>;

    // Replies (R-9.9, R-11.2; issue 21).
    /// Creates a reply record unless one with its id exists: `true` the
    /// first time (a duplicate inbound delivery creates one record).
    async fn create_reply(&self, reply: &crate::reply::Reply) -> Result<bool, StoreError>;
    /// A reply of the organization, read consistently.
    async fn get_reply(
        &self,
        org: &OrgId,
        id: &str,
    ) -> Result<Option<Versioned<crate::reply::Reply>>, StoreError>;
    /// Replaces version `expected` of a reply (its read flag and class); its
    /// lists follow in the same atomic write.
    async fn update_reply(
        &self,
        reply: &crate::reply::Reply,
        expected: u64,
    ) -> Result<u64, StoreError>;
    /// The organization's replies that `filter` admits, newest first
    /// ([`crate::reply::reply_sort_key`] descending; the cursor is the last
    /// one's sort key), read consistently.
    async fn list_replies(
        &self,
        org: &OrgId,
        filter: &crate::reply::ReplyFilter,
        page: &PageRequest,
    ) -> Result<Page<crate::reply::Reply>, StoreError>;
    /// The organization's statistics counters in the quarter-hour
    /// buckets `[from, to)` (bucket names, [`crate::stats::bucket`]), summed
    /// per campaign and named `@{bucket}@{step}:{metric}`. Moved in the same
    /// atomic write as the enrollment or reply that changed; never a scan.
    async fn stats_counters(
        &self,
        org: &OrgId,
        from: &str,
        to: &str,
    ) -> Result<Vec<(CampaignId, crate::tally::Tally)>, StoreError>;
    /// The ids of every reply to the candidate in the organization, sorted,
    /// read consistently (erasure blanks them, R-3.6): one key per
    /// candidate, never a scan.
    async fn replies_of_candidate(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Result<Vec<String>, StoreError>;
    /// Takes a keyed hash off the suppression list if, and only if, the
    /// entry's reason is `reason` (an opt-out a reply's class caused, R-9.9):
    /// `true` when it did. [`Store::suppress`] with a reason not starting
    /// with `reply:` takes over such an entry, which this then leaves alone.
    async fn lift_suppression(
        &self,
        org: &OrgId,
        key: &str,
        reason: &str,
    ) -> Result<bool, StoreError>;
}

/// What a wake-up asks the service to do when it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Hand off `step` of an enrollment if its plan is still `plan_version`.
    SendStep {
        org_id: OrgId,
        campaign_id: CampaignId,
        enrollment_id: EnrollmentId,
        step: u32,
        plan_version: u32,
        /// The enrollment's candidate, so that the hand-off reads it with the
        /// enrollment in one round trip (issue 8). Absent in wake-ups made
        /// before it was added; the hand-off then reads it after the enrollment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        candidate_id: Option<CandidateId>,
        /// The address and sender account the step was planned with, so
        /// that the hand-off reads their entries in the same round trip
        /// (issue 20); a hint the hand-off checks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        planned: Option<PlannedSend>,
    },
    /// Plans one chunk of a campaign's enrollments (start, resume; §15).
    PlanChunk {
        org_id: OrgId,
        campaign_id: CampaignId,
        how: crate::model::Replan,
        after: Option<String>,
    },
    /// Asks the mail service whether a pending account's identity is verified.
    PollIdentity {
        account_id: AccountId,
        since: DateTime<Utc>,
    },
    /// An SES event about a message not recorded yet, tried again.
    RetrySesEvent {
        payload: String,
        first_seen: DateTime<Utc>,
    },
    /// Runs chunk `chunk` of an import job, if it is the job's next (R-3.7, §15).
    ImportChunk {
        org_id: OrgId,
        import_id: String,
        chunk: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WakeUp {
    /// Deterministic: creating the same wake-up twice is one wake-up.
    pub name: String,
    pub at: DateTime<Utc>,
    pub job: Job,
}

impl WakeUp {
    pub fn send_step(enrollment: &Enrollment, at: DateTime<Utc>) -> WakeUp {
        let step = enrollment.due_step().unwrap_or(enrollment.next_step);
        WakeUp {
            // Within 64 characters of [0-9a-zA-Z-_.] for EventBridge Scheduler.
            name: format!("{}.s{}.v{}", enrollment.id, step, enrollment.plan_version),
            at,
            job: Job::SendStep {
                org_id: enrollment.org_id.clone(),
                campaign_id: enrollment.campaign_id.clone(),
                enrollment_id: enrollment.id.clone(),
                step,
                plan_version: enrollment.plan_version,
                candidate_id: Some(enrollment.candidate_id.clone()),
                planned: enrollment.planned.clone(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the scheduler failed: {0}")]
pub struct SchedulerError(pub String);

/// One-shot wake-ups (EventBridge Scheduler in AWS, in-process locally).
#[async_trait]
pub trait Scheduler: Send + Sync {
    /// Creates the wake-up; one that already exists under that name is success.
    async fn schedule(&self, wake_up: &WakeUp) -> Result<(), SchedulerError>;
    /// Best effort: a stale wake-up that fires does nothing anyway.
    async fn cancel(&self, name: &str) -> Result<(), SchedulerError>;
}

/// Where a send that is due now went (§15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendHandoff {
    /// On the send queue: the send function runs it soon, within the bound
    /// on concurrency and rate that every send passes (AWS).
    Queued,
    /// There is no send queue (local mode): the caller runs the send itself, now.
    Inline,
}

/// Work to run soon, in the background (the planner's fan-out): an SQS queue
/// in AWS, the in-process runner locally. Delivery is at least once.
#[async_trait]
pub trait Queue: Send + Sync {
    async fn enqueue(&self, job: &WakeUp) -> Result<(), SchedulerError>;

    /// Hands a send that is due now (a [`Job::SendStep`] the sweeper rescues,
    /// a single message) to the send queue, the one path to the mail service
    /// in AWS, so that it passes the same bound as every scheduled step (§15).
    /// Without a send queue the answer is [`SendHandoff::Inline`] and nothing
    /// is queued: the caller sends within its own call (local mode).
    async fn enqueue_send(&self, wake_up: &WakeUp) -> Result<SendHandoff, SchedulerError> {
        let _ = wake_up;
        Ok(SendHandoff::Inline)
    }

    /// About how many sends wait on the send queue (visible, in flight or
    /// delayed); `None` without a send queue. The sweeper copies no overdue
    /// step onto a queue that still holds a backlog: its fired wake-up is
    /// most likely among it (issue 18).
    async fn send_backlog(&self) -> Result<Option<u64>, SchedulerError> {
        Ok(None)
    }
}
