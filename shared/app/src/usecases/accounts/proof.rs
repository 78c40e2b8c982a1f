//! Proof of control of a sender address: the confirmation link
//! mailed to it (and its "this wasn't me" twin), their resend limits, and the
//! polling of the mail service until it can send as the address.

use outreach_domain::EmailAddress;
use outreach_domain::ids::AccountId;

use super::Accounts;
use crate::auth::Identity;
use crate::error::Error;
use crate::model::{AccountStatus, EmailAccount, Proof};

impl Accounts<'_> {
    /// Mails the confirmation link, asks the mail service to verify the
    /// identity, and polls it about every minute for 24 hours.
    pub(super) async fn start_proof(
        &self,
        account: &EmailAccount,
        link: &IssuedLink,
    ) -> Result<(), Error> {
        if let Err(e) = self.identities.prepare(&account.address).await {
            tracing::warn!(account = %account.id, error = %e, "could not prepare the sending identity");
        }
        self.write_link_tokens(&account.id, link).await?;
        self.send_confirmation(account, link).await?;
        self.scheduler
            .schedule(&poll_wake_up(account, self.now(), self.now()))
            .await?;
        Ok(())
    }

    /// a user has at most [`PENDING_LINKS_PER_USER`] pending links whose
    /// 24 hours run; `except` is the account being linked again.
    pub(super) async fn refuse_beyond_pending_cap(
        &self,
        who: &Identity,
        except: Option<&AccountId>,
    ) -> Result<(), Error> {
        let now = self.now();
        let accounts = self.store.accounts_of(&who.org_id, &who.user_id).await?;
        let mut ends: Vec<_> = accounts
            .iter()
            .filter(|a| a.status == AccountStatus::Pending && Some(&a.id) != except)
            .filter_map(|a| a.proof.issued_at.map(|t| t + link_lifetime()))
            .filter(|end| *end > now)
            .collect();
        if ends.len() < PENDING_LINKS_PER_USER {
            return Ok(());
        }
        ends.sort();
        let wait = ends[ends.len() - PENDING_LINKS_PER_USER] - now;
        Err(Error::RateLimited {
            detail: format!(
                "you have {PENDING_LINKS_PER_USER} sender addresses waiting for confirmation; confirm or remove one, or wait until one expires"
            ),
            retry_after_s: wait.num_seconds().max(1) as u64,
        })
    }

    /// an address whose domain publishes a DMARC policy of quarantine or
    /// reject needs a verified domain identity, or its mail would be refused.
    pub(super) async fn refuse_unprotected_dmarc(
        &self,
        address: &EmailAddress,
    ) -> Result<(), Error> {
        let domain = address.domain();
        // A lookup that fails refuses the link: never "no policy".
        let policy = self
            .identities
            .dmarc_policy(domain)
            .await
            .map_err(|e| {
                tracing::warn!(%domain, error = %e, "the DMARC lookup failed");
                Error::Unavailable {
                    detail: format!(
                        "could not look up the DMARC policy of {domain} (DNS did not answer); try again in a minute"
                    ),
                    retry_after_s: 60,
                }
            })?;
        let strict = policy.as_deref().is_some_and(|p| {
            p.eq_ignore_ascii_case("quarantine") || p.eq_ignore_ascii_case("reject")
        });
        if strict
            && !self
                .identities
                .domain_verified(domain)
                .await
                .unwrap_or(false)
        {
            return Err(Error::invalid(
                "address",
                format!(
                    "{domain} publishes a DMARC policy of `{}`: mail sent as {address} through our service would be rejected or filed as spam unless the domain is verified with DKIM. Ask your operator to verify {domain}, then link the address again.",
                    policy.unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    /// A new confirmation link: one token confirms, the other cancels
    /// ("this wasn't me"). Both name the link, so they work only while it is
    /// the account's current one.
    pub(super) fn new_link(&self) -> IssuedLink {
        IssuedLink {
            id: self.ids.token(),
            confirm: self.ids.token(),
            cancel: self.ids.token(),
        }
    }

    /// Writes the link's two tokens; nobody knows them before the mail goes.
    pub(super) async fn write_link_tokens(
        &self,
        account: &AccountId,
        link: &IssuedLink,
    ) -> Result<(), Error> {
        for (token, cancel) in [(&link.confirm, false), (&link.cancel, true)] {
            let target = Confirmation {
                account_id: Some(account.clone()),
                link: link.id.clone(),
                cancel,
            };
            self.update_record(&format!("confirm:{token}"), |c: &mut Confirmation| {
                *c = target.clone();
                Ok(true)
            })
            .await?;
        }
        Ok(())
    }

    /// Mails the confirmation link to the address. Its
    /// `List-Unsubscribe` is the "this wasn't me" link, never the confirm link:
    /// mail clients and gateways follow unsubscribe links by themselves.
    pub(super) async fn send_confirmation(
        &self,
        account: &EmailAccount,
        link: &IssuedLink,
    ) -> Result<(), Error> {
        let base = self.config.public_base_url.trim_end_matches('/');
        let confirm = format!("{base}/v1/email-accounts/confirm/{}", link.confirm);
        let not_me = format!("{base}/v1/email-accounts/not-me/{}", link.cancel);
        let from = EmailAddress::parse(&format!("no-reply@{}", self.config.reply_domain))
            .map_err(|e| Error::Internal(e.to_string()))?;
        let mail = crate::mime::OutgoingMail {
            from_name: "Outreach".into(),
            from: from.clone(),
            to: account.address.clone(),
            reply_to: from.to_string(),
            list_unsubscribe_url: not_me.clone(),
            message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            subject: "Confirm your sender address".into(),
            html: format!(
                "<p>Confirm that you control this address to send campaigns from it:</p><p><a href=\"{confirm}\">{confirm}</a></p><p>The link works once, for 24 hours.</p><p>If you did not link this address, tell us: <a href=\"{not_me}\">{not_me}</a></p>"
            ),
            text: format!(
                "Confirm that you control this address to send campaigns from it:\n{confirm}\n\nThe link works once, for 24 hours.\n\nIf you did not link this address, tell us:\n{not_me}\n"
            ),
            date: self.now(),
        };
        let outbound = crate::ports::OutboundMail {
            from,
            to: account.address.clone(),
            subject: mail.subject.clone(),
            raw: crate::mime::build_mime(&mail),
            tags: vec![("kind".into(), "confirmation".into())],
        };
        if let Err(e) = self.mailer.send(&outbound).await {
            tracing::warn!(account = %account.id, error = %e, "could not send the confirmation mail");
        }
        Ok(())
    }

    /// The account a confirmation token's link belongs to, while that link is
    /// open: the account's current link, unused, not expired, still pending.
    pub(super) async fn open_link(
        &self,
        token: &str,
        cancel: bool,
    ) -> Result<Option<(Confirmation, EmailAccount)>, Error> {
        let c: Confirmation = self.read_record(&format!("confirm:{token}")).await?;
        if c.cancel != cancel || c.link.is_empty() {
            return Ok(None);
        }
        let Some(id) = &c.account_id else {
            return Ok(None);
        };
        let Some(account) = self.store.get_account(id).await?.map(|v| v.value) else {
            return Ok(None);
        };
        Ok(link_is_open(&account, &c.link, self.now()).then_some((c, account)))
    }

    /// Whether a confirmation (or "this wasn't me") token is open, for the
    /// page a GET shows; a GET never changes anything.
    pub async fn confirmation_link_open(&self, token: &str, cancel: bool) -> Result<bool, Error> {
        Ok(self.open_link(token, cancel).await?.is_some())
    }

    /// Uses an open confirmation or "this wasn't me" link, once:
    /// `apply` changes the account it belongs to. `None` when the link is not
    /// open (any more).
    pub(super) async fn use_link(
        &self,
        token: &str,
        cancel: bool,
        apply: impl Fn(&mut EmailAccount),
    ) -> Result<Option<EmailAccount>, Error> {
        let Some((c, account)) = self.open_link(token, cancel).await? else {
            return Ok(None);
        };
        let now = self.now();
        let used = self
            .update_account(&account.id, |a| {
                if !link_is_open(a, &c.link, now) {
                    return Ok(false);
                }
                a.proof.link = None;
                apply(a);
                Ok(true)
            })
            .await?;
        Ok(used.filter(|(_, changed)| *changed).map(|(a, _)| a))
    }

    /// The POST of the confirmation page: proof of control, once. The
    /// account is connected once the mail service can also send as it.
    pub async fn confirm_account(&self, token: &str) -> Result<bool, Error> {
        let Some(account) = self.use_link(token, false, |a| a.confirmed = true).await? else {
            return Ok(false);
        };
        self.poll_identity(&account.id).await?;
        Ok(true)
    }

    /// The POST of the "this wasn't me" page: the pending link is
    /// cancelled, as if its owner had removed it.
    pub async fn cancel_link(&self, token: &str) -> Result<bool, Error> {
        let removed = |a: &mut EmailAccount| a.status = AccountStatus::Removed;
        let Some(account) = self.use_link(token, true, removed).await? else {
            return Ok(false);
        };
        self.account_removed(&account).await?;
        Ok(true)
    }

    /// Connects a confirmed account whose identity the mail service verified;
    /// `true` once connected.
    pub(crate) async fn poll_identity(&self, id: &AccountId) -> Result<bool, Error> {
        let Some(account) = self.store.get_account(id).await?.map(|v| v.value) else {
            return Ok(false);
        };
        match account.status {
            AccountStatus::Connected => return Ok(true),
            AccountStatus::Removed => return Ok(false),
            _ => {}
        }
        if !account.confirmed
            || !self
                .identities
                .sendable(&account.address)
                .await
                .unwrap_or(false)
        {
            return Ok(false);
        }
        self.connect(id).await.map(|_| true)
    }

    /// `pending`/`error` → `connected`, then what the service paused resumes.
    pub(super) async fn connect(&self, id: &AccountId) -> Result<EmailAccount, Error> {
        let (account, _) = self
            .update_account(id, |a| {
                a.status = AccountStatus::Connected;
                a.confirmed = true;
                Ok(true)
            })
            .await?
            .ok_or(Error::NotFound("email account"))?;
        self.sender_reconnected(&account).await?;
        Ok(account)
    }

    /// Counts the live links of an address, so that its mail-service identity is
    /// deleted only when no link uses it any more.
    pub(super) async fn track_link(
        &self,
        account: &EmailAccount,
        linked: bool,
    ) -> Result<usize, Error> {
        let id = account.id.clone();
        let links = self
            .update_record(&format!("links:{}", account.address), |l: &mut Links| {
                let had = l.accounts.contains(&id);
                if linked && !had {
                    l.accounts.push(id.clone());
                } else if !linked && had {
                    l.accounts.retain(|a| a != &id);
                } else {
                    return Ok(false);
                }
                Ok(true)
            })
            .await?;
        Ok(links.accounts.len())
    }

    /// sends the proof-of-control mail again while the account is
    /// pending, with a new link that voids the older ones, and starts the 24
    /// hours and the mail service's own verification again. At most
    /// [`RESENDS_PER_HOUR`] an hour and [`RESENDS_PER_DAY`] a day (429).
    /// Local mode needs no proof: a connected account answers 409.
    pub async fn resend_confirmation(
        &self,
        who: &Identity,
        id: &str,
    ) -> Result<EmailAccount, Error> {
        let account = self.owned_account(who, id).await?.value;
        let not_pending = |a: &EmailAccount| {
            Error::Conflict(
                format!(
                    "the account is {:?}; only a pending account needs confirming",
                    a.status
                )
                .to_lowercase(),
            )
        };
        if account.status != AccountStatus::Pending {
            return Err(not_pending(&account));
        }
        let now = self.now();
        resend_allowed(&account.proof, now)?;
        self.refuse_beyond_pending_cap(who, Some(&account.id))
            .await?;
        let link = self.new_link();
        let account = self
            .change_account(who, id, |a| {
                if a.status != AccountStatus::Pending {
                    return Err(not_pending(a));
                }
                resend_allowed(&a.proof, now)?;
                a.proof.resent_at = resends_in_last_day(&a.proof, now);
                a.proof.resent_at.push(now);
                a.proof.link = Some(link.id.clone());
                a.proof.issued_at = Some(now);
                Ok(true)
            })
            .await?;
        self.start_proof(&account, &link).await?;
        Ok(account)
    }
}

/// What a confirmation token names: an account and the link it
/// belongs to. Tokens of older links (and of the first version, which named
/// no link) name no open link.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Confirmation {
    account_id: Option<AccountId>,
    #[serde(default)]
    link: String,
    /// The "this wasn't me" token of the link, not its confirm token.
    #[serde(default)]
    cancel: bool,
}

/// A confirmation link just issued: its id and its two tokens.
pub(super) struct IssuedLink {
    pub(super) id: String,
    confirm: String,
    cancel: String,
}

/// How many confirmation mails may go out again to one account.
pub(super) const RESENDS_PER_HOUR: usize = 3;
pub(super) const RESENDS_PER_DAY: usize = 10;
/// How many pending links whose 24 hours run a user may have.
pub(super) const PENDING_LINKS_PER_USER: usize = 5;

/// A confirmation link works for 24 hours, as long as the polling.
pub(super) fn link_lifetime() -> chrono::Duration {
    chrono::Duration::hours(POLL_FOR_HOURS)
}

/// Whether `link` is the account's open confirmation link at `now`.
pub(super) fn link_is_open(
    account: &EmailAccount,
    link: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    account.status == AccountStatus::Pending
        && account.proof.link.as_deref() == Some(link)
        && account
            .proof
            .issued_at
            .is_some_and(|at| now < at + link_lifetime())
}

/// The re-sent confirmation mails of the last day.
pub(super) fn resends_in_last_day(
    proof: &Proof,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<chrono::DateTime<chrono::Utc>> {
    proof
        .resent_at
        .iter()
        .copied()
        .filter(|at| now - *at < chrono::Duration::days(1))
        .collect()
}

/// another confirmation mail may go out now, or 429 with how long to
/// wait: at most [`RESENDS_PER_HOUR`] in any hour and [`RESENDS_PER_DAY`] in
/// any day.
pub(super) fn resend_allowed(
    proof: &Proof,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    let mut sent = resends_in_last_day(proof, now);
    sent.sort();
    let mut wait = chrono::Duration::zero();
    for (window, limit) in [
        (chrono::Duration::hours(1), RESENDS_PER_HOUR),
        (chrono::Duration::days(1), RESENDS_PER_DAY),
    ] {
        let within: Vec<_> = sent.iter().filter(|at| now - **at < window).collect();
        if within.len() >= limit {
            // Free again when the oldest that still counts leaves the window.
            wait = wait.max(*within[within.len() - limit] + window - now);
        }
    }
    if wait <= chrono::Duration::zero() {
        return Ok(());
    }
    Err(Error::RateLimited {
        detail: format!(
            "the confirmation mail was sent again too often (at most {RESENDS_PER_HOUR} an hour and {RESENDS_PER_DAY} a day); try again later"
        ),
        retry_after_s: wait.num_seconds().max(1) as u64,
    })
}

/// The accounts that link one address, across users and organizations.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Links {
    accounts: Vec<AccountId>,
}

/// How long the service keeps asking the mail service about a pending identity.
pub(super) const POLL_FOR_HOURS: i64 = 24;

pub(super) fn poll_wake_up(
    account: &EmailAccount,
    since: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::ports::WakeUp {
    let at = now + chrono::Duration::minutes(1);
    crate::ports::WakeUp {
        name: format!("idp.{}.{}", account.id, at.timestamp() / 60),
        at,
        job: crate::ports::Job::PollIdentity {
            account_id: account.id.clone(),
            since,
        },
    }
}

impl Accounts<'_> {
    /// The minute-by-minute poll of a pending account, for 24 hours.
    pub(crate) async fn run_identity_poll(
        &self,
        id: &AccountId,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, Error> {
        if self.poll_identity(id).await? {
            return Ok(true);
        }
        let now = self.now();
        let Some(account) = self.store.get_account(id).await?.map(|v| v.value) else {
            return Ok(false);
        };
        // A resend or relink starts the 24 hours again: the window runs
        // from the account's latest link, whichever wake-up chain asks.
        let since = account.proof.issued_at.map_or(since, |at| at.max(since));
        if now - since < link_lifetime() && account.status == AccountStatus::Pending {
            self.scheduler
                .schedule(&poll_wake_up(&account, since, now))
                .await?;
        }
        Ok(false)
    }
}
