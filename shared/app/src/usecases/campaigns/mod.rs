//! Campaigns: create, start, pause, resume, stop.

pub mod outreach;
pub mod preview;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use outreach_domain::Zone;
use outreach_domain::campaign::{
    Campaign, CampaignStatus, PauseReason, RecipientSetting, StepSpec, TimezoneMode, WhenToSend,
};
use outreach_domain::enrollment::{Enrollment, StepHold};
use outreach_domain::ids::{CampaignId, EnrollmentId, OrgId, ProjectId};
use outreach_domain::plan::{PlanRequest, is_spaced, plan, plan_after, plan_moved};
use serde::Deserialize;

use crate::auth::Identity;
use crate::error::Error;
use crate::model::AccountStatus;
use crate::ports::{Activity, Job, PageRequest, Versioned, WakeUp};
use crate::retry::{Attempt, retry_versioned};
use crate::service::Service;
use crate::usecases::catalog::validate_steps;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    pub name: String,
    /// A sender account the caller owns or is a delegate of.
    pub sender_account_id: String,
    /// Copies this template's steps; give it or `steps`, not both.
    #[serde(default)]
    pub template_id: Option<String>,
    /// The steps inline; give them or `template_id`, not both.
    #[serde(default)]
    pub steps: Option<Vec<StepSpec>>,
    /// IANA time zone of the plan; the caller's when absent.
    #[serde(default)]
    pub timezone: Option<String>,
    pub when_to_send: WhenToSend,
    #[serde(default)]
    pub recipient: Option<RecipientSetting>,
    #[serde(default)]
    pub skip_weekends: bool,
    #[serde(default)]
    pub timezone_mode: TimezoneMode,
    /// Sends per sender account and calendar day.
    #[serde(default)]
    pub daily_limit: Option<u32>,
}

/// An edit of a campaign; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignEdit {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default)]
    pub steps: Option<Vec<StepSpec>>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub when_to_send: Option<WhenToSend>,
    #[serde(default)]
    pub recipient: Option<RecipientSetting>,
    #[serde(default)]
    pub skip_weekends: Option<bool>,
    #[serde(default)]
    pub daily_limit: Option<u32>,
    #[serde(default)]
    pub timezone_mode: Option<TimezoneMode>,
}

/// The fields an edit sets, validated; `None` keeps a field.
struct Changes {
    name: Option<String>,
    steps: Option<Vec<StepSpec>>,
    timezone: Option<Zone>,
    when_to_send: Option<WhenToSend>,
    recipient: Option<RecipientSetting>,
    skip_weekends: Option<bool>,
    daily_limit: Option<u32>,
    timezone_mode: Option<TimezoneMode>,
}

impl Changes {
    fn apply(&self, c: &mut Campaign) {
        if let Some(n) = &self.name {
            c.name = n.clone();
        }
        if let Some(st) = &self.steps {
            c.steps = st.clone();
        }
        if let Some(z) = self.timezone {
            c.timezone = z;
        }
        if let Some(w) = self.when_to_send {
            c.when_to_send = w;
        }
        if let Some(r) = self.recipient {
            c.recipient = r;
        }
        if let Some(sw) = self.skip_weekends {
            c.skip_weekends = sw;
        }
        if self.daily_limit.is_some() {
            c.daily_limit = self.daily_limit;
        }
        if let Some(m) = self.timezone_mode {
            c.timezone_mode = m;
        }
    }
}

fn valid_daily_limit(limit: Option<u32>) -> Result<Option<u32>, Error> {
    match limit {
        Some(0) | Some(100_001..) => Err(Error::invalid("daily_limit", "must be 1 to 100000")),
        other => Ok(other),
    }
}

/// Where a (re)plan of an enrollment starts from.
enum PlanFrom {
    /// Already planned from this start, or from another one: left as it is.
    Nothing,
    /// A resume with the next step still ahead: it keeps this time.
    Ahead(DateTime<Utc>),
    /// Planned afresh from this instant.
    Start(DateTime<Utc>),
}

