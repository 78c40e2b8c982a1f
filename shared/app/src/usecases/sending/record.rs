//! Record and plan next: the mail service's answer written on the claimed
//! attempt, with its event and the message's index in one write (R-8.1,
//! ); then what follows it planned and its
//! wake-up made.

use chrono::{DateTime, Utc};
use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::{AttemptState, Enrollment, ReservedSlot};

use super::JobOutcome;
use super::Sending;
use crate::error::Error;
use crate::model::{EmailAccount, EnrollmentEvent, MessageRef};
use crate::ports::{Activity, SentMail, Versioned};
use crate::retry::{Attempt, retry_versioned};
use crate::service::Config;
use crate::usecases::records::lost;

/// How the hand-off went, to be written on the claimed attempt.
pub(super) enum HandOff {
    Sent(SentMail),
    Unconfirmed,
    /// Throttled: the step is due again shortly, keeping the day's slot it
    /// held, if any.
    Deferred(Option<ReservedSlot>),
    /// The sender account's fault: a moved message keeps the slot reserved
    /// for it, for when the campaign is resumed.
    SenderFault(String, Option<ReservedSlot>),
    Refused(String),
}

/// What recording a hand-off changed on the enrollment.
struct Recorded {
    outcome: JobOutcome,
    /// The enrollment event's kind and detail.
    kind: &'static str,
    detail: Option<String>,
    /// Whether this write records the send (and so plans what follows it).
    sent_here: bool,
}

/// The seqence numbers of a message the mail service took, in its sender's
/// and its organization's reputation windows.
type Seqs = Option<(u64, u64)>;

/// How a hand-off counts in the reputation windows (R-2.5; issue 20): its
/// numbers there, from the counters as the send read them, and the counters
/// its record's write adds one to. A message the mail service took is
/// counted by that write alone, so once whatever retries it (the write is
/// conditional on the enrollment's version), and lost with it only when its
/// record is (the sweeper then records it unconfirmed, uncounted).
pub(super) struct Counted {
    pub seqs: (u64, u64),
    pub counters: Vec<String>,
}

impl Sending<'_> {
    /// Records the outcome on the claimed attempt and plans what follows. The
    /// claim's own write is the first version to record on; only a concurrent
    /// change makes this read the enrollment again.
    pub(super) async fn record_hand_off(
        &self,
        campaign: &Campaign,
        account: &EmailAccount,
        claimed: Versioned<Enrollment>,
        (step, attempt): (u32, u32),
        hand_off: HandOff,
        counted: &Counted,
    ) -> Result<JobOutcome, Error> {
        let org = &campaign.org_id;
        let enrollment_id = &claimed.value.id.clone();
        let hand_off = &hand_off;
        let mut claimed = Some(claimed);
        retry_versioned(
            || {
                let first = claimed.take();
                async move {
                    let current = match first {
                        Some(v) => Some(v),
                        None => self.store.get_enrollment(org, enrollment_id).await?,
                    };
                    let Some(Versioned { value, version }) = current else {
                        let why = "the enrollment disappeared after the claim";
                        return Ok(Attempt::Done(JobOutcome::Stale(why)));
                    };
                    let at = (step, attempt);
                    self.record_on(campaign, account, value, version, at, hand_off, counted)
                        .await
                }
            },
            || {
                Err(Error::Conflict(
                    "the enrollment kept changing after the hand-off".into(),
                ))
            },
        )
        .await
    }

    /// One write of the hand-off's outcome on attempt `at` (step, attempt) of
    /// `e`, read at `version`; then what follows it.
    #[allow(clippy::too_many_arguments)]
    async fn record_on(
        &self,
        campaign: &Campaign,
        account: &EmailAccount,
        mut e: Enrollment,
        version: u64,
        (step, attempt): (u32, u32),
        hand_off: &HandOff,
        counted: &Counted,
    ) -> Result<Attempt<JobOutcome>, Error> {
        let now = self.now();
        let was_active = !e.is_ended();
        let was_open = e.is_open();
        let Some(recorded) = apply(&mut e, step, attempt, hand_off, now, &self.config) else {
            let why = "the claim was finalised elsewhere";
            return Ok(Attempt::Done(JobOutcome::Stale(why)));
        };
        if recorded.sent_here {
            self.campaigns()
                .plan_after_send(campaign, &mut e, attempt > 1, now)
                .await?;
        }
        let ended_now = was_active && e.is_ended();
        let settled = e.settle(was_open, now);
        let seqs = Some(counted.seqs);
        let message = message_ref(hand_off, &e, campaign, (step, attempt), seqs, now);
        // a message the mail service took counts in the sender's and
        // the organization's windows with its record, once.
        let counters: &[String] = match message {
            Some(_) => &counted.counters,
            None => &[],
        };
        let event = EnrollmentEvent {
            org_id: e.org_id.clone(),
            enrollment_id: e.id.clone(),
            at: now,
            kind: recorded.kind.to_owned(),
            step: Some(step),
            // Issue 19 item 4: a mail service's error text, kept bounded.
            detail: recorded.detail.map(|d| outreach_domain::text::reason(&d)),
        };
        // The outcome, its event, the message's index and its counts in one write.
        let written = self
            .store
            .update_enrollment_recording(
                &e,
                version,
                Activity::ended_if(ended_now),
                &event,
                message.as_ref(),
                counters,
            )
            .await;
        if lost(written)?.is_lost() {
            return Ok(Attempt::Lost);
        }
        match hand_off {
            HandOff::Refused(_) => self.mark_address_bounced(&e, step, attempt).await?,
            HandOff::SenderFault(why, _) => {
                self.returns()
                    .sender_account_failed(&account.id, why)
                    .await?
            }
            _ => {}
        }
        self.follow_up(&e, settled).await?;
        Ok(Attempt::Done(recorded.outcome))
    }
}

