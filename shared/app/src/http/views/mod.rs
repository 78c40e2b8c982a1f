//! The JSON shapes of responses (SPEC Appendix A), one typed view per shape so
//! that the OpenAPI document (`/v1/openapi.json`) is derived from the very types
//! the handlers serialize. Views apply: a manual address is shown to its
//! author alone.

use chrono::{DateTime, SecondsFormat, Utc};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::{
    Campaign, CampaignKind, CampaignStatus, PauseReason, RecipientSetting, StepSpec, TimezoneMode,
    WhenToSend,
};
use outreach_domain::candidate::{Candidate, EmailType};
use outreach_domain::enrollment::{AttemptState, Enrollment, EnrollmentStatus, StepStatus};
use outreach_domain::ids::UserId;
use outreach_domain::render::RenderedMessage;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::model::{
    AccountStatus, EmailAccount, EnrollmentEvent, LedgerEntry, LedgerKind, Notification, Project,
    Template, UserProfile,
};
use crate::usecases::campaigns::{outreach, preview};
use crate::usecases::enrollments::{Refusal, RefusalReason};
use crate::usecases::returns::inbound::InboundResult;

mod enrollments;
pub use enrollments::*;

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An instant in UTC, RFC 3339 with seconds (`2026-12-01T07:00:00Z`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(format = DateTime, example = "2026-12-01T07:00:00Z")]
pub struct Timestamp(String);

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(ts(t))
    }
}

fn ts_opt(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(Timestamp::from)
}

/// One page of a list: `cursor` is opaque and `null` on the last page; pass it
/// back as `?cursor=` for the next page (SPEC §13).
macro_rules! page {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// The next page's cursor; `null` when this is the last page.
            #[schema(required = true)]
            pub cursor: Option<String>,
        }
    };
}

page!(
    /// A page of sender accounts.
    AccountPage,
    AccountView
);
page!(
    /// A page of candidates.
    CandidatePage,
    CandidateView
);
page!(
    /// A page of projects.
    ProjectPage,
    ProjectView
);
page!(
    /// A page of templates.
    TemplatePage,
    TemplateView
);
page!(
    /// A page of campaigns.
    CampaignPage,
    CampaignView
);
page!(
    /// A page of enrollments (listed without their events).
    EnrollmentPage,
    EnrollmentView
);
page!(
    /// The project's open and resolved notifications, newest first.
    NotificationPage,
    NotificationView
);
page!(
    /// The single messages sent to a candidate.
    MessagePage,
    MessageView
);

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub id: String,
    pub org_id: String,
    pub display_name: String,
    /// IANA time zone.
    pub timezone: String,
    /// Where the service sends the caller's notifications.
    #[schema(required = true)]
    pub notification_address: Option<String>,
}

pub fn me(p: &UserProfile) -> MeView {
    MeView {
        id: p.id.to_string(),
        org_id: p.org_id.to_string(),
        display_name: p.display_name.clone(),
        timezone: p.timezone.to_string(),
        notification_address: p.notification_address.as_ref().map(|a| a.to_string()),
    }
}

/// A linked sender account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub address: String,
    pub display_name: String,
    pub status: AccountStatus,
    pub owner_id: String,
    /// The caller uses this account as a delegate of its owner.
    pub delegated: bool,
    /// Messages per day from this account, whatever sends them.
    #[schema(required = true)]
    pub daily_limit: Option<u32>,
    /// Who may send from it besides its owner: shown to the owner
    /// only (empty for a delegate).
    pub delegates: Vec<DelegateView>,
    pub created_at: Timestamp,
}

/// A user allowed to send from an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct DelegateView {
    pub user_id: String,
    pub org_id: String,
}

pub fn account(a: &EmailAccount, viewer: &UserId) -> AccountView {
    AccountView {
        id: a.id.to_string(),
        address: a.address.to_string(),
        display_name: a.display_name.clone(),
        status: a.status,
        owner_id: a.owner_id.to_string(),
        delegated: &a.owner_id != viewer,
        daily_limit: a.daily_limit,
        delegates: if &a.owner_id == viewer {
            a.delegates
                .iter()
                .map(|d| DelegateView {
                    user_id: d.user_id.to_string(),
                    org_id: d.org_id.to_string(),
                })
                .collect()
        } else {
            Vec::new()
        },
        created_at: a.created_at.into(),
    }
}

