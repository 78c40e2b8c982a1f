//! The requests every part of the store is built from: one-item reads and
//! writes retried while a transaction holds the item, transactions, paginated
//! queries of the table or an index, and batched reads.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    KeysAndAttributes, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use outreach_app::ports::{Page, PageRequest, StoreError, Versioned};
use serde::de::DeserializeOwned;

use super::DynamoStore;
use super::item::{
    self, BUSY_ATTEMPTS, DynamoError, ID, Item, ItemBuilder, VERSION, Values, backoff, doc, n,
    names, s, sdk_error, text, transaction_error, values, versioned,
};
use super::keys::{self, Key};
use super::marks::{self, MARK_PLACEHOLDER, Mark};

/// What a failed condition answers with: the item as it was.
const ALL_OLD: ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure::AllOld;

/// A condition that makes a put create the item or fail.
pub(super) const CREATE: &str = "attribute_not_exists(#pk)";
/// A condition that makes a write replace the version it read, or fail.
pub(super) const SAME_VERSION: &str = "#v = :v";

/// Which part of the key a query constrains besides the partition.
pub(super) enum Range {
    All,
    BeginsWith(String),
    Below(String),
    /// Sort keys from the first up to the second, both included.
    Between(String, String),
}

/// One query: a partition of the table or of an index, in sort-key order.
pub(super) struct Query {
    index: Option<&'static str>,
    pk_attr: &'static str,
    sk_attr: &'static str,
    pk: String,
    range: Range,
    start: Option<Item>,
    forward: bool,
}

impl Query {
    pub(super) fn table(pk: String, range: Range) -> Self {
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

    pub(super) fn index(index: &'static str, pk: String, range: Range) -> Self {
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
    pub(super) fn after(mut self, key: Option<(Key, Option<Key>)>) -> Self {
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

    /// The records of one kind (`prefix`) in an index partition, after the
    /// record with id `after`, whose table and index keys `keys_of` gives.
    pub(super) fn index_page(
        index: &'static str,
        pk: String,
        prefix: &str,
        after: Option<&str>,
        keys_of: impl Fn(&str) -> (Key, Key),
    ) -> Self {
        let after = after.map(|id| {
            let (key, index_key) = keys_of(id);
            (key, Some(index_key))
        });
        Query::index(index, pk, Range::BeginsWith(prefix.into())).after(after)
    }

    pub(super) fn newest_first(mut self) -> Self {
        self.forward = false;
        self
    }
}

/// Runs a write again, after a backoff, while it met a concurrent transaction
/// (nothing was written), up to [`BUSY_ATTEMPTS`] times; then fails with `gave_up`.
async fn while_busy<T, F, Fut>(gave_up: &str, write: F) -> Result<T, DynamoError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, DynamoError>>,
{
    for attempt in 0..BUSY_ATTEMPTS {
        match write().await {
            Err(DynamoError::Busy) => backoff(attempt).await,
            other => return other,
        }
    }
    Err(DynamoError::Failed(gave_up.into()))
}

impl DynamoStore {
    /// A strongly consistent read of one item.
    pub(super) async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
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

    /// A `PutItem`, retried while a concurrent transaction holds the item. A
    /// conditional one is marked: a retry of it that applied is its success
    /// ([`marks`](super::marks)).
    pub(super) async fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        mut vals: Values,
    ) -> Result<(), DynamoError> {
        let mark = Mark::new();
        let (item, condition) = match condition {
            Some(c) => {
                vals.push((MARK_PLACEHOLDER, mark.value()));
                (mark.stamp(item), Some(marks::guarded(Some(c))))
            }
            None => (item, None),
        };
        let condition = condition.as_deref();
        let locked = "the item stayed locked by transactions";
        while_busy(locked, || async {
            let answer = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .set_condition_expression(condition.map(str::to_owned))
                .set_expression_attribute_names(names(&[condition]))
                .set_expression_attribute_values(values(vals.clone()))
                .set_return_values_on_condition_check_failure(condition.map(|_| ALL_OLD))
                .send()
                .await;
            match answer {
                Ok(_) => Ok(()),
                Err(err) => match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(failed))
                        if mark.is_on(failed.item()) =>
                    {
                        Ok(())
                    }
                    _ => Err(sdk_error(err)),
                },
            }
        })
        .await
    }

