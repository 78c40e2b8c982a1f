//! `webhooks`: `POST /v1/webhooks/ses-events` and `POST /v1/webhooks/inbound`
//! behind API Gateway's HTTP API, public: SES events and inbound mail that SNS
//! delivers over HTTPS (SES in another account or region), accepted only with
//! a valid SNS signature (§15). A function of their own so that `api` links
//! neither the signature check nor the handling behind them (issue 20).

use outreach_lambda::App;
use outreach_lambda::lambda_http::{Error, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    outreach_lambda::init_tracing();
    let app = App::webhooks_from_env().await?;
    run(app.webhooks_router()).await
}
