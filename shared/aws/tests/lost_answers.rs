//! A write whose answer was lost is its own success, not a conflict (issue
//! 19). The DynamoDB client here loses the answer of the first attempt of a
//! call after moto applied it (the answer becomes a 500), as a timeout or a
//! 500 after the write would: the SDK sends the write again, and the retry
//! meets the item its own first attempt wrote.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{ConfigBag, SharedInterceptor};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use chrono::{Duration, NaiveDate};
use outreach_app::ports::{Activity, DailyLimits, DaySlot, Store};
use outreach_aws::DynamoStore;
use outreach_contract::fixtures::{self, address, at};
use outreach_domain::enrollment::AttemptState;
use outreach_domain::ids::{AccountId, CampaignId, EnrollmentId, OrgId};
use support::Aws;

/// Turns the answer of the next attempt of the operations it is told into a
/// 500 after the request was served, and counts every attempt.
#[derive(Debug, Default)]
struct LoseAnswers {
    armed: Mutex<HashMap<String, usize>>,
    attempts: Mutex<HashMap<String, usize>>,
}

impl LoseAnswers {
    fn lose_next(&self, operation: &str) {
        *self
            .armed
            .lock()
            .expect("armed")
            .entry(operation.into())
            .or_default() += 1;
    }

    fn attempts(&self, operation: &str) -> usize {
        self.attempts
            .lock()
            .expect("attempts")
            .get(operation)
            .copied()
            .unwrap_or(0)
    }
}

#[derive(Debug)]
struct Lossy(Arc<LoseAnswers>);

impl Intercept for Lossy {
    fn name(&self) -> &'static str {
        "LoseAnswers"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        *self
            .0
            .attempts
            .lock()
            .expect("attempts")
            .entry(operation.clone())
            .or_default() += 1;
        let mut armed = self.0.armed.lock().expect("armed");
        if let Some(n) = armed.get_mut(&operation).filter(|n| **n > 0) {
            *n -= 1;
            // Applied, but the caller hears a server error: the SDK retries.
            *context.response_mut().status_mut() = StatusCode::try_from(500)?;
        }
        Ok(())
    }
}

/// A table with a campaign and its enrollment, written normally, and a store
/// on it whose client loses the answers it is told to.
async fn lossy_store() -> (Arc<dyn Store>, Arc<LoseAnswers>) {
    let aws = Aws::new().await;
    let plain = aws.store().await;
    plain
        .put_campaign(&fixtures::campaign(ORG, "cmp-1", "prj-1", "acc-1"), None)
        .await
        .expect("campaign");
    let e = fixtures::enrollment(ORG, "enr-1", "cmp-1", "cand-1", at(10, 0));
    plain.insert_enrollment(&e).await.expect("enrollment");
    let losses = Arc::new(LoseAnswers::default());
    let config = aws
        .clients
        .dynamodb
        .config()
        .to_builder()
        .interceptor(SharedInterceptor::new(Lossy(losses.clone())))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    (Arc::new(DynamoStore::new(client, &aws.table)), losses)
}

const ORG: &str = "org-lost";

async fn enrollment(
    store: &Arc<dyn Store>,
) -> outreach_app::ports::Versioned<outreach_domain::enrollment::Enrollment> {
    store
        .get_enrollment(&OrgId::from(ORG), &EnrollmentId::from("enr-1"))
        .await
        .expect("read")
        .expect("the enrollment")
}

/// a claim (a conditional `PutItem`) whose answer was lost is the
/// claim's own success: before, the retry's failed condition answered
/// `Conflict`, the send found its own claim "already claimed" and sent
/// nothing, and the sweeper later recorded the step sent, unconfirmed.
#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_ours() {
    let (store, losses) = lossy_store().await;
    let read = enrollment(&store).await;
    let mut e = read.value;
    e.claim(1, address("ada@home.example"), at(10, 0), at(10, 5))
        .expect("claimable");
    losses.lose_next("PutItem");
    let claimed = store
        .update_enrollment(&e, read.version, Activity::Unchanged)
        .await;
    assert_eq!(
        losses.attempts("PutItem"),
        2,
        "the SDK sent the claim again"
    );
    assert_eq!(claimed, Ok(read.version + 1), "the claim is ours");
    let after = enrollment(&store).await;
    assert_eq!(after.version, read.version + 1, "written once");
    assert_eq!(
        after.value.steps[0].attempts[0].state,
        AttemptState::Claimed
    );
    // A second claimer from the same version still loses.
    assert_eq!(
        store
            .update_enrollment(&e, read.version, Activity::Unchanged)
            .await,
        Err(outreach_app::ports::StoreError::Conflict)
    );
}

