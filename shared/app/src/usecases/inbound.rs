//! The inbound reply handler: a raw message that arrived at the
//! reply domain, classified, matched to enrollments, applied and forwarded.
//! The same code serves the Lambda function and `POST /dev/inbound`.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::{Enrollment, EnrollmentStatus};
use outreach_domain::ids::{EnrollmentId, OrgId};
use outreach_domain::inbound::{Inbound, InboundKind, parse_inbound};
use outreach_domain::jitter::stable_hash;

use crate::error::ApiError;
use crate::mime::{ForwardedMail, build_forward};
use crate::model::MessageRef;
use crate::ports::OutboundMail;
use crate::service::Service;
use crate::usecases::campaigns::move_unsent_steps;

/// What the mail service says about the sender: address-based
/// matching trusts `From` only when SPF, DKIM or DMARC passed. Local mode has no
/// verdicts and trusts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdicts {
    pub sender_authenticated: bool,
}

/// `POST /dev/inbound`'s answer (Appendix A).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct InboundResult {
    /// `reply`, `auto_reply`, `bounce` or `unmatched`.
    pub kind: &'static str,
    #[schema(value_type = Vec<String>)]
    pub enrollment_ids: Vec<EnrollmentId>,
}

impl Service {
    pub async fn handle_inbound(
        &self,
        raw: &[u8],
        verdicts: Verdicts,
    ) -> Result<InboundResult, ApiError> {
        let today = self.now().date_naive();
        let inbound = parse_inbound(raw, today).map_err(|e| {
            tracing::warn!(error = %e, "rejected an inbound message");
            ApiError::invalid("body", e.to_string())
        })?;
        if self.is_own_mail(&inbound) {
            // Never act on, or forward, what the service itself sent (no loops).
            return Ok(InboundResult {
                kind: "unmatched",
                enrollment_ids: Vec::new(),
            });
        }
        if inbound.kind == InboundKind::Bounce {
            return self.inbound_bounce(&inbound).await;
        }
        let matched = self.match_inbound(&inbound, verdicts).await?;
        if matched.is_empty() {
            return Ok(InboundResult {
                kind: "unmatched",
                enrollment_ids: Vec::new(),
            });
        }
        let mut ids = Vec::new();
        for (org, id) in &matched {
            match inbound.kind {
                InboundKind::Reply => self.reply_received(org, id, &inbound).await?,
                _ => self.auto_reply_received(org, id, &inbound).await?,
            }
            ids.push(id.clone());
        }
        self.forward_once(raw, &inbound, &matched).await?;
        Ok(InboundResult {
            kind: inbound.kind.as_str(),
            enrollment_ids: ids,
        })
    }

    fn reply_address(&self) -> EmailAddress {
        EmailAddress::parse(&format!("notifications@{}", self.config.reply_domain))
            .unwrap_or_else(|_| EmailAddress::parse("notifications@reply.invalid").expect("valid"))
    }

