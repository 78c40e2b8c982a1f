//! The `Store` port on one DynamoDB table (SPEC §15).
//!
//! The key design lives in [`keys`]; how records become items in [`item`].
//! The rules the port promises map onto DynamoDB like this:
//! - every write that decides something is a conditional write on the `v`
//!   attribute (a lost condition is `StoreError::Conflict`); creation is
//!   conditional on the item not existing;
//! - a campaign's active-enrollment counter is its own attribute, changed only
//!   with `ADD` in the same `TransactWriteItems` as the enrollment write that
//!   changes it; `put_campaign` rewrites the document and never the counter;
//! - a reveal and a refund are each one transaction (marker + balance + ledger
//!   entry): the marker's condition makes a duplicate fail as a whole;
//! - single-item reads are strongly consistent. Index queries cannot be, so a
//!   lookup through an index returns ids, and whatever decides a send re-reads
//!   the record by key (the handlers already do: a wake-up and the sweeper load
//!   the enrollment with `get_enrollment`);
//! - lists are paginated queries: the port's cursor is the last item's sort key
//!   (as in the embedded store), from which the next query's
//!   `ExclusiveStartKey` is rebuilt, so cursors leak no table layout and are
//!   the same in both modes. Nothing is ever scanned.

pub mod item;
pub mod keys;
pub mod table;

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use outreach_app::model::{
    EmailAccount, EnrollmentEvent, LedgerEntry, LedgerKind, MessageRef, Notification, Project,
    Template, UserProfile,
};
use outreach_app::ports::{
    Activity, Found, Lookup, Page, PageRequest, RevealOutcome, Store, StoreError, Versioned,
};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};
use rand::Rng;
use serde::de::DeserializeOwned;

use item::{
    ACTIVE, BALANCE, BUSY_ATTEMPTS, COUNT, DynamoError, ID, Item, ItemBuilder, ORG, SEQ, VERSION,
    Values, backoff, doc, n, names, number, s, sdk_error, text, transaction_error, tx_delete,
    tx_put, tx_update, values, versioned,
};
use keys::Key;

pub use table::{CreateTableError, create_table};

/// Attempts at a credit movement that lost the race for the ledger sequence.
const LEDGER_ATTEMPTS: usize = 25;

const CREATE: &str = "attribute_not_exists(#pk)";
const SAME_VERSION: &str = "#v = :v";

pub struct DynamoStore {
    client: Client,
    table: String,
}

/// Which part of the key a query constrains besides the partition.
enum Range {
    All,
    BeginsWith(String),
    Below(String),
}

/// One query: a partition of the table or of an index, in sort-key order.
struct Query {
    index: Option<&'static str>,
    pk_attr: &'static str,
    sk_attr: &'static str,
    pk: String,
    range: Range,
    start: Option<Item>,
    forward: bool,
}

impl Query {
    fn table(pk: String, range: Range) -> Self {
        Query {
            index: None,
            pk_attr: keys::PK,
            sk_attr: keys::SK,
            pk,
            range,
            start: None,
            forward: true,
        }
    }

    fn index(index: &'static str, pk: String, range: Range) -> Self {
        let (pk_attr, sk_attr) = match index {
            keys::GSI1 => (keys::GSI1PK, keys::GSI1SK),
            keys::GSI2 => (keys::GSI2PK, keys::GSI2SK),
            _ => (keys::GSI3PK, keys::GSI3SK),
        };
        Query {
            index: Some(index),
            pk_attr,
            sk_attr,
            pk,
            range,
            start: None,
            forward: true,
        }
    }

    /// Continues after the item with `key` (and, in an index, `index_key`).
    fn after(mut self, key: Option<(Key, Option<Key>)>) -> Self {
        self.start = key.map(|(key, index_key)| {
            let mut start = item::key_item(&key);
            if let Some(ik) = index_key {
                start.insert(self.pk_attr.to_owned(), s(ik.pk));
                start.insert(self.sk_attr.to_owned(), s(ik.sk));
            }
            start
        });
        self
    }

    fn newest_first(mut self) -> Self {
        self.forward = false;
        self
    }
}

fn campaign_from(item: &Item) -> Result<Versioned<Campaign>, StoreError> {
    let mut campaign: Versioned<Campaign> = versioned(item)?;
    // The counter lives beside the document and is the only truth about it.
    campaign.value.active_enrollments = number(item, ACTIVE).unwrap_or(0);
    Ok(campaign)
}

fn ledger_entry(
    seq: i64,
    kind: LedgerKind,
    candidate: Option<&CandidateId>,
    amount: i64,
    at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        seq,
        kind,
        candidate_id: candidate.cloned(),
        amount,
        at,
    }
}

