//! Keyed records and counters (the reputation windows, R-2.5), and the
//! batched read that answers many lookups with one `BatchGetItem`.

use chrono::{DateTime, Utc};
use outreach_app::ports::{Found, Lookup, StoreError, Versioned};
use outreach_domain::enrollment::Enrollment;

use super::DynamoStore;
use super::heads::{by_key, campaign_keys};
use super::item::{COUNT, Item, ItemBuilder, doc, n, number, versioned};
use super::keys::{self, Key};

pub(super) async fn get_record(
    store: &DynamoStore,
    key: &str,
) -> Result<Option<Versioned<serde_json::Value>>, StoreError> {
    store.get_versioned(&keys::record(key)).await
}

pub(super) async fn put_record(
    store: &DynamoStore,
    key: &str,
    value: &serde_json::Value,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    store
        .put_versioned(ItemBuilder::new(&keys::record(key)).doc(value)?, expected)
        .await
}

/// A record DynamoDB deletes after `expires_at` (its `ttl` attribute, as for
/// seen markers): an Idempotency-Key's, kept 24 hours (SPEC §13).
pub(super) async fn put_expiring_record(
    store: &DynamoStore,
    key: &str,
    value: &serde_json::Value,
    expected: Option<u64>,
    expires_at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let item = ItemBuilder::new(&keys::record(key))
        .doc(value)?
        .attr(keys::TTL, n(expires_at.timestamp()));
    store.put_versioned(item, expected).await
}

pub(super) async fn increment_counter(store: &DynamoStore, key: &str) -> Result<u64, StoreError> {
    // Marked: a retry of an `ADD` that applied does not count twice.
    let item = store
        .update_returning(
            &keys::counter(key),
            "ADD #count :one",
            None,
            vec![(":one", n(1))],
            &[],
        )
        .await?;
    counter_value(&item, key)
}

pub(super) async fn read_counter(store: &DynamoStore, key: &str) -> Result<u64, StoreError> {
    match store.get(&keys::counter(key)).await? {
        Some(item) => counter_value(&item, key),
        None => Ok(0),
    }
}

/// A counter item's value (never negative: counters only grow).
fn counter_value(item: &Item, key: &str) -> Result<u64, StoreError> {
    let value = number(item, COUNT)?;
    u64::try_from(value).map_err(|_| StoreError::Unavailable(format!("counter {key}: {value}")))
}

pub(super) async fn get_batch(
    store: &DynamoStore,
    lookups: &[Lookup],
) -> Result<Vec<Option<Found>>, StoreError> {
    // One BatchGetItem (consistent reads) for every key, each asked once; a
    // campaign brings its counter shards (its steps come from the process's
    // cache once read).
    let wanted: Vec<Key> = lookups.iter().map(lookup_key).collect();
    let mut unique: Vec<Key> = Vec::with_capacity(wanted.len());
    for lookup in lookups {
        let keys = match lookup {
            Lookup::Campaign(org, id) => campaign_keys(org.as_str(), id.as_str()),
            other => vec![lookup_key(other)],
        };
        for k in keys {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
    }
    let found = by_key(store.get_many(&unique).await?)?;
    let mut out = Vec::with_capacity(lookups.len());
    for (lookup, key) in lookups.iter().zip(&wanted) {
        let answer = match (lookup, found.get(key)) {
            (Lookup::Counter(name), item) => Some(Found::Counter(match item {
                Some(item) => counter_value(item, name)?,
                None => 0,
            })),
            (Lookup::Campaign(org, id), _) => store
                .campaign_in(org.as_str(), id.as_str(), &found)
                .await?
                .map(|c| Found::Campaign(Box::new(c))),
            (_, None) => None,
            (Lookup::Enrollment(..), Some(item)) => {
                let e: Versioned<Enrollment> = versioned(item)?;
                store.remember_counted(&e.value, e.version);
                Some(Found::Enrollment(Box::new(e)))
            }
            (Lookup::Candidate(..), Some(item)) => {
                Some(Found::Candidate(Box::new(versioned(item)?)))
            }
            (Lookup::Account(_), Some(item)) => Some(Found::Account(Box::new(versioned(item)?))),
            (Lookup::Suppressed(..), Some(_)) => Some(Found::Suppressed),
            (Lookup::Record(_), Some(item)) => Some(Found::Record(versioned(item)?)),
            (Lookup::User(..), Some(item)) => Some(Found::User(Box::new(doc(item)?))),
        };
        out.push(answer);
    }
    Ok(out)
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
        Lookup::Counter(name) => keys::counter(name),
        Lookup::User(org, id) => keys::user(org.as_str(), id.as_str()),
    }
}
