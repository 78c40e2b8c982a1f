//! The daily limits of: every message counts under its sender account's
//! limit and its campaign's, on the day of the account owner's time zone; a
//! message over either moves to the next day with room, its slot reserved
//! there so that it goes first that day and is never pushed twice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use outreach_domain::Zone;
use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::{Enrollment, ReservedSlot};
use outreach_domain::ids::CampaignId;
use outreach_domain::plan::plan_moved;

use super::Sending;
use crate::error::Error;
use crate::model::EmailAccount;
use crate::usecases::campaigns::{move_unsent_steps, plan_request};

/// A day's count of the messages that left from one sender account, and of
/// each campaign's among them; a moved message's reserved slot counts.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct DailyCount {
    sent: u32,
    #[serde(default)]
    campaigns: BTreeMap<String, u32>,
}

/// A slot taken under the daily limits: given back when the mail
/// service provably did not take the message.
pub(super) struct DailySlot {
    key: String,
    /// The day, in the account owner's time zone.
    pub(super) day: NaiveDate,
    campaign: CampaignId,
    /// Reserved when the message was moved here: the enrollment records it
    /// until a write uses it up.
    pub(super) reserved: bool,
}

/// Whether a message may leave today under the daily limits.
pub(super) enum Room {
    /// Neither its account nor its campaign has a limit: nothing is counted.
    Unlimited,
    Slot(DailySlot),
    /// Over a limit; with the reservation to give back once the move that
    /// replaces it is written (a limit lowered since it was made).
    Full(Option<DailySlot>),
}

/// How far a message over the daily limits looks for a day with room:
/// a limit of at least 1 always finds one within a year of a year's backlog.
const MAX_MOVE_DAYS: u32 = 400;

fn daily_key(account: &EmailAccount, day: NaiveDate) -> String {
    format!("daily:{}:{day}", account.id)
}

