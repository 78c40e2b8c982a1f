//! SNS HTTPS deliveries (SPEC §15): the SES-events and inbound endpoints also
//! take SNS's HTTPS deliveries (`/v1/webhooks/ses-events`,
//! `/v1/webhooks/inbound`), accepted only with a valid SNS signature.
//!
//! A delivery is accepted when all of these hold:
//! - `SignatureVersion` is `1` (SHA1withRSA) or `2` (SHA256withRSA), and the
//!   `Signature` verifies over the canonical string of the message type's
//!   fields (AWS' "Verifying the signatures of Amazon SNS messages");
//! - `SigningCertURL` is `https://sns.<region>.amazonaws.com/….pem` (or the
//!   `.amazonaws.com.cn` partition), with no user, port, query or fragment: the
//!   certificate can only come from SNS itself, so its key is trusted without a
//!   chain (TLS to that host is the chain). Certificates come through the
//!   [`CertificateSource`] port: an HTTPS fetch with a cache in AWS, an
//!   in-memory map in tests and local mode;
//! - `TopicArn` is one of the topics this deployment subscribed: SNS signs every
//!   topic's messages with the same key, so a valid signature alone only proves
//!   that *some* topic sent it;
//! - the certificate is within its validity period;
//! - `Timestamp` is at most an hour old (and at most five minutes ahead);
//! - the `MessageId` was not handled before ([`SeenMessages`]). The marker is
//!   written only once the delivery's handling succeeded: should it fail (the
//!   store unavailable, a timeout), SNS's retry of the same `MessageId` is
//!   handled, never refused as a replay and lost. Two copies arriving at once
//!   may both be handled; the handlers are idempotent (R-9.8: SES' feedback
//!   id, the inbound message's own marker), so nothing changes twice.
//!
//! A `SubscriptionConfirmation` is verified the same way; with a
//! [`SubscriptionConfirmer`] (in AWS: `ConfirmSubscription` through the SNS
//! API, in the topic's region) it is confirmed with its `Token`, otherwise
//! answered with the `SubscribeURL` to visit. Nothing here fetches that URL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::{Map, Value};
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode};

use crate::error::Error;
use crate::ports::Store;
use crate::service::Service;
use crate::usecases::markers;
use crate::usecases::returns::inbound::{InboundResult, Verdicts};
use crate::usecases::returns::ses_events::SesOutcome;

/// How old a delivery's `Timestamp` may be.
pub const MAX_AGE: Duration = Duration::hours(1);
/// How far ahead of our clock a `Timestamp` may be.
pub const MAX_SKEW: Duration = Duration::minutes(5);

/// Where signing certificates come from. In AWS: an HTTPS GET of the URL
/// (already checked by [`trusted_certificate_url`]) with a cache, an adapter of
/// the Lambda functions; here: [`InMemoryCertificates`].
#[async_trait]
pub trait CertificateSource: Send + Sync {
    /// The PEM certificate published at `url`.
    async fn certificate_pem(&self, url: &str) -> Result<String, String>;
}

/// Certificates by URL, for tests and for deployments that pin them.
#[derive(Default)]
pub struct InMemoryCertificates {
    pems: Mutex<HashMap<String, String>>,
}

impl InMemoryCertificates {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&self, url: impl Into<String>, pem: impl Into<String>) {
        self.pems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.into(), pem.into());
    }
}

#[async_trait]
impl CertificateSource for InMemoryCertificates {
    async fn certificate_pem(&self, url: &str) -> Result<String, String> {
        self.pems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .cloned()
            .ok_or_else(|| format!("no certificate is known at {url}"))
    }
}

/// Confirms a verified subscription through the SNS API (§15), never by
/// fetching a URL taken from the message.
#[async_trait]
pub trait SubscriptionConfirmer: Send + Sync {
    /// Confirms the subscription to `topic_arn` with `token`; the subscription's ARN.
    async fn confirm(&self, topic_arn: &str, token: &str) -> Result<String, String>;
}

/// The replay check: which deliveries were handled, kept until they could
/// no longer pass the age check.
#[async_trait]
pub trait SeenMessages: Send + Sync {
    /// Whether `key` was marked handled and its marker has not expired by `now`.
    async fn seen(&self, key: &str, now: DateTime<Utc>) -> Result<bool, String>;
    /// Marks `key` handled until `expires_at` (marking twice is no error).
    async fn mark(&self, key: &str, expires_at: DateTime<Utc>) -> Result<(), String>;
}

/// The store's expiring records as the replay markers of one webhook route:
/// a delivery posted to the wrong route never marks it for its own.
struct StoreMarkers<'a> {
    store: &'a dyn Store,
    route: Webhook,
}

