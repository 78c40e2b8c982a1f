//! Inbound mail as the SES receipt rule stored it: one raw RFC 5322 message per
//! S3 object (SPEC §15, R-9.6). SNS alone cannot carry a reply with a CV
//! attached, so the inbound handler reads the object named in the notification.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RawMessageError {
    /// No such object (already expired, or a notification for another bucket).
    #[error("no raw message at s3://{bucket}/{key}")]
    NotFound { bucket: String, key: String },
    #[error("could not read the raw message: {0}")]
    Unavailable(String),
}

pub struct S3RawMessages {
    client: Client,
}

impl S3RawMessages {
    pub fn new(client: Client) -> Self {
        S3RawMessages { client }
    }

    /// The bytes of the message stored at `bucket`/`key`.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, RawMessageError> {
        let out = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) if matches!(err.code(), Some("NoSuchKey" | "NoSuchBucket" | "NotFound")) => {
                return Err(RawMessageError::NotFound {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                });
            }
            Err(err) => {
                return Err(RawMessageError::Unavailable(
                    DisplayErrorContext(&err).to_string(),
                ));
            }
        };
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| RawMessageError::Unavailable(e.to_string()))?;
        Ok(body.into_bytes().to_vec())
    }
}
