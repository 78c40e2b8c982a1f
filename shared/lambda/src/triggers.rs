//! Each trigger's event turned into a service call, and the answer back.
//!
//! What fails is sorted once, here: an error that may pass (the store or a
//! service unavailable, a record changed concurrently) fails the invocation,
//! so Lambda, SNS or SQS delivers it again, and after their retries it lands
//! in a dead-letter queue that an alarm watches. An event that can never
//! succeed (malformed, about nothing the service knows, a stored message
//! that expired) is a poison event: logged with `poison: true` (a metric
//! filter counts them) and acknowledged, never retried forever.

use aws_lambda_events::event::sns::SnsEvent;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use outreach_app::Error;
use outreach_app::ports::Job;
use outreach_app::usecases::returns::inbound::Verdicts;
use outreach_aws::s3::RawMessageError;
use outreach_domain::ses_event::SesEvent;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::App;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("the service failed; the event will be delivered again: {0}")]
    Service(Error),
    #[error("the stored message could not be read; the event will be delivered again: {0}")]
    RawMessage(RawMessageError),
    #[error("the event is not {expected}: {why}")]
    Malformed { expected: &'static str, why: String },
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        let kind = match &error {
            HandlerError::Service(_) => "Outreach.ServiceUnavailable",
            HandlerError::RawMessage(_) => "Outreach.RawMessageUnavailable",
            HandlerError::Malformed { .. } => "Outreach.MalformedEvent",
        };
        Diagnostic {
            error_type: kind.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Logs and acknowledges a poison event.
fn poison(trigger: &'static str, why: &dyn std::fmt::Display) -> Value {
    tracing::error!(poison = true, trigger, error = %why, "dropped an event that can never succeed");
    json!({"dropped": why.to_string()})
}

/// The service's answer, or a poison event acknowledged, or a retry.
fn settle<T>(
    trigger: &'static str,
    result: Result<T, Error>,
    answer: impl FnOnce(T) -> Value,
) -> Result<Value, HandlerError> {
    match result {
        Ok(value) => Ok(answer(value)),
        Err(e) if e.is_transient() => Err(HandlerError::Service(e)),
        Err(e) => Ok(poison(trigger, &e)),
    }
}

/// What a maintenance schedule asks for; the template sets one of these as
/// each schedule's input. A plain EventBridge scheduled event runs both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// every connected account's identity, at least hourly.
    IdentityCheck,
    /// expired claims and missing wake-ups (re-queued on the send queue, §15).
    Sweep,
}

#[derive(Deserialize)]
struct TaskInput {
    task: Task,
}

/// The SNS message of an SES receipt rule (`notificationType: Received`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptNotification {
    notification_type: String,
    #[serde(default)]
    receipt: Receipt,
    /// The message itself, when an SNS action (not an S3 action) carried it.
    content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Receipt {
    spam_verdict: Verdict,
    virus_verdict: Verdict,
    /// The only verdict that vouches for the From; SPF and DKIM
    /// verdicts are not read.
    dmarc_verdict: Verdict,
    action: ReceiptAction,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Verdict {
    status: String,
}

impl Verdict {
    fn is(&self, status: &str) -> bool {
        self.status.eq_ignore_ascii_case(status)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ReceiptAction {
    #[serde(rename = "type")]
    kind: String,
    bucket_name: Option<String>,
    object_key: Option<String>,
    encoding: Option<String>,
}

impl Receipt {
    /// address-based matching trusts `From` only when DMARC passed (SPF
    /// and DKIM vouch for some domain, not for the From).
    fn verdicts(&self) -> Verdicts {
        Verdicts {
            sender_authenticated: self.dmarc_verdict.is("PASS"),
        }
    }

    /// Why SES' scanning says the message must not be acted on, if it does.
    fn refusal(&self) -> Option<&'static str> {
        if self.virus_verdict.is("FAIL") {
            Some("virus")
        } else if self.spam_verdict.is("FAIL") {
            Some("spam")
        } else {
            None
        }
    }
}

fn sns_records(event: Value) -> Result<SnsEvent, String> {
    serde_json::from_value(event).map_err(|e| e.to_string())
}

impl App {
    /// The API function: the router of local mode and the console (§13), but
    /// the SNS HTTPS webhooks, which the webhooks function serves
    /// ([`App::webhooks_router`]), and the routes the `api-mail` and
    /// `api-accounts` functions serve ([`App::mail_router`],
    /// [`App::accounts_router`]); API Gateway routes their paths there.
    pub fn router(&self) -> axum::Router {
        outreach_app::http::api_router(self.service.clone()).merge(outreach_app::console::router())
    }

    /// The `api-mail` function (issue 20): a candidate's messages and
    /// history, replies, the import and the statistics
    /// ([`outreach_app::http::mail_router`]).
    pub fn mail_router(&self) -> axum::Router {
        outreach_app::http::mail_router(self.service.clone())
    }

    /// The `api-accounts` function (issue 20): the sender accounts and their
    /// confirmation pages ([`outreach_app::http::accounts_router`]).
    pub fn accounts_router(&self) -> axum::Router {
        outreach_app::http::accounts_router(self.service.clone())
    }

    /// The webhooks function: the SNS HTTPS webhooks (§15), accepted when the
    /// deployment names topics ([`App::webhooks_from_env`]), 404 otherwise.
    pub fn webhooks_router(&self) -> axum::Router {
        let webhooks = outreach_app::http::webhooks_router(self.service.clone());
        match &self.webhooks {
            Some(verifier) => webhooks.layer(axum::Extension(verifier.clone())),
            None => webhooks,
        }
    }

    /// A fired wake-up (EventBridge Scheduler): the event is the job itself,
    /// the schedule's input.
    pub async fn on_wake_up(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let job: Job = match serde_json::from_value(event.payload) {
            Ok(job) => job,
            Err(e) => return Ok(poison("wake-up", &format!("not a job: {e}"))),
        };
        let outcome = self.service.sending().run_job(&job).await;
        settle("wake-up", outcome, |o| {
            tracing::info!(outcome = ?o, job = ?job, "ran a wake-up");
            json!({"outcome": format!("{o:?}")})
        })
    }

    /// SES events through SNS: each record is one SES notification.
    pub async fn on_ses_events(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let records = match sns_records(event.payload) {
            Ok(records) => records,
            Err(e) => return Ok(poison("ses-events", &format!("not an SNS event: {e}"))),
        };
        let mut answers = Vec::new();
        for record in records.records {
            // The SNS envelope is read once (above); its message once, here,
            // into the domain's type.
            let event = match SesEvent::from_json(&record.sns.message) {
                Ok(event) => event,
                Err(e) => {
                    answers.push(poison("ses-events", &format!("not an SES event: {e}")));
                    continue;
                }
            };
            let outcome = self
                .service
                .returns()
                .handle_ses_event(event, &record.sns.message)
                .await;
            answers.push(settle("ses-events", outcome, |o| {
                tracing::info!(outcome = ?o, sns_message = %record.sns.message_id, "applied an SES event");
                json!(format!("{o:?}"))
            })?);
        }
        Ok(json!({"outcomes": answers}))
    }

    /// The stored message at `bucket`/`key`; a function built without the S3
    /// client (every one but inbound) fails the event, so it is retried and
    /// lands in the dead-letter queue rather than being dropped.
    async fn read_raw_message(&self, bucket: &str, key: &str) -> Result<Vec<u8>, RawMessageError> {
        match &self.raw_messages {
            Some(messages) => messages.get(bucket, key).await,
            None => Err(RawMessageError::Unavailable(
                "this function reads no stored mail (only the inbound function does)".into(),
            )),
        }
    }

    /// Inbound mail through SNS: the receipt rule stored the raw message in S3
    /// and announced it; scanning verdicts decide whether it is acted on and
    /// whether its sender is trusted (R-9.6, R-9.7, §15).
    pub async fn on_inbound(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let records = match sns_records(event.payload) {
            Ok(records) => records,
            Err(e) => return Ok(poison("inbound", &format!("not an SNS event: {e}"))),
        };
        let mut answers = Vec::new();
        for record in records.records {
            answers.push(self.inbound_message(&record.sns.message).await?);
        }
        Ok(json!({"results": answers}))
    }

    async fn inbound_message(&self, message: &str) -> Result<Value, HandlerError> {
        let notification: ReceiptNotification = match serde_json::from_str(message) {
            Ok(n) => n,
            Err(e) => {
                return Ok(poison(
                    "inbound",
                    &format!("not an SES receipt notification: {e}"),
                ));
            }
        };
        if notification.notification_type != "Received" {
            // e.g. `AmazonSnsSubscriptionSucceeded` when the rule is set up.
            tracing::info!(kind = %notification.notification_type, "ignored an SES notification");
            return Ok(json!({"ignored": notification.notification_type}));
        }
        let receipt = &notification.receipt;
        if let Some(reason) = receipt.refusal() {
            tracing::warn!(dropped = reason, action = %receipt.action.kind, object = ?receipt.action.object_key, "dropped inbound mail that failed SES scanning");
            return Ok(json!({"dropped": reason}));
        }
        let raw = match (&receipt.action, &notification.content) {
            (
                ReceiptAction {
                    kind,
                    bucket_name: Some(bucket),
                    object_key: Some(key),
                    ..
                },
                _,
            ) if kind == "S3" => match self.read_raw_message(bucket, key).await {
                Ok(raw) => raw,
                Err(e @ RawMessageError::NotFound { .. }) => return Ok(poison("inbound", &e)),
                Err(e) => return Err(HandlerError::RawMessage(e)),
            },
            (action, Some(content))
                if action
                    .encoding
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case("BASE64")) =>
            {
                match STANDARD.decode(content.trim()) {
                    Ok(raw) => raw,
                    Err(e) => {
                        return Ok(poison(
                            "inbound",
                            &format!("the content is not Base64: {e}"),
                        ));
                    }
                }
            }
            (_, Some(content)) => content.clone().into_bytes(),
            _ => {
                return Ok(poison(
                    "inbound",
                    &"the notification names no stored message and carries none",
                ));
            }
        };
        // Where the raw message stays (R-11.2: its owners may fetch it).
        let raw_ref = match &receipt.action {
            ReceiptAction {
                kind,
                bucket_name: Some(bucket),
                object_key: Some(key),
                ..
            } if kind == "S3" => Some(format!("s3://{bucket}/{key}")),
            _ => None,
        };
        let result = self
            .service
            .returns()
            .handle_inbound_stored(&raw, receipt.verdicts(), raw_ref.as_deref())
            .await;
        settle("inbound", result, |r| {
            tracing::info!(kind = r.kind, enrollments = ?r.enrollment_ids, "handled inbound mail");
            json!({"kind": r.kind, "enrollment_ids": r.enrollment_ids})
        })
    }

    /// The maintenance schedules: the identity check and the sweeper.
    pub async fn on_maintenance(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        let tasks = match event.payload.get("task") {
            None => vec![Task::IdentityCheck, Task::Sweep],
            Some(_) => match serde_json::from_value::<TaskInput>(event.payload) {
                Ok(input) => vec![input.task],
                Err(e) => return Ok(poison("maintenance", &format!("not a task: {e}"))),
            },
        };
        let mut report = serde_json::Map::new();
        for task in tasks {
            let answer = match task {
                Task::IdentityCheck => settle(
                    "maintenance",
                    self.service.returns().check_identities().await,
                    |failed| {
                        tracing::info!(failed, "checked the sender identities");
                        json!({"accounts_failed": failed})
                    },
                )?,
                Task::Sweep => {
                    let margin = self.service.config().sweep_margin;
                    settle(
                        "maintenance",
                        self.service.sending().sweep(margin).await,
                        |r| {
                            tracing::info!(
                                expired_claims = r.expired_claims,
                                rescued = r.rescued,
                                requeued = r.requeued,
                                cleared = r.cleared,
                                waiting_on_queue = r.waiting_on_queue,
                                "swept"
                            );
                            json!({"expired_claims": r.expired_claims, "rescued": r.rescued,
                                "requeued": r.requeued, "cleared": r.cleared,
                                "waiting_on_queue": r.waiting_on_queue})
                        },
                    )?
                }
            };
            let name = match task {
                Task::IdentityCheck => "identity_check",
                Task::Sweep => "sweep",
            };
            report.insert(name.to_owned(), answer);
        }
        Ok(Value::Object(report))
    }

    /// The planner queue: each record's body is a job (§15, issue 8). A record
    /// that may pass later is reported as a batch item failure, so SQS
    /// delivers only it again; a poison record is acknowledged.
    pub async fn on_queue(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<SqsBatchResponse, HandlerError> {
        self.run_batch("queue", event).await
    }

    /// The send function (§15): a batch of the send queue, or — invoked by
    /// hand with a sample event — a job alone, as [`App::on_wake_up`] runs it.
    pub async fn on_send_step(&self, event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
        if event.payload.get("Records").is_none() {
            return self.on_wake_up(event).await;
        }
        let response = self.on_send_queue(event).await?;
        serde_json::to_value(response).map_err(|e| HandlerError::Malformed {
            expected: "a batch response",
            why: e.to_string(),
        })
    }

    /// The send queue (§15): each record's body is a wake-up's job, put there
    /// by EventBridge Scheduler, the sweeper or a single message, and run one
    /// after the other at this instance's pace. A record that failed in a way
    /// that may pass, or that the pace leaves no time for before the
    /// invocation's deadline, is reported as a batch item failure: SQS
    /// delivers it again after its visibility timeout (and, after five
    /// receives, to the send dead-letter queue, which alarms). A send the mail
    /// service throttled is re-planned by the job itself (a new wake-up,
    /// ), so its record is done; a poison record is logged and
    /// acknowledged.
    pub async fn on_send_queue(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<SqsBatchResponse, HandlerError> {
        self.run_batch("send-queue", event).await
    }

    /// Runs an SQS batch of jobs (see [`App::on_queue`], [`App::on_send_queue`]).
    async fn run_batch(
        &self,
        trigger: &'static str,
        event: LambdaEvent<Value>,
    ) -> Result<SqsBatchResponse, HandlerError> {
        let deadline = deadline(&event.context);
        let batch: SqsEvent =
            serde_json::from_value(event.payload).map_err(|e| HandlerError::Malformed {
                expected: "an SQS batch",
                why: e.to_string(),
            })?;
        let mut response = SqsBatchResponse::default();
        let mut out_of_time = false;
        for record in batch.records {
            let id = record.message_id.unwrap_or_default();
            let failed = |id: String| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            };
            out_of_time = out_of_time || self.no_time_for_a_send(deadline);
            if out_of_time {
                tracing::info!(message = %id, trigger, "no time left at this pace; SQS delivers it again");
                response.batch_item_failures.push(failed(id));
                continue;
            }
            let job: Job = match serde_json::from_str(record.body.as_deref().unwrap_or_default()) {
                Ok(job) => job,
                Err(e) => {
                    poison(trigger, &format!("message {id} is not a job: {e}"));
                    continue;
                }
            };
            if let Err(e) = settle(trigger, self.service.sending().run_job(&job).await, |o| {
                tracing::info!(outcome = ?o, message = %id, trigger, "ran a queued job");
                Value::Null
            }) {
                tracing::warn!(message = %id, trigger, error = %e, "a queued job failed; SQS delivers it again");
                response.batch_item_failures.push(failed(id));
            }
        }
        Ok(response)
    }

    /// Whether a send started now, after waiting for this instance's pace,
    /// might not end before `deadline`.
    fn no_time_for_a_send(&self, deadline: Option<DateTime<Utc>>) -> bool {
        let (Some(pacer), Some(deadline)) = (&self.pacer, deadline) else {
            return false;
        };
        let wait = Duration::from_std(pacer.wait()).unwrap_or(Duration::MAX);
        self.service.now() + wait + SEND_TIME_BUDGET > deadline
    }
}

/// What one send may take once its slot came (reads, the SES call, writes):
/// a record with less time left is left to SQS rather than cut off.
const SEND_TIME_BUDGET: Duration = Duration::seconds(10);

/// The invocation's deadline, when the runtime gives one.
fn deadline(context: &lambda_runtime::Context) -> Option<DateTime<Utc>> {
    i64::try_from(context.deadline)
        .ok()
        .filter(|ms| *ms > 0)
        .and_then(DateTime::from_timestamp_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPF and DKIM verdicts are taken to show that they change nothing.
    fn receipt(_spf: &str, _dkim: &str, dmarc: &str, spam: &str, virus: &str) -> Receipt {
        let v = |s: &str| Verdict {
            status: s.to_owned(),
        };
        Receipt {
            dmarc_verdict: v(dmarc),
            spam_verdict: v(spam),
            virus_verdict: v(virus),
            action: ReceiptAction::default(),
        }
    }

    #[test]
    fn only_a_dmarc_pass_authenticates_the_from() {
        // SPF or DKIM passing for some domain is no proof of the From.
        assert!(
            !receipt("PASS", "PASS", "FAIL", "PASS", "PASS")
                .verdicts()
                .sender_authenticated
        );
        assert!(
            !receipt("PASS", "PASS", "GRAY", "PASS", "PASS")
                .verdicts()
                .sender_authenticated
        );
        assert!(
            receipt("FAIL", "GRAY", "PASS", "PASS", "PASS")
                .verdicts()
                .sender_authenticated
        );
        assert!(
            !receipt("FAIL", "GRAY", "PROCESSING_FAILED", "PASS", "PASS")
                .verdicts()
                .sender_authenticated
        );
        assert!(!receipt("", "", "", "", "").verdicts().sender_authenticated);
    }

    #[test]
    fn spam_or_virus_failures_are_refused_and_anything_else_goes_on() {
        assert_eq!(
            receipt("PASS", "PASS", "PASS", "FAIL", "PASS").refusal(),
            Some("spam")
        );
        assert_eq!(
            receipt("PASS", "PASS", "PASS", "PASS", "FAIL").refusal(),
            Some("virus")
        );
        // Scanning off or inconclusive: the message is acted on.
        assert_eq!(
            receipt("PASS", "PASS", "PASS", "GRAY", "DISABLED").refusal(),
            None
        );
    }

    #[test]
    fn only_errors_that_may_pass_are_retried() {
        let retried = |e: Error| settle("test", Err::<(), _>(e), |_| json!({})).is_err();
        assert!(retried(Error::Internal("the store failed".into())));
        assert!(retried(Error::Conflict("changed concurrently".into())));
        assert!(!retried(Error::invalid("body", "not JSON")));
        assert!(!retried(Error::NotFound("enrollment")));
    }
}
