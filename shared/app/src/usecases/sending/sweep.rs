//! The sweeper: finalises claims whose lease expired and catches
//! enrollments whose wake-up went missing, so no enrollment is left without one.
//!
//! It never sends itself where there is a send queue (§15): a rescued step
//! goes on that queue, so it passes the same bound on concurrency and rate as
//! every scheduled step. Only without one (local mode) does it run the step in
//! its own call.

use chrono::{DateTime, Duration, Utc};
use outreach_domain::campaign::{Campaign, CampaignStatus};
use outreach_domain::enrollment::{Enrollment, EnrollmentStatus};
use outreach_domain::ids::{EnrollmentId, OrgId};

use super::Sending;
use crate::error::Error;
use crate::ports::{Activity, SendHandoff, Versioned, WakeUp};
use crate::retry::{Attempt, retry_versioned};

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub expired_claims: usize,
    /// Enrollments whose wake-up went missing and were given one.
    pub rescued: usize,
    /// Of those, the ones put on the send queue (AWS) rather than run in the
    /// sweep (local mode).
    pub requeued: usize,
    pub cleared: usize,
    /// Overdue steps left to the send queue's backlog (their wake-ups most
    /// likely wait there).
    pub waiting_on_queue: usize,
    /// Campaigns whose completion was checked because an enrollment of
    /// theirs ended (R-5.2, issue 19), their checks cleared.
    pub completion_checks: usize,
}

impl SweepReport {
    fn add(&mut self, other: SweepReport) {
        self.expired_claims += other.expired_claims;
        self.rescued += other.rescued;
        self.requeued += other.requeued;
        self.cleared += other.cleared;
        self.waiting_on_queue += other.waiting_on_queue;
        self.completion_checks += other.completion_checks;
    }
}

/// Enrollments one pass reads from one shard of the due index.
const SWEEP_BATCH: u32 = 200;
/// Passes of one sweep, shared out among the shards: the bound on its work
/// (at most this many batches, however far behind the service is).
pub const SWEEP_PASSES: u32 = 64;
/// Shards of the due index swept at once (issue 19): a sweep of 32 shards
/// is 4 rounds of 8, not 32 in a row.
pub const SWEEP_CONCURRENCY: usize = 8;

