//! The contract suite (outreach-contract) against the AWS adapters on moto:
//! DynamoDB single table, SES v2 and EventBridge Scheduler over the real wire
//! protocol. Each check gets its own table, schedule group and addresses.

mod support;

use std::sync::Arc;

use outreach_app::ports::{Clock, Mailer, Scheduler, Store};
use outreach_contract::fixtures::{address, at};
use outreach_contract::{mailer, scheduler, store};
use support::{Aws, SchedulesOf, TestClock};

async fn fresh_store() -> Arc<dyn Store> {
    Aws::new().await.store().await
}

macro_rules! store_checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                store::$check(fresh_store().await).await;
            }
        )*
    };
}

outreach_contract::every_store_check!(store_checks);

async fn fresh_scheduler() -> (Arc<dyn Scheduler>, Arc<dyn scheduler::ScheduleInspector>) {
    let clock: Arc<dyn Clock> = TestClock::new(at(9, 0));
    let eventbridge = Aws::new().await.scheduler(clock).await;
    (eventbridge.clone(), Arc::new(SchedulesOf(eventbridge)))
}

macro_rules! scheduler_checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let (scheduler, inspector) = fresh_scheduler().await;
                scheduler::$check(scheduler, inspector).await;
            }
        )*
    };
}

scheduler_checks!(
    a_wake_up_created_twice_is_one,
    a_wake_up_keeps_its_time,
    cancelling_is_best_effort,
);

#[tokio::test]
async fn a_message_is_sent_with_its_tags() {
    let aws = Aws::new().await;
    let from = format!("{}@acme.example", support::unique("alice"));
    aws.verify_sender(&from).await;
    let mailer: Arc<dyn Mailer> = aws.mailer();
    mailer::a_message_is_sent_with_its_tags(
        mailer,
        aws.mail_inspector(),
        address(&from),
        address("ada@home.example"),
    )
    .await;
}

#[tokio::test]
async fn an_unverified_sender_is_a_sender_fault() {
    let aws = Aws::new().await;
    let mailer: Arc<dyn Mailer> = aws.mailer();
    let from = format!("{}@nowhere.example", support::unique("mallory"));
    mailer::an_unverified_sender_is_a_sender_fault(
        mailer,
        address(&from),
        address("ada@home.example"),
    )
    .await;
}
