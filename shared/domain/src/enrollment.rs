//! Enrollments: one candidate in one campaign, its steps and their attempts
//! (R-5.3, R-8.1, R-10).
//!
//! Every change is a method here so that the application layer only loads an
//! enrollment, calls one transition and writes it back with a version check.

use crate::email::EmailAddress;
use crate::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptState {
    /// Claimed for hand-off; the mailer may or may not have been called yet.
    Claimed,
    Sent,
    Delivered,
    Bounced,
    /// A transient bounce: retried once 24 hours later (R-9.4).
    SoftBounced,
    Failed,
}

impl AttemptState {
    /// Whether the attempt ended without reaching the recipient, so that the
    /// step may get a next attempt (R-8.1).
    pub fn ended_unsent(self) -> bool {
        matches!(
            self,
            AttemptState::Bounced | AttemptState::SoftBounced | AttemptState::Failed
        )
    }
}

/// A step to hand off again, and when: the re-send after a hard bounce (R-9.2),
/// the retry after a soft bounce (R-9.4), a user's retry, or a deferred send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resend {
    pub step: u32,
    pub at: DateTime<Utc>,
    /// The address to use again (soft-bounce retry, user retry); otherwise R-7 chooses.
    #[serde(default)]
    pub address: Option<EmailAddress>,
}

/// What the service decided about a step since its plan was made (R-5.2): it
/// leaves no earlier than `not_before` — an out-of-office hold (R-9.7) or a
/// daily-limit move (R-6.7) — whatever an edit of the campaign re-plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepHold {
    pub step: u32,
    pub not_before: DateTime<Utc>,
}

