//! A store whose answers get lost (issue 19): around any `Store`, it applies a
//! write and then, when told to, reports a transient error instead of the
//! write's answer — what a caller sees when a write reached the database and
//! the connection dropped (a timeout, a 500) before the answer came back. The
//! application must then find out what happened instead of assuming either:
//! a claim whose answer was lost is still this send's (R-8.1).
//!
//! ```ignore
//! let store = Arc::new(LostAnswers::new(inner));
//! store.lose_next("update_enrollment", 1);
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The error a lost answer reads as.
pub const LOST: &str = "the connection closed before the answer (injected)";

/// A store that applies writes and loses the answers it is told to.
pub struct LostAnswers {
    inner: Arc<dyn Store>,
    /// How many of the next applied writes of each method lose their answer.
    armed: Mutex<HashMap<&'static str, usize>>,
    lost: AtomicUsize,
    /// Every call of each method, answered or not (what a use case costs).
    calls: Mutex<HashMap<&'static str, usize>>,
    /// Loses the answer of any applied write at random (the simulation).
    random: Option<Chance>,
}

impl LostAnswers {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        LostAnswers {
            inner,
            armed: Mutex::new(HashMap::new()),
            lost: AtomicUsize::new(0),
            calls: Mutex::new(HashMap::new()),
            random: None,
        }
    }

    /// Besides what is armed, loses the answer of each applied write when
    /// `chance` comes up heads (seeded: reproducible for the same calls).
    pub fn at_random(mut self, chance: Chance) -> Self {
        self.random = Some(chance);
        self
    }

    /// Changes the probability of [`LostAnswers::at_random`] (0: none lost).
    pub fn set_random(&self, per_million: u32) {
        if let Some(chance) = &self.random {
            chance.set(per_million);
        }
    }

    /// The next `n` writes of `method` (the port's method name) that apply
    /// answer [`StoreError::Unavailable`] instead.
    pub fn lose_next(&self, method: &'static str, n: usize) {
        *self.armed.lock().expect("armed").entry(method).or_default() += n;
    }

    /// How many answers were lost so far.
    /// The calls of each method so far.
    pub fn calls(&self) -> HashMap<&'static str, usize> {
        self.calls.lock().expect("calls").clone()
    }

    fn count(&self, method: &'static str) {
        *self.calls.lock().expect("calls").entry(method).or_default() += 1;
    }

    pub fn lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }

    /// The answer of a write of `method`: lost if armed and the write applied.
    fn answer<T>(
        &self,
        method: &'static str,
        answer: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let value = answer?;
        let mut armed = self.armed.lock().expect("armed");
        let lose = match armed.get_mut(method) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => self.random.as_ref().is_some_and(Chance::heads),
        };
        if lose {
            self.lost.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Unavailable(LOST.into()));
        }
        Ok(value)
    }
}

/// Forwards every method to the inner store, the default ones too (so that
/// the inner store's own versions run); `write` methods may lose their answer.
macro_rules! forward {
    ($($kind:ident $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        #[async_trait]
        impl Store for LostAnswers {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                    self.count(stringify!($name));
                    let answer = self.inner.$name($($arg),*).await;
                    forward!(@$kind self, $name, answer)
                }
            )*

            fn due_shards(&self) -> u32 {
                self.inner.due_shards()
            }
        }
    };
    (@read $self:ident, $name:ident, $answer:ident) => { $answer };
    (@index $self:ident, $name:ident, $answer:ident) => { $answer };
    (@write $self:ident, $name:ident, $answer:ident) => { $self.answer(stringify!($name), $answer) };
    (@enroll $self:ident, $name:ident, $answer:ident) => { $self.answer(stringify!($name), $answer) };
}

store_methods!(forward);
