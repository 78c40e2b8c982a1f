//! SES notifications as Amazon SNS delivers them.
//!
//! The SES events handler (and `POST /dev/ses-events` in local mode, SPEC §14) receives
//! an HTTP or Lambda body and needs one typed answer: which message, which recipients,
//! what happened, and a key that makes processing idempotent. This module turns the
//! body into that answer and does nothing else (no I/O, no clock).
//!
//! Accepted input, in this order:
//! 1. An SNS envelope (`{"Type": "Notification", "MessageId": …, "Message": "<SES JSON>"}`);
//!    `Message` must be a *string* holding the SES JSON, as SNS sends it.
//! 2. An SNS `SubscriptionConfirmation` / `UnsubscribeConfirmation`: parsed into
//!    [`SesNotification::Confirmation`] with its `SubscribeURL` and `Token`. Nothing here
//!    acts on it; confirming a subscription is the adapter's job.
//! 3. A bare SES JSON object (SNS "raw message delivery", or a test posting the inner JSON).
//!
//! Both SES formats parse (R-9.8: the deployment publishes one, but both must work):
//! configuration-set *event publishing* (`eventType`, carries `mail.tags`) and identity
//! *feedback notifications* (`notificationType`, no tags). `Bounce`, `Complaint` and
//! `Delivery` become typed variants; every other kind (`Send`, `Reject`, `DeliveryDelay`,
//! `Open`, `Click`, `Rendering Failure`, `Subscription`, `AmazonSnsSubscriptionSucceeded`…)
//! becomes [`SesEvent::Other`], which callers ignore.
//!
//! Unknown fields are ignored (AWS reserves the right to add fields). Addresses that do
//! not parse as [`EmailAddress`] are skipped rather than failing the whole event: the
//! event still names its message, and failing it would only make SNS retry a message
//! that can never succeed.
//!
//! Parsing never panics, whatever the input; malformed input is a [`SesEventError`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::EmailAddress;

/// What one SNS delivery to the SES events endpoint contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SesNotification {
    /// An SES event, with the SNS envelope's `MessageId` when there was an envelope.
    Event {
        sns_message_id: Option<String>,
        event: SesEvent,
    },
    /// SNS asks the endpoint to confirm (or tells it about the end of) a subscription.
    Confirmation(SnsConfirmation),
}

/// An SNS subscription handshake message; not acted on by the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsConfirmation {
    pub kind: ConfirmationKind,
    pub subscribe_url: String,
    pub token: String,
    pub topic_arn: Option<String>,
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmationKind {
    /// `Type: SubscriptionConfirmation`
    Subscribe,
    /// `Type: UnsubscribeConfirmation`
    Unsubscribe,
}

/// One SES event about one sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SesEvent {
    /// the receiving server accepted the message for these recipients.
    Delivery {
        mail: MailInfo,
        recipients: Vec<EmailAddress>,
        timestamp: Option<String>,
    },
    /// R-9.2 / R-9.4 (and for authentication refusals, see
    /// [`BouncedRecipient::is_auth_failure`]).
    Bounce {
        mail: MailInfo,
        bounce_type: BounceType,
        /// SES' `bounceSubType` (`General`, `NoEmail`, `MailboxFull`, `Suppressed`, …);
        /// empty when absent.
        sub_type: String,
        recipients: Vec<BouncedRecipient>,
        feedback_id: String,
        timestamp: Option<String>,
    },
    /// the recipient marked the message as spam.
    Complaint {
        mail: MailInfo,
        recipients: Vec<EmailAddress>,
        feedback_id: String,
        /// `complaintFeedbackType` (`abuse`, `fraud`, …) when the ISP sent a feedback report.
        feedback_type: Option<String>,
        timestamp: Option<String>,
    },
    /// Any other event kind; callers ignore it. `mail` is best effort.
    Other {
        kind: String,
        mail: Option<MailInfo>,
    },
}

/// SES' `bounceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceType {
    /// A hard bounce, unless it is an authentication refusal.
    Permanent,
    /// A soft bounce.
    Transient,
    /// SES could not tell; also used for a missing or unknown `bounceType`.
    Undetermined,
}

