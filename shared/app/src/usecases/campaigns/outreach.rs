//! A project's Outreach view: its campaigns with counts per
//! enrollment status and per step, and its open notifications.

use std::collections::BTreeMap;

use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::EnrollmentStatus;

use super::Campaigns;
use crate::auth::Identity;
use crate::error::Error;
use crate::model::Notification;
use crate::ports::PageRequest;
use crate::tally;

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

    /// A campaign's counts, read from the counts kept as events happen
    /// (issue 19 item 7): a few items, however many enrollments it has.
    async fn campaign_counts(&self, c: &Campaign) -> Result<CampaignCounts, Error> {
        let tally = self.store.campaign_tally(&c.org_id, &c.id).await?;
        let get = |name: &str| tally.get(name).copied().unwrap_or(0).max(0) as u64;
        let by_status = STATUSES
            .iter()
            .map(|s| (s.as_str(), get(&tally::status_counter(*s))))
            .collect();
        let steps = (1..=c.steps.len() as u32)
            .map(|index| StepCounts {
                index,
                sent: get(&tally::step_counter(index, "sent")),
                delivered: get(&tally::step_counter(index, "delivered")),
                bounced: get(&tally::step_counter(index, "bounced")),
                replied: get(&tally::step_counter(index, "replied")),
                unsubscribed: get(&tally::step_counter(index, "unsubscribed")),
            })
            .collect();
        Ok(CampaignCounts {
            by_status,
            duplicates: get(tally::DUPLICATES),
            steps,
        })
    }
}