impl Sending<'_> {
    /// The calendar date of `at` in the account owner's time zone: the days of
    /// the daily limits.
    async fn owner_zone(&self, account: &EmailAccount) -> Result<Zone, Error> {
        Ok(self
            .store
            .get_user(&account.org_id, &account.owner_id)
            .await?
            .map(|p| p.timezone)
            .unwrap_or_default())
    }

    /// Counts one message of `campaign` on `key`'s day if both the account's
    /// and the campaign's limits leave room; whether it did.
    async fn count_daily(
        &self,
        key: &str,
        account: &EmailAccount,
        campaign: &Campaign,
    ) -> Result<bool, Error> {
        let taken = AtomicBool::new(false);
        let id = campaign.id.to_string();
        self.update_record(key, |c: &mut DailyCount| {
            let of_campaign = c.campaigns.get(&id).copied().unwrap_or(0);
            let free = account.daily_limit.is_none_or(|limit| c.sent < limit)
                && campaign.daily_limit.is_none_or(|limit| of_campaign < limit);
            taken.store(free, Ordering::Relaxed);
            if free {
                c.sent += 1;
                c.campaigns.insert(id.clone(), of_campaign + 1);
            }
            Ok(free)
        })
        .await?;
        Ok(taken.load(Ordering::Relaxed))
    }

    /// Takes today's slot of the message (step `step` of `e`): the one reserved
    /// for it when it was moved here, else a free one; `Full` when either limit
    /// is reached. While its account or its campaign has a limit, every
    /// message of the account counts, whatever sends it; with neither, nothing
    /// is counted (no extra call on the hand-off).
    pub(super) async fn take_daily_slot(
        &self,
        account: &EmailAccount,
        campaign: &Campaign,
        e: &mut Enrollment,
        step: u32,
        now: DateTime<Utc>,
    ) -> Result<Room, Error> {
        // A reservation is used once; one of another day stays counted there.
        let reserved = e.reserved_slot.take();
        if account.daily_limit.is_none() && campaign.daily_limit.is_none() {
            return Ok(Room::Unlimited);
        }
        let zone = self.owner_zone(account).await?;
        let day = now.with_timezone(&zone.tz()).date_naive();
        let mut slot = DailySlot {
            key: daily_key(account, day),
            day,
            campaign: campaign.id.clone(),
            reserved: true,
        };
        if reserved.is_some_and(|r| r.step == step && r.day == day) {
            // Still within the limits, which may have been lowered since.
            let count: DailyCount = self.read_record(&slot.key).await?;
            let of_campaign = count.campaigns.get(campaign.id.as_str()).copied();
            if account.daily_limit.is_none_or(|l| count.sent <= l)
                && campaign
                    .daily_limit
                    .is_none_or(|l| of_campaign.unwrap_or(0) <= l)
            {
                return Ok(Room::Slot(slot));
            }
            // Given back only once the enrollment no longer holds it.
            slot.reserved = false;
            return Ok(Room::Full(Some(slot)));
        }
        slot.reserved = false;
        Ok(
            match self.count_daily(&slot.key, account, campaign).await? {
                true => Room::Slot(slot),
                false => Room::Full(None),
            },
        )
    }

    /// Moves the due step of `e` to the first following day whose limits leave
    /// room, same time-of-day rule, and reserves its slot there, so that it goes
    /// before every message first planned for that day and is never pushed
    /// twice; the steps after it follow it. `None` when nothing
    /// is left to plan.
    pub(super) async fn move_to_a_free_day(
        &self,
        e: &mut Enrollment,
        step: u32,
        account: &EmailAccount,
        campaign: &Campaign,
        zone: Zone,
        now: DateTime<Utc>,
    ) -> Result<Option<DailySlot>, Error> {
        let Some(planned) = e.next_planned_at() else {
            return Ok(None);
        };
        let owner = self.owner_zone(account).await?;
        let tz = zone.tz();
        let local = planned.with_timezone(&tz);
        let mut day = local.date_naive().max(now.with_timezone(&tz).date_naive());
        for _ in 0..MAX_MOVE_DAYS {
            day += chrono::Duration::days(1);
            let mut moved = e.clone();
            if !postpone_to(&mut moved, step, campaign, zone, day, local.time(), now) {
                return Ok(None);
            }
            let Some(at) = moved.next_planned_at() else {
                return Ok(None);
            };
            // Skipped weekends and DST moves land later: look on from there.
            day = day.max(at.with_timezone(&tz).date_naive());
            let owner_day = at.with_timezone(&owner.tz()).date_naive();
            let key = daily_key(account, owner_day);
            if self.count_daily(&key, account, campaign).await? {
                moved.reserved_slot = Some(ReservedSlot {
                    step,
                    day: owner_day,
                });
                *e = moved;
                return Ok(Some(DailySlot {
                    key,
                    day: owner_day,
                    campaign: campaign.id.clone(),
                    reserved: false,
                }));
            }
        }
        Ok(None)
    }

    /// Gives back a slot that no write used up: a reservation the enrollment
    /// still records stays (the next run uses it).
    pub(super) async fn release_unused_slot(&self, slot: Option<DailySlot>) -> Result<(), Error> {
        self.release_daily_slot(slot.filter(|s| !s.reserved)).await
    }

    pub(super) async fn release_daily_slot(&self, slot: Option<DailySlot>) -> Result<(), Error> {
        let Some(slot) = slot else {
            return Ok(());
        };
        let id = slot.campaign.to_string();
        self.update_record(&slot.key, |c: &mut DailyCount| {
            c.sent = c.sent.saturating_sub(1);
            if let Some(n) = c.campaigns.get_mut(&id) {
                *n = n.saturating_sub(1);
            }
            Ok(true)
        })
        .await?;
        Ok(())
    }
}

/// Moves the due step to `day` (the next weekday with `skip_weekends`) at the
/// local `time`, and plans the unsent steps after it from there by the rules
/// of R-6, so that nothing is dropped and the order is kept.
fn postpone_to(
    e: &mut Enrollment,
    step: u32,
    campaign: &Campaign,
    zone: Zone,
    day: NaiveDate,
    time: NaiveTime,
    now: DateTime<Utc>,
) -> bool {
    let start = e.plan_start.unwrap_or(now);
    if e.resend.as_ref().is_some_and(|r| r.step == step) {
        // A re-send alone moves; the steps after it follow it once it is sent.
        let at = plan_moved(&plan_request(campaign, e, start, zone, &[0], 0), day, time);
        let Some(r) = e.resend.as_mut() else {
            return false;
        };
        r.at = at.first().copied().unwrap_or(r.at);
        e.plan_version += 1;
        e.next_due_at = e.next_planned_at();
        return true;
    }
    move_unsent_steps(e, campaign, zone, start, day, time)
}
