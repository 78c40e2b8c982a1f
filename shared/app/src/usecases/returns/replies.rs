//! Reply records and reply classes: every reply and
//! automatic reply matched to an enrollment (or a single message's) is kept
//! with its own text and class; an `opt_out` reply opts the candidate out as
//! an unsubscribe does, and a user's correction of that class lifts
//! only the opt-out the class itself caused.
//!
//! What an `opt_out` class caused is remembered in two places, so that a
//! correction can take back exactly that and nothing a person did:
//! - the suppression entry of the address the replied-to message went to has
//!   the reason `reply:{reply id}`; a complaint or unsubscribe of the same
//!   address takes the entry over (its own reason), and a lift removes only an
//!   entry whose reason is still that reply's ([`Store::lift_suppression`]).
//!   One inbound message matched to several enrollments is one
//!   record each, each suppressing the address its own message went to; the
//!   stop request is the message's, so each `opt_out` record holds every
//!   address its message's records went to: correcting one record leaves an
//!   address suppressed (under another holder's reason) while another
//!   `opt_out` record of the same message, or of a message to that address,
//!   remains;
//! - the keyed record `reply-opt-out:{org}:{candidate}` lists the replies
//!   whose class holds the candidate opted out, and whether the person opted
//!   out themselves (`person`: a complaint, the unsubscribe link, or an
//!   opt-out older than this record). The candidate's opt-out is lifted when
//!   the last such reply is corrected and the person never opted out.
//!
//! [`Store::lift_suppression`]: crate::ports::Store::lift_suppression

use chrono::{DateTime, Utc};
use outreach_domain::EmailAddress;
use outreach_domain::enrollment::{Enrollment, EnrollmentStatus};
use outreach_domain::ids::{CandidateId, EnrollmentId, OrgId};
use outreach_domain::inbound::{ClassifiedReply, Inbound, InboundKind, ReplyClass};
use outreach_domain::jitter::stable_hash;
use serde::{Deserialize, Serialize};

use super::Returns;
use crate::error::Error;
use crate::ports::StoreError;
use crate::reply::Reply;
use crate::retry::{Attempt, retry_versioned};

/// Who holds a candidate's opt-out (module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct OptOutHolders {
    /// The person opted out themselves: no correction lifts it.
    #[serde(default)]
    person: bool,
    /// Replies whose `opt_out` class holds it.
    #[serde(default)]
    replies: Vec<String>,
}

fn holders_key(org: &OrgId, candidate: &CandidateId) -> String {
    format!("reply-opt-out:{org}:{candidate}")
}

/// The suppression reason of an opt-out a reply's class caused.
fn reply_reason(reply_id: &str) -> String {
    format!("reply:{reply_id}")
}

/// Whether two reply records are of one inbound message (R-9.6 matched it to
/// several enrollments): the same `Message-ID`, else the same raw message.
fn same_message(a: &Reply, b: &Reply) -> bool {
    match (&a.message_id, &b.message_id) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.raw_ref.is_some() && a.raw_ref == b.raw_ref,
        _ => false,
    }
}

/// The reply id of an inbound message on an enrollment: the same for every
/// delivery of the same message (its Message-ID, else its bytes).
fn reply_id(org: &OrgId, enrollment: &EnrollmentId, inbound: &Inbound, raw: &[u8]) -> String {
    let message = match &inbound.message_id {
        Some(mid) => format!("mid:{mid}"),
        None => format!(
            "raw:{:016x}",
            stable_hash(&String::from_utf8_lossy(raw), 0, "reply")
        ),
    };
    let scope = format!("{org}\u{1f}{enrollment}\u{1f}{message}");
    format!(
        "rpl_{:016x}{:016x}",
        stable_hash(&scope, 0, "reply-id"),
        stable_hash(&scope, 1, "reply-id")
    )
}

/// The last handed-off attempt of an enrollment: its step, address and
/// hand-off time.
fn last_sent(e: &Enrollment) -> Option<(u32, EmailAddress, DateTime<Utc>)> {
    e.steps
        .iter()
        .flat_map(|s| s.attempts.iter().map(move |a| (s.index, a)))
        .filter_map(|(step, a)| Some((step, a, a.sent_at?)))
        .max_by_key(|(_, _, at)| *at)
        .map(|(step, a, at)| (step, a.address.clone(), at))
}

