//! Sender rights: only an account's owner and its current delegates
//! may cause mail to leave from it.
//!
//! Every use case that can make mail leave from an account — creating,
//! editing, starting or resuming a campaign, adding candidates to it,
//! enrollment overrides, retries and resumes, single messages — asks here at
//! the moment of the action. The rule itself is [`EmailAccount::usable_by`];
//! this module turns its answer into the API's: 403 on a campaign the caller
//! sees, 422 on a request body's field naming an account they cannot use.
//! Pausing and stopping a campaign and pausing or removing an enrollment are
//! safety actions any colleague may take, so they do not ask.

use outreach_domain::campaign::Campaign;
use outreach_domain::ids::AccountId;

use super::Accounts;
use crate::auth::Identity;
use crate::error::Error;
use crate::model::EmailAccount;

impl Accounts<'_> {
    /// The account `who` may send from now (owner or current delegate), or
    /// `None`: unknown, removed, foreign, or a grant since revoked.
    pub(crate) async fn sendable_account(
        &self,
        who: &Identity,
        id: &AccountId,
    ) -> Result<Option<EmailAccount>, Error> {
        Ok(self
            .store
            .get_account(id)
            .await?
            .map(|v| v.value)
            .filter(|a| a.usable_by(&who.org_id, &who.user_id)))
    }

    /// The account a request body names in `field`, if `who` may send from
    /// it; otherwise 422 on that field, whether it exists or not.
    pub(crate) async fn sender_named_in_body(
        &self,
        who: &Identity,
        id: &str,
        field: &str,
    ) -> Result<EmailAccount, Error> {
        self.sendable_account(who, &AccountId::from(id))
            .await?
            .ok_or_else(|| {
                Error::invalid(field, "no sender account with this id is available to you")
            })
    }

    /// 403 unless `who` may send from the sender account of `campaign`, which
    /// they already see (an unseen one answered 404 before this). A campaign's
    /// own owner whose grant was revoked is refused too.
    pub(crate) async fn require_sender_rights(
        &self,
        who: &Identity,
        campaign: &Campaign,
    ) -> Result<(), Error> {
        match self
            .sendable_account(who, &campaign.sender_account_id)
            .await?
        {
            Some(_) => Ok(()),
            None => Err(Error::Forbidden(format!(
                "only the owner of the sender account {} and its delegates may do this; \
                 you may pause or stop the campaign and pause or remove its enrollments",
                campaign.sender_account_id
            ))),
        }
    }
}
