//! One import at a time in an organization (R-3.7, issue 21, review t19).
//!
//! Rows are matched to the organization's candidates by canonical address
//! when an import reads them; two imports running at once would each miss
//! what the other creates and create the same person twice. So an import
//! takes the organization's import lease before it reads anything: a keyed
//! record written with a conditional write, naming the import and until
//! when it holds. While another import holds it the request answers 409
//! (naming the running import, `GET /v1/imports/{id}`); the lease is given
//! back when the import is done, and one whose holder died (a crash, a
//! timeout) is free again once its time is over: [`SYNC_LEASE`] for an
//! import answered when done, [`JOB_LEASE`] after the last chunk a job ran
//! (a job holds it from its 202 until its last chunk, each chunk renewing
//! it). A repeat of the same import (the same `Idempotency-Key`, hence the
//! same import id) takes its own lease over.

use chrono::{DateTime, Duration, Utc};
use outreach_domain::ids::OrgId;
use serde::{Deserialize, Serialize};

use super::Catalog;
use crate::error::Error;
use crate::ports::StoreError;

/// How long an import answered when done holds the lease at most: far more
/// than the 10,000 rows it may hold take (README, "Import").
pub const SYNC_LEASE: Duration = Duration::minutes(10);

/// How long a job holds the lease after its last chunk started: far more
/// than one chunk takes, so only a job that stopped moving frees it.
pub const JOB_LEASE: Duration = Duration::minutes(30);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Lease {
    import_id: String,
    until: DateTime<Utc>,
}

fn lease_key(org: &OrgId) -> String {
    format!("import-lease:{org}")
}

impl Catalog<'_> {
    /// Takes the organization's import lease for `import_id` for `hold`;
    /// 409 while another import holds it.
    pub(super) async fn take_import_lease(
        &self,
        org: &OrgId,
        import_id: &str,
        hold: Duration,
    ) -> Result<(), Error> {
        for _ in 0..8 {
            let current = self.lease(org).await?;
            let expected = match &current {
                Some((lease, _)) if lease.import_id != import_id && lease.until > self.now() => {
                    return Err(Error::Conflict(format!(
                        "an import is running in this organization ({0}); import again when \
                         GET /v1/imports/{0} says it is done",
                        lease.import_id
                    )));
                }
                Some((_, version)) => Some(*version),
                None => None,
            };
            match self.put_lease(org, import_id, hold, expected).await {
                Ok(true) => return Ok(()),
                Ok(false) => continue,
                Err(e) => {
                    // The write may have landed with its answer lost: a
                    // retry of the request must not find its own dead lease.
                    self.release_import_lease(org, import_id).await;
                    return Err(e);
                }
            }
        }
        Err(Error::Conflict(
            "another import took this organization's import lease".into(),
        ))
    }

    /// A running job's chunk renews its lease for [`JOB_LEASE`] (unless
    /// another import took it over meanwhile, which only a job that stopped
    /// moving for that long lets happen).
    pub(super) async fn renew_import_lease(
        &self,
        org: &OrgId,
        import_id: &str,
    ) -> Result<(), Error> {
        for _ in 0..8 {
            let Some((lease, version)) = self.lease(org).await? else {
                return Ok(());
            };
            if lease.import_id != import_id {
                return Ok(());
            }
            match self
                .put_lease(org, import_id, JOB_LEASE, Some(version))
                .await
            {
                Ok(true) => return Ok(()),
                Ok(false) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Gives the lease back when `import_id` is done (its time ends now);
    /// a lease another import holds is left alone. Never fails the import:
    /// a lease that could not be given back ends with its time (logged).
    pub(super) async fn release_import_lease(&self, org: &OrgId, import_id: &str) {
        if let Err(e) = self.try_release(org, import_id).await {
            tracing::warn!(error = %e, import_id, "could not give back the import lease");
        }
    }

    async fn try_release(&self, org: &OrgId, import_id: &str) -> Result<(), Error> {
        for _ in 0..8 {
            let Some((lease, version)) = self.lease(org).await? else {
                return Ok(());
            };
            if lease.import_id != import_id || lease.until <= self.now() {
                return Ok(());
            }
            match self
                .put_lease(org, import_id, Duration::zero(), Some(version))
                .await
            {
                Ok(true) => return Ok(()),
                Ok(false) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn lease(&self, org: &OrgId) -> Result<Option<(Lease, u64)>, Error> {
        match self.store.get_record(&lease_key(org)).await? {
            Some(v) => {
                let lease = serde_json::from_value(v.value)
                    .map_err(|e| Error::Internal(format!("an import lease: {e}")))?;
                Ok(Some((lease, v.version)))
            }
            None => Ok(None),
        }
    }

    /// Writes the lease over version `expected` (`None`: creates it);
    /// `false` when another write came first.
    async fn put_lease(
        &self,
        org: &OrgId,
        import_id: &str,
        hold: Duration,
        expected: Option<u64>,
    ) -> Result<bool, Error> {
        let lease = Lease {
            import_id: import_id.to_owned(),
            until: self.now() + hold,
        };
        let value = serde_json::to_value(&lease).map_err(|e| Error::Internal(e.to_string()))?;
        match self
            .store
            .put_record(&lease_key(org), &value, expected)
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