impl Sending<'_> {
    /// Looks at every enrollment due more than `margin` ago: each shard of the
    /// due index on its own, [`SWEEP_CONCURRENCY`] at a time, each a bounded
    /// number of passes (issue 19).
    pub async fn sweep(&self, margin: Duration) -> Result<SweepReport, Error> {
        use futures_util::{StreamExt, stream};
        let before = self.now() - margin;
        let shards = self.store.due_shards().max(1);
        let passes = SWEEP_PASSES.div_ceil(shards);
        let swept: Vec<Result<SweepReport, Error>> = stream::iter(0..shards)
            .map(|shard| self.sweep_shard(shard, before, passes))
            .buffer_unordered(SWEEP_CONCURRENCY)
            .collect()
            .await;
        let mut report = SweepReport::default();
        for shard in swept {
            report.add(shard?);
        }
        Ok(report)
    }

    /// Up to `passes` batches of one shard of the due index.
    async fn sweep_shard(
        &self,
        shard: u32,
        before: DateTime<Utc>,
        passes: u32,
    ) -> Result<SweepReport, Error> {
        let mut report = SweepReport::default();
        // Each pass moves or clears `next_due_at` of what it handles; a bounded
        // number of passes keeps one sweep from running forever.
        for _ in 0..passes {
            let due = self.store.list_due_in(shard, before, SWEEP_BATCH).await?;
            let full = due.len() as u32 == SWEEP_BATCH;
            let mut progressed = false;
            for (org, id) in due {
                progressed |= self.sweep_one(&org, &id, before, &mut report).await?;
            }
            if !full || !progressed {
                break;
            }
        }
        self.check_completions(shard, &mut report).await?;
        Ok(report)
    }

    /// The campaigns of the shard an enrollment of which ended since the last
    /// sweep (issue 19): each is completed if nothing in it is active any more
    /// then its check is cleared, unless another enrollment of the
    /// same part ended meanwhile (its handler may have died: the check stays).
    /// Ended enrollments themselves are never in the due index.
    async fn check_completions(&self, shard: u32, report: &mut SweepReport) -> Result<(), Error> {
        let done =
            |c: &Versioned<Campaign>| !c.value.is_running() || c.value.active_enrollments > 0;
        for check in self
            .store
            .list_completion_checks(shard, SWEEP_BATCH)
            .await?
        {
            let (org, id) = (&check.org, &check.campaign);
            let mut found = self.store.get_campaign(org, id).await?;
            if found.as_ref().is_some_and(|c| !done(c)) {
                self.campaigns().complete_if_done(org, id).await?;
                found = self.store.get_campaign(org, id).await?;
            }
            let Some(campaign) = found.filter(|c| done(c)) else {
                continue;
            };
            if self
                .store
                .clear_completion_check(&check, campaign.version)
                .await?
            {
                report.completion_checks += 1;
            }
        }
        Ok(())
    }

    async fn sweep_one(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
        before: DateTime<Utc>,
        report: &mut SweepReport,
    ) -> Result<bool, Error> {
        let swept = retry_versioned(
            || async move {
                let Some(Versioned { value: e, version }) =
                    self.store.get_enrollment(org, id).await?
                else {
                    return Ok(Attempt::Done(Swept::Nothing));
                };
                if e.next_due_at.is_none_or(|d| d > before) {
                    return Ok(Attempt::Done(Swept::Nothing));
                }
                let now = self.now();
                let expired = e.expired_claims(now);
                if !expired.is_empty() {
                    return self.finalise_expired(e, version, &expired, now).await;
                }
                if e.live_claim_lease().is_some() {
                    // A claim keeps its due instant (issue 19): its handler
                    // is still within the lease; the sweeper looks again.
                    return Ok(Attempt::Done(Swept::Nothing));
                }
                self.clear_or_rescue(e, version).await
            },
            || Ok(Swept::Nothing),
        )
        .await?;
        match swept {
            Swept::Nothing => return Ok(false),
            Swept::Finalised(n) => report.expired_claims += n,
            Swept::Cleared => report.cleared += 1,
            Swept::Rescued => report.rescued += 1,
            Swept::Requeued => {
                report.rescued += 1;
                report.requeued += 1;
            }
            Swept::Waiting => report.waiting_on_queue += 1,
        }
        Ok(true)
    }

    /// Claims whose lease expired: the mailer may have accepted, so each is
    /// counted as sent, never re-sent; what follows is planned from it.
    async fn finalise_expired(
        &self,
        mut e: Enrollment,
        version: u64,
        expired: &[(u32, u32)],
        now: DateTime<Utc>,
    ) -> Result<Attempt<Swept>, Error> {
        let was_active = !e.is_ended();
        let was_open = e.is_open();
        let mut last_sent: Option<(DateTime<Utc>, bool)> = None;
        for &(step, attempt) in expired {
            let claimed_at = e
                .step(step)
                .and_then(|s| s.attempts.iter().find(|a| a.number == attempt))
                .map(|a| a.claimed_at)
                .unwrap_or(now);
            if e.record_sent(step, attempt, claimed_at, None, true).is_ok() {
                // A re-send's time counts before a first send's.
                let resent = attempt != 1;
                if last_sent.is_none_or(|(_, r)| resent || !r) {
                    last_sent = Some((claimed_at, resent));
                }
            }
        }
        if let Some((at, resent)) = last_sent
            && let Some(campaign) = self
                .campaigns()
                .campaign_by_id(&e.org_id, &e.campaign_id)
                .await?
        {
            self.campaigns()
                .plan_after_send(&campaign, &mut e, resent, at)
                .await?;
        }
        let ended_now = was_active && e.is_ended();
        let settled = e.settle(was_open, now);
        let activity = Activity::ended_if(ended_now);
        if self
            .store_enrollment(&e, version, activity)
            .await?
            .is_lost()
        {
            return Ok(Attempt::Lost);
        }
        for (step, _) in expired {
            self.enrollments()
                .record_event(
                    &e,
                    "sent",
                    Some(*step),
                    Some("unconfirmed: the claim's lease expired (R-8.1)".into()),
                )
                .await;
        }
        self.follow_up(&e, settled).await?;
        Ok(Attempt::Done(Swept::Finalised(expired.len())))
    }

    /// An enrollment due with no claim to finalise: its wake-up went missing,
    /// so it runs now; or nothing can be due, and its due time is cleared.
    async fn clear_or_rescue(
        &self,
        mut e: Enrollment,
        version: u64,
    ) -> Result<Attempt<Swept>, Error> {
        let org = &e.org_id;
        let campaign = self.campaigns().campaign_by_id(org, &e.campaign_id).await?;
        if e.is_ended()
            && !e.has_sendable_step()
            && let Some(c) = &campaign
        {
            // Its handler may have died before checking the campaign's completion.
            self.campaigns().complete_if_done(org, &c.id).await?;
        }
        // A finished enrollment's re-send still goes out of a completed campaign.
        let sending = campaign.is_some_and(|c| {
            c.is_running()
                || (c.status == CampaignStatus::Completed && e.status == EnrollmentStatus::Finished)
        });
        if !sending || !e.has_sendable_step() {
            // Nothing can be due while the campaign or enrollment waits; resume
            // re-plans. A claim in flight is still finalised when its lease ends.
            e.next_due_at = e.live_claim_lease();
            let written = self.store_enrollment(&e, version, Activity::Unchanged);
            return Ok(written.await?.map(|_| Swept::Cleared));
        }
        // A planned step whose wake-up went missing: it goes out now, through
        // the send queue where there is one (§15).
        let now = self.now();
        if self.likely_on_the_queue(&e, now).await? {
            e.next_due_at = Some(now + self.config.requeue_hold);
            let written = self.store_enrollment(&e, version, Activity::Unchanged);
            return Ok(written.await?.map(|_| Swept::Waiting));
        }
        let wake_up = WakeUp::send_step(&e, now);
        match self.queue.enqueue_send(&wake_up).await? {
            SendHandoff::Inline => {
                self.run_inline(&wake_up.job).await?;
                Ok(Attempt::Done(Swept::Rescued))
            }
            SendHandoff::Queued => {
                // The queued message is its wake-up now: the sweeper looks
                // again only if it has not run within the hold, so a slow
                // queue is not filled with copies every sweep.
                e.next_due_at = Some(now + self.config.requeue_hold);
                let written = self.store_enrollment(&e, version, Activity::Unchanged);
                Ok(written.await?.map(|_| Swept::Requeued))
            }
        }
    }
}

