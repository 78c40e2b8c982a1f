//! `inbound`: mail that arrived at the reply domain, stored in S3 by the SES
//! receipt rule and announced through SNS: replies end sequences, automatic
//! replies are recorded, both are forwarded.

use outreach_lambda::App;
use outreach_lambda::lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    outreach_lambda::init_tracing();
    let app = App::inbound_from_env().await?;
    run(service_fn(|event| app.on_inbound(event))).await
}
