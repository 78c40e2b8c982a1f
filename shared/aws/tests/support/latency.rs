//! A fixed latency added to every AWS call of a client, as a network in front
//! of the emulator would add it: the HTTP connector waits (asynchronously, so
//! concurrent calls wait together) before it sends each request.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
    http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

#[derive(Debug)]
struct Delayed {
    inner: SharedHttpConnector,
    delay: Duration,
}

impl HttpConnector for Delayed {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let delay = self.delay;
        HttpConnectorFuture::new(async move {
            tokio::time::sleep(delay).await;
            inner.call(request).await
        })
    }
}

/// The SDK's HTTPS client with `delay` added before each request.
pub fn delayed_client(delay: Duration) -> SharedHttpClient {
    let base = outreach_aws::config::https_client();
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Delayed {
            inner: base.http_connector(settings, components),
            delay,
        })
    })
}
