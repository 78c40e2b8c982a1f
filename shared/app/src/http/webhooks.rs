//! SNS HTTPS deliveries (§15): accepted only with a valid SNS signature (`crate::sns`).

use super::*;

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(ses_events_webhook))
        .routes(routes!(inbound_webhook))
}

/// The operations of [`routes`] from their annotations alone, without the
/// handlers (`api_doc`).
#[cfg(feature = "openapi")]
#[derive(utoipa::OpenApi)]
#[openapi(paths(ses_events_webhook, inbound_webhook))]
struct Doc;

#[cfg(feature = "openapi")]
pub(super) fn doc() -> utoipa::openapi::OpenApi {
    <Doc as utoipa::OpenApi>::openapi()
}

/// What an SNS webhook delivery did.
#[derive(Debug, Serialize, ToSchema)]
struct WebhookView {
    /// `confirm_subscription` (visit `subscribe_url`), `subscription_confirmed`
    /// (through the SNS API), `unsubscribed` or `processed`.
    outcome: String,
    /// The SNS topic of the delivery.
    topic_arn: Option<String>,
    /// For a subscription confirmation: the URL that must be visited to confirm it.
    #[serde(skip_serializing_if = "Option::is_none")]
    subscribe_url: Option<String>,
    /// For a subscription confirmed through the SNS API: its ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription_arn: Option<String>,
    /// For inbound mail: `reply`, `auto_reply`, `bounce` or `unmatched`.
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    /// For inbound mail: the enrollments it was matched to.
    #[serde(skip_serializing_if = "Option::is_none")]
    enrollment_ids: Option<Vec<String>>,
}

fn webhook_view(outcome: crate::sns::WebhookOutcome) -> WebhookView {
    use crate::sns::WebhookOutcome;
    let empty = WebhookView {
        outcome: "processed".into(),
        topic_arn: None,
        subscribe_url: None,
        subscription_arn: None,
        kind: None,
        enrollment_ids: None,
    };
    match outcome {
        WebhookOutcome::Confirm {
            topic_arn,
            subscribe_url,
        } => WebhookView {
            outcome: "confirm_subscription".into(),
            topic_arn: Some(topic_arn),
            subscribe_url: Some(subscribe_url),
            ..empty
        },
        WebhookOutcome::Confirmed {
            topic_arn,
            subscription_arn,
        } => WebhookView {
            outcome: "subscription_confirmed".into(),
            topic_arn: Some(topic_arn),
            subscription_arn: Some(subscription_arn),
            ..empty
        },
        WebhookOutcome::Unsubscribed { topic_arn } => WebhookView {
            outcome: "unsubscribed".into(),
            topic_arn: Some(topic_arn),
            ..empty
        },
        WebhookOutcome::SesEvent(_) => empty,
        WebhookOutcome::Inbound(r) => WebhookView {
            kind: Some(r.kind.to_owned()),
            enrollment_ids: Some(r.enrollment_ids.iter().map(ToString::to_string).collect()),
            ..empty
        },
    }
}

/// The verifier a composition root adds as an extension; without one (local
/// mode) the webhooks do not exist.
type Verifier = Option<axum::Extension<Arc<crate::sns::SnsVerifier>>>;

/// SES events delivered by an SNS HTTPS subscription (§15, R-9).
///
/// Public: the SNS signature is the proof (SignatureVersion 1 or 2, a certificate
/// of `sns.<region>.amazonaws.com`, a subscribed topic, at most an hour old, never
/// twice). A `SubscriptionConfirmation` is confirmed through the SNS API where the
/// deployment can (AWS), or answers the `SubscribeURL` to visit.
#[utoipa::path(
    post,
    path = "/v1/webhooks/ses-events",
    tag = "webhooks",
    request_body(
        description = "An SNS message as SNS posts it (`Notification` of an SES event, `SubscriptionConfirmation`, `UnsubscribeConfirmation`)",
        content(("text/plain"), ("application/json")),
    ),
    responses(
        (status = 200, description = "Verified and handled", body = WebhookView),
        (status = 400, description = "Not an SNS message", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The signature, certificate URL, topic or timestamp is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "This deployment takes no SNS deliveries (local mode)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A replay: this message was accepted before", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The SES event cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The subscription could not be confirmed through the SNS API", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn ses_events_webhook(
    State(s): Svc,
    verifier: Verifier,
    RawBody(body): RawBody,
) -> ApiResult {
    let Some(axum::Extension(verifier)) = verifier else {
        return Err(Error::NotFound("SNS webhook"));
    };
    ok(webhook_view(s.ses_events_webhook(&verifier, &body).await?))
}

/// Inbound mail delivered by an SNS HTTPS subscription of the SES receipt rule (§15, R-9.6).
///
/// Public: the SNS signature is the proof, as for SES events. The receipt's
/// Base64 `content` is the message (the SNS action); a message stored in S3 is
/// the inbound function's to read and answers 422.
#[utoipa::path(
    post,
    path = "/v1/webhooks/inbound",
    tag = "webhooks",
    request_body(
        description = "An SNS message as SNS posts it (`Notification` of an SES receipt, `SubscriptionConfirmation`, `UnsubscribeConfirmation`)",
        content(("text/plain"), ("application/json")),
    ),
    responses(
        (status = 200, description = "Verified and handled", body = WebhookView),
        (status = 400, description = "Not an SNS message", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The signature, certificate URL, topic or timestamp is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "This deployment takes no SNS deliveries (local mode)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A replay: this message was accepted before", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The receipt cannot be used (stored in S3, no content, not a message)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The subscription could not be confirmed through the SNS API", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn inbound_webhook(State(s): Svc, verifier: Verifier, RawBody(body): RawBody) -> ApiResult {
    let Some(axum::Extension(verifier)) = verifier else {
        return Err(Error::NotFound("SNS webhook"));
    };
    ok(webhook_view(s.inbound_webhook(&verifier, &body).await?))
}
