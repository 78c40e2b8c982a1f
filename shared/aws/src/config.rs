//! The AWS clients of a process, built once from the default AWS configuration
//! (environment, profile or the Lambda role) and shared by every adapter.
//!
//! `OUTREACH_AWS_ENDPOINT`, or the SDK's own `AWS_ENDPOINT_URL`, points every
//! client at another endpoint: the emulator in tests.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::{SharedHttpClient, SharedInterceptor};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The project's own endpoint override, checked before the SDK's.
pub const ENDPOINT_VAR: &str = "OUTREACH_AWS_ENDPOINT";

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sesv2: aws_sdk_sesv2::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub s3: aws_sdk_s3::Client,
    /// The region the clients talk to (it names SES' Message-ID domain).
    pub region: String,
}

/// The HTTPS client of every AWS client: rustls on the `ring` crypto provider
/// rather than the SDK's default, `aws-lc-rs` (a large C library), for the
/// Lambda bootstraps' size: 0.56 MB less each (bootstrap size, issue 8). The
/// SDK crates are built without `default-https-client`, so every
/// configuration (`aws_config::defaults(..)`, tests included) must set this
/// client with `.http_client(https_client())`, or its clients fail with "no
/// HTTP client".
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Loads the default AWS configuration, on [`https_client`], honouring
/// [`ENDPOINT_VAR`].
pub async fn load_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client());
    if let Ok(endpoint) = std::env::var(ENDPOINT_VAR)
        && !endpoint.is_empty()
    {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

impl AwsClients {
    /// The clients of this process, from the default configuration.
    pub async fn from_env() -> Self {
        Self::new(&load_config().await, &[])
    }

    /// Clients from `config`; `interceptors` see every request of every client
    /// (tests count calls with one).
    pub fn new(config: &SdkConfig, interceptors: &[SharedInterceptor]) -> Self {
        let ServiceClients {
            dynamodb,
            sesv2,
            scheduler,
            region,
        } = ServiceClients::new(config, interceptors);
        AwsClients {
            dynamodb,
            sesv2,
            scheduler,
            s3: s3_client(config, interceptors),
            region,
        }
    }

    /// These clients but S3.
    pub fn service(&self) -> ServiceClients {
        ServiceClients {
            dynamodb: self.dynamodb.clone(),
            sesv2: self.sesv2.clone(),
            scheduler: self.scheduler.clone(),
            region: self.region.clone(),
        }
    }
}

/// [`AwsClients`] but S3: what the service's ports use. Only the inbound
/// function reads stored mail; the others build no S3 client ([`s3_client`]),
/// whose configuration and endpoint rules alone weigh on every bootstrap that
/// builds one (issue 20).
#[derive(Clone, Debug)]
pub struct ServiceClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sesv2: aws_sdk_sesv2::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    /// The region the clients talk to (it names SES' Message-ID domain).
    pub region: String,
}

impl ServiceClients {
    /// Clients from `config`; `interceptors` see every request of every client.
    pub fn new(config: &SdkConfig, interceptors: &[SharedInterceptor]) -> Self {
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(config);
        let mut sesv2 = aws_sdk_sesv2::config::Builder::from(config);
        let mut scheduler = aws_sdk_scheduler::config::Builder::from(config);
        for interceptor in interceptors {
            dynamodb.push_interceptor(interceptor.clone());
            sesv2.push_interceptor(interceptor.clone());
            scheduler.push_interceptor(interceptor.clone());
        }
        ServiceClients {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            sesv2: aws_sdk_sesv2::Client::from_conf(sesv2.build()),
            scheduler: aws_sdk_scheduler::Client::from_conf(scheduler.build()),
            region: config
                .region()
                .map(|r| r.as_ref().to_owned())
                .unwrap_or_else(|| "us-east-1".to_owned()),
        }
    }
}

/// The S3 client of [`AwsClients`]: stored inbound mail.
pub fn s3_client(config: &SdkConfig, interceptors: &[SharedInterceptor]) -> aws_sdk_s3::Client {
    // An emulator or a local endpoint has no per-bucket host names.
    let mut s3 =
        aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    for interceptor in interceptors {
        s3.push_interceptor(interceptor.clone());
    }
    aws_sdk_s3::Client::from_conf(s3.build())
}
