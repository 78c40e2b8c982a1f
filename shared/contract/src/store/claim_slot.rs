//! Issue 20: a claim takes its day's slot in the same atomic write (R-8.1,
//! ), and the send's batched read finds the sender account owner's
//! profile (its time zone is the days' of ).

use std::sync::Arc;

use chrono::NaiveDate;
use outreach_app::model::UserProfile;
use outreach_app::ports::{DailyLimits, DayCount, DaySlot, Found, Lookup, Store, StoreError};
use outreach_domain::Zone;
use outreach_domain::ids::{AccountId, CampaignId, OrgId, UserId};

use super::{CLAIMERS, enrollment, one_enrollment, race};
use crate::fixtures::{address, at};

fn slot(account: &str) -> DaySlot {
    DaySlot {
        account: AccountId::from(account),
        day: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"),
        campaign: CampaignId::from("cmp-1"),
    }
}

/// a claim with its day's slot writes both or neither. The
/// claim is written and counted once; a second claim from the same version
/// is refused and counts nothing; a claim on a full day is not written,
/// and a lost claim on a full day is told as the conflict it is.
pub async fn a_claim_takes_its_day_slot_in_one_write(store: Arc<dyn Store>) {
    let org = "org-claim-slot";
    one_enrollment(&store, org).await;
    let read = enrollment(&store, org, "enr-1").await;
    let mut claimed = read.value.clone();
    claimed
        .claim(1, address("ada@home.example"), at(10, 0), at(10, 5))
        .expect("claimable");
    let s = slot("acc-claim-slot");
    let one = DailyLimits {
        account: Some(5),
        campaign: Some(1),
    };
    let taken = store
        .update_enrollment_taking_slot(&claimed, read.version, &s, one)
        .await;
    assert_eq!(taken, Ok(Some(read.version + 1)), "claimed with its slot");
    let after = enrollment(&store, org, "enr-1").await;
    assert_eq!((after.version, &after.value), (read.version + 1, &claimed));
    let counted = DayCount {
        sent: 1,
        of_campaign: 1,
    };
    assert_eq!(store.day_count(&s).await, Ok(counted));

    // Claimed twice from the version read: refused, and no second slot,
    // though the day has room (another day) or not (this one).
    let mut roomy = s.clone();
    roomy.day = roomy.day.succ_opt().expect("a next day");
    for (day, limits) in [(&roomy, DailyLimits::default()), (&s, one)] {
        let again = store
            .update_enrollment_taking_slot(&claimed, read.version, day, limits)
            .await;
        assert_eq!(again, Err(StoreError::Conflict));
    }
    assert_eq!(store.day_count(&s).await, Ok(counted));
    assert_eq!(store.day_count(&roomy).await, Ok(DayCount::default()));

    // The day is full (the campaign's limit of 1): the claim is not written.
    let mut next = after.value.clone();
    next.allow_duplicate = !next.allow_duplicate;
    let full = store
        .update_enrollment_taking_slot(&next, after.version, &s, one)
        .await;
    assert_eq!(full, Ok(None), "a full day writes no claim");
    assert_eq!(enrollment(&store, org, "enr-1").await, after);
    assert_eq!(store.day_count(&s).await, Ok(counted));
    // Under the account's limit alone it has room: written and counted.
    let account_only = DailyLimits {
        account: Some(5),
        campaign: None,
    };
    let taken = store
        .update_enrollment_taking_slot(&next, after.version, &s, account_only)
        .await;
    assert_eq!(taken, Ok(Some(after.version + 1)));
    assert_eq!(store.day_count(&s).await.map(|c| c.sent), Ok(2));
}

/// of many sends claiming the same attempt with its slot at once,
/// exactly one wins and exactly one slot is counted.
pub async fn concurrent_claims_take_one_slot(store: Arc<dyn Store>) {
    let org = "org-claim-race";
    one_enrollment(&store, org).await;
    let read = enrollment(&store, org, "enr-1").await;
    let s = slot("acc-claim-race");
    let limits = DailyLimits {
        account: Some(100),
        campaign: Some(100),
    };
    let answers = race(CLAIMERS, |i| {
        let (store, s, mut e) = (store.clone(), s.clone(), read.value.clone());
        let to = address(&format!("ada{i}@home.example"));
        e.claim(1, to, at(10, 0), at(10, 5)).expect("claimable");
        async move {
            store
                .update_enrollment_taking_slot(&e, read.version, &s, limits)
                .await
        }
    })
    .await;
    let wins = answers
        .iter()
        .filter(|a| match a {
            Ok(Some(_)) => true,
            Err(StoreError::Conflict) => false,
            other => panic!("a claim answered otherwise than won or lost: {other:?}"),
        })
        .count();
    assert_eq!(wins, 1, "exactly one claim wins");
    assert_eq!(
        store.day_count(&s).await,
        Ok(DayCount {
            sent: 1,
            of_campaign: 1
        })
    );
}

/// Issue 20, R-6.7: a batched read answers a user's profile as `get_user`
/// does, within its organization.
pub async fn batched_reads_find_a_users_profile(store: Arc<dyn Store>) {
    let org = OrgId::from("org-batch-user");
    let user = UserProfile {
        id: UserId::from("alice"),
        org_id: org.clone(),
        display_name: "Alice".into(),
        timezone: Zone::parse("Europe/Berlin").expect("a zone"),
        notification_address: None,
    };
    store.put_user(&user).await.expect("user");
    let lookups = [
        Lookup::User(org.clone(), user.id.clone()),
        Lookup::User(org.clone(), UserId::from("nobody")),
        Lookup::User(OrgId::from("org-other"), user.id.clone()),
    ];
    let found = store.get_batch(&lookups).await.expect("a batch read");
    assert_eq!(found, vec![Some(Found::User(Box::new(user))), None, None]);
}
