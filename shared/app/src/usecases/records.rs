//! Read-modify-write of the records many use cases change, each with the
//! version check of its store write and a bounded retry on a lost race — one
//! place for the loop instead of one per caller.

use std::collections::BTreeMap;

use outreach_domain::campaign::{Campaign, PauseReason};
use outreach_domain::candidate::Candidate;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, OrgId};

use crate::error::Error;
use crate::model::EmailAccount;
use crate::ports::{StoreError, Versioned};
use crate::service::{CAS_ATTEMPTS, Service};

/// Campaigns a pause touched, by (organization, project): what a notification names.
pub(crate) type PausedByProject = BTreeMap<(OrgId, String), Vec<(CampaignId, String)>>;

impl Service {
    /// Changes a campaign; `change` answers `Ok(false)` to leave it as it is.
    /// `None` when the campaign does not exist.
    pub(crate) async fn update_campaign(
        &self,
        org: &OrgId,
        id: &CampaignId,
        change: impl Fn(&mut Campaign) -> Result<bool, Error>,
    ) -> Result<Option<(Campaign, bool)>, Error> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(Versioned { mut value, version }) = self.store.get_campaign(org, id).await?
            else {
                return Ok(None);
            };
            if !change(&mut value)? {
                return Ok(Some((value, false)));
            }
            match self.store.put_campaign(&value, Some(version)).await {
                Ok(_) => return Ok(Some((value, true))),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the campaign is being changed concurrently; try again".into(),
        ))
    }

    /// Changes a sender account, as [`Service::update_campaign`] does.
    pub(crate) async fn update_account(
        &self,
        id: &AccountId,
        change: impl Fn(&mut EmailAccount) -> Result<bool, Error>,
    ) -> Result<Option<(EmailAccount, bool)>, Error> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(Versioned { mut value, version }) = self.store.get_account(id).await? else {
                return Ok(None);
            };
            if !change(&mut value)? {
                return Ok(Some((value, false)));
            }
            match self.store.put_account(&value, Some(version)).await {
                Ok(_) => return Ok(Some((value, true))),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the account is being changed concurrently; try again".into(),
        ))
    }

    /// Changes a candidate, as [`Service::update_campaign`] does.
    pub(crate) async fn modify_candidate(
        &self,
        org: &OrgId,
        id: &CandidateId,
        change: impl Fn(&mut Candidate) -> Result<bool, Error>,
    ) -> Result<Option<(Candidate, bool)>, Error> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(Versioned { mut value, version }) = self.store.get_candidate(org, id).await?
            else {
                return Ok(None);
            };
            if !change(&mut value)? {
                return Ok(Some((value, false)));
            }
            match self.store.put_candidate(&value, Some(version)).await {
                Ok(_) => return Ok(Some((value, true))),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(
            "the candidate is being changed concurrently; try again".into(),
        ))
    }

    /// Pauses, with `reason`, every running campaign of `campaigns` that
    /// `which` selects; returns them by project.
    pub(crate) async fn pause_campaigns(
        &self,
        campaigns: &[(OrgId, CampaignId)],
        reason: PauseReason,
        which: impl Fn(&Campaign) -> bool,
    ) -> Result<PausedByProject, Error> {
        let mut paused = PausedByProject::new();
        for (org, id) in campaigns {
            let changed = self
                .update_campaign(org, id, |c| Ok(which(c) && c.pause(reason).is_ok()))
                .await?;
            if let Some((c, true)) = changed {
                paused
                    .entry((org.clone(), c.project_id.to_string()))
                    .or_default()
                    .push((c.id, c.name));
            }
        }
        Ok(paused)
    }
}
