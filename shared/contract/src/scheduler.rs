//! Checks of the `Scheduler` port, read back through a [`ScheduleInspector`].

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use outreach_app::ports::{Job, Scheduler, WakeUp};
use outreach_domain::ids::{CampaignId, CandidateId, EnrollmentId, OrgId};

/// Reads wake-ups back from where an adapter keeps them (tests fire them this
/// way: the emulator never fires a schedule).
#[async_trait]
pub trait ScheduleInspector: Send + Sync {
    /// The wake-up stored under `name`, with the time the adapter stored.
    async fn find(&self, name: &str) -> Option<WakeUp>;
    /// How many wake-ups exist.
    async fn count(&self) -> usize;
}

/// A wake-up far enough ahead that no adapter moves it to "now".
fn wake_up(name: &str, at: DateTime<Utc>) -> WakeUp {
    WakeUp {
        name: name.to_owned(),
        at,
        job: Job::SendStep {
            org_id: OrgId::from("org-schedule"),
            campaign_id: CampaignId::from("cmp-1"),
            enrollment_id: EnrollmentId::from("enr-1"),
            step: 2,
            plan_version: 3,
            candidate_id: Some(CandidateId::from("cand-1")),
            planned: None,
        },
    }
}

fn ahead() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2036, 12, 1, 10, 0, 0)
        .single()
        .expect("a valid instant")
}

/// creating the same wake-up twice is one wake-up carrying its job.
pub async fn a_wake_up_created_twice_is_one(
    scheduler: Arc<dyn Scheduler>,
    inspector: Arc<dyn ScheduleInspector>,
) {
    let w = wake_up("enr-1.s2.v3", ahead());
    scheduler.schedule(&w).await.expect("created");
    scheduler.schedule(&w).await.expect("created again");
    assert_eq!(inspector.count().await, 1);
    let found = inspector.find(&w.name).await.expect("the wake-up exists");
    assert_eq!(found.job, w.job);
    assert_eq!(found.name, w.name);
    // Adapters may round up to their precision (a minute for EventBridge).
    assert!(found.at >= w.at && found.at - w.at < Duration::minutes(1));
}

/// Times of wake-ups are kept to the minute at least, never earlier than asked.
pub async fn a_wake_up_keeps_its_time(
    scheduler: Arc<dyn Scheduler>,
    inspector: Arc<dyn ScheduleInspector>,
) {
    let w = wake_up("enr-1.s2.v4", ahead() + Duration::seconds(90));
    scheduler.schedule(&w).await.expect("created");
    let found = inspector.find(&w.name).await.expect("the wake-up exists");
    assert!(found.at >= w.at && found.at - w.at < Duration::minutes(1));
}

/// cancelling removes a wake-up; cancelling what is not there succeeds.
pub async fn cancelling_is_best_effort(
    scheduler: Arc<dyn Scheduler>,
    inspector: Arc<dyn ScheduleInspector>,
) {
    let w = wake_up("enr-1.s2.v5", ahead());
    scheduler.schedule(&w).await.expect("created");
    scheduler.cancel(&w.name).await.expect("cancelled");
    assert_eq!(inspector.find(&w.name).await, None);
    scheduler.cancel(&w.name).await.expect("cancelled again");
    scheduler
        .cancel("never-created")
        .await
        .expect("nothing to cancel");
    assert_eq!(inspector.count().await, 0);
}
