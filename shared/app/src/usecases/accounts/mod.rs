//! Sender accounts.

pub mod me;
mod proof;
pub mod sender_rights;

use proof::*;

use outreach_domain::EmailAddress;
use outreach_domain::ids::AccountId;

use crate::auth::Identity;
use crate::error::Error;
use crate::model::{AccountStatus, Delegate, EmailAccount, Proof};
use crate::ports::Versioned;
use crate::retry::retry_versioned;

/// The most delegates one sender account has: the account's record
/// stays small (each grant is a user and an organization id of up to 200
/// bytes), and a team never needs more.
pub const MAX_DELEGATES: usize = 100;
use crate::usecases::records::lost;

process! {
    /// The accounts process: the user and their sender accounts — linking
    /// and proof of control, relinking and removal, delegates and
    /// sender rights, daily limits and credits.
    Accounts, accounts
}

/// the same owner linking the same address revives the same account
/// id, pending again; with proof, the relink counts as a resend.
fn relink(
    account: &mut EmailAccount,
    display_name: &str,
    proof: bool,
    now: chrono::DateTime<chrono::Utc>,
) {
    account.display_name = display_name.to_owned();
    account.status = AccountStatus::Pending;
    account.confirmed = false;
    if proof {
        account.proof.resent_at = resends_in_last_day(&account.proof, now);
        account.proof.resent_at.push(now);
    }
}

impl Accounts<'_> {
    /// Links a sender address. Linking an address the same owner linked
    /// before revives the same account id.
    pub async fn link_account(
        &self,
        who: &Identity,
        address: &str,
        display_name: Option<String>,
    ) -> Result<EmailAccount, Error> {
        self.ensure_org(&who.org_id).await?;
        let address =
            EmailAddress::parse(address).map_err(|e| Error::invalid("address", e.to_string()))?;
        let display_name = display_name
            .map(|d| d.replace(['\r', '\n'], " ").trim().to_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| address.local_part().to_owned());
        // Issue 19 item 4: a name like any other (200 characters), so the
        // account's record always fits its item.
        outreach_domain::Name::parse(&display_name)
            .map_err(|e| Error::invalid("display_name", e.to_string()))?;
        let proof = self.config.accounts_need_proof;
        if proof {
            self.refuse_unprotected_dmarc(&address).await?;
        }
        let link = proof.then(|| self.new_link());
        let now = self.now();
        // Concurrent links of the same address (a double-clicked re-link) race on
        // the account's version: the loser reads it again.
        let (address, display_name, link) = (&address, &display_name, &link);
        let account = retry_versioned(
            || async move {
                let existing = self
                    .store
                    .find_account(&who.user_id, &who.org_id, address)
                    .await?;
                if proof {
                    let id = existing.as_ref().map(|v| &v.value.id);
                    self.refuse_beyond_pending_cap(who, id).await?;
                    if let Some(v) = &existing {
                        // A relink mails the address again: it counts as a resend.
                        resend_allowed(&v.value.proof, now)?;
                    }
                }
                let (mut account, expected) = match existing {
                    Some(Versioned { mut value, version }) => {
                        relink(&mut value, display_name, proof, now);
                        (value, Some(version))
                    }
                    None => (self.new_account(who, address, display_name, now), None),
                };
                if let Some(link) = &link {
                    account.proof.link = Some(link.id.clone());
                    account.proof.issued_at = Some(now);
                }
                Ok(lost(self.store.put_account(&account, expected).await)?.map(|_| account))
            },
            || {
                Err(Error::Conflict(
                    "the account is being linked concurrently; try again".into(),
                ))
            },
        )
        .await?;
        self.track_link(&account, true).await?;
        let Some(link) = link else {
            // Local mode needs no proof.
            return self.connect(&account.id).await;
        };
        self.start_proof(&account, link).await?;
        Ok(account)
    }

    /// A new pending account of the caller for `address`.
    fn new_account(
        &self,
        who: &Identity,
        address: &EmailAddress,
        display_name: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> EmailAccount {
        EmailAccount {
            id: AccountId::new(self.new_id(AccountId::PREFIX)),
            org_id: who.org_id.clone(),
            owner_id: who.user_id.clone(),
            address: address.clone(),
            display_name: display_name.to_owned(),
            status: AccountStatus::Pending,
            delegates: Vec::new(),
            daily_limit: None,
            created_at: now,
            confirmed: false,
            proof: Proof::default(),
        }
    }

    pub async fn list_accounts(&self, who: &Identity) -> Result<Vec<EmailAccount>, Error> {
        let mut accounts = self.store.accounts_of(&who.org_id, &who.user_id).await?;
        accounts.retain(|a| a.status != AccountStatus::Removed);
        Ok(accounts)
    }

    /// An account the caller may use; anything else is 404.
    pub async fn account_for(&self, who: &Identity, id: &str) -> Result<EmailAccount, Error> {
        self.store
            .get_account(&AccountId::from(id))
            .await?
            .map(|v| v.value)
            .filter(|a| a.usable_by(&who.org_id, &who.user_id))
            .ok_or(Error::NotFound("email account"))
    }
}

