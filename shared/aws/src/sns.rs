//! SNS HTTPS deliveries in AWS (SPEC §15): the signing certificate fetched
//! over HTTPS from exactly `sns.<region>.amazonaws.com` (or
//! `sns.cn-….amazonaws.com.cn`) and cached ([`HttpsCertificates`]), and a
//! `SubscriptionConfirmation` confirmed through the SNS API in the topic's
//! region ([`SnsSubscriptions`]), never by fetching a URL from the message.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sns::config::Region;
use aws_sdk_sns::error::DisplayErrorContext;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use outreach_app::sns::{CertificateSource, SubscriptionConfirmer, trusted_certificate_url};

/// An SNS signing certificate is about 2 KB; anything much larger is not one.
const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;
/// How long one fetch may take (connect, TLS, answer).
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Certificates kept; SNS rotates rarely and each rotation has a new URL.
const CACHE_ENTRIES: usize = 32;

/// SNS signing certificates, fetched over HTTPS (TLS verified against the
/// system's roots: TLS to SNS' own host is the certificate's chain) and kept
/// for the life of the execution environment.
pub struct HttpsCertificates {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    cache: Mutex<HashMap<String, String>>,
    /// Tests only: where certificate paths are fetched from instead of SNS.
    origin: Option<String>,
}

impl Default for HttpsCertificates {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpsCertificates {
    /// Fetches from SNS over HTTPS only.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// Tests only: fetches a trusted certificate URL's path from `origin`
    /// (`http://127.0.0.1:PORT`) instead of SNS; the URL is still checked first.
    #[cfg(feature = "test-certificate-origin")]
    pub fn served_from(origin: impl Into<String>) -> Self {
        Self::build(Some(origin.into().trim_end_matches('/').to_owned()))
    }

    fn build(origin: Option<String>) -> Self {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder.with_provider_and_native_roots(provider.clone()) {
            Ok(builder) => builder,
            Err(e) => {
                // Every fetch will fail TLS verification and say so.
                tracing::error!(error = %e, "no system root certificates: SNS certificates cannot be fetched");
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default TLS versions")
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
            }
        };
        let builder = if origin.is_some() {
            builder.https_or_http()
        } else {
            builder.https_only()
        };
        HttpsCertificates {
            client: Client::builder(TokioExecutor::new()).build(builder.enable_http1().build()),
            cache: Mutex::new(HashMap::new()),
            origin,
        }
    }

    async fn fetch(&self, url: &str) -> Result<String, String> {
        let target = match &self.origin {
            None => url.to_owned(),
            Some(origin) => {
                let path = url
                    .strip_prefix("https://")
                    .and_then(|rest| rest.split_once('/'))
                    .map(|(_, path)| path)
                    .unwrap_or_default();
                format!("{origin}/{path}")
            }
        };
        let uri: hyper::Uri = target
            .parse()
            .map_err(|e| format!("{url} is not a URI: {e}"))?;
        let request = hyper::Request::get(uri)
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("fetching {url} timed out"))?
            .map_err(|e| format!("fetching {url} failed: {e}"))?;
        // No redirect is followed: the certificate comes from that URL or not at all.
        if response.status() != hyper::StatusCode::OK {
            return Err(format!("fetching {url} answered {}", response.status()));
        }
        let body = tokio::time::timeout(
            FETCH_TIMEOUT,
            Limited::new(response.into_body(), MAX_CERTIFICATE_BYTES).collect(),
        )
        .await
        .map_err(|_| format!("reading {url} timed out"))?
        .map_err(|e| format!("reading {url} failed: {e}"))?
        .to_bytes();
        let pem = String::from_utf8(body.to_vec())
            .map_err(|_| format!("{url} did not serve a PEM certificate"))?;
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(format!("{url} did not serve a PEM certificate"));
        }
        Ok(pem)
    }

    fn cached(&self, url: &str) -> Option<String> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .cloned()
    }
}

#[async_trait]
impl CertificateSource for HttpsCertificates {
    async fn certificate_pem(&self, url: &str) -> Result<String, String> {
        // The verifier checks the URL before asking; checked again here, so
        // this source never fetches from anything but SNS.
        if !trusted_certificate_url(url) {
            return Err(format!("{url} is not an SNS signing certificate URL"));
        }
        if let Some(pem) = self.cached(url) {
            return Ok(pem);
        }
        let pem = self.fetch(url).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(url.to_owned(), pem.clone());
        Ok(pem)
    }
}

/// The region of an SNS topic ARN (`arn:aws:sns:eu-west-1:123456789012:name`).
pub fn topic_region(topic_arn: &str) -> Option<&str> {
    let parts: Vec<&str> = topic_arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "sns", region, account, name]
            if partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty() =>
        {
            Some(region)
        }
        _ => None,
    }
}

/// Confirms subscriptions with `ConfirmSubscription` and the message's token,
/// called in the topic's own region (§15).
pub struct SnsSubscriptions {
    config: SdkConfig,
}

impl SnsSubscriptions {
    /// Clients made from `config` (credentials, endpoint), in each topic's region.
    pub fn new(config: &SdkConfig) -> Self {
        SnsSubscriptions {
            config: config.clone(),
        }
    }
}

#[async_trait]
impl SubscriptionConfirmer for SnsSubscriptions {
    async fn confirm(&self, topic_arn: &str, token: &str) -> Result<String, String> {
        let region = topic_region(topic_arn)
            .ok_or_else(|| format!("{topic_arn} is not an SNS topic ARN"))?;
        let config = aws_sdk_sns::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        let answer = aws_sdk_sns::Client::from_conf(config)
            .confirm_subscription()
            .topic_arn(topic_arn)
            .token(token)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        answer
            .subscription_arn
            .ok_or_else(|| "ConfirmSubscription answered no SubscriptionArn".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_regions_come_from_well_formed_arns_only() {
        assert_eq!(
            topic_region("arn:aws:sns:eu-west-1:123456789012:outreach-events"),
            Some("eu-west-1")
        );
        assert_eq!(
            topic_region("arn:aws-cn:sns:cn-north-1:123456789012:t"),
            Some("cn-north-1")
        );
        for bad in [
            "",
            "arn:aws:sqs:eu-west-1:123456789012:q",
            "arn:aws:sns::123456789012:t",
            "arn:aws:sns:eu-west-1:1234:t",
            "arn:aws:sns:eu-west-1:123456789012:",
            "https://sns.eu-west-1.amazonaws.com/",
        ] {
            assert_eq!(topic_region(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn nothing_but_an_sns_certificate_url_is_fetched() {
        let source = HttpsCertificates::new();
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.s3.amazonaws.com/x.pem",
            "https://evil.example/x.pem",
            "https://sns.us-east-1.amazonaws.com/x.pem?a=b",
            "https://sns.us-east-1.amazonaws.com:444/x.pem",
        ] {
            let err = source.certificate_pem(bad).await.unwrap_err();
            assert!(
                err.contains("not an SNS signing certificate URL"),
                "{bad}: {err}"
            );
        }
    }
}