/// Whether mail may go to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    Valid,
    /// Hard-bounced for the whole organization.
    Bounced,
    /// The person opted out of the organization's mail.
    Suppressed,
}

/// One address of a candidate as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateEmailView {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: EmailType,
    /// Added by hand by the caller; other users never see it.
    pub manual: bool,
    pub status: EmailStatus,
}

/// A candidate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateView {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    #[schema(required = true)]
    pub title: Option<String>,
    #[schema(required = true)]
    pub company: Option<String>,
    #[schema(required = true)]
    pub location: Option<String>,
    /// IANA time zone.
    #[schema(required = true)]
    pub timezone: Option<String>,
    pub emails: Vec<CandidateEmailView>,
    /// The person asked not to be contacted: no address is mailed.
    pub opted_out: bool,
}

/// A candidate as `viewer` sees it: a colleague's manual addresses are left
/// out; each address has its status.
pub fn candidate(c: &Candidate, viewer: &UserId, suppressed: &[EmailAddress]) -> CandidateView {
    let emails = c
        .emails
        .iter()
        .filter(|e| e.visible_to(viewer))
        .map(|e| CandidateEmailView {
            address: e.address.to_string(),
            kind: e.kind,
            manual: e.is_manual(),
            status: if e.bounced {
                EmailStatus::Bounced
            } else if suppressed.contains(&e.address) {
                EmailStatus::Suppressed
            } else {
                EmailStatus::Valid
            },
        })
        .collect();
    CandidateView {
        id: c.id.to_string(),
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        full_name: c.full_name(),
        title: c.title.clone(),
        company: c.company.clone(),
        location: c.location.clone(),
        timezone: c.timezone.map(|z| z.to_string()),
        emails,
        opted_out: c.opted_out,
    }
}

/// A campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: String,
    pub org_id: String,
    pub project_id: String,
    pub owner_id: String,
    pub name: String,
    pub sender_account_id: String,
    pub steps: Vec<StepSpec>,
    /// IANA time zone of the campaign.
    pub timezone: String,
    pub when_to_send: WhenToSend,
    pub recipient: RecipientSetting,
    pub skip_weekends: bool,
    /// Sends per sender account and calendar day.
    #[schema(required = true)]
    pub daily_limit: Option<u32>,
    pub timezone_mode: TimezoneMode,
    pub status: CampaignStatus,
    #[schema(required = true)]
    pub pause_reason: Option<PauseReason>,
    pub created_at: Timestamp,
    #[schema(required = true)]
    pub started_at: Option<Timestamp>,
    pub kind: CampaignKind,
}

pub fn campaign(c: &Campaign) -> CampaignView {
    CampaignView {
        id: c.id.to_string(),
        org_id: c.org_id.to_string(),
        project_id: c.project_id.to_string(),
        owner_id: c.owner_id.to_string(),
        name: c.name.clone(),
        sender_account_id: c.sender_account_id.to_string(),
        steps: c.steps.clone(),
        timezone: c.timezone.to_string(),
        when_to_send: c.when_to_send,
        recipient: c.recipient,
        skip_weekends: c.skip_weekends,
        daily_limit: c.daily_limit,
        timezone_mode: c.timezone_mode,
        status: c.status,
        pause_reason: c.pause_reason,
        created_at: c.created_at.into(),
        started_at: ts_opt(c.started_at),
        kind: c.kind,
    }
}

/// A started campaign, with every candidate that lacks a merge field.
#[derive(Debug, Serialize, ToSchema)]
pub struct StartedCampaignView {
    #[serde(flatten)]
    pub campaign: CampaignView,
    pub missing_fields: Vec<MissingFieldView>,
}

// A merge field a candidate lacks for a step.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MissingField)]
pub struct MissingFieldView {
    pub enrollment_id: String,
    pub candidate_id: String,
    pub step_index: u32,
    pub field: String,
}

pub fn missing_field(m: &preview::MissingField) -> MissingFieldView {
    MissingFieldView {
        enrollment_id: m.enrollment_id.clone(),
        candidate_id: m.candidate_id.clone(),
        step_index: m.step_index,
        field: m.field.clone(),
    }
}

/// One entry of the credit ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryView {
    pub kind: LedgerKind,
    #[schema(required = true)]
    pub candidate_id: Option<String>,
    /// Positive for grants and refunds, negative for reveals.
    pub amount: i64,
    pub at: Timestamp,
}