/// One recipient of a bounce, with the DSN details SES passes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BouncedRecipient {
    pub address: EmailAddress,
    /// Enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// `diagnosticCode`, e.g. `smtp; 550 5.1.1 user unknown`.
    pub diagnostic: Option<String>,
    /// DSN action, e.g. `failed`.
    pub action: Option<String>,
}

/// The `mail` object: which message the event is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailInfo {
    /// SES' `MessageId` (the id `SendEmail` returned), the key for look-ups.
    pub message_id: String,
    /// When the message was sent (`mail.timestamp`, ISO 8601).
    pub timestamp: Option<String>,
    /// `mail.source`, the envelope sender.
    pub source: Option<String>,
    /// `mail.destination`, as SES wrote it.
    pub destination: Vec<String>,
    /// `mail.tags` (event publishing only): tag name to values. Resolves the event to its
    /// organization, campaign, enrollment, step and attempt.
    pub tags: BTreeMap<String, Vec<String>>,
    /// `mail.headers` in order, when the configuration includes original headers.
    pub headers: Vec<(String, String)>,
    /// `mail.commonHeaders.messageId`: the Message-ID header the recipient saw, without
    /// angle brackets.
    pub rfc822_message_id: Option<String>,
}

impl MailInfo {
    /// The first value of tag `name`.
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags
            .get(name)
            .and_then(|values| values.first())
            .map(String::as_str)
    }
}

/// Why a body is not an SES notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SesEventError {
    #[error("the notification is not valid JSON: {0}")]
    NotJson(String),
    #[error(
        "the JSON is neither an SNS envelope (`Type`) nor an SES notification \
         (`eventType` or `notificationType`)"
    )]
    NotSesOrSns,
    #[error("the SNS envelope's `Message` is not a string holding SES JSON: {0}")]
    MessageNotJsonString(String),
    #[error("the SES notification has no `mail.messageId`")]
    MissingMessageId,
    #[error("unknown notification structure: {0}")]
    UnknownStructure(String),
}

/// Parses the body of an SNS delivery (or a bare SES JSON object).
pub fn parse_notification(body: &[u8]) -> Result<SesNotification, SesEventError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| SesEventError::NotJson(e.to_string()))?;
    let Value::Object(object) = &value else {
        return Err(SesEventError::NotSesOrSns);
    };
    if let Some(sns_type) = object.get("Type") {
        return parse_sns_envelope(object, sns_type);
    }
    if is_ses_object(object) {
        return Ok(SesNotification::Event {
            sns_message_id: None,
            event: parse_ses_object(object)?,
        });
    }
    Err(SesEventError::NotSesOrSns)
}

impl SesEvent {
    /// Parses one SES JSON object (already taken out of its SNS envelope).
    pub fn from_json(json: &str) -> Result<SesEvent, SesEventError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| SesEventError::NotJson(e.to_string()))?;
        match &value {
            Value::Object(object) if is_ses_object(object) => parse_ses_object(object),
            _ => Err(SesEventError::NotSesOrSns),
        }
    }

    /// The event kind as SES names it (`Bounce`, `Complaint`, `Delivery`, or the other kind).
    pub fn kind(&self) -> &str {
        match self {
            SesEvent::Delivery { .. } => "Delivery",
            SesEvent::Bounce { .. } => "Bounce",
            SesEvent::Complaint { .. } => "Complaint",
            SesEvent::Other { kind, .. } => kind,
        }
    }

    /// The message the event is about (best effort for [`SesEvent::Other`]).
    pub fn mail(&self) -> Option<&MailInfo> {
        match self {
            SesEvent::Delivery { mail, .. }
            | SesEvent::Bounce { mail, .. }
            | SesEvent::Complaint { mail, .. } => Some(mail),
            SesEvent::Other { mail, .. } => mail.as_ref(),
        }
    }

    /// Idempotency keys: one per bounce or complaint (`bounce:<feedbackId>`,
    /// `complaint:<feedbackId>`), one per delivered recipient
    /// (`delivery:<messageId>:<recipient>`). A delivery without recipients falls back to
    /// `mail.destination`, then to `delivery:<messageId>`. [`SesEvent::Other`] is not
    /// processed, so it has no key.
    pub fn dedupe_keys(&self) -> Vec<String> {
        match self {
            SesEvent::Bounce { feedback_id, .. } => vec![format!("bounce:{feedback_id}")],
            SesEvent::Complaint { feedback_id, .. } => vec![format!("complaint:{feedback_id}")],
            SesEvent::Delivery {
                mail, recipients, ..
            } => {
                let mut keys: Vec<String> = if recipients.is_empty() {
                    mail.destination
                        .iter()
                        .filter_map(|d| parse_address(d))
                        .map(|a| format!("delivery:{}:{a}", mail.message_id))
                        .collect()
                } else {
                    recipients
                        .iter()
                        .map(|a| format!("delivery:{}:{a}", mail.message_id))
                        .collect()
                };
                if keys.is_empty() {
                    keys.push(format!("delivery:{}", mail.message_id));
                }
                keys.dedup();
                keys
            }
            SesEvent::Other { .. } => Vec::new(),
        }
    }
}

