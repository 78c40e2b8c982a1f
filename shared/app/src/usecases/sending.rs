//! Handing a step to the mail service: the handler of a fired
//! wake-up.
//!
//! At most once: the attempt is claimed in the store (a versioned write with a
//! lease) before the mailer is called, and the mailer is called only by the
//! caller that won the claim. An answer that may mean acceptance is recorded as
//! sent and never retried; only a provable non-acceptance gives the claim back.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use outreach_domain::address::{AddressInputs, choose_address};
use outreach_domain::campaign::{Campaign, CampaignStatus};
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::ReservedSlot;
use outreach_domain::enrollment::{AttemptState, Enrollment, EnrollmentStatus};
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};
use outreach_domain::plan::plan_moved;
use outreach_domain::render::{
    CandidateFields, RenderContext, RenderError, SenderFields, render_step,
};
use outreach_domain::{EmailAddress, Zone};

use crate::error::Error;
use crate::mime::{OutgoingMail, build_mime};
use crate::model::{AccountStatus, EmailAccount, EnrollmentEvent, MessageRef};
use crate::ports::{
    Activity, Found, Job, Lookup, MailerError, OutboundMail, SentMail, StoreError, Versioned,
    WakeUp,
};
use crate::retry::CAS_ATTEMPTS;
use crate::service::Service;
use crate::usecases::campaigns::{move_unsent_steps, plan_request};
use crate::usecases::returns::bounced_record;

/// How long a send held for its sender account waits before the sweeper looks
/// again: as often as the identities are checked.
const SENDER_WAIT: chrono::Duration = chrono::Duration::hours(1);