/// The hand-off's outcome written on the claimed attempt (R-8.1, R-8.4,
/// ); `None` when the claim was finalised elsewhere (a delivery
/// notification, the sweeper).
fn apply(
    e: &mut Enrollment,
    step: u32,
    attempt: u32,
    hand_off: &HandOff,
    now: DateTime<Utc>,
    config: &Config,
) -> Option<Recorded> {
    let sent = JobOutcome::Sent { step, attempt };
    let recorded = |outcome, kind, detail: Option<&str>, sent_here| Recorded {
        outcome,
        kind,
        detail: detail.map(str::to_owned),
        sent_here,
    };
    Some(match hand_off {
        HandOff::Sent(s) => {
            let ids = (s.message_id.clone(), s.rfc822_message_id.clone());
            if e.record_sent(step, attempt, now, Some(ids.clone()), false)
                .is_ok()
            {
                recorded(sent, "sent", None, true)
            } else if e.note_message_ids(step, attempt, ids) {
                // A delivery notification finalised the claim first: keep the
                // ids so that what comes back finds the message.
                let why = "recorded after its delivery notification";
                recorded(sent, "sent", Some(why), false)
            } else {
                return None;
            }
        }
        HandOff::Unconfirmed => {
            e.record_sent(step, attempt, now, None, true).ok()?;
            let why = "unconfirmed: the mail service's answer was lost (R-8.1)";
            recorded(sent, "sent", Some(why), true)
        }
        HandOff::Deferred(kept) => {
            e.release_claim(step, attempt, Some(now + config.defer_delay))
                .ok()?;
            // The retry keeps its place under the daily limits; a
            // later step's reservation, when there is one, stays instead.
            if kept.is_some() {
                e.reserved_slot = *kept;
            }
            let why = "the mail service deferred the send; re-planned (R-8.4)";
            recorded(JobOutcome::Deferred, "deferred", Some(why), false)
        }
        HandOff::SenderFault(why, kept) => {
            e.release_claim(step, attempt, None).ok()?;
            if kept.is_some() {
                e.reserved_slot = *kept;
            }
            recorded(JobOutcome::SenderFault, "sender_error", Some(why), false)
        }
        HandOff::Refused(why) => {
            if e.attempt(step, attempt)
                .is_none_or(|a| a.state != AttemptState::Claimed)
            {
                return None;
            }
            e.bounce_attempt(step, attempt, why, now, now + config.resend_delay);
            recorded(JobOutcome::Refused, "bounced", Some(why), false)
        }
    })
}

/// Lets what comes back find this message by either id.
fn message_ref(
    hand_off: &HandOff,
    e: &Enrollment,
    campaign: &Campaign,
    (step, attempt): (u32, u32),
    seqs: Seqs,
    now: DateTime<Utc>,
) -> Option<MessageRef> {
    let (HandOff::Sent(sent), Some(a), Some((account_seq, org_seq))) =
        (hand_off, e.attempt(step, attempt), seqs)
    else {
        return None;
    };
    Some(MessageRef {
        message_id: sent.message_id.clone(),
        rfc822_message_id: sent.rfc822_message_id.trim_matches(['<', '>']).to_owned(),
        org_id: campaign.org_id.clone(),
        campaign_id: campaign.id.clone(),
        enrollment_id: e.id.clone(),
        step,
        attempt,
        to: a.address.clone(),
        sent_at: now,
        account_seq: Some(account_seq),
        org_seq: Some(org_seq),
    })
}