/// A slot of a day under the daily limits (R-6.7) taken for a step when it was
/// moved to that day, so that it goes before every message first planned for
/// the day. `day` is a date in the sender account owner's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedSlot {
    pub step: u32,
    pub day: NaiveDate,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// A step waiting to be handed off again; it goes before `next_step`.
    #[serde(default)]
    pub resend: Option<Resend>,
    /// The hold of the next step, if the service moved it (R-5.2, R-6.7, R-9.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<StepHold>,
    /// The daily slot reserved for the due step when it was moved (R-6.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_slot: Option<ReservedSlot>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Added with `allow_duplicate` (R-5.6): the no-double-outreach check at
    /// start and resume lets it through too.
    #[serde(default)]
    pub allow_duplicate: bool,
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
            resend: None,
            hold: None,
            reserved_slot: None,
            created_at: n.now,
            ended_at: None,
            allow_duplicate: false,
        }
    }

    pub fn is_ended(&self) -> bool {
        self.status.is_ended()
    }

    /// Whether the next step may be handed off now, as far as this enrollment goes (R-8.2).
    pub fn may_send(&self) -> bool {
        matches!(
            self.status,
            EnrollmentStatus::NotStarted | EnrollmentStatus::InProgress
        )
    }

    /// Whether `step` may be handed off: the next step of an active enrollment,
    /// or a re-send, which a `finished` enrollment still takes (R-5.3, R-9.2).
    pub fn may_send_step(&self, step: u32) -> bool {
        if self.due_step() != Some(step) {
            return false;
        }
        self.may_send() || (self.status == EnrollmentStatus::Finished && self.resend.is_some())
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

    /// The step the next wake-up is for: a pending re-send goes first.
    pub fn due_step(&self) -> Option<u32> {
        match &self.resend {
            Some(r) => Some(r.step),
            None => self.next().map(|s| s.index),
        }
    }

    /// The instant before which the next step may not leave: its hold (R-5.2).
    pub fn next_step_hold(&self) -> Option<DateTime<Utc>> {
        self.hold
            .filter(|h| h.step == self.next_step)
            .map(|h| h.not_before)
    }

    /// When the step before the next one last left (its latest attempt handed
    /// off), the instant the steps after it are spaced from (R-6.9).
    pub fn previous_send(&self) -> Option<DateTime<Utc>> {
        self.step(self.next_step.checked_sub(1)?)?
            .attempts
            .iter()
            .filter_map(|a| a.sent_at)
            .max()
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
        // A claim in flight keeps its lease as the wake-up: the sweeper must
        // still finalise it if its handler died (R-8.1).
        self.next_due_at = self.live_claim_lease().or_else(|| self.next_planned_at());
    }

    fn has_live_claim(&self) -> bool {
        self.steps
            .iter()
            .flat_map(|s| &s.attempts)
            .any(|a| a.state == AttemptState::Claimed)
    }

    /// The end of the lease of the attempt in flight, if any: when the sweeper
    /// finalises it should its handler have died (R-8.1).
    pub fn live_claim_lease(&self) -> Option<DateTime<Utc>> {
        self.steps
            .iter()
            .flat_map(|s| &s.attempts)
            .filter(|a| a.state == AttemptState::Claimed)
            .filter_map(|a| a.lease_until)
            .min()
    }

    /// Whether the due step (the next one or a re-send) may be handed off as far
    /// as this enrollment goes (R-5.3, R-8.2).
    pub fn has_sendable_step(&self) -> bool {
        self.due_step().is_some_and(|s| self.may_send_step(s))
    }

    /// R-10.1: a pending re-send whose time passed (while its campaign was
    /// paused) goes out after a grace period from `now`, under a new plan
    /// version. Returns whether it moved.
    pub fn reschedule_overdue_resend(&mut self, now: DateTime<Utc>) -> bool {
        let claimed = self.has_live_claim();
        match self.resend.as_mut() {
            Some(r) if r.at <= now => {
                r.at = crate::plan::earliest_send(now);
                let at = r.at;
                self.plan_version += 1;
                if !claimed {
                    self.next_due_at = Some(at);
                }
                true
            }
            _ => false,
        }
    }

    /// Whether anything may still be sent for this enrollment: it is active, or
    /// a finished one with a re-send pending or in flight (R-5.3).
    pub fn is_open(&self) -> bool {
        !self.is_ended() || self.has_sendable_step() || self.has_live_claim()
    }

    /// Whether a change of an enrollment that `was_open` closed it for good (it
    /// ended, or a finished one's re-send is done). Then it stays due at `now`,
    /// so that the sweeper checks its campaign's completion (R-5.2) should the
    /// handler die between this write and that check; nothing is sent for it.
    pub fn settle(&mut self, was_open: bool, now: DateTime<Utc>) -> bool {
        // A claim still in flight does not keep the campaign from completing.
        let settled = was_open && self.is_ended() && !self.has_sendable_step();
        if settled && self.next_due_at.is_none() {
            self.next_due_at = Some(now);
        }
        settled
    }

    /// When the due step should go, unless an attempt is in flight.
    pub fn next_planned_at(&self) -> Option<DateTime<Utc>> {
        if self.has_live_claim() {
            return None;
        }
        match &self.resend {
            Some(r) => Some(r.at),
            None => self.next()?.planned_at,
        }
    }

    /// Claims the next attempt of `step` for hand-off (R-8.1). The step must be
    /// the due one and its latest attempt must have ended unsent (or there is
    /// none): attempt n+1 exists only once attempt n ended with no successor.
    pub fn claim(
        &mut self,
        step: u32,
        address: EmailAddress,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<u32, EnrollmentError> {
        if self.is_ended() && !(self.status == EnrollmentStatus::Finished && self.resend.is_some())
        {
            return Err(EnrollmentError::Ended(self.status.as_str()));
        }
        if !self.may_send_step(step) {
            if self.due_step() != Some(step) {
                return Err(EnrollmentError::NotNextStep(step));
            }
            return Err(EnrollmentError::WrongState(
                self.status.as_str(),
                "a sendable enrollment",
            ));
        }
        let s = self
            .step_mut(step)
            .ok_or(EnrollmentError::NotNextStep(step))?;
        if s.latest().is_some_and(|a| !a.state.ended_unsent()) {
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
        if self.resend.as_ref().is_some_and(|r| r.step == step) {
            self.resend = None;
        }
        self.next_due_at = Some(lease_until);
        Ok(number)
    }

    fn claimed_mut(&mut self, step: u32, attempt: u32) -> Result<&mut Attempt, EnrollmentError> {
        self.step_mut(step)
            .and_then(|s| s.attempts.iter_mut().find(|a| a.number == attempt))
            .filter(|a| a.state == AttemptState::Claimed)
            .ok_or(EnrollmentError::NotClaimed { step, attempt })
    }

    fn attempt_mut(&mut self, step: u32, attempt: u32) -> Option<&mut Attempt> {
        self.step_mut(step)?
            .attempts
            .iter_mut()
            .find(|a| a.number == attempt)
    }

    pub fn attempt(&self, step: u32, attempt: u32) -> Option<&Attempt> {
        self.step(step)?
            .attempts
            .iter()
            .find(|a| a.number == attempt)
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
        if self.next().is_none() && !self.is_ended() {
            self.status = EnrollmentStatus::Finished;
            self.ended_at = Some(sent_at);
        }
        self.next_due_at = self.due_if_sendable();
        Ok(())
    }

    /// `next_planned_at`, when anything more can be sent at all.
    fn due_if_sendable(&self) -> Option<DateTime<Utc>> {
        if let Some(lease) = self.live_claim_lease() {
            return Some(lease);
        }
        let step = self.due_step()?;
        if self.may_send_step(step) {
            self.next_planned_at()
        } else {
            None
        }
    }

    /// `due_if_sendable` after something came back about an attempt: an
    /// ended enrollment keeps a pending completion check ([`Enrollment::settle`])
    /// its handler may have left for the sweeper (R-5.2).
    fn due_after_a_return(&self) -> Option<DateTime<Utc>> {
        self.due_if_sendable()
            .or_else(|| self.next_due_at.filter(|_| self.is_ended()))
    }

    /// Gives back a claim that provably never reached the mail service
    /// (throttling, a sender fault before acceptance): the attempt disappears
    /// and, with `retry_at`, the step is due again then under a new plan version.
    pub fn release_claim(
        &mut self,
        step: u32,
        attempt: u32,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), EnrollmentError> {
        let address = self.claimed_mut(step, attempt)?.address.clone();
        let s = self.step_mut(step).expect("claimed step exists");
        s.attempts.retain(|a| a.number != attempt);
        let was_resend = !s.attempts.is_empty();
        if let Some(at) = retry_at {
            if was_resend || step != self.next_step {
                self.resend = Some(Resend {
                    step,
                    at,
                    address: Some(address),
                });
            } else {
                self.step_mut(step).expect("step exists").planned_at = Some(at);
            }
            // A new wake-up, not a collision with the one that just fired.
            self.plan_version += 1;
        }
        self.next_due_at = self.due_if_sendable();
        Ok(())
    }

    /// A hard bounce of an attempt (R-9.2, R-8.4): the attempt ends `bounced`
    /// and, when it is the step's latest, the same step is due again at
    /// `resend_at` for the next address R-7 allows. Returns `false` when the
    /// attempt was already bounced (duplicate notification, R-9.8).
    pub fn bounce_attempt(
        &mut self,
        step: u32,
        attempt: u32,
        reason: &str,
        resend_at: DateTime<Utc>,
    ) -> bool {
        let Some(a) = self.attempt_mut(step, attempt) else {
            return false;
        };
        if a.state == AttemptState::Bounced {
            return false;
        }
        a.state = AttemptState::Bounced;
        a.lease_until = None;
        a.reason = Some(reason.to_owned());
        let latest = self.step(step).and_then(|s| s.latest()).map(|l| l.number) == Some(attempt);
        if latest && self.accepts_returns() {
            self.resend = Some(Resend {
                step,
                at: resend_at,
                address: None,
            });
            self.plan_version += 1;
        }
        self.next_due_at = self.due_after_a_return();
        true
    }

    /// A transient bounce (R-9.4): retried once, to the same address, at
    /// `retry_at`; a second soft bounce of the same step counts as hard (re-sent
    /// to the next address at `resend_at`). Returns whether it changed anything,
    /// and whether it was treated as hard.
    pub fn soft_bounce_attempt(
        &mut self,
        step: u32,
        attempt: u32,
        reason: &str,
        retry_at: DateTime<Utc>,
        resend_at: DateTime<Utc>,
    ) -> (bool, bool) {
        let earlier_soft = self.step(step).is_some_and(|s| {
            s.attempts
                .iter()
                .any(|a| a.number != attempt && a.state == AttemptState::SoftBounced)
        });
        if earlier_soft {
            return (self.bounce_attempt(step, attempt, reason, resend_at), true);
        }
        let accepts = self.accepts_returns();
        let Some(a) = self.attempt_mut(step, attempt) else {
            return (false, false);
        };
        if a.state.ended_unsent() {
            return (false, false);
        }
        a.state = AttemptState::SoftBounced;
        a.reason = Some(reason.to_owned());
        let address = a.address.clone();
        let latest = self.step(step).and_then(|s| s.latest()).map(|l| l.number) == Some(attempt);
        if latest && accepts {
            self.resend = Some(Resend {
                step,
                at: retry_at,
                address: Some(address),
            });
            self.plan_version += 1;
        }
        self.next_due_at = self.due_after_a_return();
        (true, false)
    }

    /// An authentication refusal of an attempt (a 5.7.x bounce, R-2.3): the
    /// sender account's fault, not the address's. The attempt ends `failed`
    /// and, when it is the step's latest, the same step is due again at `at`
    /// to the same address as the next attempt (R-8.1); the caller pauses the
    /// campaign with the account, so it goes once the account is connected
    /// again. An attempt still only claimed is recorded as sent first (the
    /// refusal proves the hand-off). Returns `false` when the attempt already
    /// ended (duplicate notification, R-9.8) or is unknown.
    pub fn fail_for_sender(
        &mut self,
        step: u32,
        attempt: u32,
        reason: &str,
        at: DateTime<Utc>,
    ) -> bool {
        let claimed_at = match self.attempt(step, attempt) {
            Some(a) if a.state == AttemptState::Claimed => Some(a.claimed_at),
            Some(a) if matches!(a.state, AttemptState::Sent | AttemptState::Delivered) => None,
            _ => return false,
        };
        if let Some(claimed_at) = claimed_at
            && self
                .record_sent(step, attempt, claimed_at.min(at), None, false)
                .is_err()
        {
            return false;
        }
        let accepts = self.accepts_returns();
        let Some(a) = self.attempt_mut(step, attempt) else {
            return false;
        };
        a.state = AttemptState::Failed;
        a.lease_until = None;
        a.reason = Some(reason.to_owned());
        let address = a.address.clone();
        let latest = self.step(step).and_then(|s| s.latest()).map(|l| l.number) == Some(attempt);
        if latest && accepts {
            self.resend = Some(Resend {
                step,
                at,
                address: Some(address),
            });
            self.plan_version += 1;
        }
        self.next_due_at = self.due_after_a_return();
        true
    }

    /// R-9.1: the mail service delivered the attempt. A delivery of an attempt
    /// still only claimed (its handler died or has not recorded the answer yet)
    /// proves the hand-off: it is recorded as sent first, so the enrollment moves
    /// on to its next step (R-8.1). Returns whether anything changed.
    pub fn mark_delivered(&mut self, step: u32, attempt: u32, now: DateTime<Utc>) -> bool {
        let claimed_at = match self.attempt(step, attempt) {
            Some(a) if a.state == AttemptState::Claimed => Some(a.claimed_at),
            Some(a) if a.state == AttemptState::Sent => None,
            _ => return false,
        };
        if let Some(claimed_at) = claimed_at
            && self
                .record_sent(step, attempt, claimed_at.min(now), None, false)
                .is_err()
        {
            return false;
        }
        match self.attempt_mut(step, attempt) {
            Some(a) => {
                a.state = AttemptState::Delivered;
                a.lease_until = None;
                true
            }
            None => false,
        }
    }

    /// Fills in the mail service's ids of an attempt that was finalised before
    /// its own handler recorded the answer (a delivery notification outran it).
    /// Returns whether anything changed.
    pub fn note_message_ids(&mut self, step: u32, attempt: u32, ids: (String, String)) -> bool {
        match self.attempt_mut(step, attempt) {
            Some(a) if a.message_id.is_none() && a.state != AttemptState::Claimed => {
                a.message_id = Some(ids.0);
                a.rfc822_message_id = Some(ids.1);
                true
            }
            _ => false,
        }
    }

    /// A user's retry of a bounced enrollment with another address (R-9.2): it
    /// resumes from the bounced step, to `address` (kept as the enrollment's
    /// override, R-5.5), at `at`. Returns whether the enrollment became active again.
    pub fn retry(
        &mut self,
        address: EmailAddress,
        at: DateTime<Utc>,
    ) -> Result<bool, EnrollmentError> {
        if self.status != EnrollmentStatus::Bounced {
            return Err(EnrollmentError::WrongState(
                self.status.as_str(),
                "a bounced enrollment",
            ));
        }
        let step = self
            .steps
            .iter()
            .filter(|s| s.latest().is_some_and(|a| a.state.ended_unsent()))
            .map(|s| s.index)
            .next()
            .unwrap_or(self.next_step.min(self.steps.len() as u32));
        self.override_address = Some(address.clone());
        self.resend = Some(Resend {
            step,
            at,
            address: Some(address),
        });
        let all_handed_off = self.next().is_none();
        self.status = if all_handed_off {
            EnrollmentStatus::Finished
        } else if self.steps.iter().any(|s| {
            s.attempts
                .iter()
                .any(|a| a.sent_at.is_some() && !a.state.ended_unsent())
        }) {
            EnrollmentStatus::InProgress
        } else {
            EnrollmentStatus::NotStarted
        };
        if !self.is_ended() {
            self.ended_at = None;
        }
        self.plan_version += 1;
        self.next_due_at = Some(at);
        Ok(!self.is_ended())
    }

    /// Back from `blocked` once the user fixed what blocked it (an override or a
    /// custom field, R-4.3, R-5.5); the caller re-plans.
    pub fn unblock(&mut self) -> bool {
        if self.status != EnrollmentStatus::Blocked {
            return false;
        }
        let sent_any = self
            .steps
            .iter()
            .any(|s| s.attempts.iter().any(|a| a.sent_at.is_some()));
        self.status = if sent_any {
            EnrollmentStatus::InProgress
        } else {
            EnrollmentStatus::NotStarted
        };
        self.blocked_reason = None;
        true
    }

    /// Gives the enrollment `count` steps after an edit of its campaign (R-5.2):
    /// steps already handed off stay; steps not yet sent are added or dropped.
    pub fn resize_steps(&mut self, count: usize) -> Result<(), EnrollmentError> {
        let handed_off = self.steps.iter().filter(|s| !s.attempts.is_empty()).count();
        if count < handed_off.max(1) {
            return Err(EnrollmentError::WrongState(
                self.status.as_str(),
                "no fewer steps than were already sent",
            ));
        }
        self.steps.truncate(count);
        while self.steps.len() < count {
            let index = self.steps.len() as u32 + 1;
            self.steps.push(EnrollmentStep {
                index,
                planned_at: None,
                attempts: Vec::new(),
            });
        }
        if self.next().is_none() && self.may_send() && self.next_step as usize > count {
            self.next_step = count as u32 + 1;
        }
        Ok(())
    }

    /// Whether what comes back about sent steps still changes this enrollment:
    /// active ones and `finished` ones do (R-5.3).
    pub fn accepts_returns(&self) -> bool {
        !self.is_ended() || self.status == EnrollmentStatus::Finished
    }

    /// Whether any attempt of this enrollment hard-bounced.
    pub fn bounced_before(&self) -> bool {
        self.steps
            .iter()
            .flat_map(|s| &s.attempts)
            .any(|a| a.state == AttemptState::Bounced)
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
                self.next_due_at = self.live_claim_lease();
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
            self.next_due_at = self.live_claim_lease();
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
        // An ended enrollment keeps a pending completion check (`settle`).
        if was_active || self.resend.is_some() {
            self.next_due_at = None;
        }
        self.status = status;
        self.paused_from = None;
        self.resend = None;
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
        if self.resend.as_ref().is_some_and(|r| r.step == index) && !campaign_final {
            return StepStatus::Scheduled;
        }
        if let Some(a) = step.latest() {
            return match a.state {
                AttemptState::Claimed => StepStatus::Scheduled,
                AttemptState::Sent => StepStatus::Sent,
                AttemptState::Delivered => StepStatus::Delivered,
                AttemptState::Bounced | AttemptState::SoftBounced => StepStatus::Bounced,
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
    fn a_replan_during_a_claim_keeps_the_lease_as_the_wake_up() {
        // R-8.1, R-10.1: re-planning a claimed enrollment must not leave it without
        // a wake-up; the sweeper finalises the claim when its lease ends.
        let mut e = enrollment(2);
        e.apply_plan(t(9, 0), &[t(9, 20), t(9, 30)]);
        e.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        e.apply_plan(t(9, 21), &[t(9, 41), t(9, 50)]);
        assert_eq!(e.next_due_at, Some(t(9, 25)));
        e.pause().unwrap();
        assert_eq!(e.next_due_at, Some(t(9, 25)));
        assert_eq!(e.expired_claims(t(9, 25)), vec![(1, 1)]);
    }

    #[test]
    fn a_delivery_of_a_claimed_attempt_records_the_send() {
        // R-9.1, R-8.1: a delivery proves the hand-off; the enrollment moves on.
        let mut e = enrollment(2);
        e.apply_plan(t(9, 0), &[t(9, 20), t(9, 30)]);
        e.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        assert!(e.mark_delivered(1, 1, t(9, 21)));
        let a = e.attempt(1, 1).unwrap();
        assert_eq!(a.state, AttemptState::Delivered);
        assert_eq!(a.sent_at, Some(t(9, 20)));
        assert_eq!(e.next_step, 2);
        assert_eq!(e.status, EnrollmentStatus::InProgress);
        assert_eq!(e.next_due_at, Some(t(9, 30)));
        assert!(
            !e.mark_delivered(1, 1, t(9, 22)),
            "a duplicate changes nothing"
        );
        // The handler that made the hand-off still records the ids.
        assert!(e.note_message_ids(1, 1, ("m".into(), "<m@x>".into())));
        assert!(!e.note_message_ids(1, 1, ("n".into(), "<n@x>".into())));
    }

    #[test]
    fn an_ended_enrollment_stays_due_for_its_completion_check() {
        // R-5.2: the sweeper checks the campaign's completion after a crash.
        let mut e = enrollment(1);
        e.apply_plan(t(9, 0), &[t(9, 20)]);
        let was_open = e.is_open();
        e.end(EnrollmentStatus::Removed, t(9, 5)).unwrap();
        assert_eq!(e.next_due_at, None);
        assert!(e.settle(was_open, t(9, 5)));
        assert_eq!(e.next_due_at, Some(t(9, 5)));
        assert!(!e.has_sendable_step());
        let mut active = enrollment(1);
        assert!(!active.settle(true, t(9, 5)), "only an ended enrollment");
        assert_eq!(active.next_due_at, None);
        // A finished enrollment's re-send, once sent, settles it too.
        let mut f = enrollment(1);
        f.apply_plan(t(9, 0), &[t(9, 20)]);
        f.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        f.record_sent(1, 1, t(9, 20), None, false).unwrap();
        f.bounce_attempt(1, 1, "550", t(9, 22));
        assert!(f.is_open());
        f.claim(1, addr(), t(9, 22), t(9, 27)).unwrap();
        let was_open = f.is_open();
        assert!(was_open, "a re-send in flight");
        f.record_sent(1, 2, t(9, 22), None, false).unwrap();
        assert!(f.settle(was_open, t(9, 22)));
        assert_eq!(f.next_due_at, Some(t(9, 22)));
        // What comes back later about an attempt keeps the check pending
        // (its handler may have died before the campaign's completion check).
        let mut r = f.clone();
        r.end(EnrollmentStatus::Replied, t(9, 23)).unwrap();
        r.next_due_at = Some(t(9, 22));
        assert!(r.bounce_attempt(1, 2, "550", t(9, 30)));
        assert_eq!(r.next_due_at, Some(t(9, 22)));
        let mut r = f.clone();
        r.end(EnrollmentStatus::Replied, t(9, 23)).unwrap();
        r.next_due_at = Some(t(9, 22));
        assert!(r.fail_for_sender(1, 2, "550 5.7.1", t(9, 30)));
        assert_eq!(r.next_due_at, Some(t(9, 22)));
    }

    #[test]
    fn an_overdue_resend_goes_after_a_grace_period_from_the_resume() {
        // R-10.1, R-9.2: a finished enrollment's re-send survives a pause.
        let mut e = enrollment(1);
        e.apply_plan(t(9, 0), &[t(9, 20)]);
        e.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        e.record_sent(1, 1, t(9, 20), None, false).unwrap();
        assert!(e.bounce_attempt(1, 1, "550", t(9, 22)));
        assert_eq!(e.status, EnrollmentStatus::Finished);
        assert!(e.has_sendable_step());
        let version = e.plan_version;
        assert!(!e.reschedule_overdue_resend(t(9, 21)), "still ahead");
        assert!(e.reschedule_overdue_resend(t(10, 0)));
        assert_eq!(e.resend.as_ref().map(|r| r.at), Some(t(10, 20)));
        assert_eq!(e.next_due_at, Some(t(10, 20)));
        assert_eq!(e.plan_version, version + 1);
    }

    #[test]
    fn an_authentication_refusal_sends_the_step_again_to_the_same_address() {
        // R-2.3, R-8.1: attempt 2 of the same step, to the same address, only
        // once attempt 1 ended; a duplicate refusal changes nothing.
        let mut e = enrollment(2);
        let n = e.claim(1, addr(), t(9, 0), t(9, 15)).unwrap();
        e.record_sent(1, n, t(9, 1), None, false).unwrap();
        assert!(e.fail_for_sender(1, 1, "550 5.7.26", t(10, 0)));
        assert!(!e.fail_for_sender(1, 1, "550 5.7.26", t(10, 0)));
        assert_eq!(e.attempt(1, 1).unwrap().state, AttemptState::Failed);
        assert_eq!(e.due_step(), Some(1));
        assert_eq!(e.resend.as_ref().unwrap().address, Some(addr()));
        assert_eq!(e.next_due_at, Some(t(10, 0)));
        assert_eq!(e.claim(1, addr(), t(10, 0), t(10, 15)), Ok(2));
    }

    #[test]
    fn an_authentication_refusal_of_a_claimed_attempt_records_it_sent_first() {
        let mut e = enrollment(2);
        e.claim(1, addr(), t(9, 0), t(9, 15)).unwrap();
        assert!(e.fail_for_sender(1, 1, "550 5.7.1", t(9, 5)));
        assert_eq!(e.attempt(1, 1).unwrap().sent_at, Some(t(9, 0)));
        assert_eq!(e.next_step, 2);
        assert_eq!(e.due_step(), Some(1));
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