pub fn ledger_entry(e: &LedgerEntry) -> LedgerEntryView {
    LedgerEntryView {
        kind: e.kind,
        candidate_id: e.candidate_id.as_ref().map(|c| c.to_string()),
        amount: e.amount,
        at: e.at.into(),
    }
}

/// The organization's credits: the balance and one page of the ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsView {
    pub balance: i64,
    pub ledger: Vec<LedgerEntryView>,
    /// The ledger's next page; `null` on the last page.
    #[schema(required = true)]
    pub cursor: Option<String>,
}

/// What a reveal cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevealView {
    /// 1 for a first reveal, 0 when the candidate was already revealed.
    pub credits_spent: u32,
}

/// An admin's credit grant.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub org_id: String,
    pub amount: i64,
    /// The organization's balance after the grant.
    pub balance: i64,
}

/// A project pin: "use this address first".
#[derive(Debug, Serialize, ToSchema)]
pub struct PinView {
    pub project_id: String,
    pub candidate_id: String,
    pub address: String,
}

/// A project.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
}

pub fn project(p: &Project) -> ProjectView {
    ProjectView {
        id: p.id.clone(),
        name: p.name.clone(),
        created_at: p.created_at.into(),
    }
}

/// A messaging template.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub steps: Vec<StepSpec>,
    pub created_at: Timestamp,
}

pub fn template(t: &Template) -> TemplateView {
    TemplateView {
        id: t.id.clone(),
        name: t.name.clone(),
        steps: t.steps.clone(),
        created_at: t.created_at.into(),
    }
}

/// A notification of a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    pub kind: String,
    pub message: String,
    #[schema(required = true)]
    pub account_id: Option<String>,
    pub campaign_ids: Vec<String>,
    pub created_at: Timestamp,
    /// `null` while the notification is open.
    #[schema(required = true)]
    pub resolved_at: Option<Timestamp>,
}

pub fn notification(n: &Notification) -> NotificationView {
    NotificationView {
        id: n.id.clone(),
        kind: n.kind.clone(),
        message: n.message.clone(),
        account_id: n.account_id.as_ref().map(|a| a.to_string()),
        campaign_ids: n.campaign_ids.iter().map(|c| c.to_string()).collect(),
        created_at: n.created_at.into(),
        resolved_at: ts_opt(n.resolved_at),
    }
}

/// One campaign of the Outreach view, with its counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutreachCampaignView {
    pub id: String,
    pub name: String,
    pub status: CampaignStatus,
    #[schema(required = true)]
    pub pause_reason: Option<PauseReason>,
    pub counts: CampaignCountsView,
}

// What became of one step's messages.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StepCounts)]
pub struct StepCountsView {
    pub index: u32,
    pub sent: u64,
    pub delivered: u64,
    pub bounced: u64,
    pub replied: u64,
    pub unsubscribed: u64,
}

// A campaign's counts in the Outreach view.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CampaignCounts)]
pub struct CampaignCountsView {
    /// Enrollments per status (every status of present, zero included).
    pub by_status: BTreeMap<&'static str, u64>,
    /// Of the `blocked` ones, those held because the candidate is already
    /// being contacted by another running campaign.
    pub duplicates: u64,
    pub steps: Vec<StepCountsView>,
}

pub fn campaign_counts(c: &outreach::CampaignCounts) -> CampaignCountsView {
    CampaignCountsView {
        by_status: c.by_status.clone(),
        duplicates: c.duplicates,
        steps: c
            .steps
            .iter()
            .map(|s| StepCountsView {
                index: s.index,
                sent: s.sent,
                delivered: s.delivered,
                bounced: s.bounced,
                replied: s.replied,
                unsubscribed: s.unsubscribed,
            })
            .collect(),
    }
}

/// The Outreach view of a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutreachView {
    pub campaigns: Vec<OutreachCampaignView>,
    pub notifications: Vec<NotificationView>,
}

pub fn outreach(view: &outreach::OutreachView) -> OutreachView {
    OutreachView {
        campaigns: view
            .campaigns
            .iter()
            .map(|(c, counts)| OutreachCampaignView {
                id: c.id.to_string(),
                name: c.name.clone(),
                status: c.status,
                pause_reason: c.pause_reason,
                counts: campaign_counts(counts),
            })
            .collect(),
        notifications: view.notifications.iter().map(notification).collect(),
    }
}

