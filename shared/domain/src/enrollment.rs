//! Enrollments: one candidate in one campaign, its steps and their attempts
//! (R-5.3, R-8.1, R-10).
//!
//! Every change is a method here so that the application layer only loads an
//! enrollment, calls one transition and writes it back with a version check.

use crate::email::EmailAddress;
use crate::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentStatus {
    NotStarted,
    InProgress,
    Paused,
    Blocked,
    Replied,
    Bounced,
    Unsubscribed,
    Finished,
    Removed,
}

impl EnrollmentStatus {
    /// The label users see (R-5.3).
    pub fn label(self) -> &'static str {
        match self {
            Self::NotStarted => "Not Started",
            Self::InProgress => "In Progress",
            Self::Paused => "Paused",
            Self::Blocked => "Needs attention",
            Self::Replied => "Replied (Ended)",
            Self::Bounced => "Bounced (Ended)",
            Self::Unsubscribed => "Unsubscribed (Ended)",
            Self::Finished => "Finished",
            Self::Removed => "Removed",
        }
    }

    pub fn is_ended(self) -> bool {
        matches!(
            self,
            Self::Replied | Self::Bounced | Self::Unsubscribed | Self::Finished | Self::Removed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::InProgress => "in_progress",
            Self::Paused => "paused",
            Self::Blocked => "blocked",
            Self::Replied => "replied",
            Self::Bounced => "bounced",
            Self::Unsubscribed => "unsubscribed",
            Self::Finished => "finished",
            Self::Removed => "removed",
        }
    }
}