    fn is_own_mail(&self, inbound: &Inbound) -> bool {
        let forwarded = inbound
            .auto_submitted
            .as_deref()
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("auto-forwarded"));
        let from_reply_domain = inbound
            .from
            .as_ref()
            .is_some_and(|f| f.domain().eq_ignore_ascii_case(&self.config.reply_domain));
        forwarded || from_reply_domain
    }

    /// in order: the Reply-To token; a threading id of a message this
    /// service sent; the sender being an address the enrollment sent to; then
    /// every running enrollment of that candidate from the same sender account
    /// when the sender is one of the candidate's addresses.
    async fn match_inbound(
        &self,
        inbound: &Inbound,
        verdicts: Verdicts,
    ) -> Result<Vec<(OrgId, EnrollmentId)>, ApiError> {
        let mut found: Vec<(OrgId, EnrollmentId)> = Vec::new();
        for token in inbound.reply_tokens(&self.config.reply_domain) {
            if let Some((org, id)) = self.store.find_token(&token).await?
                && let Some(e) = self.store.get_enrollment(&org, &id).await?
                && e.value.reply_token == token
            {
                push_unique(&mut found, (org, id));
            }
        }
        if found.is_empty() {
            for id in inbound
                .in_reply_to
                .iter()
                .chain(inbound.references.iter().rev())
            {
                if let Some(m) = self.store.find_message(id).await? {
                    push_unique(&mut found, (m.org_id, m.enrollment_id));
                    break;
                }
            }
        }
        let trusted_from = inbound
            .from
            .as_ref()
            .filter(|_| verdicts.sender_authenticated);
        if found.is_empty()
            && let Some(from) = trusted_from
        {
            for m in self.store.messages_to(from, 50).await? {
                push_unique(&mut found, (m.org_id, m.enrollment_id));
            }
        }
        // The sender is one of the candidate's addresses: every running
        // enrollment of that candidate from the same sender account ends too.
        if let Some(from) = trusted_from {
            let primary = found.clone();
            for (org, id) in primary {
                let Some(e) = self.store.get_enrollment(&org, &id).await? else {
                    continue;
                };
                let Some(candidate) = self
                    .store
                    .get_candidate(&org, &e.value.candidate_id)
                    .await?
                else {
                    continue;
                };
                if !candidate.value.emails.iter().any(|c| &c.address == from) {
                    continue;
                }
                let Some(campaign) = self.campaign_by_id(&org, &e.value.campaign_id).await? else {
                    continue;
                };
                for other in self
                    .store
                    .enrollments_of_candidate_in_org(&org, &e.value.candidate_id)
                    .await?
                {
                    let Some(o) = self.store.get_enrollment(&org, &other).await? else {
                        continue;
                    };
                    if o.value.is_ended() {
                        continue;
                    }
                    let same_sender = self
                        .campaign_by_id(&org, &o.value.campaign_id)
                        .await?
                        .is_some_and(|c| c.sender_account_id == campaign.sender_account_id);
                    if same_sender {
                        push_unique(&mut found, (org.clone(), other));
                    }
                }
            }
        }
        Ok(found)
    }

    /// a reply ends the enrollment `replied` (a `finished` one too) and cancels its later steps.
    async fn reply_received(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
        inbound: &Inbound,
    ) -> Result<(), ApiError> {
        let now = self.now();
        let changed = self
            .update_enrollment_with(org, id, |e| {
                e.accepts_returns() && e.end(EnrollmentStatus::Replied, now).is_ok()
            })
            .await?;
        if let Some((e, true)) = changed {
            let subject = inbound.subject.clone().unwrap_or_default();
            self.record_event(&e, "replied", None, Some(format!("reply: {subject}")))
                .await;
        }
        Ok(())
    }

    /// an automatic reply is recorded; a readable return date holds the
    /// next step until the first slot after it, its time of day kept.
    async fn auto_reply_received(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
        inbound: &Inbound,
    ) -> Result<(), ApiError> {
        let Some(e) = self.store.get_enrollment(org, id).await? else {
            return Ok(());
        };
        let detail = match inbound.return_date {
            Some(d) => format!("automatic reply; back on {d}"),
            None => "automatic reply".to_owned(),
        };
        self.record_event(&e.value, "auto_reply", None, Some(detail))
            .await;
        let Some(back) = inbound.return_date else {
            return Ok(());
        };
        let Some(campaign) = self.campaign_by_id(org, &e.value.campaign_id).await? else {
            return Ok(());
        };
        let zone = self.plan_zone(&campaign, &e.value).await?;
        self.update_enrollment_with(org, id, |e| hold_until(e, back, &campaign, zone))
            .await?;
        Ok(())
    }

    /// a delivery-status notification at the reply domain is a bounce.
    async fn inbound_bounce(&self, inbound: &Inbound) -> Result<InboundResult, ApiError> {
        let Some(bounce) = &inbound.bounce else {
            return Ok(InboundResult {
                kind: "bounce",
                enrollment_ids: Vec::new(),
            });
        };
        let mut refs: Vec<MessageRef> = Vec::new();
        if let Some(id) = &bounce.original_message_id
            && let Some(m) = self.store.find_message(id).await?
        {
            refs.push(m);
        }
        if refs.is_empty() {
            for token in inbound.reply_tokens(&self.config.reply_domain) {
                let Some((org, id)) = self.store.find_token(&token).await? else {
                    continue;
                };
                let Some(e) = self.store.get_enrollment(&org, &id).await? else {
                    continue;
                };
                if let Some(m) = latest_message(&e.value, &bounce.recipients) {
                    refs.push(m);
                }
            }
        }
        let mut ids = Vec::new();
        for m in refs {
            let failed: Vec<EmailAddress> = if bounce.recipients.is_empty() {
                vec![m.to.clone()]
            } else {
                bounce.recipients.clone()
            };
            for address in failed.iter().filter(|a| **a == m.to) {
                let reason = bounce
                    .status
                    .clone()
                    .unwrap_or_else(|| "bounce report at the reply domain".into());
                if bounce.is_auth_failure() {
                    if let Some(c) = self.campaign_by_id(&m.org_id, &m.campaign_id).await? {
                        self.sender_account_failed(&c.sender_account_id, &reason)
                            .await?;
                    }
                } else if bounce.permanent {
                    self.hard_bounced(&m, address, &reason).await?;
                } else {
                    self.soft_bounced(&m, address, &reason).await?;
                }
            }
            ids.push(m.enrollment_id.clone());
        }
        Ok(InboundResult {
            kind: "bounce",
            enrollment_ids: ids,
        })
    }

    /// forwarded once per inbound message to the notification addresses
    /// of the sender account's owner and of the campaign's owner, never back to
    /// its own author.
    async fn forward_once(
        &self,
        raw: &[u8],
        inbound: &Inbound,
        matched: &[(OrgId, EnrollmentId)],
    ) -> Result<(), ApiError> {
        let Some((org, id)) = matched.first() else {
            return Ok(());
        };
        let key = match &inbound.message_id {
            Some(mid) => format!("fwd:{mid}"),
            None => format!(
                "fwd:{:016x}",
                stable_hash(&String::from_utf8_lossy(raw), 0, "forward")
            ),
        };
        let Some(e) = self.store.get_enrollment(org, id).await? else {
            return Ok(());
        };
        let Some(campaign) = self.campaign_by_id(org, &e.value.campaign_id).await? else {
            return Ok(());
        };
        let mut recipients: BTreeSet<EmailAddress> = BTreeSet::new();
        if let Some(account) = self.store.get_account(&campaign.sender_account_id).await?
            && let Some(p) = self
                .store
                .get_user(&account.value.org_id, &account.value.owner_id)
                .await?
            && let Some(a) = p.notification_address
        {
            recipients.insert(a);
        }
        if let Some(p) = self.store.get_user(org, &campaign.owner_id).await?
            && let Some(a) = p.notification_address
        {
            recipients.insert(a);
        }
        if let Some(from) = &inbound.from {
            recipients.remove(from);
        }
        if recipients.is_empty()
            || !self
                .store
                .first_time(&key, self.now() + Duration::days(30))
                .await?
        {
            return Ok(());
        }
        let subject = format!(
            "Reply from a candidate: {}",
            inbound.subject.clone().unwrap_or_default()
        );
        let note = format!(
            "A candidate of the campaign “{}” wrote back. Their message is attached; replying to this email answers them.",
            campaign.name
        );
        let from = self.reply_address();
        for to in &recipients {
            let raw_forward = build_forward(&ForwardedMail {
                from: &from,
                to,
                reply_to: inbound.from.as_ref(),
                subject: &subject,
                note: &note,
                original: raw,
                date: self.now(),
            });
            let mail = OutboundMail {
                from: from.clone(),
                to: to.clone(),
                subject: subject.clone(),
                raw: raw_forward,
                tags: vec![
                    ("kind".into(), "forward".into()),
                    ("org".into(), org.to_string()),
                ],
            };
            if let Err(err) = self.mailer.send(&mail).await {
                tracing::warn!(%to, error = %err, "could not forward a reply");
            }
        }
        Ok(())
    }
}