impl StoreMarkers<'_> {
    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.route.name())
    }
}

#[async_trait]
impl SeenMessages for StoreMarkers<'_> {
    async fn seen(&self, key: &str, now: DateTime<Utc>) -> Result<bool, String> {
        markers::is_marked(self.store, &self.key(key), now)
            .await
            .map_err(|e| e.to_string())
    }

    async fn mark(&self, key: &str, expires_at: DateTime<Utc>) -> Result<(), String> {
        markers::mark(self.store, &self.key(key), expires_at)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The three SNS message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnsKind {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl SnsKind {
    fn parse(s: &str) -> Option<SnsKind> {
        match s {
            "Notification" => Some(SnsKind::Notification),
            "SubscriptionConfirmation" => Some(SnsKind::SubscriptionConfirmation),
            "UnsubscribeConfirmation" => Some(SnsKind::UnsubscribeConfirmation),
            _ => None,
        }
    }

    /// The fields signed, in the order of the canonical string.
    fn signed_fields(self) -> &'static [&'static str] {
        match self {
            SnsKind::Notification => &[
                "Message",
                "MessageId",
                "Subject",
                "Timestamp",
                "TopicArn",
                "Type",
            ],
            _ => &[
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            ],
        }
    }
}

/// A verified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsMessage {
    pub kind: SnsKind,
    pub message_id: String,
    pub topic_arn: String,
    pub message: String,
    pub subject: Option<String>,
    pub timestamp: DateTime<Utc>,
    /// For confirmations: the URL to visit to confirm the subscription.
    pub subscribe_url: Option<String>,
    /// For confirmations: the token `ConfirmSubscription` takes.
    pub token: Option<String>,
}

/// The two SNS webhook routes; each keeps its own replay markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Webhook {
    /// `/v1/webhooks/ses-events`.
    SesEvents,
    /// `/v1/webhooks/inbound`.
    Inbound,
}

impl Webhook {
    fn name(self) -> &'static str {
        match self {
            Webhook::SesEvents => "ses-events",
            Webhook::Inbound => "inbound",
        }
    }
}

/// Whether an SNS `Message` is an SES receipt notification (mail received).
fn is_receipt(message: &str) -> bool {
    serde_json::from_str::<Value>(message)
        .ok()
        .and_then(|v| {
            v.get("notificationType")
                .and_then(Value::as_str)
                .map(|t| t == "Received")
        })
        .unwrap_or(false)
}

/// The replay marker's key of one delivery.
fn replay_key(topic_arn: &str, message_id: &str) -> String {
    format!("sns:{topic_arn}:{message_id}")
}

impl SnsMessage {
    /// Marks this delivery handled, so that a replay of it is refused until
    /// it could no longer pass the age check anyway.
    pub async fn mark_handled(&self, seen: &dyn SeenMessages) -> Result<(), SnsError> {
        seen.mark(
            &replay_key(&self.topic_arn, &self.message_id),
            self.timestamp + MAX_AGE + MAX_SKEW,
        )
        .await
        .map_err(SnsError::Unavailable)
    }
}

/// Why a delivery is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnsError {
    #[error("not an SNS message: {0}")]
    Malformed(String),
    #[error("unsupported SignatureVersion {0:?} (1 or 2)")]
    UnsupportedVersion(String),
    #[error("the signing certificate URL is not an SNS one: {0}")]
    UntrustedCertificateUrl(String),
    #[error("the signing certificate cannot be used: {0}")]
    Certificate(String),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the topic {0} is not one this service subscribed to")]
    UnknownTopic(String),
    #[error("the message is too old or too far ahead (Timestamp {0})")]
    Stale(String),
    #[error("the message {0} was accepted before (a replay)")]
    Replayed(String),
    #[error("the replay check failed: {0}")]
    Unavailable(String),
}

impl From<SnsError> for Error {
    fn from(e: SnsError) -> Self {
        match e {
            SnsError::Malformed(_) => Error::Malformed(e.to_string()),
            SnsError::Replayed(_) => Error::Conflict(e.to_string()),
            SnsError::Unavailable(_) => Error::Internal(e.to_string()),
            _ => Error::Unauthenticated(e.to_string()),
        }
    }
}

