//! The `Store` port on one DynamoDB table (SPEC §15).
//!
//! The key design lives in [`keys`]; how records become items in [`item`].
//! The rules the port promises map onto DynamoDB like this:
//! - every write that decides something is a conditional write on the `v`
//!   attribute (a lost condition is `StoreError::Conflict`); creation is
//!   conditional on the item not existing; a retry of a write that applied
//!   but whose answer was lost is its success, not a conflict ([`marks`]);
//! - a campaign's counters (active enrollments, the Outreach view's counts)
//!   are items of their own, sharded ([`tally`]), changed only with `ADD` in
//!   the same `TransactWriteItems` as the enrollment write that changes them;
//!   its steps are immutable items, cached ([`heads`]); `put_campaign`
//!   rewrites the small head and never a counter, on the condition that no
//!   counter moved since the campaign was read;
//! - a reveal and a refund are each one transaction (marker + balance + ledger
//!   entry): the marker's condition makes a duplicate fail as a whole;
//! - single-item reads are strongly consistent. Index queries cannot be, so a
//!   lookup through an index returns ids, and whatever decides a send re-reads
//!   the record by key (the handlers already do: a wake-up and the sweeper load
//!   the enrollment with `get_enrollment`);
//! - lists are paginated queries: the port's cursor is the last item's sort key
//!   (as in the embedded store), from which the next query's
//!   `ExclusiveStartKey` is rebuilt, so cursors leak no table layout and are
//!   the same in both modes. Nothing is ever scanned.
//!
//! Where each part of the port lives:
//! - [`access`]: the requests everything is built from (retried writes,
//!   transactions, paginated queries, batched reads);
//! - [`marks`]: how a write tells its own success from a lost race;
//! - [`credits`]: organizations, credits and the ledger;
//! - [`catalog`]: users, sender accounts, candidates, projects, templates;
//! - [`campaigns`]: campaign lists, enrollments and the due index;
//! - [`heads`]: a campaign's head, steps and version; [`tally`]: its counters;
//! - [`cache`]: what a process keeps between requests (immutable facts);
//! - [`recording`]: enrollment events and message index entries;
//! - [`inbound`]: tokens, addresses, suppression, seen markers, notifications;
//! - [`records`]: keyed records (an Idempotency-Key's expiring through the
//!   `ttl` attribute), counters and batched lookups.
//! - [`daily`]: the daily limits' counts, one conditional `ADD` a slot.

mod access;
mod cache;
mod campaigns;
mod catalog;
mod checks;
mod credits;
mod daily;
mod heads;
mod inbound;
pub mod item;
pub mod keys;
mod marks;
mod recording;
mod records;
pub mod replies;
pub mod stats;
pub mod table;
mod tally;

use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use outreach_app::model::{
    EmailAccount, EnrollmentEvent, LedgerEntry, MessageRef, Notification, Project, Template,
    UserProfile,
};
use outreach_app::ports::{
    Activity, CompletionCheck, DailyLimits, DayCount, DaySlot, Found, Lookup, Page, PageRequest,
    RevealOutcome, Store, StoreError, Versioned,
};
use outreach_app::reply::{Reply, ReplyFilter};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};

pub use table::{CreateTableError, create_table};

pub struct DynamoStore {
    client: Client,
    table: String,
    /// What this process keeps because it never changes ([`cache`]).
    caches: cache::Caches,
}

impl DynamoStore {
    /// A store on `table` (created beforehand, e.g. with [`create_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            caches: cache::Caches::default(),
        }
    }
}

/// Implements the port by forwarding each method to the function of the same
/// name in the file of its group (`group::method(store, args…)`), so that this
/// list is the map of where each method lives. `increment_counters` keeps the
/// port's default, one `UpdateItem` a counter: a transaction cannot return the
/// new values.
macro_rules! forward_store {
    ($($group:ident::$name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        #[async_trait::async_trait]
        impl Store for DynamoStore {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                    $group::$name(self, $($arg),*).await
                }
            )*

            fn due_shards(&self) -> u32 {
                keys::DUE_SHARDS
            }
        }
    };
}