/// The most ids of a reply's thread kept: the first and the newest ones
/// (RFC 5322 §3.6.4 lets a long `References` be trimmed so), so that an
/// answer's `References`, these and the reply's own id, has at most 20.
const THREAD_IDS: usize = 19;

/// A reply's own thread: its `References`, or its `In-Reply-To` when it has
/// none, the first id and the newest ones when longer than [`THREAD_IDS`].
/// An id longer than a header line could carry is left out (as the reply's
/// own `Message-ID` is), so a hostile `References` cannot swell the record
/// past an item's size.
fn thread_of(references: &[String], in_reply_to: &[String]) -> Vec<String> {
    let ids = if references.is_empty() {
        in_reply_to
    } else {
        references
    };
    let ids: Vec<String> = ids
        .iter()
        .filter(|id| id.chars().count() <= outreach_domain::text::MAX_SUBJECT_CHARS)
        .cloned()
        .collect();
    if ids.len() <= THREAD_IDS {
        return ids;
    }
    let newest = &ids[ids.len() - (THREAD_IDS - 1)..];
    std::iter::once(&ids[0]).chain(newest).cloned().collect()
}

/// What the inbound handler hands over to record one reply.
pub(crate) struct Arrived<'a> {
    pub raw: &'a [u8],
    pub inbound: &'a Inbound,
    /// The own text and class (the class only counts for a reply).
    pub classified: &'a ClassifiedReply,
    pub raw_ref: Option<&'a str>,
}

