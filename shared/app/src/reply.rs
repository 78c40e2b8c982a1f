//! A reply record: every reply and automatic reply matched to
//! an enrollment or a single message, kept with its own text and class for
//! the replies inbox, and the filters its list is read by.

use chrono::{DateTime, Utc};
use outreach_domain::EmailAddress;
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};
use outreach_domain::inbound::ReplyClass;
use serde::{Deserialize, Serialize};

/// One reply or automatic reply to one enrollment (a single message rides on
/// an enrollment of a one-step campaign of kind `single`, R-12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Derived from the enrollment and the inbound message, so that a
    /// duplicate delivery of the same message names the same reply.
    pub id: String,
    pub org_id: OrgId,
    /// The campaign's project; empty for a single message.
    pub project_id: String,
    pub campaign_id: CampaignId,
    /// The replied-to enrollment is a single message's.
    #[serde(default)]
    pub single: bool,
    /// The last step sent before the reply arrived (1-based).
    #[serde(default)]
    pub step: Option<u32>,
    pub candidate_id: CandidateId,
    pub enrollment_id: EnrollmentId,
    pub received_at: DateTime<Utc>,
    /// The `From` address, where an answer goes.
    #[serde(default)]
    pub from: Option<EmailAddress>,
    /// The address the replied-to message went to: what an `opt_out`
    /// suppresses.
    #[serde(default)]
    pub sent_to: Option<EmailAddress>,
    pub subject: String,
    /// The reply's own text: quoted history and signature removed.
    pub text: String,
    /// `None` for an automatic reply.
    #[serde(default)]
    pub class: Option<ReplyClass>,
    pub automatic: bool,
    #[serde(default)]
    pub read: bool,
    /// The reply's `Message-ID` (without brackets): an answer threads under it.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The reply's own thread (without brackets, oldest first): its
    /// `References`, or its `In-Reply-To` when it has none. An answer's
    /// `References` are these and then `message_id` (R-12.2, RFC 5322 §3.6.4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Where the raw message is kept (the inbound bucket's `s3://bucket/key`
    /// in AWS), for the campaign's owner and the sender account's owner.
    #[serde(default)]
    pub raw_ref: Option<String>,
    /// The enrollment's first reply (not an automatic one): the reply the
    /// statistics count; later ones are kept, not counted.
    #[serde(default)]
    pub first: bool,
    /// Seconds from the send of the replied-to step to the reply: the time
    /// to first reply of the statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_s: Option<i64>,
    /// When the latest answer to it (a message sent `in_reply_to` it,
    /// ) was recorded; `None` while unanswered. Not personal data:
    /// an erasure keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
}

impl Reply {
    /// Whether the reply is unread: what the `unread` filter selects.
    pub fn unread(&self) -> bool {
        !self.read
    }

    /// blanks what of the reply is the candidate's personal data —
    /// the addresses, subject, text, `Message-ID` and the raw message's
    /// place, its thread — and keeps what counts and lists need (ids, campaign, step,
    /// arrival, class, automatic, read). `true` when it changed anything.
    pub fn blank(&mut self) -> bool {
        let before = self.clone();
        self.from = None;
        self.sent_to = None;
        self.subject.clear();
        self.text.clear();
        self.message_id = None;
        self.references.clear();
        self.raw_ref = None;
        *self != before
    }
}

/// What `GET /v1/replies` filters on; every given filter must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReplyFilter {
    /// A project's campaigns' replies (never a single message's).
    pub project_id: Option<String>,
    pub campaign_id: Option<CampaignId>,
    pub class: Option<ReplyClass>,
    /// `Some(true)`: only unread replies; `Some(false)`: only read ones.
    pub unread: Option<bool>,
}

impl ReplyFilter {
    /// Whether `reply` is on the list this filter selects.
    pub fn admits(&self, reply: &Reply) -> bool {
        self.project_id
            .as_ref()
            .is_none_or(|p| !reply.single && *p == reply.project_id)
            && self
                .campaign_id
                .as_ref()
                .is_none_or(|c| *c == reply.campaign_id)
            && self.class.is_none_or(|k| reply.class == Some(k))
            && self.unread.is_none_or(|u| u == reply.unread())
    }
}

/// The sort key of a reply in its lists, newest first: its arrival time in
/// zero-padded milliseconds, then its id. A page's cursor is the last one's.
pub fn reply_sort_key(reply: &Reply) -> String {
    format!(
        "{:015}#{}",
        reply.received_at.timestamp_millis().max(0),
        reply.id
    )
}
