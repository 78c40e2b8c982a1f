//! `ses-events`: bounces, complaints and deliveries that SES publishes to SNS
//! through the configuration set.

use outreach_lambda::App;
use outreach_lambda::lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    outreach_lambda::init_tracing();
    let app = App::from_env().await?;
    run(service_fn(|event| app.on_ses_events(event))).await
}