impl Returns<'_> {
    /// keeps the reply (or automatic reply) to one matched
    /// enrollment, once however often the message is delivered, and applies
    /// an `opt_out` class. A repeated delivery finishes what a crashed first
    /// one left undone, by the class the record has now (a user's correction
    /// in between wins).
    pub(crate) async fn record_reply(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
        arrived: &Arrived<'_>,
    ) -> Result<(), Error> {
        let Some(e) = self.store.get_enrollment(org, id).await? else {
            return Ok(());
        };
        let e = e.value;
        let Some(campaign) = self.campaigns().campaign_by_id(org, &e.campaign_id).await? else {
            return Ok(());
        };
        let inbound = arrived.inbound;
        let automatic = inbound.kind != InboundKind::Reply;
        let sent = last_sent(&e);
        let reply_id = reply_id(org, id, inbound, arrived.raw);
        let first = !automatic && self.first_reply(org, id, &reply_id).await?;
        let received_at = self.now();
        let reply = Reply {
            id: reply_id,
            org_id: org.clone(),
            project_id: campaign.project_id.to_string(),
            campaign_id: campaign.id.clone(),
            single: campaign.kind == outreach_domain::campaign::CampaignKind::Single,
            step: sent.as_ref().map(|(s, _, _)| *s),
            candidate_id: e.candidate_id.clone(),
            enrollment_id: e.id.clone(),
            received_at,
            from: inbound.from.clone(),
            after_s: sent
                .as_ref()
                .map(|(_, _, at)| (received_at - *at).num_seconds().max(0)),
            sent_to: sent.map(|(_, a, _)| a),
            subject: inbound.subject.clone().unwrap_or_default(),
            text: arrived.classified.text.clone(),
            class: (!automatic).then_some(arrived.classified.class),
            automatic,
            read: false,
            message_id: inbound.message_id.clone(),
            references: thread_of(&inbound.references, &inbound.in_reply_to),
            raw_ref: arrived.raw_ref.map(str::to_owned),
            first,
            answered_at: None,
        };
        self.store.create_reply(&reply).await?;
        if let Some(stored) = self.store.get_reply(org, &reply.id).await?
            && stored.value.class == Some(ReplyClass::OptOut)
        {
            self.reply_opt_out(&stored.value).await?;
        }
        // After the opt-out: a stop request is honoured even so (its
        // suppression is a keyed hash, R-3.6).
        self.blank_if_erased(&reply).await?;
        Ok(())
    }

    /// Whether the reply `reply_id` is the enrollment's first (not an
    /// automatic one), the one that ended it `replied`: the enrollment keeps
    /// the first one's id, written once,
    /// so a repeated delivery finds its own id again and a second reply
    /// finds another (R-11.3 counts the first only).
    async fn first_reply(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
        reply_id: &str,
    ) -> Result<bool, Error> {
        let written = self
            .update_enrollment_with(org, id, |e| {
                // Only a reply that stopped the sequence: one to an
                // enrollment ended otherwise (removed, bounced, opted out)
                // is kept in the inbox, not counted.
                e.first_reply.is_none() && e.status == EnrollmentStatus::Replied && {
                    e.first_reply = Some(reply_id.to_owned());
                    true
                }
            })
            .await?;
        Ok(written.is_some_and(|(e, _)| e.first_reply.as_deref() == Some(reply_id)))
    }

    /// an `opt_out` reply opts the candidate out as an unsubscribe
    /// does: the address the message went to is suppressed, the
    /// candidate is opted out, and their running enrollments end
    /// `unsubscribed` (the replied one has ended `replied` already). Each
    /// step is idempotent.
    pub(crate) async fn reply_opt_out(&self, reply: &Reply) -> Result<(), Error> {
        let org = &reply.org_id;
        let reason = reply_reason(&reply.id);
        if let Some(to) = &reply.sent_to {
            self.store
                .suppress(org, &self.suppression_key(to), &reason, self.now())
                .await?;
        }
        let opted_out_before = self
            .store
            .get_candidate(org, &reply.candidate_id)
            .await?
            .is_some_and(|c| c.value.opted_out);
        self.change_holders(org, &reply.candidate_id, |h, fresh| {
            if fresh && opted_out_before {
                // An opt-out older than this record is the person's own.
                h.person = true;
            }
            if h.replies.contains(&reply.id) {
                return false;
            }
            h.replies.push(reply.id.clone());
            true
        })
        .await?;
        self.modify_candidate(org, &reply.candidate_id, |c| {
            Ok(!std::mem::replace(&mut c.opted_out, true))
        })
        .await?;
        self.end_all(
            org,
            &reply.candidate_id,
            EnrollmentStatus::Unsubscribed,
            "opt-out reply (R-9.9)",
            None,
        )
        .await?;
        Ok(())
    }

    /// a correction of an `opt_out` reply to another class lifts what
    /// that class caused and nothing else: the suppression of the addresses
    /// its message holds (module docs) while an entry is still its own —
    /// another `opt_out` reply that holds the same address keeps it — and
    /// the candidate's opt-out once no `opt_out` reply holds it and the
    /// person never opted out. No ended enrollment revives.
    pub(crate) async fn lift_reply_opt_out(&self, reply: &Reply) -> Result<(), Error> {
        let org = &reply.org_id;
        let holders = self
            .change_holders(org, &reply.candidate_id, |h, _| {
                let before = h.replies.len();
                h.replies.retain(|r| *r != reply.id);
                h.replies.len() != before
            })
            .await?;
        let mates = self.message_mates(reply).await?;
        let mut held: Vec<&EmailAddress> = Vec::new();
        for to in std::iter::once(reply)
            .chain(&mates)
            .filter_map(|r| r.sent_to.as_ref())
        {
            if held.contains(&to) {
                continue;
            }
            held.push(to);
            let key = self.suppression_key(to);
            if self
                .store
                .lift_suppression(org, &key, &reply_reason(&reply.id))
                .await?
            {
                self.keep_other_replies_suppression(reply, &mates, to, &holders)
                    .await?;
            }
        }
        if !holders.person && holders.replies.is_empty() {
            self.modify_candidate(org, &reply.candidate_id, |c| {
                Ok(std::mem::replace(&mut c.opted_out, false))
            })
            .await?;
            // A person who said stop meanwhile wins.
            let now = self.holders(org, &reply.candidate_id).await?;
            if now.person {
                self.modify_candidate(org, &reply.candidate_id, |c| {
                    Ok(!std::mem::replace(&mut c.opted_out, true))
                })
                .await?;
            }
        }
        Ok(())
    }

    /// The other records of the same inbound message as `reply` (one
    /// message matched to several enrollments of the candidate, R-9.6): the
    /// same `Message-ID`, or the same raw message.
    async fn message_mates(&self, reply: &Reply) -> Result<Vec<Reply>, Error> {
        if reply.message_id.is_none() && reply.raw_ref.is_none() {
            return Ok(Vec::new());
        }
        let mut mates = Vec::new();
        let ids = self
            .store
            .replies_of_candidate(&reply.org_id, &reply.candidate_id)
            .await?;
        for id in ids.iter().filter(|id| **id != reply.id) {
            if let Some(r) = self.store.get_reply(&reply.org_id, id).await?
                && same_message(reply, &r.value)
            {
                mates.push(r.value);
            }
        }
        Ok(mates)
    }

    /// Another `opt_out` reply that holds `to` keeps it suppressed: one of
    /// the same message (`mates`), or one whose message went to `to`. The
    /// entry takes its reason, so that its own correction lifts it.
    async fn keep_other_replies_suppression(
        &self,
        lifted: &Reply,
        mates: &[Reply],
        to: &EmailAddress,
        holders: &OptOutHolders,
    ) -> Result<(), Error> {
        for other in &holders.replies {
            let mate = mates.iter().find(|m| m.id == *other).cloned();
            let r = match mate {
                Some(m) => Some(m),
                None => self
                    .store
                    .get_reply(&lifted.org_id, other)
                    .await?
                    .map(|r| r.value),
            };
            let Some(r) = r else { continue };
            let holds = mates.iter().any(|m| m.id == r.id) || r.sent_to.as_ref() == Some(to);
            if r.class == Some(ReplyClass::OptOut) && holds {
                self.store
                    .suppress(
                        &lifted.org_id,
                        &self.suppression_key(to),
                        &reply_reason(other),
                        self.now(),
                    )
                    .await?;
                break;
            }
        }
        Ok(())
    }

    /// the person opted out themselves (complaint, unsubscribe
    /// link): no correction of a reply's class lifts the candidate's opt-out.
    pub(crate) async fn person_opted_out(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Result<(), Error> {
        self.change_holders(org, candidate, |h, _| {
            !std::mem::replace(&mut h.person, true)
        })
        .await?;
        Ok(())
    }

    async fn holders(&self, org: &OrgId, candidate: &CandidateId) -> Result<OptOutHolders, Error> {
        Ok(self
            .store
            .get_record(&holders_key(org, candidate))
            .await?
            .and_then(|v| serde_json::from_value(v.value).ok())
            .unwrap_or_default())
    }

    /// Read-modify-write of a candidate's [`OptOutHolders`]; `change` gets
    /// whether the record is new and answers whether it changed anything.
    async fn change_holders(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        change: impl Fn(&mut OptOutHolders, bool) -> bool,
    ) -> Result<OptOutHolders, Error> {
        let key = holders_key(org, candidate);
        let (key, change) = (&key, &change);
        retry_versioned(
            || async move {
                let current = self.store.get_record(key).await?;
                let (mut holders, expected) = match &current {
                    Some(v) => (
                        serde_json::from_value(v.value.clone()).unwrap_or_default(),
                        Some(v.version),
                    ),
                    None => (OptOutHolders::default(), None),
                };
                if !change(&mut holders, expected.is_none()) {
                    return Ok(Attempt::Done(holders));
                }
                let value =
                    serde_json::to_value(&holders).map_err(|e| Error::Internal(e.to_string()))?;
                match self.store.put_record(key, &value, expected).await {
                    Ok(_) => Ok(Attempt::Done(holders)),
                    Err(StoreError::Conflict) => Ok(Attempt::Lost),
                    Err(e) => Err(e.into()),
                }
            },
            || {
                Err(Error::Conflict(
                    "the candidate's opt-out kept changing".into(),
                ))
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::{THREAD_IDS, thread_of};

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("m{i}@x.example")).collect()
    }

    #[test]
    fn a_reply_thread_is_its_references_or_else_its_in_reply_to() {
        // an answer threads under the reply's own thread.
        assert_eq!(thread_of(&ids(2), &ids(1)), ids(2));
        assert_eq!(thread_of(&[], &ids(1)), ids(1));
        assert!(thread_of(&[], &[]).is_empty());
    }

    #[test]
    fn an_id_too_long_for_a_header_line_is_left_out() {
        // 19 ids of 1 MB each would not fit a reply record (DynamoDB: 400 KB).
        let huge = "x".repeat(1_000_000);
        let kept = thread_of(&[huge.clone(), "a@x.example".into(), huge], &[]);
        assert_eq!(kept, ["a@x.example"]);
    }

    #[test]
    fn a_long_thread_keeps_its_first_and_newest_ids() {
        let all = ids(50);
        let kept = thread_of(&all, &[]);
        assert_eq!(kept.len(), THREAD_IDS);
        assert_eq!(kept[0], all[0]);
        assert_eq!(kept[1..], all[50 - (THREAD_IDS - 1)..]);
    }
}
