//! Where the deployment keeps raw inbound mail: the campaign's owner
//! and the sender account's owner may read a reply's raw message for as long
//! as it is kept, and erasure deletes it where it can.

use async_trait::async_trait;
use sha2::{Digest, Sha256};

/// A raw message looked up by its `raw_ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawMessage {
    /// The message's bytes.
    Kept(Vec<u8>),
    /// No longer kept (expired or erased), or never kept here.
    Gone,
    /// Kept where this process cannot read it: AWS's inbound bucket, which
    /// only the inbound function reads (its S3 client stays out of the API's
    /// binary).
    Elsewhere,
}

/// The raw-mail store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the raw mail store failed: {0}")]
pub struct RawMailError(pub String);

/// Raw inbound mail: kept by local mode in its data folder; in AWS by SES in
/// the inbound bucket (its `raw_ref` is `s3://bucket/key`), which this port
/// neither reads nor deletes ([`NoRawMail`]).
#[async_trait]
pub trait RawMail: Send + Sync {
    /// Keeps a message that arrived without a place of its own (local mode's
    /// `/dev/inbound`): its `raw_ref`, the same for the same bytes; `None`
    /// when this deployment keeps none this way.
    async fn keep(&self, raw: &[u8]) -> Result<Option<String>, RawMailError>;
    /// The message kept at `raw_ref`.
    async fn read(&self, raw_ref: &str) -> Result<RawMessage, RawMailError>;
    /// Deletes the message kept at `raw_ref` (erasure, R-3.6); nothing when
    /// it is gone or this deployment cannot delete it.
    async fn forget(&self, raw_ref: &str) -> Result<(), RawMailError>;
}

/// The raw mail of a deployment whose API keeps none itself: AWS (where SES
/// keeps it in the inbound bucket, out of this port's reach) and the tests.
pub struct NoRawMail;

#[async_trait]
impl RawMail for NoRawMail {
    async fn keep(&self, _raw: &[u8]) -> Result<Option<String>, RawMailError> {
        Ok(None)
    }

    async fn read(&self, raw_ref: &str) -> Result<RawMessage, RawMailError> {
        Ok(if raw_ref.starts_with("s3://") {
            RawMessage::Elsewhere
        } else {
            RawMessage::Gone
        })
    }

    async fn forget(&self, _raw_ref: &str) -> Result<(), RawMailError> {
        Ok(())
    }
}

/// A name for a raw message from its bytes (SHA-256, hex): a duplicate
/// delivery is kept once.
pub fn content_name(raw: &[u8]) -> String {
    Sha256::digest(raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
