//! `api`: the `/v1` API and the console behind API Gateway's HTTP API (§13),
//! the same router as local mode but the routes of `api-mail` and
//! `webhooks` (issue 20); the caller's identity comes from the JWT
//! authorizer's claims.

use outreach_lambda::App;
use outreach_lambda::lambda_http::{Error, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    outreach_lambda::init_tracing();
    let app = App::api_from_env().await?;
    run(app.router()).await
}
