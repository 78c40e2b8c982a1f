//! No double outreach: a candidate's record of their enrollments
//! across the organization's campaigns, rewritten with a version check on
//! every add, start and resume, so that two at once cannot both pass.

use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId};
use serde::Serialize;

use super::*;
use crate::error::Error;
use crate::ports::{Found, Lookup, Versioned};
use crate::retry::{Attempt, retry_versioned};
use crate::usecases::records::lost;

/// A candidate's enrollments across the organization's campaigns, the record
/// that makes the no-double-outreach check atomic: every add rewrites
/// it with a version check, so two concurrent adds cannot both pass.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub(super) struct Outreach {
    entries: Vec<OutreachEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub(super) struct OutreachEntry {
    campaign_id: CampaignId,
    enrollment_id: EnrollmentId,
    /// When the add that wrote it began: its enrollment may not exist yet.
    added_at: chrono::DateTime<chrono::Utc>,
    /// The start or resume moment whose check the enrollment passed:
    /// added to a running campaign, or planned by a start or resume. `null`
    /// while its campaign is a draft; entries written before the field existed
    /// were added to running campaigns, so they count as started.
    #[serde(default = "started_long_ago")]
    started_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub(super) fn started_long_ago() -> Option<chrono::DateTime<chrono::Utc>> {
    Some(chrono::DateTime::UNIX_EPOCH)
}

/// How long an entry whose enrollment is not written yet still counts: longer
/// than any add takes, so a concurrent add sees it.
pub(super) const PENDING_ADD_MINUTES: i64 = 2;

/// The answer when every attempt at the record lost to a concurrent `what`
/// (an add, a start) of the same candidate.
fn busy(what: &str) -> Result<Option<CampaignId>, Error> {
    Err(Error::Conflict(format!(
        "the candidate is being {what} concurrently; try again"
    )))
}

/// A candidate's outreach record as read, and its version (`None`: not written yet).
fn outreach_of(record: Option<Versioned<serde_json::Value>>) -> (Outreach, Option<u64>) {
    match record {
        Some(v) => (
            serde_json::from_value::<Outreach>(v.value).unwrap_or_default(),
            Some(v.version),
        ),
        None => (Outreach::default(), None),
    }
}

pub(crate) fn outreach_key(org: &outreach_domain::ids::OrgId, candidate: &CandidateId) -> String {
    format!("outreach:{org}:{candidate}")
}

impl Enrollments<'_> {
    /// refuses (returning the other campaign) a candidate already in a
    /// running, not-ended enrollment of another campaign, unless duplicates are
    /// allowed; records this enrollment either way. Atomic through the version
    /// check of the candidate's outreach record, never an eventually
    /// consistent index.
    pub(super) async fn claim_outreach(
        &self,
        campaign: &Campaign,
        candidate: &CandidateId,
        enrollment: &EnrollmentId,
        allow_duplicate: bool,
    ) -> Result<Option<CampaignId>, Error> {
        let key = &outreach_key(&campaign.org_id, candidate);
        retry_versioned(
            || async move {
                let (current, expected) = self.read_outreach(key).await?;
                let now = self.now();
                let live = self.live_elsewhere(campaign, current, now).await?;
                if !allow_duplicate && let Some(other) = live.first() {
                    return Ok(Attempt::Done(Some(other.campaign_id.clone())));
                }
                let entry = OutreachEntry {
                    campaign_id: campaign.id.clone(),
                    enrollment_id: enrollment.clone(),
                    added_at: now,
                    // Added to a running campaign, it is planned at once.
                    started_at: campaign.is_running().then_some(now),
                };
                self.record_entry(key, live, entry, expected).await
            },
            || busy("added"),
        )
        .await
    }

    /// again when an enrollment starts or resumes (a start or resume of
    /// its campaign, or of the enrollment): when its candidate meanwhile became
    /// active in another running campaign (two drafts with the same candidate,
    /// started one after the other), returns that campaign, and this enrollment
    /// must send nothing. Otherwise records that this enrollment started.
    /// Atomic like the add: of two starts racing, the version check of the
    /// candidate's record lets one pass and shows it to the other. `moment`
    /// is the start or resume: a fan-out chunk run again for the same moment
    /// finds its own decision and keeps it. `read`: the record as a fan-out
    /// chunk's batch read it (`Some(None)`: there is none), for the first
    /// attempt; a lost version check reads it again.
    pub(crate) async fn recheck_outreach(
        &self,
        campaign: &Campaign,
        e: &Enrollment,
        moment: chrono::DateTime<chrono::Utc>,
        read: Option<Option<Versioned<serde_json::Value>>>,
    ) -> Result<Option<CampaignId>, Error> {
        let key = &outreach_key(&campaign.org_id, &e.candidate_id);
        let mut read = read;
        retry_versioned(
            || {
                let read = read.take();
                async move {
                    let (current, expected) = match read {
                        Some(record) => outreach_of(record),
                        None => self.read_outreach(key).await?,
                    };
                    if current
                        .entries
                        .iter()
                        .any(|x| x.enrollment_id == e.id && x.started_at == Some(moment))
                    {
                        return Ok(Attempt::Done(None));
                    }
                    let live = self.live_elsewhere(campaign, current, self.now()).await?;
                    if !e.allow_duplicate
                        && let Some(started) = live.iter().find(|x| x.started_at.is_some())
                    {
                        return Ok(Attempt::Done(Some(started.campaign_id.clone())));
                    }
                    let entry = OutreachEntry {
                        campaign_id: campaign.id.clone(),
                        enrollment_id: e.id.clone(),
                        added_at: e.created_at,
                        started_at: Some(moment),
                    };
                    self.record_entry(key, live, entry, expected).await
                }
            },
            || busy("started"),
        )
        .await
    }

    /// A candidate's outreach record and its version (`None`: not written yet).
    pub(super) async fn read_outreach(&self, key: &str) -> Result<(Outreach, Option<u64>), Error> {
        Ok(outreach_of(self.store.get_record(key).await?))
    }

    /// The entries of `current` that still count against `campaign`:
    /// running, not-ended enrollments of other campaigns (or one being added
    /// right now); the rest are pruned.
    pub(super) async fn live_elsewhere(
        &self,
        campaign: &Campaign,
        current: Outreach,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<OutreachEntry>, Error> {
        let org = &campaign.org_id;
        let others: Vec<OutreachEntry> = current
            .entries
            .into_iter()
            .filter(|entry| entry.campaign_id != campaign.id)
            .collect();
        if others.is_empty() {
            return Ok(Vec::new());
        }
        // One batch read for every other campaign and enrollment (§15).
        let lookups: Vec<Lookup> = others
            .iter()
            .flat_map(|entry| {
                [
                    Lookup::Campaign(org.clone(), entry.campaign_id.clone()),
                    Lookup::Enrollment(org.clone(), entry.enrollment_id.clone()),
                ]
            })
            .collect();
        let found = self.store.get_batch(&lookups).await?;
        let mut live = Vec::new();
        for (entry, pair) in others.into_iter().zip(found.chunks(2)) {
            let running = matches!(&pair[0], Some(Found::Campaign(c)) if c.value.is_running());
            let active = match &pair[1] {
                Some(Found::Enrollment(e)) => !e.value.is_ended(),
                // Being added right now by a concurrent request.
                _ => now - entry.added_at < chrono::Duration::minutes(PENDING_ADD_MINUTES),
            };
            if running && active {
                live.push(entry);
            }
        }
        Ok(live)
    }

    /// Records that `entry` passed the check, beside the `live`
    /// entries of other campaigns, in the record read at `expected`. The
    /// version check makes the decision atomic: a concurrent add or start
    /// makes this write lose, and the check runs again.
    async fn record_entry(
        &self,
        key: &str,
        mut live: Vec<OutreachEntry>,
        entry: OutreachEntry,
        expected: Option<u64>,
    ) -> Result<Attempt<Option<CampaignId>>, Error> {
        live.push(entry);
        Ok(self
            .write_outreach(key, live, expected)
            .await?
            .map(|_| None))
    }

    /// Writes a candidate's outreach record read at `expected`.
    pub(super) async fn write_outreach(
        &self,
        key: &str,
        entries: Vec<OutreachEntry>,
        expected: Option<u64>,
    ) -> Result<Attempt<()>, Error> {
        let value = serde_json::to_value(Outreach { entries })
            .map_err(|err| Error::Internal(err.to_string()))?;
        Ok(lost(self.store.put_record(key, &value, expected).await)?.map(|_| ()))
    }
}
