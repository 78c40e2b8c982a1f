//! A store whose indexes lag (issue 19): around any `Store`, it answers the
//! reads that DynamoDB serves from an eventually consistent global secondary
//! index (a campaign's enrollments, a candidate's, the due index) as an index
//! that has not caught up would — without the enrollments created since
//! [`StaleIndexes::lag`]. Every other read, and every read by key, is the
//! inner store's. What decides from such a list must read it consistently
//! instead (`list_enrollments_consistent`, R-5.2, R-10.1): a candidate added
//! just before a start is then still planned.
//!
//! ```ignore
//! let store = Arc::new(StaleIndexes::new(inner));
//! store.lag();
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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

use crate::chance::Chance;

/// A store whose index reads miss the enrollments created while it lags.
pub struct StaleIndexes {
    inner: Arc<dyn Store>,
    lagging: AtomicBool,
    /// Enrollments created while lagging, not yet in the indexes.
    unseen: Mutex<HashSet<String>>,
    /// At random (the simulation): an enrollment created is missed by the
    /// next 1..=`reads` index reads, with the chance's probability.
    random: Option<(Chance, u32)>,
    /// Enrollments missed at random, with the index reads they still miss.
    recent: Mutex<HashMap<String, u32>>,
}

impl StaleIndexes {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        StaleIndexes {
            inner,
            lagging: AtomicBool::new(false),
            unseen: Mutex::new(HashSet::new()),
            random: None,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Besides [`StaleIndexes::lag`]: each enrollment created is missed by
    /// the next 1 to `reads` index reads when `chance` comes up heads
    /// (seeded: reproducible for the same calls).
    pub fn at_random(mut self, chance: Chance, reads: u32) -> Self {
        self.random = Some((chance, reads.max(1)));
        self
    }

    /// Changes the probability of [`StaleIndexes::at_random`] (0: none
    /// missed from now on; those missed already catch up as they would).
    pub fn set_random(&self, per_million: u32) {
        if let Some((chance, _)) = &self.random {
            chance.set(per_million);
        }
    }

    /// From now on, index reads miss the enrollments created, until
    /// [`StaleIndexes::catch_up`].
    pub fn lag(&self) {
        self.lagging.store(true, Ordering::SeqCst);
    }

    /// The indexes catch up: every enrollment is in them again.
    pub fn catch_up(&self) {
        self.lagging.store(false, Ordering::SeqCst);
        self.unseen.lock().expect("unseen").clear();
    }

    /// How many enrollments the indexes miss now.
    pub fn unseen(&self) -> usize {
        self.unseen.lock().expect("unseen").len()
    }

    fn created(&self, answer: &Result<(), StoreError>, e: &Enrollment) {
        if answer.is_err() {
            return;
        }
        if self.lagging.load(Ordering::SeqCst) {
            self.unseen.lock().expect("unseen").insert(e.id.to_string());
        } else if let Some((chance, reads)) = &self.random
            && chance.heads()
        {
            let n = chance.up_to(*reads);
            self.recent
                .lock()
                .expect("recent")
                .insert(e.id.to_string(), n);
        }
    }

    fn stale<T: Unseen>(&self, answer: Result<T, StoreError>) -> Result<T, StoreError> {
        let mut missed = self.unseen.lock().expect("unseen").clone();
        {
            let mut recent = self.recent.lock().expect("recent");
            missed.extend(recent.keys().cloned());
            // Each index read brings the index closer to caught up.
            recent.retain(|_, n| {
                *n -= 1;
                *n > 0
            });
        }
        answer.map(|a| a.without(&missed))
    }
}

/// An index read's answer, less the enrollments the index has not caught up with.
trait Unseen {
    fn without(self, unseen: &HashSet<String>) -> Self;
}

impl Unseen for Page<Enrollment> {
    fn without(mut self, unseen: &HashSet<String>) -> Self {
        self.items.retain(|e| !unseen.contains(e.id.as_str()));
        self
    }
}

impl Unseen for Option<EnrollmentId> {
    fn without(self, unseen: &HashSet<String>) -> Self {
        self.filter(|id| !unseen.contains(id.as_str()))
    }
}

impl Unseen for Vec<EnrollmentId> {
    fn without(mut self, unseen: &HashSet<String>) -> Self {
        self.retain(|id| !unseen.contains(id.as_str()));
        self
    }
}

impl Unseen for Vec<(OrgId, EnrollmentId)> {
    fn without(mut self, unseen: &HashSet<String>) -> Self {
        self.retain(|(_, id)| !unseen.contains(id.as_str()));
        self
    }
}

/// The completion checks are on campaigns, not on enrollments: a lagging
/// index may miss the newest (an ending write's), never an enrollment.
impl Unseen for Vec<CompletionCheck> {
    fn without(self, _: &HashSet<String>) -> Self {
        self
    }
}

/// Forwards every method to the inner store, the default ones too; `index`
/// reads are served stale, `enroll` notes what they miss.
macro_rules! stale_forward {
    ($($kind:ident $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        #[async_trait]
        impl Store for StaleIndexes {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                    let answer = self.inner.$name($($arg),*).await;
                    stale_forward!(@$kind self, answer, $($arg),*)
                }
            )*

            fn due_shards(&self) -> u32 {
                self.inner.due_shards()
            }
        }
    };
    (@read $self:ident, $answer:ident, $($arg:ident),*) => { $answer };
    (@write $self:ident, $answer:ident, $($arg:ident),*) => { $answer };
    (@index $self:ident, $answer:ident, $($arg:ident),*) => { $self.stale($answer) };
    (@enroll $self:ident, $answer:ident, $e:ident) => {{
        $self.created(&$answer, $e);
        $answer
    }};
}

store_methods!(stale_forward);
