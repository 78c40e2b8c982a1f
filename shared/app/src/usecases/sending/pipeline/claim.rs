//! Room and claim: the stages of the send between render and
//! hand-off. A free slot under the daily limits is taken by the claim's own
//! write, one atomic write of the store (issue 20: one `TransactWriteItems`
//! instead of an `UpdateItem` and a `PutItem`); a day found full there
//! writes no claim, and the message moves as it would have before.

use outreach_domain::EmailAddress;
use outreach_domain::enrollment::Enrollment;

use super::super::daily_limit::{DailySlot, Pending, Room};
use super::super::{JobOutcome, Sending, planned_send};
use super::{Claimed, Flow, Ready};
use crate::error::Error;
use crate::ports::{Activity, DailyLimits, StoreError, WakeUp};
use crate::retry::Attempt;
use crate::usecases::records::lost;

/// The slot of the daily limits a claim goes on with.
pub(super) enum SlotToClaim {
    /// Neither the account nor the campaign has a limit: nothing is counted.
    Unlimited,
    /// Taken already: the reservation made when the message was moved here.
    Taken(DailySlot),
    /// Free: the claim's own write takes it, under these limits.
    WithClaim(DailySlot, DailyLimits),
}

impl SlotToClaim {
    /// The slot a written claim holds.
    fn held(self) -> Option<DailySlot> {
        match self {
            SlotToClaim::Unlimited => None,
            SlotToClaim::Taken(slot) | SlotToClaim::WithClaim(slot, _) => Some(slot),
        }
    }

    /// A slot taken before the claim, to give back when no claim is written.
    fn taken(self) -> Option<DailySlot> {
        match self {
            SlotToClaim::Taken(slot) => Some(slot),
            _ => None,
        }
    }
}

