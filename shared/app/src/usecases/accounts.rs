//! Sender accounts.

use outreach_domain::EmailAddress;
use outreach_domain::ids::AccountId;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::model::{AccountStatus, EmailAccount};
use crate::ports::Versioned;
use crate::service::Service;

impl Service {
    /// Links a sender address. Linking an address the same owner linked
    /// before revives the same account id.
    pub async fn link_account(
        &self,
        who: &Identity,
        address: &str,
        display_name: Option<String>,
    ) -> Result<EmailAccount, ApiError> {
        self.ensure_org(&who.org_id).await?;
        let address = EmailAddress::parse(address)
            .map_err(|e| ApiError::invalid("address", e.to_string()))?;
        let display_name = display_name
            .map(|d| d.replace(['\r', '\n'], " ").trim().to_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| address.local_part().to_owned());
        let status = if self.config.accounts_need_proof {
            AccountStatus::Pending
        } else {
            AccountStatus::Connected
        };
        if let Some(Versioned { mut value, version }) = self
            .store
            .find_account(&who.user_id, &who.org_id, &address)
            .await?
        {
            value.display_name = display_name;
            value.status = status;
            self.store.put_account(&value, Some(version)).await?;
            return Ok(value);
        }
        let account = EmailAccount {
            id: AccountId::new(self.new_id(AccountId::PREFIX)),
            org_id: who.org_id.clone(),
            owner_id: who.user_id.clone(),
            address,
            display_name,
            status,
            delegates: Vec::new(),
            created_at: self.now(),
        };
        self.store.put_account(&account, None).await?;
        Ok(account)
    }

    pub async fn list_accounts(&self, who: &Identity) -> Result<Vec<EmailAccount>, ApiError> {
        let mut accounts = self.store.accounts_of(&who.org_id, &who.user_id).await?;
        accounts.retain(|a| a.status != AccountStatus::Removed);
        Ok(accounts)
    }

    /// An account the caller may use; anything else is 404.
    pub async fn account_for(&self, who: &Identity, id: &str) -> Result<EmailAccount, ApiError> {
        self.store
            .get_account(&AccountId::from(id))
            .await?
            .map(|v| v.value)
            .filter(|a| a.usable_by(&who.org_id, &who.user_id))
            .ok_or(ApiError::NotFound("email account"))
    }
}

impl Service {
    /// re-linking an account returns it to `connected` (local mode) or
    /// `pending`, resolves its notifications and, once connected, resumes the
    /// campaigns the service paused for it (`sender_error`, `sender_removed`),
    /// re-planning overdue steps. Campaigns a user paused stay paused.
    pub async fn relink_account(&self, who: &Identity, id: &str) -> Result<EmailAccount, ApiError> {
        let account = self.account_for(who, id).await?;
        if account.owner_id != who.user_id || account.org_id != who.org_id {
            return Err(ApiError::NotFound("email account"));
        }
        let linked = self
            .link_account(
                who,
                account.address.as_str(),
                Some(account.display_name.clone()),
            )
            .await?;
        if linked.status == AccountStatus::Connected {
            self.sender_reconnected(&linked).await?;
        }
        Ok(linked)
    }

    /// Resolves the account's notifications and resumes what the service paused.
    pub(crate) async fn sender_reconnected(&self, account: &EmailAccount) -> Result<(), ApiError> {
        use outreach_domain::campaign::CampaignStatus;
        let now = self.now();
        let mut projects = std::collections::BTreeSet::new();
        for (org, cid) in self.store.campaigns_using(&account.id).await? {
            let Some(Versioned {
                value: campaign, ..
            }) = self.store.get_campaign(&org, &cid).await?
            else {
                continue;
            };
            projects.insert((org.clone(), campaign.project_id.to_string()));
            let paused_by_service = campaign.status == CampaignStatus::Paused
                && campaign.pause_reason.is_some_and(|r| r.resumes_by_itself());
            if paused_by_service {
                let owner = Identity {
                    org_id: org.clone(),
                    user_id: campaign.owner_id.clone(),
                    email: None,
                    admin: false,
                };
                // Another resumer may have won the race; that is fine.
                match self.resume_campaign(&owner, cid.as_str()).await {
                    Ok(_) | Err(ApiError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        for (org, project) in projects {
            for mut n in self.store.list_notifications(&org, &project).await? {
                if n.account_id.as_ref() == Some(&account.id) && n.resolved_at.is_none() {
                    n.resolved_at = Some(now);
                    self.store.put_notification(&n).await?;
                }
            }
        }
        Ok(())
    }
}
