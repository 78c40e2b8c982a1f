//! The daily limits of: every message counts under its sender account's
//! limit and its campaign's, on the day of the account owner's time zone; a
//! message over either moves to the next day with room, its slot reserved
//! there so that it goes first that day and is never pushed twice.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use outreach_domain::Zone;
use outreach_domain::campaign::Campaign;
use outreach_domain::enrollment::{Enrollment, ReservedSlot};
use outreach_domain::plan::plan_moved;

use super::Sending;
use crate::error::Error;
use crate::model::EmailAccount;
use crate::ports::{DailyLimits, DaySlot};
use crate::usecases::campaigns::{move_unsent_steps, plan_request};

/// A slot taken under the daily limits: given back when the mail
/// service provably did not take the message.
pub(super) struct DailySlot {
    /// The count it is in; its day is in the account owner's time zone.
    pub(super) count: DaySlot,
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

/// Today's room of a message before anything is counted.
pub(super) enum Pending {
    Decided(Room),
    /// A free slot to take, under these limits: the send takes it with its
    /// claim, in one atomic write.
    Free(DailySlot, DailyLimits),
}

/// How far a message over the daily limits looks for a day with room:
/// a limit of at least 1 always finds one within a year of a year's backlog.
const MAX_MOVE_DAYS: u32 = 400;

fn day_slot(account: &EmailAccount, campaign: &Campaign, day: NaiveDate) -> DaySlot {
    DaySlot {
        account: account.id.clone(),
        day,
        campaign: campaign.id.clone(),
    }
}

fn limits(account: &EmailAccount, campaign: &Campaign) -> DailyLimits {
    DailyLimits {
        account: account.daily_limit,
        campaign: campaign.daily_limit,
    }
}

impl Sending<'_> {
    /// The calendar date of `at` in the account owner's time zone: the days of
    /// the daily limits.
    async fn owner_zone(&self, account: &EmailAccount) -> Result<Zone, Error> {
        self.owner_zone_known(account, None).await
    }

    /// [`Self::owner_zone`], unless the caller read it already (`known`).
    async fn owner_zone_known(
        &self,
        account: &EmailAccount,
        known: Option<Zone>,
    ) -> Result<Zone, Error> {
        if let Some(zone) = known {
            return Ok(zone);
        }
        Ok(self
            .store
            .get_user(&account.org_id, &account.owner_id)
            .await?
            .map(|p| p.timezone)
            .unwrap_or_default())
    }

    /// Counts one message of `campaign` on `slot`'s day if both the account's
    /// and the campaign's limits leave room; whether it did. One atomic write
    /// of the store, so that concurrent sends never race for a slot.
    async fn count_daily(
        &self,
        slot: &DaySlot,
        account: &EmailAccount,
        campaign: &Campaign,
    ) -> Result<bool, Error> {
        Ok(self
            .store
            .take_day_slot(slot, limits(account, campaign))
            .await?)
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
        let (slot, limits) = match self
            .room_today(account, None, campaign, e, step, now)
            .await?
        {
            Pending::Decided(room) => return Ok(room),
            Pending::Free(slot, limits) => (slot, limits),
        };
        Ok(match self.store.take_day_slot(&slot.count, limits).await? {
            true => Room::Slot(slot),
            false => Room::Full(None),
        })
    }

    /// [`Self::take_daily_slot`] without taking a free slot: the caller
    /// takes it (with its claim, R-8.1). `owner_zone` is the account
    /// owner's time zone when the caller read it already.
    pub(super) async fn room_today(
        &self,
        account: &EmailAccount,
        owner_zone: Option<Zone>,
        campaign: &Campaign,
        e: &mut Enrollment,
        step: u32,
        now: DateTime<Utc>,
    ) -> Result<Pending, Error> {
        // A reservation is used once; one of another day stays counted there.
        // A later step's reservation stays its own while an earlier step is
        // sent again (a re-send after a hard bounce, R-9.2): it holds its place.
        let reserved = match e.reserved_slot {
            Some(r) if r.step > step => None,
            _ => e.reserved_slot.take(),
        };
        if account.daily_limit.is_none() && campaign.daily_limit.is_none() {
            return Ok(Pending::Decided(Room::Unlimited));
        }
        let zone = self.owner_zone_known(account, owner_zone).await?;
        let day = now.with_timezone(&zone.tz()).date_naive();
        let mut slot = DailySlot {
            count: day_slot(account, campaign, day),
            reserved: true,
        };
        if reserved.is_some_and(|r| r.step == step && r.day == day) {
            // Still within the limits, which may have been lowered since.
            let count = self.store.day_count(&slot.count).await?;
            if account.daily_limit.is_none_or(|l| count.sent <= l)
                && campaign.daily_limit.is_none_or(|l| count.of_campaign <= l)
            {
                return Ok(Pending::Decided(Room::Slot(slot)));
            }
            // Given back only once the enrollment no longer holds it.
            slot.reserved = false;
            return Ok(Pending::Decided(Room::Full(Some(slot))));
        }
        slot.reserved = false;
        Ok(Pending::Free(slot, limits(account, campaign)))
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
            let count = day_slot(account, campaign, owner_day);
            if self.count_daily(&count, account, campaign).await? {
                moved.reserved_slot = Some(ReservedSlot {
                    step,
                    day: owner_day,
                });
                *e = moved;
                return Ok(Some(DailySlot {
                    count,
                    reserved: false,
                }));
            }
        }
        Ok(None)
    }

    /// The count a reservation of `e` holds a place in.
    pub(super) fn reservation_of(
        account: &EmailAccount,
        campaign: &Campaign,
        reserved: ReservedSlot,
    ) -> DailySlot {
        DailySlot {
            count: day_slot(account, campaign, reserved.day),
            reserved: false,
        }
    }

    /// Gives back a slot that no write used up: a reservation the enrollment
    /// still records stays (the next run uses it).
    pub(super) async fn release_unused_slot(&self, slot: Option<DailySlot>) -> Result<(), Error> {
        self.release_daily_slot(slot.filter(|s| !s.reserved)).await
    }

    pub(super) async fn release_daily_slot(&self, slot: Option<DailySlot>) -> Result<(), Error> {
        if let Some(slot) = slot {
            self.store.release_day_slot(&slot.count).await?;
        }
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