impl BouncedRecipient {
    /// True for an authentication refusal (DMARC, SPF, DKIM: enhanced status 5.7.x), which
    /// makes the sender account's fault, not the address's.
    ///
    /// The `status` decides when it is specific. When it is missing or only says
    /// `x.0.0` (SES fills `5.0.0` when the remote gave no enhanced code in the DSN
    /// fields), a 5.7.x code inside `diagnosticCode` decides.
    pub fn is_auth_failure(&self) -> bool {
        match self.status.as_deref().map(str::trim) {
            Some(status) if is_auth_status(status) => true,
            Some(status) if !status.is_empty() && !status.ends_with(".0.0") => false,
            _ => self.diagnostic.as_deref().is_some_and(contains_auth_status),
        }
    }
}

/// `5.7.x` exactly (x one to three digits).
fn is_auth_status(status: &str) -> bool {
    status.strip_prefix("5.7.").is_some_and(|rest| {
        (1..=3).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Finds a standalone `5.7.x` code in free text such as `smtp; 550 5.7.26 Unauthenticated`.
fn contains_auth_status(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|rest| rest.find("5.7.")) {
        let start = from + pos;
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'.');
        let after_ok = bytes.get(start + 4).is_some_and(u8::is_ascii_digit);
        if before_ok && after_ok {
            return true;
        }
        from = start + 4;
    }
    false
}

fn is_ses_object(object: &Map<String, Value>) -> bool {
    object.contains_key("eventType") || object.contains_key("notificationType")
}

fn parse_sns_envelope(
    object: &Map<String, Value>,
    sns_type: &Value,
) -> Result<SesNotification, SesEventError> {
    let sns_type = sns_type.as_str().ok_or_else(|| {
        SesEventError::UnknownStructure("the SNS `Type` is not a string".to_owned())
    })?;
    let message_id = str_field(object, "MessageId");
    match sns_type {
        "Notification" => {
            let message = match object.get("Message") {
                Some(Value::String(message)) => message,
                Some(_) => {
                    return Err(SesEventError::MessageNotJsonString(
                        "`Message` is not a string".to_owned(),
                    ));
                }
                None => {
                    return Err(SesEventError::MessageNotJsonString(
                        "`Message` is missing".to_owned(),
                    ));
                }
            };
            let inner: Value = serde_json::from_str(message)
                .map_err(|e| SesEventError::MessageNotJsonString(e.to_string()))?;
            match &inner {
                Value::Object(inner) if is_ses_object(inner) => Ok(SesNotification::Event {
                    sns_message_id: message_id,
                    event: parse_ses_object(inner)?,
                }),
                Value::Object(_) => Err(SesEventError::NotSesOrSns),
                _ => Err(SesEventError::MessageNotJsonString(
                    "`Message` does not hold a JSON object".to_owned(),
                )),
            }
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            let kind = if sns_type == "SubscriptionConfirmation" {
                ConfirmationKind::Subscribe
            } else {
                ConfirmationKind::Unsubscribe
            };
            let subscribe_url = str_field(object, "SubscribeURL").ok_or_else(|| {
                SesEventError::UnknownStructure(format!("{sns_type} without `SubscribeURL`"))
            })?;
            let token = str_field(object, "Token").ok_or_else(|| {
                SesEventError::UnknownStructure(format!("{sns_type} without `Token`"))
            })?;
            Ok(SesNotification::Confirmation(SnsConfirmation {
                kind,
                subscribe_url,
                token,
                topic_arn: str_field(object, "TopicArn"),
                message_id,
            }))
        }
        other => Err(SesEventError::UnknownStructure(format!(
            "SNS message type `{other}`"
        ))),
    }
}

/// One SES event object (event publishing's `eventType` or identity notifications'
/// `notificationType`): a bounce, a complaint, a delivery, or any other kind kept by name.
fn parse_ses_object(object: &Map<String, Value>) -> Result<SesEvent, SesEventError> {
    let kind = object
        .get("eventType")
        .or_else(|| object.get("notificationType"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            SesEventError::UnknownStructure(
                "`eventType`/`notificationType` is not a string".to_owned(),
            )
        })?;
    match kind {
        "Bounce" => parse_bounce(object, kind),
        "Complaint" => parse_complaint(object, kind),
        "Delivery" => parse_delivery(object),
        other => Ok(SesEvent::Other {
            kind: other.to_owned(),
            mail: parse_mail(object).ok(),
        }),
    }
}

/// A bounce: permanent, transient or undetermined, with each bounced
/// recipient's status and diagnostic (a 5.7.x status is an authentication refusal, R-2.3).
fn parse_bounce(object: &Map<String, Value>, kind: &str) -> Result<SesEvent, SesEventError> {
    let mail = parse_mail(object)?;
    let bounce = sub_object(object, "bounce", kind)?;
    let feedback_id = feedback_id(bounce, kind)?;
    let bounce_type = match str_field(bounce, "bounceType")
        .map(|t| t.to_ascii_lowercase())
        .as_deref()
    {
        Some("permanent") => BounceType::Permanent,
        Some("transient") => BounceType::Transient,
        _ => BounceType::Undetermined,
    };
    let recipients = array_field(bounce, "bouncedRecipients")
        .filter_map(|r| {
            let r = r.as_object()?;
            Some(BouncedRecipient {
                address: parse_address(&str_field(r, "emailAddress")?)?,
                status: str_field(r, "status"),
                diagnostic: str_field(r, "diagnosticCode"),
                action: str_field(r, "action"),
            })
        })
        .collect();
    Ok(SesEvent::Bounce {
        mail,
        bounce_type,
        sub_type: str_field(bounce, "bounceSubType").unwrap_or_default(),
        recipients,
        feedback_id,
        timestamp: str_field(bounce, "timestamp"),
    })
}

/// A complaint: the complained recipients and the feedback type.
fn parse_complaint(object: &Map<String, Value>, kind: &str) -> Result<SesEvent, SesEventError> {
    let mail = parse_mail(object)?;
    let complaint = sub_object(object, "complaint", kind)?;
    let feedback_id = feedback_id(complaint, kind)?;
    let recipients = array_field(complaint, "complainedRecipients")
        .filter_map(|r| parse_address(&str_field(r.as_object()?, "emailAddress")?))
        .collect();
    Ok(SesEvent::Complaint {
        mail,
        recipients,
        feedback_id,
        feedback_type: str_field(complaint, "complaintFeedbackType"),
        timestamp: str_field(complaint, "timestamp"),
    })
}

/// A delivery and the recipients it reached.
fn parse_delivery(object: &Map<String, Value>) -> Result<SesEvent, SesEventError> {
    let mail = parse_mail(object)?;
    // Both formats carry a `delivery` object; tolerate its absence and fall back
    // to `mail.destination` in `dedupe_keys`.
    let delivery = object.get("delivery").and_then(Value::as_object);
    let recipients = delivery
        .map(|d| {
            array_field(d, "recipients")
                .filter_map(|r| parse_address(r.as_str()?))
                .collect()
        })
        .unwrap_or_default();
    Ok(SesEvent::Delivery {
        mail,
        recipients,
        timestamp: delivery.and_then(|d| str_field(d, "timestamp")),
    })
}

fn parse_mail(object: &Map<String, Value>) -> Result<MailInfo, SesEventError> {
    let mail = object
        .get("mail")
        .and_then(Value::as_object)
        .ok_or_else(|| SesEventError::UnknownStructure("no `mail` object".to_owned()))?;
    let message_id = str_field(mail, "messageId")
        .filter(|id| !id.trim().is_empty())
        .ok_or(SesEventError::MissingMessageId)?;
    let tags = mail
        .get("tags")
        .and_then(Value::as_object)
        .map(|tags| {
            tags.iter()
                .map(|(name, values)| {
                    let values = match values {
                        Value::Array(values) => values
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect(),
                        Value::String(value) => vec![value.clone()],
                        _ => Vec::new(),
                    };
                    (name.clone(), values)
                })
                .collect()
        })
        .unwrap_or_default();
    let headers = array_field(mail, "headers")
        .filter_map(|h| {
            let h = h.as_object()?;
            Some((
                str_field(h, "name")?,
                str_field(h, "value").unwrap_or_default(),
            ))
        })
        .collect::<Vec<_>>();
    let rfc822_message_id = mail
        .get("commonHeaders")
        .and_then(Value::as_object)
        .and_then(|c| str_field(c, "messageId"))
        .or_else(|| {
            headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("Message-ID"))
                .map(|(_, value)| value.clone())
        })
        .map(|id| {
            id.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
        .filter(|id| !id.is_empty());
    Ok(MailInfo {
        message_id,
        timestamp: str_field(mail, "timestamp"),
        source: str_field(mail, "source"),
        destination: array_field(mail, "destination")
            .filter_map(|d| d.as_str().map(str::to_owned))
            .collect(),
        tags,
        headers,
        rfc822_message_id,
    })
}

fn sub_object<'a>(
    object: &'a Map<String, Value>,
    field: &str,
    kind: &str,
) -> Result<&'a Map<String, Value>, SesEventError> {
    object.get(field).and_then(Value::as_object).ok_or_else(|| {
        SesEventError::UnknownStructure(format!("{kind} notification without a `{field}` object"))
    })
}

