//! Checks of the `Store` port. Each takes a fresh, empty store.
//!
//! The checks are grouped by what they hold the store to:
//! - [`races`]: conditional writes under concurrent handlers;
//! - [`credits`]: reveals, refunds and grants, each once;
//! - [`lookups`]: every way a record is found again (tokens, ids, addresses,
//!   candidates, senders, owners, due times);
//! - [`lists`]: pagination, isolation of organizations, the catalog,
//!   notifications and events;
//! - [`inbound`]: de-duplication and suppression markers;
//! - [`recording`]: batched reads, atomic recording writes and counters
//!   (issue 8);
//! - [`parity`]: where the two stores once answered differently (issue 19);
//! - [`daily`]: the daily limits' slots under concurrent sends.
//! - [`limits`]: the item limit both stores enforce alike (issue 19).
//! - [`membership`]: a campaign's enrollments read consistently (issue 19).
//! - [`tallies`]: the Outreach view's counts kept as events happen (issue 19).
//! - [`replies`]: reply records and the suppressions their class caused
//!   (R-9.9, R-11.2; issue 21).
//! - [`completion`]: ended enrollments leave the due index for a campaign's
//!   completion check (issue 19).
//! - [`claim_slot`]: a claim takes its day's slot in the same write, and a
//!   batched read finds a user's profile (issue 20).
//!
//! [`every_store_check!`](crate::every_store_check) names them all, so that the
//! test file of each store runs every one.

mod claim_slot;
mod completion;
mod credits;
mod daily;
mod inbound;
mod limits;
mod lists;
mod lookups;
mod membership;
mod parity;
mod races;
mod recording;
mod replies;
mod stats;
mod tallies;

use std::future::Future;
use std::sync::Arc;

use outreach_app::ports::{Page, PageRequest, Store, StoreError, Versioned};
use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{CampaignId, EnrollmentId, OrgId};
use tokio::task::JoinSet;

use crate::fixtures::{self, at};

pub use claim_slot::*;
pub use completion::*;
pub use credits::*;
pub use daily::*;
pub use inbound::*;
pub use limits::*;
pub use lists::*;
pub use lookups::*;
pub use membership::*;
pub use parity::*;
pub use races::*;
pub use recording::*;
pub use replies::*;
pub use stats::*;
pub use tallies::*;

/// Calls the macro `$make` with the name of every store check, so that a test
/// file makes one test of each (`every_store_check!(store_checks)`) and a new
/// check runs against both stores without being listed twice.
#[macro_export]
macro_rules! every_store_check {
    ($make:ident) => {
        $make!(
            claim_is_won_once,
            expired_claim_is_swept_once,
            next_attempt_is_created_once,
            refund_is_given_once,
            grants_add_credits,
            reveals_spend_each_credit_once,
            first_time_is_seen_once,
            stale_writes_conflict,
            campaign_counter_survives_campaign_writes,
            tokens_find_their_enrollment,
            messages_are_found_by_either_id,
            candidates_are_found_by_address,
            enrollments_are_found_by_candidate,
            campaigns_are_found_by_sender,
            accounts_are_found,
            due_enrollments_come_earliest_first,
            due_shards_hold_each_due_enrollment_once,
            candidates_paginate,
            enrollments_and_campaigns_paginate,
            ledger_paginates,
            organizations_are_isolated,
            suppression_is_recorded_once,
            notifications_are_listed_newest_first,
            events_are_kept_in_order,
            users_round_trip,
            projects_round_trip,
            templates_round_trip,
            batched_reads_answer_each_lookup,
            recording_writes_land_together,
            counters_count_each_increment_once,
            one_account_per_owner_and_address,
            a_message_id_keeps_its_first_attempt,
            a_grant_before_the_organization_is_its_balance,
            unpaged_lists_are_whole,
            concurrent_sends_take_exactly_the_daily_limit,
            a_campaigns_limit_counts_within_its_accounts,
            a_released_slot_is_free_again,
            a_record_over_the_item_limit_is_refused,
            enrollments_are_listed_consistently,
            a_lagging_index_hides_nothing_from_the_consistent_list,
            outreach_counts_agree_with_a_recount,
            a_reply_is_created_once,
            replies_are_listed_newest_first_by_filter,
            a_reply_suppression_lifts_only_while_its_own,
            a_candidates_replies_are_found_and_blanked,
            an_ended_enrollment_leaves_the_due_index_for_a_completion_check,
            statistics_agree_with_a_recount_by_quarter_hour,
            a_claim_takes_its_day_slot_in_one_write,
            concurrent_claims_take_one_slot,
            batched_reads_find_a_users_profile,
        );
    };
}

/// How many handlers race for the same attempt.
pub const CLAIMERS: usize = 20;

/// Runs `n` copies of a task at once and returns their answers.
async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for i in 0..n {
        tasks.spawn(task(i));
    }
    let mut answers = Vec::with_capacity(n);
    while let Some(answer) = tasks.join_next().await {
        answers.push(answer.expect("a racing task panicked"));
    }
    answers
}

fn page(limit: u32, after: Option<String>) -> PageRequest {
    PageRequest { limit, after }
}

async fn enrollment(store: &Arc<dyn Store>, org: &str, id: &str) -> Versioned<Enrollment> {
    store
        .get_enrollment(&OrgId::from(org), &EnrollmentId::from(id))
        .await
        .expect("the store answers")
        .expect("the enrollment exists")
}

async fn campaign(store: &Arc<dyn Store>, org: &OrgId, id: &str) -> Versioned<Campaign> {
    store
        .get_campaign(org, &CampaignId::from(id))
        .await
        .expect("the store answers")
        .expect("the campaign exists")
}

/// A running campaign with one enrollment due at 10:00.
async fn one_enrollment(store: &Arc<dyn Store>, org: &str) -> Enrollment {
    store
        .put_campaign(&fixtures::campaign(org, "cmp-1", "prj-1", "acc-1"), None)
        .await
        .expect("campaign created");
    let e = fixtures::enrollment(org, "enr-1", "cmp-1", "cand-1", at(10, 0));
    store
        .insert_enrollment(&e)
        .await
        .expect("enrollment created");
    e
}

/// Reads a list to its end, asking `fetch` for one page after another: the
/// size of each page and every item, in order.
async fn read_all<T, F, Fut>(limit: u32, fetch: F) -> (Vec<usize>, Vec<T>)
where
    F: Fn(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    let (mut sizes, mut items) = (Vec::new(), Vec::new());
    let mut after = None;
    loop {
        let p = fetch(page(limit, after)).await.expect("page");
        sizes.push(p.items.len());
        items.extend(p.items);
        match p.next {
            Some(n) => after = Some(n),
            None => return (sizes, items),
        }
    }
}