impl Sending<'_> {
    /// Room: every message counts under its sender account's daily
    /// limit and its campaign's; one over either moves to the next day that
    /// has room, its slot reserved there. A free slot is left for the claim
    /// to take.
    pub(super) async fn take_room(&self, ready: &mut Ready) -> Result<Flow<SlotToClaim>, Error> {
        let Ready {
            e,
            campaign,
            account,
            step,
            now,
            owner_zone,
            ..
        } = ready;
        let outdated = match self
            .room_today(account, *owner_zone, campaign, e, *step, *now)
            .await?
        {
            Pending::Free(slot, limits) => {
                return Ok(Flow::Go(SlotToClaim::WithClaim(slot, limits)));
            }
            Pending::Decided(Room::Unlimited) => return Ok(Flow::Go(SlotToClaim::Unlimited)),
            Pending::Decided(Room::Slot(slot)) => return Ok(Flow::Go(SlotToClaim::Taken(slot))),
            Pending::Decided(Room::Full(outdated)) => outdated,
        };
        self.move_when_full(ready, outdated).await
    }

    /// Over a daily limit: the message moves to the next day with
    /// room, its slot reserved there; `outdated` (a reservation of today
    /// over a lowered limit) is given back once the move is written.
    async fn move_when_full<T>(
        &self,
        ready: &mut Ready,
        outdated: Option<DailySlot>,
    ) -> Result<Flow<T>, Error> {
        let Ready {
            e,
            version,
            campaign,
            account,
            step,
            now,
            ..
        } = ready;
        // A later step's reservation is displaced by this move: the steps
        // after this one are planned again after it, so its place is
        // given back once the move is written.
        let displaced = e
            .reserved_slot
            .filter(|r| r.step != *step)
            .map(|r| Sending::reservation_of(account, campaign, r));
        let zone = self.campaigns().plan_zone(campaign, e).await?;
        let Some(reserved) = self
            .move_to_a_free_day(e, *step, account, campaign, zone, *now)
            .await?
        else {
            return Ok(Flow::Stop(JobOutcome::Held("daily limit reached")));
        };
        if !self.write_enrollment(e, *version, false).await? {
            self.release_daily_slot(Some(reserved)).await?;
            return Ok(Flow::Lost);
        }
        self.release_daily_slot(outdated).await?;
        self.release_daily_slot(displaced).await?;
        if let Some(at) = e.next_due_at {
            self.scheduler.schedule(&WakeUp::send_step(e, at)).await?;
        }
        let why = "daily limit reached; moved to the next day with room";
        Ok(Flow::Stop(JobOutcome::Held(why)))
    }

    /// Claim: the attempt is claimed in the store, with a lease,
    /// before the mail service is called; only the winner of the claim goes
    /// on. A free slot of the day is taken in the same atomic write: a claim
    /// lost to another send takes no slot, and a full day writes no claim
    /// (the message moves, R-6.7).
    pub(super) async fn claim(
        &self,
        ready: &mut Ready,
        address: EmailAddress,
        slot: SlotToClaim,
    ) -> Result<Flow<Claimed>, Error> {
        let unclaimed = matches!(slot, SlotToClaim::WithClaim(..)).then(|| ready.e.clone());
        let (e, now) = (&mut ready.e, ready.now);
        // The next step's wake-up names this address, sender and its owner
        // (issue 20).
        e.planned = Some(planned_send(address.clone(), &ready.account));
        let Ok(attempt) = e.claim(ready.step, address, now, now + self.config.claim_lease) else {
            self.release_unused_slot(slot.taken()).await?;
            return Ok(Flow::Stop(JobOutcome::Stale("the step is already claimed")));
        };
        let written = match &slot {
            SlotToClaim::WithClaim(free, limits) => self
                .store
                .update_enrollment_taking_slot(e, ready.version, &free.count, *limits)
                .await
                .map(|v| v.ok_or(())),
            _ => self
                .store
                .update_enrollment(e, ready.version, Activity::Unchanged)
                .await
                .map(Ok),
        };
        let written = match written {
            Ok(Ok(version)) => Ok(version),
            Ok(Err(())) => {
                // The day filled up since it was looked at: nothing was
                // written, and the message moves as it was before the claim.
                if let Some(unclaimed) = unclaimed {
                    ready.e = unclaimed;
                }
                return self.move_when_full(ready, None).await;
            }
            Err(StoreError::Unavailable(why)) => self.own_claim(&ready.e, ready.version, why).await,
            Err(other) => Err(other),
        };
        match lost(written)? {
            Attempt::Done(version) => Ok(Flow::Go(Claimed {
                attempt,
                version,
                slot: slot.held(),
            })),
            Attempt::Lost => {
                // A claim and its slot are written together or not at all.
                self.release_unused_slot(slot.taken()).await?;
                Ok(Flow::Lost)
            }
        }
    }

    /// A claim whose answer was lost: the store may have written it.
    /// The enrollment read again tells: exactly the claim this pass wrote,
    /// at the next version, is this pass's, and it goes on to the hand-off
    /// (left to the sweeper, the step would be recorded sent, unconfirmed,
    /// without a send); anything else is a conflict, and the pass starts
    /// again from the load, which claims again if nothing was written. When
    /// the enrollment cannot be read either, the first error stands. (Two
    /// passes write the same document only if they read the clock at the
    /// same instant and chose the same address.) A claim written with its
    /// day's slot was one write: found written, it holds its slot.
    async fn own_claim(
        &self,
        e: &Enrollment,
        version: u64,
        why: String,
    ) -> Result<u64, StoreError> {
        match self.store.get_enrollment(&e.org_id, &e.id).await {
            Ok(Some(found)) if found.version == version + 1 && found.value == *e => {
                tracing::warn!(enrollment = %e.id, %why, "the claim's answer was lost; the claim is this send's");
                Ok(found.version)
            }
            Ok(_) => Err(StoreError::Conflict),
            Err(_) => Err(StoreError::Unavailable(why)),
        }
    }
}
