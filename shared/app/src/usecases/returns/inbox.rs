//! The replies inbox: the organization's replies and automatic
//! replies, newest first and filtered, as a user may see them, and a user's
//! read flag and class correction.

use outreach_domain::EmailAddress;
use outreach_domain::inbound::ReplyClass;

use super::Returns;
use crate::auth::Identity;
use crate::error::Error;
use crate::ports::{Page, PageRequest, StoreError};
use crate::reply::{Reply, ReplyFilter};
use crate::retry::{Attempt, retry_versioned};

/// A reply as one user sees it: the `From` address hidden when it is a
/// colleague's manual address of the candidate, the raw message's
/// place shown only to the campaign's owner and the sender account's owner
///
#[derive(Debug, Clone)]
pub struct ShownReply {
    pub reply: Reply,
    pub from: Option<EmailAddress>,
    pub raw_ref: Option<String>,
}

/// What `PATCH /v1/replies/{id}` changes.
#[derive(Debug, Clone, Default)]
pub struct ReplyChange {
    pub read: Option<bool>,
    /// A class name ([`ReplyClass::as_str`]).
    pub class: Option<String>,
}

/// The class named in a request, or 422 on `field`.
pub fn class_named(name: &str, field: &str) -> Result<ReplyClass, Error> {
    ReplyClass::parse(name).ok_or_else(|| {
        Error::invalid(
            field,
            "one of interested, not_interested, opt_out, referral, other",
        )
    })
}

impl Returns<'_> {
    /// a page of the caller's organization's replies that `filter`
    /// admits, newest first. Every user of the organization sees them, as
    /// they see its campaigns and single messages.
    pub async fn replies(
        &self,
        who: &Identity,
        filter: &ReplyFilter,
        page: &PageRequest,
    ) -> Result<Page<ShownReply>, Error> {
        let found = self.store.list_replies(&who.org_id, filter, page).await?;
        let mut items = Vec::with_capacity(found.items.len());
        for r in found.items {
            items.push(self.shown(who, r).await?);
        }
        Ok(Page {
            items,
            next: found.next,
        })
    }

    /// One reply of the caller's organization (404 for an unknown or foreign id).
    pub async fn reply(&self, who: &Identity, id: &str) -> Result<ShownReply, Error> {
        let r = self
            .store
            .get_reply(&who.org_id, id)
            .await?
            .ok_or(Error::NotFound("reply"))?;
        self.shown(who, r.value).await
    }

    /// marks a reply read or unread and corrects its class.
    /// Correcting to `opt_out` opts the candidate out; correcting an
    /// `opt_out` lifts only what that class caused. An automatic reply has no
    /// class to correct (422).
    pub async fn change_reply(
        &self,
        who: &Identity,
        id: &str,
        change: &ReplyChange,
    ) -> Result<ShownReply, Error> {
        let class = change
            .class
            .as_deref()
            .map(|c| class_named(c, "class"))
            .transpose()?;
        let (before, after) = retry_versioned(
            || async move {
                let v = self
                    .store
                    .get_reply(&who.org_id, id)
                    .await?
                    .ok_or(Error::NotFound("reply"))?;
                let before = v.value.clone();
                let mut r = v.value;
                if class.is_some() && r.automatic {
                    return Err(Error::invalid(
                        "class",
                        "an automatic reply has no class (R-9.9)",
                    ));
                }
                if let Some(read) = change.read {
                    r.read = read;
                }
                if class.is_some() {
                    r.class = class;
                }
                if r == before {
                    return Ok(Attempt::Done((before, r)));
                }
                match self.store.update_reply(&r, v.version).await {
                    Ok(_) => Ok(Attempt::Done((before, r))),
                    Err(StoreError::Conflict) => Ok(Attempt::Lost),
                    Err(e) => Err(e.into()),
                }
            },
            || Err(Error::Conflict("the reply kept changing; try again".into())),
        )
        .await?;
        let opt_out = Some(ReplyClass::OptOut);
        if after.class == opt_out && before.class != opt_out {
            self.reply_opt_out(&after).await?;
        } else if before.class == opt_out && after.class != opt_out {
            self.lift_reply_opt_out(&after).await?;
        }
        self.shown(who, after).await
    }

    async fn shown(&self, who: &Identity, reply: Reply) -> Result<ShownReply, Error> {
        let hidden = self.sender_hidden(who, &reply).await?;
        let from = reply.from.clone().filter(|_| !hidden);
        let owner = reply.raw_ref.is_some() && !hidden && self.reads_raw(who, &reply).await?;
        let raw_ref = reply.raw_ref.clone().filter(|_| owner);
        Ok(ShownReply {
            reply,
            from,
            raw_ref,
        })
    }

    /// Whether the reply's `From` is hidden from `who`: a colleague's manual
    /// address of the candidate, or any address of an erased
    /// candidate. The raw message, which carries it, is hidden too.
    pub(crate) async fn sender_hidden(&self, who: &Identity, reply: &Reply) -> Result<bool, Error> {
        let Some(from) = &reply.from else {
            return Ok(false);
        };
        let candidate = self
            .store
            .get_candidate(&who.org_id, &reply.candidate_id)
            .await?;
        Ok(candidate.is_some_and(|c| {
            c.value.erased
                || (c.value.emails.iter().any(|x| &x.address == from)
                    && !c.value.shows(from, &who.user_id))
        }))
    }
}
