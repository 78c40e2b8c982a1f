//! An enrollment's own status changes: pause and resume, block and unblock when a
//! user must act, a user's retry of a bounced enrollment, and
//! its end (R-5.3: a `finished` one still takes what comes back about its sent steps).

use chrono::{DateTime, Utc};

use super::{Enrollment, EnrollmentError, EnrollmentStatus, Resend};
use crate::email::EmailAddress;

impl Enrollment {
    /// A user's retry of a bounced enrollment with another address: it
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

    /// pausing one enrollment stops every send not yet handed off.
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

    /// Back from a pause; the caller re-plans.
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

    /// the enrollment needs a user's attention.
    pub fn block(&mut self, reason: impl Into<String>) {
        if !self.is_ended() {
            self.status = EnrollmentStatus::Blocked;
            self.blocked_reason = Some(crate::text::reason(&reason.into()));
            self.next_due_at = self.live_claim_lease();
        }
    }

    /// Ends the enrollment with `status`. A `finished` enrollment still takes
    /// what comes back about its sent steps; any other ended one keeps its
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
        // Nothing more is due (issue 19: no due entry for what ended), but a
        // claim in flight, which the sweeper finalises at its lease.
        self.next_due_at = self.live_claim_lease();
        self.status = status;
        self.paused_from = None;
        self.resend = None;
        if was_active {
            self.ended_at = Some(now);
        }
        Ok(was_active)
    }
}