/// a `first_time` marker whose answer was lost is still the first
/// time (before, the first SNS delivery was refused as a replay).
#[tokio::test]
async fn a_marker_whose_answer_was_lost_is_the_first_time() {
    let (store, losses) = lossy_store().await;
    let expires = at(10, 0) + Duration::days(14);
    losses.lose_next("PutItem");
    assert_eq!(store.first_time("sns-1", expires).await, Ok(true));
    assert_eq!(losses.attempts("PutItem"), 2);
    assert_eq!(store.first_time("sns-1", expires).await, Ok(false));
}

/// A versioned update whose answer was lost is written once and answers its
/// version. A campaign's is one `TransactWriteItems` since issue 19 (its head
/// on `v`, a condition on each counter shard), no longer an `UpdateItem`.
#[tokio::test]
async fn a_versioned_update_whose_answer_was_lost_is_ours() {
    let (store, losses) = lossy_store().await;
    let org = OrgId::from(ORG);
    let read = store
        .get_campaign(&org, &CampaignId::from("cmp-1"))
        .await
        .expect("read")
        .expect("campaign");
    let mut c = read.value.clone();
    c.name = "Renamed".into();
    losses.lose_next("TransactWriteItems");
    assert_eq!(
        store.put_campaign(&c, Some(read.version)).await,
        Ok(read.version + 1)
    );
    assert_eq!(losses.attempts("TransactWriteItems"), 2);
    let after = store
        .get_campaign(&org, &CampaignId::from("cmp-1"))
        .await
        .expect("read")
        .expect("campaign");
    assert_eq!(after.value.name, "Renamed");
    assert_eq!(after.version, read.version + 1);
}

/// an enrollment's end (one `TransactWriteItems` with the campaign's
/// counter) whose answer was lost is its success, and the counter moves once.
#[tokio::test]
async fn a_transaction_whose_answer_was_lost_is_ours() {
    let (store, losses) = lossy_store().await;
    let org = OrgId::from(ORG);
    let read = enrollment(&store).await;
    let mut e = read.value;
    assert!(
        e.end(
            outreach_domain::enrollment::EnrollmentStatus::Removed,
            at(10, 0)
        )
        .unwrap_or(false)
    );
    losses.lose_next("TransactWriteItems");
    assert_eq!(
        store
            .update_enrollment(&e, read.version, Activity::Ended)
            .await,
        Ok(read.version + 1)
    );
    assert_eq!(losses.attempts("TransactWriteItems"), 2);
    let campaign = store
        .get_campaign(&org, &CampaignId::from("cmp-1"))
        .await
        .expect("read")
        .expect("campaign");
    assert_eq!(campaign.value.active_enrollments, 0, "counted down once");
}

/// an `ADD` whose answer was lost counts once — a counter and a
/// daily-limit slot.
#[tokio::test]
async fn an_add_whose_answer_was_lost_counts_once() {
    let (store, losses) = lossy_store().await;
    losses.lose_next("UpdateItem");
    assert_eq!(store.increment_counter("sent:acc-1").await, Ok(1));
    assert_eq!(store.increment_counter("sent:acc-1").await, Ok(2));
    let slot = DaySlot {
        account: AccountId::from("acc-1"),
        day: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date"),
        campaign: CampaignId::from("cmp-1"),
    };
    let limits = DailyLimits {
        account: Some(2),
        campaign: None,
    };
    losses.lose_next("UpdateItem");
    assert_eq!(store.take_day_slot(&slot, limits).await, Ok(true));
    assert_eq!(store.day_count(&slot).await.map(|c| c.sent), Ok(1));
    assert_eq!(losses.attempts("UpdateItem"), 5, "two retried, one not");
}
