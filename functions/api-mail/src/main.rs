//! `api-mail`: the routes of the `/v1` API behind API Gateway's HTTP API
//! (§13) that link what the other routes never need: a candidate's messages
//! and history, replies, the CSV import and the statistics. API Gateway
//! routes their paths here (infra/template.yaml), the sender accounts' to
//! `api-accounts` and every other path to `api`, so that no bootstrap links
//! another's handlers (issue 20); local mode serves them all in its one
//! router. The caller's identity comes from the JWT
//! authorizer's claims.

use outreach_lambda::App;
use outreach_lambda::lambda_http::{Error, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    outreach_lambda::init_tracing();
    let app = App::api_mail_from_env().await?;
    run(app.mail_router()).await
}
