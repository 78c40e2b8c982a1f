//! Handing a step to the mail service: the handler of a fired
//! wake-up.
//!
//! At most once: the attempt is claimed in the store (a versioned write with a
//! lease) before the mailer is called, and the mailer is called only by the
//! caller that won the claim. An answer that may mean acceptance is recorded as
//! sent and never retried; only a provable non-acceptance gives the claim back.

//! Read it top to bottom: [`pipeline`] is the send of R-8 in named stages,
//! [`record`] writes the mail service's answer and plans what follows,
//! [`compose`] renders the message, [`daily_limit`] counts the day's sends
//! . This file holds what they share: the job's outcome and R-7's
//! choice of address.

mod compose;
mod daily_limit;
pub mod messages;
mod pipeline;
mod record;
pub mod sweep;

pub(crate) use compose::render_enrollment_step;

use outreach_domain::EmailAddress;
use outreach_domain::address::{AddressInputs, choose_address};
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::{AttemptState, Enrollment, PlannedSend};
use outreach_domain::ids::OrgId;

use crate::error::Error;
use crate::model::EmailAccount;
use crate::ports::{Activity, Found, Job, Lookup, StoreError};
use crate::usecases::returns::bounced_record;
use pipeline::SendJob;

process! {
    /// The sending process: every step of a send, the daily limits
    /// the sweeper and single messages. What it
    /// shares with other processes (completing a campaign, recording an
    /// event, a bounce's effects) is theirs or the service's.
    Sending, sending
}

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

impl Sending<'_> {
    /// Runs within this call a send due now that no send queue took
    /// (`SendHandoff::Inline`: local mode, §15).
    #[cfg(feature = "inline-sends")]
    pub(crate) async fn run_inline(&self, job: &Job) -> Result<JobOutcome, Error> {
        self.run_job(job).await
    }

    /// Without the `inline-sends` feature (the Lambda functions, whose queue
    /// always takes a send, issue 20) a send is never run here, so that the
    /// API function does not link the send path.
    #[cfg(not(feature = "inline-sends"))]
    pub(crate) async fn run_inline(&self, job: &Job) -> Result<JobOutcome, Error> {
        let _ = job;
        Err(Error::Internal(
            "no send queue took a send, and this build runs none inline".into(),
        ))
    }

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
                planned,
            } => {
                let job = SendJob {
                    org: org_id,
                    campaign_id,
                    enrollment_id,
                    step: *step,
                    plan_version: *plan_version,
                    candidate_hint: candidate_id.as_ref(),
                    planned: planned.as_ref(),
                };
                self.send_step(&job).await
            }
            Job::PlanChunk {
                org_id,
                campaign_id,
                how,
                after,
            } => {
                let ran = self
                    .campaigns()
                    .run_plan_chunk(org_id, campaign_id, *how, after.clone())
                    .await?;
                Ok(JobOutcome::Event(format!("fan-out chunk ran: {ran}")))
            }
            Job::PollIdentity { account_id, since } => {
                let connected = self
                    .accounts()
                    .run_identity_poll(account_id, *since)
                    .await?;
                Ok(JobOutcome::Event(format!(
                    "identity poll: connected={connected}"
                )))
            }
            Job::RetrySesEvent {
                payload,
                first_seen,
            } => {
                let outcome = self
                    .returns()
                    .handle_ses_notification_since(payload.as_bytes(), *first_seen)
                    .await?;
                Ok(JobOutcome::Event(format!("{outcome:?}")))
            }
            Job::ImportChunk {
                org_id,
                import_id,
                chunk,
            } => {
                let ran = self
                    .catalog()
                    .run_import_chunk(org_id, import_id, *chunk)
                    .await?;
                Ok(JobOutcome::Event(format!("import chunk ran: {ran}")))
            }
        }
    }

    /// Writes an enrollment; `Ok(false)` when it lost a concurrent change.
    pub(super) async fn write_enrollment(
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
    pub(super) fn exclusion_lookups(
        &self,
        org: &OrgId,
        candidate: &Candidate,
        e: &Enrollment,
    ) -> Vec<Lookup> {
        choosable(candidate, e)
            .into_iter()
            .flat_map(|a| {
                let hash = self.returns().suppression_key(a);
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
            if self.returns().is_suppressed(org, a).await? {
                out.push(a.clone());
            }
        }
        Ok(out)
    }
}

impl Sending<'_> {
    /// an address refused outright is bounced for the whole organization.
    pub(super) async fn mark_address_bounced(
        &self,
        e: &Enrollment,
        step: u32,
        attempt: u32,
    ) -> Result<(), Error> {
        match e.attempt(step, attempt) {
            Some(a) => {
                self.returns()
                    .mark_bounced_in_org(&e.org_id, &a.address)
                    .await
            }
            None => Ok(()),
        }
    }
}

/// The plan of an enrollment's next hand-off from `account` to `to` (issue
/// 20): its wake-up names the address, the account and the account's owner,
/// whose entries the send reads in one batch.
pub(super) fn planned_send(to: EmailAddress, account: &EmailAccount) -> PlannedSend {
    PlannedSend {
        to,
        account: account.id.clone(),
        owner: Some(account.owner_id.clone()),
    }
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
pub(super) fn read_exclusions<'a>(
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
