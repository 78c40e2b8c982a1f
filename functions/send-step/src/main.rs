//! `send-step`: the one path to SES (§15). It consumes the send queue, where
//! EventBridge Scheduler puts each fired wake-up's job and the sweeper and
//! single messages put sends due now, at most `SendConcurrency` instances at
//! once, each pacing its sends to the account's SES maximum send rate divided
//! by that concurrency. Above all a job is a step's hand-off, claimed first so
//! that it happens at most once; the others are identity polls and
//! retried SES events. Partial batch failures are reported to SQS.

use outreach_lambda::App;
use outreach_lambda::lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    outreach_lambda::init_tracing();
    let app = App::send_step_from_env().await?;
    run(service_fn(|event| app.on_send_step(event))).await
}
