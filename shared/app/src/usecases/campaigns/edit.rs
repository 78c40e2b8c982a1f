//! Editing a campaign: steps and settings change in draft, in
//! paused and during the grace period; the change applies to the steps not
//! yet sent, and the enrollments are resized and re-planned to it.

use outreach_domain::campaign::{Campaign, RecipientSetting, StepSpec, TimezoneMode, WhenToSend};
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::EnrollmentId;
use outreach_domain::plan::{plan, plan_after};
use outreach_domain::{Name, Zone};

use super::Campaigns;
use super::planning::keep_hold;
use super::*;
use crate::auth::Identity;
use crate::error::Error;
use crate::ports::{Activity, Versioned, WakeUp};
use crate::retry::{Attempt, retry_versioned};

impl Campaigns<'_> {
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
        self.accounts().require_sender_rights(who, &current).await?;
        if !current.editable(self.now()) {
            return Err(Error::Conflict(
                "a campaign can be edited in draft, paused, or within 20 minutes of its start"
                    .into(),
            ));
        }
        // The template the steps now come from (R-11.3 groups by it).
        let template_id = match (&edit.template_id, &edit.steps) {
            (Some(t), None) => Some(Some(t.clone())),
            (None, Some(_)) => Some(None),
            _ => None,
        };
        let steps = self.steps_given(who, edit.template_id, edit.steps).await?;
        let name = edit
            .name
            .as_deref()
            .map(Name::parse)
            .transpose()
            .map_err(|e| Error::invalid("name", e.to_string()))?
            .map(Name::into_string);
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
            template_id,
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
    pub(super) async fn check_steps_kept(
        &self,
        current: &Campaign,
        steps: &[StepSpec],
    ) -> Result<(), Error> {
        let mut pages = self.consistent_enrollment_pages(current, 200);
        while let Some(batch) = pages.next().await? {
            for e in &batch {
                let handed_off = e.steps.iter().filter(|s| !s.attempts.is_empty()).count();
                if steps.len() < handed_off {
                    return Err(Error::Conflict(format!(
                        "enrollment {} already received {handed_off} steps; keep at least that many",
                        e.id
                    )));
                }
            }
        }
        Ok(())
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
    pub(super) async fn replan_after_edit(
        &self,
        before: &Campaign,
        edited: &Campaign,
    ) -> Result<(), Error> {
        let retimed = timing(before) != timing(edited);
        let mut pages = self.consistent_enrollment_pages(edited, 200);
        while let Some(batch) = pages.next().await? {
            for e in batch.iter().filter(|e| !e.is_ended()) {
                if !self.resize_and_retime(edited, &e.id, retimed).await? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Resizes one enrollment to the campaign's steps as it is now and, when
    /// `retimed` or resized, plans its unsent steps again. `false` when
    /// the campaign is gone.
    pub(crate) async fn resize_and_retime(
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
}

/// The fields an edit sets, validated; `None` keeps a field.
pub(super) struct Changes {
    name: Option<String>,
    steps: Option<Vec<StepSpec>>,
    template_id: Option<Option<String>>,
    timezone: Option<Zone>,
    when_to_send: Option<WhenToSend>,
    recipient: Option<RecipientSetting>,
    skip_weekends: Option<bool>,
    daily_limit: Option<u32>,
    timezone_mode: Option<TimezoneMode>,
}

impl Changes {
    pub(super) fn apply(&self, c: &mut Campaign) {
        if let Some(n) = &self.name {
            c.name = n.clone();
        }
        if let Some(st) = &self.steps {
            c.steps = st.clone();
        }
        if let Some(t) = &self.template_id {
            c.template_id = t.clone();
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

/// What of a campaign decides when its steps leave: an edit that changes
/// none of it re-plans nothing.
pub(super) fn timing(c: &Campaign) -> (Vec<u32>, Zone, WhenToSend, bool, TimezoneMode) {
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
pub(super) fn replan_unsent(e: &mut Enrollment, campaign: &Campaign, zone: Zone) {
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
