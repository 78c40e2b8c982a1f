//! The `Mailer` port on SES v2, and the identity calls that
//! linking and checking sender accounts need.
//!
//! At most once: `SendEmail` runs with the SDK's automatic retries
//! off, because a retried request may be a second copy of one SES already
//! accepted. Every failure is sorted by what it proves: a refusal that proves
//! SES did not take the message is `Deferred` (throttling, quota, a paused
//! account), `SenderFault` (the sender's identity) or `RecipientRefused` (the
//! address); anything that leaves acceptance open (a timeout, a 5xx, a
//! connection lost after the request left) is `Unconfirmed` and never re-sent.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use outreach_app::ports::{self, Identities, Mailer, MailerError, OutboundMail, SentMail};
use outreach_domain::EmailAddress;

use crate::dns::{self, SystemResolver, TxtLookup};
use std::net::SocketAddr;
use std::sync::Arc;

/// The domain of the Message-ID header SES gives a message sent in `region`.
pub fn message_id_domain(region: &str) -> String {
    match region {
        "us-east-1" => "email.amazonses.com".to_owned(),
        other => format!("{other}.amazonses.com"),
    }
}

/// SES allows only `[A-Za-z0-9_-]` (1–256 characters) in tag names and values;
/// anything else becomes `_`. Tags are hints for the event handler: the
/// message id, not a tag, identifies a message.
pub fn tag_value(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect();
    if clean.is_empty() { "_".into() } else { clean }
}

/// A failed `SendEmail`, reduced to what decides its meaning, so that the
/// mapping to the port's kinds is a plain function with plain tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// The request never left this process, or no connection was ever made.
    NotSent(String),
    /// The request may have reached SES, but no answer came back intact.
    AnswerLost(String),
    /// SES answered with an error.
    Refused {
        status: u16,
        code: String,
        message: String,
    },
}

/// Error codes that prove SES did not take the message and may later
/// (throttling, quotas, an account-wide pause, R-2.5, R-8.4).
const NOT_NOW: &[&str] = &[
    "TooManyRequestsException",
    "Throttling",
    "ThrottlingException",
    "LimitExceededException",
    "SendingPausedException",
    "AccountSuspendedException",
];

/// Sorts a failed send into the port's kinds.
pub fn classify(failure: &SendFailure, from: &EmailAddress, to: &EmailAddress) -> MailerError {
    match failure {
        SendFailure::NotSent(why) => MailerError::Deferred(why.clone()),
        SendFailure::AnswerLost(why) => MailerError::Unconfirmed(why.clone()),
        SendFailure::Refused {
            status,
            code,
            message,
        } => {
            let why = format!("{code}: {message}");
            if NOT_NOW.contains(&code.as_str()) {
                return MailerError::Deferred(why);
            }
            if *status >= 500 {
                // The service failed while handling it: it may have sent it.
                return MailerError::Unconfirmed(why);
            }
            match code.as_str() {
                "MailFromDomainNotVerifiedException" | "AccessDeniedException" | "AccessDenied" => {
                    MailerError::SenderFault(why)
                }
                "MessageRejected" => classify_rejection(message, from, to, why),
                // A request SES will never take as it is: a person has to look.
                "BadRequestException" => MailerError::SenderFault(why),
                // Anything else was refused before sending (credentials, a missing
                // configuration set, …): nothing went out; try again later.
                _ => MailerError::Deferred(why),
            }
        }
    }
}

/// `MessageRejected` covers the sender, the recipient and the content: its
/// message says which kind of refusal, and whom it blames is read from the
/// identities it names, each compared whole with the sender's address and
/// domain. A recipient at the sender's own domain is not the sender:
/// in the SES sandbox such a refusal is R-2.5's deferral.
fn classify_rejection(
    message: &str,
    from: &EmailAddress,
    to: &EmailAddress,
    why: String,
) -> MailerError {
    let named = named_identities(message);
    let names = |identity: &str| named.iter().any(|n| n.eq_ignore_ascii_case(identity));
    let names_sender = names(from.as_str()) || names(from.domain());
    let text = message.to_ascii_lowercase();
    if text.contains("not verified") || text.contains("failed the check") {
        // "Email address is not verified. The following identities failed the
        // check…": the sender's identity, or, in the SES sandbox, a recipient
        // the account may not send to yet.
        return if names_sender {
            MailerError::SenderFault(why)
        } else {
            MailerError::Deferred(why)
        };
    }
    if text.contains("authority to send from") || text.contains("not authorized") {
        return MailerError::SenderFault(why);
    }
    if names(to.as_str())
        || text.contains("address blacklisted")
        || text.contains("illegal address")
        || text.contains("invalid address")
    {
        return MailerError::RecipientRefused(why);
    }
    // Content or anything unforeseen: stop and show it rather than retry forever.
    MailerError::SenderFault(why)
}