/// Whether `url` is an SNS signing certificate URL:
/// `https://sns.<region>.amazonaws.com/<path>.pem`, or
/// `https://sns.cn-<…>.amazonaws.com.cn/<path>.pem` in the China partition,
/// nothing else (§15). The host is exactly SNS' regional endpoint: an S3
/// bucket named `sns` (`sns.s3.amazonaws.com`) or a legacy `sns.s3-…` name is
/// not SNS, so a region must look like one (`us-east-1`, `us-gov-west-1`).
pub fn trusted_certificate_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let Some((host, path)) = rest.split_once('/') else {
        return false;
    };
    let Some(endpoint) = host.strip_prefix("sns.") else {
        return false;
    };
    let region_ok = match endpoint.strip_suffix(".amazonaws.com.cn") {
        Some(region) => region.starts_with("cn-") && is_region(region),
        None => endpoint
            .strip_suffix(".amazonaws.com")
            .is_some_and(|region| !region.starts_with("cn-") && is_region(region)),
    };
    let path_ok = path.ends_with(".pem")
        && !path.contains(['?', '#', '\\', '@'])
        && path.bytes().all(|b| b.is_ascii_graphic());
    region_ok && path_ok
}

/// An AWS region name: a two-letter area, optional partition words, a
/// direction and a number (`eu-central-1`, `us-gov-west-1`, `cn-northwest-1`).
fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let [area, middle @ .., number] = parts.as_slice() else {
        return false;
    };
    area.len() == 2
        && area.bytes().all(|b| b.is_ascii_lowercase())
        && (1..=3).contains(&middle.len())
        && middle
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The string SNS signs: `Name\nvalue\n` for each signed field present, in order.
pub fn canonical_string(kind: SnsKind, fields: &Map<String, Value>) -> Result<String, SnsError> {
    let mut out = String::new();
    for name in kind.signed_fields() {
        match fields.get(*name) {
            Some(Value::String(value)) => {
                out.push_str(name);
                out.push('\n');
                out.push_str(value);
                out.push('\n');
            }
            // Only a notification's Subject is optional.
            None | Some(Value::Null) if *name == "Subject" => {}
            _ => return Err(SnsError::Malformed(format!("`{name}` is missing"))),
        }
    }
    Ok(out)
}

fn text(fields: &Map<String, Value>, name: &str) -> Result<String, SnsError> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| SnsError::Malformed(format!("`{name}` is missing")))
}

/// Verifies SNS deliveries for the topics this deployment subscribed.
pub struct SnsVerifier {
    certificates: Arc<dyn CertificateSource>,
    topics: Vec<String>,
    confirmer: Option<Arc<dyn SubscriptionConfirmer>>,
}

impl SnsVerifier {
    pub fn new(
        certificates: Arc<dyn CertificateSource>,
        topics: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        SnsVerifier {
            certificates,
            topics: topics.into_iter().map(Into::into).collect(),
            confirmer: None,
        }
    }

    /// Confirms subscription confirmations through `confirmer` instead of
    /// answering their URL.
    pub fn with_confirmer(mut self, confirmer: Arc<dyn SubscriptionConfirmer>) -> Self {
        self.confirmer = Some(confirmer);
        self
    }

    /// The topics whose deliveries are accepted.
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// The handshake answer of a verified confirmation: confirmed through the
    /// confirmer when there is one; otherwise the URL to visit.
    async fn handshake(&self, m: &SnsMessage) -> Result<Option<WebhookOutcome>, Error> {
        let (Some(confirmer), SnsKind::SubscriptionConfirmation) = (&self.confirmer, m.kind) else {
            return Ok(handshake(m));
        };
        let token = m
            .token
            .as_deref()
            .ok_or_else(|| Error::Malformed("`Token` is missing".into()))?;
        let subscription_arn = confirmer
            .confirm(&m.topic_arn, token)
            .await
            .map_err(|why| Error::Unavailable {
                detail: format!(
                    "the subscription to {} was not confirmed: {why}",
                    m.topic_arn
                ),
                retry_after_s: 60,
            })?;
        Ok(Some(WebhookOutcome::Confirmed {
            topic_arn: m.topic_arn.clone(),
            subscription_arn,
        }))
    }

