//! What a send records: an enrollment's events, apart from the
//! enrollment so it stays small, and the index entries of a handed-off
//! message under both of its ids; a hand-off writes all of them with the
//! enrollment in one transaction.

use aws_sdk_dynamodb::types::TransactWriteItem;
use outreach_app::model::{EnrollmentEvent, MessageRef};
use outreach_app::ports::{Activity, StoreError};
use outreach_domain::EmailAddress;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{EnrollmentId, OrgId};
use rand::Rng;

use super::DynamoStore;
use super::access::{CREATE, Query, Range, SAME_VERSION};
use super::campaigns::enrollment_item;
use super::item::{DynamoError, Item, ItemBuilder, n, tx_put, tx_update};
use super::keys;

impl DynamoStore {
    /// The index entries of a handed-off message: under the mail service's id
    /// (in the recipient's index) and under its Message-ID.
    fn message_writes(&self, message: &MessageRef) -> Result<Vec<TransactWriteItem>, StoreError> {
        let service_id = trim_message_id(&message.message_id);
        let rfc822_id = trim_message_id(&message.rfc822_message_id);
        let by_service_id = ItemBuilder::new(&keys::message(service_id))
            .doc(message)?
            .index(
                keys::GSI1PK,
                keys::GSI1SK,
                &keys::message_to(message.to.as_str(), message.sent_at, service_id),
            )
            .build();
        let mut writes = vec![tx_put(&self.table, by_service_id, Some(CREATE), vec![])?];
        if rfc822_id != service_id {
            let by_rfc822_id = ItemBuilder::new(&keys::message(rfc822_id))
                .doc(message)?
                .build();
            writes.push(tx_put(&self.table, by_rfc822_id, Some(CREATE), vec![])?);
        }
        Ok(writes)
    }

    /// Runs `writes`, of which those from `first_index_entry` on are message
    /// index entries created on the condition that their id is free: an id
    /// already indexed keeps its first attempt (a message id maps to one
    /// attempt, R-8.1, R-9.6; the embedded store's `ON CONFLICT DO NOTHING`),
    /// so the entries whose condition failed are left out and the rest is
    /// written again. A failed condition before them is the caller's answer.
    async fn transact_keeping_first(
        &self,
        mut writes: Vec<TransactWriteItem>,
        first_index_entry: usize,
    ) -> Result<(), DynamoError> {
        // Each round leaves out at least one entry; a message has two.
        for _ in 0..=MESSAGE_IDS {
            if writes.is_empty() {
                return Ok(());
            }
            let reasons = match self.transact(writes.clone()).await {
                Err(DynamoError::Cancelled(reasons)) => reasons,
                other => return other,
            };
            let taken = |i: usize| {
                reasons
                    .get(i)
                    .is_some_and(|r| r == "ConditionalCheckFailed")
            };
            if (0..first_index_entry).any(taken) || !(first_index_entry..writes.len()).any(taken) {
                return Err(DynamoError::Cancelled(reasons));
            }
            let mut i = 0;
            writes.retain(|_| {
                let keep = !taken(i);
                i += 1;
                keep
            });
        }
        Err(DynamoError::Failed(
            "message index entries kept failing their condition".into(),
        ))
    }
}

/// The ids a message is indexed under.
const MESSAGE_IDS: usize = 2;

fn trim_message_id(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// An event's item: events of the same instant keep their order of
/// arrival within a process; the random part keeps two processes from
/// ever writing the same key.
fn event_item(event: &EnrollmentEvent) -> Result<Item, StoreError> {
    let arrival = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let unique = format!("{arrival:020}{:08x}", rand::rng().random::<u32>());
    let key = keys::event(
        event.org_id.as_str(),
        event.enrollment_id.as_str(),
        event.at,
        &unique,
    );
    Ok(ItemBuilder::new(&key).doc(event)?.build())
}

pub(super) async fn append_event(
    store: &DynamoStore,
    event: &EnrollmentEvent,
) -> Result<(), StoreError> {
    store
        .put(event_item(event)?, Some(CREATE), vec![])
        .await
        .map_err(StoreError::from)
}

pub(super) async fn update_enrollment_recording(
    store: &DynamoStore,
    e: &Enrollment,
    expected: u64,
    activity: Activity,
    event: &EnrollmentEvent,
    message: Option<&MessageRef>,
    counters: &[String],
) -> Result<u64, StoreError> {
    // One TransactWriteItems (issue 8): the enrollment (first, so that a
    // lost version check is told apart), its campaign's counter shard, the
    // event, the send counters of the reputation windows (R-2.5, issue 20:
    // they move only with the version check that passes, so once) and the
    // message's index entries.
    let mut writes = vec![tx_put(
        &store.table,
        enrollment_item(e, expected + 1)?,
        Some(SAME_VERSION),
        vec![(":v", n(expected))],
    )?];
    writes.extend(
        store
            .counters_write(e, Some(expected), activity.delta())
            .await?,
    );
    writes.push(tx_put(
        &store.table,
        event_item(event)?,
        Some(CREATE),
        vec![],
    )?);
    for key in counters {
        let add = "ADD #count :one";
        writes.push(tx_update(
            &store.table,
            &keys::counter(key),
            add,
            None,
            vec![(":one", n(1))],
        )?);
    }
    let first_index_entry = writes.len();
    if let Some(m) = message {
        writes.extend(store.message_writes(m)?);
    }
    match store
        .transact_keeping_first(writes, first_index_entry)
        .await
    {
        Ok(()) => {
            store.remember_counted(e, expected + 1);
            Ok(expected + 1)
        }
        Err(err) if err.condition_failed_at(0) => Err(StoreError::Conflict),
        Err(err) => Err(err.into()),
    }
}

pub(super) async fn list_events(
    store: &DynamoStore,
    org: &OrgId,
    enrollment: &EnrollmentId,
    limit: u32,
) -> Result<Vec<EnrollmentEvent>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let query = Query::table(
        keys::enrollment_pk(org.as_str(), enrollment.as_str()),
        Range::BeginsWith(keys::EVENT_PREFIX.into()),
    );
    store.query_docs(&query, Some(limit as usize)).await
}

pub(super) async fn index_message(
    store: &DynamoStore,
    message: &MessageRef,
) -> Result<(), StoreError> {
    // Both free ids find the message, or neither does; a taken one keeps
    // the message it found first.
    store
        .transact_keeping_first(store.message_writes(message)?, 0)
        .await
        .map_err(StoreError::from)
}

pub(super) async fn find_message(
    store: &DynamoStore,
    id: &str,
) -> Result<Option<MessageRef>, StoreError> {
    store.get_doc(&keys::message(trim_message_id(id))).await
}

pub(super) async fn messages_to(
    store: &DynamoStore,
    address: &EmailAddress,
    limit: u32,
) -> Result<Vec<MessageRef>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let query = Query::index(
        keys::GSI1,
        keys::messages_to_pk(address.as_str()),
        Range::All,
    )
    .newest_first();
    store.query_docs(&query, Some(limit as usize)).await
}
