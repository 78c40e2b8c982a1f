//! `planner`: the fan-out of large starts and resumes, one chunk per SQS
//! message, reporting partial batch failures (§15).

use outreach_lambda::App;
use outreach_lambda::lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    outreach_lambda::init_tracing();
    let app = App::from_env().await?;
    run(service_fn(|event| app.on_queue(event))).await
}
