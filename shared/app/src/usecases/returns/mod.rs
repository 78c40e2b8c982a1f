//! What comes back: deliveries, hard and soft bounces with the address
//! cascade and the refund, complaints and unsubscribes.
//!
//! Every function here is idempotent: a duplicate or reordered notification
//! changes nothing twice, because each applies a state transition that
//! refuses to happen twice (an attempt bounced once, a refund marker, a
//! suppression entry) rather than counting on a de-duplication marker alone.

pub mod erasure;
pub mod inbound;
pub mod inbox;
pub mod notice;
pub mod raw;
pub mod replies;
pub mod reputation;
pub mod ses_events;

use hmac::{Hmac, Mac};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::{Campaign, PauseReason};
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::{AttemptState, Enrollment, EnrollmentStatus, OptOut};
use outreach_domain::ids::{CandidateId, EnrollmentId, OrgId};
use sha2::Sha256;

use crate::error::Error;
use crate::model::{AccountStatus, MessageRef, Notification};
use crate::ports::{Activity, StoreError, Versioned};
use crate::retry::{Attempt, retry_versioned};
use crate::usecases::returns::reputation::SendOutcome;

process! {
    /// The returns process: what comes back after a send — deliveries, bounces
    /// and complaints (R-9.1–, from SES events), replies and their
    /// forwarding — and the reputation windows.
    Returns, returns
}

/// What an enrollment was before a change: whether the change ended it or
/// closed it for good.
#[derive(Clone, Copy)]
struct Before {
    active: bool,
    open: bool,
}

impl Before {
    fn of(e: &Enrollment) -> Self {
        Before {
            active: !e.is_ended(),
            open: e.is_open(),
        }
    }
}

/// What a returned event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnOutcome {
    Applied,
    /// Already applied before (duplicate, R-9.8).
    Duplicate,
    /// The mail belongs to nothing this service knows.
    Unknown,
    /// An authentication refusal: the sender account's fault.
    SenderFault,
}