    /// Verifies one delivery received at `now` (module docs), refusing one
    /// whose `MessageId` was handled before; marks nothing
    /// ([`SnsMessage::mark_handled`] does, once its handling succeeded).
    pub async fn verify(
        &self,
        body: &[u8],
        now: DateTime<Utc>,
        seen: &dyn SeenMessages,
    ) -> Result<SnsMessage, SnsError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| SnsError::Malformed(e.to_string()))?;
        let Value::Object(fields) = value else {
            return Err(SnsError::Malformed("not a JSON object".into()));
        };
        let kind_name = text(&fields, "Type")?;
        let kind = SnsKind::parse(&kind_name)
            .ok_or_else(|| SnsError::Malformed(format!("unknown Type {kind_name:?}")))?;
        let version = text(&fields, "SignatureVersion")?;
        let cert_url = text(&fields, "SigningCertURL")?;
        if !trusted_certificate_url(&cert_url) {
            return Err(SnsError::UntrustedCertificateUrl(cert_url));
        }
        // The cheap checks come before any certificate is fetched, so an
        // unsigned body naming a foreign topic or an old time costs no fetch.
        let topic_arn = text(&fields, "TopicArn")?;
        if !self.topics.contains(&topic_arn) {
            return Err(SnsError::UnknownTopic(topic_arn));
        }
        let stamp = text(&fields, "Timestamp")?;
        let timestamp = DateTime::parse_from_rfc3339(&stamp)
            .map_err(|_| SnsError::Malformed(format!("Timestamp {stamp:?} is not RFC 3339")))?
            .with_timezone(&Utc);
        if timestamp < now - MAX_AGE || timestamp > now + MAX_SKEW {
            return Err(SnsError::Stale(stamp));
        }
        if !matches!(version.as_str(), "1" | "2") {
            return Err(SnsError::UnsupportedVersion(version));
        }
        let signature = STANDARD
            .decode(text(&fields, "Signature")?.trim())
            .map_err(|_| SnsError::BadSignature)?;
        let canonical = canonical_string(kind, &fields)?;
        let key = self.public_key(&cert_url, now).await?;
        let signature =
            Signature::try_from(signature.as_slice()).map_err(|_| SnsError::BadSignature)?;
        let verified = if version == "1" {
            VerifyingKey::<sha1::Sha1>::new(key).verify(canonical.as_bytes(), &signature)
        } else {
            VerifyingKey::<sha2::Sha256>::new(key).verify(canonical.as_bytes(), &signature)
        };
        verified.map_err(|_| SnsError::BadSignature)?;

        let message_id = text(&fields, "MessageId")?;
        if seen
            .seen(&replay_key(&topic_arn, &message_id), now)
            .await
            .map_err(SnsError::Unavailable)?
        {
            return Err(SnsError::Replayed(message_id));
        }
        let (subscribe_url, token) = match kind {
            SnsKind::Notification => (None, None),
            _ => (
                Some(text(&fields, "SubscribeURL")?),
                Some(text(&fields, "Token")?),
            ),
        };
        Ok(SnsMessage {
            kind,
            message_id,
            topic_arn,
            message: text(&fields, "Message")?,
            subject: fields
                .get("Subject")
                .and_then(Value::as_str)
                .map(str::to_owned),
            timestamp,
            subscribe_url,
            token,
        })
    }

    /// The RSA key of the certificate at `url`, if the certificate is valid now.
    async fn public_key(&self, url: &str, now: DateTime<Utc>) -> Result<RsaPublicKey, SnsError> {
        let pem = self
            .certificates
            .certificate_pem(url)
            .await
            .map_err(SnsError::Certificate)?;
        let cert = Certificate::from_pem(pem.as_bytes())
            .map_err(|e| SnsError::Certificate(format!("not an X.509 certificate: {e}")))?;
        let validity = &cert.tbs_certificate.validity;
        let now_unix = std::time::Duration::from_secs(u64::try_from(now.timestamp()).unwrap_or(0));
        if now_unix < validity.not_before.to_unix_duration()
            || now_unix > validity.not_after.to_unix_duration()
        {
            return Err(SnsError::Certificate("outside its validity period".into()));
        }
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| SnsError::Certificate(e.to_string()))?;
        RsaPublicKey::from_public_key_der(&spki)
            .map_err(|e| SnsError::Certificate(format!("not an RSA key: {e}")))
    }
}

/// What a webhook delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// A subscription handshake: the operator (or the deployment) must visit this URL.
    Confirm {
        topic_arn: String,
        subscribe_url: String,
    },
    /// A subscription handshake confirmed through the SNS API.
    Confirmed {
        topic_arn: String,
        subscription_arn: String,
    },
    Unsubscribed {
        topic_arn: String,
    },
    SesEvent(SesOutcome),
    Inbound(InboundResult),
}

/// An SES receipt notification (the inbound rule's SNS action): the raw
/// message and the verdicts trusts the sender on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub raw: Vec<u8>,
    pub verdicts: Verdicts,
}

