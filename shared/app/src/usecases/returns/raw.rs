//! A reply's raw message (R-11.2): it "stays available to the campaign's
//! owner and the sender account's owner for as long as the deployment keeps
//! inbound mail". Local mode keeps it in its data folder; in AWS SES keeps it
//! in the inbound bucket, which the API does not read (README).

use super::Returns;
use crate::auth::Identity;
use crate::error::Error;
use crate::ports::RawMessage;
use crate::reply::Reply;

/// What `GET /v1/replies/{id}/raw` answers when the caller may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawAnswer {
    /// The raw message's bytes.
    Kept(Vec<u8>),
    /// Kept where this process cannot read it: the `raw_ref` (AWS:
    /// `s3://bucket/key` of the inbound bucket).
    Elsewhere(String),
}

impl Returns<'_> {
    /// Keeps a message that arrived without a place of its own; a failure
    /// loses only the raw copy, never the reply (logged).
    pub(crate) async fn keep_raw(&self, raw: &[u8]) -> Option<String> {
        match self.raw_mail.keep(raw).await {
            Ok(kept) => kept,
            Err(e) => {
                tracing::warn!(error = %e, "the raw inbound message was not kept");
                None
            }
        }
    }

    /// the raw message of a reply of the caller's organization, for
    /// the campaign's owner and the sender account's owner (403 for anyone
    /// else); 404 for an unknown or foreign reply, and when the message is
    /// no longer kept (expired or erased, R-3.6).
    pub async fn raw_message(&self, who: &Identity, id: &str) -> Result<RawAnswer, Error> {
        let reply = self
            .store
            .get_reply(&who.org_id, id)
            .await?
            .ok_or(Error::NotFound("reply"))?
            .value;
        if !self.reads_raw(who, &reply).await? {
            return Err(Error::Forbidden(
                "only the campaign's owner and the sender account's owner may read a reply's \
                 raw message (R-11.2)"
                    .into(),
            ));
        }
        // the raw message carries a colleague's manual address the
        // reply list hides from this user; it is theirs alone.
        if self.sender_hidden(who, &reply).await? {
            return Err(Error::Forbidden(
                "this reply came from an address a colleague added for this candidate: only \
                 they may see it, and so its raw message (R-3.3)"
                    .into(),
            ));
        }
        let raw_ref = reply.raw_ref.ok_or(Error::NotFound("raw message"))?;
        match self
            .raw_mail
            .read(&raw_ref)
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
        {
            RawMessage::Kept(bytes) => Ok(RawAnswer::Kept(bytes)),
            RawMessage::Gone => Err(Error::NotFound("raw message")),
            RawMessage::Elsewhere => Ok(RawAnswer::Elsewhere(raw_ref)),
        }
    }

    /// Whether `who` is the owner of the reply's campaign or of its sender
    /// account: who may read its raw message.
    pub(crate) async fn reads_raw(&self, who: &Identity, reply: &Reply) -> Result<bool, Error> {
        let Some(c) = self
            .campaigns()
            .campaign_by_id(&reply.org_id, &reply.campaign_id)
            .await?
        else {
            return Ok(false);
        };
        if c.owner_id == who.user_id {
            return Ok(true);
        }
        Ok(self
            .store
            .get_account(&c.sender_account_id)
            .await?
            .is_some_and(|a| a.value.owner_id == who.user_id && a.value.org_id == who.org_id))
    }
}
