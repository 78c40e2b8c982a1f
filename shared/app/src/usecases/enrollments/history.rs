//! A candidate's contact history: every enrollment and single message
//! of the organization to them, and the warnings adding them to a campaign
//! gives (`contacted_recently`, `replied_before`, `bounced_before`).
//!
//! Read with one query of the candidate's enrollments and batched reads of
//! them, their campaigns and sender accounts: a bounded number of store calls
//! per candidate, whatever their history holds.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use outreach_domain::campaign::{Campaign, CampaignKind};
use outreach_domain::enrollment::{AttemptState, Enrollment, EnrollmentStatus};
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId};

use super::Enrollments;
use crate::error::Error;
use crate::model::EmailAccount;
use crate::ports::{Found, Lookup, PageRequest};
use crate::reply::ReplyFilter;

/// Replies read per page when looking for an enrollment's reply.
const REPLY_PAGE: u32 = 50;
/// Pages of a campaign's replies read at most for one enrollment's class
/// (its 1,000 latest replies; an older reply's class reads as unknown).
const REPLY_PAGES: usize = 20;

/// "Within the last 90 days" of `contacted_recently`.
pub const RECENT: Duration = Duration::days(90);

/// Reads per batch.
const BATCH: usize = 100;

/// What adding a candidate to a campaign warns about; a warning never refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// Mailed by the organization within the last 90 days.
    ContactedRecently,
    /// Replied to an earlier enrollment or message.
    RepliedBefore,
    /// An earlier message to them bounced.
    BouncedBefore,
}

/// One warning: the latest occurrence of its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub candidate_id: CandidateId,
    pub kind: WarningKind,
    pub campaign_id: Option<CampaignId>,
    pub at: DateTime<Utc>,
    /// The reply's class for `replied_before`, when one is kept.
    pub class: Option<String>,
}

/// One enrollment or single message of a candidate's history, with what it
/// was sent from.
pub struct Contact {
    pub enrollment: Enrollment,
    pub campaign: Option<Campaign>,
    pub sender: Option<EmailAccount>,
    /// The class of the enrollment's reply as it stands now, if it was replied to.
    pub reply_class: Option<String>,
}

impl Contact {
    pub fn is_single(&self) -> bool {
        self.campaign
            .as_ref()
            .is_some_and(|c| c.kind == CampaignKind::Single)
    }

    /// When it last happened: its latest send, else its creation.
    pub fn at(&self) -> DateTime<Utc> {
        last_sent(&self.enrollment).unwrap_or(self.enrollment.created_at)
    }
}

fn last_sent(e: &Enrollment) -> Option<DateTime<Utc>> {
    e.steps
        .iter()
        .flat_map(|s| s.attempts.iter())
        .filter_map(|a| a.sent_at)
        .max()
}

/// When `e` replied, if it did.
pub fn replied_at(e: &Enrollment) -> Option<DateTime<Utc>> {
    (e.status == EnrollmentStatus::Replied).then(|| e.ended_at.unwrap_or(e.created_at))
}

/// When a message of `e` bounced, the latest: the enrollment's end when it
/// ended `bounced`, else the bounced message's send.
pub fn bounced_at(e: &Enrollment) -> Option<DateTime<Utc>> {
    if e.status == EnrollmentStatus::Bounced {
        return Some(e.ended_at.unwrap_or(e.created_at));
    }
    e.steps
        .iter()
        .flat_map(|s| s.attempts.iter())
        .filter(|a| a.state == AttemptState::Bounced)
        .map(|a| a.sent_at.unwrap_or(a.claimed_at))
        .max()
}

/// The classes of the replies to some enrollments, by enrollment.
pub type ReplyClasses = HashMap<EnrollmentId, String>;

/// The warnings of one candidate's other enrollments, latest of each
/// kind; `classes` gives a reply's class as it stands now.
pub fn warnings(
    candidate: &CandidateId,
    others: &[Enrollment],
    classes: &ReplyClasses,
    now: DateTime<Utc>,
) -> Vec<Warning> {
    let mut out: Vec<Warning> = Vec::new();
    let mut note = |kind, e: &Enrollment, at: DateTime<Utc>, class: Option<String>| match out
        .iter_mut()
        .find(|w| w.kind == kind)
    {
        Some(w) if w.at >= at => {}
        Some(w) => {
            w.at = at;
            w.campaign_id = Some(e.campaign_id.clone());
            w.class = class;
        }
        None => out.push(Warning {
            candidate_id: candidate.clone(),
            kind,
            campaign_id: Some(e.campaign_id.clone()),
            at,
            class,
        }),
    };
    for e in others {
        if let Some(at) = last_sent(e).filter(|at| now - *at <= RECENT) {
            note(WarningKind::ContactedRecently, e, at, None);
        }
        if let Some(at) = replied_at(e) {
            note(
                WarningKind::RepliedBefore,
                e,
                at,
                classes.get(&e.id).cloned(),
            );
        }
        if let Some(at) = bounced_at(e) {
            note(WarningKind::BouncedBefore, e, at, None);
        }
    }
    let order = |k: WarningKind| match k {
        WarningKind::ContactedRecently => 0,
        WarningKind::RepliedBefore => 1,
        WarningKind::BouncedBefore => 2,
    };
    out.sort_by_key(|w| order(w.kind));
    out
}

