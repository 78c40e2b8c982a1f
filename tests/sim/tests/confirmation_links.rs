//! Proof of control of a sender address as AWS requires it (R-2.1), through
//! the real router and service on the embedded adapters with a scripted
//! mail-service identity: the confirmation link is single-use, expires after
//! 24 hours and is voided by a resend; a GET shows a page and only the POST
//! confirms; the mail's `List-Unsubscribe` is a "this wasn't me" link that
//! cancels the pending link; resends and pending links are limited (429 with
//! `Retry-After`); a resend starts the polling and the mail service's own
//! verification again (issue 16); a failed DMARC lookup refuses the link with
//! 503; local mode asks no DNS.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::model::{AccountStatus, EmailAccount};
use outreach_app::ports::{Clock, IdSource, Identities, IdentityError};
use outreach_app::{Config, Error, Ports, Service};
use outreach_domain::EmailAddress;
use outreach_domain::ids::{OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};
use tower::ServiceExt;

/// The mail service's view of identities, as a test scripts it.
#[derive(Default)]
struct ScriptedIdentities {
    verified: AtomicBool,
    prepared: AtomicUsize,
    released: AtomicUsize,
    dmarc_lookups: AtomicUsize,
}

#[async_trait]
impl Identities for ScriptedIdentities {
    async fn sendable(&self, _: &EmailAddress) -> Result<bool, IdentityError> {
        Ok(self.verified.load(Ordering::SeqCst))
    }
    async fn prepare(&self, _: &EmailAddress) -> Result<(), IdentityError> {
        self.prepared.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn release(&self, _: &EmailAddress) -> Result<(), IdentityError> {
        self.released.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn domain_verified(&self, _: &str) -> Result<bool, IdentityError> {
        Ok(false)
    }
    async fn dmarc_policy(&self, domain: &str) -> Result<Option<String>, IdentityError> {
        self.dmarc_lookups.fetch_add(1, Ordering::SeqCst);
        match domain {
            "down.example" => Err("the DNS lookup of _dmarc.down.example failed: SERVFAIL".into()),
            _ => Ok(Some("none".into())),
        }
    }
}

struct App {
    service: Arc<Service>,
    scheduler: Arc<LocalScheduler>,
    clock: Arc<LocalClock>,
    outbox: Arc<OutboxMailer>,
    identities: Arc<ScriptedIdentities>,
    who: Identity,
    _dir: tempfile::TempDir,
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn app(needs_proof: bool) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::in_memory().expect("db");
    let clock = Arc::new(LocalClock::manual(db.clone(), at("2026-12-01T14:00:00Z")));
    let ids: Arc<dyn IdSource> = Arc::new(RandomIds::default());
    let scheduler = Arc::new(LocalScheduler::new(db.clone()));
    let outbox = Arc::new(
        OutboxMailer::new(
            db.clone(),
            dir.path().join("outbox"),
            clock.clone(),
            ids.clone(),
        )
        .expect("outbox"),
    );
    let identities = Arc::new(ScriptedIdentities::default());
    let mut config = Config::local(3000);
    config.accounts_need_proof = needs_proof;
    let service = Service::new(
        Ports {
            store: Arc::new(SqliteStore::new(db)),
            scheduler: scheduler.clone(),
            mailer: outbox.clone(),
            clock: clock.clone(),
            ids,
            auth: Arc::new(Hs256Authenticator::new(b"confirmation-tests")),
            identities: identities.clone(),
            queue: scheduler.clone(),
        },
        config,
    );
    App {
        service,
        scheduler,
        clock,
        outbox,
        identities,
        who: Identity {
            org_id: OrgId::from("acme"),
            user_id: UserId::from("alice"),
            email: None,
            admin: false,
        },
        _dir: dir,
    }
}

/// The two links of a confirmation mail, and its `List-Unsubscribe` URL.
#[derive(Debug)]
struct Mail {
    confirm: String,
    not_me: String,
    list_unsubscribe: String,
}

impl App {
    async fn link(&self, address: &str) -> Result<EmailAccount, Error> {
        self.service
            .accounts()
            .link_account(&self.who, address, None)
            .await
    }

    async fn status(&self, account: &EmailAccount) -> Option<AccountStatus> {
        self.service
            .accounts()
            .list_accounts(&self.who)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.id == account.id)
            .map(|a| a.status)
    }

    fn advance(&self, by: Duration) {
        self.clock.set(self.clock.now() + by);
    }

    /// Runs every wake-up due now (the identity polls); how many ran.
    async fn run_due(&self) -> usize {
        let now = self.clock.now();
        let mut ran = 0;
        while let Some(due) = self.scheduler.next_due(now).unwrap() {
            self.service.sending().run_job(&due.job).await.unwrap();
            self.scheduler.complete(&due).unwrap();
            ran += 1;
        }
        ran
    }

    /// The confirmation mails sent to `to`, oldest first.
    fn mails_to(&self, to: &str) -> Vec<Mail> {
        self.outbox
            .list()
            .unwrap()
            .into_iter()
            .filter(|m| m.to == to)
            .map(|m| {
                let raw = String::from_utf8(self.outbox.raw(&m.id).unwrap().unwrap()).unwrap();
                // Quoted-printable soft line breaks may split a long link.
                let raw = raw.replace("=\r\n", "").replace("=\n", "");
                let (headers, _) = raw.split_once("\r\n\r\n").expect("a header block");
                let list_unsubscribe = headers
                    .replace("\r\n ", " ")
                    .lines()
                    .find_map(|l| l.strip_prefix("List-Unsubscribe: "))
                    .expect("a List-Unsubscribe header")
                    .trim_matches(['<', '>', ' '])
                    .to_owned();
                Mail {
                    confirm: path_after(&raw, "/v1/email-accounts/confirm/"),
                    not_me: path_after(&raw, "/v1/email-accounts/not-me/"),
                    list_unsubscribe,
                }
            })
            .collect()
    }

    fn last_mail(&self, to: &str) -> Mail {
        self.mails_to(to).pop().expect("a confirmation mail")
    }

    async fn request(&self, method: &str, path: &str) -> (StatusCode, String) {
        let response = outreach_app::http::router(self.service.clone())
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(if method == "POST" {
                        "List-Unsubscribe=One-Click"
                    } else {
                        ""
                    }))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// `prefix` and the token after it, as the path of the link in `raw`.
fn path_after(raw: &str, prefix: &str) -> String {
    let token = raw
        .split(prefix)
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .next()
        })
        .unwrap_or_else(|| panic!("the mail carries {prefix}"));
    format!("{prefix}{token}")
}

