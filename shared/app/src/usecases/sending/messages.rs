//! Single messages: one message to one candidate, sent at once, from any
//! sender account the user may use. A single message rides on a one-step
//! campaign of kind `single` (in no project), so the claim, the headers of
//! R-8 and everything of R-9 apply to it unchanged. It is recorded first and
//! then handed off through the Queue port: onto the send queue in AWS (§15,
//! the answer says `queued`), within the request locally.

use chrono::{DateTime, Utc};
use outreach_domain::EmailAddress;
use outreach_domain::Zone;
use outreach_domain::campaign::{Campaign, CampaignKind, CampaignStatus, StepSpec, WhenToSend};
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::{Enrollment, NewEnrollment, ReservedSlot};
use outreach_domain::ids::{AccountId, CampaignId, OrgId, ProjectId};
use outreach_domain::render::RenderError;

use super::Sending;
use super::daily_limit::Room;
use crate::auth::Identity;
use crate::error::Error;
use crate::model::{AccountStatus, EmailAccount};
use crate::ports::{Activity, RevealOutcome, SendHandoff, StoreError, WakeUp};
use crate::retry::{Attempt, retry_versioned};
use crate::usecases::catalog::validate_steps;
use crate::usecases::enrollments::enrollment_id;
use crate::usecases::sending::render_enrollment_step;

/// A single message: from a template's step or a subject and body.
#[derive(Debug)]
pub struct NewMessage {
    /// May be omitted when answering a reply.
    pub sender_account_id: Option<String>,
    pub template_id: Option<String>,
    /// 1-based; defaults to the template's first step.
    pub step_index: Option<u32>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub address: Option<String>,
    /// The reply this message answers.
    pub in_reply_to: Option<String>,
}

/// What answering a reply fixes: the sender account of the
/// enrollment or message replied to, the address the reply came from, the
/// thread and the subject.
struct Answer {
    /// The reply answered: marked answered once the answer is recorded.
    reply_id: String,
    account_id: String,
    address: String,
    thread: Vec<String>,
    subject: String,
}

/// `subject` with "Re: " in front, unless it has it already.
fn re(subject: &str) -> String {
    let s = subject.trim();
    if s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("re:")) {
        s.to_owned()
    } else {
        format!("Re: {s}")
    }
}