    /// A marked `UpdateItem` (see [`DynamoStore::put`]), retried while a
    /// concurrent transaction holds the item, with attribute names of its own
    /// beside [`item::names`] (`#placeholder`, name): the attributes the
    /// update set, as they are after it.
    pub(super) async fn update_returning(
        &self,
        key: &Key,
        expression: &str,
        condition: Option<&str>,
        mut vals: Values,
        own_names: &[(&str, &str)],
    ) -> Result<Item, DynamoError> {
        // Even an unconditional update is marked: an `ADD` applied twice
        // would count twice.
        let mark = Mark::new();
        vals.push((MARK_PLACEHOLDER, mark.value()));
        let expression = marks::setting_mark(expression);
        let condition = marks::guarded(condition);
        let mut attribute_names =
            names(&[Some(expression.as_str()), Some(condition.as_str())]).unwrap_or_default();
        attribute_names.extend(
            own_names
                .iter()
                .map(|(p, n)| ((*p).to_owned(), (*n).to_owned())),
        );
        let locked = "the item stayed locked by transactions";
        while_busy(locked, || async {
            let answer = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(item::key_item(key)))
                .update_expression(&expression)
                .condition_expression(&condition)
                .set_expression_attribute_names(Some(attribute_names.clone()))
                .set_expression_attribute_values(values(vals.clone()))
                .return_values(ReturnValue::UpdatedNew)
                .return_values_on_condition_check_failure(ALL_OLD)
                .send()
                .await;
            match answer {
                Ok(out) => Ok(out.attributes.unwrap_or_default()),
                Err(err) => match err.as_service_error() {
                    // The item as our own write left it.
                    Some(UpdateItemError::ConditionalCheckFailedException(failed))
                        if mark.is_on(failed.item()) =>
                    {
                        Ok(failed.item().cloned().unwrap_or_default())
                    }
                    _ => Err(sdk_error(err)),
                },
            }
        })
        .await
    }

    /// One `TransactWriteItems`, retried while it only met contention. A
    /// retry of the SDK's after a lost answer is made idempotent by the
    /// `ClientRequestToken` it fills in once per call; the conditional items
    /// are marked besides ([`marks`](super::marks) says why both).
    pub(super) async fn transact(
        &self,
        mut writes: Vec<TransactWriteItem>,
    ) -> Result<(), DynamoError> {
        let mark = Mark::new();
        for write in &mut writes {
            mark.stamp_transaction_item(write);
        }
        let contended = "the transaction kept meeting concurrent ones";
        while_busy(contended, || async {
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(err) if err.as_service_error().is_some_and(|e| mark.is_in(e)) => Ok(()),
                Err(err) => Err(transaction_error(err)),
            }
        })
        .await
    }

    /// Runs `query`, following `LastEvaluatedKey` until `want` items (or all) are read.
    pub(super) async fn query(
        &self,
        query: &Query,
        want: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
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
            Range::Between(low, high) => (
                "#qpk = :qpk AND #qsk BETWEEN :qsk AND :qsk2".into(),
                vec![(":qsk", s(low)), (":qsk2", s(high))],
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
                _ if query.index == Some(keys::GSI1) => return self.records_of(items).await,
                _ => return Ok(items),
            }
        }
    }

    /// The records whose GSI1 entries these are (GSI1 projects keys only),
    /// read consistently, in the entries' order; one gone since is left out.
    async fn records_of(&self, entries: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let wanted = entries
            .iter()
            .map(|e| {
                Ok(Key {
                    pk: text(e, keys::PK)?.to_owned(),
                    sk: text(e, keys::SK)?.to_owned(),
                })
            })
            .collect::<Result<Vec<Key>, StoreError>>()?;
        let mut found = super::heads::by_key(self.get_many(&wanted).await?)?;
        Ok(wanted.iter().filter_map(|k| found.remove(k)).collect())
    }

    /// One page of a list: reads one item more than asked to know whether more follow.
    pub(super) async fn page<T, F>(
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

    pub(super) async fn get_doc<T: DeserializeOwned>(
        &self,
        key: &Key,
    ) -> Result<Option<T>, StoreError> {
        self.get(key).await?.map(|i| doc(&i)).transpose()
    }

    /// Creates (`expected: None`) or replaces version `expected` of a whole item.
    pub(super) async fn put_versioned(
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

    /// The documents `query` finds (up to `want`), in the query's order.
    pub(super) async fn query_docs<T: DeserializeOwned>(
        &self,
        query: &Query,
        want: Option<usize>,
    ) -> Result<Vec<T>, StoreError> {
        self.query(query, want).await?.iter().map(doc).collect()
    }

    /// The ids (`id` attribute) of everything `query` finds, sorted, as the
    /// embedded store answers them.
    pub(super) async fn sorted_ids<T: Ord>(
        &self,
        query: &Query,
        id: impl Fn(String) -> T,
    ) -> Result<Vec<T>, StoreError> {
        let items = self.query(query, None).await?;
        let mut ids = items
            .iter()
            .map(|i| text(i, ID).map(|t| id(t.to_owned())))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        Ok(ids)
    }

    /// A versioned record by key, read consistently.
    pub(super) async fn get_versioned<T: DeserializeOwned>(
        &self,
        key: &Key,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        self.get(key).await?.map(|i| versioned(&i)).transpose()
    }

    /// Creates `item` unless it exists: `true` the first time (a marker).
    pub(super) async fn create_once(&self, item: Item) -> Result<bool, StoreError> {
        match self.put(item, Some(CREATE), vec![]).await {
            Ok(()) => Ok(true),
            Err(DynamoError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// One page of an organization's records of one kind (`prefix` of the
    /// sort key), in id order, the cursor being the last id.
    pub(super) async fn list_in_org<T: DeserializeOwned>(
        &self,
        org: &str,
        prefix: &str,
        key_of: fn(&str, &str) -> Key,
        page: &PageRequest,
        id_of: impl Fn(&T) -> String,
    ) -> Result<Page<T>, StoreError> {
        let after = page.after.as_deref().map(|id| (key_of(org, id), None));
        let query = Query::table(keys::org_pk(org), Range::BeginsWith(prefix.into())).after(after);
        self.page(query, page.limit, doc, id_of).await
    }

    /// A plain replace, for records no rule races on.
    pub(super) async fn upsert(&self, item: ItemBuilder) -> Result<(), StoreError> {
        self.put(item.build(), None, vec![])
            .await
            .map_err(StoreError::from)
    }

    /// Consistent reads of many items (`BatchGetItem`, 100 keys a request),
    /// in no particular order; missing ones are left out.
    pub(super) async fn get_many(&self, wanted: &[Key]) -> Result<Vec<Item>, StoreError> {
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
}
