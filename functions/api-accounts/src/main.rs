//! `api-accounts`: the routes of the `/v1` API behind API Gateway's HTTP API
//! (§13) for the sender accounts: linking (the DMARC lookup and
//! the proof mail), relinking, removal, limits and delegates, and the
//! confirmation and "this wasn't me" pages. API Gateway routes their paths
//! here (infra/template.yaml); it is the only API function that calls SES or
//! resolves DNS, so neither `api` nor `api-mail` links them (issue 20). The
//! caller's identity comes from the JWT authorizer's claims.

use outreach_lambda::App;
use outreach_lambda::lambda_http::{Error, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    outreach_lambda::init_tracing();
    let app = App::api_accounts_from_env().await?;
    run(app.accounts_router()).await
}
