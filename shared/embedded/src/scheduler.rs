//! The in-process stand-in for EventBridge Scheduler: one-shot wake-ups kept in
//! the data folder, fired by the `LocalRuntime`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outreach_app::ports::{Queue, Scheduler, SchedulerError, WakeUp};
use rusqlite::{OptionalExtension, params};

use crate::db::{Cached, Db};

pub struct LocalScheduler {
    db: Db,
}

fn err(e: impl std::fmt::Display) -> SchedulerError {
    SchedulerError(e.to_string())
}

impl LocalScheduler {
    pub fn new(db: Db) -> Self {
        LocalScheduler { db }
    }

    /// The earliest wake-up due at or before `before`.
    pub fn next_due(&self, before: DateTime<Utc>) -> Result<Option<WakeUp>, SchedulerError> {
        let conn = self.db.lock();
        let body: Option<String> = conn
            .query_row_cached(
                "SELECT body FROM wakeups WHERE at <= ?1 ORDER BY at, name LIMIT 1",
                [before.timestamp_millis()],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        body.map(|b| serde_json::from_str(&b).map_err(err))
            .transpose()
    }

    /// Removes a wake-up after it ran, unless it was moved meanwhile.
    pub fn complete(&self, wake_up: &WakeUp) -> Result<(), SchedulerError> {
        self.db
            .lock()
            .execute_cached(
                "DELETE FROM wakeups WHERE name = ?1 AND at = ?2",
                params![wake_up.name, wake_up.at.timestamp_millis()],
            )
            .map_err(err)?;
        Ok(())
    }

    pub fn pending(&self) -> Result<usize, SchedulerError> {
        let conn = self.db.lock();
        let n: i64 = conn
            .query_row_cached("SELECT COUNT(*) FROM wakeups", [], |r| r.get(0))
            .map_err(err)?;
        Ok(n as usize)
    }
}

#[async_trait]
impl Scheduler for LocalScheduler {
    async fn schedule(&self, wake_up: &WakeUp) -> Result<(), SchedulerError> {
        let body = serde_json::to_string(wake_up).map_err(err)?;
        // The same name is the same wake-up: creating it again only moves it.
        self.db
            .lock()
            .execute_cached(
                "INSERT INTO wakeups (name, at, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET at = excluded.at, body = excluded.body",
                params![wake_up.name, wake_up.at.timestamp_millis(), body],
            )
            .map_err(err)?;
        Ok(())
    }

    async fn cancel(&self, name: &str) -> Result<(), SchedulerError> {
        self.db
            .lock()
            .execute_cached("DELETE FROM wakeups WHERE name = ?1", [name])
            .map_err(err)?;
        Ok(())
    }
}

/// Locally the queue is the same table: queued work is a wake-up due now,
/// which the runtime runs in the background whatever the clock.
#[async_trait]
impl Queue for LocalScheduler {
    async fn enqueue(&self, job: &WakeUp) -> Result<(), SchedulerError> {
        self.schedule(job).await
    }
}