/// The addresses and domains an SES error message names (`… in region
/// US-EAST-1: alice@acme.example, acme.example`), lower-cased, in order.
pub fn named_identities(message: &str) -> Vec<String> {
    message
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    ',' | ';' | '<' | '>' | '"' | '\'' | '(' | ')' | '[' | ']'
                )
        })
        .map(|word| {
            word.trim_end_matches(['.', ':'])
                .trim_start_matches(':')
                .to_ascii_lowercase()
        })
        .filter(|word| {
            let domain = match word.rsplit_once('@') {
                Some((local, domain)) if !local.is_empty() => domain,
                Some(_) => return false,
                None => word.as_str(),
            };
            domain.contains('.')
                && !domain.starts_with('.')
                && domain.bytes().any(|b| b.is_ascii_alphabetic())
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        })
        .collect()
}

/// Whether a connector error happened before any byte of the request left: a
/// refused or unreachable connection, or a name that did not resolve.
fn never_connected(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionRefused | AddrNotAvailable | HostUnreachable | NetworkUnreachable
            ) {
                return true;
            }
        }
        let shown = e.to_string();
        // hyper-util's connect error and the DNS resolver's, as the SDK wraps them.
        if shown.contains("client error (Connect)") || shown.contains("dns error") {
            return true;
        }
        next = e.source();
    }
    false
}

/// Reduces an SDK error of `SendEmail` to a [`SendFailure`].
pub fn send_failure(err: &SdkError<SendEmailError>) -> SendFailure {
    let shown = DisplayErrorContext(err).to_string();
    match err {
        SdkError::ConstructionFailure(_) => SendFailure::NotSent(shown),
        SdkError::DispatchFailure(dispatch) => match dispatch.as_connector_error() {
            Some(c) if c.is_user() || never_connected(c) => SendFailure::NotSent(shown),
            _ => SendFailure::AnswerLost(shown),
        },
        SdkError::ServiceError(service) => SendFailure::Refused {
            status: service.raw().status().as_u16(),
            code: err.code().unwrap_or("Unknown").to_owned(),
            message: err.message().unwrap_or_default().to_owned(),
        },
        // A timeout, or an answer that could not be read.
        _ => SendFailure::AnswerLost(shown),
    }
}

/// Sends through SES v2 `SendEmail` with raw MIME content.
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
    message_id_domain: String,
}

impl SesMailer {
    /// `region` is the client's region (it names the Message-ID domain);
    /// `configuration_set` publishes the message's events.
    pub fn new(client: Client, region: &str, configuration_set: Option<String>) -> Self {
        SesMailer {
            client,
            configuration_set,
            message_id_domain: message_id_domain(region),
        }
    }
}

#[async_trait::async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutboundMail) -> Result<SentMail, MailerError> {
        let raw = RawMessage::builder()
            .data(Blob::new(mail.raw.clone()))
            .build()
            .map_err(|e| MailerError::Deferred(format!("could not build the request: {e}")))?;
        let tags = mail
            .tags
            .iter()
            .map(|(name, value)| {
                MessageTag::builder()
                    .name(tag_value(name))
                    .value(tag_value(value))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| MailerError::Deferred(format!("could not build the request: {e}")))?;
        let result = self
            .client
            .send_email()
            .from_email_address(mail.from.as_str())
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .set_email_tags(Some(tags))
            .set_configuration_set_name(self.configuration_set.clone())
            .customize()
            // A retry could be a second copy of an accepted message.
            .config_override(
                aws_sdk_sesv2::config::Builder::default()
                    .retry_config(RetryConfig::standard().with_max_attempts(1)),
            )
            .send()
            .await;
        match result {
            Ok(out) => {
                let Some(id) = out.message_id().filter(|id| !id.is_empty()) else {
                    // Accepted (200) but unreadable: counts as sent, never re-sent.
                    return Err(MailerError::Unconfirmed(
                        "SES accepted the message without a message id".into(),
                    ));
                };
                Ok(SentMail {
                    message_id: id.to_owned(),
                    rfc822_message_id: format!("<{id}@{}>", self.message_id_domain),
                })
            }
            Err(err) => {
                let failure = send_failure(&err);
                let mapped = classify(&failure, &mail.from, &mail.to);
                tracing::warn!(error = %DisplayErrorContext(&err), kind = ?mapped, "SES SendEmail failed");
                Err(mapped)
            }
        }
    }
}