impl Sending<'_> {
    /// Sends one message now (no grace, R-12). The answer carries the enrollment
    /// that stands for the message, its step and the mail service's id.
    pub async fn send_single(
        &self,
        who: &Identity,
        candidate_id: &str,
        input: NewMessage,
    ) -> Result<(Campaign, Enrollment), Error> {
        self.ensure_org(&who.org_id).await?;
        let (account, candidate, answer) = self.message_sender(who, candidate_id, &input).await?;
        if candidate.opted_out {
            return Err(Error::invalid(
                "candidate_id",
                "the candidate opted out of this organization's mail (R-9.5)",
            ));
        }
        let mut step = self.single_step(who, &input).await?;
        if let Some(a) = &answer {
            step.subject = Some(a.subject.clone());
        }
        validate_single(&step)?;
        let address = answer
            .as_ref()
            .map(|a| a.address.as_str())
            .or(input.address.as_deref())
            .map(|raw| chosen_address(who, &candidate, raw))
            .transpose()?;
        let suppressed = self
            .catalog()
            .suppressed_addresses(&who.org_id, &candidate)
            .await?;
        if address.as_ref().is_some_and(|a| suppressed.contains(a)) {
            return Err(Error::invalid(
                "address",
                "the address is on the organization's suppression list (R-9.5)",
            ));
        }
        let now = self.now();
        let profile = self.accounts().me(who).await?;
        let mut campaign = self.single_campaign(who, &account, step, profile.timezone, now);
        campaign.template_id = input.template_id.clone();
        let mut enrollment = Enrollment::new(NewEnrollment {
            id: enrollment_id(&campaign.id, &candidate.id),
            org_id: who.org_id.clone(),
            campaign_id: campaign.id.clone(),
            candidate_id: candidate.id.clone(),
            step_count: 1,
            pinned_address: None,
            reply_token: self.ids.token(),
            unsubscribe_token: self.ids.token(),
            now,
        });
        enrollment.override_address = address;
        let answered = answer.as_ref().map(|a| a.reply_id.clone());
        enrollment.thread = answer.map(|a| a.thread).unwrap_or_default();
        // a message over a render budget is refused now rather than
        // stored to be blocked (`render_limit`) by the send that follows.
        if let Err(RenderError::Budget(why)) =
            render_enrollment_step(&campaign, &account, &candidate, &enrollment, 1)
        {
            let field = match input.body {
                Some(_) => "body",
                None => "template_id",
            };
            return Err(Error::invalid(
                field,
                format!("render_limit: the message exceeds its render budget ({why})"),
            ));
        }
        let Some(to) = self.address_for(&campaign, &candidate, &enrollment, &suppressed) else {
            return Err(Error::invalid(
                "address",
                "no address of this candidate can receive mail (R-7.3)",
            ));
        };
        // Its send reads everything in one batch (issue 20).
        enrollment.planned = Some(super::planned_send(to, &account));
        self.send_now(who, &account, campaign, enrollment, answered, now)
            .await
    }

    /// The sender account, candidate and answered reply of a message: the
    /// account given, or the one of the enrollment or message a
    /// reply answers, under sender rights.
    async fn message_sender(
        &self,
        who: &Identity,
        candidate_id: &str,
        input: &NewMessage,
    ) -> Result<(EmailAccount, Candidate, Option<Answer>), Error> {
        if input.in_reply_to.is_none()
            && let Some(given) = &input.sender_account_id
        {
            // The sender is checked first, as before answers existed.
            self.accounts()
                .sender_named_in_body(who, given, "sender_account_id")
                .await?;
        }
        let candidate = self.catalog().candidate(who, candidate_id).await?;
        let answer = self.answering(who, &candidate, input).await?;
        let account_id = match (&answer, &input.sender_account_id) {
            (Some(a), Some(given)) if *given != a.account_id => {
                return Err(Error::invalid(
                    "sender_account_id",
                    "an answer goes from the sender account of the enrollment or message replied to (R-12.2)",
                ));
            }
            (Some(a), _) => a.account_id.clone(),
            (None, Some(given)) => given.clone(),
            (None, None) => {
                return Err(Error::invalid("sender_account_id", "required"));
            }
        };
        let account = match &answer {
            Some(_) => self.answer_account(who, &account_id).await?,
            None => {
                self.accounts()
                    .sender_named_in_body(who, &account_id, "sender_account_id")
                    .await?
            }
        };
        Ok((account, candidate, answer))
    }

    /// §13: the reply fixes the sender account. Removed (or gone),
    /// no answer can go from it: 409, whoever asks. The caller sees the
    /// reply but may not send from it: 403.
    async fn answer_account(
        &self,
        who: &Identity,
        account_id: &str,
    ) -> Result<EmailAccount, Error> {
        let id = AccountId::from(account_id);
        if let Some(account) = self.accounts().sendable_account(who, &id).await? {
            return Ok(account);
        }
        let exists = self.store.get_account(&id).await?.is_some_and(|a| {
            a.value.org_id == who.org_id && a.value.status != AccountStatus::Removed
        });
        if !exists {
            return Err(Error::Conflict(format!(
                "the sender account of the enrollment or message replied to ({account_id}) no \
                 longer exists, and an answer goes only from it (R-12.2); nothing was sent"
            )));
        }
        Err(Error::Forbidden(format!(
            "an answer goes from the sender account of the enrollment or message replied to \
             ({account_id}); only its owner and its delegates may send from it (R-12.2, R-2.4)"
        )))
    }

    /// the reply a message answers (`in_reply_to`), which must be a
    /// reply of this candidate in the caller's organization (422 otherwise),
    /// and what it fixes. A given address must be the one the reply came from.
    async fn answering(
        &self,
        who: &Identity,
        candidate: &Candidate,
        input: &NewMessage,
    ) -> Result<Option<Answer>, Error> {
        let Some(id) = &input.in_reply_to else {
            return Ok(None);
        };
        let unknown = || Error::invalid("in_reply_to", "no reply of this candidate has this id");
        let reply = self
            .store
            .get_reply(&who.org_id, id)
            .await?
            .ok_or_else(unknown)?
            .value;
        if reply.candidate_id != candidate.id {
            return Err(unknown());
        }
        let Some(from) = reply.from.clone() else {
            return Err(Error::invalid(
                "in_reply_to",
                "the reply has no sender address to answer",
            ));
        };
        // a colleague's manual address is theirs alone to see and
        // use; an answer goes nowhere else, so it cannot go.
        if candidate.emails.iter().any(|e| e.address == from)
            && !candidate.shows(&from, &who.user_id)
        {
            return Err(Error::invalid(
                "in_reply_to",
                "the reply came from an address a colleague added for this candidate by hand; only \
                 they may write to it (R-3.3), and an answer goes only to the address the reply \
                 came from (R-12.2): ask them to answer, or write to an address you see",
            ));
        }
        if let Some(given) = &input.address
            && EmailAddress::parse(given).ok().as_ref() != Some(&from)
        {
            return Err(Error::invalid(
                "address",
                "an answer goes to the address the reply came from (R-12.2)",
            ));
        }
        // that address asked not to be mailed (it may be
        // another candidate's); the answer goes nowhere else instead.
        if self.returns().is_suppressed(&who.org_id, &from).await? {
            return Err(Error::invalid(
                "in_reply_to",
                "the reply came from an address that asked not to be mailed (it is on the \
                 organization's suppression list, R-9.5); an answer goes only to that address \
                 (R-12.2), so nothing was sent",
            ));
        }
        let campaign = self
            .campaigns()
            .campaign_by_id(&who.org_id, &reply.campaign_id)
            .await?
            .ok_or_else(unknown)?;
        Ok(Some(Answer {
            reply_id: reply.id.clone(),
            account_id: campaign.sender_account_id.to_string(),
            address: from.to_string(),
            // `References` are the reply's own and its id, the
            // last of them its `In-Reply-To`.
            thread: reply
                .references
                .iter()
                .chain(&reply.message_id)
                .cloned()
                .collect(),
            // The reply's subject is the candidate's text, never a template.
            subject: match input.subject.as_deref() {
                Some(own) => re(own),
                None => outreach_domain::render::literal(&re(&reply.subject)),
            },
        }))
    }

    /// The message's step: a template's step (the first by default) or the
    /// subject and body given.
    async fn single_step(&self, who: &Identity, input: &NewMessage) -> Result<StepSpec, Error> {
        match (&input.template_id, &input.body) {
            (Some(_), Some(_)) => Err(Error::invalid(
                "body",
                "give either template_id or subject and body",
            )),
            (Some(tid), None) => {
                let template = self
                    .catalog()
                    .template(who, tid)
                    .await
                    .map_err(|_| Error::invalid("template_id", "no template with this id"))?;
                let index = input.step_index.unwrap_or(1);
                let mut spec = template
                    .steps
                    .get(index.saturating_sub(1) as usize)
                    .cloned()
                    .ok_or_else(|| Error::invalid("step_index", "the template has no such step"))?;
                // Alone, a later step has no first message to thread under.
                if spec.subject.is_none() {
                    spec.subject = template.steps[0].subject.clone();
                }
                spec.delay_days = 0;
                Ok(spec)
            }
            (None, Some(body)) => Ok(StepSpec {
                subject: input.subject.clone(),
                body: body.clone(),
                text: None,
                delay_days: 0,
            }),
            (None, None) => Err(Error::invalid(
                "body",
                "give template_id or subject and body",
            )),
        }
    }

    /// The one-step campaign of kind `single` a message rides on, running now.
    fn single_campaign(
        &self,
        who: &Identity,
        account: &EmailAccount,
        step: StepSpec,
        timezone: Zone,
        now: DateTime<Utc>,
    ) -> Campaign {
        Campaign {
            id: CampaignId::new(self.new_id("msg")),
            org_id: who.org_id.clone(),
            project_id: ProjectId::new(""),
            owner_id: who.user_id.clone(),
            name: "Single message".into(),
            sender_account_id: account.id.clone(),
            steps: vec![step],
            timezone,
            when_to_send: WhenToSend::WhenStarted,
            recipient: Default::default(),
            skip_weekends: false,
            daily_limit: None,
            timezone_mode: Default::default(),
            status: CampaignStatus::Running,
            pause_reason: None,
            created_at: now,
            started_at: Some(now),
            fan_out_at: Some(now),
            active_enrollments: 0,
            kind: CampaignKind::Single,
            template_id: None,
        }
    }

    /// Reveals the candidate, stores the message's campaign and
    /// enrollment due now, and hands it to the send of R-8 the way the
    /// deployment sends (§15): onto the send queue in AWS, where send-step
    /// sends it within the same bound as every campaign step and the answer
    /// says `queued`; within this request locally. A message the account's
    /// daily limit leaves no room for today is planned for the next day with
    /// room and answers `scheduled`. The wake-up is the safety net.
    async fn send_now(
        &self,
        who: &Identity,
        account: &EmailAccount,
        campaign: Campaign,
        enrollment: Enrollment,
        answered: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(Campaign, Enrollment), Error> {
        let org = &who.org_id;
        // Mailing a candidate reveals their contacts, as adding them to a campaign does.
        if self
            .store
            .reveal(org, &enrollment.candidate_id, now)
            .await?
            == RevealOutcome::NoCredits
        {
            return Err(Error::NoCredits(
                "the organization has no contact credits left".into(),
            ));
        }
        self.store.put_campaign(&campaign, None).await?;
        // Stored due now (issue 19): should this request fail after the
        // insert (an answer lost), the sweeper sends the message it recorded.
        let mut enrollment = enrollment;
        enrollment.apply_plan(now, &[now]);
        self.store.insert_enrollment(&enrollment).await?;
        // The answer is recorded (it leaves, however this request ends):
        // its reply says so from now on (issue 22).
        if let Some(reply_id) = answered {
            self.mark_answered(org, &reply_id, now).await;
        }
        let (e, moved) = self.plan_now(&campaign, account, &enrollment, now).await?;
        let wake_up = WakeUp::send_step(&e, e.next_due_at.unwrap_or(now));
        self.scheduler.schedule(&wake_up).await?;
        if !moved {
            self.hand_to_send_queue(&wake_up).await?;
        }
        let lost = || Error::Internal("lost the message".into());
        let e = self
            .store
            .get_enrollment(org, &e.id)
            .await?
            .ok_or_else(lost)?;
        let campaign = self
            .campaigns()
            .campaign_by_id(org, &campaign.id)
            .await?
            .unwrap_or(campaign);
        Ok((campaign, e.value))
    }

    /// Marks a reply answered at `at` (and read), right after its answer
    /// was recorded. Never fails the send it follows: a store error or a
    /// reply changing under it leaves the mark out, logged.
    async fn mark_answered(&self, org: &OrgId, reply_id: &str, at: DateTime<Utc>) {
        let marked = retry_versioned(
            || async move {
                let Some(v) = self.store.get_reply(org, reply_id).await? else {
                    return Ok(Attempt::Done(()));
                };
                let mut r = v.value;
                r.answered_at = Some(at);
                r.read = true;
                match self.store.update_reply(&r, v.version).await {
                    Ok(_) => Ok(Attempt::Done(())),
                    Err(StoreError::Conflict) => Ok(Attempt::Lost),
                    Err(e) => Err(e),
                }
            },
            || Err(StoreError::Conflict),
        )
        .await;
        if let Err(e) = marked {
            tracing::warn!(reply = reply_id, error = ?e, "the answered reply was not marked");
        }
    }

    /// Plans the stored message: due now (no grace), with its room under the
    /// account's daily limit taken now and reserved for its send, so
    /// that the answer tells whether it leaves today however it is sent; or
    /// moved to the next day with room (`true`).
    async fn plan_now(
        &self,
        campaign: &Campaign,
        account: &EmailAccount,
        stored: &Enrollment,
        now: DateTime<Utc>,
    ) -> Result<(Enrollment, bool), Error> {
        let lost = || Error::Internal("lost the message".into());
        let v = self
            .store
            .get_enrollment(&stored.org_id, &stored.id)
            .await?
            .ok_or_else(lost)?;
        let mut e = v.value;
        e.apply_plan(now, &[now]);
        let (slot, moved) = match self
            .take_daily_slot(account, campaign, &mut e, 1, now)
            .await?
        {
            Room::Unlimited => (None, false),
            Room::Slot(slot) => {
                // The send uses this reservation instead of counting again.
                e.reserved_slot = Some(ReservedSlot {
                    step: 1,
                    day: slot.count.day,
                });
                (Some(slot), false)
            }
            Room::Full(_) => {
                let zone = self.campaigns().plan_zone(campaign, &e).await?;
                let slot = self
                    .move_to_a_free_day(&mut e, 1, account, campaign, zone, now)
                    .await?;
                let moved = slot.is_some();
                (slot, moved)
            }
        };
        if let Err(err) = self
            .store
            .update_enrollment(&e, v.version, Activity::Unchanged)
            .await
        {
            // A lost answer may hide a write that applied (issue 19): then
            // the slot is the stored message's reservation, and stays taken.
            let applied = matches!(err, StoreError::Unavailable(_))
                && self
                    .store
                    .get_enrollment(&e.org_id, &e.id)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|now| now.version == v.version + 1 && now.value == e);
            if !applied {
                self.release_daily_slot(slot).await?;
            }
            return Err(err.into());
        }
        Ok((e, moved))
    }

    /// The hand-off of a message due now (§15): queued where there is a send
    /// queue, else sent in this call. A queue that fails leaves the message
    /// to its wake-up, which fires within minutes onto the same queue; the
    /// message is recorded either way, so the request does not fail (a retry
    /// without its `Idempotency-Key` would record a second message).
    async fn hand_to_send_queue(&self, wake_up: &WakeUp) -> Result<(), Error> {
        match self.queue.enqueue_send(wake_up).await {
            Ok(SendHandoff::Inline) => {
                self.run_inline(&wake_up.job).await?;
            }
            Ok(SendHandoff::Queued) => {}
            Err(err) => {
                tracing::warn!(wake_up = %wake_up.name, %err, "the send queue refused a single message; its wake-up sends it");
            }
        }
        Ok(())
    }

    /// The single messages sent to a candidate, newest first.
    pub async fn single_messages(
        &self,
        who: &Identity,
        candidate_id: &str,
    ) -> Result<(Candidate, Vec<(Campaign, Enrollment)>), Error> {
        let candidate = self.catalog().candidate(who, candidate_id).await?;
        let mut out = Vec::new();
        for id in self
            .store
            .enrollments_of_candidate_in_org(&who.org_id, &candidate.id)
            .await?
        {
            let Some(e) = self.store.get_enrollment(&who.org_id, &id).await? else {
                continue;
            };
            let Some(c) = self
                .campaigns()
                .campaign_by_id(&who.org_id, &e.value.campaign_id)
                .await?
            else {
                continue;
            };
            if c.kind == CampaignKind::Single {
                out.push((c, e.value));
            }
        }
        out.sort_by_key(|(_, e)| std::cmp::Reverse(e.created_at));
        Ok((candidate, out))
    }
}

/// An address the user typed for the message: valid, not bounced and the
/// user's to use.
fn chosen_address(who: &Identity, candidate: &Candidate, raw: &str) -> Result<EmailAddress, Error> {
    let a = EmailAddress::parse(raw).map_err(|e| Error::invalid("address", e.to_string()))?;
    if candidate.emails.iter().any(|e| e.address == a)
        && (!candidate.shows(&a, &who.user_id)
            || candidate.emails.iter().any(|e| e.address == a && e.bounced))
    {
        return Err(Error::invalid(
            "address",
            "this address bounced or is not yours to use",
        ));
    }
    Ok(a)
}

/// A single message's subject and body checked as a step's, the
/// errors naming its own fields (`subject`, not `steps[0].subject`).
fn validate_single(step: &StepSpec) -> Result<(), Error> {
    validate_steps(std::slice::from_ref(step)).map_err(|e| match e {
        Error::Invalid { detail, errors } => Error::Invalid {
            detail: detail.replace("steps[0].", ""),
            errors: errors
                .into_iter()
                .map(|mut f| {
                    f.field = f.field.trim_start_matches("steps[0].").to_owned();
                    f
                })
                .collect(),
        },
        other => other,
    })
}