fn trim_message_id(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

impl DynamoStore {
    /// A store on `table` (created beforehand, e.g. with [`create_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// A strongly consistent read of one item.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from(sdk_error(e)))?;
        Ok(out.item.filter(|i| !i.is_empty()))
    }

    /// A `PutItem`, retried while a concurrent transaction holds the item.
    async fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        vals: Values,
    ) -> Result<(), DynamoError> {
        for attempt in 0..BUSY_ATTEMPTS {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_names(names(&[condition]))
                .set_expression_attribute_values(values(vals.clone()))
                .send()
                .await;
            match result.map_err(sdk_error) {
                Err(DynamoError::Busy) => backoff(attempt).await,
                other => return other.map(|_| ()),
            }
        }
        Err(DynamoError::Failed(
            "the item stayed locked by transactions".into(),
        ))
    }

    /// An `UpdateItem`, retried while a concurrent transaction holds the item.
    async fn update(
        &self,
        key: &Key,
        expression: &str,
        condition: Option<&str>,
        vals: Values,
    ) -> Result<(), DynamoError> {
        for attempt in 0..BUSY_ATTEMPTS {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(item::key_item(key)))
                .update_expression(expression)
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_names(names(&[Some(expression), condition]))
                .set_expression_attribute_values(values(vals.clone()))
                .send()
                .await;
            match result.map_err(sdk_error) {
                Err(DynamoError::Busy) => backoff(attempt).await,
                other => return other.map(|_| ()),
            }
        }
        Err(DynamoError::Failed(
            "the item stayed locked by transactions".into(),
        ))
    }

    /// One `TransactWriteItems`, retried while it only met contention. (The SDK
    /// fills in the idempotency token, so its own retries of a request whose
    /// answer was lost cannot apply it twice.)
    async fn transact(&self, writes: Vec<TransactWriteItem>) -> Result<(), DynamoError> {
        for attempt in 0..BUSY_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await;
            match result.map_err(transaction_error) {
                Err(DynamoError::Busy) => backoff(attempt).await,
                other => return other.map(|_| ()),
            }
        }
        Err(DynamoError::Failed(
            "the transaction kept meeting concurrent ones".into(),
        ))
    }

    /// Runs `query`, following `LastEvaluatedKey` until `want` items (or all) are read.
    async fn query(&self, query: &Query, want: Option<usize>) -> Result<Vec<Item>, StoreError> {
        let (condition, mut vals): (String, Values) = match &query.range {
            Range::All => ("#qpk = :qpk".into(), vec![]),
            Range::BeginsWith(prefix) => (
                "#qpk = :qpk AND begins_with(#qsk, :qsk)".into(),
                vec![(":qsk", s(prefix))],
            ),
            Range::Below(bound) => (
                "#qpk = :qpk AND #qsk < :qsk".into(),
                vec![(":qsk", s(bound))],
            ),
        };
        vals.push((":qpk", s(&query.pk)));
        let mut attr_names =
            std::collections::HashMap::from([("#qpk".to_owned(), query.pk_attr.to_owned())]);
        if !matches!(query.range, Range::All) {
            attr_names.insert("#qsk".to_owned(), query.sk_attr.to_owned());
        }
        let mut start = query.start.clone();
        let mut items = Vec::new();
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(query.index.map(str::to_owned))
                .key_condition_expression(&condition)
                .set_expression_attribute_names(Some(attr_names.clone()))
                .set_expression_attribute_values(values(vals.clone()))
                .scan_index_forward(query.forward)
                // Indexes cannot be read consistently; the table can.
                .consistent_read(query.index.is_none())
                .set_exclusive_start_key(start.take());
            if let Some(want) = want {
                let left = want.saturating_sub(items.len()).max(1);
                request = request.limit(i32::try_from(left).unwrap_or(i32::MAX));
            }
            let out = request
                .send()
                .await
                .map_err(|e| StoreError::from(sdk_error(e)))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() && want.is_none_or(|w| items.len() < w) => {
                    start = Some(key)
                }
                _ => return Ok(items),
            }
        }
    }

    /// One page of a list: reads one item more than asked to know whether more follow.
    async fn page<T, F>(
        &self,
        query: Query,
        limit: u32,
        decode: impl Fn(&Item) -> Result<T, StoreError>,
        cursor: F,
    ) -> Result<Page<T>, StoreError>
    where
        F: Fn(&T) -> String,
    {
        let limit = limit.max(1) as usize;
        let mut items = self.query(&query, Some(limit + 1)).await?;
        let more = items.len() > limit;
        items.truncate(limit);
        let items = items.iter().map(decode).collect::<Result<Vec<T>, _>>()?;
        let next = if more { items.last().map(cursor) } else { None };
        Ok(Page { items, next })
    }

    async fn get_doc<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        self.get(key).await?.map(|i| doc(&i)).transpose()
    }

    /// Creates (`expected: None`) or replaces version `expected` of a whole item.
    async fn put_versioned(
        &self,
        item: ItemBuilder,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let next = expected.map_or(1, |v| v + 1);
        let item = item.attr(VERSION, n(next)).build();
        let result = match expected {
            None => self.put(item, Some(CREATE), vec![]).await,
            Some(v) => self.put(item, Some(SAME_VERSION), vec![(":v", n(v))]).await,
        };
        result.map_err(StoreError::from)?;
        Ok(next)
    }

    /// A plain replace, for records no rule races on.
    async fn upsert(&self, item: ItemBuilder) -> Result<(), StoreError> {
        self.put(item.build(), None, vec![])
            .await
            .map_err(StoreError::from)
    }

    fn account_item(a: &EmailAccount) -> Result<ItemBuilder, StoreError> {
        Ok(ItemBuilder::new(&keys::account(a.id.as_str()))
            .doc(a)?
            .text(ORG, a.org_id.as_str())
            .text(ID, a.id.as_str())
            .index(
                keys::GSI1PK,
                keys::GSI1SK,
                &keys::account_by_owner(
                    a.org_id.as_str(),
                    a.owner_id.as_str(),
                    a.address.as_str(),
                    a.id.as_str(),
                ),
            )
            .index(
                keys::GSI2PK,
                keys::GSI2SK,
                &keys::account_in_all(a.id.as_str()),
            ))
    }

    /// Consistent reads of many items (`BatchGetItem`, 100 keys a request),
    /// in no particular order; missing ones are left out.
    async fn get_many(&self, wanted: &[Key]) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in wanted.chunks(100) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(item::key_item).collect()))
                .consistent_read(true)
                .build()
                .map_err(item::build_error)?;
            let mut attempt = 0;
            loop {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending.clone())
                    .send()
                    .await
                    .map_err(|e| StoreError::from(sdk_error(e)))?;
                if let Some(mut responses) = out.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                // Keys DynamoDB did not get to (throttling, size) are asked again.
                match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    Some(left) if !left.keys().is_empty() => {
                        attempt += 1;
                        if attempt == BUSY_ATTEMPTS {
                            return Err(StoreError::Unavailable(
                                "DynamoDB kept leaving keys of a batch read unprocessed".into(),
                            ));
                        }
                        pending = left;
                        backoff(attempt).await;
                    }
                    _ => break,
                }
            }
        }
        Ok(found)
    }

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
        let mut writes = vec![tx_put(&self.table, by_service_id, None, vec![])?];
        if rfc822_id != service_id {
            let by_rfc822_id = ItemBuilder::new(&keys::message(rfc822_id))
                .doc(message)?
                .build();
            writes.push(tx_put(&self.table, by_rfc822_id, None, vec![])?);
        }
        Ok(writes)
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

    fn enrollment_item(e: &Enrollment, version: u64) -> Result<Item, StoreError> {
        let (org, id) = (e.org_id.as_str(), e.id.as_str());
        let mut item = ItemBuilder::new(&keys::enrollment(org, id))
            .doc(e)?
            .attr(VERSION, n(version))
            .text(ORG, org)
            .text(ID, id)
            .index(
                keys::GSI1PK,
                keys::GSI1SK,
                &keys::enrollment_in_campaign(org, e.campaign_id.as_str(), id),
            )
            .index(
                keys::GSI2PK,
                keys::GSI2SK,
                &keys::enrollment_of_candidate(
                    org,
                    e.candidate_id.as_str(),
                    e.campaign_id.as_str(),
                    id,
                ),
            );
        // Sparse: only an enrollment with something due is in the due index.
        if let Some(due) = e.next_due_at {
            item = item.index(keys::GSI3PK, keys::GSI3SK, &keys::due(org, id, due));
        }
        Ok(item.build())
    }

    /// `ADD` to a campaign's counter; the version moves too, so that a campaign
    /// read before the change cannot be written back over it (as in the
    /// embedded store, which `complete_if_done` relies on).
    fn counter_change(&self, e: &Enrollment, delta: i64) -> Result<TransactWriteItem, StoreError> {
        tx_update(
            &self.table,
            &keys::campaign(e.org_id.as_str(), e.campaign_id.as_str()),
            "ADD #active :delta, #v :one",
            Some("attribute_exists(#pk)"),
            vec![(":delta", n(delta)), (":one", n(1))],
        )
    }

    /// The organization's balance and ledger sequence; `None` before `ensure_org`.
    async fn org_state(&self, org: &OrgId) -> Result<Option<(i64, i64)>, StoreError> {
        match self.get(&keys::org(org.as_str())).await? {
            Some(item) => Ok(Some((number(&item, BALANCE)?, number(&item, SEQ)?))),
            None => Ok(None),
        }
    }

    /// The writes moving `amount` credits with ledger entry `seq + 1`, on the
    /// condition that nobody else moved the sequence meanwhile.
    fn credit_movement(
        &self,
        org: &OrgId,
        seq: i64,
        entry: &LedgerEntry,
    ) -> Result<[TransactWriteItem; 2], StoreError> {
        let balance = tx_update(
            &self.table,
            &keys::org(org.as_str()),
            "SET #balance = #balance + :amount, #seq = :next",
            Some(if entry.amount < 0 {
                "#seq = :seq AND #balance >= :needed"
            } else {
                "#seq = :seq"
            }),
            {
                let mut v: Values = vec![
                    (":amount", n(entry.amount)),
                    (":next", n(entry.seq)),
                    (":seq", n(seq)),
                ];
                if entry.amount < 0 {
                    v.push((":needed", n(-entry.amount)));
                }
                v
            },
        )?;
        let ledger = tx_put(
            &self.table,
            ItemBuilder::new(&keys::ledger(org.as_str(), entry.seq))
                .doc(entry)?
                .build(),
            Some(CREATE),
            vec![],
        )?;
        Ok([balance, ledger])
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn ensure_org(
        &self,
        org: &OrgId,
        initial_credits: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let granted = initial_credits > 0;
        let org_item = ItemBuilder::new(&keys::org(org.as_str()))
            .attr(BALANCE, n(initial_credits))
            .attr(SEQ, n(i64::from(granted)))
            .build();
        let mut writes = vec![tx_put(&self.table, org_item, Some(CREATE), vec![])?];
        if granted {
            let grant = ledger_entry(1, LedgerKind::Grant, None, initial_credits, now);
            writes.push(tx_put(
                &self.table,
                ItemBuilder::new(&keys::ledger(org.as_str(), 1))
                    .doc(&grant)?
                    .build(),
                Some(CREATE),
                vec![],
            )?);
        }
        match self.transact(writes).await {
            Ok(()) => Ok(()),
            // Seen before: its credits were granted then.
            Err(e) if e.condition_failed_at(0) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn credit_balance(&self, org: &OrgId) -> Result<i64, StoreError> {
        Ok(self.org_state(org).await?.map_or(0, |(balance, _)| balance))
    }

    async fn reveal(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        now: DateTime<Utc>,
    ) -> Result<RevealOutcome, StoreError> {
        for attempt in 0..LEDGER_ATTEMPTS {
            let (balance, seq) = self.org_state(org).await?.unwrap_or((0, 0));
            if balance <= 0 {
                return Ok(if self.is_revealed(org, candidate).await? {
                    RevealOutcome::AlreadyRevealed
                } else {
                    RevealOutcome::NoCredits
                });
            }
            let entry = ledger_entry(seq + 1, LedgerKind::Reveal, Some(candidate), -1, now);
            let marker = ItemBuilder::new(&keys::reveal(org.as_str(), candidate.as_str()))
                .text("revealed_at", now.to_rfc3339())
                .build();
            let [movement, ledger] = self.credit_movement(org, seq, &entry)?;
            let writes = vec![
                tx_put(&self.table, marker, Some(CREATE), vec![])?,
                movement,
                ledger,
            ];
            match self.transact(writes).await {
                Ok(()) => return Ok(RevealOutcome::Spent),
                Err(e) if e.condition_failed_at(0) => return Ok(RevealOutcome::AlreadyRevealed),
                // Another movement took the sequence (or the last credit): look again.
                Err(e @ DynamoError::Cancelled(_)) if e.condition_failed_at(1) => {
                    backoff(attempt.min(3)).await
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn grant_credits(
        &self,
        org: &OrgId,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for attempt in 0..LEDGER_ATTEMPTS {
            let writes = match self.org_state(org).await? {
                Some((_, seq)) => {
                    let entry = ledger_entry(seq + 1, LedgerKind::Grant, None, amount, now);
                    Vec::from(self.credit_movement(org, seq, &entry)?)
                }
                None => {
                    // Granted before the organization was first seen: it starts with the grant.
                    let entry = ledger_entry(1, LedgerKind::Grant, None, amount, now);
                    let org_item = ItemBuilder::new(&keys::org(org.as_str()))
                        .attr(BALANCE, n(amount))
                        .attr(SEQ, n(1))
                        .build();
                    vec![
                        tx_put(&self.table, org_item, Some(CREATE), vec![])?,
                        tx_put(
                            &self.table,
                            ItemBuilder::new(&keys::ledger(org.as_str(), 1))
                                .doc(&entry)?
                                .build(),
                            Some(CREATE),
                            vec![],
                        )?,
                    ]
                }
            };
            match self.transact(writes).await {
                Ok(()) => return Ok(()),
                // Another movement took the sequence, or created the organization.
                Err(e @ DynamoError::Cancelled(_)) if e.condition_failed_at(0) => {
                    backoff(attempt.min(3)).await
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn is_revealed(&self, org: &OrgId, candidate: &CandidateId) -> Result<bool, StoreError> {
        Ok(self
            .get(&keys::reveal(org.as_str(), candidate.as_str()))
            .await?
            .is_some())
    }

    async fn ledger(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        let after = page
            .after
            .as_deref()
            .and_then(|a| a.parse::<i64>().ok())
            .map(|seq| (keys::ledger(org.as_str(), seq), None));
        let query = Query::table(
            keys::org_pk(org.as_str()),
            Range::BeginsWith(keys::LEDGER_PREFIX.into()),
        )
        .after(after);
        self.page(query, page.limit, doc, |e: &LedgerEntry| e.seq.to_string())
            .await
    }

    async fn get_user(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<UserProfile>, StoreError> {
        self.get_doc(&keys::user(org.as_str(), user.as_str())).await
    }

    async fn put_user(&self, profile: &UserProfile) -> Result<(), StoreError> {
        let key = keys::user(profile.org_id.as_str(), profile.id.as_str());
        self.upsert(ItemBuilder::new(&key).doc(profile)?).await
    }

    async fn get_account(
        &self,
        id: &AccountId,
    ) -> Result<Option<Versioned<EmailAccount>>, StoreError> {
        self.get(&keys::account(id.as_str()))
            .await?
            .map(|i| versioned(&i))
            .transpose()
    }

    async fn find_account(
        &self,
        owner: &UserId,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<Option<Versioned<EmailAccount>>, StoreError> {
        let query = Query::index(
            keys::GSI1,
            keys::accounts_of_pk(org.as_str(), owner.as_str()),
            Range::BeginsWith(keys::account_address_prefix(address.as_str())),
        );
        let found = self.query(&query, Some(1)).await?;
        let Some(item) = found.first() else {
            return Ok(None);
        };
        // The index may lag: the record itself, read consistently, decides.
        let account = self.get_account(&AccountId::new(text(item, ID)?)).await?;
        Ok(account.filter(|a| {
            &a.value.org_id == org && &a.value.owner_id == owner && &a.value.address == address
        }))
    }

    async fn accounts_of(
        &self,
        org: &OrgId,
        owner: &UserId,
    ) -> Result<Vec<EmailAccount>, StoreError> {
        let query = Query::index(
            keys::GSI1,
            keys::accounts_of_pk(org.as_str(), owner.as_str()),
            Range::BeginsWith(keys::ACCOUNT_ADDRESSES.into()),
        );
        let mut accounts = self
            .query(&query, None)
            .await?
            .iter()
            .map(doc)
            .collect::<Result<Vec<EmailAccount>, _>>()?;
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(accounts)
    }

    async fn put_account(
        &self,
        account: &EmailAccount,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.put_versioned(Self::account_item(account)?, expected)
            .await
    }

    async fn get_candidate(
        &self,
        org: &OrgId,
        id: &CandidateId,
    ) -> Result<Option<Versioned<Candidate>>, StoreError> {
        self.get(&keys::candidate(org.as_str(), id.as_str()))
            .await?
            .map(|i| versioned(&i))
            .transpose()
    }

    async fn put_candidate(
        &self,
        candidate: &Candidate,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let (org, id) = (candidate.org_id.as_str(), candidate.id.as_str());
        let key = keys::candidate(org, id);
        let addresses: BTreeSet<&str> = candidate
            .emails
            .iter()
            .map(|e| e.address.as_str())
            .collect();
        // The address items to remove are those of the version being replaced.
        let previous: BTreeSet<String> = match expected {
            None => BTreeSet::new(),
            Some(v) => {
                let Some(current) = self.get(&key).await? else {
                    return Err(StoreError::Conflict);
                };
                let current: Versioned<Candidate> = versioned(&current)?;
                if current.version != v {
                    return Err(StoreError::Conflict);
                }
                current
                    .value
                    .emails
                    .iter()
                    .map(|e| e.address.as_str().to_owned())
                    .collect()
            }
        };
        let next = expected.map_or(1, |v| v + 1);
        let item = ItemBuilder::new(&key)
            .doc(candidate)?
            .attr(VERSION, n(next))
            .build();
        let unchanged = previous.len() == addresses.len()
            && previous.iter().all(|a| addresses.contains(a.as_str()));
        if let (Some(v), true) = (expected, unchanged) {
            // The common update (a bounce mark): one conditional write.
            self.put(item, Some(SAME_VERSION), vec![(":v", n(v))])
                .await
                .map_err(StoreError::from)?;
            return Ok(next);
        }
        let mut writes = vec![match expected {
            None => tx_put(&self.table, item, Some(CREATE), vec![])?,
            Some(v) => tx_put(&self.table, item, Some(SAME_VERSION), vec![(":v", n(v))])?,
        }];
        for address in &addresses {
            let entry = ItemBuilder::new(&keys::candidate_address(org, address, id))
                .text(ORG, org)
                .text(ID, id)
                .build();
            writes.push(tx_put(&self.table, entry, None, vec![])?);
        }
        for gone in previous.iter().filter(|a| !addresses.contains(a.as_str())) {
            writes.push(tx_delete(
                &self.table,
                &keys::candidate_address(org, gone, id),
            )?);
        }
        self.transact(writes).await.map_err(StoreError::from)?;
        Ok(next)
    }

    async fn list_candidates(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Candidate>, StoreError> {
        let after = page
            .after
            .as_deref()
            .map(|id| (keys::candidate(org.as_str(), id), None));
        let query = Query::table(
            keys::org_pk(org.as_str()),
            Range::BeginsWith(keys::CANDIDATE_PREFIX.into()),
        )
        .after(after);
        self.page(query, page.limit, doc, |c: &Candidate| c.id.to_string())
            .await
    }

    async fn get_project(&self, org: &OrgId, id: &str) -> Result<Option<Project>, StoreError> {
        self.get_doc(&keys::project(org.as_str(), id)).await
    }

    async fn put_project(&self, project: &Project) -> Result<(), StoreError> {
        let key = keys::project(project.org_id.as_str(), &project.id);
        self.upsert(ItemBuilder::new(&key).doc(project)?).await
    }

    async fn list_projects(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Project>, StoreError> {
        let after = page
            .after
            .as_deref()
            .map(|id| (keys::project(org.as_str(), id), None));
        let query = Query::table(
            keys::org_pk(org.as_str()),
            Range::BeginsWith(keys::PROJECT_PREFIX.into()),
        )
        .after(after);
        self.page(query, page.limit, doc, |p: &Project| p.id.clone())
            .await
    }

    async fn get_template(&self, org: &OrgId, id: &str) -> Result<Option<Template>, StoreError> {
        self.get_doc(&keys::template(org.as_str(), id)).await
    }

    async fn put_template(&self, template: &Template) -> Result<(), StoreError> {
        let key = keys::template(template.org_id.as_str(), &template.id);
        self.upsert(ItemBuilder::new(&key).doc(template)?).await
    }

    async fn delete_template(&self, org: &OrgId, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(&keys::template(org.as_str(), id))))
            .send()
            .await
            .map_err(|e| StoreError::from(sdk_error(e)))?;
        Ok(())
    }

    async fn list_templates(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Template>, StoreError> {
        let after = page
            .after
            .as_deref()
            .map(|id| (keys::template(org.as_str(), id), None));
        let query = Query::table(
            keys::org_pk(org.as_str()),
            Range::BeginsWith(keys::TEMPLATE_PREFIX.into()),
        )
        .after(after);
        self.page(query, page.limit, doc, |t: &Template| t.id.clone())
            .await
    }

    async fn get_campaign(
        &self,
        org: &OrgId,
        id: &CampaignId,
    ) -> Result<Option<Versioned<Campaign>>, StoreError> {
        self.get(&keys::campaign(org.as_str(), id.as_str()))
            .await?
            .map(|i| campaign_from(&i))
            .transpose()
    }

    async fn put_campaign(
        &self,
        campaign: &Campaign,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let (org, id) = (campaign.org_id.as_str(), campaign.id.as_str());
        let key = keys::campaign(org, id);
        let in_project = keys::campaign_in_project(org, campaign.project_id.as_str(), id);
        let by_sender = keys::campaign_by_sender(campaign.sender_account_id.as_str(), org, id);
        let body = item::to_json(campaign)?;
        match expected {
            None => {
                let item = ItemBuilder::new(&key)
                    .text(item::DOC, body)
                    .attr(VERSION, n(1))
                    .attr(ACTIVE, n(0))
                    .text(ORG, org)
                    .text(ID, id)
                    .index(keys::GSI1PK, keys::GSI1SK, &in_project)
                    .index(keys::GSI2PK, keys::GSI2SK, &by_sender)
                    .build();
                self.put(item, Some(CREATE), vec![])
                    .await
                    .map_err(StoreError::from)?;
                Ok(1)
            }
            Some(v) => {
                // The document and its index keys only: the counter is not ours to set.
                self.update(
                    &key,
                    "SET #doc = :doc, #v = :next, #g1pk = :g1pk, #g1sk = :g1sk, #g2pk = :g2pk, #g2sk = :g2sk",
                    Some(SAME_VERSION),
                    vec![
                        (":doc", s(body)),
                        (":next", n(v + 1)),
                        (":v", n(v)),
                        (":g1pk", s(in_project.pk)),
                        (":g1sk", s(in_project.sk)),
                        (":g2pk", s(by_sender.pk)),
                        (":g2sk", s(by_sender.sk)),
                    ],
                )
                .await
                .map_err(StoreError::from)?;
                Ok(v + 1)
            }
        }
    }

    async fn list_campaigns(
        &self,
        org: &OrgId,
        project: &str,
        page: &PageRequest,
    ) -> Result<Page<Campaign>, StoreError> {
        let after = page.after.as_deref().map(|id| {
            (
                keys::campaign(org.as_str(), id),
                Some(keys::campaign_in_project(org.as_str(), project, id)),
            )
        });
        let query = Query::index(
            keys::GSI1,
            keys::campaigns_of_project_pk(org.as_str(), project),
            Range::BeginsWith(keys::CAMPAIGN_PREFIX.into()),
        )
        .after(after);
        self.page(
            query,
            page.limit,
            |i| campaign_from(i).map(|c| c.value),
            |c: &Campaign| c.id.to_string(),
        )
        .await
    }

    async fn get_enrollment(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
    ) -> Result<Option<Versioned<Enrollment>>, StoreError> {
        self.get(&keys::enrollment(org.as_str(), id.as_str()))
            .await?
            .map(|i| versioned(&i))
            .transpose()
    }

    async fn insert_enrollment(&self, e: &Enrollment) -> Result<(), StoreError> {
        let mut writes = vec![tx_put(
            &self.table,
            Self::enrollment_item(e, 1)?,
            Some(CREATE),
            vec![],
        )?];
        for token in [&e.reply_token, &e.unsubscribe_token] {
            let item = ItemBuilder::new(&keys::token(token))
                .text(ORG, e.org_id.as_str())
                .text(ID, e.id.as_str())
                .build();
            writes.push(tx_put(&self.table, item, Some(CREATE), vec![])?);
        }
        let counted = !e.is_ended();
        if counted {
            writes.push(self.counter_change(e, 1)?);
        }
        match self.transact(writes).await {
            Ok(()) => Ok(()),
            Err(err)
                if counted
                    && err.condition_failed_at(3)
                    && !(0..3).any(|i| err.condition_failed_at(i)) =>
            {
                Err(StoreError::Unavailable(format!(
                    "campaign {} does not exist",
                    e.campaign_id
                )))
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn update_enrollment(
        &self,
        e: &Enrollment,
        expected: u64,
        activity: Activity,
    ) -> Result<u64, StoreError> {
        let item = Self::enrollment_item(e, expected + 1)?;
        if activity != Activity::Unchanged {
            let writes = vec![
                tx_put(
                    &self.table,
                    item,
                    Some(SAME_VERSION),
                    vec![(":v", n(expected))],
                )?,
                self.counter_change(e, activity.delta())?,
            ];
            match self.transact(writes).await {
                Ok(()) => {}
                Err(err) if err.condition_failed_at(0) => return Err(StoreError::Conflict),
                Err(DynamoError::Cancelled(reasons)) => {
                    return Err(StoreError::Unavailable(format!(
                        "campaign {} does not exist ({reasons:?})",
                        e.campaign_id
                    )));
                }
                Err(err) => return Err(err.into()),
            }
        } else {
            // A claim, a record, a re-plan: one conditional write.
            self.put(item, Some(SAME_VERSION), vec![(":v", n(expected))])
                .await
                .map_err(StoreError::from)?;
        }
        Ok(expected + 1)
    }

    async fn list_enrollments(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        page: &PageRequest,
    ) -> Result<Page<Enrollment>, StoreError> {
        let after = page.after.as_deref().map(|id| {
            (
                keys::enrollment(org.as_str(), id),
                Some(keys::enrollment_in_campaign(
                    org.as_str(),
                    campaign.as_str(),
                    id,
                )),
            )
        });
        let query = Query::index(
            keys::GSI1,
            keys::enrollments_of_campaign_pk(org.as_str(), campaign.as_str()),
            Range::BeginsWith(keys::ENROLLMENT_PREFIX.into()),
        )
        .after(after);
        self.page(query, page.limit, doc, |e: &Enrollment| e.id.to_string())
            .await
    }

    async fn list_due(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(OrgId, EnrollmentId)>, StoreError> {
        let limit = limit as usize;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let bound = keys::due_upper_bound(before);
        // Each shard is in due order; the earliest `limit` overall are among the
        // earliest `limit` of each shard.
        let mut due = Vec::new();
        for shard in 0..keys::DUE_SHARDS {
            let query = Query::index(keys::GSI3, keys::due_pk(shard), Range::Below(bound.clone()));
            for item in self.query(&query, Some(limit)).await? {
                let sort = text(&item, keys::GSI3SK)?.to_owned();
                let org = OrgId::new(text(&item, ORG)?);
                let id = EnrollmentId::new(text(&item, ID)?);
                due.push((sort, org, id));
            }
        }
        due.sort();
        Ok(due
            .into_iter()
            .take(limit)
            .map(|(_, org, id)| (org, id))
            .collect())
    }

    async fn enrollment_of_candidate(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        candidate: &CandidateId,
    ) -> Result<Option<EnrollmentId>, StoreError> {
        let query = Query::index(
            keys::GSI2,
            keys::enrollments_of_candidate_pk(org.as_str(), candidate.as_str()),
            Range::BeginsWith(keys::candidate_campaign_prefix(campaign.as_str())),
        );
        let found = self.query(&query, Some(1)).await?;
        found
            .first()
            .map(|i| text(i, ID).map(EnrollmentId::new))
            .transpose()
    }

    async fn enrollments_of_candidate_in_org(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Result<Vec<EnrollmentId>, StoreError> {
        let query = Query::index(
            keys::GSI2,
            keys::enrollments_of_candidate_pk(org.as_str(), candidate.as_str()),
            Range::BeginsWith(keys::CAMPAIGN_PREFIX.into()),
        );
        let mut ids = self
            .query(&query, None)
            .await?
            .iter()
            .map(|i| text(i, ID).map(EnrollmentId::new))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        Ok(ids)
    }

    async fn campaigns_using(
        &self,
        account: &AccountId,
    ) -> Result<Vec<(OrgId, CampaignId)>, StoreError> {
        let query = Query::index(
            keys::GSI2,
            keys::campaigns_using_pk(account.as_str()),
            Range::BeginsWith(keys::CAMPAIGN_PREFIX.into()),
        );
        let mut found = self
            .query(&query, None)
            .await?
            .iter()
            .map(|i| Ok((OrgId::new(text(i, ORG)?), CampaignId::new(text(i, ID)?))))
            .collect::<Result<Vec<_>, StoreError>>()?;
        found.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        Ok(found)
    }

    async fn find_token(&self, token: &str) -> Result<Option<(OrgId, EnrollmentId)>, StoreError> {
        match self.get(&keys::token(token)).await? {
            Some(item) => Ok(Some((
                OrgId::new(text(&item, ORG)?),
                EnrollmentId::new(text(&item, ID)?),
            ))),
            None => Ok(None),
        }
    }

    async fn index_message(&self, message: &MessageRef) -> Result<(), StoreError> {
        // Both ids find the message, or neither does.
        self.transact(self.message_writes(message)?)
            .await
            .map_err(StoreError::from)
    }

    async fn find_message(&self, id: &str) -> Result<Option<MessageRef>, StoreError> {
        self.get_doc(&keys::message(trim_message_id(id))).await
    }

    async fn messages_to(
        &self,
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
        self.query(&query, Some(limit as usize))
            .await?
            .iter()
            .map(doc)
            .collect()
    }

    async fn candidates_with_address(
        &self,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<Vec<CandidateId>, StoreError> {
        let query = Query::table(keys::address_pk(org.as_str(), address.as_str()), Range::All);
        let mut ids = self
            .query(&query, None)
            .await?
            .iter()
            .map(|i| text(i, ID).map(CandidateId::new))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        Ok(ids)
    }

    async fn suppress(
        &self,
        org: &OrgId,
        key: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let item = ItemBuilder::new(&keys::suppression(org.as_str(), key))
            .text("reason", reason)
            .text("at", now.to_rfc3339())
            .build();
        match self.put(item, Some(CREATE), vec![]).await {
            Ok(()) => Ok(true),
            Err(DynamoError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn is_suppressed(&self, org: &OrgId, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .get(&keys::suppression(org.as_str(), key))
            .await?
            .is_some())
    }

    async fn refund_once(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        for attempt in 0..LEDGER_ATTEMPTS {
            let Some((_, seq)) = self.org_state(org).await? else {
                // No organization, so no reveal to refund.
                return Ok(false);
            };
            let entry = ledger_entry(seq + 1, LedgerKind::Refund, Some(candidate), 1, now);
            let [movement, ledger] = self.credit_movement(org, seq, &entry)?;
            let writes = vec![
                // The marker: revealed, and not refunded yet.
                tx_update(
                    &self.table,
                    &keys::reveal(org.as_str(), candidate.as_str()),
                    "SET #refunded = :now",
                    Some("attribute_exists(#pk) AND attribute_not_exists(#refunded)"),
                    vec![(":now", s(now.to_rfc3339()))],
                )?,
                movement,
                ledger,
            ];
            match self.transact(writes).await {
                Ok(()) => return Ok(true),
                Err(e) if e.condition_failed_at(0) => return Ok(false),
                Err(e @ DynamoError::Cancelled(_)) if e.condition_failed_at(1) => {
                    backoff(attempt.min(3)).await
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn first_time(&self, key: &str, expires_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let item = ItemBuilder::new(&keys::seen(key))
            .attr(keys::TTL, n(expires_at.timestamp()))
            .build();
        match self.put(item, Some(CREATE), vec![]).await {
            Ok(()) => Ok(true),
            Err(DynamoError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn put_notification(&self, notification: &Notification) -> Result<(), StoreError> {
        let key = keys::notification(
            notification.org_id.as_str(),
            &notification.project_id,
            &notification.id,
        );
        self.upsert(ItemBuilder::new(&key).doc(notification)?).await
    }

    async fn list_notifications(
        &self,
        org: &OrgId,
        project: &str,
    ) -> Result<Vec<Notification>, StoreError> {
        let query = Query::table(
            keys::org_pk(org.as_str()),
            Range::BeginsWith(keys::notification_prefix(project)),
        );
        let mut found = self
            .query(&query, None)
            .await?
            .iter()
            .map(doc)
            .collect::<Result<Vec<Notification>, _>>()?;
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(found)
    }

    async fn list_all_accounts(
        &self,
        page: &PageRequest,
    ) -> Result<Page<EmailAccount>, StoreError> {
        let after = page
            .after
            .as_deref()
            .map(|id| (keys::account(id), Some(keys::account_in_all(id))));
        let query = Query::index(
            keys::GSI2,
            keys::ALL_ACCOUNTS_PK.to_owned(),
            Range::BeginsWith(keys::ACCOUNT_PREFIX.into()),
        )
        .after(after);
        // The index holds ids; the accounts themselves are read by key.
        let ids = self
            .page(
                query,
                page.limit,
                |i| text(i, ID).map(str::to_owned),
                |id: &String| id.clone(),
            )
            .await?;
        let wanted: Vec<Key> = ids.items.iter().map(|id| keys::account(id)).collect();
        let mut accounts = self
            .get_many(&wanted)
            .await?
            .iter()
            .map(doc)
            .collect::<Result<Vec<EmailAccount>, _>>()?;
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Page {
            items: accounts,
            next: ids.next,
        })
    }

    async fn get_record(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<serde_json::Value>>, StoreError> {
        self.get(&keys::record(key))
            .await?
            .map(|i| versioned(&i))
            .transpose()
    }

    async fn put_record(
        &self,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.put_versioned(ItemBuilder::new(&keys::record(key)).doc(value)?, expected)
            .await
    }

    async fn append_event(&self, event: &EnrollmentEvent) -> Result<(), StoreError> {
        self.put(Self::event_item(event)?, Some(CREATE), vec![])
            .await
            .map_err(StoreError::from)
    }

    async fn update_enrollment_recording(
        &self,
        e: &Enrollment,
        expected: u64,
        activity: Activity,
        event: &EnrollmentEvent,
        message: Option<&MessageRef>,
    ) -> Result<u64, StoreError> {
        // One TransactWriteItems (issue 8): the enrollment (first, so that a
        // lost version check is told apart), the campaign's count, the event
        // and the message's index entries.
        let mut writes = vec![tx_put(
            &self.table,
            Self::enrollment_item(e, expected + 1)?,
            Some(SAME_VERSION),
            vec![(":v", n(expected))],
        )?];
        if activity != Activity::Unchanged {
            writes.push(self.counter_change(e, activity.delta())?);
        }
        writes.push(tx_put(
            &self.table,
            Self::event_item(event)?,
            Some(CREATE),
            vec![],
        )?);
        if let Some(m) = message {
            writes.extend(self.message_writes(m)?);
        }
        match self.transact(writes).await {
            Ok(()) => Ok(expected + 1),
            Err(err) if err.condition_failed_at(0) => Err(StoreError::Conflict),
            Err(err) => Err(err.into()),
        }
    }

    async fn increment_counter(&self, key: &str) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::key_item(&keys::counter(key))))
            .update_expression("ADD #count :one")
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| StoreError::from(sdk_error(e)))?;
        counter_value(&out.attributes.unwrap_or_default(), key)
    }

    async fn read_counter(&self, key: &str) -> Result<u64, StoreError> {
        match self.get(&keys::counter(key)).await? {
            Some(item) => counter_value(&item, key),
            None => Ok(0),
        }
    }

    async fn get_batch(&self, lookups: &[Lookup]) -> Result<Vec<Option<Found>>, StoreError> {
        // One BatchGetItem (consistent reads) for every key, each asked once.
        let wanted: Vec<Key> = lookups.iter().map(lookup_key).collect();
        let mut unique: Vec<Key> = Vec::with_capacity(wanted.len());
        for k in &wanted {
            if !unique.contains(k) {
                unique.push(k.clone());
            }
        }
        let mut found = std::collections::HashMap::new();
        for item in self.get_many(&unique).await? {
            let key = Key {
                pk: text(&item, keys::PK)?.to_owned(),
                sk: text(&item, keys::SK)?.to_owned(),
            };
            found.insert(key, item);
        }
        lookups
            .iter()
            .zip(&wanted)
            .map(|(lookup, key)| {
                let Some(item) = found.get(key) else {
                    return Ok(None);
                };
                Ok(Some(match lookup {
                    Lookup::Enrollment(..) => Found::Enrollment(Box::new(versioned(item)?)),
                    Lookup::Campaign(..) => Found::Campaign(Box::new(campaign_from(item)?)),
                    Lookup::Candidate(..) => Found::Candidate(Box::new(versioned(item)?)),
                    Lookup::Account(_) => Found::Account(Box::new(versioned(item)?)),
                    Lookup::Suppressed(..) => Found::Suppressed,
                    Lookup::Record(_) => Found::Record(versioned(item)?),
                }))
            })
            .collect()
    }

    async fn list_events(
        &self,
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
        self.query(&query, Some(limit as usize))
            .await?
            .iter()
            .map(doc)
            .collect()
    }
}

/// The table key a batched read asks for.
fn lookup_key(lookup: &Lookup) -> Key {
    match lookup {
        Lookup::Enrollment(org, id) => keys::enrollment(org.as_str(), id.as_str()),
        Lookup::Campaign(org, id) => keys::campaign(org.as_str(), id.as_str()),
        Lookup::Candidate(org, id) => keys::candidate(org.as_str(), id.as_str()),
        Lookup::Account(id) => keys::account(id.as_str()),
        Lookup::Suppressed(org, key) => keys::suppression(org.as_str(), key),
        Lookup::Record(name) => keys::record(name),
    }
}

/// A counter item's value (never negative: counters only grow).
fn counter_value(item: &Item, key: &str) -> Result<u64, StoreError> {
    let value = number(item, COUNT)?;
    u64::try_from(value).map_err(|_| StoreError::Unavailable(format!("counter {key}: {value}")))
}
