//! Read-modify-write of the records many use cases change, each with the
//! version check of its store write and a bounded retry on a lost race — one
//! place for the loop instead of one per caller.

use std::collections::BTreeMap;

use outreach_domain::campaign::{Campaign, PauseReason};
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, OrgId};

use crate::error::Error;
use crate::model::EmailAccount;
use crate::ports::{Activity, Store, StoreError, Versioned, WakeUp};
use crate::retry::{Attempt, retry_versioned};
use crate::service::Service;

/// Campaigns a pause touched, by (organization, project): what a notification names.
pub(crate) type PausedByProject = BTreeMap<(OrgId, String), Vec<(CampaignId, String)>>;

/// A write that lost its race to a concurrent change is read and tried again.
pub(crate) fn lost<T>(written: Result<T, StoreError>) -> Result<Attempt<T>, Error> {
    match written {
        Ok(v) => Ok(Attempt::Done(v)),
        Err(StoreError::Conflict) => Ok(Attempt::Lost),
        Err(e) => Err(e.into()),
    }
}

/// The read-modify-write of one versioned record: `read` it, `change` it
/// (`Ok(false)` leaves it as it is), `write` it to `store` with the version read.
/// `None` when the record does not exist; else the record and whether it changed.
async fn change_versioned<T, R>(
    store: &dyn Store,
    what: &str,
    read: impl Fn() -> R,
    write: impl for<'a> Fn(&'a dyn Store, &'a T, u64) -> BoxFuture<'a, Result<u64, StoreError>>,
    change: impl Fn(&mut T) -> Result<bool, Error>,
) -> Result<Option<(T, bool)>, Error>
where
    R: Future<Output = Result<Option<Versioned<T>>, StoreError>>,
{
    let (read, write, change) = (&read, &write, &change);
    retry_versioned(
        || async move {
            let Some(Versioned { mut value, version }) = read().await? else {
                return Ok(Attempt::Done(None));
            };
            if !change(&mut value)? {
                return Ok(Attempt::Done(Some((value, false))));
            }
            Ok(lost(write(store, &value, version).await)?.map(|_| Some((value, true))))
        },
        || {
            Err(Error::Conflict(format!(
                "the {what} is being changed concurrently; try again"
            )))
        },
    )
    .await
}

/// What a store's write returns: a boxed future borrowing what it writes.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Service {
    /// Writes an enrollment read at `version`; a lost race is [`Attempt::Lost`].
    pub(crate) async fn store_enrollment(
        &self,
        e: &Enrollment,
        version: u64,
        activity: Activity,
    ) -> Result<Attempt<()>, Error> {
        Ok(lost(self.store.update_enrollment(e, version, activity).await)?.map(|_| ()))
    }

    /// What follows a written change of an enrollment: the wake-up of its next
    /// step and, when it settled, its campaign's completion.
    pub(crate) async fn follow_up(&self, e: &Enrollment, settled: bool) -> Result<(), Error> {
        if e.has_sendable_step()
            && let Some(at) = e.next_due_at
        {
            self.scheduler.schedule(&WakeUp::send_step(e, at)).await?;
        }
        if settled {
            self.campaigns()
                .complete_if_done(&e.org_id, &e.campaign_id)
                .await?;
        }
        Ok(())
    }

    /// Changes a campaign; `change` answers `Ok(false)` to leave it as it is.
    /// `None` when the campaign does not exist.
    pub(crate) async fn update_campaign(
        &self,
        org: &OrgId,
        id: &CampaignId,
        change: impl Fn(&mut Campaign) -> Result<bool, Error>,
    ) -> Result<Option<(Campaign, bool)>, Error> {
        change_versioned(
            self.store.as_ref(),
            "campaign",
            || self.store.get_campaign(org, id),
            |store, c, v| store.put_campaign(c, Some(v)),
            change,
        )
        .await
    }

    /// Changes a sender account, as [`Service::update_campaign`] does.
    pub(crate) async fn update_account(
        &self,
        id: &AccountId,
        change: impl Fn(&mut EmailAccount) -> Result<bool, Error>,
    ) -> Result<Option<(EmailAccount, bool)>, Error> {
        change_versioned(
            self.store.as_ref(),
            "account",
            || self.store.get_account(id),
            |store, a, v| store.put_account(a, Some(v)),
            change,
        )
        .await
    }

    /// Changes a candidate, as [`Service::update_campaign`] does.
    pub(crate) async fn modify_candidate(
        &self,
        org: &OrgId,
        id: &CandidateId,
        change: impl Fn(&mut Candidate) -> Result<bool, Error>,
    ) -> Result<Option<(Candidate, bool)>, Error> {
        change_versioned(
            self.store.as_ref(),
            "candidate",
            || self.store.get_candidate(org, id),
            |store, c, v| store.put_candidate(c, Some(v)),
            change,
        )
        .await
    }

    /// Pauses, with `reason`, every running campaign of `campaigns` that
    /// `which` selects; returns them by project.
    pub(crate) async fn pause_campaigns(
        &self,
        campaigns: &[(OrgId, CampaignId)],
        reason: PauseReason,
        which: impl Fn(&Campaign) -> bool,
    ) -> Result<PausedByProject, Error> {
        self.change_campaigns(campaigns, |c| which(c) && c.pause(reason).is_ok())
            .await
    }

    /// Applies `change` to each campaign (written when it says it changed
    /// something); the changed ones by project.
    pub(crate) async fn change_campaigns(
        &self,
        campaigns: &[(OrgId, CampaignId)],
        change: impl Fn(&mut Campaign) -> bool,
    ) -> Result<PausedByProject, Error> {
        let mut paused = PausedByProject::new();
        for (org, id) in campaigns {
            let changed = self.update_campaign(org, id, |c| Ok(change(c))).await?;
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

impl Service {
    /// Read-modify-write of a small keyed record with a version check. `change`
    /// returns whether it changed anything (nothing is written otherwise).
    pub(crate) async fn update_record<T>(
        &self,
        key: &str,
        change: impl Fn(&mut T) -> Result<bool, Error>,
    ) -> Result<T, Error>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Default,
    {
        let change = &change;
        retry_versioned(
            || async move {
                let (mut value, expected) = match self.store.get_record(key).await? {
                    Some(v) => (
                        serde_json::from_value(v.value)
                            .map_err(|e| Error::Internal(format!("record {key}: {e}")))?,
                        Some(v.version),
                    ),
                    None => (T::default(), None),
                };
                if !change(&mut value)? {
                    return Ok(Attempt::Done(value));
                }
                let json =
                    serde_json::to_value(&value).map_err(|e| Error::Internal(e.to_string()))?;
                Ok(lost(self.store.put_record(key, &json, expected).await)?.map(|_| value))
            },
            || {
                Err(Error::Conflict(format!(
                    "{key} is being changed concurrently; try again"
                )))
            },
        )
        .await
    }

    pub(crate) async fn read_record<T>(&self, key: &str) -> Result<T, Error>
    where
        T: serde::de::DeserializeOwned + Default,
    {
        match self.store.get_record(key).await? {
            Some(v) => serde_json::from_value(v.value)
                .map_err(|e| Error::Internal(format!("record {key}: {e}"))),
            None => Ok(T::default()),
        }
    }
}