/// The account's SES maximum send rate (messages a second, `GetAccount`'s
/// `SendQuota.MaxSendRate`): 1 in the sandbox, more with production access.
/// The send function reads it when it starts and paces itself to it (§15).
pub async fn max_send_rate(client: &Client) -> Result<f64, String> {
    let out = client
        .get_account()
        .send()
        .await
        .map_err(|e| format!("SES GetAccount failed: {}", DisplayErrorContext(&e)))?;
    out.send_quota()
        .map(|q| q.max_send_rate())
        .filter(|rate| rate.is_finite() && *rate > 0.0)
        .ok_or_else(|| "SES GetAccount named no maximum send rate".to_owned())
}

/// What SES says about a sender identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHealth {
    /// Whether SES lets the account send from it (always false in the emulator).
    pub verified_for_sending: bool,
    /// `PENDING`, `SUCCESS`, `FAILED`, `TEMPORARY_FAILURE`, `NOT_STARTED`.
    pub verification_status: Option<String>,
    /// Whether DKIM signing is verified (`SUCCESS`) for the identity.
    pub dkim_verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("SES throttled the identity call: {0}")]
    Throttled(String),
    #[error("the SES identity call failed: {0}")]
    Failed(String),
}

fn identity_error<E>(err: SdkError<E>) -> IdentityError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let shown = DisplayErrorContext(&err).to_string();
    match err.code() {
        Some(code) if NOT_NOW.contains(&code) => IdentityError::Throttled(shown),
        _ => IdentityError::Failed(shown),
    }
}

/// Success, or the error `code` that says the identity is as wanted already.
fn done_unless<T, E>(result: Result<T, SdkError<E>>, code: &str) -> Result<(), IdentityError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(err) if err.code() == Some(code) => Ok(()),
        Err(err) => Err(identity_error(err)),
    }
}

/// SES identities: created when an account is linked, checked by the identity
/// check, deleted when no link uses them any more. An address is
/// sendable through its own address identity or through its domain's
/// identity; domain identities are the operator's and are never deleted here.
pub struct SesIdentities {
    client: Client,
    /// The DMARC lookup: only linking an account asks for a policy,
    /// in the API function. The other functions build none
    /// ([`SesIdentities::without_dmarc`]), so their bootstraps link neither
    /// the resolver nor the public suffix list (issue 20).
    dmarc: Option<Arc<dyn DmarcPolicies>>,
}

/// The DMARC side of [`SesIdentities`], behind a trait object so that a
/// function without it links none of it.
#[async_trait::async_trait]
trait DmarcPolicies: Send + Sync {
    async fn policy(&self, domain: &str) -> Result<Option<String>, ports::IdentityError>;
}

/// Policies read from DNS through a [`TxtLookup`].
struct DnsPolicies(Arc<dyn TxtLookup>);

#[async_trait::async_trait]
impl DmarcPolicies for DnsPolicies {
    async fn policy(&self, domain: &str) -> Result<Option<String>, ports::IdentityError> {
        dns::applicable_policy(self.0.as_ref(), domain)
            .await
            .map(|policy| Some(policy.as_str().to_owned()))
            .map_err(|e| ports::IdentityError(e.to_string()))
    }
}

impl SesIdentities {
    /// Identities on `client`; DMARC policies are asked of the system resolver.
    pub fn new(client: Client) -> Self {
        Self::with_lookup(client, Arc::new(SystemResolver::new()))
    }

    /// Identities on `client` without DMARC lookups, for the functions that
    /// link no account: a policy asked of them is an error, never "no policy".
    pub fn without_dmarc(client: Client) -> Self {
        SesIdentities {
            client,
            dmarc: None,
        }
    }

    /// DMARC policies are asked of the name server at `resolver`.
    pub fn with_resolver(client: Client, resolver: SocketAddr) -> Self {
        Self::with_lookup(client, Arc::new(SystemResolver::with_name_server(resolver)))
    }

    pub fn with_lookup(client: Client, dns: Arc<dyn TxtLookup>) -> Self {
        SesIdentities {
            client,
            dmarc: Some(Arc::new(DnsPolicies(dns))),
        }
    }

