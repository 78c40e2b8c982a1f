//! The `Scheduler` port on EventBridge Scheduler: one one-shot `at()` schedule
//! per wake-up, in the service's schedule group, putting the job (its JSON, the
//! schedule's input) on the send queue, whose consumer is the send function
//! (SPEC §15, R-8.1, R-10.3): every wake-up passes the queue's concurrency
//! bound.
//!
//! A wake-up's name is deterministic (enrollment, step, plan version), so
//! creating it again answers `ConflictException`, which is success: the
//! existing schedule is the same wake-up. Times are rounded up to the next
//! whole minute (the precision of `at()`), and never planned in the past.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, Target,
};
use chrono::{DateTime, Duration, DurationRound, NaiveDateTime, Utc};
use outreach_app::ports::{Clock, Job, Scheduler, SchedulerError, WakeUp};

/// Where fired wake-ups go.
#[derive(Debug, Clone)]
pub struct ScheduleTarget {
    /// The send queue (an SQS queue ARN): the schedule's input becomes one
    /// message on it.
    pub arn: String,
    /// The role EventBridge Scheduler assumes to send to it (`sqs:SendMessage`).
    pub role_arn: String,
    /// Where a delivery that kept failing lands, for a person to look at.
    pub dead_letter_arn: String,
    /// How long EventBridge keeps retrying a failed delivery (60–86400 s).
    pub max_event_age_seconds: i32,
    /// How many times it retries (0–185).
    pub max_retries: i32,
}

pub struct EventBridgeScheduler {
    client: Client,
    group: String,
    target: ScheduleTarget,
    clock: Arc<dyn Clock>,
}

/// A schedule read back (tests fire wake-ups this way; the emulator never does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledWakeUp {
    pub wake_up: WakeUp,
    pub target_arn: String,
}

const AT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

fn fail(e: impl std::fmt::Display) -> SchedulerError {
    SchedulerError(e.to_string())
}

fn sdk_fail<E>(what: &str, err: &SdkError<E>) -> SchedulerError
where
    E: std::error::Error + 'static,
{
    SchedulerError(format!("{what}: {}", DisplayErrorContext(err)))
}

/// Success, or the error `code` that says it is done already (a group or a
/// wake-up created before, a schedule deleted before); any other error fails
/// as `what`.
fn done_unless<T, E>(
    result: Result<T, SdkError<E>>,
    code: &str,
    what: &str,
) -> Result<(), SchedulerError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(err) if err.code() == Some(code) => Ok(()),
        Err(err) => Err(sdk_fail(what, &err)),
    }
}

/// Whether `name` is a valid schedule name: 1–64 characters of `[0-9a-zA-Z-_.]`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The instant a wake-up planned for `at` is scheduled for, at `now`: rounded
/// up to a whole minute, and at least a minute ahead so that it is still in
/// the future when EventBridge receives it.
pub fn schedule_time(at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let round_up = |t: DateTime<Utc>| {
        let floor = t.duration_trunc(Duration::minutes(1)).unwrap_or(t);
        if floor < t {
            floor + Duration::minutes(1)
        } else {
            floor
        }
    };
    round_up(at).max(round_up(now + Duration::minutes(1)))
}

/// The `at()` expression of an instant (in the UTC time zone of the schedule).
pub fn at_expression(t: DateTime<Utc>) -> String {
    format!("at({})", t.format(AT_FORMAT))
}

