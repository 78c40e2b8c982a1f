//! The SES events handler: one SNS-delivered SES
//! notification in, its effects applied. The same code serves the Lambda
//! function, the HTTPS webhook and `POST /dev/ses-events`.
//!
//! De-duplication: every effect is a state transition that cannot happen twice
//! (an attempt is delivered or bounced once, a refund has a marker, a
//! suppression entry exists once), so a duplicate or reordered notification
//! changes nothing twice. The `feedbackId` (message id + event type + recipient
//! for deliveries) is recorded once the event was applied, for the record.

use chrono::{DateTime, Duration, Utc};
use outreach_domain::EmailAddress;
use outreach_domain::ids::{CampaignId, EnrollmentId, OrgId};
use outreach_domain::jitter::stable_hash;
use outreach_domain::ses_event::{
    BounceType, MailInfo, SesEvent, SesNotification, parse_notification,
};

use super::Returns;
use crate::error::Error;
use crate::model::MessageRef;
use crate::ports::{Job, WakeUp};
use crate::usecases::returns::ReturnOutcome;
use crate::usecases::returns::reputation::SendOutcome;

/// How long an event about a message not yet recorded keeps being retried.
pub const UNKNOWN_RETRY_WINDOW_MINUTES: i64 = 15;
/// Between two retries of such an event.
const UNKNOWN_RETRY_EVERY_MINUTES: i64 = 1;
/// How long processed-notification markers are kept.
const DEDUPE_TTL_DAYS: i64 = 14;

/// What became of one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SesOutcome {
    /// Applied to these enrollments (duplicates included: nothing changed twice).
    Applied(Vec<ReturnOutcome>),
    /// About a message not recorded yet: retried later.
    RetryLater,
    /// Still unknown after the retry window: recorded and ignored.
    Unknown,
    /// An SNS subscription handshake or an event kind the service does not use.
    Ignored(String),
}

