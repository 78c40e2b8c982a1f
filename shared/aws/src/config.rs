//! The AWS clients of a process, built once from the environment's AWS
//! configuration (in Lambda: the function's role) and shared by every adapter.
//!
//! `OUTREACH_AWS_ENDPOINT`, or the SDK's own `AWS_ENDPOINT_URL`, points every
//! client at another endpoint: the emulator in tests.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
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

/// The AWS configuration of a Lambda function, from its environment alone:
/// the region (`AWS_REGION`, else `AWS_DEFAULT_REGION`), the credentials
/// Lambda puts there for the function's role (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), [`https_client`], and
/// [`ENDPOINT_VAR`] or the SDK's `AWS_ENDPOINT_URL` as the endpoint. It does
/// not run `aws_config`'s default chains (profile files, IMDS, container
/// credentials, web identity through STS, SSO), which Lambda never needs and
/// which weighed about 0.63 MB on every bootstrap (issue 20); the SDK clients
/// add their own defaults (retries, timeouts, identity cache, sleep, clock).
pub async fn load_config() -> SdkConfig {
    config_from(|name| std::env::var(name).ok())
}

/// [`load_config`] with the variables `var` answers (tests give their own).
/// Without the credentials variables the configuration has none, and every
/// call fails with the SDK's "no credentials" error.
pub fn config_from(var: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region.map(Region::new))
        .http_client(https_client());
    if let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        let token = var("AWS_SESSION_TOKEN");
        config = config.credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key,
            secret,
            token,
            None,
            "environment",
        )));
    }
    if let Some(endpoint) = var(ENDPOINT_VAR).or_else(|| var("AWS_ENDPOINT_URL")) {
        config = config.endpoint_url(endpoint);
    }
    config.build()
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
        ServiceClients {
            dynamodb: dynamodb_client(config, interceptors),
            sesv2: sesv2_client(config, interceptors),
            scheduler: scheduler_client(config, interceptors),
            region: config
                .region()
                .map(|r| r.as_ref().to_owned())
                .unwrap_or_else(|| "us-east-1".to_owned()),
        }
    }
}

/// A client of SDK crate `$sdk` from `$config`, with `$interceptors`.
macro_rules! client {
    ($sdk:ident, $config:expr, $interceptors:expr) => {{
        let mut b = $sdk::config::Builder::from($config);
        for interceptor in $interceptors {
            b.push_interceptor(interceptor.clone());
        }
        $sdk::Client::from_conf(b.build())
    }};
}

/// The DynamoDB client of [`ServiceClients`]. Each client has a function of
/// its own so that a function builds only the clients it calls: a client's
/// configuration and endpoint rules weigh on every bootstrap that builds one
/// (issue 20; `api` builds no SES client).
pub fn dynamodb_client(
    config: &SdkConfig,
    interceptors: &[SharedInterceptor],
) -> aws_sdk_dynamodb::Client {
    client!(aws_sdk_dynamodb, config, interceptors)
}

/// The SES v2 client of [`ServiceClients`].
pub fn sesv2_client(
    config: &SdkConfig,
    interceptors: &[SharedInterceptor],
) -> aws_sdk_sesv2::Client {
    client!(aws_sdk_sesv2, config, interceptors)
}

/// The EventBridge Scheduler client of [`ServiceClients`].
pub fn scheduler_client(
    config: &SdkConfig,
    interceptors: &[SharedInterceptor],
) -> aws_sdk_scheduler::Client {
    client!(aws_sdk_scheduler, config, interceptors)
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