/// The instant of an `at()` expression; `None` for anything else.
pub fn parse_at_expression(expression: &str) -> Option<DateTime<Utc>> {
    let inner = expression.strip_prefix("at(")?.strip_suffix(')')?;
    NaiveDateTime::parse_from_str(inner, AT_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

impl EventBridgeScheduler {
    pub fn new(
        client: Client,
        group: impl Into<String>,
        target: ScheduleTarget,
        clock: Arc<dyn Clock>,
    ) -> Self {
        EventBridgeScheduler {
            client,
            group: group.into(),
            target,
            clock,
        }
    }

    /// Creates the schedule group (the deployment does this; tests must, since
    /// a schedule in a missing group fails). One that exists is success.
    pub async fn ensure_group(&self) -> Result<(), SchedulerError> {
        let result = self
            .client
            .create_schedule_group()
            .name(&self.group)
            .send()
            .await;
        let what = "could not create the schedule group";
        done_unless(result, "ConflictException", what)
    }

    /// Reads a schedule back; `None` when there is none by that name.
    pub async fn get(&self, name: &str) -> Result<Option<ScheduledWakeUp>, SchedulerError> {
        let out = match self
            .client
            .get_schedule()
            .group_name(&self.group)
            .name(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(err) => return Err(sdk_fail("could not read the schedule", &err)),
        };
        let expression = out.schedule_expression().unwrap_or_default();
        let at = parse_at_expression(expression)
            .ok_or_else(|| fail(format!("schedule {name} is not one-shot: {expression}")))?;
        let target = out
            .target()
            .ok_or_else(|| fail(format!("schedule {name} has no target")))?;
        let job: Job = serde_json::from_str(target.input().unwrap_or_default())
            .map_err(|e| fail(format!("schedule {name} does not carry a job: {e}")))?;
        Ok(Some(ScheduledWakeUp {
            wake_up: WakeUp {
                name: name.to_owned(),
                at,
                job,
            },
            target_arn: target.arn().to_owned(),
        }))
    }

    /// The names of every schedule in the group.
    pub async fn names(&self) -> Result<Vec<String>, SchedulerError> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_schedules()
                .group_name(&self.group)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_fail("could not list the schedules", &e))?;
            names.extend(
                out.schedules()
                    .iter()
                    .filter_map(|s| s.name().map(str::to_owned)),
            );
            match out.next_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => return Ok(names),
            }
        }
    }

    fn target(&self, input: String) -> Result<Target, SchedulerError> {
        Target::builder()
            .arn(&self.target.arn)
            .role_arn(&self.target.role_arn)
            .input(input)
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .arn(&self.target.dead_letter_arn)
                    .build(),
            )
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(self.target.max_event_age_seconds)
                    .maximum_retry_attempts(self.target.max_retries)
                    .build(),
            )
            .build()
            .map_err(fail)
    }
}

#[async_trait]
impl Scheduler for EventBridgeScheduler {
    async fn schedule(&self, wake_up: &WakeUp) -> Result<(), SchedulerError> {
        if !valid_name(&wake_up.name) {
            return Err(fail(format!(
                "`{}` is not a schedule name (1–64 characters of [0-9a-zA-Z-_.])",
                wake_up.name
            )));
        }
        let at = schedule_time(wake_up.at, self.clock.now());
        let input = serde_json::to_string(&wake_up.job).map_err(fail)?;
        let result = self
            .client
            .create_schedule()
            .group_name(&self.group)
            .name(&wake_up.name)
            .schedule_expression(at_expression(at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Off)
                    .build()
                    .map_err(fail)?,
            )
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(self.target(input)?)
            .send()
            .await;
        // Same name, same wake-up: it exists already.
        done_unless(result, "ConflictException", "could not create the schedule")
    }

    async fn cancel(&self, name: &str) -> Result<(), SchedulerError> {
        if !valid_name(name) {
            // No schedule can have that name, so there is nothing to cancel.
            return Ok(());
        }
        let result = self
            .client
            .delete_schedule()
            .group_name(&self.group)
            .name(name)
            .send()
            .await;
        let what = "could not delete the schedule";
        done_unless(result, "ResourceNotFoundException", what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, s)
            .single()
            .expect("a valid instant")
    }

    #[test]
    fn times_round_up_to_the_minute_and_never_lie_in_the_past() {
        let now = t(9, 0, 30);
        assert_eq!(schedule_time(t(10, 0, 0), now), t(10, 0, 0));
        assert_eq!(schedule_time(t(10, 0, 1), now), t(10, 1, 0));
        assert_eq!(
            schedule_time(t(10, 0, 0) + Duration::milliseconds(1), now),
            t(10, 1, 0)
        );
        // Due already (or within the minute): the next whole minute after now + 1 min.
        assert_eq!(schedule_time(t(8, 0, 0), now), t(9, 2, 0));
        assert_eq!(schedule_time(t(8, 0, 0), t(9, 0, 0)), t(9, 1, 0));
    }

    #[test]
    fn at_expressions_round_trip() {
        let at = t(10, 5, 0);
        assert_eq!(at_expression(at), "at(2026-12-01T10:05:00)");
        assert_eq!(parse_at_expression(&at_expression(at)), Some(at));
        assert_eq!(parse_at_expression("rate(5 minutes)"), None);
    }

    #[test]
    fn names_are_validated() {
        assert!(valid_name("enr_0193abc.s1.v2"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(65)));
        assert!(!valid_name("enr#1"));
        assert!(!valid_name("enr 1"));
    }
}