forward_store! {
    credits::ensure_org(org: &OrgId, initial_credits: i64, now: DateTime<Utc>) -> ();
    credits::credit_balance(org: &OrgId) -> i64;
    credits::reveal(org: &OrgId, candidate: &CandidateId, now: DateTime<Utc>) -> RevealOutcome;
    credits::grant_credits(org: &OrgId, amount: i64, now: DateTime<Utc>) -> ();
    credits::is_revealed(org: &OrgId, candidate: &CandidateId) -> bool;
    credits::ledger(org: &OrgId, page: &PageRequest) -> Page<LedgerEntry>;
    credits::refund_once(org: &OrgId, candidate: &CandidateId, now: DateTime<Utc>) -> bool;

    catalog::get_user(org: &OrgId, user: &UserId) -> Option<UserProfile>;
    catalog::put_user(profile: &UserProfile) -> ();
    catalog::get_account(id: &AccountId) -> Option<Versioned<EmailAccount>>;
    catalog::find_account(
        owner: &UserId,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Option<Versioned<EmailAccount>>;
    catalog::accounts_of(org: &OrgId, owner: &UserId) -> Vec<EmailAccount>;
    catalog::put_account(account: &EmailAccount, expected: Option<u64>) -> u64;
    catalog::list_all_accounts(page: &PageRequest) -> Page<EmailAccount>;
    catalog::get_candidate(org: &OrgId, id: &CandidateId) -> Option<Versioned<Candidate>>;
    catalog::put_candidate(candidate: &Candidate, expected: Option<u64>) -> u64;
    catalog::list_candidates(org: &OrgId, page: &PageRequest) -> Page<Candidate>;
    catalog::get_project(org: &OrgId, id: &str) -> Option<Project>;
    catalog::put_project(project: &Project) -> ();
    catalog::list_projects(org: &OrgId, page: &PageRequest) -> Page<Project>;
    catalog::get_template(org: &OrgId, id: &str) -> Option<Template>;
    catalog::put_template(template: &Template) -> ();
    catalog::delete_template(org: &OrgId, id: &str) -> ();
    catalog::list_templates(org: &OrgId, page: &PageRequest) -> Page<Template>;

    heads::get_campaign(org: &OrgId, id: &CampaignId) -> Option<Versioned<Campaign>>;
    heads::put_campaign(campaign: &Campaign, expected: Option<u64>) -> u64;
    campaigns::list_campaigns(org: &OrgId, project: &str, page: &PageRequest) -> Page<Campaign>;
    campaigns::campaigns_using(account: &AccountId) -> Vec<(OrgId, CampaignId)>;
    campaigns::get_enrollment(org: &OrgId, id: &EnrollmentId) -> Option<Versioned<Enrollment>>;
    campaigns::insert_enrollment(e: &Enrollment) -> ();
    campaigns::update_enrollment(e: &Enrollment, expected: u64, activity: Activity) -> u64;
    campaigns::list_enrollments(
        org: &OrgId,
        campaign: &CampaignId,
        page: &PageRequest,
    ) -> Page<Enrollment>;
    campaigns::list_enrollments_consistent(
        org: &OrgId,
        campaign: &CampaignId,
        page: &PageRequest,
    ) -> Page<Enrollment>;
    campaigns::enrollment_of_candidate(
        org: &OrgId,
        campaign: &CampaignId,
        candidate: &CandidateId,
    ) -> Option<EnrollmentId>;
    campaigns::enrollments_of_candidate_in_org(
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Vec<EnrollmentId>;
    tally::campaign_tally(org: &OrgId, campaign: &CampaignId) -> outreach_app::tally::Tally;
    stats::stats_counters(
        org: &OrgId,
        from: &str,
        to: &str,
    ) -> Vec<(CampaignId, outreach_app::tally::Tally)>;
    checks::list_completion_checks(shard: u32, limit: u32) -> Vec<CompletionCheck>;
    checks::clear_completion_check(check: &CompletionCheck, version: u64) -> bool;
    campaigns::list_due(before: DateTime<Utc>, limit: u32) -> Vec<(OrgId, EnrollmentId)>;
    campaigns::list_due_in(shard: u32, before: DateTime<Utc>, limit: u32)
        -> Vec<(OrgId, EnrollmentId)>;

    recording::append_event(event: &EnrollmentEvent) -> ();
    recording::list_events(
        org: &OrgId,
        enrollment: &EnrollmentId,
        limit: u32,
    ) -> Vec<EnrollmentEvent>;
    recording::update_enrollment_recording(
        e: &Enrollment,
        expected: u64,
        activity: Activity,
        event: &EnrollmentEvent,
        message: Option<&MessageRef>,
        counters: &[String],
    ) -> u64;
    recording::index_message(message: &MessageRef) -> ();
    recording::find_message(id: &str) -> Option<MessageRef>;
    recording::messages_to(address: &EmailAddress, limit: u32) -> Vec<MessageRef>;

    inbound::find_token(token: &str) -> Option<(OrgId, EnrollmentId)>;
    inbound::candidates_with_address(org: &OrgId, address: &EmailAddress) -> Vec<CandidateId>;
    inbound::suppress(org: &OrgId, key: &str, reason: &str, now: DateTime<Utc>) -> bool;
    inbound::is_suppressed(org: &OrgId, key: &str) -> bool;
    inbound::first_time(key: &str, expires_at: DateTime<Utc>) -> bool;
    inbound::put_notification(notification: &Notification) -> ();
    inbound::list_notifications(org: &OrgId, project: &str) -> Vec<Notification>;

    records::get_record(key: &str) -> Option<Versioned<serde_json::Value>>;
    records::put_record(key: &str, value: &serde_json::Value, expected: Option<u64>) -> u64;
    records::put_expiring_record(
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
        expires_at: DateTime<Utc>,
    ) -> u64;
    records::increment_counter(key: &str) -> u64;
    records::read_counter(key: &str) -> u64;
    records::get_batch(lookups: &[Lookup]) -> Vec<Option<Found>>;

    daily::take_day_slot(slot: &DaySlot, limits: DailyLimits) -> bool;
    daily::release_day_slot(slot: &DaySlot) -> ();
    daily::day_count(slot: &DaySlot) -> DayCount;
    daily::update_enrollment_taking_slot(
        e: &Enrollment,
        expected: u64,
        slot: &DaySlot,
        limits: DailyLimits,
    ) -> Option<u64>;

    replies::create_reply(reply: &Reply) -> bool;
    replies::get_reply(org: &OrgId, id: &str) -> Option<Versioned<Reply>>;
    replies::update_reply(reply: &Reply, expected: u64) -> u64;
    replies::list_replies(org: &OrgId, filter: &ReplyFilter, page: &PageRequest) -> Page<Reply>;
    replies::replies_of_candidate(org: &OrgId, candidate: &CandidateId) -> Vec<String>;
    replies::lift_suppression(org: &OrgId, key: &str, reason: &str) -> bool;
}
