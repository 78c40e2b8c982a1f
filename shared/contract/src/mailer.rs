//! Checks of the `Mailer` port, read back through a [`MailInspector`].

use std::sync::Arc;

use async_trait::async_trait;
use outreach_app::ports::{Mailer, MailerError, OutboundMail};
use outreach_domain::EmailAddress;

/// What the mail service recorded of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRecord {
    /// The message as handed off (the service may have added headers).
    pub raw: Vec<u8>,
    pub recipients: Vec<String>,
    /// The tags the service was given, as far as the adapter can tell.
    pub tags: Vec<(String, String)>,
}

/// Reads sent mail back from the mail service (the outbox, or the emulator).
#[async_trait]
pub trait MailInspector: Send + Sync {
    async fn sent(&self, message_id: &str) -> Option<SentRecord>;
}

fn mail(from: &EmailAddress, to: &EmailAddress, subject: &str) -> OutboundMail {
    let raw = format!(
        "From: Alice Recruiter <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Ada.\r\n"
    );
    OutboundMail {
        from: from.clone(),
        to: to.clone(),
        subject: subject.to_owned(),
        raw: raw.into_bytes(),
        tags: vec![
            ("org".into(), "org-mail".into()),
            ("campaign".into(), "cmp-1".into()),
            ("enrollment".into(), "enr-1".into()),
            ("step".into(), "2".into()),
            ("attempt".into(), "1".into()),
        ],
    }
}

/// a message goes out with its tags; the receipt carries both ids.
pub async fn a_message_is_sent_with_its_tags(
    mailer: Arc<dyn Mailer>,
    inspector: Arc<dyn MailInspector>,
    from: EmailAddress,
    to: EmailAddress,
) {
    let outbound = mail(&from, &to, "Hello from the contract suite");
    let sent = mailer
        .send(&outbound)
        .await
        .expect("the message is accepted");
    assert!(!sent.message_id.is_empty());
    let rfc822 = &sent.rfc822_message_id;
    assert!(
        rfc822.starts_with('<') && rfc822.ends_with('>') && rfc822.contains('@'),
        "a Message-ID with brackets: {rfc822}"
    );
    assert!(rfc822.contains(&sent.message_id));
    let record = inspector
        .sent(&sent.message_id)
        .await
        .expect("the mail service kept the message");
    let raw = String::from_utf8_lossy(&record.raw);
    assert!(raw.contains("Subject: Hello from the contract suite"));
    assert!(raw.contains("Hello Ada."));
    assert!(record.recipients.iter().any(|r| r == to.as_str()));
    for wanted in ["campaign", "enrollment", "step"] {
        assert!(
            record.tags.iter().any(|(k, _)| k == wanted),
            "tag {wanted} reached the mail service: {:?}",
            record.tags
        );
    }
    for tag in &record.tags {
        assert!(outbound.tags.contains(tag), "unexpected tag {tag:?}");
    }
}

/// a sender whose identity the mail service does not accept is the
/// sender account's fault, not a transient failure or a bounce.
pub async fn an_unverified_sender_is_a_sender_fault(
    mailer: Arc<dyn Mailer>,
    unverified_from: EmailAddress,
    to: EmailAddress,
) {
    let outbound = mail(&unverified_from, &to, "Never sent");
    match mailer.send(&outbound).await {
        Err(MailerError::SenderFault(_)) => {}
        other => panic!("expected a sender fault, got {other:?}"),
    }
}
