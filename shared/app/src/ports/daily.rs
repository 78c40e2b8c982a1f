//! The daily limits' counts of the store.

use chrono::NaiveDate;
use outreach_domain::ids::{AccountId, CampaignId};

/// One day's count under the daily limits: the messages of a sender
/// account on a day of its owner's time zone, and a campaign's among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySlot {
    pub account: AccountId,
    pub day: NaiveDate,
    pub campaign: CampaignId,
}

/// The limits a message is counted under; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DailyLimits {
    pub account: Option<u32>,
    pub campaign: Option<u32>,
}

/// What a day's count holds; a moved message's reserved slot counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayCount {
    /// The account's messages that day.
    pub sent: u32,
    /// The campaign's among them.
    pub of_campaign: u32,
}