    /// `None` when SES does not know the identity.
    pub async fn get(&self, identity: &str) -> Result<Option<IdentityHealth>, IdentityError> {
        match self
            .client
            .get_email_identity()
            .email_identity(identity)
            .send()
            .await
        {
            Ok(out) => Ok(Some(IdentityHealth {
                verified_for_sending: out.verified_for_sending_status(),
                verification_status: out.verification_status().map(|s| s.as_str().to_owned()),
                dkim_verified: out
                    .dkim_attributes()
                    .and_then(|d| d.status())
                    .is_some_and(|s| s.as_str() == "SUCCESS"),
            })),
            Err(err) if err.code() == Some("NotFoundException") => Ok(None),
            Err(err) => Err(identity_error(err)),
        }
    }

    /// Creates an address or domain identity; one that exists already is success.
    pub async fn create(&self, identity: &str) -> Result<(), IdentityError> {
        let client = &self.client;
        let request = client.create_email_identity().email_identity(identity);
        done_unless(request.send().await, "AlreadyExistsException")
    }

    /// Deletes an identity; one that does not exist is success.
    pub async fn delete(&self, identity: &str) -> Result<(), IdentityError> {
        let client = &self.client;
        let request = client.delete_email_identity().email_identity(identity);
        done_unless(request.send().await, "NotFoundException")
    }
}

