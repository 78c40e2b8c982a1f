//! A project's Outreach view: its campaigns with counts per
//! enrollment status and per step, and its open notifications.

use std::collections::BTreeMap;

use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::{AttemptState, EnrollmentStatus};

use super::Campaigns;
use crate::auth::Identity;
use crate::error::Error;
use crate::model::Notification;
use crate::ports::PageRequest;

/// What became of one step's messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepCounts {
    pub index: u32,
    pub sent: u64,
    pub delivered: u64,
    pub bounced: u64,
    pub replied: u64,
    pub unsubscribed: u64,
}

/// A campaign's counts in the Outreach view.
#[derive(Debug, Clone)]
pub struct CampaignCounts {
    /// Enrollments per status (every status of present, zero included).
    pub by_status: BTreeMap<&'static str, u64>,
    /// Of the `blocked` ones, those held because the candidate is already
    /// being contacted by another running campaign.
    pub duplicates: u64,
    pub steps: Vec<StepCounts>,
}

pub struct OutreachView {
    pub campaigns: Vec<(Campaign, CampaignCounts)>,
    pub notifications: Vec<Notification>,
}

const STATUSES: [EnrollmentStatus; 9] = [
    EnrollmentStatus::NotStarted,
    EnrollmentStatus::InProgress,
    EnrollmentStatus::Paused,
    EnrollmentStatus::Blocked,
    EnrollmentStatus::Replied,
    EnrollmentStatus::Bounced,
    EnrollmentStatus::Unsubscribed,
    EnrollmentStatus::Finished,
    EnrollmentStatus::Removed,
];

impl Campaigns<'_> {
    pub async fn outreach_view(
        &self,
        who: &Identity,
        project_id: &str,
    ) -> Result<OutreachView, Error> {
        let project = self.catalog().project(who, project_id).await?;
        let mut campaigns = Vec::new();
        let mut page = PageRequest {
            limit: 100,
            after: None,
        };
        loop {
            let batch = self
                .store
                .list_campaigns(&who.org_id, &project.id, &page)
                .await?;
            for c in batch.items {
                let counts = self.campaign_counts(&c).await?;
                campaigns.push((c, counts));
            }
            match batch.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        let notifications = self
            .store
            .list_notifications(&who.org_id, &project.id)
            .await?
            .into_iter()
            .filter(|n| n.resolved_at.is_none())
            .collect();
        Ok(OutreachView {
            campaigns,
            notifications,
        })
    }

    async fn campaign_counts(&self, c: &Campaign) -> Result<CampaignCounts, Error> {
        let mut by_status: BTreeMap<&'static str, u64> =
            STATUSES.iter().map(|s| (s.as_str(), 0)).collect();
        let mut steps: Vec<StepCounts> = (1..=c.steps.len() as u32)
            .map(|index| StepCounts {
                index,
                ..Default::default()
            })
            .collect();
        let mut duplicates = 0;
        let mut pages = self.enrollment_pages(c, 500);
        while let Some(batch) = pages.next().await? {
            for e in &batch {
                *by_status.entry(e.status.as_str()).or_default() += 1;
                if e.status == EnrollmentStatus::Blocked
                    && e.blocked_reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with("duplicate:"))
                {
                    duplicates += 1;
                }
                let mut last_sent = None;
                for (s, counts) in e.steps.iter().zip(steps.iter_mut()) {
                    let Some(a) = s.latest() else { continue };
                    // Sent: handed off at least once, whatever came back since.
                    if s.attempts
                        .iter()
                        .any(|a| a.sent_at.is_some() && a.state != AttemptState::Claimed)
                    {
                        counts.sent += 1;
                    }
                    match a.state {
                        AttemptState::Delivered => counts.delivered += 1,
                        AttemptState::Bounced | AttemptState::SoftBounced => counts.bounced += 1,
                        _ => {}
                    }
                    if s.attempts.iter().any(|a| a.sent_at.is_some()) {
                        last_sent = Some(s.index);
                    }
                }
                // A reply or unsubscribe counts on the last step the candidate received.
                if let Some(i) = last_sent {
                    let counts = &mut steps[(i - 1) as usize];
                    match e.status {
                        EnrollmentStatus::Replied => counts.replied += 1,
                        EnrollmentStatus::Unsubscribed => counts.unsubscribed += 1,
                        _ => {}
                    }
                }
            }
        }
        Ok(CampaignCounts {
            by_status,
            duplicates,
            steps,
        })
    }
}