/// How long past its time a step may wait behind a send-queue backlog
/// before the sweeper copies it onto the queue anyway (issue 18): a wake-up
/// the queue lost is then rescued within this bound, and a backlog never
/// gets a copy of each of its steps every sweep.
pub const MAX_BACKLOG_WAIT: Duration = Duration::hours(6);

impl Sending<'_> {
    /// Whether the step due in `e` most likely waits on the send queue: the
    /// queue holds a backlog and the step is not yet [`MAX_BACKLOG_WAIT`] late.
    async fn likely_on_the_queue(&self, e: &Enrollment, now: DateTime<Utc>) -> Result<bool, Error> {
        // Late by the step's own planned time (the hold moves `next_due_at`).
        let planned = e.next_planned_at().or(e.next_due_at);
        let late = planned.is_some_and(|at| now - at > MAX_BACKLOG_WAIT);
        if late {
            return Ok(false);
        }
        let backlog = self.queue.send_backlog().await?;
        Ok(backlog.is_some_and(|n| n > 0))
    }
}

/// What a sweep did to one enrollment.
enum Swept {
    Nothing,
    /// This many expired claims were counted as sent.
    Finalised(usize),
    /// Nothing could be due: its due time was cleared.
    Cleared,
    /// Its wake-up went missing: it ran.
    Rescued,
    /// Its wake-up went missing: it is on the send queue.
    Requeued,
    /// Overdue while the send queue holds a backlog: it waits (its wake-up is
    /// most likely there) and is looked at again after the hold.
    Waiting,
}
