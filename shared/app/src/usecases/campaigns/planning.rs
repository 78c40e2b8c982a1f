//! The planning of an enrollment: its plan from a start or resume
//! what follows a send and the zone a plan
//! uses. The pure rules are the domain's `plan`; this is where they
//! meet the store and the scheduler.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use outreach_domain::Zone;
use outreach_domain::campaign::{Campaign, TimezoneMode};
use outreach_domain::enrollment::{Enrollment, StepHold};
use outreach_domain::ids::EnrollmentId;
use outreach_domain::plan::{PlanRequest, is_spaced, plan, plan_after, plan_moved};

use super::Campaigns;
use super::*;
use crate::error::Error;
use crate::ports::{Activity, Versioned, WakeUp};
use crate::retry::{Attempt, retry_versioned};

/// What a fan-out chunk read in one batch for one of its enrollments (§15);
/// `None` where it read nothing, which is then read on its own.
#[derive(Default)]
pub(super) struct Prefetched {
    pub(super) enrollment: Option<Versioned<Enrollment>>,
    /// The candidate's outreach record; `Some(None)`: there is none.
    pub(super) outreach: Option<Option<Versioned<serde_json::Value>>>,
    /// The zone of the plan.
    pub(super) zone: Option<Zone>,
}

/// Where a (re)plan of an enrollment starts from.
pub(super) enum PlanFrom {
    /// Already planned from this start, or from another one: left as it is.
    Nothing,
    /// A resume with the next step still ahead: it keeps this time.
    Ahead(DateTime<Utc>),
    /// Planned afresh from this instant.
    Start(DateTime<Utc>),
}

pub(super) fn plan_from(how: Replan, e: &Enrollment) -> PlanFrom {
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

impl Campaigns<'_> {
    /// The planned instants of an enrollment's steps from its next step on,
    /// in `zone` when the caller knows it already.
    pub(crate) async fn plan_for(
        &self,
        campaign: &Campaign,
        enrollment: &Enrollment,
        start: DateTime<Utc>,
        zone: Option<Zone>,
    ) -> Result<Vec<DateTime<Utc>>, Error> {
        let zone = match zone {
            Some(zone) => zone,
            None => self.plan_zone(campaign, enrollment).await?,
        };
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
    pub(super) async fn replan_from_send(
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
            TimezoneMode::Recipient => zone_of(
                campaign,
                self.store
                    .get_candidate(&campaign.org_id, &enrollment.candidate_id)
                    .await?
                    .and_then(|c| c.value.timezone),
            ),
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
        self.replan_read(campaign, id, how, Prefetched::default())
            .await
    }

    /// [`Self::replan`] from what a fan-out chunk read in one batch (§15):
    /// the first attempt uses those reads, a lost version check reads again.
    /// The enrollment read for the check is the one the plan starts
    /// from: the check writes only the candidate's record, and the plan's
    /// write is conditional on that read's version.
    pub(super) async fn replan_read(
        &self,
        campaign: &Campaign,
        id: &EnrollmentId,
        how: Replan,
        pre: Prefetched,
    ) -> Result<(), Error> {
        let moment = how.moment();
        let read = match pre.enrollment {
            Some(read) => Some(read),
            None => self.store.get_enrollment(&campaign.org_id, id).await?,
        };
        let Some(read) = read else {
            return Ok(());
        };
        if self
            .blocked_as_duplicate(campaign, &read.value, moment, pre.outreach)
            .await?
        {
            return Ok(());
        }
        let mut first = Some(read);
        let zone = pre.zone;
        retry_versioned(
            || {
                let first = first.take();
                async move {
                    let read = match first {
                        Some(read) => Some(read),
                        None => self.store.get_enrollment(&campaign.org_id, id).await?,
                    };
                    let Some(Versioned { value: e, version }) = read else {
                        return Ok(Attempt::Done(()));
                    };
                    self.plan_read(campaign, e, version, how, zone).await
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

    /// One attempt at planning an enrollment read at `version`.
    async fn plan_read(
        &self,
        campaign: &Campaign,
        mut e: Enrollment,
        version: u64,
        how: Replan,
        zone: Option<Zone>,
    ) -> Result<Attempt<()>, Error> {
        let moment = how.moment();
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
            PlanFrom::Start(start) => self.plan_afresh(campaign, e, version, start, zone).await,
        }
    }

    /// Sets when an enrollment is next due and creates that wake-up;
    /// writes only when that time or (`changed`) something else changed.
    pub(super) async fn write_due(
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
    pub(super) async fn plan_afresh(
        &self,
        campaign: &Campaign,
        mut e: Enrollment,
        version: u64,
        start: DateTime<Utc>,
        zone: Option<Zone>,
    ) -> Result<Attempt<()>, Error> {
        let instants = self.plan_for(campaign, &e, start, zone).await?;
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
    /// `outreach`: the candidate's record as a batch read it (`Some(None)`:
    /// there is none), used for the first attempt.
    pub(super) async fn blocked_as_duplicate(
        &self,
        campaign: &Campaign,
        e: &Enrollment,
        moment: DateTime<Utc>,
        outreach: Option<Option<Versioned<serde_json::Value>>>,
    ) -> Result<bool, Error> {
        if !e.may_send() {
            return Ok(false);
        }
        let id = &e.id;
        let Some(other) = self
            .enrollments()
            .recheck_outreach(campaign, e, moment, outreach)
            .await?
        else {
            return Ok(false);
        };
        let reason = format!("duplicate:{other}");
        if let Some((e, true)) = self
            .returns()
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
            self.enrollments()
                .record_event(&e, "blocked", None, Some(detail))
                .await;
        }
        Ok(true)
    }
}

/// The zone a plan uses: the campaign's, or in recipient mode the
/// candidate's own zone when they have one.
pub(crate) fn zone_of(campaign: &Campaign, candidate_zone: Option<Zone>) -> Zone {
    match campaign.timezone_mode {
        TimezoneMode::Campaign => campaign.timezone,
        TimezoneMode::Recipient => candidate_zone.unwrap_or(campaign.timezone),
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

/// `instants` (from the request's `from_step`), unless its first step falls
/// before `hold`: then that step goes at the hold and the later steps follow
/// it.
pub(super) fn keep_hold(
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
