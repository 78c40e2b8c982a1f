//! Items, writes and errors of the DynamoDB store: how a record becomes an item
//! and how DynamoDB's answers become the port's `StoreError`.
//!
//! A record is stored as its JSON document in the `doc` attribute, beside the
//! key and index attributes and the few attributes a condition or an atomic
//! update needs (`v`, the version; `active`, a campaign's counter; `balance`
//! and `seq` of an organization). JSON rather than a full attribute map: the
//! records are serde types already, no expression ever reads inside them, a
//! document round-trips exactly (no empty-set or number-precision surprises),
//! and no extra dependency maps serde to attribute values.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use outreach_app::ports::{MAX_RECORD_BYTES, StoreError, Versioned};
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::{self, Key};

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) const DOC: &str = "doc";
pub(crate) const VERSION: &str = "v";
/// A campaign's active-enrollment counter, changed only with `ADD`.
pub(crate) const ACTIVE: &str = "active";
/// Plain copies of the owning organization and record id, projected into the
/// lookup indexes so that a lookup answers without parsing keys.
pub(crate) const ORG: &str = "org";
pub(crate) const ID: &str = "id";

/// What went wrong with a request, before it becomes the port's error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DynamoError {
    /// A condition expression did not hold.
    #[error("the conditional write failed")]
    ConditionFailed,
    /// A transaction was cancelled; one reason code per item (`None` for an item that was fine).
    #[error("the transaction was cancelled: {0:?}")]
    Cancelled(Vec<String>),
    /// Another transaction held an item: nothing was written, the write may be retried.
    #[error("a concurrent transaction held the item")]
    Busy,
    /// An item would exceed DynamoDB's item limit (400 KB): nothing was written.
    #[error("an item would exceed the 400 KB item limit")]
    TooLarge,
    #[error("DynamoDB failed: {0}")]
    Failed(String),
}

impl DynamoError {
    /// Whether the cancellation reason of item `index` is a failed condition.
    pub(crate) fn condition_failed_at(&self, index: usize) -> bool {
        match self {
            DynamoError::Cancelled(reasons) => reasons
                .get(index)
                .is_some_and(|r| r == "ConditionalCheckFailed"),
            _ => false,
        }
    }
}

