//! The inbound reply handler: a raw message that arrived at the
//! reply domain, classified, matched to enrollments, applied and forwarded.
//! The same code serves the Lambda function and `POST /dev/inbound`.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::{Campaign, CampaignStatus};
use outreach_domain::enrollment::{Enrollment, EnrollmentStatus};
use outreach_domain::ids::{AccountId, EnrollmentId, OrgId};
use outreach_domain::inbound::{
    ClassifiedReply, Inbound, InboundError, InboundKind, ReplyClass, classify_raw_reply,
    parse_inbound,
};
use outreach_domain::jitter::stable_hash;
use outreach_domain::text::{MAX_SUBJECT_CHARS, bounded};
use outreach_domain::token;

use super::Returns;
use super::replies::Arrived;
use crate::error::Error;
use crate::mime::{ForwardedMail, build_forward};
use crate::model::MessageRef;
use crate::ports::{MailerError, OutboundMail, Versioned};
use crate::usecases::campaigns::move_unsent_steps;
use crate::usecases::markers;

/// What the mail service says about the sender: address-based
/// matching trusts `From` only when DMARC passed (SPF and DKIM vouch for some
/// domain, not for the From). Local mode has no verdicts and trusts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdicts {
    /// The mail service's DMARC verdict was `PASS`.
    pub sender_authenticated: bool,
}

/// What an inbound message was and which enrollments it concerned
/// (`POST /dev/inbound` answers it as `views::InboundResultView`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundResult {
    /// `reply`, `auto_reply`, `bounce` or `unmatched`.
    pub kind: &'static str,
    pub enrollment_ids: Vec<EnrollmentId>,
    /// Why an `unmatched` message was not read (`too_complex`: over 25 MB,
    /// nested deeper than 20 levels or more than 500 parts, R-9.6).
    pub reason: Option<&'static str>,
}

impl InboundResult {
    fn unmatched(reason: Option<&'static str>) -> InboundResult {
        InboundResult {
            kind: "unmatched",
            enrollment_ids: Vec::new(),
            reason,
        }
    }
}

/// Cuts the subject to [`MAX_SUBJECT_CHARS`] (with an ellipsis) and drops a
/// `Message-ID` longer than that: it could never be threaded under in a header
/// line (R-12.2), and the reply record keeps it.
fn bound_kept_headers(inbound: &mut Inbound) {
    if let Some(subject) = &inbound.subject
        && subject.chars().count() > MAX_SUBJECT_CHARS
    {
        inbound.subject = Some(bounded(subject, MAX_SUBJECT_CHARS).into_owned());
    }
    if inbound
        .message_id
        .as_ref()
        .is_some_and(|m| m.chars().count() > MAX_SUBJECT_CHARS)
    {
        inbound.message_id = None;
    }
}

/// What a Reply-To token or a threading id names: the one
/// organization and sender account a message can concern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scope {
    org: OrgId,
    account: AccountId,
}

