//! Start and resume (R-5.2, R-10.1): a campaign runs, and its enrollments
//! are planned by a fan-out in chunks from the queue (§15). In AWS the
//! request makes a bounded number of calls whatever the campaign's size;
//! local mode plans the first chunk in the request as well
//! (`Config::plan_first_chunk_in_request`), so a small campaign is planned
//! when start answers.

use chrono::{DateTime, Utc};
use outreach_domain::campaign::{Campaign, CampaignStatus};
use outreach_domain::ids::{CampaignId, OrgId};

use super::Campaigns;
use super::planning::Prefetched;
use super::*;
use crate::auth::Identity;
use crate::error::Error;
use crate::model::AccountStatus;
use crate::ports::{Found, Job, Lookup, PageRequest, WakeUp};
use crate::usecases::enrollments::outreach_key;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use outreach_domain::campaign::TimezoneMode;
use outreach_domain::enrollment::Enrollment;

/// Enrollments of a fan-out chunk planned at once (§15): each makes up to
/// three writes in turn (its candidate's record, its wake-up, its plan), so
/// eight at a time plan a chunk of 200 in about 75 round trips instead of
/// 600, at some 150–250 `CreateSchedule` a second for a planner instance
/// in-region: within Scheduler's request-rate quota (1,000 a second or more
/// in the main regions, 250 in the smallest; a throttled call is retried).
pub const CHUNK_CONCURRENCY: usize = 8;

/// The kind of a fan-out in its wake-up's name: `s` a start's, `r` a resume's.
fn kind_of(how: Replan) -> &'static str {
    match how {
        Replan::Fresh(_) => "s",
        Replan::Resume(_) => "r",
    }
}

