//! Records the application keeps beside the domain's campaigns, candidates and
//! enrollments.

use chrono::{DateTime, Utc};
use outreach_domain::EmailAddress;
use outreach_domain::Zone;
use outreach_domain::campaign::StepSpec;
use outreach_domain::ids::{AccountId, CandidateId, EnrollmentId, OrgId, UserId};
use serde::{Deserialize, Serialize};

/// A user's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    pub id: UserId,
    pub org_id: OrgId,
    pub display_name: String,
    pub timezone: Zone,
    /// Where forwarded replies go; defaults to the token's `email` claim.
    #[serde(default)]
    pub notification_address: Option<EmailAddress>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Pending,
    Connected,
    Error,
    Removed,
}

/// A linked sender address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailAccount {
    pub id: AccountId,
    pub org_id: OrgId,
    pub owner_id: UserId,
    pub address: EmailAddress,
    pub display_name: String,
    pub status: AccountStatus,
    /// The owner proved control of the address; local mode needs no proof.
    #[serde(default)]
    pub confirmed: bool,
    /// The proof of control this link waits for.
    #[serde(default)]
    pub proof: Proof,
    /// Users allowed to send from this account, possibly of other organizations.
    #[serde(default)]
    pub delegates: Vec<Delegate>,
    /// Messages that may leave from this account per calendar day of its
    /// owner's time zone, whatever sends them; set by the owner.
    #[serde(default)]
    pub daily_limit: Option<u32>,
    pub created_at: DateTime<Utc>,
}

impl EmailAccount {
    /// Whether `user` of `org` may send from this account (owner or delegate, R-2.4).
    pub fn usable_by(&self, org: &OrgId, user: &UserId) -> bool {
        self.status != AccountStatus::Removed
            && (self.owned_by(org, user) || self.is_delegate(org, user))
    }

    pub fn owned_by(&self, org: &OrgId, user: &UserId) -> bool {
        &self.org_id == org && &self.owner_id == user
    }

    pub fn is_delegate(&self, org: &OrgId, user: &UserId) -> bool {
        self.delegates
            .iter()
            .any(|d| &d.org_id == org && &d.user_id == user)
    }
}

/// The confirmation link of an account's current link. Its tokens
/// name `link`; a resend or relink issues another, which voids the older ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Proof {
    /// The open confirmation link, until it is used or cancelled.
    #[serde(default)]
    pub link: Option<String>,
    /// When the current link was issued: it expires, and the polling of the
    /// mail service stops, 24 hours later.
    #[serde(default)]
    pub issued_at: Option<DateTime<Utc>>,
    /// When confirmation mails went out again (`resend`, relink) in the last
    /// day, for the resend limits.
    #[serde(default)]
    pub resent_at: Vec<DateTime<Utc>>,
}

/// A user granted the right to send from someone else's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegate {
    pub org_id: OrgId,
    pub user_id: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub org_id: OrgId,
    pub name: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// A messaging template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub org_id: OrgId,
    pub name: String,
    pub steps: Vec<StepSpec>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    Grant,
    Reveal,
    Refund,
}

/// One movement of an organization's credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub seq: i64,
    pub kind: LedgerKind,
    #[serde(default)]
    pub candidate_id: Option<CandidateId>,
    pub amount: i64,
    pub at: DateTime<Utc>,
}

/// Something that happened to an enrollment, shown in its `events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentEvent {
    pub org_id: OrgId,
    pub enrollment_id: EnrollmentId,
    pub at: DateTime<Utc>,
    pub kind: String,
    #[serde(default)]
    pub step: Option<u32>,
    #[serde(default)]
    pub detail: Option<String>,
}

/// Where a message the service handed off belongs, found by the mail
/// service's id or by the Message-ID the recipient saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    /// The mail service's id (SES `MessageId`, or the outbox id).
    pub message_id: String,
    /// The Message-ID header, without angle brackets.
    pub rfc822_message_id: String,
    pub org_id: OrgId,
    pub campaign_id: outreach_domain::ids::CampaignId,
    pub enrollment_id: EnrollmentId,
    pub step: u32,
    pub attempt: u32,
    pub to: EmailAddress,
    pub sent_at: DateTime<Utc>,
    /// Its place among its sender account's sends (R-2.5 window).
    #[serde(default)]
    pub account_seq: Option<u64>,
    /// Its place among its organization's sends (R-2.5 window).
    #[serde(default)]
    pub org_seq: Option<u64>,
}

/// A notice on a project's Outreach view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub org_id: OrgId,
    pub project_id: String,
    /// `sender_error`, `sender_reputation`, …
    pub kind: String,
    pub message: String,
    #[serde(default)]
    pub account_id: Option<AccountId>,
    #[serde(default)]
    pub campaign_ids: Vec<outreach_domain::ids::CampaignId>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// How an enrollment's plan is (re)made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "how", content = "at", rename_all = "snake_case")]
pub enum Replan {
    /// A new plan from S (start of the campaign or addition of the enrollment, R-5.4).
    Fresh(DateTime<Utc>),
    /// After a resume: a step still ahead keeps its time; an overdue
    /// one is planned as if the enrollment started now.
    Resume(DateTime<Utc>),
}

impl Replan {
    /// The start or resume this plan is made at.
    pub fn moment(self) -> DateTime<Utc> {
        match self {
            Replan::Fresh(t) | Replan::Resume(t) => t,
        }
    }
}
