//! Campaigns: create, start, pause, resume, stop.

mod edit;
mod fan_out;
pub mod outreach;
mod planning;
pub mod preview;
pub mod stats;

pub(crate) use planning::{move_unsent_steps, plan_request, zone_of};

use outreach_domain::campaign::{
    Campaign, CampaignStatus, PauseReason, RecipientSetting, StepSpec, TimezoneMode, WhenToSend,
};
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{CampaignId, OrgId, ProjectId};
use outreach_domain::{Name, Zone};

use crate::auth::Identity;
use crate::error::Error;
use crate::ports::{PageRequest, Store, Versioned};
use crate::usecases::catalog::validate_steps;

process! {
    /// The campaigns process: a campaign's life — create, edit, start, pause,
    /// resume, stop — the planning of its enrollments, its
    /// preview and the project's Outreach view.
    Campaigns, campaigns
}

/// A new campaign, as the HTTP body `http::campaigns::NewCampaign`
/// or a test gives it.
#[derive(Debug)]
pub struct NewCampaign {
    pub name: String,
    /// A sender account the caller owns or is a delegate of.
    pub sender_account_id: String,
    /// Copies this template's steps; give it or `steps`, not both.
    pub template_id: Option<String>,
    /// The steps inline; give them or `template_id`, not both.
    pub steps: Option<Vec<StepSpec>>,
    /// IANA time zone of the plan; the caller's when absent.
    pub timezone: Option<String>,
    pub when_to_send: WhenToSend,
    pub recipient: Option<RecipientSetting>,
    pub skip_weekends: bool,
    pub timezone_mode: TimezoneMode,
    /// Sends per sender account and calendar day.
    pub daily_limit: Option<u32>,
}

/// An edit of a campaign; absent fields stay as they are.
#[derive(Debug, Default)]
pub struct CampaignEdit {
    pub name: Option<String>,
    pub template_id: Option<String>,
    pub steps: Option<Vec<StepSpec>>,
    pub timezone: Option<String>,
    pub when_to_send: Option<WhenToSend>,
    pub recipient: Option<RecipientSetting>,
    pub skip_weekends: Option<bool>,
    pub daily_limit: Option<u32>,
    pub timezone_mode: Option<TimezoneMode>,
}

fn valid_daily_limit(limit: Option<u32>) -> Result<Option<u32>, Error> {
    match limit {
        Some(0) | Some(100_001..) => Err(Error::invalid("daily_limit", "must be 1 to 100000")),
        other => Ok(other),
    }
}

/// Enrollments planned per fan-out chunk.
pub const FAN_OUT_CHUNK: u32 = 200;

pub use crate::model::Replan;

impl Campaigns<'_> {
    pub async fn create_campaign(
        &self,
        who: &Identity,
        project_id: &str,
        input: NewCampaign,
    ) -> Result<Campaign, Error> {
        self.ensure_org(&who.org_id).await?;
        let project = self.catalog().project(who, project_id).await?;
        let name = Name::parse(&input.name)
            .map_err(|e| Error::invalid("name", e.to_string()))?
            .into_string();
        let account = self
            .accounts()
            .sender_named_in_body(who, &input.sender_account_id, "sender_account_id")
            .await?;
        let template_id = input.template_id.clone();
        let Some(steps) = self
            .steps_given(who, input.template_id, input.steps)
            .await?
        else {
            return Err(Error::invalid("steps", "give template_id or steps"));
        };
        // "Your time zone" defaults to the owner's profile.
        let timezone = match input.timezone.as_deref() {
            Some(tz) => Zone::parse(tz).map_err(|e| Error::invalid("timezone", e.to_string()))?,
            None => self.accounts().me(who).await?.timezone,
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
            template_id,
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
    /// A campaign without any enrollment cannot start (409, R-5.2).
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
                self.catalog()
                    .template(who, &tid)
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

    /// Final: nothing further is sent; wake-ups left behind do nothing.
    /// A safety action: any user who sees the campaign may stop it.
    pub async fn stop_campaign(&self, who: &Identity, id: &str) -> Result<Campaign, Error> {
        self.change_campaign(who, id, |c| {
            c.stop().map_err(|e| Error::Conflict(e.to_string()))
        })
        .await
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
    /// enrollment (resumed: a start refuses it) keeps running (candidates may
    /// still be added, R-5.4).
    async fn complete_if_all_ended(&self, campaign: &Campaign) -> Result<(), Error> {
        if campaign.active_enrollments > 0 {
            return Ok(());
        }
        if self.has_enrollment(campaign).await? {
            self.complete_if_done(&campaign.org_id, &campaign.id)
                .await?;
        }
        Ok(())
    }

    /// Whether the campaign has an enrollment, ended or not.
    pub(super) async fn has_enrollment(&self, campaign: &Campaign) -> Result<bool, Error> {
        let page = PageRequest {
            limit: 1,
            after: None,
        };
        let any = self
            .store
            .list_enrollments_consistent(&campaign.org_id, &campaign.id, &page)
            .await?;
        Ok(!any.items.is_empty())
    }

    /// Marks a running campaign `completed` once no enrollment is active.
    pub(crate) async fn complete_if_done(&self, org: &OrgId, id: &CampaignId) -> Result<(), Error> {
        self.update_campaign(org, id, |c| Ok(c.complete_if_done()))
            .await?;
        Ok(())
    }
}

/// Every enrollment of a campaign, read a page at a time, for a use case that
/// goes through all of them (and may stop early: nothing is read ahead).
pub(super) struct EnrollmentPages<'a> {
    store: &'a dyn Store,
    campaign: &'a Campaign,
    /// The page to read next; `None` once the last was read.
    page: Option<PageRequest>,
    /// Read from [`Store::list_enrollments_consistent`]: for what decides.
    consistent: bool,
}

impl Campaigns<'_> {
    /// The campaign's enrollments, `limit` a page.
    pub(super) fn enrollment_pages<'a>(
        &'a self,
        campaign: &'a Campaign,
        limit: u32,
    ) -> EnrollmentPages<'a> {
        EnrollmentPages {
            store: &*self.store,
            campaign,
            page: Some(PageRequest { limit, after: None }),
            consistent: false,
        }
    }

    /// [`Campaigns::enrollment_pages`], read consistently: every enrollment
    /// added before is on them (an edit's checks and re-plans, issue 19).
    pub(super) fn consistent_enrollment_pages<'a>(
        &'a self,
        campaign: &'a Campaign,
        limit: u32,
    ) -> EnrollmentPages<'a> {
        EnrollmentPages {
            consistent: true,
            ..self.enrollment_pages(campaign, limit)
        }
    }
}

impl EnrollmentPages<'_> {
    /// The next page's enrollments; `None` after the last page.
    pub(super) async fn next(&mut self) -> Result<Option<Vec<Enrollment>>, Error> {
        let Some(page) = &mut self.page else {
            return Ok(None);
        };
        let (org, id) = (&self.campaign.org_id, &self.campaign.id);
        let batch = if self.consistent {
            self.store
                .list_enrollments_consistent(org, id, page)
                .await?
        } else {
            self.store.list_enrollments(org, id, page).await?
        };
        match batch.next {
            Some(n) => page.after = Some(n),
            None => self.page = None,
        }
        Ok(Some(batch.items))
    }
}