/// What became of a fired wake-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Sent {
        step: u32,
        attempt: u32,
    },
    /// Nothing to do: stale plan version, already handed off, ended.
    Stale(&'static str),
    /// Not sent because of the state re-checked before hand-off.
    Held(&'static str),
    /// Fired before its time: the wake-up was created again for the planned instant.
    Early,
    Blocked(String),
    Deferred,
    SenderFault,
    /// The recipient was refused outright: a hard bounce, re-sent to the next address.
    Refused,
    /// A retried SES event ran.
    Event(String),
    Ended(&'static str),
}

/// How the hand-off went, to be written on the claimed attempt.
enum HandOff {
    Sent(SentMail),
    Unconfirmed,
    /// Throttled: the step is due again shortly, keeping the day's slot it
    /// held, if any.
    Deferred(Option<ReservedSlot>),
    SenderFault(String),
    Refused(String),
}

impl Service {
    /// Runs a fired wake-up. Safe to run any number of times, concurrently.
    pub async fn run_job(&self, job: &Job) -> Result<JobOutcome, Error> {
        match job {
            Job::SendStep {
                org_id,
                campaign_id,
                enrollment_id,
                step,
                plan_version,
                candidate_id,
            } => {
                self.send_step(
                    org_id,
                    campaign_id,
                    enrollment_id,
                    *step,
                    *plan_version,
                    candidate_id.as_ref(),
                )
                .await
            }
            Job::PlanChunk {
                org_id,
                campaign_id,
                how,
                after,
            } => {
                let ran = self
                    .run_plan_chunk(org_id, campaign_id, *how, after.clone())
                    .await?;
                Ok(JobOutcome::Event(format!("fan-out chunk ran: {ran}")))
            }
            Job::PollIdentity { account_id, since } => {
                let connected = self.run_identity_poll(account_id, *since).await?;
                Ok(JobOutcome::Event(format!(
                    "identity poll: connected={connected}"
                )))
            }
            Job::RetrySesEvent {
                payload,
                first_seen,
            } => {
                let outcome = self
                    .handle_ses_notification_since(payload.as_bytes(), *first_seen)
                    .await?;
                Ok(JobOutcome::Event(format!("{outcome:?}")))
            }
        }
    }

    async fn send_step(
        &self,
        org: &OrgId,
        campaign_id: &CampaignId,
        enrollment_id: &EnrollmentId,
        step: u32,
        plan_version: u32,
        candidate_hint: Option<&CandidateId>,
    ) -> Result<JobOutcome, Error> {
        for _ in 0..CAS_ATTEMPTS {
            // Issue 8: the enrollment, its campaign and (when the wake-up names
            // it) its candidate in one read.
            let mut lookups = vec![
                Lookup::Enrollment(org.clone(), enrollment_id.clone()),
                Lookup::Campaign(org.clone(), campaign_id.clone()),
            ];
            if let Some(id) = candidate_hint {
                lookups.push(Lookup::Candidate(org.clone(), id.clone()));
            }
            let mut found = self.store.get_batch(&lookups).await?.into_iter();
            let Some(Found::Enrollment(first)) = found.next().flatten() else {
                return Ok(JobOutcome::Stale("unknown enrollment"));
            };
            let Versioned {
                value: mut e,
                version,
            } = *first;
            let campaign = match found.next().flatten() {
                Some(Found::Campaign(c)) => Some(c.value),
                _ => None,
            };
            let mut candidate = match found.next().flatten() {
                Some(Found::Candidate(c)) if c.value.id == e.candidate_id => Some(c.value),
                _ => None,
            };
            if &e.campaign_id != campaign_id
                || e.plan_version != plan_version
                || e.due_step() != Some(step)
            {
                return Ok(JobOutcome::Stale(
                    "the plan changed since this wake-up was made",
                ));
            }
            if !e.may_send_step(step) {
                return Ok(JobOutcome::Stale("the enrollment is not sendable"));
            }
            let Some(planned) = e.next_planned_at() else {
                return Ok(JobOutcome::Stale("the step is already claimed"));
            };
            let now = self.now();
            if planned > now {
                self.scheduler
                    .schedule(&WakeUp::send_step(&e, planned))
                    .await?;
                return Ok(JobOutcome::Early);
            }
            // re-check everything just before the hand-off.
            let Some(campaign) = campaign else {
                return Ok(JobOutcome::Stale("unknown campaign"));
            };
            // A finished enrollment's re-send also goes out once the
            // campaign completed; nothing goes out of a paused or stopped one.
            let resending_finished = e.status == EnrollmentStatus::Finished;
            if !(campaign.is_running()
                || (resending_finished && campaign.status == CampaignStatus::Completed))
            {
                return Ok(JobOutcome::Held("the campaign is not running"));
            }
            // The sender account, and the candidate if the first read did not
            // have it, else what exclude: one more read.
            let mut lookups = vec![Lookup::Account(campaign.sender_account_id.clone())];
            match &candidate {
                None => lookups.push(Lookup::Candidate(org.clone(), e.candidate_id.clone())),
                Some(c) => lookups.extend(self.exclusion_lookups(org, c, &e)),
            }
            let mut found = self.store.get_batch(&lookups).await?.into_iter();
            let account = match found.next().flatten() {
                Some(Found::Account(a)) => Some(a.value),
                _ => None,
            };
            let mut exclusions = None;
            match candidate {
                None => {
                    candidate = match found.next().flatten() {
                        Some(Found::Candidate(c)) => Some(c.value),
                        _ => None,
                    }
                }
                Some(_) => exclusions = Some(found.collect::<Vec<_>>()),
            }
            let Some(account) = account.clone().filter(|a| {
                a.status == AccountStatus::Connected
                    && a.usable_by(&campaign.org_id, &campaign.owner_id)
            }) else {
                if let Some(a) = account {
                    self.pause_for_failed_sender(&a).await?;
                }
                // A send that no pause holds (a completed campaign's re-send, R-5.3)
                // waits for the account: the sweeper looks again later.
                let wait = now + SENDER_WAIT;
                if e.next_due_at.is_some_and(|d| d < wait) {
                    e.next_due_at = Some(wait);
                    if !self.write_enrollment(&mut e, version, false).await? {
                        continue;
                    }
                }
                return Ok(JobOutcome::Held("the sender account is not connected"));
            };
            let Some(candidate) = candidate else {
                return Ok(JobOutcome::Stale("the candidate no longer exists"));
            };
            if candidate.opted_out {
                // a person who said stop is not mailed at any address.
                let ended_now = e.end(EnrollmentStatus::Unsubscribed, now).unwrap_or(false);
                if self.write_enrollment(&mut e, version, ended_now).await? {
                    self.complete_if_done(org, campaign_id).await?;
                    return Ok(JobOutcome::Ended("unsubscribed"));
                }
                continue;
            }
            if step == 0 || campaign.steps.get(step as usize - 1).is_none() {
                // An edit dropped this step; the edit re-plans the enrollment.
                return Ok(JobOutcome::Stale("the campaign no longer has this step"));
            }
            let exclusions = match exclusions {
                Some(found) => found,
                None => {
                    let lookups = self.exclusion_lookups(org, &candidate, &e);
                    self.store.get_batch(&lookups).await?
                }
            };
            let (mut excluded, bounced) = read_exclusions(&candidate, &e, &exclusions);
            let chosen = loop {
                let Some(address) = self.address_for(&campaign, &candidate, &e, &excluded) else {
                    break None;
                };
                let refused = match bounced.iter().find(|(a, _)| *a == &address) {
                    Some((_, refused)) => *refused,
                    None => self.bounced_in_org(org, &address).await?,
                };
                if !refused {
                    break Some(address);
                }
                // bounced for the whole organization, though the cascade to
                // this candidate's record was interrupted: finish it; the address is
                // out either way.
                self.mark_bounced_in_org(org, &address).await?;
                excluded.push(address);
            };
            let Some(address) = chosen else {
                // A finished enrollment's re-send exists because of a bounce
                // and cannot wait blocked: it ends `bounced`.
                let bounced_before = e
                    .steps
                    .iter()
                    .flat_map(|s| &s.attempts)
                    .any(|a| a.state == AttemptState::Bounced)
                    || e.status == EnrollmentStatus::Finished;
                let outcome = if bounced_before {
                    let ended_now = e.end(EnrollmentStatus::Bounced, now).unwrap_or(false);
                    self.write_enrollment(&mut e, version, ended_now)
                        .await?
                        .then_some(JobOutcome::Ended("bounced"))
                } else {
                    e.block("no_address");
                    self.write_enrollment(&mut e, version, false)
                        .await?
                        .then(|| JobOutcome::Blocked("no_address".into()))
                };
                match outcome {
                    Some(o) => {
                        self.record_event(
                            &e,
                            e.status.as_str(),
                            Some(step),
                            Some("no address qualifies (R-7.3)".into()),
                        )
                        .await;
                        if e.is_ended() {
                            self.complete_if_done(org, campaign_id).await?;
                        }
                        if e.status == EnrollmentStatus::Bounced {
                            self.check_refund(org, &e.candidate_id).await?;
                        }
                        return Ok(o);
                    }
                    None => continue,
                }
            };
            let mail = match self.compose(&campaign, &account, &candidate, &e, step, &address, now)
            {
                Ok(mail) => mail,
                Err(RenderError::MissingField(field)) => {
                    // never half-rendered; the user sets an override or removes the candidate.
                    e.block(format!("missing_field:{field}"));
                    if self.write_enrollment(&mut e, version, false).await? {
                        self.record_event(
                            &e,
                            "blocked",
                            Some(step),
                            Some(format!("missing merge field {field}")),
                        )
                        .await;
                        return Ok(JobOutcome::Blocked(field));
                    }
                    continue;
                }
                Err(RenderError::Budget(why)) => {
                    // over a render budget, like a missing field.
                    e.block("render_limit");
                    if self.write_enrollment(&mut e, version, false).await? {
                        self.record_event(&e, "blocked", Some(step), Some(why))
                            .await;
                        return Ok(JobOutcome::Blocked("render_limit".into()));
                    }
                    continue;
                }
                Err(other) => {
                    e.block(format!("template:{other}"));
                    if self.write_enrollment(&mut e, version, false).await? {
                        self.record_event(&e, "blocked", Some(step), Some(other.to_string()))
                            .await;
                        return Ok(JobOutcome::Blocked(other.to_string()));
                    }
                    continue;
                }
            };
            // every message counts under its sender account's daily limit,
            // and a campaign's under the campaign's own; one over either moves to
            // the next day that has room, its slot reserved there.
            let slot = match self
                .take_daily_slot(&account, &campaign, &mut e, step, now)
                .await?
            {
                Room::Unlimited => None,
                Room::Slot(slot) => Some(slot),
                Room::Full(outdated) => {
                    let zone = self.plan_zone(&campaign, &e).await?;
                    let Some(reserved) = self
                        .move_to_a_free_day(&mut e, step, &account, &campaign, zone, now)
                        .await?
                    else {
                        return Ok(JobOutcome::Held("daily limit reached"));
                    };
                    if !self.write_enrollment(&mut e, version, false).await? {
                        self.release_daily_slot(Some(reserved)).await?;
                        continue;
                    }
                    self.release_daily_slot(outdated).await?;
                    if let Some(at) = e.next_due_at {
                        self.scheduler.schedule(&WakeUp::send_step(&e, at)).await?;
                    }
                    return Ok(JobOutcome::Held(
                        "daily limit reached; moved to the next day with room",
                    ));
                }
            };
            // claim before calling the mail service.
            let attempt = match e.claim(step, address, now, now + self.config.claim_lease) {
                Ok(n) => n,
                Err(_) => {
                    self.release_unused_slot(slot).await?;
                    return Ok(JobOutcome::Stale("the step is already claimed"));
                }
            };
            let claimed = match self
                .store
                .update_enrollment(&e, version, Activity::Unchanged)
                .await
            {
                Ok(v) => v,
                Err(StoreError::Conflict) => {
                    self.release_unused_slot(slot).await?;
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            let tags = vec![
                ("org".to_owned(), org.to_string()),
                ("campaign".to_owned(), campaign_id.to_string()),
                ("enrollment".to_owned(), enrollment_id.to_string()),
                ("step".to_owned(), step.to_string()),
                ("attempt".to_owned(), attempt.to_string()),
            ];
            let outbound = OutboundMail {
                from: account.address.clone(),
                to: mail.to.clone(),
                subject: mail.subject.clone(),
                raw: build_mime(&mail),
                tags,
            };
            let hand_off = match self.mailer.send(&outbound).await {
                Ok(sent) => HandOff::Sent(sent),
                Err(MailerError::Unconfirmed(why)) => {
                    tracing::warn!(enrollment = %enrollment_id, step, attempt, %why, "hand-off unconfirmed; counted as sent");
                    HandOff::Unconfirmed
                }
                Err(MailerError::Deferred(why)) => {
                    // account-wide refusals are back-pressure, never bounces; an operator alarm fires.
                    tracing::error!(alarm = "ses_deferred", enrollment = %enrollment_id, %why, "the mail service refused the send for the whole account");
                    tracing::warn!(enrollment = %enrollment_id, step, attempt, %why, "mail service deferred the send");
                    HandOff::Deferred(slot.as_ref().map(|s| ReservedSlot { step, day: s.day }))
                }
                Err(MailerError::SenderFault(why)) => HandOff::SenderFault(why),
                Err(MailerError::RecipientRefused(why)) => HandOff::Refused(why),
            };
            if matches!(hand_off, HandOff::SenderFault(_)) {
                // Provably not sent, and the campaign pauses: the slot is free again.
                self.release_daily_slot(slot).await?;
            }
            let claimed = Versioned {
                value: e,
                version: claimed,
            };
            return self
                .finish_hand_off(&campaign, &account, claimed, step, attempt, hand_off)
                .await;
        }
        Err(Error::Conflict(
            "the enrollment kept changing; the wake-up will be retried".into(),
        ))
    }

    /// Writes an enrollment; `Ok(false)` when it lost a concurrent change.
    async fn write_enrollment(
        &self,
        e: &mut Enrollment,
        version: u64,
        ended_now: bool,
    ) -> Result<bool, Error> {
        // Only a sendable enrollment gets here.
        e.settle(true, self.now());
        match self
            .store
            .update_enrollment(e, version, Activity::ended_if(ended_now))
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// the address for the next message, or none.
    pub(crate) fn address_for(
        &self,
        campaign: &Campaign,
        candidate: &Candidate,
        e: &Enrollment,
        suppressed: &[EmailAddress],
    ) -> Option<EmailAddress> {
        // Addresses this enrollment already saw bounce are out, whatever the candidate record says.
        let bounced: Vec<&EmailAddress> = e
            .steps
            .iter()
            .flat_map(|s| &s.attempts)
            .filter(|a| a.state == AttemptState::Bounced)
            .map(|a| &a.address)
            .collect();
        let excluded = |a: &EmailAddress| bounced.contains(&a) || suppressed.contains(a);
        // A retry to the same address (soft bounce, R-9.4) keeps it while it is allowed.
        if let Some(a) = e.resend.as_ref().and_then(|r| r.address.as_ref())
            && !excluded(a)
            && !candidate
                .emails
                .iter()
                .any(|c| &c.address == a && c.bounced)
        {
            return Some(a.clone());
        }
        choose_address(&AddressInputs {
            emails: &candidate.emails,
            owner: &campaign.owner_id,
            override_address: e.override_address.as_ref(),
            pin: e.pinned_address.as_ref(),
            setting: campaign.recipient,
            excluded: &excluded,
        })
    }

    /// What excludes each address the hand-off may choose, two lookups an
    /// address in this order: the organization's record of refused addresses
    /// and its suppression list; read with one batch.
    /// The address's keyed hash is computed once for both.
    fn exclusion_lookups(&self, org: &OrgId, candidate: &Candidate, e: &Enrollment) -> Vec<Lookup> {
        choosable(candidate, e)
            .into_iter()
            .flat_map(|a| {
                let hash = self.suppression_key(a);
                [
                    Lookup::Record(bounced_record(org, &hash)),
                    Lookup::Suppressed(org.clone(), hash),
                ]
            })
            .collect()
    }

    /// The candidate's addresses (and the enrollment's override) that are on the
    /// organization's suppression list.
    pub(crate) async fn suppressed_among(
        &self,
        org: &OrgId,
        candidate: &Candidate,
        e: &Enrollment,
    ) -> Result<Vec<EmailAddress>, Error> {
        let mut out = Vec::new();
        let candidates = candidate
            .emails
            .iter()
            .map(|c| &c.address)
            .chain(e.override_address.iter());
        for a in candidates {
            if self.is_suppressed(org, a).await? {
                out.push(a.clone());
            }
        }
        Ok(out)
    }

    /// Renders the step and the headers of.
    #[allow(clippy::too_many_arguments)]
    fn compose(
        &self,
        campaign: &Campaign,
        account: &EmailAccount,
        candidate: &Candidate,
        e: &Enrollment,
        step: u32,
        to: &EmailAddress,
        now: DateTime<Utc>,
    ) -> Result<OutgoingMail, RenderError> {
        let ctx = render_context(campaign, account, candidate, e);
        let Some(spec) = campaign.steps.get(step.saturating_sub(1) as usize) else {
            return Err(RenderError::Syntax(format!(
                "the campaign has no step {step}"
            )));
        };
        let first_subject = match step {
            1 => None,
            _ => campaign.steps.first().and_then(|s| s.subject.as_deref()),
        };
        let rendered = render_step(spec, first_subject, &ctx)?;
        // Later steps thread under the messages sent before them.
        let earlier: Vec<String> = e
            .steps
            .iter()
            .take((step - 1) as usize)
            .filter_map(|s| {
                s.attempts
                    .iter()
                    .rev()
                    .find_map(|a| a.rfc822_message_id.clone())
            })
            .map(|id| id.trim_matches(['<', '>']).to_owned())
            .collect();
        Ok(OutgoingMail {
            from_name: account.display_name.clone(),
            from: account.address.clone(),
            to: to.clone(),
            reply_to: format!("reply+{}@{}", e.reply_token, self.config.reply_domain),
            list_unsubscribe_url: format!(
                "{}/v1/unsubscribe/{}",
                self.config.public_base_url.trim_end_matches('/'),
                e.unsubscribe_token
            ),
            message_id: None,
            in_reply_to: earlier.first().cloned(),
            references: earlier,
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
            date: now,
        })
    }

    /// Records the outcome on the claimed attempt and plans what follows.
    async fn finish_hand_off(
        &self,
        campaign: &Campaign,
        account: &EmailAccount,
        claimed: Versioned<Enrollment>,
        step: u32,
        attempt: u32,
        hand_off: HandOff,
    ) -> Result<JobOutcome, Error> {
        let org = &campaign.org_id;
        let enrollment_id = claimed.value.id.clone();
        // a message the mail service took counts in the sender's and the
        // organization's windows, once, before it is recorded (its sequence
        // numbers go into the message's index entry).
        let seqs = match &hand_off {
            HandOff::Sent(_) => Some(self.reputation_sent(org, &account.id).await?),
            _ => None,
        };
        // The claim's own write is the first version to record on; only a
        // concurrent change makes this read the enrollment again.
        let mut claimed = Some(claimed);
        for _ in 0..CAS_ATTEMPTS {
            let (mut e, version) = match claimed.take() {
                Some(v) => (v.value, v.version),
                None => match self.store.get_enrollment(org, &enrollment_id).await? {
                    Some(v) => (v.value, v.version),
                    None => {
                        return Ok(JobOutcome::Stale(
                            "the enrollment disappeared after the claim",
                        ));
                    }
                },
            };
            let now = self.now();
            let was_active = !e.is_ended();
            let was_open = e.is_open();
            // Whether this write records the hand-off (and so plans what follows it).
            let mut recorded_here = false;
            let (outcome, event) = match &hand_off {
                HandOff::Sent(sent) => {
                    let ids = (sent.message_id.clone(), sent.rfc822_message_id.clone());
                    if e.record_sent(step, attempt, now, Some(ids.clone()), false)
                        .is_ok()
                    {
                        recorded_here = true;
                        (JobOutcome::Sent { step, attempt }, ("sent", None))
                    } else if e.note_message_ids(step, attempt, ids) {
                        // A delivery notification finalised the claim first: keep the
                        // ids so that what comes back finds the message.
                        (
                            JobOutcome::Sent { step, attempt },
                            (
                                "sent",
                                Some("recorded after its delivery notification".to_owned()),
                            ),
                        )
                    } else {
                        return Ok(JobOutcome::Stale("the claim was finalised elsewhere"));
                    }
                }
                HandOff::Unconfirmed => {
                    if e.record_sent(step, attempt, now, None, true).is_err() {
                        return Ok(JobOutcome::Stale("the claim was finalised elsewhere"));
                    }
                    recorded_here = true;
                    (
                        JobOutcome::Sent { step, attempt },
                        (
                            "sent",
                            Some(
                                "unconfirmed: the mail service's answer was lost (R-8.1)"
                                    .to_owned(),
                            ),
                        ),
                    )
                }
                HandOff::Deferred(kept) => {
                    if e.release_claim(step, attempt, Some(now + self.config.defer_delay))
                        .is_err()
                    {
                        return Ok(JobOutcome::Stale("the claim was finalised elsewhere"));
                    }
                    // The retry keeps its place under the daily limits.
                    e.reserved_slot = *kept;
                    (
                        JobOutcome::Deferred,
                        (
                            "deferred",
                            Some(
                                "the mail service deferred the send; re-planned (R-8.4)".to_owned(),
                            ),
                        ),
                    )
                }
                HandOff::SenderFault(why) => {
                    if e.release_claim(step, attempt, None).is_err() {
                        return Ok(JobOutcome::Stale("the claim was finalised elsewhere"));
                    }
                    (JobOutcome::SenderFault, ("sender_error", Some(why.clone())))
                }
                HandOff::Refused(why) => {
                    if e.attempt(step, attempt)
                        .is_none_or(|a| a.state != AttemptState::Claimed)
                    {
                        return Ok(JobOutcome::Stale("the claim was finalised elsewhere"));
                    }
                    e.bounce_attempt(step, attempt, why, now + self.config.resend_delay);
                    (JobOutcome::Refused, ("bounced", Some(why.clone())))
                }
            };
            if recorded_here && attempt > 1 {
                // the steps not yet sent follow the re-send.
                self.follow_resend(campaign, &mut e, now).await?;
            } else if recorded_here {
                // a step that left late (deferred, moved) re-spaces the rest.
                self.space_after_send(campaign, &mut e, now).await?;
            }
            let ended_now = was_active && e.is_ended();
            let settled = e.settle(was_open, now);
            // Lets what comes back find this message by either id.
            let message = match (&hand_off, e.attempt(step, attempt), seqs) {
                (HandOff::Sent(sent), Some(a), Some((account_seq, org_seq))) => Some(MessageRef {
                    message_id: sent.message_id.clone(),
                    rfc822_message_id: sent.rfc822_message_id.trim_matches(['<', '>']).to_owned(),
                    org_id: org.clone(),
                    campaign_id: campaign.id.clone(),
                    enrollment_id: e.id.clone(),
                    step,
                    attempt,
                    to: a.address.clone(),
                    sent_at: now,
                    account_seq: Some(account_seq),
                    org_seq: Some(org_seq),
                }),
                _ => None,
            };
            let record = EnrollmentEvent {
                org_id: e.org_id.clone(),
                enrollment_id: e.id.clone(),
                at: now,
                kind: event.0.to_owned(),
                step: Some(step),
                detail: event.1,
            };
            // The outcome, its event and the message's index in one write.
            match self
                .store
                .update_enrollment_recording(
                    &e,
                    version,
                    Activity::ended_if(ended_now),
                    &record,
                    message.as_ref(),
                )
                .await
            {
                Ok(_) => {}
                Err(StoreError::Conflict) => continue,
                Err(err) => return Err(err.into()),
            }
            if let HandOff::Refused(_) = hand_off {
                self.mark_address_bounced(&e, step, attempt).await?;
            }
            if let HandOff::SenderFault(why) = &hand_off {
                self.sender_account_failed(&account.id, why).await?;
            }
            if e.has_sendable_step()
                && let Some(at) = e.next_due_at
            {
                self.scheduler.schedule(&WakeUp::send_step(&e, at)).await?;
            }
            if settled {
                self.complete_if_done(org, &campaign.id).await?;
            }
            return Ok(outcome);
        }
        Err(Error::Conflict(
            "the enrollment kept changing after the hand-off".into(),
        ))
    }
}

/// The merge fields of for one enrollment.
pub(crate) fn render_context(
    campaign: &Campaign,
    account: &EmailAccount,
    candidate: &Candidate,
    e: &Enrollment,
) -> RenderContext {
    let sender_first = account
        .display_name
        .split_whitespace()
        .next()
        .map(str::to_owned);
    RenderContext {
        candidate: CandidateFields {
            first_name: Some(candidate.first_name.clone()),
            last_name: Some(candidate.last_name.clone()),
            full_name: Some(candidate.full_name()),
            title: candidate.title.clone(),
            company: candidate.company.clone(),
            location: candidate.location.clone(),
        },
        sender: SenderFields {
            first_name: sender_first,
            full_name: Some(account.display_name.clone()),
            email: Some(account.address.to_string()),
        },
        campaign_name: Some(campaign.name.clone()),
        custom: e.custom_fields.clone(),
    }
}

impl Service {
    /// an address refused outright is bounced for the whole organization.
    async fn mark_address_bounced(
        &self,
        e: &Enrollment,
        step: u32,
        attempt: u32,
    ) -> Result<(), Error> {
        match e.attempt(step, attempt) {
            Some(a) => self.mark_bounced_in_org(&e.org_id, &a.address).await,
            None => Ok(()),
        }
    }
}

/// A day's count of the messages that left from one sender account, and of
/// each campaign's among them; a moved message's reserved slot counts.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct DailyCount {
    sent: u32,
    #[serde(default)]
    campaigns: BTreeMap<String, u32>,
}

/// A slot taken under the daily limits: given back when the mail
/// service provably did not take the message.
struct DailySlot {
    key: String,
    /// The day, in the account owner's time zone.
    day: NaiveDate,
    campaign: CampaignId,
    /// Reserved when the message was moved here: the enrollment records it
    /// until a write uses it up.
    reserved: bool,
}

/// Whether a message may leave today under the daily limits.
enum Room {
    /// Neither its account nor its campaign has a limit: nothing is counted.
    Unlimited,
    Slot(DailySlot),
    /// Over a limit; with the reservation to give back once the move that
    /// replaces it is written (a limit lowered since it was made).
    Full(Option<DailySlot>),
}

/// How far a message over the daily limits looks for a day with room:
/// a limit of at least 1 always finds one within a year of a year's backlog.
const MAX_MOVE_DAYS: u32 = 400;

fn daily_key(account: &EmailAccount, day: NaiveDate) -> String {
    format!("daily:{}:{day}", account.id)
}

impl Service {
    /// The calendar date of `at` in the account owner's time zone: the days of
    /// the daily limits.
    async fn owner_zone(&self, account: &EmailAccount) -> Result<Zone, Error> {
        Ok(self
            .store
            .get_user(&account.org_id, &account.owner_id)
            .await?
            .map(|p| p.timezone)
            .unwrap_or_default())
    }

    /// Counts one message of `campaign` on `key`'s day if both the account's
    /// and the campaign's limits leave room; whether it did.
    async fn count_daily(
        &self,
        key: &str,
        account: &EmailAccount,
        campaign: &Campaign,
    ) -> Result<bool, Error> {
        let taken = AtomicBool::new(false);
        let id = campaign.id.to_string();
        self.update_record(key, |c: &mut DailyCount| {
            let of_campaign = c.campaigns.get(&id).copied().unwrap_or(0);
            let free = account.daily_limit.is_none_or(|limit| c.sent < limit)
                && campaign.daily_limit.is_none_or(|limit| of_campaign < limit);
            taken.store(free, Ordering::Relaxed);
            if free {
                c.sent += 1;
                c.campaigns.insert(id.clone(), of_campaign + 1);
            }
            Ok(free)
        })
        .await?;
        Ok(taken.load(Ordering::Relaxed))
    }

    /// Takes today's slot of the message (step `step` of `e`): the one reserved
    /// for it when it was moved here, else a free one; `Full` when either limit
    /// is reached. While its account or its campaign has a limit, every
    /// message of the account counts, whatever sends it; with neither, nothing
    /// is counted (no extra call on the hand-off).
    async fn take_daily_slot(
        &self,
        account: &EmailAccount,
        campaign: &Campaign,
        e: &mut Enrollment,
        step: u32,
        now: DateTime<Utc>,
    ) -> Result<Room, Error> {
        // A reservation is used once; one of another day stays counted there.
        let reserved = e.reserved_slot.take();
        if account.daily_limit.is_none() && campaign.daily_limit.is_none() {
            return Ok(Room::Unlimited);
        }
        let zone = self.owner_zone(account).await?;
        let day = now.with_timezone(&zone.tz()).date_naive();
        let mut slot = DailySlot {
            key: daily_key(account, day),
            day,
            campaign: campaign.id.clone(),
            reserved: true,
        };
        if reserved.is_some_and(|r| r.step == step && r.day == day) {
            // Still within the limits, which may have been lowered since.
            let count: DailyCount = self.read_record(&slot.key).await?;
            let of_campaign = count.campaigns.get(campaign.id.as_str()).copied();
            if account.daily_limit.is_none_or(|l| count.sent <= l)
                && campaign
                    .daily_limit
                    .is_none_or(|l| of_campaign.unwrap_or(0) <= l)
            {
                return Ok(Room::Slot(slot));
            }
            // Given back only once the enrollment no longer holds it.
            slot.reserved = false;
            return Ok(Room::Full(Some(slot)));
        }
        slot.reserved = false;
        Ok(
            match self.count_daily(&slot.key, account, campaign).await? {
                true => Room::Slot(slot),
                false => Room::Full(None),
            },
        )
    }

    /// Moves the due step of `e` to the first following day whose limits leave
    /// room, same time-of-day rule, and reserves its slot there, so that it goes
    /// before every message first planned for that day and is never pushed
    /// twice; the steps after it follow it. `None` when nothing
    /// is left to plan.
    async fn move_to_a_free_day(
        &self,
        e: &mut Enrollment,
        step: u32,
        account: &EmailAccount,
        campaign: &Campaign,
        zone: Zone,
        now: DateTime<Utc>,
    ) -> Result<Option<DailySlot>, Error> {
        let Some(planned) = e.next_planned_at() else {
            return Ok(None);
        };
        let owner = self.owner_zone(account).await?;
        let tz = zone.tz();
        let local = planned.with_timezone(&tz);
        let mut day = local.date_naive().max(now.with_timezone(&tz).date_naive());
        for _ in 0..MAX_MOVE_DAYS {
            day += chrono::Duration::days(1);
            let mut moved = e.clone();
            if !postpone_to(&mut moved, step, campaign, zone, day, local.time(), now) {
                return Ok(None);
            }
            let Some(at) = moved.next_planned_at() else {
                return Ok(None);
            };
            // Skipped weekends and DST moves land later: look on from there.
            day = day.max(at.with_timezone(&tz).date_naive());
            let owner_day = at.with_timezone(&owner.tz()).date_naive();
            let key = daily_key(account, owner_day);
            if self.count_daily(&key, account, campaign).await? {
                moved.reserved_slot = Some(ReservedSlot {
                    step,
                    day: owner_day,
                });
                *e = moved;
                return Ok(Some(DailySlot {
                    key,
                    day: owner_day,
                    campaign: campaign.id.clone(),
                    reserved: false,
                }));
            }
        }
        Ok(None)
    }

    /// Gives back a slot that no write used up: a reservation the enrollment
    /// still records stays (the next run uses it).
    async fn release_unused_slot(&self, slot: Option<DailySlot>) -> Result<(), Error> {
        self.release_daily_slot(slot.filter(|s| !s.reserved)).await
    }

    async fn release_daily_slot(&self, slot: Option<DailySlot>) -> Result<(), Error> {
        let Some(slot) = slot else {
            return Ok(());
        };
        let id = slot.campaign.to_string();
        self.update_record(&slot.key, |c: &mut DailyCount| {
            c.sent = c.sent.saturating_sub(1);
            if let Some(n) = c.campaigns.get_mut(&id) {
                *n = n.saturating_sub(1);
            }
            Ok(true)
        })
        .await?;
        Ok(())
    }
}

/// Moves the due step to `day` (the next weekday with `skip_weekends`) at the
/// local `time`, and plans the unsent steps after it from there by the rules
/// of R-6, so that nothing is dropped and the order is kept.
fn postpone_to(
    e: &mut Enrollment,
    step: u32,
    campaign: &Campaign,
    zone: Zone,
    day: NaiveDate,
    time: NaiveTime,
    now: DateTime<Utc>,
) -> bool {
    let start = e.plan_start.unwrap_or(now);
    if e.resend.as_ref().is_some_and(|r| r.step == step) {
        // A re-send alone moves; the steps after it follow it once it is sent.
        let at = plan_moved(&plan_request(campaign, e, start, zone, &[0], 0), day, time);
        let Some(r) = e.resend.as_mut() else {
            return false;
        };
        r.at = at.first().copied().unwrap_or(r.at);
        e.plan_version += 1;
        e.next_due_at = e.next_planned_at();
        return true;
    }
    move_unsent_steps(e, campaign, zone, start, day, time)
}

/// The addresses a hand-off may choose: the candidate's, the enrollment's
/// override and its re-send address, each once.
fn choosable<'a>(candidate: &'a Candidate, e: &'a Enrollment) -> Vec<&'a EmailAddress> {
    let mut out: Vec<&EmailAddress> = Vec::new();
    let all = candidate
        .emails
        .iter()
        .map(|c| &c.address)
        .chain(e.override_address.iter())
        .chain(e.resend.as_ref().and_then(|r| r.address.as_ref()));
    for a in all {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// The answers to [`Service::exclusion_lookups`]: the suppressed addresses,
/// and for each address whether the organization recorded it refused.
fn read_exclusions<'a>(
    candidate: &'a Candidate,
    e: &'a Enrollment,
    found: &[Option<Found>],
) -> (Vec<EmailAddress>, Vec<(&'a EmailAddress, bool)>) {
    let mut suppressed = Vec::new();
    let mut bounced = Vec::new();
    for (address, pair) in choosable(candidate, e).into_iter().zip(found.chunks(2)) {
        if matches!(pair.get(1), Some(Some(Found::Suppressed))) {
            suppressed.push(address.clone());
        }
        bounced.push((address, matches!(pair.first(), Some(Some(_)))));
    }
    (suppressed, bounced)
}
