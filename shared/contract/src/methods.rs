//! Every method of the `Store` port, for the wrappers of the suite that
//! forward them to an inner store ([`LostAnswers`](crate::LostAnswers),
//! [`StaleIndexes`](crate::StaleIndexes)): one list, so that a new method
//! reaches both. Each is tagged with what it does: `read`, `write`, `index`
//! (a read that DynamoDB answers from an eventually consistent index) or
//! `enroll` (the write that creates an enrollment).

/// Calls the macro `$make` with every method of the port.
macro_rules! store_methods {
    ($make:ident) => {
        $make! {
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
            enroll insert_enrollment(enrollment: &Enrollment) -> ();
            write update_enrollment(enrollment: &Enrollment, expected: u64, activity: Activity) -> u64;
            index list_enrollments(org: &OrgId, campaign: &CampaignId, page: &PageRequest)
                -> Page<Enrollment>;
            read list_enrollments_consistent(org: &OrgId, campaign: &CampaignId, page: &PageRequest)
                -> Page<Enrollment>;
            read campaign_tally(org: &OrgId, campaign: &CampaignId) -> outreach_app::tally::Tally;
            read stats_counters(org: &OrgId, from: &str, to: &str)
                -> Vec<(CampaignId, outreach_app::tally::Tally)>;
            index list_due(before: DateTime<Utc>, limit: u32) -> Vec<(OrgId, EnrollmentId)>;
            index list_due_in(shard: u32, before: DateTime<Utc>, limit: u32)
                -> Vec<(OrgId, EnrollmentId)>;
            index list_completion_checks(shard: u32, limit: u32) -> Vec<CompletionCheck>;
            write clear_completion_check(check: &CompletionCheck, version: u64) -> bool;
            index enrollment_of_candidate(org: &OrgId, campaign: &CampaignId, candidate: &CandidateId)
                -> Option<EnrollmentId>;
            index enrollments_of_candidate_in_org(org: &OrgId, candidate: &CandidateId)
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
            write update_enrollment_taking_slot(
                enrollment: &Enrollment,
                expected: u64,
                slot: &DaySlot,
                limits: DailyLimits,
            ) -> Option<u64>;
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
                counters: &[String],
            ) -> u64;
            write append_event(event: &EnrollmentEvent) -> ();
            read list_events(org: &OrgId, enrollment: &EnrollmentId, limit: u32) -> Vec<EnrollmentEvent>;
            write create_reply(reply: &Reply) -> bool;
            read get_reply(org: &OrgId, id: &str) -> Option<Versioned<Reply>>;
            write update_reply(reply: &Reply, expected: u64) -> u64;
            read list_replies(org: &OrgId, filter: &ReplyFilter, page: &PageRequest) -> Page<Reply>;
            read replies_of_candidate(org: &OrgId, candidate: &CandidateId) -> Vec<String>;
            write lift_suppression(org: &OrgId, key: &str, reason: &str) -> bool;
        }
    };
}