impl Accounts<'_> {
    /// re-linking an account returns it to `connected` (local mode) or
    /// `pending`, resolves its notifications and, once connected, resumes the
    /// campaigns the service paused for it (`sender_error`, `sender_removed`),
    /// re-planning overdue steps. Campaigns a user paused stay paused.
    pub async fn relink_account(&self, who: &Identity, id: &str) -> Result<EmailAccount, Error> {
        let account = self.account_for(who, id).await?;
        if account.owner_id != who.user_id || account.org_id != who.org_id {
            return Err(Error::NotFound("email account"));
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
    pub(crate) async fn sender_reconnected(&self, account: &EmailAccount) -> Result<(), Error> {
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
                // Another resumer may have won the race; that is fine. An owner
                // whose grant was revoked meanwhile may not resume it.
                match self.campaigns().resume_campaign(&owner, cid.as_str()).await {
                    Ok(_) | Err(Error::Conflict(_)) | Err(Error::Forbidden(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        for (org, project) in projects {
            for mut n in self.store.list_notifications(&org, &project).await? {
                if n.account_id.as_ref() == Some(&account.id)
                    && n.resolved_at.is_none()
                    && n.kind != "sender_reputation"
                {
                    n.resolved_at = Some(now);
                    self.store.put_notification(&n).await?;
                }
            }
        }
        Ok(())
    }
}

/// The accounts delegated to a user, kept beside the accounts so a
/// delegate's list needs no scan.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct DelegatedTo {
    accounts: Vec<AccountId>,
}

fn delegated_key(org: &outreach_domain::ids::OrgId, user: &outreach_domain::ids::UserId) -> String {
    format!("delegated:{org}:{user}")
}

impl Accounts<'_> {
    /// The accounts the caller owns or was granted (R-2.4: `delegated: true`).
    pub async fn usable_accounts(&self, who: &Identity) -> Result<Vec<EmailAccount>, Error> {
        let mut accounts = self.list_accounts(who).await?;
        let delegated: DelegatedTo = self
            .read_record(&delegated_key(&who.org_id, &who.user_id))
            .await?;
        for id in delegated.accounts {
            if let Some(a) = self.store.get_account(&id).await?.map(|v| v.value)
                && a.status != AccountStatus::Removed
                && a.is_delegate(&who.org_id, &who.user_id)
            {
                accounts.push(a);
            }
        }
        Ok(accounts)
    }

    /// An account the caller owns; a delegate or anyone else gets 404.
    async fn owned_account(
        &self,
        who: &Identity,
        id: &str,
    ) -> Result<Versioned<EmailAccount>, Error> {
        self.store
            .get_account(&AccountId::from(id))
            .await?
            .filter(|v| {
                v.value.owned_by(&who.org_id, &who.user_id)
                    && v.value.status != AccountStatus::Removed
            })
            .ok_or(Error::NotFound("email account"))
    }

    async fn change_account(
        &self,
        who: &Identity,
        id: &str,
        change: impl Fn(&mut EmailAccount) -> Result<bool, Error>,
    ) -> Result<EmailAccount, Error> {
        let account = self.owned_account(who, id).await?.value;
        let (org, user) = (who.org_id.clone(), who.user_id.clone());
        self.update_account(&account.id, |a| {
            // Still the caller's, still linked: otherwise 404 as for any foreign id.
            if !a.owned_by(&org, &user) || a.status == AccountStatus::Removed {
                return Err(Error::NotFound("email account"));
            }
            change(a)
        })
        .await?
        .map(|(a, _)| a)
        .ok_or(Error::NotFound("email account"))
    }

    /// the owner grants a named user (of any organization) the right to send.
    pub async fn add_delegate(
        &self,
        who: &Identity,
        id: &str,
        delegate: Delegate,
    ) -> Result<EmailAccount, Error> {
        let user = delegate.user_id.as_str();
        if user.is_empty() || user.len() > 200 || user.trim() != user {
            return Err(Error::invalid("user_id", "a user id is required"));
        }
        // Issue 19 item 4: ids as a token carries them: bounded, and
        // no key separator, since they become parts of the delegation's key.
        if let Some(why) = crate::auth::invalid_user_id(user) {
            return Err(Error::invalid("user_id", why));
        }
        if let Some(why) = crate::auth::invalid_org_id(delegate.org_id.as_str()) {
            return Err(Error::invalid("org_id", why));
        }
        if delegate.org_id == who.org_id && delegate.user_id == who.user_id {
            return Err(Error::invalid("user_id", "you own this account already"));
        }
        let account = self
            .change_account(who, id, |a| {
                if a.delegates.contains(&delegate) {
                    return Ok(false);
                }
                if a.delegates.len() >= MAX_DELEGATES {
                    let why = format!("an account has at most {MAX_DELEGATES} delegates");
                    return Err(Error::invalid("user_id", why));
                }
                a.delegates.push(delegate.clone());
                Ok(true)
            })
            .await?;
        let account_id = account.id.clone();
        self.update_record(
            &delegated_key(&delegate.org_id, &delegate.user_id),
            |d: &mut DelegatedTo| {
                if d.accounts.contains(&account_id) {
                    return Ok(false);
                }
                d.accounts.push(account_id.clone());
                Ok(true)
            },
        )
        .await?;
        Ok(account)
    }

    /// revoking pauses the delegate's campaigns that send from the account
    /// with `sender_revoked`.
    pub async fn remove_delegate(
        &self,
        who: &Identity,
        id: &str,
        delegate: &Delegate,
    ) -> Result<EmailAccount, Error> {
        let Delegate { org_id, user_id } = delegate;
        let account = self
            .change_account(who, id, |a| {
                let before = a.delegates.len();
                a.delegates
                    .retain(|d| !(&d.org_id == org_id && &d.user_id == user_id));
                if a.delegates.len() == before {
                    return Err(Error::NotFound("delegate"));
                }
                Ok(true)
            })
            .await?;
        let account_id = account.id.clone();
        self.update_record(&delegated_key(org_id, user_id), |d: &mut DelegatedTo| {
            let before = d.accounts.len();
            d.accounts.retain(|a| a != &account_id);
            Ok(d.accounts.len() != before)
        })
        .await?;
        self.pause_campaigns_of_account(
            &account.id,
            outreach_domain::campaign::PauseReason::SenderRevoked,
            |c| &c.org_id == org_id && &c.owner_id == user_id,
        )
        .await?;
        Ok(account)
    }

    /// removes this user's link and nothing else; campaigns that used it
    /// pause with `sender_removed`. Linking the same address again revives it.
    pub async fn remove_account(&self, who: &Identity, id: &str) -> Result<(), Error> {
        let account = self
            .change_account(who, id, |a| {
                a.status = AccountStatus::Removed;
                Ok(true)
            })
            .await?;
        self.account_removed(&account).await
    }

    /// What follows a removed link: campaigns that used it pause with
    /// `sender_removed`, and the identity goes once no link uses it.
    async fn account_removed(&self, account: &EmailAccount) -> Result<(), Error> {
        let campaigns = self.store.campaigns_using(&account.id).await?;
        self.change_campaigns(
            &campaigns,
            outreach_domain::campaign::Campaign::pause_for_removed_sender,
        )
        .await?;
        if self.track_link(account, false).await? == 0
            && let Err(e) = self.identities.release(&account.address).await
        {
            tracing::warn!(account = %account.id, error = %e, "could not delete the sending identity");
        }
        Ok(())
    }

    /// Pauses every running campaign sending from `account` that `which` selects.
    async fn pause_campaigns_of_account(
        &self,
        account: &AccountId,
        reason: outreach_domain::campaign::PauseReason,
        which: impl Fn(&outreach_domain::campaign::Campaign) -> bool,
    ) -> Result<usize, Error> {
        let campaigns = self.store.campaigns_using(account).await?;
        let paused = self.pause_campaigns(&campaigns, reason, which).await?;
        Ok(paused.values().map(Vec::len).sum())
    }

    /// an operator grants credits (admin scope), recorded as `grant`.
    pub async fn grant_credits(
        &self,
        who: &Identity,
        org: &str,
        amount: i64,
    ) -> Result<i64, Error> {
        if !who.admin {
            return Err(Error::NotFound("route"));
        }
        if !(1..=1_000_000).contains(&amount) {
            return Err(Error::invalid("amount", "must be 1 to 1000000"));
        }
        let org = outreach_domain::ids::OrgId::from(org.trim());
        if org.as_str().is_empty() {
            return Err(Error::invalid("org_id", "an organization id is required"));
        }
        self.store
            .ensure_org(&org, self.config.initial_credits, self.now())
            .await?;
        self.store.grant_credits(&org, amount, self.now()).await?;
        Ok(self.store.credit_balance(&org).await?)
    }
}

impl Accounts<'_> {
    /// the owner sets the account's daily limit (`None` clears it). A
    /// delegate sees the account and gets 403; anyone else 404.
    pub async fn set_account_daily_limit(
        &self,
        who: &Identity,
        id: &str,
        daily_limit: Option<u32>,
    ) -> Result<EmailAccount, Error> {
        let account = self.account_for(who, id).await?;
        if !account.owned_by(&who.org_id, &who.user_id) {
            return Err(Error::Forbidden(
                "only the account's owner sets its daily limit (R-6.7)".into(),
            ));
        }
        if daily_limit.is_some_and(|n| !(1..=100_000).contains(&n)) {
            return Err(Error::invalid(
                "daily_limit",
                "must be 1 to 100000, or null to clear it",
            ));
        }
        self.change_account(who, id, |a| {
            let changed = a.daily_limit != daily_limit;
            a.daily_limit = daily_limit;
            Ok(changed)
        })
        .await
    }
}
