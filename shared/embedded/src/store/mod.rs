//! The `Store` port on SQLite.
//!
//! Records are JSON documents in one `docs` table keyed by (kind, id), with the
//! few columns the access patterns need: `org` (every read checks it), `parent`
//! (lists: a campaign's enrollments, a project's campaigns), `lookup` (an
//! account by owner and address, an enrollment by candidate), `due_at` (the
//! sweeper), `counter` (a campaign's active enrollments, never overwritten by a
//! document write) and `version` (every conditional write).
//!
//! Where each part of the port lives:
//! - [`docs`]: reading, writing and listing documents of any kind;
//! - [`credits`]: organizations, credits and the ledger;
//! - [`catalog`]: users, sender accounts, candidates, projects, templates;
//! - [`campaigns`]: campaigns, enrollments and due enrollments;
//! - [`recording`]: enrollment events and handed-off messages;
//! - [`inbound`]: tokens, addresses, suppression, seen markers, notifications;
//! - [`records`]: keyed records and counters;
//! - [`daily`]: the daily limits' counts;
//! - [`replies`]: replies and the suppressions their class caused.

mod batch;
mod campaigns;
mod catalog;
mod credits;
mod daily;
mod docs;
mod inbound;
mod recording;
mod records;
mod replies;
mod tally;

use chrono::{DateTime, Utc};
use outreach_app::model::{
    EmailAccount, EnrollmentEvent, LedgerEntry, MessageRef, Notification, Project, Template,
    UserProfile,
};
use outreach_app::ports::{
    Activity, CompletionCheck, DailyLimits, DayCount, DaySlot, Page, PageRequest, RevealOutcome,
    Store, StoreError, Versioned,
};
use outreach_app::reply::{Reply, ReplyFilter};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};

use crate::db::Db;

pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    pub fn new(db: Db) -> Self {
        SqliteStore { db }
    }
}

/// Implements the port by forwarding each method to the function of the same
/// name in the file of its group (`group::method(store, args…)`), so that this
/// list is the map of where each method lives. `get_batch` reads every
/// lookup under one hold of the connection ([`batch`]).
macro_rules! forward_store {
    ($($group:ident::$name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        #[async_trait::async_trait]
        impl Store for SqliteStore {
            async fn get_batch(
                &self,
                lookups: &[outreach_app::ports::Lookup],
            ) -> Result<Vec<Option<outreach_app::ports::Found>>, StoreError> {
                batch::get_batch(self, lookups).await
            }

            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                    $group::$name(self, $($arg),*).await
                }
            )*
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
    catalog::put_candidate(c: &Candidate, expected: Option<u64>) -> u64;
    catalog::list_candidates(org: &OrgId, page: &PageRequest) -> Page<Candidate>;
    catalog::get_project(org: &OrgId, id: &str) -> Option<Project>;
    catalog::put_project(p: &Project) -> ();
    catalog::list_projects(org: &OrgId, page: &PageRequest) -> Page<Project>;
    catalog::get_template(org: &OrgId, id: &str) -> Option<Template>;
    catalog::put_template(t: &Template) -> ();
    catalog::delete_template(org: &OrgId, id: &str) -> ();
    catalog::list_templates(org: &OrgId, page: &PageRequest) -> Page<Template>;

    campaigns::get_campaign(org: &OrgId, id: &CampaignId) -> Option<Versioned<Campaign>>;
    campaigns::put_campaign(c: &Campaign, expected: Option<u64>) -> u64;
    campaigns::list_campaigns(org: &OrgId, project: &str, page: &PageRequest) -> Page<Campaign>;
    campaigns::campaigns_using(account: &AccountId) -> Vec<(OrgId, CampaignId)>;
    campaigns::get_enrollment(org: &OrgId, id: &EnrollmentId) -> Option<Versioned<Enrollment>>;
    campaigns::insert_enrollment(e: &Enrollment) -> ();
    campaigns::update_enrollment(e: &Enrollment, expected: u64, activity: Activity) -> u64;
    tally::campaign_tally(org: &OrgId, campaign: &CampaignId) -> outreach_app::tally::Tally;
    tally::stats_counters(
        org: &OrgId,
        from: &str,
        to: &str,
    ) -> Vec<(CampaignId, outreach_app::tally::Tally)>;
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
    campaigns::list_completion_checks(shard: u32, limit: u32) -> Vec<CompletionCheck>;
    campaigns::clear_completion_check(check: &CompletionCheck, version: u64) -> bool;
    campaigns::list_due(before: DateTime<Utc>, limit: u32) -> Vec<(OrgId, EnrollmentId)>;

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
    recording::index_message(m: &MessageRef) -> ();
    recording::find_message(id: &str) -> Option<MessageRef>;
    recording::messages_to(address: &EmailAddress, limit: u32) -> Vec<MessageRef>;

    inbound::find_token(token: &str) -> Option<(OrgId, EnrollmentId)>;
    inbound::candidates_with_address(org: &OrgId, address: &EmailAddress) -> Vec<CandidateId>;
    inbound::suppress(org: &OrgId, key: &str, reason: &str, now: DateTime<Utc>) -> bool;
    inbound::is_suppressed(org: &OrgId, key: &str) -> bool;
    inbound::first_time(key: &str, expires_at: DateTime<Utc>) -> bool;
    inbound::put_notification(n: &Notification) -> ();
    inbound::list_notifications(org: &OrgId, project: &str) -> Vec<Notification>;

    records::get_record(key: &str) -> Option<Versioned<serde_json::Value>>;
    records::put_record(key: &str, value: &serde_json::Value, expected: Option<u64>) -> u64;
    records::increment_counter(key: &str) -> u64;
    records::increment_counters(keys: &[String]) -> Vec<u64>;
    records::read_counter(key: &str) -> u64;

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
