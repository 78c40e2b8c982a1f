//! The daily limits' slots: concurrent sends take exactly as many
//! slots as the limits leave, each with an answer (issue 19: a read and a
//! versioned write lost most races at fifty sends and gave up).

use std::sync::Arc;

use chrono::NaiveDate;
use outreach_app::ports::{DailyLimits, DayCount, DaySlot, Store};
use outreach_domain::ids::{AccountId, CampaignId};

use super::race;

/// How many sends take a slot at once.
pub const DAILY_TAKERS: usize = 50;

fn slot(account: &str, campaign: &str) -> DaySlot {
    DaySlot {
        account: AccountId::from(account),
        day: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"),
        campaign: CampaignId::from(campaign),
    }
}

/// Takes a slot of `slot` with `limits` from `n` tasks at once: how many got one.
async fn take_at_once(
    store: &Arc<dyn Store>,
    slot: &DaySlot,
    limits: DailyLimits,
    n: usize,
) -> usize {
    let answers = race(n, |_| {
        let (store, slot) = (store.clone(), slot.clone());
        async move { store.take_day_slot(&slot, limits).await }
    })
    .await;
    answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|e| panic!("a send taking a slot failed: {e}")))
        .filter(|taken| *taken)
        .count()
}

/// fifty sends at once under an account's limit of 10 get exactly ten
/// slots, and every one of them an answer; the day's count is 10. Under a
/// limit of 100, each of the fifty gets one (the read-then-write slot gave
/// up on more than half of them on the emulator).
pub async fn concurrent_sends_take_exactly_the_daily_limit(store: Arc<dyn Store>) {
    let roomy = DailyLimits {
        account: Some(100),
        campaign: Some(100),
    };
    let all = slot("acc-roomy", "cmp-1");
    assert_eq!(
        take_at_once(&store, &all, roomy, DAILY_TAKERS).await,
        DAILY_TAKERS
    );
    assert_eq!(store.day_count(&all).await.map(|c| c.sent), Ok(50));
    let limits = DailyLimits {
        account: Some(10),
        campaign: None,
    };
    let s = slot("acc-daily", "cmp-1");
    assert_eq!(take_at_once(&store, &s, limits, DAILY_TAKERS).await, 10);
    assert_eq!(
        store.day_count(&s).await,
        Ok(DayCount {
            sent: 10,
            of_campaign: 10
        })
    );
    // Another day of the same account has its own count.
    let mut next = s.clone();
    next.day = next.day.succ_opt().expect("a next day");
    assert_eq!(store.take_day_slot(&next, limits).await, Ok(true));
    assert_eq!(store.day_count(&next).await.map(|c| c.sent), Ok(1));
}

/// a campaign's limit counts its own messages, the account's every
/// message of the account: the first limit reached refuses.
pub async fn a_campaigns_limit_counts_within_its_accounts(store: Arc<dyn Store>) {
    let (a, b) = (slot("acc-shared", "cmp-a"), slot("acc-shared", "cmp-b"));
    let of_a = DailyLimits {
        account: Some(8),
        campaign: Some(3),
    };
    let of_b = DailyLimits {
        account: Some(8),
        campaign: None,
    };
    assert_eq!(take_at_once(&store, &a, of_a, 10).await, 3);
    assert_eq!(take_at_once(&store, &b, of_b, 10).await, 5);
    assert_eq!(
        store.day_count(&a).await,
        Ok(DayCount {
            sent: 8,
            of_campaign: 3
        })
    );
    assert_eq!(store.day_count(&b).await.map(|c| c.of_campaign), Ok(5));
    assert_eq!(
        store.take_day_slot(&b, of_b).await,
        Ok(false),
        "the account is full"
    );
    // With no limit at all, a message is counted all the same.
    let unlimited = slot("acc-free", "cmp-a");
    assert_eq!(
        store
            .take_day_slot(&unlimited, DailyLimits::default())
            .await,
        Ok(true)
    );
    assert_eq!(store.day_count(&unlimited).await.map(|c| c.sent), Ok(1));
}

/// a slot given back is free again, for the campaign that held it;
/// giving back more than was taken never counts below zero.
pub async fn a_released_slot_is_free_again(store: Arc<dyn Store>) {
    let limits = DailyLimits {
        account: Some(2),
        campaign: Some(2),
    };
    let s = slot("acc-release", "cmp-1");
    assert_eq!(take_at_once(&store, &s, limits, 5).await, 2);
    store.release_day_slot(&s).await.expect("released");
    assert_eq!(
        store.day_count(&s).await,
        Ok(DayCount {
            sent: 1,
            of_campaign: 1
        })
    );
    assert_eq!(take_at_once(&store, &s, limits, 5).await, 1);
    // Another campaign held none of the account's slots: nothing to give back.
    let other = slot("acc-release", "cmp-2");
    store.release_day_slot(&other).await.expect("answered");
    assert_eq!(store.day_count(&s).await.map(|c| c.sent), Ok(2));
    for _ in 0..3 {
        store.release_day_slot(&s).await.expect("released");
    }
    assert_eq!(store.day_count(&s).await, Ok(DayCount::default()));
    assert_eq!(
        store.day_count(&slot("acc-never", "cmp-1")).await,
        Ok(DayCount::default())
    );
}