/// A single message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// The message's enrollment id.
    pub id: String,
    pub candidate_id: String,
    pub campaign_id: String,
    pub status: MessageStatus,
    pub enrollment_status: EnrollmentStatus,
    #[schema(required = true)]
    pub address: Option<String>,
    #[schema(required = true)]
    pub message_id: Option<String>,
    #[schema(required = true)]
    pub rfc822_message_id: Option<String>,
    #[schema(required = true)]
    pub sent_at: Option<Timestamp>,
    /// When a message not yet sent will leave: later than now when the sender
    /// account's daily limit is reached.
    #[schema(required = true)]
    pub scheduled_at: Option<Timestamp>,
    pub replied: bool,
}

/// What became of a single message (R-12, Appendix A): a step's status
/// and `queued` while it is due and waits for the send queue (AWS,
/// §15), or is being handed to the mail service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Not planned to leave: it waits blocked.
    Pending,
    /// Due: on the send queue or being handed off; `message_id` is null
    /// until it is sent, seconds later.
    Queued,
    /// Planned for later (`scheduled_at`): the daily limit moved it,
    /// or it is re-sent after a bounce.
    Scheduled,
    Sent,
    Delivered,
    Bounced,
    Cancelled,
    Failed,
}

/// The status of a single message at `now`: planned for later is
/// `scheduled`, due or in flight is `queued` (no grace period, R-12).
fn message_status(e: &Enrollment, now: DateTime<Utc>) -> MessageStatus {
    let step = e.step_status(1, now, false);
    if matches!(step, StepStatus::Pending | StepStatus::Scheduled) && e.may_send_step(1) {
        let in_flight = e
            .steps
            .first()
            .and_then(|s| s.latest())
            .is_some_and(|a| a.state == AttemptState::Claimed);
        match e.next_planned_at() {
            Some(at) if at > now => return MessageStatus::Scheduled,
            Some(_) => return MessageStatus::Queued,
            None if in_flight => return MessageStatus::Queued,
            None => {}
        }
    }
    match step {
        // A single message has no grace period: planned is scheduled.
        StepStatus::Pending if e.next_planned_at().is_some() => MessageStatus::Scheduled,
        StepStatus::Pending => MessageStatus::Pending,
        StepStatus::Scheduled => MessageStatus::Scheduled,
        StepStatus::Sent => MessageStatus::Sent,
        StepStatus::Delivered => MessageStatus::Delivered,
        StepStatus::Bounced => MessageStatus::Bounced,
        StepStatus::Cancelled => MessageStatus::Cancelled,
        StepStatus::Failed => MessageStatus::Failed,
    }
}

/// A single message as `viewer` sees it: the address is `null` when it is a
/// colleague's manual address of `candidate`.
pub fn message(
    e: &Enrollment,
    now: DateTime<Utc>,
    viewer: &UserId,
    candidate: &Candidate,
) -> MessageView {
    let latest = e.steps.first().and_then(|s| s.latest());
    let visible = |a: &EmailAddress| shown_address(a, Some(candidate), viewer);
    let status = message_status(e, now);
    MessageView {
        id: e.id.to_string(),
        candidate_id: e.candidate_id.to_string(),
        campaign_id: e.campaign_id.to_string(),
        status,
        enrollment_status: e.status,
        address: latest.and_then(|a| visible(&a.address)),
        message_id: latest.and_then(|a| a.message_id.clone()),
        rfc822_message_id: latest.and_then(|a| a.rfc822_message_id.clone()),
        sent_at: latest.and_then(|a| a.sent_at).map(Timestamp::from),
        scheduled_at: e.next_planned_at().map(Timestamp::from),
        replied: e.status == EnrollmentStatus::Replied,
    }
}

/// The answer of the one-click unsubscribe to a non-browser client.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnsubscribedView {
    pub unsubscribed: bool,
}

/// `POST /dev/inbound`'s answer (Appendix A).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = InboundResult)]
pub struct InboundResultView {
    /// `reply`, `auto_reply`, `bounce` or `unmatched`.
    pub kind: &'static str,
    pub enrollment_ids: Vec<String>,
    /// Why an `unmatched` message was not read (`too_complex`: over 25 MB,
    /// nested deeper than 20 levels or more than 500 parts, R-9.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub reason: Option<&'static str>,
}

pub fn inbound_result(r: &InboundResult) -> InboundResultView {
    InboundResultView {
        kind: r.kind,
        enrollment_ids: r.enrollment_ids.iter().map(ToString::to_string).collect(),
        reason: r.reason,
    }
}
