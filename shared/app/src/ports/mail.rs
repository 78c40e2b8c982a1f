//! The mail service's ports: sending (SES in AWS, the outbox locally) and
//! the identities it may send as.

use async_trait::async_trait;
use outreach_domain::EmailAddress;
use serde::{Deserialize, Serialize};

/// A message ready for the mail service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMail {
    pub from: EmailAddress,
    pub to: EmailAddress,
    /// The subject, for listings (the raw message carries it too).
    pub subject: String,
    /// The RFC 5322 message without a Message-ID: the mail service assigns it.
    pub raw: Vec<u8>,
    /// Tags identifying organization, campaign, enrollment, step and attempt.
    pub tags: Vec<(String, String)>,
}

/// The mail service's receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMail {
    /// The mail service's id (SES `MessageId`, or the outbox id).
    pub message_id: String,
    /// The Message-ID header the recipient sees, with angle brackets.
    pub rfc822_message_id: String,
}

/// The kinds of failure the rules distinguish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailerError {
    /// The sender account's fault: identity not verified, sending paused for it, permissions.
    #[error("the sender account cannot send: {0}")]
    SenderFault(String),
    /// Provably not accepted (throttling, quota, account-wide pause): try again later.
    #[error("the mail service deferred the message: {0}")]
    Deferred(String),
    /// The request may have been accepted (timeout, 5xx after dispatch): never re-send.
    #[error("the mail service's answer was lost: {0}")]
    Unconfirmed(String),
    /// The recipient address was refused outright: a hard bounce.
    #[error("the mail service refused the recipient: {0}")]
    RecipientRefused(String),
}

/// The identity service (or the DNS lookup behind it) did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdentityError(pub String);

impl From<String> for IdentityError {
    fn from(why: String) -> Self {
        IdentityError(why)
    }
}

impl From<&str> for IdentityError {
    fn from(why: &str) -> Self {
        IdentityError(why.to_owned())
    }
}

/// Whether the mail service may send as an address: SES
/// identities in AWS; the fault settings in local mode.
#[async_trait]
pub trait Identities: Send + Sync {
    /// Whether the mail service may send as `address` now.
    async fn sendable(&self, address: &EmailAddress) -> Result<bool, IdentityError>;
    /// Makes `address` sendable: nothing when its domain is a verified domain
    /// identity, else an address identity the mail service verifies by mail.
    async fn prepare(&self, address: &EmailAddress) -> Result<(), IdentityError>;
    /// Deletes the address identity once no link uses it.
    async fn release(&self, address: &EmailAddress) -> Result<(), IdentityError>;
    /// Whether `domain` is a verified domain identity with DKIM.
    async fn domain_verified(&self, domain: &str) -> Result<bool, IdentityError>;
    /// The DMARC policy (`none`, `quarantine`, `reject`) receivers apply to
    /// mail from `domain` (R-2.1: its record, else its organizational
    /// domain's), if any; an error when the lookup failed, never "no policy".
    async fn dmarc_policy(&self, domain: &str) -> Result<Option<String>, IdentityError>;
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutboundMail) -> Result<SentMail, MailerError>;
}
