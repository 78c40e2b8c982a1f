//! The `Queue` port on SQS (§15, issue 8): background work such as the
//! fan-out chunks of a start or resume goes to the planner queue, whose
//! function runs each job with the same `run_job` as a fired wake-up. A
//! message's body is the job's JSON, exactly what a schedule's input carries.
//!
//! Sends due now that no schedule fired (the sweeper's rescues, single
//! messages) go to the send queue, where EventBridge Scheduler puts every
//! fired wake-up: its consumer, send-step, is the one path to SES, bounded in
//! concurrency and paced (§15).
//!
//! SQS delivers at least once and the jobs are idempotent. A job planned for
//! later is delayed by SQS itself, up to its 15-minute maximum; a job planned
//! further ahead runs at 15 minutes and finds its own state (a fan-out chunk
//! of a campaign still in draft queues itself again).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use chrono::{DateTime, Duration, Utc};
use outreach_app::ports::{Clock, Queue, SchedulerError, SendHandoff, WakeUp};

/// SQS' longest per-message delay.
pub const MAX_DELAY_SECONDS: i64 = 900;

/// The message attribute naming the wake-up, for logs and the dead-letter queue.
pub const WAKE_UP_ATTRIBUTE: &str = "wake_up";

pub struct SqsQueue {
    client: Client,
    /// The planner queue (background work).
    queue_url: String,
    /// The send queue (sends due now).
    send_queue_url: String,
    clock: Arc<dyn Clock>,
    /// The send queue's backlog as last read, and when: one read serves a
    /// whole sweep ([`BACKLOG_FRESH`]).
    backlog: Mutex<Option<(DateTime<Utc>, u64)>>,
}

/// How long one read of the send queue's backlog is used.
const BACKLOG_FRESH: Duration = Duration::seconds(30);

impl SqsQueue {
    pub fn new(
        client: Client,
        queue_url: impl Into<String>,
        send_queue_url: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        SqsQueue {
            client,
            queue_url: queue_url.into(),
            send_queue_url: send_queue_url.into(),
            clock,
            backlog: Mutex::new(None),
        }
    }

    /// The send queue's messages, visible, in flight and delayed (SQS' approximate counts).
    async fn read_backlog(&self) -> Result<u64, SchedulerError> {
        let counts = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let answer = self
            .client
            .get_queue_attributes()
            .queue_url(&self.send_queue_url)
            .set_attribute_names(Some(counts.to_vec()))
            .send()
            .await
            .map_err(|e| {
                SchedulerError(format!(
                    "could not read the send queue's backlog: {}",
                    DisplayErrorContext(&e)
                ))
            })?;
        let attributes = answer.attributes().cloned().unwrap_or_default();
        Ok(counts
            .iter()
            .filter_map(|name| attributes.get(name))
            .filter_map(|n| n.parse::<u64>().ok())
            .sum())
    }

    /// One message on `queue_url` carrying the wake-up's job, delayed `delay` seconds.
    async fn put(
        &self,
        queue_url: &str,
        wake_up: &WakeUp,
        delay: i32,
    ) -> Result<(), SchedulerError> {
        let body =
            serde_json::to_string(&wake_up.job).map_err(|e| SchedulerError(e.to_string()))?;
        let name = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(&wake_up.name)
            .build()
            .map_err(|e| SchedulerError(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .delay_seconds(delay)
            .message_attributes(WAKE_UP_ATTRIBUTE, name)
            .send()
            .await
            .map_err(|e| {
                SchedulerError(format!(
                    "could not queue {}: {}",
                    wake_up.name,
                    DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }
}

/// The delay of a job planned for `at`, seen at `now`, in whole seconds SQS accepts.
pub fn delay_seconds(at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> i32 {
    (at - now).num_seconds().clamp(0, MAX_DELAY_SECONDS) as i32
}

#[async_trait]
impl Queue for SqsQueue {
    async fn enqueue(&self, wake_up: &WakeUp) -> Result<(), SchedulerError> {
        let delay = delay_seconds(wake_up.at, self.clock.now());
        self.put(&self.queue_url, wake_up, delay).await
    }

    /// Due now: no delay; send-step takes it in its turn (§15).
    async fn enqueue_send(&self, wake_up: &WakeUp) -> Result<SendHandoff, SchedulerError> {
        self.put(&self.send_queue_url, wake_up, 0).await?;
        Ok(SendHandoff::Queued)
    }

    async fn send_backlog(&self) -> Result<Option<u64>, SchedulerError> {
        let now = self.clock.now();
        let cached = *self.backlog.lock().expect("backlog");
        if let Some((at, n)) = cached
            && now - at < BACKLOG_FRESH
            && now >= at
        {
            return Ok(Some(n));
        }
        let n = self.read_backlog().await?;
        *self.backlog.lock().expect("backlog") = Some((now, n));
        Ok(Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn delays_stay_within_what_sqs_accepts() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .single()
            .expect("an instant");
        assert_eq!(delay_seconds(now - Duration::minutes(5), now), 0);
        assert_eq!(delay_seconds(now + Duration::seconds(61), now), 61);
        assert_eq!(delay_seconds(now + Duration::hours(2), now), 900);
    }
}
