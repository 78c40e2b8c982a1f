//! What a process may keep between requests because it never changes: a
//! campaign's steps as written at one version (immutable items), what a
//! version of an enrollment counts, and which head and counter versions a
//! campaign version read was made of. Each map is bounded and simply emptied
//! when full (a Lambda process holds a few campaigns at a time).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Entries a map holds before it is emptied.
const CAPACITY: usize = 4096;

/// A bounded map of facts that never change once true.
pub(crate) struct Facts<K, V> {
    map: Mutex<HashMap<K, V>>,
}

impl<K: Eq + Hash, V: Clone> Default for Facts<K, V> {
    fn default() -> Self {
        Facts {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Facts<K, V> {
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.map.lock().ok()?.get(key).cloned()
    }

    pub(crate) fn put(&self, key: K, value: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(key, value);
        }
    }

    /// The first entry whose key and value satisfy `wanted`.
    pub(crate) fn find(&self, wanted: impl Fn(&K, &V) -> bool) -> Option<(K, V)>
    where
        K: Clone,
    {
        let map = self.map.lock().ok()?;
        map.iter()
            .find(|(k, v)| wanted(k, v))
            .map(|(k, v)| (k.clone(), v.clone()))
    }
}

/// (organization, campaign or enrollment id, version).
pub(crate) type At = (String, String, u64);

/// What one read of a campaign was made of: its head's version and each
/// counter shard's count of moves of `active` (the port's version is their
/// sum, which moves with either, as the embedded store's does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parts {
    pub head: u64,
    pub changes: Vec<u64>,
}

#[derive(Default)]
pub(crate) struct Caches {
    /// (org, campaign, steps version) → the steps (a JSON array).
    pub steps: Facts<At, Arc<serde_json::Value>>,
    /// (org, campaign, port version) → what that version was made of.
    pub parts: Facts<At, Parts>,
    /// (org, enrollment, version) → the counters that version counts in.
    pub counted: Facts<At, Arc<Vec<String>>>,
}
