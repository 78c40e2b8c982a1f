//! The contract suite (outreach-contract) against the embedded adapters: the
//! SQLite store, the in-process scheduler and the outbox. The same checks run
//! against the AWS adapters on the emulator (shared/aws/tests/contract.rs).

use std::sync::Arc;

use async_trait::async_trait;
use outreach_app::dev::Fault;
use outreach_app::ports::{Clock, IdSource, Mailer, Scheduler, Store, WakeUp};
use outreach_contract::fixtures::{address, at};
use outreach_contract::{MailInspector, ScheduleInspector, SentRecord, mailer, scheduler, store};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use rusqlite::OptionalExtension;

fn fresh_store() -> Arc<dyn Store> {
    Arc::new(SqliteStore::new(
        Db::in_memory().expect("an in-memory database"),
    ))
}

macro_rules! store_checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                store::$check(fresh_store()).await;
            }
        )*
    };
}

outreach_contract::every_store_check!(store_checks);

/// Reads the in-process scheduler's table back.
struct Wakeups(Db);

#[async_trait]
impl ScheduleInspector for Wakeups {
    async fn find(&self, name: &str) -> Option<WakeUp> {
        let body: Option<String> = self
            .0
            .lock()
            .query_row("SELECT body FROM wakeups WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .expect("the wake-ups can be read");
        body.map(|b| serde_json::from_str(&b).expect("a stored wake-up"))
    }

    async fn count(&self) -> usize {
        let n: i64 = self
            .0
            .lock()
            .query_row("SELECT COUNT(*) FROM wakeups", [], |r| r.get(0))
            .expect("the wake-ups can be counted");
        n as usize
    }
}

macro_rules! scheduler_checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let db = Db::in_memory().expect("an in-memory database");
                let scheduler: Arc<dyn Scheduler> = Arc::new(LocalScheduler::new(db.clone()));
                scheduler::$check(scheduler, Arc::new(Wakeups(db))).await;
            }
        )*
    };
}

scheduler_checks!(
    a_wake_up_created_twice_is_one,
    a_wake_up_keeps_its_time,
    cancelling_is_best_effort,
);

/// Reads the outbox back: the raw file and the listing (which keeps the
/// campaign, enrollment and step tags).
struct Outbox(Arc<OutboxMailer>);

#[async_trait]
impl MailInspector for Outbox {
    async fn sent(&self, message_id: &str) -> Option<SentRecord> {
        let item = self
            .0
            .list()
            .expect("the outbox can be listed")
            .into_iter()
            .find(|i| i.message_id == message_id)?;
        let raw = self.0.raw(&item.id).expect("the outbox can be read")?;
        let mut tags = Vec::new();
        if let Some(c) = item.campaign_id {
            tags.push(("campaign".to_owned(), c));
        }
        if let Some(e) = item.enrollment_id {
            tags.push(("enrollment".to_owned(), e));
        }
        if let Some(s) = item.step_index {
            tags.push(("step".to_owned(), s.to_string()));
        }
        Some(SentRecord {
            raw,
            recipients: vec![item.to],
            tags,
        })
    }
}

fn outbox(dir: &tempfile::TempDir) -> Arc<OutboxMailer> {
    let db = Db::in_memory().expect("an in-memory database");
    let clock: Arc<dyn Clock> = Arc::new(LocalClock::manual(db.clone(), at(9, 0)));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    Arc::new(OutboxMailer::new(db, dir.path().join("outbox"), clock, ids).expect("an outbox"))
}

#[tokio::test]
async fn a_message_is_sent_with_its_tags() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let outbox = outbox(&dir);
    let mailer: Arc<dyn Mailer> = outbox.clone();
    mailer::a_message_is_sent_with_its_tags(
        mailer,
        Arc::new(Outbox(outbox)),
        address("alice@acme.example"),
        address("ada@home.example"),
    )
    .await;
}

#[tokio::test]
async fn an_unverified_sender_is_a_sender_fault() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let outbox = outbox(&dir);
    // Local mode's stand-in for an identity SES does not accept.
    outbox.set_fault(address("mallory@nowhere.example"), Fault::NotVerified);
    mailer::an_unverified_sender_is_a_sender_fault(
        outbox,
        address("mallory@nowhere.example"),
        address("ada@home.example"),
    )
    .await;
}