fn push_unique(v: &mut Vec<(OrgId, EnrollmentId)>, item: (OrgId, EnrollmentId)) {
    if !v.contains(&item) {
        v.push(item);
    }
}

/// The latest handed-off attempt of an enrollment to one of `to` (any when empty).
fn latest_message(e: &Enrollment, to: &[EmailAddress]) -> Option<MessageRef> {
    e.steps
        .iter()
        .flat_map(|s| s.attempts.iter().map(move |a| (s.index, a)))
        .filter(|(_, a)| a.sent_at.is_some() && (to.is_empty() || to.contains(&a.address)))
        .max_by_key(|(_, a)| a.sent_at)
        .map(|(step, a)| MessageRef {
            message_id: a.message_id.clone().unwrap_or_default(),
            rfc822_message_id: a.rfc822_message_id.clone().unwrap_or_default(),
            org_id: e.org_id.clone(),
            campaign_id: e.campaign_id.clone(),
            enrollment_id: e.id.clone(),
            step,
            attempt: a.number,
            to: a.address.clone(),
            sent_at: a.sent_at.unwrap_or(a.claimed_at),
            account_seq: None,
            org_seq: None,
        })
}

/// Moves the next step so that it goes out on or after `back`, keeping its
/// local time of day, and plans the steps after it from there by the rules of
/// R-6 (weekends skipped, order kept).
fn hold_until(
    e: &mut Enrollment,
    back: NaiveDate,
    campaign: &Campaign,
    zone: outreach_domain::Zone,
) -> bool {
    if !e.may_send() || e.resend.is_some() {
        return false;
    }
    let Some(next) = e.next().and_then(|s| s.planned_at) else {
        return false;
    };
    let local = next.with_timezone(&zone.tz());
    if local.date_naive() >= back {
        return false;
    }
    let start = e.plan_start.unwrap_or(next);
    move_unsent_steps(e, campaign, zone, start, back, local.time())
}
