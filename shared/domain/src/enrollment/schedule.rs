//! When an enrollment's steps go: the plan installed for the steps not yet handed off
//! the holds and reserved daily slots an edit keeps,
//! the spacing from the previous send, and the instant the enrollment is next due.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Enrollment, EnrollmentError, EnrollmentStep};

/// What the service decided about a step since its plan was made: it
/// leaves no earlier than `not_before` — an out-of-office hold or a
/// daily-limit move — whatever an edit of the campaign re-plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepHold {
    pub step: u32,
    pub not_before: DateTime<Utc>,
}

/// A slot of a day under the daily limits taken for a step when it was
/// moved to that day, so that it goes before every message first planned for
/// the day. `day` is a date in the sender account owner's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedSlot {
    pub step: u32,
    pub day: NaiveDate,
}

impl Enrollment {
    /// The instant before which the next step may not leave: its hold.
    pub fn next_step_hold(&self) -> Option<DateTime<Utc>> {
        self.hold
            .filter(|h| h.step == self.next_step)
            .map(|h| h.not_before)
    }

    /// When the step before the next one last left (its latest attempt handed
    /// off), the instant the steps after it are spaced from.
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
    /// next step's instant. Bumps the plan version.
    pub fn apply_plan(&mut self, start: DateTime<Utc>, instants: &[DateTime<Utc>]) {
        let from = self.next_step_offset();
        for (step, at) in self.steps.iter_mut().skip(from).zip(instants) {
            step.planned_at = Some(*at);
        }
        self.plan_start = Some(start);
        self.plan_version += 1;
        // A claim in flight keeps its lease as the wake-up: the sweeper must
        // still finalise it if its handler died.
        self.next_due_at = self.live_claim_lease().or_else(|| self.next_planned_at());
    }

    /// a pending re-send whose time passed (while its campaign was
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

    /// Whether a change of an enrollment that `was_open` closed it for good (it
    /// ended, or a finished one's re-send is done); its campaign's completion
    /// is then checked. Nothing is due for it any more (issue 19): the
    /// write leaves the due index, but for a claim in flight, which stays due
    /// at its lease. Should the handler die before the completion
    /// check, the store's completion check (written with the end) has it done.
    pub fn settle(&mut self, was_open: bool, _now: DateTime<Utc>) -> bool {
        // A claim still in flight does not keep the campaign from completing.
        let settled = was_open && self.is_ended() && !self.has_sendable_step();
        if settled {
            self.next_due_at = self.live_claim_lease();
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

    /// `next_planned_at`, when anything more can be sent at all.
    pub(super) fn due_if_sendable(&self) -> Option<DateTime<Utc>> {
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

    /// `due_if_sendable` after something came back about an attempt (an
    /// ended enrollment keeps no due entry for its campaign's completion,
    /// issue 19: the store's completion check is that).
    pub(super) fn due_after_a_return(&self) -> Option<DateTime<Utc>> {
        self.due_if_sendable()
    }

    /// Gives the enrollment `count` steps after an edit of its campaign:
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
}