/// Where one attempt stands (R-5.3, R-8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptState {
    /// Claimed for hand-off; the mailer may or may not have been called yet.
    Claimed,
    Sent,
    Delivered,
    Bounced,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first send of the step; each re-send creates the next (R-8.1).
    pub number: u32,
    pub address: EmailAddress,
    pub state: AttemptState,
    pub claimed_at: DateTime<Utc>,
    #[serde(default)]
    pub lease_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub rfc822_message_id: Option<String>,
    /// The mailer's answer was lost after dispatch: counted as sent, never re-sent (R-8.1).
    #[serde(default)]
    pub unconfirmed: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a user sees of a step (R-5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Scheduled,
    Sent,
    Delivered,
    Bounced,
    Cancelled,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentStep {
    /// 1-based.
    pub index: u32,
    #[serde(default)]
    pub planned_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

impl EnrollmentStep {
    pub fn latest(&self) -> Option<&Attempt> {
        self.attempts.last()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollmentError {
    #[error("the enrollment has ended ({0})")]
    Ended(&'static str),
    #[error("the enrollment is {0}; this needs {1}")]
    WrongState(&'static str, &'static str),
    #[error("step {0} is not the enrollment's next step")]
    NotNextStep(u32),
    #[error("step {0} already has a live attempt")]
    AlreadyClaimed(u32),
    #[error("attempt {attempt} of step {step} is not claimed")]
    NotClaimed { step: u32, attempt: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub id: EnrollmentId,
    pub org_id: OrgId,
    pub campaign_id: CampaignId,
    pub candidate_id: CandidateId,
    pub status: EnrollmentStatus,
    /// The status to return to when a paused enrollment resumes.
    #[serde(default)]
    pub paused_from: Option<EnrollmentStatus>,
    #[serde(default)]
    pub blocked_reason: Option<String>,
    /// R-5.5 overrides.
    #[serde(default)]
    pub override_address: Option<EmailAddress>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    /// The project pin when the candidate joined (R-3.4).
    #[serde(default)]
    pub pinned_address: Option<EmailAddress>,
    /// The address of the latest hand-off.
    #[serde(default)]
    pub address: Option<EmailAddress>,
    /// S of the current plan (R-6): start, add or resume moment.
    #[serde(default)]
    pub plan_start: Option<DateTime<Utc>>,
    /// Bumped by every re-plan; wake-ups of older versions do nothing (R-10.3).
    #[serde(default)]
    pub plan_version: u32,
    /// 1-based index of the next step to hand off; `steps.len() + 1` when all are.
    pub next_step: u32,
    /// When the service must next look at this enrollment: the next step's
    /// planned instant, or the end of a claim's lease. `None` when nothing is due.
    #[serde(default)]
    pub next_due_at: Option<DateTime<Utc>>,
    /// Per-enrollment secrets for the Reply-To and unsubscribe URLs (R-8.3).
    pub reply_token: String,
    pub unsubscribe_token: String,
    pub steps: Vec<EnrollmentStep>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
}

pub struct NewEnrollment {
    pub id: EnrollmentId,
    pub org_id: OrgId,
    pub campaign_id: CampaignId,
    pub candidate_id: CandidateId,
    pub step_count: usize,
    pub pinned_address: Option<EmailAddress>,
    pub reply_token: String,
    pub unsubscribe_token: String,
    pub now: DateTime<Utc>,
}

impl Enrollment {
    pub fn new(n: NewEnrollment) -> Self {
        Enrollment {
            id: n.id,
            org_id: n.org_id,
            campaign_id: n.campaign_id,
            candidate_id: n.candidate_id,
            status: EnrollmentStatus::NotStarted,
            paused_from: None,
            blocked_reason: None,
            override_address: None,
            custom_fields: BTreeMap::new(),
            pinned_address: n.pinned_address,
            address: None,
            plan_start: None,
            plan_version: 0,
            next_step: 1,
            next_due_at: None,
            reply_token: n.reply_token,
            unsubscribe_token: n.unsubscribe_token,
            steps: (1..=n.step_count as u32)
                .map(|index| EnrollmentStep {
                    index,
                    planned_at: None,
                    attempts: Vec::new(),
                })
                .collect(),
            created_at: n.now,
            ended_at: None,
        }
    }

    pub fn is_ended(&self) -> bool {
        self.status.is_ended()
    }

    /// Whether a step may be handed off now, as far as this enrollment goes (R-8.2).
    pub fn may_send(&self) -> bool {
        matches!(
            self.status,
            EnrollmentStatus::NotStarted | EnrollmentStatus::InProgress
        )
    }

    pub fn step(&self, index: u32) -> Option<&EnrollmentStep> {
        self.steps.get(index.checked_sub(1)? as usize)
    }

    fn step_mut(&mut self, index: u32) -> Option<&mut EnrollmentStep> {
        self.steps.get_mut(index.checked_sub(1)? as usize)
    }

    /// The next step not yet handed off, if any.
    pub fn next(&self) -> Option<&EnrollmentStep> {
        self.step(self.next_step)
    }

    /// Index (0-based) of the step the next plan starts from.
    pub fn next_step_offset(&self) -> usize {
        (self.next_step as usize).saturating_sub(1)
    }

    /// Installs a new plan for the steps from `next_step` on: `instants[0]` is the
    /// next step's instant. Bumps the plan version (R-6, R-10.1).
    pub fn apply_plan(&mut self, start: DateTime<Utc>, instants: &[DateTime<Utc>]) {
        let from = self.next_step_offset();
        for (step, at) in self.steps.iter_mut().skip(from).zip(instants) {
            step.planned_at = Some(*at);
        }
        self.plan_start = Some(start);
        self.plan_version += 1;
        self.next_due_at = self.next().and_then(|s| s.planned_at);
    }

    /// The instant of the next step, if it is planned and still waiting.
    pub fn next_planned_at(&self) -> Option<DateTime<Utc>> {
        let step = self.next()?;
        if step
            .attempts
            .iter()
            .any(|a| a.state == AttemptState::Claimed)
        {
            return None;
        }
        step.planned_at
    }

    /// Claims the next attempt of `step` for hand-off (R-8.1). Only one live
    /// attempt may exist per step: a second claim fails.
    pub fn claim(
        &mut self,
        step: u32,
        address: EmailAddress,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<u32, EnrollmentError> {
        if self.is_ended() {
            return Err(EnrollmentError::Ended(self.status.as_str()));
        }
        if !self.may_send() {
            return Err(EnrollmentError::WrongState(
                self.status.as_str(),
                "a sendable enrollment",
            ));
        }
        if step != self.next_step {
            return Err(EnrollmentError::NotNextStep(step));
        }
        let s = self
            .step_mut(step)
            .ok_or(EnrollmentError::NotNextStep(step))?;
        if s.attempts.iter().any(|a| {
            matches!(
                a.state,
                AttemptState::Claimed | AttemptState::Sent | AttemptState::Delivered
            )
        }) {
            return Err(EnrollmentError::AlreadyClaimed(step));
        }
        let number = s.attempts.len() as u32 + 1;
        s.attempts.push(Attempt {
            number,
            address,
            state: AttemptState::Claimed,
            claimed_at: now,
            lease_until: Some(lease_until),
            sent_at: None,
            message_id: None,
            rfc822_message_id: None,
            unconfirmed: false,
            reason: None,
        });
        self.next_due_at = Some(lease_until);
        Ok(number)
    }

    fn claimed_mut(&mut self, step: u32, attempt: u32) -> Result<&mut Attempt, EnrollmentError> {
        self.step_mut(step)
            .and_then(|s| s.attempts.iter_mut().find(|a| a.number == attempt))
            .filter(|a| a.state == AttemptState::Claimed)
            .ok_or(EnrollmentError::NotClaimed { step, attempt })
    }

    /// Records the hand-off of a claimed attempt and moves to the next step.
    /// `unconfirmed` marks a hand-off whose answer was lost (R-8.1).
    pub fn record_sent(
        &mut self,
        step: u32,
        attempt: u32,
        sent_at: DateTime<Utc>,
        ids: Option<(String, String)>,
        unconfirmed: bool,
    ) -> Result<(), EnrollmentError> {
        let a = self.claimed_mut(step, attempt)?;
        a.state = AttemptState::Sent;
        a.lease_until = None;
        a.sent_at = Some(sent_at);
        if let Some((message_id, rfc822)) = ids {
            a.message_id = Some(message_id);
            a.rfc822_message_id = Some(rfc822);
        }
        a.unconfirmed = unconfirmed;
        let address = a.address.clone();
        self.address = Some(address);
        if self.status == EnrollmentStatus::NotStarted {
            self.status = EnrollmentStatus::InProgress;
        }
        if step == self.next_step {
            self.next_step += 1;
        }
        if self.next().is_none() {
            self.status = EnrollmentStatus::Finished;
            self.ended_at = Some(sent_at);
        }
        self.next_due_at = self.next_planned_at();
        Ok(())
    }

    /// Gives back a claim that provably never reached the mail service
    /// (throttling, a sender fault before acceptance): the attempt disappears
    /// and the step waits for `retry_at`.
    pub fn release_claim(
        &mut self,
        step: u32,
        attempt: u32,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), EnrollmentError> {
        self.claimed_mut(step, attempt)?;
        let s = self.step_mut(step).expect("claimed step exists");
        s.attempts.retain(|a| a.number != attempt);
        if let Some(at) = retry_at {
            s.planned_at = Some(at);
            // A new wake-up, not a collision with the one that just fired.
            self.plan_version += 1;
        }
        self.next_due_at = self.next_planned_at();
        Ok(())
    }

    /// The mail service refused the recipient of a claimed attempt outright: a
    /// hard bounce (R-8.4, R-9.2). The attempt ends `bounced` and the same step is
    /// planned again at `resend_at`, where the next claim creates attempt n+1 for
    /// the next address R-7 allows.
    pub fn record_refused(
        &mut self,
        step: u32,
        attempt: u32,
        now: DateTime<Utc>,
        reason: &str,
        resend_at: DateTime<Utc>,
    ) -> Result<(), EnrollmentError> {
        let a = self.claimed_mut(step, attempt)?;
        a.state = AttemptState::Bounced;
        a.lease_until = None;
        a.sent_at = Some(now);
        a.reason = Some(reason.to_owned());
        let s = self.step_mut(step).expect("claimed step exists");
        s.planned_at = Some(resend_at);
        self.plan_version += 1;
        self.next_due_at = self.next_planned_at();
        Ok(())
    }

    /// Claims whose lease ended without a recorded outcome: the attempt may have
    /// been accepted, so it counts as sent (`unconfirmed`) and is never re-sent.
    pub fn expired_claims(&self, now: DateTime<Utc>) -> Vec<(u32, u32)> {
        self.steps
            .iter()
            .flat_map(|s| s.attempts.iter().map(move |a| (s.index, a)))
            .filter(|(_, a)| {
                a.state == AttemptState::Claimed && a.lease_until.is_some_and(|l| l <= now)
            })
            .map(|(step, a)| (step, a.number))
            .collect()
    }

    /// R-10.1: pausing one enrollment stops every send not yet handed off.
    pub fn pause(&mut self) -> Result<(), EnrollmentError> {
        match self.status {
            EnrollmentStatus::NotStarted
            | EnrollmentStatus::InProgress
            | EnrollmentStatus::Blocked => {
                self.paused_from = Some(self.status);
                self.status = EnrollmentStatus::Paused;
                self.next_due_at = None;
                Ok(())
            }
            s if s.is_ended() => Err(EnrollmentError::Ended(s.as_str())),
            s => Err(EnrollmentError::WrongState(
                s.as_str(),
                "an active enrollment",
            )),
        }
    }

    /// Back from a pause; the caller re-plans (R-10.1).
    pub fn resume(&mut self) -> Result<(), EnrollmentError> {
        match self.status {
            EnrollmentStatus::Paused => {
                self.status = self
                    .paused_from
                    .take()
                    .unwrap_or(EnrollmentStatus::NotStarted);
                Ok(())
            }
            s if s.is_ended() => Err(EnrollmentError::Ended(s.as_str())),
            s => Err(EnrollmentError::WrongState(
                s.as_str(),
                "a paused enrollment",
            )),
        }
    }

    /// R-4.3 / R-7.3: the enrollment needs a user's attention.
    pub fn block(&mut self, reason: impl Into<String>) {
        if !self.is_ended() {
            self.status = EnrollmentStatus::Blocked;
            self.blocked_reason = Some(reason.into());
            self.next_due_at = None;
        }
    }

    /// Ends the enrollment with `status`. A `finished` enrollment still takes
    /// what comes back about its sent steps (R-5.3); any other ended one keeps its
    /// end. Returns whether the enrollment went from active to ended.
    pub fn end(
        &mut self,
        status: EnrollmentStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, EnrollmentError> {
        debug_assert!(status.is_ended());
        let was_active = !self.is_ended();
        let allowed = was_active
            || (self.status == EnrollmentStatus::Finished
                && matches!(
                    status,
                    EnrollmentStatus::Replied
                        | EnrollmentStatus::Bounced
                        | EnrollmentStatus::Unsubscribed
                ));
        if !allowed {
            return Err(EnrollmentError::Ended(self.status.as_str()));
        }
        self.status = status;
        self.paused_from = None;
        self.next_due_at = None;
        if was_active {
            self.ended_at = Some(now);
        }
        Ok(was_active)
    }

    /// What a user sees of step `index` (R-5.3). `campaign_final` is true when the
    /// campaign is stopped, so nothing unsent will ever go.
    pub fn step_status(&self, index: u32, now: DateTime<Utc>, campaign_final: bool) -> StepStatus {
        let Some(step) = self.step(index) else {
            return StepStatus::Cancelled;
        };
        if let Some(a) = step.latest() {
            return match a.state {
                AttemptState::Claimed => StepStatus::Scheduled,
                AttemptState::Sent => StepStatus::Sent,
                AttemptState::Delivered => StepStatus::Delivered,
                AttemptState::Bounced => StepStatus::Bounced,
                AttemptState::Failed => StepStatus::Failed,
            };
        }
        if self.is_ended() || campaign_final {
            return StepStatus::Cancelled;
        }
        let in_grace = self
            .plan_start
            .is_none_or(|s| now < crate::plan::grace_end(s));
        if in_grace || step.planned_at.is_none() {
            StepStatus::Pending
        } else {
            StepStatus::Scheduled
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap()
    }

    fn enrollment(steps: usize) -> Enrollment {
        Enrollment::new(NewEnrollment {
            id: "enr_1".into(),
            org_id: "org_1".into(),
            campaign_id: "cmp_1".into(),
            candidate_id: "cand_1".into(),
            step_count: steps,
            pinned_address: None,
            reply_token: "r".into(),
            unsubscribe_token: "u".into(),
            now: t(9, 0),
        })
    }

    fn addr() -> EmailAddress {
        EmailAddress::parse("c@x.com").unwrap()
    }

    #[test]
    fn labels_match_the_spec_table() {
        // R-5.3
        assert_eq!(EnrollmentStatus::Blocked.label(), "Needs attention");
        assert_eq!(EnrollmentStatus::Bounced.label(), "Bounced (Ended)");
        assert!(EnrollmentStatus::Finished.is_ended());
        assert!(!EnrollmentStatus::Paused.is_ended());
    }

    #[test]
    fn pending_during_grace_then_scheduled() {
        // R-5.3, R-6.1
        let mut e = enrollment(2);
        e.apply_plan(t(9, 0), &[t(9, 20), t(9, 30)]);
        assert_eq!(e.step_status(1, t(9, 10), false), StepStatus::Pending);
        assert_eq!(e.step_status(1, t(9, 20), false), StepStatus::Scheduled);
        assert_eq!(e.status, EnrollmentStatus::NotStarted);
    }

    #[test]
    fn a_step_is_claimed_once() {
        // R-8.1
        let mut e = enrollment(2);
        e.apply_plan(t(9, 0), &[t(9, 20), t(9, 30)]);
        assert_eq!(e.claim(1, addr(), t(9, 20), t(9, 25)), Ok(1));
        assert_eq!(
            e.claim(1, addr(), t(9, 20), t(9, 25)),
            Err(EnrollmentError::AlreadyClaimed(1))
        );
        e.record_sent(1, 1, t(9, 20), Some(("m".into(), "<m@x>".into())), false)
            .unwrap();
        assert_eq!(e.status, EnrollmentStatus::InProgress);
        assert_eq!(
            e.claim(1, addr(), t(9, 21), t(9, 26)),
            Err(EnrollmentError::NotNextStep(1))
        );
        assert_eq!(e.next_due_at, Some(t(9, 30)));
        e.claim(2, addr(), t(9, 30), t(9, 35)).unwrap();
        e.record_sent(2, 1, t(9, 30), None, true).unwrap();
        assert_eq!(e.status, EnrollmentStatus::Finished);
        assert_eq!(e.next_due_at, None);
    }

    #[test]
    fn an_expired_claim_is_found_and_released_claims_free_the_step() {
        // R-8.1
        let mut e = enrollment(1);
        e.apply_plan(t(9, 0), &[t(9, 20)]);
        e.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        assert!(e.expired_claims(t(9, 24)).is_empty());
        assert_eq!(e.expired_claims(t(9, 25)), vec![(1, 1)]);
        e.release_claim(1, 1, Some(t(9, 40))).unwrap();
        assert_eq!(e.next_due_at, Some(t(9, 40)));
        assert_eq!(e.claim(1, addr(), t(9, 40), t(9, 45)), Ok(1));
    }

    #[test]
    fn finished_still_takes_replies_but_other_ends_are_final() {
        // R-5.3
        let mut e = enrollment(1);
        e.apply_plan(t(9, 0), &[t(9, 20)]);
        e.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        e.record_sent(1, 1, t(9, 20), None, false).unwrap();
        assert_eq!(e.end(EnrollmentStatus::Replied, t(10, 0)), Ok(false));
        assert_eq!(e.status, EnrollmentStatus::Replied);
        assert!(e.end(EnrollmentStatus::Bounced, t(10, 1)).is_err());
    }

    #[test]
    fn pause_and_resume_restore_the_status() {
        // R-5.3, R-10.1
        let mut e = enrollment(1);
        e.pause().unwrap();
        assert_eq!(e.status, EnrollmentStatus::Paused);
        assert!(!e.may_send());
        e.resume().unwrap();
        assert_eq!(e.status, EnrollmentStatus::NotStarted);
        e.end(EnrollmentStatus::Removed, t(9, 0)).unwrap();
        assert!(e.pause().is_err());
    }
}