impl Returns<'_> {
    /// Handles an SNS-delivered SES notification received now.
    pub async fn handle_ses_notification(&self, body: &[u8]) -> Result<SesOutcome, Error> {
        self.handle_ses_notification_since(body, self.now()).await
    }

    /// `first_seen` is when the notification first arrived (for the retry window).
    pub(crate) async fn handle_ses_notification_since(
        &self,
        body: &[u8],
        first_seen: DateTime<Utc>,
    ) -> Result<SesOutcome, Error> {
        let notification = parse_notification(body).map_err(|e| {
            tracing::warn!(error = %e, "rejected an SES notification");
            Error::invalid("body", e.to_string())
        })?;
        match notification {
            SesNotification::Confirmation(c) => {
                Ok(SesOutcome::Ignored(format!("SNS {:?} handshake", c.kind)))
            }
            SesNotification::Event { event, .. } => {
                self.apply_ses_event(event, body, first_seen).await
            }
        }
    }

    /// Handles an SES event already read into the domain's type (the Lambda
    /// function's SNS record, parsed once); `raw` is its JSON, kept for a
    /// retry of an event about a message not recorded yet.
    pub async fn handle_ses_event(&self, event: SesEvent, raw: &str) -> Result<SesOutcome, Error> {
        self.apply_ses_event(event, raw.as_bytes(), self.now())
            .await
    }

    /// Applies one SES event: ignored when it concerns no campaign step,
    /// retried while its message is not recorded yet, else applied
    /// once (its de-duplication keys recorded).
    async fn apply_ses_event(
        &self,
        event: SesEvent,
        body: &[u8],
        first_seen: DateTime<Utc>,
    ) -> Result<SesOutcome, Error> {
        let Some(mail) = event.mail() else {
            return Ok(SesOutcome::Ignored(event.kind().to_owned()));
        };
        if matches!(event, SesEvent::Other { .. }) {
            return Ok(SesOutcome::Ignored(event.kind().to_owned()));
        }
        // Mail that is not a campaign step (an account's proof-of-control
        // message, a forwarded reply) says so in its `kind` tag: its events
        // concern no enrollment, and waiting 15 minutes for one would be waste.
        if let Some(kind) = mail.tag("kind") {
            return Ok(SesOutcome::Ignored(format!(
                "{} of a {kind} message",
                event.kind()
            )));
        }
        let Some(base) = self.resolve_message(mail).await? else {
            return self.retry_unknown(body, first_seen).await;
        };
        let outcomes = self.apply_event(&event, &base).await?;
        let expires = self.now() + Duration::days(DEDUPE_TTL_DAYS);
        for key in event.dedupe_keys() {
            self.store.first_time(&key, expires).await?;
        }
        Ok(SesOutcome::Applied(outcomes))
    }

    /// What an event about a known message does: a delivery, a
    /// bounce of each recipient, a complaint.
    async fn apply_event(
        &self,
        event: &SesEvent,
        base: &MessageRef,
    ) -> Result<Vec<ReturnOutcome>, Error> {
        let mut outcomes = Vec::new();
        match event {
            SesEvent::Delivery { recipients, .. } => {
                for to in recipients_or(recipients, base) {
                    outcomes.push(self.delivered(&with_recipient(base, &to)).await?);
                }
            }
            SesEvent::Bounce {
                bounce_type,
                sub_type,
                recipients,
                ..
            } => {
                for r in recipients {
                    let m = with_recipient(base, &r.address);
                    let reason = r
                        .diagnostic
                        .clone()
                        .or_else(|| r.status.clone())
                        .unwrap_or_else(|| format!("{bounce_type:?} {sub_type}"));
                    let outcome = if r.is_auth_failure() {
                        // DMARC/SPF/DKIM refusals are the sender account's fault.
                        self.sender_fault_for_message(&m, &reason).await?
                    } else {
                        match bounce_type {
                            BounceType::Permanent => {
                                self.hard_bounced(&m, &r.address, &reason).await?
                            }
                            // SES could not tell: treated as transient, so a second one counts as hard.
                            BounceType::Transient | BounceType::Undetermined => {
                                self.soft_bounced(&m, &r.address, &reason).await?
                            }
                        }
                    };
                    outcomes.push(outcome);
                }
            }
            SesEvent::Complaint { recipients, .. } => {
                for to in recipients_or(recipients, base) {
                    self.opt_out(&base.org_id, &to, "complaint", Some(&base.enrollment_id))
                        .await?;
                    // the complaint counts on its own enrollment
                    // even when that one had ended already.
                    let now = self.now();
                    self.update_enrollment_with(&base.org_id, &base.enrollment_id, |e| {
                        e.complained_at.is_none() && {
                            e.complained_at = Some(now);
                            true
                        }
                    })
                    .await?;
                    self.reputation_hit(
                        &base.org_id,
                        &base.campaign_id,
                        &base.message_id,
                        SendOutcome::Complained,
                    )
                    .await?;
                    outcomes.push(ReturnOutcome::Applied);
                }
            }
            SesEvent::Other { .. } => {}
        }
        Ok(outcomes)
    }

    /// by the message tags when present, else by the mail service's id.
    async fn resolve_message(&self, mail: &MailInfo) -> Result<Option<MessageRef>, Error> {
        let tagged = (|| {
            Some((
                OrgId::new(mail.tag("org")?),
                CampaignId::new(mail.tag("campaign")?),
                EnrollmentId::new(mail.tag("enrollment")?),
                mail.tag("step")?.parse::<u32>().ok()?,
                mail.tag("attempt")?.parse::<u32>().ok()?,
            ))
        })();
        if let Some((org_id, campaign_id, enrollment_id, step, attempt)) = tagged {
            if let Some(indexed) = self.store.find_message(&mail.message_id).await? {
                return Ok(Some(indexed));
            }
            let Some(e) = self.store.get_enrollment(&org_id, &enrollment_id).await? else {
                return Ok(None);
            };
            let Some(a) = e.value.attempt(step, attempt) else {
                return Ok(None);
            };
            return Ok(Some(MessageRef {
                message_id: mail.message_id.clone(),
                rfc822_message_id: mail.rfc822_message_id.clone().unwrap_or_default(),
                org_id,
                campaign_id,
                enrollment_id,
                step,
                attempt,
                to: a.address.clone(),
                sent_at: a.sent_at.unwrap_or(a.claimed_at),
                account_seq: None,
                org_seq: None,
            }));
        }
        Ok(self.store.find_message(&mail.message_id).await?)
    }

    /// an event about a message not yet recorded is retried with delay
    /// for up to 15 minutes, then recorded as unknown and ignored.
    async fn retry_unknown(
        &self,
        body: &[u8],
        first_seen: DateTime<Utc>,
    ) -> Result<SesOutcome, Error> {
        let now = self.now();
        if now - first_seen >= Duration::minutes(UNKNOWN_RETRY_WINDOW_MINUTES) {
            tracing::warn!(%first_seen, "SES event about an unknown message ignored after the retry window");
            return Ok(SesOutcome::Unknown);
        }
        let payload = String::from_utf8_lossy(body).into_owned();
        let at = now + Duration::minutes(UNKNOWN_RETRY_EVERY_MINUTES);
        let wake_up = WakeUp {
            name: format!(
                "evt-{:016x}-{}",
                stable_hash(&payload, 0, "ses-event"),
                at.timestamp() / 60
            ),
            at,
            job: Job::RetrySesEvent {
                payload,
                first_seen,
            },
        };
        self.scheduler.schedule(&wake_up).await?;
        Ok(SesOutcome::RetryLater)
    }

    /// for the account that sent `m`: the account fails (its campaigns
    /// pause with `sender_error`), and the refused attempt ends `failed` with
    /// the same step due again to the same address as the next attempt
    /// which goes once the account is connected again and its
    /// campaign resumed. The address stays valid: no bounce, no reputation
    /// count, no refund. The pause comes first, so the re-send never finds the
    /// campaign still running on a failed account.
    async fn sender_fault_for_message(
        &self,
        m: &MessageRef,
        why: &str,
    ) -> Result<ReturnOutcome, Error> {
        let Some(campaign) = self
            .campaigns()
            .campaign_by_id(&m.org_id, &m.campaign_id)
            .await?
        else {
            return Ok(ReturnOutcome::Unknown);
        };
        self.sender_account_failed(&campaign.sender_account_id, why)
            .await?;
        let (step, attempt) = (m.step, m.attempt);
        let at = self.now() + self.config.resend_delay;
        let detail = format!(
            "{}: {why} (refused for the sender account; sent again once it is connected)",
            m.to
        );
        let changed = self
            .update_enrollment_with(&m.org_id, &m.enrollment_id, |e| {
                e.fail_for_sender(step, attempt, &detail, at)
            })
            .await?;
        if let Some((e, true)) = changed {
            self.enrollments()
                .record_event(&e, "sender_error", Some(step), Some(detail))
                .await;
        }
        Ok(ReturnOutcome::SenderFault)
    }
}

fn with_recipient(base: &MessageRef, to: &EmailAddress) -> MessageRef {
    MessageRef {
        to: to.clone(),
        ..base.clone()
    }
}

fn recipients_or(recipients: &[EmailAddress], base: &MessageRef) -> Vec<EmailAddress> {
    if recipients.is_empty() {
        vec![base.to.clone()]
    } else {
        recipients.to_vec()
    }
}
