//! `send-step`: runs the job an EventBridge Scheduler one-shot schedule
//! carries — above all a step's hand-off to SES, claimed first so that it
//! happens at most once — and the other wake-ups (identity polls,
//! retried SES events).

use outreach_lambda::App;
use outreach_lambda::lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    outreach_lambda::init_tracing();
    let app = App::from_env().await?;
    run(service_fn(|event| app.on_wake_up(event))).await
}
