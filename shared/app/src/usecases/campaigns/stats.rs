//! Statistics: the organization's counters over a range, grouped by
//! campaign, step, sender account, template or user (the campaign's owner).
//! The counters are kept as events happen ([`crate::stats`]); a report reads
//! the range's buckets, never the enrollments or messages.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use outreach_domain::campaign::{Campaign, CampaignKind};
use outreach_domain::ids::CampaignId;

use super::Campaigns;
use crate::auth::Identity;
use crate::error::Error;
use crate::stats::{self, StatsLine};

/// What `GET /v1/stats` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Campaign,
    Step,
    Sender,
    Template,
    User,
}

impl GroupBy {
    pub fn parse(name: &str) -> Result<Self, Error> {
        Ok(match name {
            "campaign" => GroupBy::Campaign,
            "step" => GroupBy::Step,
            "sender" => GroupBy::Sender,
            "template" => GroupBy::Template,
            "user" => GroupBy::User,
            _ => {
                return Err(Error::invalid(
                    "group_by",
                    "one of campaign, step, sender, template, user",
                ));
            }
        })
    }
}

/// The longest range a report reads (its cost grows with the range).
pub const MAX_RANGE_DAYS: i64 = 400;

/// The key single messages are grouped under by campaign (each rides on a
/// campaign of its own, R-12).
pub const SINGLE: &str = "single";
/// The key of steps given inline, by template.
pub const INLINE: &str = "inline";

/// Checks a report's range: both ends on a bucket's edge (a quarter hour),
/// `from` before `to`, at most [`MAX_RANGE_DAYS`].
pub fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), Error> {
    for (field, t) in [("from", from), ("to", to)] {
        if !stats::on_edge(t) {
            return Err(Error::invalid(
                field,
                "statistics are kept per quarter hour: give a time on one (minutes 00, 15, 30 or 45, no seconds)",
            ));
        }
    }
    if from >= to {
        return Err(Error::invalid("to", "must be after from"));
    }
    if to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(Error::invalid(
            "to",
            format!("a report covers at most {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok(())
}

/// The key a campaign's step counts under.
fn group_key(c: Option<&Campaign>, id: &CampaignId, step: u32, by: GroupBy) -> String {
    let campaign = match c {
        Some(c) if c.kind == CampaignKind::Single => SINGLE.to_owned(),
        _ => id.to_string(),
    };
    match (by, c) {
        (GroupBy::Campaign, _) => campaign,
        (GroupBy::Step, _) => format!("{campaign}:{step}"),
        (GroupBy::Sender, Some(c)) => c.sender_account_id.to_string(),
        (GroupBy::Template, Some(c)) => c.template_id.clone().unwrap_or_else(|| INLINE.into()),
        (GroupBy::User, Some(c)) => c.owner_id.to_string(),
        // A campaign no longer found: its own id.
        (_, None) => campaign,
    }
}

impl Campaigns<'_> {
    /// the caller's organization's statistics over `[from, to)`,
    /// grouped by `by`, ordered by key. Every user of the organization sees
    /// them, as they see its campaigns.
    pub async fn stats(
        &self,
        who: &Identity,
        by: GroupBy,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StatsLine>, Error> {
        check_range(from, to)?;
        let (low, high) = (stats::bucket(from), stats::bucket(to));
        let counters = self.store.stats_counters(&who.org_id, &low, &high).await?;
        let mut campaigns: HashMap<CampaignId, Option<Campaign>> = HashMap::new();
        let mut lines: BTreeMap<String, StatsLine> = BTreeMap::new();
        for (id, tally) in counters {
            if !campaigns.contains_key(&id) {
                let found = self.campaign_by_id(&who.org_id, &id).await?;
                campaigns.insert(id.clone(), found);
            }
            let campaign = campaigns.get(&id).and_then(Option::as_ref);
            for (counter, count) in stats::within(&tally, &low, &high) {
                let Some((step, metric)) = stats::step_metric(&counter) else {
                    continue;
                };
                let key = group_key(campaign, &id, step, by);
                lines
                    .entry(key.clone())
                    .or_insert_with(|| StatsLine::new(key))
                    .add(metric, count);
            }
        }
        Ok(lines
            .into_values()
            .map(|mut line| {
                line.finish();
                line
            })
            .collect())
    }
}