fn plan_from(how: Replan, e: &Enrollment) -> PlanFrom {
    match how {
        // The same fresh plan twice is one plan (a re-run fan-out chunk):
        // its wake-up was created before the plan was written.
        Replan::Fresh(start) if e.plan_start == Some(start) && e.next_due_at.is_some() => {
            PlanFrom::Nothing
        }
        // Planned from another S (added later, or resumed): a start's
        // fan-out delivered again must not plan it afresh from an older
        // S, before or at the send it already made (R-6.9; found by the
        // simulation).
        Replan::Fresh(start) if e.plan_start.is_some_and(|s| s != start) => PlanFrom::Nothing,
        Replan::Fresh(start) => PlanFrom::Start(start),
        Replan::Resume(now) => match e.next_planned_at() {
            Some(at) if at > now => PlanFrom::Ahead(at),
            _ => PlanFrom::Start(now),
        },
    }
}

/// Enrollments planned per fan-out chunk.
pub const FAN_OUT_CHUNK: u32 = 200;

pub use crate::model::Replan;

impl Service {
    pub async fn create_campaign(
        &self,
        who: &Identity,
        project_id: &str,
        input: NewCampaign,
    ) -> Result<Campaign, Error> {
        self.ensure_org(&who.org_id).await?;
        let project = self.project(who, project_id).await?;
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Error::invalid("name", "must be 1 to 200 characters"));
        }
        let account = self
            .sender_named_in_body(who, &input.sender_account_id, "sender_account_id")
            .await?;
        let Some(steps) = self
            .steps_given(who, input.template_id, input.steps)
            .await?
        else {
            return Err(Error::invalid("steps", "give template_id or steps"));
        };
        // "Your time zone" defaults to the owner's profile.
        let timezone = match input.timezone.as_deref() {
            Some(tz) => Zone::parse(tz).map_err(|e| Error::invalid("timezone", e.to_string()))?,
            None => self.me(who).await?.timezone,
        };
        let campaign = Campaign {
            id: CampaignId::new(self.new_id(CampaignId::PREFIX)),
            org_id: who.org_id.clone(),
            project_id: ProjectId::new(project.id),
            owner_id: who.user_id.clone(),
            name,
            sender_account_id: account.id,
            steps,
            timezone,
            when_to_send: input.when_to_send,
            recipient: input.recipient.unwrap_or_default(),
            skip_weekends: input.skip_weekends,
            daily_limit: valid_daily_limit(input.daily_limit)?,
            timezone_mode: input.timezone_mode,
            status: CampaignStatus::Draft,
            pause_reason: None,
            created_at: self.now(),
            started_at: None,
            fan_out_at: None,
            active_enrollments: 0,
            kind: Default::default(),
        };
        self.store.put_campaign(&campaign, None).await?;
        Ok(campaign)
    }

    pub async fn campaign(&self, who: &Identity, id: &str) -> Result<Versioned<Campaign>, Error> {
        self.store
            .get_campaign(&who.org_id, &CampaignId::from(id))
            .await?
            .ok_or(Error::NotFound("campaign"))
    }

    /// Applies `change` to the campaign with a version check, re-reading on conflict.
    async fn change_campaign(
        &self,
        who: &Identity,
        id: &str,
        change: impl Fn(&mut Campaign) -> Result<(), Error>,
    ) -> Result<Campaign, Error> {
        self.update_campaign(&who.org_id, &CampaignId::from(id), |c| {
            change(c).map(|_| true)
        })
        .await?
        .map(|(c, _)| c)
        .ok_or(Error::NotFound("campaign"))
    }

    /// `draft` → `running`: every enrollment gets its plan from now.
    pub async fn start_campaign(&self, who: &Identity, id: &str) -> Result<Campaign, Error> {
        self.set_running(who, id, Replan::Fresh, Campaign::start)
            .await
    }

    /// The templates's steps, or the steps given (validated), or `None` when
    /// neither is given; both is an error.
    async fn steps_given(
        &self,
        who: &Identity,
        template_id: Option<String>,
        steps: Option<Vec<StepSpec>>,
    ) -> Result<Option<Vec<StepSpec>>, Error> {
        match (template_id, steps) {
            (Some(_), Some(_)) => Err(Error::invalid(
                "steps",
                "give either template_id or steps, not both",
            )),
            (Some(tid), None) => Ok(Some(
                self.template(who, &tid)
                    .await
                    .map_err(|_| Error::invalid("template_id", "no template with this id"))?
                    .steps,
            )),
            (None, Some(steps)) => {
                validate_steps(&steps)?;
                Ok(Some(steps))
            }
            (None, None) => Ok(None),
        }
    }

    /// steps and settings are edited in draft, in paused and during the
    /// grace period; the edit applies to steps not yet sent.
    pub async fn edit_campaign(
        &self,
        who: &Identity,
        id: &str,
        edit: CampaignEdit,
    ) -> Result<Campaign, Error> {
        let current = self.campaign(who, id).await?.value;
        // Every edit needs sender rights, not only those of steps and timing.
        self.require_sender_rights(who, &current).await?;
        if !current.editable(self.now()) {
            return Err(Error::Conflict(
                "a campaign can be edited in draft, paused, or within 20 minutes of its start"
                    .into(),
            ));
        }
        let steps = self.steps_given(who, edit.template_id, edit.steps).await?;
        let name = match edit.name.map(|n| n.trim().to_owned()) {
            Some(n) if n.is_empty() || n.chars().count() > 200 => {
                return Err(Error::invalid("name", "must be 1 to 200 characters"));
            }
            other => other,
        };
        let timezone = edit
            .timezone
            .as_deref()
            .map(Zone::parse)
            .transpose()
            .map_err(|e| Error::invalid("timezone", e.to_string()))?;
        let daily_limit = valid_daily_limit(edit.daily_limit)?;
        // Every enrollment must keep the steps it already received.
        if let Some(steps) = &steps {
            self.check_steps_kept(&current, steps).await?;
        }
        let changes = Changes {
            name,
            steps,
            timezone,
            when_to_send: edit.when_to_send,
            recipient: edit.recipient,
            skip_weekends: edit.skip_weekends,
            daily_limit,
            timezone_mode: edit.timezone_mode,
        };
        let now = self.now();
        let campaign = self
            .change_campaign(who, id, |c| {
                if !c.editable(now) {
                    return Err(Error::Conflict(
                        "the campaign can no longer be edited".into(),
                    ));
                }
                changes.apply(c);
                Ok(())
            })
            .await?;
        self.replan_after_edit(&current, &campaign).await?;
        Ok(campaign)
    }

    /// an edit keeps at least as many steps as any enrollment already received.
    async fn check_steps_kept(&self, current: &Campaign, steps: &[StepSpec]) -> Result<(), Error> {
        let mut page = PageRequest {
            limit: 200,
            after: None,
        };
        loop {
            let batch = self
                .store
                .list_enrollments(&current.org_id, &current.id, &page)
                .await?;
            for e in &batch.items {
                let handed_off = e.steps.iter().filter(|s| !s.attempts.is_empty()).count();
                if steps.len() < handed_off {
                    return Err(Error::Conflict(format!(
                        "enrollment {} already received {handed_off} steps; keep at least that many",
                        e.id
                    )));
                }
            }
            match batch.next {
                Some(n) => page.after = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// Resizes every enrollment to the campaign's steps and, when the edit
    /// changed how steps are timed, plans its unsent steps again under the new
    /// settings ([`replan_unsent`]). An edit that changes no timing (a name,
    /// the texts, the recipient setting, the daily limit) re-plans nothing:
    /// what the service decided since the start stays.
    ///
    /// Each enrollment is read before the campaign, and the campaign again for
    /// each enrollment: of two edits at once, the plan written last is then
    /// made from the campaign as the last edit left it (a plan made from an
    /// older one loses its version check). Found by the simulation: a
    /// `skip_weekends` edit and a concurrent edit left a step on a Saturday
    ///
    async fn replan_after_edit(&self, before: &Campaign, edited: &Campaign) -> Result<(), Error> {
        let retimed = timing(before) != timing(edited);
        let mut page = PageRequest {
            limit: 200,
            after: None,
        };
        loop {
            let batch = self
                .store
                .list_enrollments(&edited.org_id, &edited.id, &page)
                .await?;
            for e in batch.items.iter().filter(|e| !e.is_ended()) {
                if !self.resize_and_retime(edited, &e.id, retimed).await? {
                    return Ok(());
                }
            }
            match batch.next {
                Some(n) => page.after = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// Resizes one enrollment to the campaign's steps as it is now and, when
    /// `retimed` or resized, plans its unsent steps again. `false` when
    /// the campaign is gone.
    async fn resize_and_retime(
        &self,
        edited: &Campaign,
        id: &EnrollmentId,
        retimed: bool,
    ) -> Result<bool, Error> {
        retry_versioned(
            || async move {
                let org = &edited.org_id;
                let Some(Versioned {
                    value: mut e,
                    version,
                }) = self.store.get_enrollment(org, id).await?
                else {
                    return Ok(Attempt::Done(true));
                };
                let Some(campaign) = self.campaign_by_id(org, &edited.id).await? else {
                    return Ok(Attempt::Done(false));
                };
                let resized = e.steps.len() != campaign.steps.len();
                if e.resize_steps(campaign.steps.len()).is_err() || !(retimed || resized) {
                    return Ok(Attempt::Done(true));
                }
                if e.plan_start.is_some() {
                    let zone = self.plan_zone(&campaign, &e).await?;
                    replan_unsent(&mut e, &campaign, zone);
                }
                let written = self.store_enrollment(&e, version, Activity::Unchanged);
                if written.await?.is_lost() {
                    return Ok(Attempt::Lost);
                }
                if campaign.is_running()
                    && e.may_send()
                    && let Some(at) = e.next_due_at
                {
                    self.scheduler.schedule(&WakeUp::send_step(&e, at)).await?;
                }
                Ok(Attempt::Done(true))
            },
            // Another edit keeps changing it: that edit plans it.
            || Ok(true),
        )
        .await
    }

    /// A safety action: any user who sees the campaign may pause it.
    pub async fn pause_campaign(&self, who: &Identity, id: &str) -> Result<Campaign, Error> {
        self.change_campaign(who, id, |c| {
            c.pause(PauseReason::User)
                .map_err(|e| Error::Conflict(e.to_string()))
        })
        .await
    }

    /// `paused` → `running`, re-planning overdue steps.
    pub async fn resume_campaign(&self, who: &Identity, id: &str) -> Result<Campaign, Error> {
        self.set_running(who, id, Replan::Resume, Campaign::resume_at)
            .await
    }

    /// Start or resume: a campaign runs (`change`) from now, and its
    /// enrollments are planned `how`. Needs sender rights and
    /// a connected sender. The background fan-out is queued
    /// before the state change, so a crash between the two can never leave a
    /// running campaign unplanned.
    async fn set_running<E: std::fmt::Display>(
        &self,
        who: &Identity,
        id: &str,
        how: fn(DateTime<Utc>) -> Replan,
        change: fn(&mut Campaign, DateTime<Utc>) -> Result<(), E>,
    ) -> Result<Campaign, Error> {
        let current = self.campaign(who, id).await?.value;
        self.require_sender_rights(who, &current).await?;
        self.require_connected_sender(&current).await?;
        let now = self.now();
        self.queue_fan_out(&current, how(now), None).await?;
        let campaign = self
            .change_campaign(who, id, |c| {
                change(c, now).map_err(|e| Error::Conflict(e.to_string()))
            })
            .await?;
        self.plan_first_chunk(&campaign, how(now)).await?;
        self.complete_if_all_ended(&campaign).await?;
        Ok(campaign)
    }

    /// Final: nothing further is sent; wake-ups left behind do nothing.
    /// A safety action: any user who sees the campaign may stop it.
    pub async fn stop_campaign(&self, who: &Identity, id: &str) -> Result<Campaign, Error> {
        self.change_campaign(who, id, |c| {
            c.stop().map_err(|e| Error::Conflict(e.to_string()))
        })
        .await
    }

    /// a campaign sends only from a connected account its owner may use
    /// (the send path asks the same, R-2.4).
    async fn require_connected_sender(&self, campaign: &Campaign) -> Result<(), Error> {
        let account = self
            .store
            .get_account(&campaign.sender_account_id)
            .await?
            .map(|v| v.value);
        match account {
            Some(a)
                if a.status == AccountStatus::Connected
                    && a.usable_by(&campaign.org_id, &campaign.owner_id) =>
            {
                Ok(())
            }
            Some(a) if a.status == AccountStatus::Connected => Err(Error::Conflict(format!(
                "the campaign's owner may no longer send from the sender account {} ({})",
                a.id, a.address
            ))),
            Some(a) => Err(Error::Conflict(format!(
                "the sender account {} ({}) is not connected",
                a.id, a.address
            ))),
            None => Err(Error::Conflict(format!(
                "the sender account {} no longer exists",
                campaign.sender_account_id
            ))),
        }
    }

    /// Plans the first chunk of a fan-out in the request itself, so a small
    /// campaign is planned when start answers; the queued job does the rest.
    async fn plan_first_chunk(&self, campaign: &Campaign, how: Replan) -> Result<(), Error> {
        self.plan_chunk(campaign, how, None).await.map(|_| ())
    }

    /// Plans one page of enrollments; returns the cursor of the next page.
    /// Idempotent: a fresh plan from the same S is not made twice.
    async fn plan_chunk(
        &self,
        campaign: &Campaign,
        how: Replan,
        after: Option<String>,
    ) -> Result<Option<String>, Error> {
        let page = PageRequest {
            limit: FAN_OUT_CHUNK,
            after,
        };
        let batch = self
            .store
            .list_enrollments(&campaign.org_id, &campaign.id, &page)
            .await?;
        // A finished enrollment's pending re-send is planned too.
        for e in batch
            .items
            .iter()
            .filter(|e| e.may_send() || e.has_sendable_step())
        {
            self.replan(campaign, &e.id, how).await?;
        }
        Ok(batch.next)
    }

    /// Queues the planning of a campaign's enrollments from `after` on (SPEC §15:
    /// large campaigns start without the API waiting for every wake-up).
    async fn queue_fan_out(
        &self,
        campaign: &Campaign,
        how: Replan,
        after: Option<String>,
    ) -> Result<(), Error> {
        let at = match how {
            Replan::Fresh(t) | Replan::Resume(t) => t,
        };
        let cursor = after.clone().unwrap_or_else(|| "start".to_owned());
        let job = Job::PlanChunk {
            org_id: campaign.org_id.clone(),
            campaign_id: campaign.id.clone(),
            how,
            after,
        };
        let name = format!(
            "fan.{}.{}.{:016x}",
            campaign.id,
            at.timestamp(),
            outreach_domain::jitter::stable_hash(&cursor, 0, "fan-out")
        );
        self.queue
            .enqueue(&WakeUp {
                name,
                at: self.now(),
                job,
            })
            .await?;
        Ok(())
    }

    /// One chunk of a fan-out, run from the queue (R-5.2, R-10.1, §15).
    pub(crate) async fn run_plan_chunk(
        &self,
        org: &OrgId,
        id: &CampaignId,
        how: Replan,
        after: Option<String>,
    ) -> Result<bool, Error> {
        let Some(campaign) = self.campaign_by_id(org, id).await? else {
            return Ok(false);
        };
        let since = match how {
            Replan::Fresh(t) | Replan::Resume(t) => t,
        };
        // A start's fan-out belongs to that start: one queued by a start that
        // failed is stale even when a resume lands at the same instant (found by
        // the simulation: it planned an in-progress enrollment afresh, R-6.9).
        let other_start =
            matches!(how, Replan::Fresh(t) if campaign.started_at.is_some_and(|s| s != t));
        // A fan-out plans for the start or resume it was queued for, never with the
        // state of an older one after a later pause, edit or resume.
        if other_start || campaign.fan_out_current(since) != Some(true) {
            // Queued just before the state change it belongs to: look again shortly.
            let waiting = campaign.fan_out_current(since).is_none()
                && matches!(
                    campaign.status,
                    CampaignStatus::Draft | CampaignStatus::Paused | CampaignStatus::Running
                );
            if waiting && self.now() - since < chrono::Duration::minutes(15) {
                let job = Job::PlanChunk {
                    org_id: org.clone(),
                    campaign_id: id.clone(),
                    how,
                    after,
                };
                let at = self.now() + chrono::Duration::minutes(1);
                let name = format!(
                    "fan.{}.{}.retry{}",
                    id,
                    since.timestamp(),
                    at.timestamp() / 60
                );
                self.queue.enqueue(&WakeUp { name, at, job }).await?;
            }
            return Ok(false);
        }
        let next = self.plan_chunk(&campaign, how, after).await?;
        if next.is_some() {
            self.queue_fan_out(&campaign, how, next).await?;
        } else {
            // The fan-out is queued before the state change, so this check survives a
            // crash of the request that started or resumed the campaign.
            self.complete_if_all_ended(&campaign).await?;
        }
        Ok(true)
    }

    /// The planned instants of an enrollment's steps from its next step on.
    pub(crate) async fn plan_for(
        &self,
        campaign: &Campaign,
        enrollment: &Enrollment,
        start: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, Error> {
        let zone = self.plan_zone(campaign, enrollment).await?;
        let delays = campaign.delays();
        let from = enrollment.next_step_offset();
        Ok(plan(&plan_request(
            campaign, enrollment, start, zone, &delays, from,
        )))
    }

    /// What follows a step that left at `at`: after a re-send the steps not
    /// yet sent follow it; after a first send a step that left
    /// late re-spaces the rest.
    pub(crate) async fn plan_after_send(
        &self,
        campaign: &Campaign,
        e: &mut Enrollment,
        resent: bool,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        match resent {
            true => self.follow_resend(campaign, e, at).await,
            false => self.space_after_send(campaign, e, at).await,
        }
    }

    /// once a re-send went out at `at`, the steps not yet sent
    /// follow it by the rules of R-6 (as they followed the original send), so
    /// none goes out before it or at the same time. Bumps the plan version.
    pub(crate) async fn follow_resend(
        &self,
        campaign: &Campaign,
        e: &mut Enrollment,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        if e.next().is_none() || e.resend.is_some() || e.is_ended() {
            return Ok(());
        }
        self.replan_from_send(campaign, e, at, None).await
    }

    /// once a step left at `at`, a later step planned on a date earlier
    /// than that send's date plus its delay (the send left later than planned:
    /// deferred, moved, retried) is planned again from that send by the rules
    /// of R-6; a step still spaced keeps its time. Bumps the plan version when
    /// it re-plans.
    pub(crate) async fn space_after_send(
        &self,
        campaign: &Campaign,
        e: &mut Enrollment,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let Some(planned) = e.next().and_then(|s| s.planned_at) else {
            return Ok(());
        };
        if e.resend.is_some() || e.is_ended() {
            return Ok(());
        }
        self.replan_from_send(campaign, e, at, Some(planned)).await
    }

    /// Plans the steps not yet sent again from a send at `at` by the rules of
    /// R-6, never before an out-of-office hold of the next step.
    /// With `planned`, the next step's time stays while it is still spaced
    /// from that send.
    async fn replan_from_send(
        &self,
        campaign: &Campaign,
        e: &mut Enrollment,
        at: DateTime<Utc>,
        planned: Option<DateTime<Utc>>,
    ) -> Result<(), Error> {
        let zone = self.plan_zone(campaign, e).await?;
        let delays = campaign.delays();
        let start = e.plan_start.unwrap_or(at);
        let req = plan_request(campaign, e, start, zone, &delays, e.next_step_offset());
        if planned.is_some_and(|p| is_spaced(&req, at, p)) {
            return Ok(());
        }
        let instants = keep_hold(&req, e.next_step_hold(), plan_after(&req, at));
        if !instants.is_empty() {
            e.apply_plan(start, &instants);
        }
        Ok(())
    }

    /// The zone an enrollment's plan uses: the campaign's, or the candidate's
    /// where known in recipient mode.
    pub(crate) async fn plan_zone(
        &self,
        campaign: &Campaign,
        enrollment: &Enrollment,
    ) -> Result<Zone, Error> {
        Ok(match campaign.timezone_mode {
            TimezoneMode::Campaign => campaign.timezone,
            TimezoneMode::Recipient => self
                .store
                .get_candidate(&campaign.org_id, &enrollment.candidate_id)
                .await?
                .and_then(|c| c.value.timezone)
                .unwrap_or(campaign.timezone),
        })
    }

    /// Plans an enrollment and creates the wake-up of its next step; every
    /// start or resume (of the campaign or the enrollment) checks again
    /// first ([`Service::blocked_as_duplicate`]).
    pub(crate) async fn replan(
        &self,
        campaign: &Campaign,
        id: &EnrollmentId,
        how: Replan,
    ) -> Result<(), Error> {
        let moment = how.moment();
        if self.blocked_as_duplicate(campaign, id, moment).await? {
            return Ok(());
        }
        retry_versioned(
            || async move {
                let Some(Versioned {
                    value: mut e,
                    version,
                }) = self.store.get_enrollment(&campaign.org_id, id).await?
                else {
                    return Ok(Attempt::Done(()));
                };
                if e.resend.is_some() && e.has_sendable_step() {
                    // A pending re-send keeps a time still ahead; an
                    // overdue one goes after a grace period from now. The
                    // steps after it follow it once it is sent.
                    let moved = e.reschedule_overdue_resend(moment);
                    let at = e.next_planned_at();
                    return self.write_due(e, version, at, moved).await;
                }
                if !e.may_send() || e.next().is_none() {
                    return Ok(Attempt::Done(()));
                }
                match plan_from(how, &e) {
                    PlanFrom::Nothing => Ok(Attempt::Done(())),
                    // Still ahead: keeps its time and its plan version.
                    PlanFrom::Ahead(at) => self.write_due(e, version, Some(at), false).await,
                    PlanFrom::Start(start) => self.plan_afresh(campaign, e, version, start).await,
                }
            },
            || {
                Err(Error::Conflict(
                    "the enrollment is being changed concurrently; try again".into(),
                ))
            },
        )
        .await
    }

    /// Sets when an enrollment is next due and creates that wake-up;
    /// writes only when that time or (`changed`) something else changed.
    async fn write_due(
        &self,
        mut e: Enrollment,
        version: u64,
        at: Option<DateTime<Utc>>,
        changed: bool,
    ) -> Result<Attempt<()>, Error> {
        if changed || e.next_due_at != at {
            e.next_due_at = at;
            if self
                .store_enrollment(&e, version, Activity::Unchanged)
                .await?
                .is_lost()
            {
                return Ok(Attempt::Lost);
            }
        }
        if let Some(at) = e.next_due_at {
            self.scheduler.schedule(&WakeUp::send_step(&e, at)).await?;
        }
        Ok(Attempt::Done(()))
    }

    /// Plans an enrollment's unsent steps from `start` and creates the
    /// wake-up of the first.
    async fn plan_afresh(
        &self,
        campaign: &Campaign,
        mut e: Enrollment,
        version: u64,
        start: DateTime<Utc>,
    ) -> Result<Attempt<()>, Error> {
        let instants = self.plan_for(campaign, &e, start).await?;
        e.apply_plan(start, &instants);
        // The wake-up first, then the plan (§15): a crash in between leaves a
        // wake-up of a plan version never written, which finds nothing to do
        // and the enrollment unplanned for the re-run to plan; so a
        // written plan always has its wake-up, and a re-run skips it.
        if let Some(at) = e.next_due_at {
            self.scheduler.schedule(&WakeUp::send_step(&e, at)).await?;
        }
        self.store_enrollment(&e, version, Activity::Unchanged)
            .await
    }

    /// at start and resume: an enrollment whose candidate meanwhile
    /// became active in another running campaign sends nothing; it becomes
    /// `blocked` with reason `duplicate:<campaign id>`. Returns whether it is.
    async fn blocked_as_duplicate(
        &self,
        campaign: &Campaign,
        id: &EnrollmentId,
        moment: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let Some(e) = self.store.get_enrollment(&campaign.org_id, id).await? else {
            return Ok(false);
        };
        if !e.value.may_send() {
            return Ok(false);
        }
        let Some(other) = self.recheck_outreach(campaign, &e.value, moment).await? else {
            return Ok(false);
        };
        let reason = format!("duplicate:{other}");
        if let Some((e, true)) = self
            .update_enrollment_with(&campaign.org_id, id, |e| {
                let open = e.may_send();
                if open {
                    e.block(reason.clone());
                }
                open
            })
            .await?
        {
            let detail = format!("the candidate is already being contacted by campaign {other}");
            self.record_event(&e, "blocked", None, Some(detail)).await;
        }
        Ok(true)
    }

    pub(crate) async fn campaign_by_id(
        &self,
        org: &OrgId,
        id: &CampaignId,
    ) -> Result<Option<Campaign>, Error> {
        Ok(self.store.get_campaign(org, id).await?.map(|v| v.value))
    }

    /// a campaign started or resumed with enrollments that all ended
    /// while it was a draft or paused is `completed` at once; one without any
    /// enrollment keeps running (candidates may still be added, R-5.4).
    async fn complete_if_all_ended(&self, campaign: &Campaign) -> Result<(), Error> {
        if campaign.active_enrollments > 0 {
            return Ok(());
        }
        let page = PageRequest {
            limit: 1,
            after: None,
        };
        let any = self
            .store
            .list_enrollments(&campaign.org_id, &campaign.id, &page)
            .await?;
        if !any.items.is_empty() {
            self.complete_if_done(&campaign.org_id, &campaign.id)
                .await?;
        }
        Ok(())
    }

    /// Marks a running campaign `completed` once no enrollment is active.
    pub(crate) async fn complete_if_done(&self, org: &OrgId, id: &CampaignId) -> Result<(), Error> {
        self.update_campaign(org, id, |c| Ok(c.complete_if_done()))
            .await?;
        Ok(())
    }
}

/// The plan request of an enrollment under its campaign's settings:
/// `delays` are the campaign's (`Campaign::delays`), `from_step` the 0-based
/// step planned with the first-step rules.
pub(crate) fn plan_request<'a>(
    campaign: &Campaign,
    e: &'a Enrollment,
    start: DateTime<Utc>,
    zone: Zone,
    delays: &'a [u32],
    from_step: usize,
) -> PlanRequest<'a> {
    PlanRequest {
        enrollment: e.id.as_str(),
        start,
        zone,
        when: campaign.when_to_send,
        skip_weekends: campaign.skip_weekends,
        delays,
        from_step,
    }
}

/// Moves an enrollment's next step to `day` at the local `time` and plans the
/// unsent steps after it from there by the rules of R-6 (weekends skipped,
/// order kept): a daily-limit postponement, an out-of-office hold
/// . `false` when nothing is left to plan.
pub(crate) fn move_unsent_steps(
    e: &mut Enrollment,
    campaign: &Campaign,
    zone: Zone,
    start: DateTime<Utc>,
    day: NaiveDate,
    time: NaiveTime,
) -> bool {
    let delays = campaign.delays();
    let from = e.next_step_offset();
    let instants = plan_moved(
        &plan_request(campaign, e, start, zone, &delays, from),
        day,
        time,
    );
    if instants.is_empty() {
        return false;
    }
    e.apply_plan(start, &instants);
    // An edit re-plans around it, never earlier.
    e.hold = Some(StepHold {
        step: e.next_step,
        not_before: instants[0],
    });
    true
}

/// What of a campaign decides when its steps leave: an edit that changes
/// none of it re-plans nothing.
fn timing(c: &Campaign) -> (Vec<u32>, Zone, WhenToSend, bool, TimezoneMode) {
    (
        c.delays(),
        c.timezone,
        c.when_to_send,
        c.skip_weekends,
        c.timezone_mode,
    )
}

/// Plans an enrollment's unsent steps again after an edit changed their timing
/// before any send, the plan from its S; after one, the steps follow
/// the last send by the rules of R-6, so a re-send and the steps
/// after it stay spaced from it; a held step never moves earlier than its hold.
/// A pending re-send keeps its time.
fn replan_unsent(e: &mut Enrollment, campaign: &Campaign, zone: Zone) {
    let Some(start) = e.plan_start else {
        return;
    };
    let delays = campaign.delays();
    let from = e.next_step_offset();
    let req = plan_request(campaign, e, start, zone, &delays, from);
    let instants = match e.previous_send() {
        Some(sent) => plan_after(&req, sent),
        None => {
            let fresh = plan(&plan_request(campaign, e, start, zone, &delays, 0));
            fresh[from.min(fresh.len())..].to_vec()
        }
    };
    let instants = keep_hold(&req, e.next_step_hold(), instants);
    let hold = e.hold;
    e.apply_plan(start, &instants);
    e.hold = hold;
}

/// `instants` (from the request's `from_step`), unless its first step falls
/// before `hold`: then that step goes at the hold and the later steps follow
/// it.
fn keep_hold(
    req: &PlanRequest<'_>,
    hold: Option<DateTime<Utc>>,
    instants: Vec<DateTime<Utc>>,
) -> Vec<DateTime<Utc>> {
    match (hold, instants.first()) {
        (Some(hold), Some(first)) if *first < hold => {
            let local = hold.with_timezone(&req.zone.tz());
            plan_moved(req, local.date_naive(), local.time())
        }
        _ => instants,
    }
}
