//! The sweeper: finalises claims whose lease expired and catches
//! enrollments whose wake-up went missing, so no enrollment is left without one.

use chrono::Duration;
use outreach_domain::campaign::CampaignStatus;
use outreach_domain::enrollment::EnrollmentStatus;
use outreach_domain::ids::{EnrollmentId, OrgId};

use crate::error::Error;
use crate::ports::{Activity, Job, StoreError, Versioned, WakeUp};
use crate::retry::CAS_ATTEMPTS;
use crate::service::Service;

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub expired_claims: usize,
    pub rescued: usize,
    pub cleared: usize,
}

const SWEEP_BATCH: u32 = 200;

impl Service {
    /// Looks at every enrollment due more than `margin` ago.
    pub async fn sweep(&self, margin: Duration) -> Result<SweepReport, Error> {
        let mut report = SweepReport::default();
        let before = self.now() - margin;
        // Each pass moves or clears `next_due_at` of what it handles; a bounded
        // number of passes keeps one sweep from running forever.
        for _ in 0..50 {
            let due = self.store.list_due(before, SWEEP_BATCH).await?;
            let full = due.len() as u32 == SWEEP_BATCH;
            let mut progressed = false;
            for (org, id) in due {
                progressed |= self.sweep_one(&org, &id, before, &mut report).await?;
            }
            if !full || !progressed {
                break;
            }
        }
        Ok(report)
    }

    async fn sweep_one(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
        before: chrono::DateTime<chrono::Utc>,
        report: &mut SweepReport,
    ) -> Result<bool, Error> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(Versioned {
                value: mut e,
                version,
            }) = self.store.get_enrollment(org, id).await?
            else {
                return Ok(false);
            };
            if e.next_due_at.is_none_or(|d| d > before) {
                return Ok(false);
            }
            let now = self.now();
            let expired = e.expired_claims(now);
            if !expired.is_empty() {
                // The mailer may have accepted: counted as sent, never re-sent.
                let was_active = !e.is_ended();
                let was_open = e.is_open();
                let (mut resent_at, mut sent_at) = (None, None);
                for (step, attempt) in &expired {
                    let claimed_at = e
                        .step(*step)
                        .and_then(|s| s.attempts.iter().find(|a| a.number == *attempt))
                        .map(|a| a.claimed_at)
                        .unwrap_or(now);
                    if e.record_sent(*step, *attempt, claimed_at, None, true)
                        .is_ok()
                    {
                        match attempt {
                            1 => sent_at = Some(claimed_at),
                            _ => resent_at = Some(claimed_at),
                        }
                    }
                }
                if let Some(at) = resent_at
                    && let Some(campaign) = self.campaign_by_id(org, &e.campaign_id).await?
                {
                    // the steps not yet sent follow the re-send.
                    self.follow_resend(&campaign, &mut e, at).await?;
                } else if let Some(at) = sent_at
                    && let Some(campaign) = self.campaign_by_id(org, &e.campaign_id).await?
                {
                    // a step that left late re-spaces the rest.
                    self.space_after_send(&campaign, &mut e, at).await?;
                }
                let ended_now = was_active && e.is_ended();
                let settled = e.settle(was_open, now);
                match self
                    .store
                    .update_enrollment(&e, version, Activity::ended_if(ended_now))
                    .await
                {
                    Ok(_) => {}
                    Err(StoreError::Conflict) => continue,
                    Err(err) => return Err(err.into()),
                }
                report.expired_claims += expired.len();
                for (step, _) in &expired {
                    self.record_event(
                        &e,
                        "sent",
                        Some(*step),
                        Some("unconfirmed: the claim's lease expired (R-8.1)".into()),
                    )
                    .await;
                }
                if e.has_sendable_step()
                    && let Some(at) = e.next_due_at
                {
                    self.scheduler.schedule(&WakeUp::send_step(&e, at)).await?;
                }
                if settled {
                    self.complete_if_done(org, &e.campaign_id).await?;
                }
                return Ok(true);
            }
            let campaign = self.campaign_by_id(org, &e.campaign_id).await?;
            if e.is_ended()
                && !e.has_sendable_step()
                && let Some(c) = &campaign
            {
                // Its handler may have died before checking the campaign's completion.
                self.complete_if_done(org, &c.id).await?;
            }
            // A finished enrollment's re-send still goes out of a completed campaign.
            let sending = campaign.is_some_and(|c| {
                c.is_running()
                    || (c.status == CampaignStatus::Completed
                        && e.status == EnrollmentStatus::Finished)
            });
            if !sending || !e.has_sendable_step() {
                // Nothing can be due while the campaign or enrollment waits; resume
                // re-plans. A claim in flight is still finalised when its lease ends.
                e.next_due_at = e.live_claim_lease();
                match self
                    .store
                    .update_enrollment(&e, version, Activity::Unchanged)
                    .await
                {
                    Ok(_) => {}
                    Err(StoreError::Conflict) => continue,
                    Err(err) => return Err(err.into()),
                }
                report.cleared += 1;
                return Ok(true);
            }
            // A planned step whose wake-up went missing: run it now.
            report.rescued += 1;
            self.run_job(&Job::SendStep {
                org_id: org.clone(),
                campaign_id: e.campaign_id.clone(),
                enrollment_id: e.id.clone(),
                step: e.due_step().unwrap_or(e.next_step),
                plan_version: e.plan_version,
                candidate_id: Some(e.candidate_id.clone()),
            })
            .await?;
            return Ok(true);
        }
        Ok(false)
    }
}
