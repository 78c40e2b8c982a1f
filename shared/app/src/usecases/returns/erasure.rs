//! Erasure of a candidate's replies: the reply records the inbox
//! keeps hold the candidate's address, the subject and the text of
//! what they wrote. Erasure blanks them ([`Reply::blank`]) and keeps each
//! record, so that the inbox still lists it and every count stays right.
//! The raw message is deleted where the deployment can (local mode's data
//! folder; AWS's inbound bucket expires it, README).
//! Each step is idempotent: an erasure retried after a crash finishes the job.

use outreach_domain::ids::{CandidateId, OrgId};

use super::Returns;
use crate::error::Error;
use crate::ports::StoreError;
use crate::reply::Reply;
use crate::retry::{Attempt, retry_versioned};

impl Returns<'_> {
    /// blanks every reply of the candidate in the organization.
    pub(crate) async fn erase_replies(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Result<(), Error> {
        for id in self.store.replies_of_candidate(org, candidate).await? {
            self.blank_reply(org, &id).await?;
        }
        Ok(())
    }

    /// Blanks one reply record (nothing when it is blank already).
    pub(crate) async fn blank_reply(&self, org: &OrgId, id: &str) -> Result<(), Error> {
        retry_versioned(
            || async move {
                let Some(v) = self.store.get_reply(org, id).await? else {
                    return Ok(Attempt::Done(()));
                };
                let mut r: Reply = v.value;
                // The raw message first: a retry still finds its place.
                if let Some(raw_ref) = &r.raw_ref {
                    self.raw_mail
                        .forget(raw_ref)
                        .await
                        .map_err(|e| Error::Internal(e.to_string()))?;
                }
                if !r.blank() {
                    return Ok(Attempt::Done(()));
                }
                match self.store.update_reply(&r, v.version).await {
                    Ok(_) => Ok(Attempt::Done(())),
                    Err(StoreError::Conflict) => Ok(Attempt::Lost),
                    Err(e) => Err(e.into()),
                }
            },
            || Err(Error::Conflict("the reply kept changing; try again".into())),
        )
        .await
    }

    /// A reply recorded for a candidate erased meanwhile is blanked too: the
    /// erasure may have listed the candidate's replies before it was created.
    pub(crate) async fn blank_if_erased(&self, reply: &Reply) -> Result<(), Error> {
        let erased = self
            .store
            .get_candidate(&reply.org_id, &reply.candidate_id)
            .await?
            .is_none_or(|c| c.value.erased);
        if erased {
            self.blank_reply(&reply.org_id, &reply.id).await?;
        }
        Ok(())
    }
}