impl Campaigns<'_> {
    /// Start or resume: a campaign runs (`change`) from now, and its
    /// enrollments are planned `how` (R-5.2, R-10.1). Needs sender rights and
    /// a connected sender (R-2.1, R-2.4). The background fan-out is queued
    /// before the state change, so a crash between the two can never leave a
    /// running campaign unplanned.
    pub(super) async fn set_running<E: std::fmt::Display>(
        &self,
        who: &Identity,
        id: &str,
        how: fn(DateTime<Utc>) -> Replan,
        change: fn(&mut Campaign, DateTime<Utc>) -> Result<(), E>,
    ) -> Result<Campaign, Error> {
        let current = self.campaign(who, id).await?.value;
        // A start needs a candidate: 409 without any enrollment (R-5.2). The
        // campaign's count of active ones answers at once in the common
        // case; only a campaign without any active one is looked into.
        if matches!(how(self.now()), Replan::Fresh(_))
            && current.active_enrollments <= 0
            && !self.has_enrollment(&current).await?
        {
            return Err(Error::Conflict(
                "the campaign has no candidates: add candidates before starting it (R-5.2)".into(),
            ));
        }
        self.accounts().require_sender_rights(who, &current).await?;
        self.require_connected_sender(&current).await?;
        let now = self.now();
        self.queue_fan_out(&current, how(now), None).await?;
        let campaign = self
            .change_campaign(who, id, |c| {
                change(c, now).map_err(|e| Error::Conflict(e.to_string()))
            })
            .await?;
        if self.config.plan_first_chunk_in_request {
            self.plan_first_chunk(&campaign, how(now)).await?;
        }
        self.complete_if_all_ended(&campaign).await?;
        Ok(campaign)
    }

    /// R-2.1: a campaign sends only from a connected account its owner may use
    /// (the send path asks the same, R-2.4).
    pub(super) async fn require_connected_sender(&self, campaign: &Campaign) -> Result<(), Error> {
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
    pub(super) async fn plan_first_chunk(
        &self,
        campaign: &Campaign,
        how: Replan,
    ) -> Result<(), Error> {
        self.plan_chunk(campaign, how, None).await.map(|_| ())
    }

    /// Plans one page of enrollments; returns the cursor of the next page.
    /// Idempotent: a fresh plan from the same S is not made twice. The page's
    /// enrollments and their candidates' records are read in batches, and
    /// planned [`CHUNK_CONCURRENCY`] at a time (§15).
    pub(super) async fn plan_chunk(
        &self,
        campaign: &Campaign,
        how: Replan,
        after: Option<String>,
    ) -> Result<Option<String>, Error> {
        let page = PageRequest {
            limit: FAN_OUT_CHUNK,
            after,
        };
        // Read consistently: an enrollment added just before the start is
        // planned here or by its own add, never by neither (issue 19).
        let batch = self
            .store
            .list_enrollments_consistent(&campaign.org_id, &campaign.id, &page)
            .await?;
        // A finished enrollment's pending re-send is planned too (R-5.3, R-9.2).
        let (resize, due): (Vec<&Enrollment>, Vec<&Enrollment>) = batch
            .items
            .iter()
            .filter(|e| e.may_send() || e.has_sendable_step())
            .partition(|e| e.steps.len() != campaign.steps.len());
        // An edit whose answer was lost after the campaign's write never
        // resized these to its steps: done here, as the edit would have
        // (R-5.2; found by the simulation, seed 61207 run 6840).
        for e in resize {
            self.resize_and_retime(campaign, &e.id, true).await?;
        }
        let read = self.prefetch(campaign, &due).await?;
        // The futures are made before the stream (owned ids, no closure over
        // references inside it), so that the request's future stays `Send`.
        let plans: Vec<_> = due
            .iter()
            .map(|e| e.id.clone())
            .zip(read)
            .map(|(id, pre)| async move { self.replan_read(campaign, &id, how, pre).await })
            .collect();
        stream::iter(plans)
            .buffer_unordered(CHUNK_CONCURRENCY)
            .try_collect::<()>()
            .await?;
        Ok(batch.next)
    }

    /// What planning `due` reads, in batches (§15): each enrollment with its
    /// version, its candidate's outreach record (R-5.6) and, in recipient
    /// mode, the candidate's zone (R-6.8).
    async fn prefetch(
        &self,
        campaign: &Campaign,
        due: &[&Enrollment],
    ) -> Result<Vec<Prefetched>, Error> {
        let org = &campaign.org_id;
        let recipient = campaign.timezone_mode == TimezoneMode::Recipient;
        let mut lookups = Vec::with_capacity(due.len() * 3);
        for e in due {
            lookups.push(Lookup::Enrollment(org.clone(), e.id.clone()));
            lookups.push(Lookup::Record(outreach_key(org, &e.candidate_id)));
            if recipient {
                lookups.push(Lookup::Candidate(org.clone(), e.candidate_id.clone()));
            }
        }
        let mut found = self.store.get_batch(&lookups).await?.into_iter();
        let mut read = Vec::with_capacity(due.len());
        for _ in due {
            let enrollment = match found.next().flatten() {
                Some(Found::Enrollment(e)) => Some(*e),
                _ => None,
            };
            let outreach = match found.next().flatten() {
                Some(Found::Record(r)) => Some(r),
                _ => None,
            };
            // As `plan_zone` has it: the campaign's unless the candidate's is known.
            let zone = match recipient.then(|| found.next().flatten()) {
                Some(Some(Found::Candidate(c))) => c.value.timezone.unwrap_or(campaign.timezone),
                _ => campaign.timezone,
            };
            read.push(Prefetched {
                enrollment,
                outreach: Some(outreach),
                zone: Some(zone),
            });
        }
        Ok(read)
    }

    /// Queues the planning of a campaign's enrollments from `after` on (SPEC §15:
    /// large campaigns start without the API waiting for every wake-up).
    pub(super) async fn queue_fan_out(
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
        // The kind is in the name: a start refused in the same second as a
        // resume queues a chunk of its own, which must not take the resume's
        // place (found by the simulation, seed 21121206 run 1963: the resume's
        // chunk was replaced by the stale start's, and nothing planned it).
        let name = format!(
            "fan.{}.{}{}.{:016x}",
            campaign.id,
            kind_of(how),
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
        // state of an older one after a later pause, edit or resume (R-10.1).
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
                    "fan.{}.{}{}.retry{}",
                    id,
                    kind_of(how),
                    since.timestamp(),
                    at.timestamp() / 60
                );
                self.queue.enqueue(&WakeUp { name, at, job }).await?;
            }
            return Ok(false);
        }
        let ran = self.chunk_of(&campaign, how, after.clone()).await;
        if ran.is_err() {
            self.retry_chunk(org, id, how, after).await;
        }
        ran
    }

    /// The chunk after `after`, then the next one queued or, after the last,
    /// the campaign's completion checked.
    async fn chunk_of(
        &self,
        campaign: &Campaign,
        how: Replan,
        after: Option<String>,
    ) -> Result<bool, Error> {
        let next = self.plan_chunk(campaign, how, after).await?;
        if next.is_some() {
            self.queue_fan_out(campaign, how, next).await?;
        } else {
            // The fan-out is queued before the state change, so this check survives a
            // crash of the request that started or resumed the campaign.
            self.complete_if_all_ended(campaign).await?;
        }
        Ok(true)
    }

    /// A chunk that failed part-way (a store answer lost, issue 19) goes
    /// again a minute later: nothing else plans its enrollments, and the
    /// runner that failed may drop it (local mode does). Chunks are
    /// idempotent, so a platform's own redelivery besides does no harm;
    /// when even this cannot be queued, the error already returned stands.
    async fn retry_chunk(&self, org: &OrgId, id: &CampaignId, how: Replan, after: Option<String>) {
        let (Replan::Fresh(since) | Replan::Resume(since)) = how;
        let at = self.now() + chrono::Duration::minutes(1);
        let cursor = after.clone().unwrap_or_else(|| "start".to_owned());
        let name = format!(
            "fan.{id}.{}{}.{:016x}.failed{}",
            kind_of(how),
            since.timestamp(),
            outreach_domain::jitter::stable_hash(&cursor, 0, "fan-out"),
            at.timestamp() / 60
        );
        let job = Job::PlanChunk {
            org_id: org.clone(),
            campaign_id: id.clone(),
            how,
            after,
        };
        if let Err(e) = self.queue.enqueue(&WakeUp { name, at, job }).await {
            tracing::warn!(campaign = %id, error = %e, "a failed fan-out chunk could not be queued again");
        }
    }
}
