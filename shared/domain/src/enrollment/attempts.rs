//! The hand-off of a step: an attempt is claimed with a lease, recorded sent (or
//! sent unconfirmed when the answer was lost), or released when it provably never reached
//! the mail service. Attempt n+1 exists only once attempt n ended with no successor.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AttemptState, Enrollment, EnrollmentError, EnrollmentStatus, Resend};
use crate::email::EmailAddress;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first send of the step; each re-send creates the next.
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
    /// The mailer's answer was lost after dispatch: counted as sent, never re-sent.
    #[serde(default)]
    pub unconfirmed: bool,
    #[serde(default)]
    pub reason: Option<String>,
    /// When the mail service's outcome (delivered, hard-bounced) arrived:
    /// the time the statistics count it at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
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

impl Enrollment {
    /// Claims the next attempt of `step` for hand-off. The step must be
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
            settled_at: None,
        });
        if self.resend.as_ref().is_some_and(|r| r.step == step) {
            self.resend = None;
        }
        // The claim keeps the due instant it was claimed at (issue 19): a
        // claim writes nothing to the due index. The sweeper finds a claim
        // whose handler died there and reads its lease; only a due
        // instant later than the lease moves to the lease.
        self.next_due_at = Some(self.next_due_at.map_or(lease_until, |d| d.min(lease_until)));
        Ok(number)
    }

    pub(super) fn claimed_mut(
        &mut self,
        step: u32,
        attempt: u32,
    ) -> Result<&mut Attempt, EnrollmentError> {
        self.step_mut(step)
            .and_then(|s| s.attempts.iter_mut().find(|a| a.number == attempt))
            .filter(|a| a.state == AttemptState::Claimed)
            .ok_or(EnrollmentError::NotClaimed { step, attempt })
    }

    pub(super) fn attempt_mut(&mut self, step: u32, attempt: u32) -> Option<&mut Attempt> {
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
    /// `unconfirmed` marks a hand-off whose answer was lost.
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

    pub(super) fn has_live_claim(&self) -> bool {
        self.steps
            .iter()
            .flat_map(|s| &s.attempts)
            .any(|a| a.state == AttemptState::Claimed)
    }

    /// The end of the lease of the attempt in flight, if any: when the sweeper
    /// finalises it should its handler have died.
    pub fn live_claim_lease(&self) -> Option<DateTime<Utc>> {
        self.steps
            .iter()
            .flat_map(|s| &s.attempts)
            .filter(|a| a.state == AttemptState::Claimed)
            .filter_map(|a| a.lease_until)
            .min()
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
}