/// The keyed hash (HMAC-SHA256 under the deployment's `hash_key`, in hex) that
/// stands for an address on the suppression list and in the record of a
/// bounced address; the simulation's oracle files addresses by it too.
pub fn suppression_key(hash_key: &[u8], address: &EmailAddress) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(hash_key).expect("HMAC takes any key length");
    mac.update(address.as_str().as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Returns<'_> {
    /// The keyed hash that stands for an address on the suppression list.
    pub(crate) fn suppression_key(&self, address: &EmailAddress) -> String {
        suppression_key(&self.config.hash_key, address)
    }

    pub(crate) async fn is_suppressed(
        &self,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<bool, Error> {
        Ok(self
            .store
            .is_suppressed(org, &self.suppression_key(address))
            .await?)
    }

    /// Applies `change` to an enrollment with a version check; `None` when it is gone.
    /// The closure returns whether it changed anything.
    pub(crate) async fn update_enrollment_with(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
        change: impl Fn(&mut Enrollment) -> bool,
    ) -> Result<Option<(Enrollment, bool)>, Error> {
        let change = &change;
        retry_versioned(
            || async move {
                let Some(Versioned {
                    value: mut e,
                    version,
                }) = self.store.get_enrollment(org, id).await?
                else {
                    return Ok(Attempt::Done(None));
                };
                let before = Before::of(&e);
                if !change(&mut e) {
                    return Ok(Attempt::Done(Some((e, false))));
                }
                if self
                    .write_returned(&mut e, version, before)
                    .await?
                    .is_lost()
                {
                    return Ok(Attempt::Lost);
                }
                Ok(Attempt::Done(Some((e, true))))
            },
            || Err(Error::Conflict("the enrollment kept changing".into())),
        )
        .await
    }

    /// Writes an enrollment changed by what came back (read at `version`, as
    /// it was `before`), then what follows it: its next wake-up and its
    /// campaign's completion. A lost race is [`Attempt::Lost`].
    async fn write_returned(
        &self,
        e: &mut Enrollment,
        version: u64,
        before: Before,
    ) -> Result<Attempt<()>, Error> {
        let ended_now = before.active && e.is_ended();
        let settled = e.settle(before.open, self.now());
        let activity = Activity::ended_if(ended_now);
        if self.store_enrollment(e, version, activity).await?.is_lost() {
            return Ok(Attempt::Lost);
        }
        self.follow_up(e, settled).await?;
        Ok(Attempt::Done(()))
    }

    /// a delivery marks the step `delivered`. The delivery of an attempt
    /// still only claimed (its handler died between the hand-off and its
    /// record) records the send, and plans the steps after it from that send as
    /// the handler would have: after a re-send or a late send,
    /// the next step stays its delay after it.
    pub async fn delivered(&self, m: &MessageRef) -> Result<ReturnOutcome, Error> {
        retry_versioned(
            || self.deliver_once(m),
            || Err(Error::Conflict("the enrollment kept changing".into())),
        )
        .await
    }

    async fn deliver_once(&self, m: &MessageRef) -> Result<Attempt<ReturnOutcome>, Error> {
        let (step, attempt) = (m.step, m.attempt);
        let Some(Versioned {
            value: mut e,
            version,
        }) = self
            .store
            .get_enrollment(&m.org_id, &m.enrollment_id)
            .await?
        else {
            return Ok(Attempt::Done(ReturnOutcome::Unknown));
        };
        let now = self.now();
        let before = Before::of(&e);
        let sent_at = e
            .attempt(step, attempt)
            .filter(|a| a.state == AttemptState::Claimed)
            .map(|a| a.claimed_at.min(now));
        if !e.mark_delivered(step, attempt, now) {
            return Ok(Attempt::Done(ReturnOutcome::Duplicate));
        }
        let campaigns = self.campaigns();
        if let Some(at) = sent_at
            && let Some(campaign) = campaigns.campaign_by_id(&m.org_id, &e.campaign_id).await?
        {
            match attempt {
                1 => campaigns.space_after_send(&campaign, &mut e, at).await?,
                _ => campaigns.follow_resend(&campaign, &mut e, at).await?,
            }
        }
        Ok(self
            .write_returned(&mut e, version, before)
            .await?
            .map(|()| ReturnOutcome::Applied))
    }

    /// a hard bounce marks the address bounced for the organization and
    /// re-sends the step to the next address R-7 allows; refund check.
    pub async fn hard_bounced(
        &self,
        m: &MessageRef,
        address: &EmailAddress,
        reason: &str,
    ) -> Result<ReturnOutcome, Error> {
        let now = self.now();
        let resend_at = now + self.config.resend_delay;
        let (step, attempt) = (m.step, m.attempt);
        let Some((e, changed)) = self
            .update_enrollment_with(&m.org_id, &m.enrollment_id, |e| {
                e.bounce_attempt(step, attempt, reason, now, resend_at)
            })
            .await?
        else {
            return Ok(ReturnOutcome::Unknown);
        };
        let detail = format!("{address}: {reason}");
        self.hard_bounce_effects(m, &e, address, detail, changed)
            .await?;
        Ok(if changed {
            ReturnOutcome::Applied
        } else {
            ReturnOutcome::Duplicate
        })
    }

    /// What a hard bounce does beyond its enrollment: the address is bounced
    /// for the whole organization; a `first` report of it counts in
    /// the reputation windows and is recorded; the refund of is
    /// checked.
    async fn hard_bounce_effects(
        &self,
        m: &MessageRef,
        e: &Enrollment,
        address: &EmailAddress,
        detail: String,
        first: bool,
    ) -> Result<(), Error> {
        self.mark_bounced_in_org(&m.org_id, address).await?;
        if first {
            let outcome = SendOutcome::Bounced;
            self.reputation_hit(&m.org_id, &m.campaign_id, &m.message_id, outcome)
                .await?;
            self.enrollments()
                .record_event(e, "bounced", Some(m.step), Some(detail))
                .await;
        }
        self.check_refund(&m.org_id, &e.candidate_id).await?;
        Ok(())
    }

    /// a soft bounce retries the step once, 24 hours later; a second one counts as hard.
    pub async fn soft_bounced(
        &self,
        m: &MessageRef,
        address: &EmailAddress,
        reason: &str,
    ) -> Result<ReturnOutcome, Error> {
        let now = self.now();
        let retry_at = now + self.config.soft_retry_delay;
        let resend_at = now + self.config.resend_delay;
        let (step, attempt) = (m.step, m.attempt);
        let hard = std::sync::atomic::AtomicBool::new(false);
        let Some((e, changed)) = self
            .update_enrollment_with(&m.org_id, &m.enrollment_id, |e| {
                let (changed, as_hard) =
                    e.soft_bounce_attempt(step, attempt, reason, now, retry_at, resend_at);
                hard.store(as_hard, std::sync::atomic::Ordering::Relaxed);
                changed
            })
            .await?
        else {
            return Ok(ReturnOutcome::Unknown);
        };
        if !changed {
            return Ok(ReturnOutcome::Duplicate);
        }
        if hard.load(std::sync::atomic::Ordering::Relaxed) {
            let detail = format!("{address}: second soft bounce (R-9.4): {reason}");
            self.hard_bounce_effects(m, &e, address, detail, true)
                .await?;
        } else {
            self.enrollments()
                .record_event(
                    &e,
                    "soft_bounced",
                    Some(step),
                    Some(format!("{address}: {reason}; retried in 24 hours")),
                )
                .await;
        }
        Ok(ReturnOutcome::Applied)
    }

    /// an address that hard-bounced is bounced on every candidate of the
    /// organization that has it. The organization's record of it is written
    /// first, in one write, so that a crash in the middle of the cascade cannot
    /// leave the address sendable (R-8.2 reads it, [`Service::bounced_in_org`]);
    /// running this again finishes the cascade.
    pub(crate) async fn mark_bounced_in_org(
        &self,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<(), Error> {
        let marker = serde_json::json!({ "bounced": true });
        match self
            .store
            .put_record(&self.bounced_key(org, address), &marker, None)
            .await
        {
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(err) => return Err(err.into()),
        }
        for candidate in self.store.candidates_with_address(org, address).await? {
            self.modify_candidate(org, &candidate, |c| Ok(c.mark_bounced(address)))
                .await?;
        }
        Ok(())
    }

    /// whether `address` hard-bounced anywhere in the organization.
    pub(crate) async fn bounced_in_org(
        &self,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<bool, Error> {
        Ok(self
            .store
            .get_record(&self.bounced_key(org, address))
            .await?
            .is_some())
    }

    /// The record of an address bounced in an organization, under its keyed hash.
    fn bounced_key(&self, org: &OrgId, address: &EmailAddress) -> String {
        bounced_record(org, &self.suppression_key(address))
    }

    /// once one of the candidate's enrollments ended `bounced` and no
    /// profile address is left unbounced, the reveal's credit comes back, once.
    pub(crate) async fn check_refund(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Result<bool, Error> {
        let Some(c) = self.store.get_candidate(org, candidate).await? else {
            return Ok(false);
        };
        if c.value.has_unbounced_profile_address() {
            return Ok(false);
        }
        let mut ended_bounced = false;
        for id in self
            .store
            .enrollments_of_candidate_in_org(org, candidate)
            .await?
        {
            if let Some(e) = self.store.get_enrollment(org, &id).await?
                && e.value.status == EnrollmentStatus::Bounced
            {
                ended_bounced = true;
                break;
            }
        }
        if !ended_bounced {
            return Ok(false);
        }
        let refunded = self.store.refund_once(org, candidate, self.now()).await?;
        if refunded {
            tracing::info!(%org, %candidate, "contact credit refunded (R-9.3)");
        }
        Ok(refunded)
    }

    /// a complaint or unsubscribe puts the address on the organization's
    /// suppression list, opts the candidate out and ends every running
    /// enrollment of that candidate `unsubscribed`.
    /// `complained` names the enrollment whose message was complained about:
    /// the statistics count a complaint there, an unsubscribe elsewhere.
    pub async fn opt_out(
        &self,
        org: &OrgId,
        address: &EmailAddress,
        reason: &str,
        complained: Option<&EnrollmentId>,
    ) -> Result<usize, Error> {
        self.store
            .suppress(org, &self.suppression_key(address), reason, self.now())
            .await?;
        let mut ended = 0;
        for candidate in self.store.candidates_with_address(org, address).await? {
            // The person's own stop: no reply correction lifts it.
            self.person_opted_out(org, &candidate).await?;
            self.modify_candidate(org, &candidate, opt_out_candidate)
                .await?;
            ended += self
                .end_all(
                    org,
                    &candidate,
                    EnrollmentStatus::Unsubscribed,
                    reason,
                    complained,
                )
                .await?;
        }
        Ok(ended)
    }

    /// Ends every enrollment of a candidate that still takes what comes back.
    async fn end_all(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        status: EnrollmentStatus,
        reason: &str,
        complained: Option<&EnrollmentId>,
    ) -> Result<usize, Error> {
        let now = self.now();
        let mut ended = 0;
        for id in self
            .store
            .enrollments_of_candidate_in_org(org, candidate)
            .await?
        {
            let changed = self
                .update_enrollment_with(org, &id, |e| {
                    let ended = e.accepts_returns() && e.end(status, now).is_ok();
                    if ended && status == EnrollmentStatus::Unsubscribed {
                        e.opt_out = Some(OptOut {
                            at: now,
                            complaint: complained == Some(&e.id),
                        });
                    }
                    ended
                })
                .await?;
            if let Some((e, true)) = changed {
                ended += 1;
                self.enrollments()
                    .record_event(&e, status.as_str(), None, Some(reason.to_owned()))
                    .await;
            }
        }
        Ok(ended)
    }

    /// The public one-click unsubscribe (R-9.5, RFC 8058): the token is the proof.
    /// `false` for a token this service never issued.
    /// The token matches whatever its case (R-9.6's rule for tokens).
    pub async fn unsubscribe(&self, token: &str) -> Result<bool, Error> {
        let mut found = None;
        for key in outreach_domain::token::lookup_forms(token) {
            if let Some((org, id)) = self.store.find_token(&key).await?
                && let Some(e) = self.store.get_enrollment(&org, &id).await?
                // A Reply-To token is not an unsubscribe link.
                && outreach_domain::token::same_token(&e.value.unsubscribe_token, token)
            {
                found = Some((org, e.value));
                break;
            }
        }
        let Some((org, e)) = found else {
            return Ok(false);
        };
        // The person's own stop: no reply correction lifts it.
        self.person_opted_out(&org, &e.candidate_id).await?;
        let addresses: Vec<EmailAddress> = e
            .steps
            .iter()
            .flat_map(|s| &s.attempts)
            .map(|a| a.address.clone())
            .collect();
        match addresses.last() {
            Some(address) => {
                for a in dedup(addresses.clone()) {
                    self.store
                        .suppress(&org, &self.suppression_key(&a), "unsubscribe", self.now())
                        .await?;
                }
                self.opt_out(&org, address, "unsubscribe", None).await?;
            }
            None => {
                // Nothing sent yet: the person still said stop.
                self.modify_candidate(&org, &e.candidate_id, opt_out_candidate)
                    .await?;
            }
        }
        self.end_all(
            &org,
            &e.candidate_id,
            EnrollmentStatus::Unsubscribed,
            "unsubscribe",
            None,
        )
        .await?;
        Ok(true)
    }

    /// the sender account's fault (an identity that lost verification, an
    /// authentication refusal): the account goes to `error`, every running
    /// campaign sending from it pauses with `sender_error`, and each affected
    /// project gets one open notification naming the account and the campaigns.
    pub async fn sender_account_failed(
        &self,
        account_id: &outreach_domain::ids::AccountId,
        why: &str,
    ) -> Result<(), Error> {
        let Some((account, _)) = self
            .update_account(account_id, |a| {
                let healthy = !matches!(a.status, AccountStatus::Error | AccountStatus::Removed);
                if healthy {
                    a.status = AccountStatus::Error;
                }
                Ok(healthy)
            })
            .await?
        else {
            return Ok(());
        };
        let campaigns = self.store.campaigns_using(account_id).await?;
        let by_project = self
            .pause_campaigns(&campaigns, PauseReason::SenderError, |_| true)
            .await?;
        for ((org, project), campaigns) in by_project {
            // Issue 19 item 4: the message names at most 20 campaigns and
            // the reason is bounded, so the notification always fits.
            let names = notice::named_campaigns(&campaigns);
            let why = outreach_domain::text::reason(why);
            let notification = Notification {
                id: format!("ntf_{}_{}", account.id, project),
                org_id: org,
                project_id: project,
                kind: "sender_error".into(),
                message: format!(
                    "The email account {} can no longer send ({why}). Paused: {}. Re-link the account to resume them.",
                    account.address, names
                ),
                account_id: Some(account.id.clone()),
                campaign_ids: notice::kept_ids(campaigns),
                created_at: self.now(),
                resolved_at: None,
            };
            self.store.put_notification(&notification).await?;
        }
        Ok(())
    }
}

impl Returns<'_> {
    /// a campaign found running while its sender account is in
    /// error or removed lost the pause that goes with that state (its handler
    /// died between the two writes, or a resume raced the failure): pause it now.
    pub(crate) async fn pause_for_failed_sender(
        &self,
        account: &crate::model::EmailAccount,
    ) -> Result<(), Error> {
        match account.status {
            AccountStatus::Error => {
                self.sender_account_failed(&account.id, "the account is in error")
                    .await
            }
            AccountStatus::Removed => {
                let campaigns = self.store.campaigns_using(&account.id).await?;
                self.change_campaigns(&campaigns, Campaign::pause_for_removed_sender)
                    .await?;
                Ok(())
            }
            AccountStatus::Pending | AccountStatus::Connected => Ok(()),
        }
    }
}

/// the person said stop; `true` when that is news.
fn opt_out_candidate(c: &mut Candidate) -> Result<bool, Error> {
    Ok(!std::mem::replace(&mut c.opted_out, true))
}

fn dedup(mut v: Vec<EmailAddress>) -> Vec<EmailAddress> {
    v.sort();
    v.dedup();
    v
}

/// The name of the record of an address refused in an organization, from the
/// address's keyed hash ([`suppression_key`]).
pub(crate) fn bounced_record(org: &OrgId, hash: &str) -> String {
    format!("bounced:{org}:{hash}")
}