impl From<DynamoError> for StoreError {
    fn from(e: DynamoError) -> Self {
        match e {
            DynamoError::ConditionFailed => StoreError::Conflict,
            DynamoError::TooLarge => StoreError::TooLarge,
            // A cancelled transaction names its cause; callers that need to tell the
            // items apart look at the reasons before converting.
            DynamoError::Cancelled(reasons)
                if reasons.iter().any(|r| r == "ConditionalCheckFailed") =>
            {
                StoreError::Conflict
            }
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

/// Maps an SDK error of a single-item operation by its error code.
pub(crate) fn sdk_error<E>(err: SdkError<E>) -> DynamoError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err.code() {
        Some("ConditionalCheckFailedException") => DynamoError::ConditionFailed,
        Some("ValidationException") if err.message().is_some_and(over_item_limit) => {
            DynamoError::TooLarge
        }
        Some("TransactionConflictException") => DynamoError::Busy,
        _ => DynamoError::Failed(DisplayErrorContext(&err).to_string()),
    }
}

pub(crate) fn transaction_error(err: SdkError<TransactWriteItemsError>) -> DynamoError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    {
        let reasons: Vec<String> = cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None").to_owned())
            .collect();
        // An item of the transaction over the limit (DynamoDB names it in its
        // reason; the emulator answers a ValidationException, mapped below).
        if cancelled.cancellation_reasons().iter().any(|r| {
            r.code() == Some("ValidationError") && r.message().is_some_and(over_item_limit)
        }) {
            return DynamoError::TooLarge;
        }
        let condition = reasons.iter().any(|r| r == "ConditionalCheckFailed");
        let contention = reasons.iter().any(|r| {
            matches!(
                r.as_str(),
                "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
            )
        });
        // A failed condition is an answer; contention alone means "try again".
        return if contention && !condition {
            DynamoError::Busy
        } else {
            DynamoError::Cancelled(reasons)
        };
    }
    sdk_error(err)
}

/// Whether DynamoDB's message refuses an item over its limit ("Item size has
/// exceeded the maximum allowed size", "Item size to update has exceeded…").
fn over_item_limit(message: &str) -> bool {
    message.contains("Item size") && message.contains("exceeded")
}

/// Attempts at a write that met a concurrent transaction (nothing was written).
pub(crate) const BUSY_ATTEMPTS: usize = 6;

/// A short, jittered pause before retrying contended work.
pub(crate) async fn backoff(attempt: usize) {
    let base = 10u64 << attempt.min(5);
    let jitter = rand::rng().random_range(0..=base);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn key_item(key: &Key) -> Item {
    HashMap::from([
        (keys::PK.to_owned(), s(&key.pk)),
        (keys::SK.to_owned(), s(&key.sk)),
    ])
}

/// An item under construction.
pub(crate) struct ItemBuilder(Item);

impl ItemBuilder {
    pub(crate) fn new(key: &Key) -> Self {
        ItemBuilder(key_item(key))
    }

    pub(crate) fn doc<T: Serialize>(self, value: &T) -> Result<Self, StoreError> {
        Ok(self.attr(DOC, s(to_json(value)?)))
    }

    pub(crate) fn attr(mut self, name: &str, value: AttributeValue) -> Self {
        self.0.insert(name.to_owned(), value);
        self
    }

    pub(crate) fn text(self, name: &str, value: impl Into<String>) -> Self {
        self.attr(name, s(value))
    }

    /// Puts the item into an index (`pk_name`/`sk_name` are its key attributes).
    pub(crate) fn index(self, pk_name: &str, sk_name: &str, key: &Key) -> Self {
        self.text(pk_name, &key.pk).text(sk_name, &key.sk)
    }

    pub(crate) fn build(self) -> Item {
        self.0
    }
}

/// A record's JSON document; one over [`MAX_RECORD_BYTES`] is refused here,
/// at the same size as the embedded store refuses it, before DynamoDB would.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    let json = serde_json::to_string(value)
        .map_err(|e| StoreError::Unavailable(format!("could not encode a record: {e}")))?;
    if json.len() > MAX_RECORD_BYTES {
        return Err(StoreError::TooLarge);
    }
    Ok(json)
}

pub(crate) fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(name)),
    }
}

pub(crate) fn number(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(name)),
        _ => Err(corrupt(name)),
    }
}

fn corrupt(name: &str) -> StoreError {
    StoreError::Unavailable(format!("an item lacks a valid `{name}` attribute"))
}

pub(crate) fn doc<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(text(item, DOC)?)
        .map_err(|e| StoreError::Unavailable(format!("could not decode a record: {e}")))
}

pub(crate) fn versioned<T: DeserializeOwned>(item: &Item) -> Result<Versioned<T>, StoreError> {
    Ok(Versioned {
        value: doc(item)?,
        version: u64::try_from(number(item, VERSION)?).map_err(|_| corrupt(VERSION))?,
    })
}

pub(crate) fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("could not build a request: {e}"))
}

