//! What comes back about a sent attempt: a delivery, a hard bounce (R-9.2: the step
//! goes again to the next address), a soft bounce (R-9.4: once more to the same address, a
//! second one counts as hard), and an authentication refusal (R-2.3: the sender's fault,
//! the step goes again to the same address). Duplicate notifications change nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AttemptState, Enrollment};
use crate::email::EmailAddress;

/// A step to hand off again, and when: the re-send after a hard bounce,
/// the retry after a soft bounce, a user's retry, or a deferred send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resend {
    pub step: u32,
    pub at: DateTime<Utc>,
    /// The address to use again (soft-bounce retry, user retry); otherwise R-7 chooses.
    #[serde(default)]
    pub address: Option<EmailAddress>,
}

impl Enrollment {
    /// A hard bounce of an attempt, reported at `at`: the
    /// attempt ends `bounced` and, when it is the step's latest, the same step
    /// is due again at `resend_at` for the next address R-7 allows. Returns
    /// `false` when the attempt was already bounced (duplicate notification,
    ///
    pub fn bounce_attempt(
        &mut self,
        step: u32,
        attempt: u32,
        reason: &str,
        at: DateTime<Utc>,
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
        a.reason = Some(crate::text::reason(reason));
        a.settled_at = Some(at);
        self.send_again_if_latest(step, attempt, resend_at, None);
        true
    }

    /// A transient bounce: retried once, to the same address, at
    /// `retry_at`; a second soft bounce of the same step counts as hard (re-sent
    /// to the next address at `resend_at`). `at` is when it was reported.
    /// Returns whether it changed anything, and whether it was treated as hard.
    pub fn soft_bounce_attempt(
        &mut self,
        step: u32,
        attempt: u32,
        reason: &str,
        at: DateTime<Utc>,
        retry_at: DateTime<Utc>,
        resend_at: DateTime<Utc>,
    ) -> (bool, bool) {
        let earlier_soft = self.step(step).is_some_and(|s| {
            s.attempts
                .iter()
                .any(|a| a.number != attempt && a.state == AttemptState::SoftBounced)
        });
        if earlier_soft {
            return (
                self.bounce_attempt(step, attempt, reason, at, resend_at),
                true,
            );
        }
        let Some(a) = self.attempt_mut(step, attempt) else {
            return (false, false);
        };
        if a.state.ended_unsent() {
            return (false, false);
        }
        a.state = AttemptState::SoftBounced;
        a.reason = Some(crate::text::reason(reason));
        let address = a.address.clone();
        self.send_again_if_latest(step, attempt, retry_at, Some(address));
        (true, false)
    }

    /// An authentication refusal of an attempt (a 5.7.x bounce, R-2.3): the
    /// sender account's fault, not the address's. The attempt ends `failed`
    /// and, when it is the step's latest, the same step is due again at `at`
    /// to the same address as the next attempt; the caller pauses the
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
        let proven = [AttemptState::Sent, AttemptState::Delivered];
        if !self.prove_hand_off(step, attempt, at, &proven) {
            return false;
        }
        let Some(a) = self.attempt_mut(step, attempt) else {
            return false;
        };
        a.state = AttemptState::Failed;
        a.lease_until = None;
        a.reason = Some(crate::text::reason(reason));
        let address = a.address.clone();
        self.send_again_if_latest(step, attempt, at, Some(address));
        true
    }

    /// the mail service delivered the attempt. A delivery of an attempt
    /// still only claimed (its handler died or has not recorded the answer yet)
    /// proves the hand-off: it is recorded as sent first, so the enrollment moves
    /// on to its next step. Returns whether anything changed.
    pub fn mark_delivered(&mut self, step: u32, attempt: u32, now: DateTime<Utc>) -> bool {
        if !self.prove_hand_off(step, attempt, now, &[AttemptState::Sent]) {
            return false;
        }
        match self.attempt_mut(step, attempt) {
            Some(a) => {
                a.state = AttemptState::Delivered;
                a.lease_until = None;
                a.settled_at = Some(now);
                true
            }
            None => false,
        }
    }

    /// What a notification about attempt `attempt` of `step` proves: an attempt
    /// still only claimed was handed off, and is recorded sent at the earlier of its claim
    /// and `at`. `false` when the attempt is unknown, neither claimed nor in one of the
    /// `proven` states (a duplicate or late notification, R-9.8), or cannot be recorded.
    fn prove_hand_off(
        &mut self,
        step: u32,
        attempt: u32,
        at: DateTime<Utc>,
        proven: &[AttemptState],
    ) -> bool {
        let claimed_at = match self.attempt(step, attempt) {
            Some(a) if a.state == AttemptState::Claimed => Some(a.claimed_at),
            Some(a) if proven.contains(&a.state) => None,
            _ => return false,
        };
        match claimed_at {
            Some(claimed_at) => self
                .record_sent(step, attempt, claimed_at.min(at), None, false)
                .is_ok(),
            None => true,
        }
    }

    /// After attempt `attempt` of `step` ended unsent: when it is the step's latest and
    /// the enrollment still takes returns, the step is due again at `at` — to
    /// `address`, or to the next address R-7 allows when `None` — as its next attempt,
    /// under a new plan version. The next wake-up follows either way.
    fn send_again_if_latest(
        &mut self,
        step: u32,
        attempt: u32,
        at: DateTime<Utc>,
        address: Option<EmailAddress>,
    ) {
        let latest = self.step(step).and_then(|s| s.latest()).map(|l| l.number) == Some(attempt);
        if latest && self.accepts_returns() {
            self.resend = Some(Resend { step, at, address });
            self.plan_version += 1;
        }
        self.next_due_at = self.due_after_a_return();
    }

    /// Whether any attempt of this enrollment hard-bounced.
    pub fn bounced_before(&self) -> bool {
        self.steps
            .iter()
            .flat_map(|s| &s.attempts)
            .any(|a| a.state == AttemptState::Bounced)
    }
}