/// Reads the `Message` of an inbound notification: `content` in Base64 (or
/// UTF-8) when the receipt rule's action is SNS; a message stored in S3 is the
/// inbound function's to read, so it is refused here with 422.
pub fn receipt(message: &str) -> Result<Receipt, Error> {
    let v: Value = serde_json::from_str(message)
        .map_err(|e| Error::invalid("Message", format!("not SES receipt JSON: {e}")))?;
    let receipt = v
        .get("receipt")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::invalid("Message", "no `receipt` object"))?;
    let passed = |name: &str| {
        receipt
            .get(name)
            .and_then(|verdict| verdict.get("status"))
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("PASS"))
    };
    let verdicts = Verdicts {
        // SPF and DKIM vouch for some domain, not for the From.
        sender_authenticated: passed("dmarcVerdict"),
    };
    let action = receipt.get("action").and_then(Value::as_object);
    let action_type = action
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let content = v.get("content").and_then(Value::as_str);
    let Some(content) = content else {
        let stored =
            action.is_some_and(|a| a.contains_key("bucketName") || a.contains_key("objectKey"));
        if action_type.eq_ignore_ascii_case("S3") || stored {
            return Err(Error::invalid(
                "Message",
                "the message was stored in S3 (receipt.action.bucketName/objectKey); the inbound function reads S3, this webhook takes only the SNS action's content",
            ));
        }
        return Err(Error::invalid("Message", "no `content`"));
    };
    let encoding = action
        .and_then(|a| a.get("encoding"))
        .and_then(Value::as_str)
        .unwrap_or("UTF8");
    let raw = if encoding.eq_ignore_ascii_case("BASE64") {
        STANDARD
            .decode(content.trim())
            .map_err(|_| Error::invalid("Message", "`content` is not Base64"))?
    } else {
        content.as_bytes().to_vec()
    };
    Ok(Receipt { raw, verdicts })
}

impl Service {
    /// Verifies an SNS delivery to `route` with this service's clock and
    /// that route's replay markers.
    pub async fn verify_sns(
        &self,
        verifier: &SnsVerifier,
        body: &[u8],
        route: Webhook,
    ) -> Result<SnsMessage, Error> {
        Ok(verifier
            .verify(body, self.now(), &self.markers(route))
            .await?)
    }

    fn markers(&self, route: Webhook) -> StoreMarkers<'_> {
        StoreMarkers {
            store: self.store.as_ref(),
            route,
        }
    }

    /// `POST /v1/webhooks/ses-events`: a verified SNS delivery of SES events.
    pub async fn ses_events_webhook(
        &self,
        verifier: &SnsVerifier,
        body: &[u8],
    ) -> Result<WebhookOutcome, Error> {
        let m = self.verify_sns(verifier, body, Webhook::SesEvents).await?;
        let outcome = match verifier.handshake(&m).await? {
            Some(outcome) => outcome,
            None if is_receipt(&m.message) => {
                return Err(Error::invalid(
                    "Message",
                    "an SES receipt (a received message) belongs on /v1/webhooks/inbound",
                ));
            }
            // The envelope is what the SES events handler parses.
            None => WebhookOutcome::SesEvent(self.returns().handle_ses_notification(body).await?),
        };
        self.mark_sns_handled(&m, Webhook::SesEvents).await?;
        Ok(outcome)
    }

    /// After a delivery's handling succeeded: its replays to `route` are refused from now on.
    async fn mark_sns_handled(&self, m: &SnsMessage, route: Webhook) -> Result<(), Error> {
        Ok(m.mark_handled(&self.markers(route)).await?)
    }

    /// `POST /v1/webhooks/inbound`: a verified SNS delivery of an SES receipt.
    pub async fn inbound_webhook(
        &self,
        verifier: &SnsVerifier,
        body: &[u8],
    ) -> Result<WebhookOutcome, Error> {
        let m = self.verify_sns(verifier, body, Webhook::Inbound).await?;
        let outcome = match verifier.handshake(&m).await? {
            Some(outcome) => outcome,
            None => {
                let r = receipt(&m.message)?;
                WebhookOutcome::Inbound(self.returns().handle_inbound(&r.raw, r.verdicts).await?)
            }
        };
        self.mark_sns_handled(&m, Webhook::Inbound).await?;
        Ok(outcome)
    }
}

