//! The suppression hash key is read from Secrets Manager when a
//! function starts (SPEC §15, issue 18): the template passes the secret's ARN,
//! never its value, and `App::start` (what `App::from_env` runs) reads it.

#[path = "../../aws/tests/support/mod.rs"]
mod support;

use std::collections::HashMap;

use aws_sdk_dynamodb::config::{Credentials, Region};
use outreach_lambda::settings::vars;
use outreach_lambda::{App, Settings, SettingsError};
use support::unique;

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(outreach_aws::config::https_client())
        .region(Region::new(support::REGION))
        .endpoint_url(&support::moto().endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await
}

/// The variables the template sets, with the secret's ARN for the key.
fn variables(secret_arn: &str) -> HashMap<String, String> {
    [
        (vars::TABLE_NAME, "outreach"),
        (vars::SCHEDULE_GROUP, "wakeups"),
        (
            vars::SEND_QUEUE_ARN,
            "arn:aws:sqs:us-east-1:123456789012:outreach-send",
        ),
        (vars::SEND_QUEUE_URL, "http://127.0.0.1:1/123456789012/send"),
        (
            vars::SCHEDULER_ROLE_ARN,
            "arn:aws:iam::123456789012:role/outreach-scheduler",
        ),
        (
            vars::SCHEDULER_DLQ_ARN,
            "arn:aws:sqs:us-east-1:123456789012:outreach-scheduler-dlq",
        ),
        (
            vars::PLANNER_QUEUE_URL,
            "http://127.0.0.1:1/123456789012/planner",
        ),
        (vars::REPLY_DOMAIN, "reply.outreach.example"),
        (vars::PUBLIC_BASE_URL, "https://outreach.example"),
        (vars::HASH_KEY_SECRET_ARN, secret_arn),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[tokio::test]
async fn the_hash_key_is_read_from_its_secret_at_start() {
    let sdk = sdk().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let key = "a-generated-64-character-key-0123456789abcdefghijklmnopqrstuvwxyz";
    let arn = secrets
        .create_secret()
        .name(unique("hash-key"))
        .secret_string(key)
        .send()
        .await
        .expect("the secret")
        .arn
        .expect("its ARN");
    let settings = Settings::from_map(&variables(&arn)).expect("the template's variables");
    assert!(settings.hash_key.is_empty(), "the environment holds no key");
    let app = App::start(settings, &sdk, None)
        .await
        .expect("the function starts");
    assert_eq!(app.service.config().hash_key, key.as_bytes());

    // A secret that cannot be read stops the start, naming it.
    let missing = arn.replace("hash-key", "missing");
    let settings = Settings::from_map(&variables(&missing)).expect("settings");
    match App::start(settings, &sdk, None).await {
        Err(SettingsError::Secret { arn, .. }) => assert_eq!(arn, missing),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("started without its key"),
    }
}