fn retry_after(e: Error) -> u64 {
    match e {
        Error::RateLimited { retry_after_s, .. } => {
            let response = Error::RateLimited {
                detail: String::new(),
                retry_after_s,
            }
            .into_response();
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(
                response.headers()["retry-after"],
                retry_after_s.to_string().as_str()
            );
            retry_after_s
        }
        other => panic!("expected 429, got {other:?}"),
    }
}

#[tokio::test]
async fn opening_the_link_shows_a_page_and_only_the_post_confirms_once() {
    // R-2.1: mail scanners and link prefetchers follow GETs and unsubscribe links.
    let app = app(true);
    app.identities.verified.store(true, Ordering::SeqCst);
    let account = app.link("alice@acme.example").await.unwrap();
    let mail = app.last_mail("alice@acme.example");
    assert!(
        mail.list_unsubscribe.ends_with(&mail.not_me)
            && !mail.list_unsubscribe.contains("/confirm/"),
        "List-Unsubscribe is the \"this wasn't me\" link: {mail:?}"
    );

    let (status, page) = app.request("GET", &mail.confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<form method="post">"#), "{page}");
    app.advance(Duration::minutes(2));
    app.run_due().await;
    assert_eq!(
        app.status(&account).await,
        Some(AccountStatus::Pending),
        "a GET confirms nothing, even once SES verified the identity"
    );

    let (status, page) = app.request("POST", &mail.confirm).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(app.status(&account).await, Some(AccountStatus::Connected));
    // Single-use.
    assert_eq!(
        app.request("POST", &mail.confirm).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.request("GET", &mail.confirm).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_link_expires_after_24_hours_and_a_resend_or_relink_voids_older_ones() {
    let app = app(true);
    let account = app.link("alice@acme.example").await.unwrap();
    let first = app.last_mail("alice@acme.example");
    app.advance(Duration::minutes(10));
    app.service
        .accounts()
        .resend_confirmation(&app.who, account.id.as_str())
        .await
        .unwrap();
    let second = app.last_mail("alice@acme.example");
    assert_ne!(first.confirm, second.confirm);
    assert_eq!(
        app.request("POST", &first.confirm).await.0,
        StatusCode::NOT_FOUND,
        "a resend voids the older link"
    );
    assert_eq!(
        app.request("POST", &first.not_me).await.0,
        StatusCode::NOT_FOUND
    );
    app.service
        .accounts()
        .relink_account(&app.who, account.id.as_str())
        .await
        .unwrap();
    let third = app.last_mail("alice@acme.example");
    assert_eq!(
        app.request("POST", &second.confirm).await.0,
        StatusCode::NOT_FOUND,
        "a relink voids the older link"
    );
    // The latest link works for 24 hours, not a minute more.
    app.advance(Duration::hours(24) + Duration::minutes(1));
    assert_eq!(
        app.request("GET", &third.confirm).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.request("POST", &third.confirm).await.0,
        StatusCode::NOT_FOUND
    );
    app.service
        .accounts()
        .resend_confirmation(&app.who, account.id.as_str())
        .await
        .unwrap();
    let fourth = app.last_mail("alice@acme.example");
    assert_eq!(app.request("POST", &fourth.confirm).await.0, StatusCode::OK);
}

#[tokio::test]
async fn this_wasnt_me_cancels_the_pending_link() {
    // R-2.1: a victim whose address an attacker linked cancels it.
    let app = app(true);
    let account = app.link("victim@acme.example").await.unwrap();
    let mail = app.last_mail("victim@acme.example");
    let (status, page) = app.request("GET", &mail.not_me).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<form method="post">"#), "{page}");
    assert_eq!(app.status(&account).await, Some(AccountStatus::Pending));

    // A mail client's one-click unsubscribe posts `List-Unsubscribe=One-Click`.
    let (status, page) = app.request("POST", &mail.list_unsubscribe).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(app.status(&account).await, None, "the link is gone");
    assert_eq!(app.identities.released.load(Ordering::SeqCst), 1);
    assert_eq!(
        app.request("POST", &mail.confirm).await.0,
        StatusCode::NOT_FOUND,
        "a cancelled link cannot be confirmed"
    );
    assert_eq!(
        app.request("POST", &mail.not_me).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn resend_is_limited_to_3_an_hour_and_10_a_day() {
    // R-2.1: the shared SES account is no mail bomb; 429 says when to retry (§13).
    let app = app(true);
    let account = app.link("alice@acme.example").await.unwrap();
    let id = account.id.as_str();
    let accounts = app.service.accounts();
    let resend = || accounts.resend_confirmation(&app.who, id);
    for _ in 0..3 {
        resend().await.unwrap();
        app.advance(Duration::minutes(1));
    }
    let wait = retry_after(resend().await.unwrap_err());
    assert_eq!(
        wait,
        60 * 60 - 3 * 60,
        "until the first resend is an hour old"
    );
    assert_eq!(app.mails_to("alice@acme.example").len(), 4);
    // A relink mails the address too: it counts.
    assert!(matches!(
        app.service.accounts().relink_account(&app.who, id).await,
        Err(Error::RateLimited { .. })
    ));

    app.advance(Duration::hours(1));
    for _ in 0..3 {
        resend().await.unwrap();
    }
    app.advance(Duration::hours(1));
    for _ in 0..3 {
        resend().await.unwrap();
    }
    app.advance(Duration::hours(1));
    resend().await.unwrap();
    let wait = retry_after(resend().await.unwrap_err());
    assert!(
        wait > 20 * 60 * 60,
        "the tenth of the day: wait until the first is a day old ({wait} s)"
    );
    assert_eq!(app.mails_to("alice@acme.example").len(), 11);
    app.advance(Duration::seconds(wait as i64));
    resend().await.unwrap();
}

#[tokio::test]
async fn a_user_has_at_most_5_pending_links() {
    // R-2.1: each link mails an address and creates an SES identity.
    let app = app(true);
    for n in 0..5 {
        app.link(&format!("a{n}@acme.example")).await.unwrap();
        app.advance(Duration::minutes(1));
    }
    let wait = retry_after(app.link("a5@acme.example").await.unwrap_err());
    assert_eq!(wait, 24 * 60 * 60 - 5 * 60, "until the oldest link expires");
    assert!(app.mails_to("a5@acme.example").is_empty());
    // Linking one of the five again is no sixth.
    app.link("a0@acme.example").await.unwrap();
    // A confirmed and connected one no longer counts.
    app.identities.verified.store(true, Ordering::SeqCst);
    let mail = app.last_mail("a1@acme.example");
    assert_eq!(app.request("POST", &mail.confirm).await.0, StatusCode::OK);
    app.link("a5@acme.example").await.unwrap();
}

#[tokio::test]
async fn resend_starts_the_24_hours_and_the_mail_services_verification_again() {
    // Issue 16: a pending account could stay pending forever.
    let app = app(true);
    let account = app.link("alice@acme.example").await.unwrap();
    assert_eq!(app.identities.prepared.load(Ordering::SeqCst), 1);
    let mail = app.last_mail("alice@acme.example");
    assert_eq!(app.request("POST", &mail.confirm).await.0, StatusCode::OK);
    // SES never verifies within the 24 hours: the polling stops.
    app.advance(Duration::hours(25));
    app.run_due().await;
    assert_eq!(app.run_due().await, 0, "no poll is left");
    assert_eq!(app.status(&account).await, Some(AccountStatus::Pending));

    app.service
        .accounts()
        .resend_confirmation(&app.who, account.id.as_str())
        .await
        .unwrap();
    assert_eq!(
        app.identities.prepared.load(Ordering::SeqCst),
        2,
        "SES is asked to verify the identity again"
    );
    app.identities.verified.store(true, Ordering::SeqCst);
    app.advance(Duration::minutes(2));
    assert!(app.run_due().await >= 1, "the polling runs again");
    assert_eq!(app.status(&account).await, Some(AccountStatus::Connected));
}

#[tokio::test]
async fn a_failed_dmarc_lookup_refuses_the_link_with_503() {
    // R-2.1: never "no policy".
    let app = app(true);
    match app.link("alice@down.example").await {
        Err(e @ Error::Unavailable { .. }) => {
            let response = e.into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("expected 503, got {other:?}"),
    }
    assert!(app.mails_to("alice@down.example").is_empty());
}

#[tokio::test]
async fn local_mode_needs_no_proof_and_asks_no_dns() {
    let app = app(false);
    let account = app.link("alice@down.example").await.unwrap();
    assert_eq!(account.status, AccountStatus::Connected);
    assert_eq!(app.identities.dmarc_lookups.load(Ordering::SeqCst), 0);
    assert!(app.mails_to("alice@down.example").is_empty());
}