fn handshake(m: &SnsMessage) -> Option<WebhookOutcome> {
    match m.kind {
        SnsKind::Notification => None,
        SnsKind::SubscriptionConfirmation => Some(WebhookOutcome::Confirm {
            topic_arn: m.topic_arn.clone(),
            subscribe_url: m.subscribe_url.clone().unwrap_or_default(),
        }),
        SnsKind::UnsubscribeConfirmation => Some(WebhookOutcome::Unsubscribed {
            topic_arn: m.topic_arn.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    //! Signatures made with a key and a self-signed certificate generated here.

    use super::*;
    use rsa::RsaPrivateKey;
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use serde_json::json;
    use std::collections::HashSet;
    use std::str::FromStr;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::der::EncodePem;
    use x509_cert::der::pem::LineEnding;
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::spki::SubjectPublicKeyInfoOwned;
    use x509_cert::time::Validity;

    const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:outreach-ses-events";

    /// The SNS test key and its certificate, made once (RSA key generation is slow unoptimised).
    fn key_and_cert() -> &'static (RsaPrivateKey, String) {
        static KEY: std::sync::OnceLock<(RsaPrivateKey, String)> = std::sync::OnceLock::new();
        KEY.get_or_init(|| certificate_for(1024))
    }

    fn certificate_for(bits: usize) -> (RsaPrivateKey, String) {
        let key = RsaPrivateKey::new(&mut rand_core::OsRng, bits).expect("an RSA key");
        let signer = SigningKey::<sha2::Sha256>::new(key.clone());
        let spki = SubjectPublicKeyInfoOwned::from_key(key.to_public_key()).expect("spki");
        let builder = CertificateBuilder::new(
            Profile::Root,
            SerialNumber::from(7u32),
            Validity::from_now(std::time::Duration::from_secs(3600 * 24 * 365 * 20))
                .expect("validity"),
            Name::from_str("CN=sns.amazonaws.com").expect("name"),
            spki,
            &signer,
        )
        .expect("builder");
        let cert = builder
            .build::<rsa::pkcs1v15::Signature>()
            .expect("certificate");
        (key, cert.to_pem(LineEnding::LF).expect("pem"))
    }

    #[derive(Default)]
    struct Seen(Mutex<HashSet<String>>);

    #[async_trait]
    impl SeenMessages for Seen {
        async fn seen(&self, key: &str, _: DateTime<Utc>) -> Result<bool, String> {
            Ok(self.0.lock().unwrap().contains(key))
        }
        async fn mark(&self, key: &str, _: DateTime<Utc>) -> Result<(), String> {
            self.0.lock().unwrap().insert(key.to_owned());
            Ok(())
        }
    }

    fn verifier() -> SnsVerifier {
        let certs = InMemoryCertificates::new();
        certs.insert(CERT_URL, key_and_cert().1.clone());
        SnsVerifier::new(Arc::new(certs), [TOPIC])
    }

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    /// A signed delivery of `kind` with `version`, signed by `key`.
    fn signed(
        kind: &str,
        version: &str,
        mut fields: Map<String, Value>,
        key: &RsaPrivateKey,
    ) -> Value {
        fields.insert("Type".into(), kind.into());
        fields
            .entry("MessageId")
            .or_insert("3d7c1a0b-0000-4000-8000-000000000001".into());
        fields.entry("TopicArn").or_insert(TOPIC.into());
        fields.entry("Timestamp").or_insert(
            now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        fields.insert("SignatureVersion".into(), version.into());
        fields.entry("SigningCertURL").or_insert(CERT_URL.into());
        let canonical = canonical_string(SnsKind::parse(kind).unwrap(), &fields).unwrap();
        let signature = match version {
            "1" => SigningKey::<sha1::Sha1>::new(key.clone())
                .sign(canonical.as_bytes())
                .to_vec(),
            _ => SigningKey::<sha2::Sha256>::new(key.clone())
                .sign(canonical.as_bytes())
                .to_vec(),
        };
        fields.insert("Signature".into(), STANDARD.encode(signature).into());
        Value::Object(fields)
    }

    fn notification(version: &str) -> Value {
        let fields = json!({"Message": "{\"eventType\":\"Delivery\"}", "Subject": "SES event"});
        signed(
            "Notification",
            version,
            fields.as_object().unwrap().clone(),
            &key_and_cert().0,
        )
    }

    async fn verify(v: &Value) -> Result<SnsMessage, SnsError> {
        verifier()
            .verify(v.to_string().as_bytes(), now(), &Seen::default())
            .await
    }

    #[tokio::test]
    async fn signature_versions_1_and_2_verify() {
        for version in ["1", "2"] {
            let m = verify(&notification(version)).await.unwrap();
            assert_eq!(m.kind, SnsKind::Notification);
            assert_eq!(m.subject.as_deref(), Some("SES event"));
        }
        // Without the optional Subject too.
        let fields = json!({"Message": "x"});
        let v = signed(
            "Notification",
            "2",
            fields.as_object().unwrap().clone(),
            &key_and_cert().0,
        );
        assert!(verify(&v).await.is_ok());
    }

    #[tokio::test]
    async fn a_subscription_confirmation_names_its_subscribe_url() {
        let url =
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=t";
        let fields =
            json!({"Message": "You have chosen to subscribe", "SubscribeURL": url, "Token": "t"});
        let v = signed(
            "SubscriptionConfirmation",
            "1",
            fields.as_object().unwrap().clone(),
            &key_and_cert().0,
        );
        let m = verify(&v).await.unwrap();
        assert_eq!(m.kind, SnsKind::SubscriptionConfirmation);
        assert_eq!(m.subscribe_url.as_deref(), Some(url));
        assert_eq!(
            handshake(&m),
            Some(WebhookOutcome::Confirm {
                topic_arn: TOPIC.into(),
                subscribe_url: url.into()
            })
        );
    }

    #[tokio::test]
    async fn altered_fields_are_refused() {
        for field in ["Message", "MessageId", "Subject", "Timestamp", "TopicArn"] {
            let mut v = notification("2");
            let value = v[field].as_str().unwrap().to_owned();
            v[field] = format!("{value}x").into();
            let err = verify(&v).await.unwrap_err();
            // An altered topic is refused before the signature is checked.
            assert!(
                matches!(
                    err,
                    SnsError::BadSignature | SnsError::Malformed(_) | SnsError::UnknownTopic(_)
                ),
                "{field}: {err:?}"
            );
        }
        // The type changes which fields are signed.
        let mut v = notification("1");
        v["Type"] = "SubscriptionConfirmation".into();
        assert!(verify(&v).await.is_err());
    }

    #[tokio::test]
    async fn forged_signatures_are_refused() {
        let mut v = notification("2");
        v["Signature"] = STANDARD.encode([7u8; 128]).into();
        assert_eq!(verify(&v).await.unwrap_err(), SnsError::BadSignature);
        v["Signature"] = "not base64 !!".into();
        assert_eq!(verify(&v).await.unwrap_err(), SnsError::BadSignature);
        // Signed by another key than the certificate's.
        let other = RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap();
        let fields = json!({"Message": "x"});
        let v = signed(
            "Notification",
            "2",
            fields.as_object().unwrap().clone(),
            &other,
        );
        assert_eq!(verify(&v).await.unwrap_err(), SnsError::BadSignature);
        // A version-1 signature presented as version 2.
        let mut v = notification("1");
        v["SignatureVersion"] = "2".into();
        assert_eq!(verify(&v).await.unwrap_err(), SnsError::BadSignature);
        let mut v = notification("1");
        v["SignatureVersion"] = "3".into();
        assert!(matches!(
            verify(&v).await.unwrap_err(),
            SnsError::UnsupportedVersion(_) | SnsError::BadSignature
        ));
    }

    #[test]
    fn only_sns_hosts_may_serve_the_certificate() {
        for ok in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns.eu-central-1.amazonaws.com/x/y.pem",
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
            "https://sns.cn-northwest-1.amazonaws.com.cn/x.pem",
            "https://sns.us-gov-west-1.amazonaws.com/x.pem",
            "https://sns.ap-southeast-2.amazonaws.com/x.pem",
        ] {
            assert!(trusted_certificate_url(ok), "{ok}");
        }
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.amazonaws.com/x.pem",
            // An S3 bucket named `sns`, and legacy S3 endpoint names (§15).
            "https://sns.s3.amazonaws.com/x.pem",
            "https://sns.s3-us-west-2.amazonaws.com/x.pem",
            "https://sns.s3.us-west-2.amazonaws.com/x.pem",
            "https://sns.s3-external-1.amazonaws.com/x.pem",
            "https://sns.s3.amazonaws.com.cn/x.pem",
            "https://sns.us-east-1.amazonaws.com.cn/x.pem",
            "https://sns.cn-north-1.amazonaws.com/x.pem",
            "https://sns..amazonaws.com/x.pem",
            "https://sns.US-EAST-1.amazonaws.com/x.pem",
            "https://sns.us_east_1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com:8443/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com@evil.example/x.pem",
            "https://sns.us-east-1.amazonaws.com/x.pem?x=1",
            "https://sns.us-east-1.amazonaws.com/x.txt",
            "https://sns.us-east-1.amazonaws.com",
            "https://sqs.us-east-1.amazonaws.com/x.pem",
            "https://xsns.us-east-1.amazonaws.com/x.pem",
            "",
        ] {
            assert!(!trusted_certificate_url(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn an_untrusted_certificate_url_is_refused_before_any_fetch() {
        let mut v = notification("2");
        v["SigningCertURL"] = "https://evil.example/cert.pem".into();
        assert!(matches!(
            verify(&v).await.unwrap_err(),
            SnsError::UntrustedCertificateUrl(_)
        ));
        // A trusted host whose certificate is unknown (in AWS: a failed fetch).
        let mut v = notification("2");
        v["SigningCertURL"] = "https://sns.eu-west-1.amazonaws.com/other.pem".into();
        assert!(matches!(
            verify(&v).await.unwrap_err(),
            SnsError::Certificate(_) | SnsError::BadSignature
        ));
    }

    #[tokio::test]
    async fn other_topics_old_messages_and_replays_are_refused() {
        let fields =
            json!({"Message": "x", "TopicArn": "arn:aws:sns:us-east-1:999999999999:someone-else"});
        let v = signed(
            "Notification",
            "2",
            fields.as_object().unwrap().clone(),
            &key_and_cert().0,
        );
        assert!(matches!(
            verify(&v).await.unwrap_err(),
            SnsError::UnknownTopic(_)
        ));

        let old = (now() - Duration::minutes(61)).to_rfc3339();
        let fields = json!({"Message": "x", "Timestamp": old});
        let v = signed(
            "Notification",
            "2",
            fields.as_object().unwrap().clone(),
            &key_and_cert().0,
        );
        assert!(matches!(verify(&v).await.unwrap_err(), SnsError::Stale(_)));
        let ahead = (now() + Duration::minutes(30)).to_rfc3339();
        let fields = json!({"Message": "x", "Timestamp": ahead});
        let v = signed(
            "Notification",
            "2",
            fields.as_object().unwrap().clone(),
            &key_and_cert().0,
        );
        assert!(matches!(verify(&v).await.unwrap_err(), SnsError::Stale(_)));

        let seen = Seen::default();
        let v = notification("2");
        let body = v.to_string();
        let m = verifier()
            .verify(body.as_bytes(), now(), &seen)
            .await
            .expect("first delivery");
        // Until its handling succeeded and marked it, SNS's retry is taken
        // again (a failed handling never loses the event).
        assert!(
            verifier()
                .verify(body.as_bytes(), now(), &seen)
                .await
                .is_ok()
        );
        m.mark_handled(&seen).await.expect("marked");
        assert!(matches!(
            verifier()
                .verify(body.as_bytes(), now(), &seen)
                .await
                .unwrap_err(),
            SnsError::Replayed(_)
        ));
    }

    #[tokio::test]
    async fn malformed_bodies_are_refused() {
        for body in ["", "[]", "{}", "{\"Type\":\"Notification\"}", "not json"] {
            assert!(
                verifier()
                    .verify(body.as_bytes(), now(), &Seen::default())
                    .await
                    .is_err(),
                "{body}"
            );
        }
        let mut v = notification("2");
        v["Message"] = json!({"not": "a string"});
        assert!(verify(&v).await.is_err());
    }

    #[test]
    fn receipts_give_the_raw_message_and_verdicts() {
        let raw = "From: a@b.example\r\nTo: reply+t@reply.example\r\n\r\nHi";
        let sns_action = json!({
            "notificationType": "Received",
            "receipt": {"spfVerdict": {"status": "FAIL"}, "dkimVerdict": {"status": "PASS"},
                        "dmarcVerdict": {"status": "GRAY"},
                        "action": {"type": "SNS", "topicArn": TOPIC, "encoding": "BASE64"}},
            "content": STANDARD.encode(raw),
        });
        let r = receipt(&sns_action.to_string()).unwrap();
        assert_eq!(r.raw, raw.as_bytes());
        assert!(
            !r.verdicts.sender_authenticated,
            "R-9.6: DKIM passing for some domain does not vouch for the From"
        );
        let dmarc = json!({
            "receipt": {"spfVerdict": {"status": "FAIL"}, "dkimVerdict": {"status": "FAIL"},
                        "dmarcVerdict": {"status": "PASS"}, "action": {"type": "SNS", "encoding": "UTF8"}},
            "content": raw,
        });
        assert!(
            receipt(&dmarc.to_string())
                .unwrap()
                .verdicts
                .sender_authenticated
        );

        let failing = json!({
            "receipt": {"spfVerdict": {"status": "FAIL"}, "dkimVerdict": {"status": "FAIL"},
                        "dmarcVerdict": {"status": "FAIL"}, "action": {"type": "SNS", "encoding": "UTF8"}},
            "content": raw,
        });
        let r = receipt(&failing.to_string()).unwrap();
        assert_eq!(r.raw, raw.as_bytes());
        assert!(!r.verdicts.sender_authenticated);

        let s3 = json!({
            "receipt": {"action": {"type": "S3", "bucketName": "inbound", "objectKey": "k/1"}},
        });
        let err = receipt(&s3.to_string()).unwrap_err();
        assert_eq!(
            crate::http::problem::status(&err),
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        );
        assert!(err.to_string().contains("S3"), "{err}");
    }

    #[test]
    fn refusals_map_to_statuses() {
        use axum::http::StatusCode;
        assert_eq!(
            crate::http::problem::status(&Error::from(SnsError::BadSignature)),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            crate::http::problem::status(&Error::from(SnsError::Replayed("m".into()))),
            StatusCode::CONFLICT
        );
        assert_eq!(
            crate::http::problem::status(&Error::from(SnsError::Malformed("x".into()))),
            StatusCode::BAD_REQUEST
        );
    }
}
