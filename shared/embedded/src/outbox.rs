//! The outbox in place of SES (SPEC §14): every message handed off is written
//! as an `.eml` file and listed at `GET /dev/outbox`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use outreach_app::dev::{Fault, OutboxItem};
use outreach_app::ports::{
    Clock, IdSource, Identities, IdentityError, Mailer, MailerError, OutboundMail, SentMail,
};
use outreach_domain::EmailAddress;
use rusqlite::{OptionalExtension, params};

use crate::db::{Cached, Db};

/// The domain of outbox Message-IDs, built like SES' `<id@region domain>`.
pub const MESSAGE_ID_DOMAIN: &str = "outbox.outreach.localhost";

pub struct OutboxMailer {
    db: Db,
    dir: PathBuf,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    faults: Mutex<HashMap<EmailAddress, Fault>>,
}

impl OutboxMailer {
    pub fn new(
        db: Db,
        dir: PathBuf,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
    ) -> std::io::Result<Self> {
        crate::folder::private_dir(&dir)?;
        Ok(OutboxMailer {
            db,
            dir,
            clock,
            ids,
            faults: Mutex::new(HashMap::new()),
        })
    }

    /// Makes sends from `sender` fail as `fault` until cleared with `Fault::None`.
    pub fn set_fault(&self, sender: EmailAddress, fault: Fault) {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        match fault {
            Fault::None => faults.remove(&sender),
            other => faults.insert(sender, other),
        };
    }

    pub fn list(&self) -> Result<Vec<OutboxItem>, String> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare_cached("SELECT body FROM outbox ORDER BY seq")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| e.to_string())?;
        rows.map(|r| {
            r.map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_str(&b).map_err(|e| e.to_string()))
        })
        .collect()
    }

    pub fn raw(&self, id: &str) -> Result<Option<Vec<u8>>, String> {
        let known: Option<i64> = self
            .db
            .lock()
            .query_row_cached("SELECT seq FROM outbox WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| e.to_string())?;
        if known.is_none() {
            return Ok(None);
        }
        std::fs::read(self.dir.join(format!("{id}.eml")))
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

fn tag<'a>(mail: &'a OutboundMail, name: &str) -> Option<&'a str> {
    mail.tags
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutboundMail) -> Result<SentMail, MailerError> {
        let fault = self
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&mail.from)
            .copied();
        match fault {
            Some(Fault::NotVerified) => {
                return Err(MailerError::SenderFault(format!(
                    "Email address is not verified: {}",
                    mail.from
                )));
            }
            Some(Fault::Throttled) => {
                return Err(MailerError::Deferred(
                    "Maximum sending rate exceeded.".into(),
                ));
            }
            _ => {}
        }
        let id = self.ids.new_id("out");
        let rfc822 = format!("<{id}@{MESSAGE_ID_DOMAIN}>");
        // Like SES, the service sets the Message-ID the recipient sees.
        let mut raw = format!("Message-ID: {rfc822}\r\n").into_bytes();
        raw.extend_from_slice(&mail.raw);
        // A private file (SPEC §14): messages hold candidates' addresses.
        crate::folder::write_private(&self.dir.join(format!("{id}.eml")), &raw)
            .map_err(|e| MailerError::Deferred(format!("could not write the outbox: {e}")))?;
        let item = OutboxItem {
            id: id.clone(),
            message_id: id.clone(),
            from: mail.from.to_string(),
            to: mail.to.to_string(),
            subject: mail.subject.clone(),
            sent_at: self.clock.now(),
            campaign_id: tag(mail, "campaign").map(str::to_owned),
            enrollment_id: tag(mail, "enrollment").map(str::to_owned),
            step_index: tag(mail, "step").and_then(|s| s.parse().ok()),
        };
        let body =
            serde_json::to_string(&item).map_err(|e| MailerError::Unconfirmed(e.to_string()))?;
        // The file is written: from here on the message counts as handed off.
        self.db
            .lock()
            .execute_cached(
                "INSERT INTO outbox (id, body) VALUES (?1, ?2)",
                params![id, body],
            )
            .map_err(|e| MailerError::Unconfirmed(format!("could not index the outbox: {e}")))?;
        Ok(SentMail {
            message_id: id,
            rfc822_message_id: rfc822,
        })
    }
}

/// Local identities are all sendable, except a sender given the `not_verified`
/// fault (R-2.3's identity check sees it too).
#[async_trait]
impl Identities for OutboxMailer {
    async fn sendable(&self, address: &EmailAddress) -> Result<bool, IdentityError> {
        let faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        Ok(faults.get(address) != Some(&Fault::NotVerified))
    }

    async fn prepare(&self, _: &EmailAddress) -> Result<(), IdentityError> {
        Ok(())
    }

    async fn release(&self, _: &EmailAddress) -> Result<(), IdentityError> {
        Ok(())
    }

    async fn domain_verified(&self, _: &str) -> Result<bool, IdentityError> {
        Ok(true)
    }

    /// Local mode makes no DNS lookups.
    async fn dmarc_policy(&self, _: &str) -> Result<Option<String>, IdentityError> {
        Ok(None)
    }
}