impl Enrollments<'_> {
    /// Every enrollment (campaigns and single messages) of the candidate in
    /// the organization but `except`.
    pub(crate) async fn enrollments_of(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        except: Option<&EnrollmentId>,
    ) -> Result<Vec<Enrollment>, Error> {
        let ids: Vec<EnrollmentId> = self
            .store
            .enrollments_of_candidate_in_org(org, candidate)
            .await?
            .into_iter()
            .filter(|id| Some(id) != except)
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let lookups: Vec<Lookup> = chunk
                .iter()
                .map(|id| Lookup::Enrollment(org.clone(), id.clone()))
                .collect();
            for found in self.store.get_batch(&lookups).await? {
                if let Some(Found::Enrollment(e)) = found
                    && &e.value.candidate_id == candidate
                {
                    out.push(e.value);
                }
            }
        }
        Ok(out)
    }

    /// The warnings adding `candidate` (as `enrollment`) gives.
    pub(crate) async fn warnings_for(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        enrollment: &EnrollmentId,
    ) -> Result<Vec<Warning>, Error> {
        let others = self
            .enrollments_of(org, candidate, Some(enrollment))
            .await?;
        let classes = self.reply_classes(org, &others).await?;
        Ok(warnings(candidate, &others, &classes, self.now()))
    }

    /// The class of the latest reply (not an automatic one) to each replied
    /// enrollment of `enrollments`: one query of its campaign's replies each
    /// (a candidate has few), read from the reply records, so a user's
    /// correction (`PATCH /v1/replies/{id}`) shows.
    pub(crate) async fn reply_classes(
        &self,
        org: &OrgId,
        enrollments: &[Enrollment],
    ) -> Result<ReplyClasses, Error> {
        let mut out = ReplyClasses::new();
        for e in enrollments.iter().filter(|e| replied_at(e).is_some()) {
            let filter = ReplyFilter {
                campaign_id: Some(e.campaign_id.clone()),
                ..ReplyFilter::default()
            };
            let mut page = PageRequest {
                limit: REPLY_PAGE,
                after: None,
            };
            // Newest first: the first reply of `e` with a class is its latest.
            // At most REPLY_PAGES pages of its campaign's replies are read.
            'pages: for _ in 0..REPLY_PAGES {
                let found = self.store.list_replies(org, &filter, &page).await?;
                for r in &found.items {
                    if r.enrollment_id == e.id
                        && let Some(class) = r.class
                    {
                        out.insert(e.id.clone(), class.as_str().to_owned());
                        break 'pages;
                    }
                }
                match found.next {
                    Some(after) => page.after = Some(after),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// the candidate's enrollments and single messages, newest first,
    /// with their campaigns and sender accounts.
    pub async fn contact_history(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Result<Vec<Contact>, Error> {
        let enrollments = self.enrollments_of(org, candidate, None).await?;
        let classes = self.reply_classes(org, &enrollments).await?;
        let mut campaign_ids: Vec<CampaignId> =
            enrollments.iter().map(|e| e.campaign_id.clone()).collect();
        campaign_ids.sort();
        campaign_ids.dedup();
        let mut campaigns = Vec::new();
        for chunk in campaign_ids.chunks(BATCH) {
            let lookups: Vec<Lookup> = chunk
                .iter()
                .map(|id| Lookup::Campaign(org.clone(), id.clone()))
                .collect();
            for found in self.store.get_batch(&lookups).await? {
                if let Some(Found::Campaign(c)) = found {
                    campaigns.push(c.value);
                }
            }
        }
        let mut account_ids: Vec<AccountId> = campaigns
            .iter()
            .map(|c| c.sender_account_id.clone())
            .collect();
        account_ids.sort();
        account_ids.dedup();
        let mut accounts = Vec::new();
        for chunk in account_ids.chunks(BATCH) {
            let lookups: Vec<Lookup> = chunk.iter().cloned().map(Lookup::Account).collect();
            for found in self.store.get_batch(&lookups).await? {
                if let Some(Found::Account(a)) = found {
                    accounts.push(a.value);
                }
            }
        }
        let mut out: Vec<Contact> = enrollments
            .into_iter()
            .map(|e| {
                let campaign = campaigns.iter().find(|c| c.id == e.campaign_id).cloned();
                let sender = campaign.as_ref().and_then(|c| {
                    accounts
                        .iter()
                        .find(|a| a.id == c.sender_account_id)
                        .cloned()
                });
                let reply_class = classes.get(&e.id).cloned();
                Contact {
                    enrollment: e,
                    campaign,
                    sender,
                    reply_class,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.at()
                .cmp(&a.at())
                .then_with(|| b.enrollment.id.cmp(&a.enrollment.id))
        });
        Ok(out)
    }
}
