//! Public pages without a bearer token, where the URL's token is the proof: one-click unsubscribe (R-9.5, RFC 8058) and the confirmation links of a newly linked account (R-2.1).

use super::*;

/// The routes of this resource, each with its OpenAPI operation.
/// The unsubscribe page and its one-click POST (R-9.5): the `api` function's.
pub(super) fn unsubscribe_routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new().routes(routes!(unsubscribe_page, unsubscribe_one_click))
}

/// The confirmation and "this wasn't me" pages of a sender account's link
/// (R-2.1): the `api-accounts` function's, with the other account routes.
pub(super) fn account_link_routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(confirm_page, confirm_account))
        .routes(routes!(not_me_page, cancel_link))
}

const UNSUBSCRIBE_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Unsubscribe</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}
button{font-size:1rem;padding:.6rem 1.2rem;background:#1d4ed8;color:#fff;border:0;border-radius:.3rem;cursor:pointer}
button:focus{outline:3px solid #93c5fd}</style></head>
<body><main><h1>Stop these emails?</h1>
<p>You will not receive any more messages from this sender's organization, at any address.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form></main></body></html>"#;

const UNSUBSCRIBED_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<main><h1>You are unsubscribed</h1><p>No further messages will be sent to you.</p></main></body></html>"#;

fn token_shape_ok(token: &str) -> bool {
    (16..=128).contains(&token.len())
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The page of a confirmation mail's link (R-2.1): 404 unless the URL's token
/// has a token's shape and then `open`, the use case's answer for the link
/// (not asked for a malformed token), says it is open.
async fn link_page(
    token: &str,
    open: impl Future<Output = Result<bool, Error>>,
    page: &'static str,
) -> ApiResult {
    if !token_shape_ok(token) || !open.await? {
        return Err(Error::NotFound("confirmation link"));
    }
    Ok(axum::response::Html(page).into_response())
}

/// The page of the confirmation link mailed to a newly linked address (R-2.1).
///
/// Public: the token is the proof. Opening the link changes nothing (mail
/// scanners and link prefetchers follow GETs): the page's button posts.
#[utoipa::path(
    get,
    path = "/v1/email-accounts/confirm/{token}",
    tag = "email-accounts",
    params(("token" = String, Path, description = "The token of the confirmation link")),
    responses(
        (status = 200, description = "A page with a button that confirms the address", body = String, content_type = "text/html"),
        (status = 404, description = "Not an open confirmation link (unknown, used, replaced or expired)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn confirm_page(State(s): Svc, Path(token): Path<String>) -> ApiResult {
    link_page(
        &token,
        s.accounts().confirmation_link_open(&token, false),
        CONFIRM_PAGE,
    )
    .await
}

/// Confirms the address (R-2.1): single-use, for 24 hours, only the latest
/// link of the account. The account connects once the mail service has
/// verified the address too.
#[utoipa::path(
    post,
    path = "/v1/email-accounts/confirm/{token}",
    tag = "email-accounts",
    params(("token" = String, Path, description = "The token of the confirmation link")),
    responses(
        (status = 200, description = "A page saying the address is confirmed", body = String, content_type = "text/html"),
        (status = 404, description = "Not an open confirmation link (unknown, used, replaced or expired)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn confirm_account(State(s): Svc, Path(token): Path<String>) -> ApiResult {
    link_page(&token, s.accounts().confirm_account(&token), CONFIRMED_PAGE).await
}

/// The "this wasn't me" page of a confirmation mail (R-2.1), also its
/// `List-Unsubscribe` URL. Opening it changes nothing.
#[utoipa::path(
    get,
    path = "/v1/email-accounts/not-me/{token}",
    tag = "email-accounts",
    params(("token" = String, Path, description = "The cancel token of the confirmation mail")),
    responses(
        (status = 200, description = "A page with a button that cancels the pending link", body = String, content_type = "text/html"),
        (status = 404, description = "Not an open link", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn not_me_page(State(s): Svc, Path(token): Path<String>) -> ApiResult {
    link_page(
        &token,
        s.accounts().confirmation_link_open(&token, true),
        NOT_ME_PAGE,
    )
    .await
}

/// Cancels the pending link of the address (R-2.1, R-2.2): its owner says
/// they did not link it. Any form body is accepted (RFC 8058 one-click).
#[utoipa::path(
    post,
    path = "/v1/email-accounts/not-me/{token}",
    tag = "email-accounts",
    params(("token" = String, Path, description = "The cancel token of the confirmation mail")),
    responses(
        (status = 200, description = "A page saying the link is cancelled", body = String, content_type = "text/html"),
        (status = 404, description = "Not an open link", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn cancel_link(State(s): Svc, Path(token): Path<String>, _body: RawBody) -> ApiResult {
    link_page(&token, s.accounts().cancel_link(&token), CANCELLED_PAGE).await
}

const CONFIRM_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Confirm your sender address</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}
button{font-size:1rem;padding:.6rem 1.2rem;background:#1d4ed8;color:#fff;border:0;border-radius:.3rem;cursor:pointer}
button:focus{outline:3px solid #93c5fd}</style></head>
<body><main><h1>Confirm your sender address?</h1>
<p>Confirm only if you linked this address to send campaigns from it.</p>
<form method="post"><button type="submit">Confirm</button></form></main></body></html>"#;

const CONFIRMED_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Address confirmed</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<main><h1>Address confirmed</h1><p>Thank you. The account connects as soon as the mail service has verified it too.</p></main></body></html>"#;

const NOT_ME_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not you?</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}
button{font-size:1rem;padding:.6rem 1.2rem;background:#b91c1c;color:#fff;border:0;border-radius:.3rem;cursor:pointer}
button:focus{outline:3px solid #fca5a5}</style></head>
<body><main><h1>Did someone else link your address?</h1>
<p>Cancel the request, and nothing will be sent from your address.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">This wasn't me</button></form></main></body></html>"#;

const CANCELLED_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Request cancelled</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<main><h1>Request cancelled</h1><p>Your address is not linked. Nothing will be sent from it.</p></main></body></html>"#;

/// The unsubscribe page of a message's link (R-9.5).
///
/// Public: the token is the proof.
#[utoipa::path(
    get,
    path = "/v1/unsubscribe/{token}",
    tag = "unsubscribe",
    params(("token" = String, Path, description = "The token of the message's unsubscribe link")),
    responses(
        (status = 200, description = "A page with a button that posts the one-click form", body = String, content_type = "text/html"),
        (status = 404, description = "Not an unsubscribe token", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn unsubscribe_page(Path(token): Path<String>) -> ApiResult {
    if !token_shape_ok(&token) {
        return Err(Error::NotFound("unsubscribe link"));
    }
    Ok(axum::response::Html(UNSUBSCRIBE_PAGE).into_response())
}

/// One-click unsubscribe (RFC 8058, R-9.5).
///
/// Public: any form body is accepted, the token alone decides. Browsers
/// (`Accept: text/html`) get a page.
#[utoipa::path(
    post,
    path = "/v1/unsubscribe/{token}",
    tag = "unsubscribe",
    params(("token" = String, Path, description = "The token of the message's List-Unsubscribe URL")),
    request_body(
        description = "`List-Unsubscribe=One-Click`, as mail clients send it",
        content(
            ("application/x-www-form-urlencoded", example = json!("List-Unsubscribe=One-Click")),
            ("multipart/form-data"),
        ),
    ),
    responses(
        (status = 200, description = "Unsubscribed", content(
            (UnsubscribedView = "application/json"),
            (String = "text/html"),
        )),
        (status = 404, description = "Unknown unsubscribe token", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn unsubscribe_one_click(
    State(s): Svc,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
    _body: RawBody,
) -> ApiResult {
    if !token_shape_ok(&token) || !s.returns().unsubscribe(&token).await? {
        return Err(Error::NotFound("unsubscribe link"));
    }
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        Ok(axum::response::Html(UNSUBSCRIBED_PAGE).into_response())
    } else {
        ok(UnsubscribedView { unsubscribed: true })
    }
}
