//! A store that answers as slowly as a network database (issue 21): around
//! any `Store`, every call waits a fixed time before it goes through, and is
//! counted. The benchmark runs the AWS path of a large import on the embedded
//! store behind it, so that its figure shows what DynamoDB's round trips and
//! the import's own concurrency make of it, not SQLite's speed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outreach_app::model::{
    EmailAccount, EnrollmentEvent, LedgerEntry, MessageRef, Notification, Project, Template,
    UserProfile,
};
use outreach_app::ports::{
    Activity, CompletionCheck, DailyLimits, DayCount, DaySlot, Found, Lookup, Page, PageRequest,
    RevealOutcome, Store, StoreError, Versioned,
};
use outreach_app::reply::{Reply, ReplyFilter};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};

/// A store whose every call takes at least `delay` longer.
pub struct Latency {
    inner: Arc<dyn Store>,
    delay: Duration,
    calls: Mutex<BTreeMap<&'static str, usize>>,
}

impl Latency {
    pub fn new(inner: Arc<dyn Store>, delay: Duration) -> Self {
        Latency {
            inner,
            delay,
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    /// The calls of each method so far.
    pub fn calls(&self) -> BTreeMap<&'static str, usize> {
        self.calls.lock().expect("calls").clone()
    }

    async fn wait(&self, method: &'static str) {
        *self.calls.lock().expect("calls").entry(method).or_default() += 1;
        tokio::time::sleep(self.delay).await;
    }
}

/// Forwards every method to the inner store after the delay.
macro_rules! slow_forward {
    ($($kind:ident $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        #[async_trait]
        impl Store for Latency {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                    self.wait(stringify!($name)).await;
                    self.inner.$name($($arg),*).await
                }
            )*

            fn due_shards(&self) -> u32 {
                self.inner.due_shards()
            }
        }
    };
}

store_methods!(slow_forward);