/// The placeholders of an expression (`:name` → value).
pub(crate) type Values = Vec<(&'static str, AttributeValue)>;

pub(crate) fn values(values: Values) -> Option<HashMap<String, AttributeValue>> {
    (!values.is_empty()).then(|| values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Attribute names behind the `#placeholders` of expressions: every attribute
/// is named through one, so no attribute name can collide with DynamoDB's
/// reserved words.
const NAMES: &[(&str, &str)] = &[
    ("#pk", keys::PK),
    ("#sk", keys::SK),
    ("#v", VERSION),
    ("#doc", DOC),
    ("#active", ACTIVE),
    ("#balance", BALANCE),
    ("#seq", SEQ),
    ("#refunded", REFUNDED_AT),
    ("#g1pk", keys::GSI1PK),
    ("#g1sk", keys::GSI1SK),
    ("#g2pk", keys::GSI2PK),
    ("#g2sk", keys::GSI2SK),
    ("#g3pk", keys::GSI3PK),
    ("#g3sk", keys::GSI3SK),
    ("#w", super::marks::MARK),
    ("#count", COUNT),
    ("#sent", SENT),
    ("#ttl", keys::TTL),
    ("#sv", super::heads::STEPS_AT),
];

pub(crate) const BALANCE: &str = "balance";
pub(crate) const SEQ: &str = "seq";
/// A counter item's value.
pub(crate) const COUNT: &str = "count";
/// A day's count of a sender account's messages.
pub(crate) const SENT: &str = "sent";
pub(crate) const REFUNDED_AT: &str = "refunded_at";

/// The `ExpressionAttributeNames` of the placeholders used in `expressions`
/// (DynamoDB refuses names that no expression uses).
pub(crate) fn names(expressions: &[Option<&str>]) -> Option<HashMap<String, String>> {
    let used: HashMap<String, String> = NAMES
        .iter()
        .filter(|(placeholder, _)| {
            expressions.iter().flatten().any(|e| {
                e.match_indices(placeholder).any(|(at, _)| {
                    // `#v` must not match the start of `#value`.
                    !e[at + placeholder.len()..]
                        .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
            })
        })
        .map(|(p, n)| ((*p).to_owned(), (*n).to_owned()))
        .collect();
    (!used.is_empty()).then_some(used)
}

/// A `Put` of a transaction.
pub(crate) fn tx_put(
    table: &str,
    item: Item,
    condition: Option<&str>,
    vals: Values,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .set_expression_attribute_names(names(&[condition]))
        .set_expression_attribute_values(values(vals))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// An `Update` of a transaction.
pub(crate) fn tx_update(
    table: &str,
    key: &Key,
    expression: &str,
    condition: Option<&str>,
    vals: Values,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key_item(key)))
        .update_expression(expression)
        .set_condition_expression(condition.map(str::to_owned))
        .set_expression_attribute_names(names(&[Some(expression), condition]))
        .set_expression_attribute_values(values(vals))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A `ConditionCheck` of a transaction.
pub(crate) fn tx_condition(
    table: &str,
    key: &Key,
    condition: &str,
) -> Result<TransactWriteItem, StoreError> {
    let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key_item(key)))
        .condition_expression(condition)
        .set_expression_attribute_names(names(&[Some(condition)]))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// A `Delete` of a transaction.
pub(crate) fn tx_delete(table: &str, key: &Key) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key_item(key)))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamodb_refusing_an_item_over_its_limit_is_told_apart() {
        // Issue 19 item 4: the messages of PutItem and of UpdateItem.
        assert!(over_item_limit(
            "Item size has exceeded the maximum allowed size"
        ));
        assert!(over_item_limit(
            "Item size to update has exceeded the maximum allowed size"
        ));
        assert!(!over_item_limit(
            "One or more parameter values were invalid"
        ));
    }

    #[test]
    fn a_document_over_the_record_limit_is_refused_before_it_is_sent() {
        let fits = "x".repeat(MAX_RECORD_BYTES - 2);
        assert_eq!(to_json(&fits).map(|j| j.len()), Ok(MAX_RECORD_BYTES));
        // Measured as stored: a quote takes two bytes.
        let quotes = "\"".repeat(MAX_RECORD_BYTES / 2);
        assert_eq!(to_json(&quotes), Err(StoreError::TooLarge));
    }

    #[test]
    fn names_are_those_the_expressions_use() {
        let n = names(&[
            Some("SET #v = :v, #doc = :doc"),
            Some("attribute_not_exists(#pk)"),
        ])
        .unwrap_or_default();
        assert_eq!(n.len(), 3);
        assert_eq!(n.get("#v").map(String::as_str), Some("v"));
        assert!(names(&[Some("#value = :x")]).is_none());
        assert!(names(&[None]).is_none());
    }
}