impl Returns<'_> {
    pub async fn handle_inbound(
        &self,
        raw: &[u8],
        verdicts: Verdicts,
    ) -> Result<InboundResult, Error> {
        self.handle_inbound_stored(raw, verdicts, None).await
    }

    /// [`Returns::handle_inbound`] of a message kept at `raw_ref` (the
    /// inbound bucket's `s3://bucket/key` in AWS), which its reply records
    /// name for the campaign's and the sender account's owners.
    pub async fn handle_inbound_stored(
        &self,
        raw: &[u8],
        verdicts: Verdicts,
        raw_ref: Option<&str>,
    ) -> Result<InboundResult, Error> {
        let today = self.now().date_naive();
        let mut inbound = match parse_inbound(raw, today) {
            Ok(inbound) => inbound,
            Err(InboundError::TooComplex) => {
                // recorded for the operator, not parsed any further.
                tracing::warn!(bytes = raw.len(), "inbound message unmatched: too_complex");
                return Ok(InboundResult::unmatched(Some("too_complex")));
            }
            Err(e) => {
                tracing::warn!(error = %e, "rejected an inbound message");
                return Err(Error::invalid("body", e.to_string()));
            }
        };
        // Issue 19 item 4: what is kept of the message (the reply record's
        // subject and Message-ID, the event's detail, the forward's Subject)
        // is bounded, so the records always fit the item limit.
        bound_kept_headers(&mut inbound);
        if self.is_own_mail(&inbound) {
            // Never act on, or forward, what the service itself sent (no loops).
            return Ok(InboundResult::unmatched(None));
        }
        if inbound.kind == InboundKind::Bounce {
            return self.inbound_bounce(&inbound).await;
        }
        let matched = self.match_inbound(&inbound, verdicts).await?;
        if matched.is_empty() {
            tracing::info!(
                kind = inbound.kind.as_str(),
                "inbound message unmatched: no token or threading id of ours"
            );
            return Ok(InboundResult::unmatched(None));
        }
        let mut ids = Vec::new();
        for (org, id) in &matched {
            match inbound.kind {
                InboundKind::Reply => self.reply_received(org, id, &inbound).await?,
                _ => self.auto_reply_received(org, id, &inbound).await?,
            }
            ids.push(id.clone());
        }
        // kept and classed once every matched enrollment has
        // ended `replied`, so that an `opt_out` ends only the others.
        let classified = classify_raw_reply(raw).unwrap_or_else(|_| ClassifiedReply {
            text: String::new(),
            class: ReplyClass::Other,
        });
        let kept = match raw_ref {
            Some(_) => None,
            None => self.keep_raw(raw).await,
        };
        let arrived = Arrived {
            raw,
            inbound: &inbound,
            classified: &classified,
            raw_ref: raw_ref.or(kept.as_deref()),
        };
        for (org, id) in &matched {
            self.record_reply(org, id, &arrived).await?;
        }
        self.forward_once(raw, &inbound, &matched).await?;
        Ok(InboundResult {
            kind: inbound.kind.as_str(),
            enrollment_ids: ids,
            reason: None,
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

    /// The enrollment a Reply-To token names, whatever case the token arrives
    /// in (R-9.6; tokens issued as mixed-case base64 are found as written).
    async fn enrollment_by_reply_token(
        &self,
        presented: &str,
    ) -> Result<Option<Versioned<Enrollment>>, Error> {
        for key in token::lookup_forms(presented) {
            if let Some((org, id)) = self.store.find_token(&key).await?
                && let Some(e) = self.store.get_enrollment(&org, &id).await?
                && token::same_token(&e.value.reply_token, presented)
            {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// The sender account an enrollment's campaign sends from.
    async fn sender_of(&self, e: &Enrollment) -> Result<Option<AccountId>, Error> {
        Ok(self
            .campaigns()
            .campaign_by_id(&e.org_id, &e.campaign_id)
            .await?
            .map(|c| c.sender_account_id))
    }

    /// the token (first) or a threading id (`In-Reply-To`, then
    /// `References` newest first) names enrollments, and with them the scope.
    /// Only tokens of the same organization and sender account as the first
    /// one count; threading ids count only when no token does.
    async fn named_by_message(
        &self,
        inbound: &Inbound,
    ) -> Result<Option<(Scope, Vec<(OrgId, EnrollmentId)>)>, Error> {
        let mut scope: Option<Scope> = None;
        let mut named = Vec::new();
        for presented in inbound.reply_tokens(&self.config.reply_domain) {
            let Some(e) = self.enrollment_by_reply_token(&presented).await? else {
                continue;
            };
            let Some(account) = self.sender_of(&e.value).await? else {
                continue;
            };
            let this = Scope {
                org: e.value.org_id.clone(),
                account,
            };
            if scope.as_ref().is_some_and(|s| *s != this) {
                continue;
            }
            scope = Some(this);
            push_unique(&mut named, (e.value.org_id, e.value.id));
        }
        if scope.is_none() {
            for id in inbound
                .in_reply_to
                .iter()
                .chain(inbound.references.iter().rev())
            {
                let Some(m) = self.store.find_message(id).await? else {
                    continue;
                };
                let Some(campaign) = self
                    .campaigns()
                    .campaign_by_id(&m.org_id, &m.campaign_id)
                    .await?
                else {
                    continue;
                };
                scope = Some(Scope {
                    org: m.org_id.clone(),
                    account: campaign.sender_account_id,
                });
                named.push((m.org_id, m.enrollment_id));
                break;
            }
        }
        Ok(scope.map(|s| (s, named)))
    }

    /// in order: the Reply-To token; a threading id of a message this
    /// service sent; the sender being an address an enrollment sent to; the
    /// sender being any address of a candidate (every running enrollment of
    /// that candidate ends). The first two name the organization and sender
    /// account; the two address rules, each on its own, add only running
    /// enrollments of that organization sent from that account, and only when
    /// DMARC vouches for the From. Neither token nor threading id: nothing.
    async fn match_inbound(
        &self,
        inbound: &Inbound,
        verdicts: Verdicts,
    ) -> Result<Vec<(OrgId, EnrollmentId)>, Error> {
        let Some((scope, mut found)) = self.named_by_message(inbound).await? else {
            return Ok(Vec::new());
        };
        let Some(from) = inbound
            .from
            .as_ref()
            .filter(|_| verdicts.sender_authenticated)
        else {
            return Ok(found);
        };
        // The sender is an address an enrollment sent to.
        for m in self.store.messages_to(from, 50).await? {
            if m.org_id == scope.org && self.is_running_in_scope(&scope, &m.enrollment_id).await? {
                push_unique(&mut found, (m.org_id, m.enrollment_id));
            }
        }
        // The sender is one of a candidate's addresses.
        for candidate in self.store.candidates_with_address(&scope.org, from).await? {
            for id in self
                .store
                .enrollments_of_candidate_in_org(&scope.org, &candidate)
                .await?
            {
                if self.is_running_in_scope(&scope, &id).await? {
                    push_unique(&mut found, (scope.org.clone(), id));
                }
            }
        }
        Ok(found)
    }

    /// A running enrollment of the scope's organization sent from its account:
    /// not ended, of a campaign started (running or paused; a draft's
    /// enrollments have sent nothing to reply to).
    async fn is_running_in_scope(&self, scope: &Scope, id: &EnrollmentId) -> Result<bool, Error> {
        let Some(e) = self.store.get_enrollment(&scope.org, id).await? else {
            return Ok(false);
        };
        if e.value.is_ended() {
            return Ok(false);
        }
        let campaign = self
            .campaigns()
            .campaign_by_id(&e.value.org_id, &e.value.campaign_id)
            .await?;
        Ok(campaign.is_some_and(|c| {
            c.status != CampaignStatus::Draft && c.sender_account_id == scope.account
        }))
    }

    /// a reply ends the enrollment `replied` (a `finished` one too) and cancels its later steps.
    async fn reply_received(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
        inbound: &Inbound,
    ) -> Result<(), Error> {
        let now = self.now();
        let changed = self
            .update_enrollment_with(org, id, |e| {
                e.accepts_returns() && e.end(EnrollmentStatus::Replied, now).is_ok()
            })
            .await?;
        if let Some((e, true)) = changed {
            let subject = inbound.subject.clone().unwrap_or_default();
            self.enrollments()
                .record_event(&e, "replied", None, Some(format!("reply: {subject}")))
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
    ) -> Result<(), Error> {
        let Some(e) = self.store.get_enrollment(org, id).await? else {
            return Ok(());
        };
        let detail = match inbound.return_date {
            Some(d) => format!("automatic reply; back on {d}"),
            None => "automatic reply".to_owned(),
        };
        self.enrollments()
            .record_event(&e.value, "auto_reply", None, Some(detail))
            .await;
        let Some(back) = inbound.return_date else {
            return Ok(());
        };
        let Some(campaign) = self
            .campaigns()
            .campaign_by_id(org, &e.value.campaign_id)
            .await?
        else {
            return Ok(());
        };
        let zone = self.campaigns().plan_zone(&campaign, &e.value).await?;
        self.update_enrollment_with(org, id, |e| hold_until(e, back, &campaign, zone))
            .await?;
        Ok(())
    }

    /// a delivery-status notification at the reply domain is a bounce,
    /// but anyone can write one: it counts only within the enrollment its
    /// token or threading id names, for an address that message went to. A
    /// permanent status other than 5.7.x bounces that step (re-sent to the
    /// next address R-7 allows, or the enrollment ends `bounced`); a transient
    /// or 5.7.x status is only recorded. Never an organization-wide bounce, a
    /// refund, a reputation count or a sender pause: those follow only the
    /// mail service's own notifications.
    async fn inbound_bounce(&self, inbound: &Inbound) -> Result<InboundResult, Error> {
        let none = InboundResult {
            kind: "bounce",
            enrollment_ids: Vec::new(),
            reason: None,
        };
        let Some(bounce) = &inbound.bounce else {
            return Ok(none);
        };
        let Some(m) = self.message_a_bounce_names(inbound).await? else {
            return Ok(none);
        };
        if !bounce.recipients.is_empty() && !bounce.recipients.contains(&m.to) {
            // It names someone the message did not go to.
            return Ok(none);
        }
        let reason = bounce
            .status
            .clone()
            .unwrap_or_else(|| "bounce report at the reply domain".into());
        let counts = bounce.permanent && !bounce.is_auth_failure();
        let (step, attempt) = (m.step, m.attempt);
        let now = self.now();
        let resend_at = now + self.config.resend_delay;
        let detail = format!("{}: {reason} (report at the reply domain)", m.to);
        if counts {
            let changed = self
                .update_enrollment_with(&m.org_id, &m.enrollment_id, |e| {
                    e.bounce_attempt(step, attempt, &detail, now, resend_at)
                })
                .await?;
            if let Some((e, true)) = changed {
                self.enrollments()
                    .record_event(&e, "bounced", Some(step), Some(detail))
                    .await;
            }
        } else if let Some(e) = self
            .store
            .get_enrollment(&m.org_id, &m.enrollment_id)
            .await?
        {
            self.enrollments()
                .record_event(&e.value, "bounce_report", Some(step), Some(detail))
                .await;
        }
        Ok(InboundResult {
            kind: "bounce",
            enrollment_ids: vec![m.enrollment_id],
            reason: None,
        })
    }

    /// The sent message a bounce report refers to: by the Reply-To
    /// token (which wins), else by a threading id — the returned original's
    /// Message-ID, `In-Reply-To`, `References`. With a token, a threading id
    /// picks the attempt only among that enrollment's own messages.
    async fn message_a_bounce_names(&self, inbound: &Inbound) -> Result<Option<MessageRef>, Error> {
        let Some(bounce) = &inbound.bounce else {
            return Ok(None);
        };
        let mut by_token = None;
        for presented in inbound.reply_tokens(&self.config.reply_domain) {
            if let Some(e) = self.enrollment_by_reply_token(&presented).await? {
                by_token = Some(e.value);
                break;
            }
        }
        let thread_ids = bounce
            .original_message_id
            .iter()
            .chain(&inbound.in_reply_to)
            .chain(inbound.references.iter().rev());
        for id in thread_ids {
            let Some(m) = self.store.find_message(id).await? else {
                continue;
            };
            match &by_token {
                Some(e) if m.org_id != e.org_id || m.enrollment_id != e.id => continue,
                _ => return Ok(Some(m)),
            }
        }
        Ok(by_token.and_then(|e| latest_message(&e, &bounce.recipients)))
    }

    /// forwarded once per inbound message, once to each address: the
    /// notification addresses of the sender account's owner and of the
    /// campaign's owner of every enrollment it matched; never when it came from
    /// any of those owners' addresses or a sender account's own (no loops).
    async fn forward_once(
        &self,
        raw: &[u8],
        inbound: &Inbound,
        matched: &[(OrgId, EnrollmentId)],
    ) -> Result<(), Error> {
        let Some((first_org, _)) = matched.first() else {
            return Ok(());
        };
        let key = match &inbound.message_id {
            Some(mid) => format!("fwd:{mid}"),
            None => format!(
                "fwd:{:016x}",
                stable_hash(&String::from_utf8_lossy(raw), 0, "forward")
            ),
        };
        let Owners {
            recipients,
            mut owners,
            campaign_names,
        } = self.owners_of(matched).await?;
        owners.extend(recipients.iter().cloned());
        if let Some(from) = &inbound.from
            && owners.contains(from)
        {
            tracing::info!("a matched message from an owner's address is not forwarded");
            return Ok(());
        }
        if recipients.is_empty() {
            return Ok(());
        }
        let subject = format!(
            "Reply from a candidate: {}",
            inbound.subject.clone().unwrap_or_default()
        );
        let names: Vec<String> = campaign_names.iter().map(|n| format!("“{n}”")).collect();
        let note = format!(
            "A candidate of the campaign {} wrote back. Their message is attached; replying to this email answers them.",
            names.join(", ")
        );
        self.forward_to(raw, inbound, first_org, &key, &recipients, &subject, &note)
            .await
    }

    /// Sends the forward to each of `recipients` that has not had it yet
    /// (`key` names the reply); a throttled one is owed, and fails the call.
    #[allow(clippy::too_many_arguments)]
    async fn forward_to(
        &self,
        raw: &[u8],
        inbound: &Inbound,
        first_org: &OrgId,
        key: &str,
        recipients: &BTreeSet<EmailAddress>,
        subject: &str,
        note: &str,
    ) -> Result<(), Error> {
        let from = self.reply_address();
        let mut deferred = 0;
        for to in recipients {
            // Marked once it left (or can never leave): a redelivery of the
            // reply forwards only what is still owed (issue 18).
            let sent_key = format!("{key}:{}", self.suppression_key(to));
            if markers::is_marked(self.store.as_ref(), &sent_key, self.now()).await? {
                continue;
            }
            let raw_forward = build_forward(&ForwardedMail {
                from: &from,
                to,
                reply_to: inbound.from.as_ref(),
                subject,
                note,
                original: raw,
                date: self.now(),
            });
            let mail = OutboundMail {
                from: from.clone(),
                to: to.clone(),
                subject: subject.to_owned(),
                raw: raw_forward,
                tags: vec![
                    ("kind".into(), "forward".into()),
                    ("org".into(), first_org.to_string()),
                ],
            };
            match self.mailer.send(&mail).await {
                Err(err @ MailerError::Deferred(_)) => {
                    // Provably not accepted (throttled): owed, tried again.
                    self.log_forward_failure(to, &err);
                    deferred += 1;
                    continue;
                }
                Err(err) => self.log_forward_failure(to, &err),
                Ok(_) => {}
            }
            let until = self.now() + Duration::days(30);
            markers::mark(self.store.as_ref(), &sent_key, until).await?;
        }
        if deferred > 0 {
            // The reply itself is recorded (idempotently); failing the
            // delivery makes SNS / Lambda deliver it again for the forward.
            return Err(Error::Unavailable {
                detail: format!(
                    "{deferred} forward(s) of a reply were deferred by the mail service"
                ),
                retry_after_s: 60,
            });
        }
        Ok(())
    }

    /// Who a reply to the matched enrollments goes to: the
    /// notification addresses of each sender account's owner and each
    /// campaign's owner; and every owner's address, whose mail is never
    /// forwarded (no loops).
    async fn owners_of(&self, matched: &[(OrgId, EnrollmentId)]) -> Result<Owners, Error> {
        let mut found = Owners::default();
        for (org, id) in matched {
            let Some(e) = self.store.get_enrollment(org, id).await? else {
                continue;
            };
            let Some(campaign) = self
                .campaigns()
                .campaign_by_id(org, &e.value.campaign_id)
                .await?
            else {
                continue;
            };
            if let Some(account) = self.store.get_account(&campaign.sender_account_id).await? {
                let account = account.value;
                found.owners.insert(account.address.clone());
                if let Some(p) = self
                    .store
                    .get_user(&account.org_id, &account.owner_id)
                    .await?
                    && let Some(a) = p.notification_address
                {
                    found.recipients.insert(a);
                }
            }
            if let Some(p) = self.store.get_user(org, &campaign.owner_id).await?
                && let Some(a) = p.notification_address
            {
                found.recipients.insert(a);
            }
            if !found.campaign_names.contains(&campaign.name) {
                found.campaign_names.push(campaign.name);
            }
        }
        Ok(found)
    }

    /// Addresses stay out of logs: the recipient by its keyed hash,
    /// the error by its kind (the service's text may quote the address).
    fn log_forward_failure(&self, to: &EmailAddress, err: &MailerError) {
        let key = self.suppression_key(to);
        let kind = match err {
            MailerError::SenderFault(_) => "sender_fault",
            MailerError::Deferred(_) => "deferred",
            MailerError::Unconfirmed(_) => "unconfirmed",
            MailerError::RecipientRefused(_) => "recipient_refused",
        };
        tracing::warn!(
            recipient = &key[..16],
            error = kind,
            "could not forward a reply"
        );
    }
}

/// The people behind the enrollments a reply matched.
#[derive(Default)]
struct Owners {
    /// Where the reply is forwarded.
    recipients: BTreeSet<EmailAddress>,
    /// The sender accounts' own addresses.
    owners: BTreeSet<EmailAddress>,
    campaign_names: Vec<String>,
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
