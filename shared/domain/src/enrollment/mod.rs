//! Enrollments: one candidate in one campaign, its steps and their attempts
//! (R-5.3, R-8.1, R-10).
//!
//! Every change is a method of [`Enrollment`] (in the files below) so that the
//! application layer only loads an enrollment, calls one transition and writes it back
//! with a version check.
//!
//! # Where each part lives
//! | File | What it holds | Rules |
//! |------|---------------|-------|
//! | `mod.rs` | [`Enrollment`], its creation and what it may send now | R-5.3, R-8.2 |
//! | `status.rs` | [`EnrollmentStatus`], [`AttemptState`], [`StepStatus`] and their labels | R-5.3, R-8.1 |
//! | `lifecycle.rs` | pause, resume, block, unblock, end and a user's retry | R-5.3, R-9.2, R-10.1 |
//! | `schedule.rs` | the plan of the steps, holds, reserved slots and when the enrollment is next due | R-5.2, R-6, R-6.7, R-6.9, R-9.7, R-10.1 |
//! | `attempts.rs` | the hand-off of a step: claim, record, release, expired claims | R-8.1 |
//! | `returns.rs` | what comes back about an attempt: delivery, bounces, refusals | R-9.1, R-9.2, R-9.4, R-2.3 |

mod attempts;
mod lifecycle;
mod returns;
mod schedule;
mod status;

use crate::email::EmailAddress;
use crate::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use attempts::{Attempt, EnrollmentStep};
pub use returns::Resend;
pub use schedule::{ReservedSlot, StepHold};
pub use status::{AttemptState, EnrollmentStatus, StepStatus};

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
    /// The Message-IDs (without brackets, oldest first) a single message that
    /// answers a reply threads under (R-12.2): its `References`, the last its
    /// `In-Reply-To`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<String>,
    /// How the person opted out when the enrollment ended `unsubscribed`
    /// (R-9.5): what the statistics count it as, and when (R-11.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out: Option<OptOut>,
    /// The id of the first reply (not an automatic one) to this enrollment:
    /// the one the statistics count (R-11.3); set once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_reply: Option<String>,
    /// When a complaint about this enrollment's own message first arrived
    /// (R-9.5), whatever the enrollment's state: the statistics count it
    /// (R-11.3); set once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complained_at: Option<DateTime<Utc>>,
    /// What the plan knew of the next hand-off (issue 20): the address it
    /// goes to and the sender account it leaves from. Its wake-up carries
    /// them, so that the send reads everything it needs in one batch; only
    /// a hint, checked against what that batch finds (R-7, R-8.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned: Option<PlannedSend>,
}

/// The address and sender account the next hand-off of an enrollment was
/// planned with (issue 20): the last hand-off's, or the choice when it was
/// added (R-7 with nothing excluded yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSend {
    pub to: EmailAddress,
    pub account: AccountId,
    /// The sender account's owner, in the enrollment's organization: the
    /// send reads the owner's time zone, whose days the daily limits count
    /// (R-6.7), in the same batch. Absent in plans made before it was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
}

