//! Linking a sender account where proof of control is required (R-2.1, AWS
//! behaviour) on the embedded adapters, with a scripted mail-service identity.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outreach_app::auth::{Hs256Authenticator, Identity};
use outreach_app::model::AccountStatus;
use outreach_app::ports::{IdSource, Identities, IdentityError, Scheduler};
use outreach_app::{Config, Error, Ports, Service};
use outreach_domain::EmailAddress;
use outreach_domain::ids::{OrgId, UserId};
use outreach_embedded::{Db, LocalClock, LocalScheduler, OutboxMailer, RandomIds, SqliteStore};

struct ScriptedIdentities {
    verified: AtomicBool,
    released: AtomicBool,
}

#[async_trait]
impl Identities for ScriptedIdentities {
    async fn sendable(&self, _: &EmailAddress) -> Result<bool, IdentityError> {
        Ok(self.verified.load(Ordering::SeqCst))
    }
    async fn prepare(&self, _: &EmailAddress) -> Result<(), IdentityError> {
        Ok(())
    }
    async fn release(&self, _: &EmailAddress) -> Result<(), IdentityError> {
        self.released.store(true, Ordering::SeqCst);
        Ok(())
    }
    async fn domain_verified(&self, domain: &str) -> Result<bool, IdentityError> {
        Ok(domain == "verified.example")
    }
    async fn dmarc_policy(&self, domain: &str) -> Result<Option<String>, IdentityError> {
        Ok(match domain {
            "strict.example" | "verified.example" => Some("reject".into()),
            "quarantine.example" => Some("quarantine".into()),
            _ => Some("none".into()),
        })
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn a_linked_address_connects_only_after_proof_and_verification() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::in_memory().unwrap();
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
        .unwrap(),
    );
    let identities = Arc::new(ScriptedIdentities {
        verified: AtomicBool::new(false),
        released: AtomicBool::new(false),
    });
    let mut config = Config::local(3000);
    config.accounts_need_proof = true;
    let service = Service::new(
        Ports {
            store: Arc::new(SqliteStore::new(db)),
            scheduler: scheduler.clone(),
            mailer: outbox.clone(),
            clock: clock.clone(),
            ids,
            auth: Arc::new(Hs256Authenticator::new(b"test")),
            identities: identities.clone(),
            queue: scheduler.clone(),
        },
        config,
    );
    let who = Identity {
        org_id: OrgId::from("acme"),
        user_id: UserId::from("alice"),
        email: None,
        admin: false,
    };

    // a DMARC policy of quarantine or reject needs a verified domain identity.
    for domain in ["strict.example", "quarantine.example"] {
        let refused = service
            .accounts()
            .link_account(&who, &format!("alice@{domain}"), None)
            .await;
        match refused {
            Err(Error::Invalid { detail, .. }) => assert!(detail.contains("DMARC"), "{detail}"),
            other => panic!("expected 422, got {other:?}"),
        }
    }
    assert!(
        service
            .accounts()
            .link_account(&who, "alice@verified.example", None)
            .await
            .is_ok()
    );

    // Every new link is pending and mails a one-time confirmation link.
    let account = service
        .accounts()
        .link_account(&who, "alice@acme.example", Some("Alice".into()))
        .await
        .unwrap();
    assert_eq!(account.status, AccountStatus::Pending);
    let mails = outbox.list().unwrap();
    let confirmation = mails
        .iter()
        .find(|m| m.to == "alice@acme.example")
        .expect("a confirmation mail");
    let raw = String::from_utf8(outbox.raw(&confirmation.id).unwrap().unwrap()).unwrap();
    // The link is in the body only (R-2.1: List-Unsubscribe is "this wasn't
    // me"), where quoted-printable soft line breaks may split it.
    let raw = raw.replace("=\r\n", "");
    let token = raw
        .split("/v1/email-accounts/confirm/")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .next()
        })
        .expect("the link carries a token")
        .to_owned();
    // Proof of control alone is not enough while SES has not verified the identity.
    assert!(service.accounts().confirm_account(&token).await.unwrap());
    let listed = service.accounts().list_accounts(&who).await.unwrap();
    let mine = listed.iter().find(|a| a.id == account.id).unwrap();
    assert_eq!(mine.status, AccountStatus::Pending);
    assert!(
        !service
            .accounts()
            .confirm_account("not-a-token-at-all-000")
            .await
            .unwrap()
    );
    // The poll (about every minute, for 24 hours) connects it once SES verified it.
    identities.verified.store(true, Ordering::SeqCst);
    clock.set(at("2026-12-01T14:05:00Z"));
    let now = outreach_app::ports::Clock::now(clock.as_ref());
    let mut polls = 0;
    while let Some(due) = scheduler.next_due(now).unwrap() {
        service.sending().run_job(&due.job).await.unwrap();
        scheduler.complete(&due).unwrap();
        polls += 1;
    }
    assert!(polls >= 1, "a poll wake-up was planned");
    let listed = service.accounts().list_accounts(&who).await.unwrap();
    assert_eq!(
        listed.iter().find(|a| a.id == account.id).unwrap().status,
        AccountStatus::Connected
    );
    // Removing the last link deletes the identity.
    service
        .accounts()
        .remove_account(&who, account.id.as_str())
        .await
        .unwrap();
    assert!(identities.released.load(Ordering::SeqCst));
    let _ = scheduler.cancel("none").await;
}
