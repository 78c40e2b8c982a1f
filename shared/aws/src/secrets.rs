//! Secrets read from Secrets Manager when a function starts (SPEC §15): the
//! environment carries the secret's ARN only, never its value, so
//! `GetFunctionConfiguration` shows nothing secret.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

/// The `SecretString` of the secret `arn` (its current version).
pub async fn secret_string(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
) -> Result<String, String> {
    let answer = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    answer
        .secret_string
        .ok_or_else(|| format!("the secret {arn} has no SecretString"))
}