fn feedback_id(object: &Map<String, Value>, kind: &str) -> Result<String, SesEventError> {
    str_field(object, "feedbackId")
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            SesEventError::UnknownStructure(format!("{kind} notification without `feedbackId`"))
        })
}

fn str_field(object: &Map<String, Value>, field: &str) -> Option<String> {
    object.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn array_field<'a>(object: &'a Map<String, Value>, field: &str) -> impl Iterator<Item = &'a Value> {
    object
        .get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter())
        .unwrap_or_default()
}

/// SES writes bare addresses, but tolerate `Name <addr>` as well.
fn parse_address(raw: &str) -> Option<EmailAddress> {
    let raw = raw.trim();
    let inner = match (raw.rfind('<'), raw.rfind('>')) {
        (Some(open), Some(close)) if open < close => &raw[open + 1..close],
        _ => raw,
    };
    EmailAddress::parse(inner).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(status: Option<&str>, diagnostic: Option<&str>) -> BouncedRecipient {
        BouncedRecipient {
            address: EmailAddress::parse("ada@example.com").unwrap(),
            status: status.map(str::to_owned),
            diagnostic: diagnostic.map(str::to_owned),
            action: Some("failed".to_owned()),
        }
    }

    #[test]
    fn auth_failure_reads_status_then_diagnostic() {
        //
        assert!(recipient(Some("5.7.1"), None).is_auth_failure());
        assert!(recipient(Some("5.7.26"), None).is_auth_failure());
        assert!(!recipient(Some("5.1.1"), Some("smtp; 550 5.7.1 denied")).is_auth_failure());
        assert!(recipient(None, Some("smtp; 550 5.7.26 Unauthenticated email")).is_auth_failure());
        assert!(recipient(Some("5.0.0"), Some("550 5.7.1 DMARC policy")).is_auth_failure());
        assert!(!recipient(None, Some("smtp; 550 15.7.1 nope")).is_auth_failure());
        assert!(!recipient(None, Some("smtp; 550 5.7.")).is_auth_failure());
        assert!(!recipient(None, None).is_auth_failure());
        assert!(!recipient(Some("4.7.1"), None).is_auth_failure());
    }

    #[test]
    fn address_tolerates_display_names() {
        assert_eq!(
            parse_address("Ada <Ada@Example.com>").unwrap().as_str(),
            "ada@example.com"
        );
        assert!(parse_address("not an address").is_none());
    }
}