/// How and when a person's opt-out ended an enrollment (R-9.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    pub at: DateTime<Utc>,
    /// A complaint about this enrollment's own message, not the unsubscribe
    /// link, an `opt_out` reply or another campaign's complaint.
    #[serde(default)]
    pub complaint: bool,
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
            thread: Vec::new(),
            opt_out: None,
            first_reply: None,
            complained_at: None,
            planned: None,
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

    pub(super) fn step_mut(&mut self, index: u32) -> Option<&mut EnrollmentStep> {
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

    /// Whether the due step (the next one or a re-send) may be handed off as far
    /// as this enrollment goes (R-5.3, R-8.2).
    pub fn has_sendable_step(&self) -> bool {
        self.due_step().is_some_and(|s| self.may_send_step(s))
    }

    /// Whether anything may still be sent for this enrollment: it is active, or
    /// a finished one with a re-send pending or in flight (R-5.3).
    pub fn is_open(&self) -> bool {
        !self.is_ended() || self.has_sendable_step() || self.has_live_claim()
    }

    /// Whether what comes back about sent steps still changes this enrollment:
    /// active ones and `finished` ones do (R-5.3).
    pub fn accepts_returns(&self) -> bool {
        !self.is_ended() || self.status == EnrollmentStatus::Finished
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
    fn a_claim_keeps_the_due_instant_and_its_lease_stays_in_the_item() {
        // R-8.1, issue 19: claiming writes no due-index key; the lease is
        // the attempt's, and the entry at the planned instant finds it.
        let mut e = enrollment(2);
        e.apply_plan(t(9, 0), &[t(9, 20), t(9, 30)]);
        assert_eq!(e.next_due_at, Some(t(9, 20)));
        e.claim(1, addr(), t(9, 21), t(9, 26)).unwrap();
        assert_eq!(e.next_due_at, Some(t(9, 20)));
        assert_eq!(e.live_claim_lease(), Some(t(9, 26)));
        assert_eq!(
            e.next_planned_at(),
            None,
            "the claimed step is not due again"
        );
        // A due instant after the lease moves to the lease.
        let mut late = enrollment(1);
        late.apply_plan(t(9, 0), &[t(9, 20)]);
        late.next_due_at = Some(t(9, 40));
        late.claim(1, addr(), t(9, 21), t(9, 26)).unwrap();
        assert_eq!(late.next_due_at, Some(t(9, 26)));
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
    fn an_ended_enrollment_leaves_the_due_index() {
        // R-5.2, issue 19: the write that ends an enrollment removes its due
        // entry (its campaign's completion check is the store's); a claim in
        // flight stays due at its lease (R-8.1).
        let mut e = enrollment(1);
        e.apply_plan(t(9, 0), &[t(9, 20)]);
        let was_open = e.is_open();
        e.end(EnrollmentStatus::Removed, t(9, 5)).unwrap();
        assert_eq!(e.next_due_at, None);
        assert!(e.settle(was_open, t(9, 5)));
        assert_eq!(e.next_due_at, None);
        assert!(!e.has_sendable_step());
        let mut active = enrollment(1);
        assert!(!active.settle(true, t(9, 5)), "only an ended enrollment");
        assert_eq!(active.next_due_at, None);
        // Ended while a claim is in flight: due at the lease, for the sweeper.
        let mut claimed = enrollment(1);
        claimed.apply_plan(t(9, 0), &[t(9, 20)]);
        claimed.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        let was_open = claimed.is_open();
        claimed.end(EnrollmentStatus::Replied, t(9, 21)).unwrap();
        assert!(claimed.settle(was_open, t(9, 21)));
        assert_eq!(claimed.next_due_at, Some(t(9, 25)));
        // A finished enrollment's re-send, once sent, settles it too.
        let mut f = enrollment(1);
        f.apply_plan(t(9, 0), &[t(9, 20)]);
        f.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        f.record_sent(1, 1, t(9, 20), None, false).unwrap();
        assert_eq!(f.next_due_at, None, "finished: nothing due");
        f.bounce_attempt(1, 1, "550", t(9, 22), t(9, 22));
        assert!(f.is_open());
        f.claim(1, addr(), t(9, 22), t(9, 27)).unwrap();
        let was_open = f.is_open();
        assert!(was_open, "a re-send in flight");
        f.record_sent(1, 2, t(9, 22), None, false).unwrap();
        assert!(f.settle(was_open, t(9, 22)));
        assert_eq!(f.next_due_at, None);
        // What comes back later about an attempt leaves it out of the index.
        let mut r = f.clone();
        r.end(EnrollmentStatus::Replied, t(9, 23)).unwrap();
        assert!(r.bounce_attempt(1, 2, "550", t(9, 30), t(9, 30)));
        assert_eq!(r.next_due_at, None);
        let mut r = f.clone();
        r.end(EnrollmentStatus::Replied, t(9, 23)).unwrap();
        assert!(r.fail_for_sender(1, 2, "550 5.7.1", t(9, 30)));
        assert_eq!(r.next_due_at, None);
    }

    #[test]
    fn a_reason_from_outside_is_kept_bounded() {
        // Issue 19 item 4 (R-9.2, R-9.4, R-2.3): a bounce's diagnostic of
        // 90 KB was kept whole on each attempt, so a few bounces pushed the
        // enrollment over the item limit; each reason keeps 1,000 characters.
        let long = format!("smtp; 550 5.1.1 {}", "D".repeat(90_000));
        let bounded = |e: &Enrollment, attempt: u32| {
            let reason = e.attempt(1, attempt).and_then(|a| a.reason.clone());
            reason.map(|r| r.chars().count())
        };
        let mut e = enrollment(1);
        e.apply_plan(t(9, 0), &[t(9, 20)]);
        e.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        e.record_sent(1, 1, t(9, 20), None, false).unwrap();
        assert!(e.bounce_attempt(1, 1, &long, t(9, 22), t(9, 22)));
        assert_eq!(bounded(&e, 1), Some(crate::text::MAX_REASON_CHARS));
        assert!(
            e.attempt(1, 1)
                .unwrap()
                .reason
                .as_ref()
                .unwrap()
                .starts_with("smtp; 550")
        );
        e.claim(1, addr(), t(9, 22), t(9, 27)).unwrap();
        e.record_sent(1, 2, t(9, 22), None, false).unwrap();
        assert_eq!(
            e.soft_bounce_attempt(1, 2, &long, t(9, 30), t(9, 30), t(9, 30)),
            (true, false)
        );
        assert_eq!(bounded(&e, 2), Some(crate::text::MAX_REASON_CHARS));
        let mut f = enrollment(1);
        f.apply_plan(t(9, 0), &[t(9, 20)]);
        f.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        assert!(f.fail_for_sender(1, 1, &long, t(9, 30)));
        assert_eq!(bounded(&f, 1), Some(crate::text::MAX_REASON_CHARS));
        let mut b = enrollment(1);
        b.block(long.clone());
        let kept = b.blocked_reason.unwrap().chars().count();
        assert_eq!(kept, crate::text::MAX_REASON_CHARS);
    }

    #[test]
    fn an_overdue_resend_goes_after_a_grace_period_from_the_resume() {
        // R-10.1, R-9.2: a finished enrollment's re-send survives a pause.
        let mut e = enrollment(1);
        e.apply_plan(t(9, 0), &[t(9, 20)]);
        e.claim(1, addr(), t(9, 20), t(9, 25)).unwrap();
        e.record_sent(1, 1, t(9, 20), None, false).unwrap();
        assert!(e.bounce_attempt(1, 1, "550", t(9, 22), t(9, 22)));
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