#[async_trait::async_trait]
impl Identities for SesIdentities {
    /// An address is sendable when its own identity, or its domain's, is
    /// verified for sending (R-2.1: address identity or DKIM domain identity).
    async fn sendable(&self, address: &EmailAddress) -> Result<bool, ports::IdentityError> {
        for identity in [address.as_str(), address.domain()] {
            let health = self
                .get(identity)
                .await
                .map_err(|e| ports::IdentityError(e.to_string()))?;
            if health.is_some_and(|h| h.verified_for_sending) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Nothing when the domain is verified with DKIM (the recommended setup);
    /// otherwise an address identity, which SES verifies by mailing the
    /// address. An address identity SES has not verified is created anew, so
    /// that SES mails its verification again (R-2.1: `resend`); SES offers no
    /// other way, and nobody can send from it meanwhile, so no link loses
    /// anything. A verified one is left alone.
    async fn prepare(&self, address: &EmailAddress) -> Result<(), ports::IdentityError> {
        if self.domain_verified(address.domain()).await? {
            return Ok(());
        }
        let identity = address.as_str();
        match self
            .get(identity)
            .await
            .map_err(|e| ports::IdentityError(e.to_string()))?
        {
            Some(health) if health.verified_for_sending => return Ok(()),
            Some(_) => self
                .delete(identity)
                .await
                .map_err(|e| ports::IdentityError(e.to_string()))?,
            None => {}
        }
        self.create(identity)
            .await
            .map_err(|e| ports::IdentityError(e.to_string()))
    }

    async fn release(&self, address: &EmailAddress) -> Result<(), ports::IdentityError> {
        self.delete(address.as_str())
            .await
            .map_err(|e| ports::IdentityError(e.to_string()))
    }

    async fn domain_verified(&self, domain: &str) -> Result<bool, ports::IdentityError> {
        Ok(self
            .get(domain)
            .await
            .map_err(|e| ports::IdentityError(e.to_string()))?
            .is_some_and(|h| h.verified_for_sending && h.dkim_verified))
    }

    /// The policy receivers apply to mail from `domain` (R-2.1: the domain's
    /// record, else its organizational domain's); an error when DNS did not
    /// answer, never "no policy".
    async fn dmarc_policy(&self, domain: &str) -> Result<Option<String>, ports::IdentityError> {
        match &self.dmarc {
            Some(dmarc) => dmarc.policy(domain).await,
            None => Err(ports::IdentityError(format!(
                "this function looks up no DMARC policy (of {domain})"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_dmarc_a_policy_is_an_error_never_no_policy() {
        // a failed lookup refuses the link; a function that builds no
        // lookup must answer the same way, not "no policy".
        let client = Client::from_conf(
            aws_sdk_sesv2::Config::builder()
                .behavior_version_latest()
                .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
                .build(),
        );
        let identities = SesIdentities::without_dmarc(client);
        let answer = identities.dmarc_policy("example.com").await;
        assert!(answer.is_err(), "{answer:?}");
    }

    fn addr(a: &str) -> EmailAddress {
        EmailAddress::parse(a).expect("a valid address")
    }

    fn refused(status: u16, code: &str, message: &str) -> SendFailure {
        SendFailure::Refused {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    fn kind(f: &SendFailure) -> &'static str {
        match classify(f, &addr("alice@acme.example"), &addr("ada@home.example")) {
            MailerError::SenderFault(_) => "sender",
            MailerError::Deferred(_) => "deferred",
            MailerError::Unconfirmed(_) => "unconfirmed",
            MailerError::RecipientRefused(_) => "recipient",
        }
    }

    #[test]
    fn proven_non_acceptance_is_deferred() {
        //
        for code in NOT_NOW {
            assert_eq!(
                kind(&refused(400, code, "Maximum sending rate exceeded.")),
                "deferred"
            );
        }
        assert_eq!(
            kind(&refused(429, "TooManyRequestsException", "")),
            "deferred"
        );
        assert_eq!(
            kind(&SendFailure::NotSent("connection refused".into())),
            "deferred"
        );
        // SES sandbox: the recipient is not verified yet.
        assert_eq!(
            kind(&refused(
                400,
                "MessageRejected",
                "Email address is not verified. The following identities failed the check in region US-EAST-1: ada@home.example"
            )),
            "deferred"
        );
    }

    #[test]
    fn a_sandbox_refusal_of_a_colleague_is_not_the_senders_fault() {
        // the recipient shares the sender's domain; SES names only the
        // recipient, so this is R-2.5's deferral, not an account error.
        let colleague = classify(
            &refused(
                400,
                "MessageRejected",
                "Email address is not verified. The following identities failed the check in region EU-WEST-1: bob@acme.example",
            ),
            &addr("alice@acme.example"),
            &addr("bob@acme.example"),
        );
        assert!(
            matches!(colleague, MailerError::Deferred(_)),
            "{colleague:?}"
        );
        // The sender's domain identity named whole is the sender's.
        let domain = classify(
            &refused(
                400,
                "MessageRejected",
                "Email address is not verified. The following identities failed the check in region EU-WEST-1: acme.example, bob@acme.example",
            ),
            &addr("alice@acme.example"),
            &addr("bob@acme.example"),
        );
        assert!(matches!(domain, MailerError::SenderFault(_)), "{domain:?}");
        assert_eq!(
            named_identities(
                "failed the check in region US-EAST-1: Alice@Acme.example, acme.example."
            ),
            vec!["alice@acme.example".to_owned(), "acme.example".to_owned()]
        );
    }

    #[test]
    fn the_senders_identity_is_a_sender_fault() {
        //
        assert_eq!(
            kind(&refused(
                400,
                "MessageRejected",
                "Email address is not verified. The following identities failed the check in region US-EAST-1: alice@acme.example, ada@home.example"
            )),
            "sender"
        );
        assert_eq!(
            kind(&refused(
                400,
                "MessageRejected",
                "Did not have authority to send from email alice@acme.example"
            )),
            "sender"
        );
        assert_eq!(
            kind(&refused(400, "MailFromDomainNotVerifiedException", "")),
            "sender"
        );
        assert_eq!(
            kind(&refused(
                403,
                "AccessDeniedException",
                "not authorized to perform ses:SendEmail on identity/acme.example"
            )),
            "sender"
        );
    }

    #[test]
    fn a_refused_address_is_a_hard_bounce() {
        //
        assert_eq!(
            kind(&refused(400, "MessageRejected", "Address blacklisted.")),
            "recipient"
        );
        assert_eq!(
            kind(&refused(
                400,
                "MessageRejected",
                "Illegal address: ada@home.example"
            )),
            "recipient"
        );
    }

    #[test]
    fn a_possible_acceptance_is_unconfirmed() {
        //
        assert_eq!(kind(&refused(500, "InternalFailure", "")), "unconfirmed");
        assert_eq!(kind(&refused(503, "ServiceUnavailable", "")), "unconfirmed");
        assert_eq!(
            kind(&SendFailure::AnswerLost("timeout".into())),
            "unconfirmed"
        );
    }

    #[test]
    fn message_ids_and_tags_follow_ses() {
        assert_eq!(message_id_domain("us-east-1"), "email.amazonses.com");
        assert_eq!(message_id_domain("eu-west-1"), "eu-west-1.amazonses.com");
        assert_eq!(tag_value("org.acme/1"), "org_acme_1");
        assert_eq!(tag_value(""), "_");
        assert_eq!(tag_value(&"x".repeat(300)).len(), 256);
    }
}
