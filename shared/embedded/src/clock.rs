//! Clocks of local mode: the system clock, or a manual one moved by `POST /dev/clock`.

use std::sync::RwLock;

use chrono::{DateTime, Utc};
use outreach_app::ports::Clock;

use crate::db::Db;

const CLOCK_KEY: &str = "manual_clock";

pub enum LocalClock {
    System,
    /// Persisted in the data folder so a restart resumes from where it was.
    Manual {
        now: RwLock<DateTime<Utc>>,
        db: Db,
    },
}

impl LocalClock {
    /// A manual clock starting at the later of `start` and the time saved in
    /// `db` by an earlier run: time never goes backwards over a restart.
    pub fn manual(db: Db, start: DateTime<Utc>) -> Self {
        let saved = db
            .get_meta(CLOCK_KEY)
            .ok()
            .flatten()
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc));
        let now = saved.map_or(start, |s| s.max(start));
        let _ = db.set_meta(CLOCK_KEY, &now.to_rfc3339());
        LocalClock::Manual {
            now: RwLock::new(now),
            db,
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(self, LocalClock::Manual { .. })
    }

    /// Moves a manual clock forward to `to` (never backwards) and saves it.
    /// No effect on the system clock.
    pub fn set(&self, to: DateTime<Utc>) {
        self.advance(to);
        self.save();
    }

    /// Moves a manual clock forward to `to` without saving it: the runner
    /// shows each wake-up's instant while it runs and saves now and then
    /// ([`LocalClock::save`]), not once a wake-up (a write each, issue 8). A
    /// crash in between restarts from the last saved instant, and the
    /// wake-ups that already ran find nothing left to do.
    pub fn advance(&self, to: DateTime<Utc>) {
        if let LocalClock::Manual { now, .. } = self {
            let mut guard = now.write().unwrap_or_else(|p| p.into_inner());
            if to > *guard {
                *guard = to;
            }
        }
    }

    /// Saves a manual clock's time in the data folder.
    pub fn save(&self) {
        if let LocalClock::Manual { now, db } = self {
            let at = *now.read().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = db.set_meta(CLOCK_KEY, &at.to_rfc3339()) {
                tracing::error!(error = %e, "could not save the manual clock");
            }
        }
    }
}

impl Clock for LocalClock {
    fn now(&self) -> DateTime<Utc> {
        match self {
            LocalClock::System => Utc::now(),
            LocalClock::Manual { now, .. } => *now.read().unwrap_or_else(|p| p.into_inner()),
        }
    }
}
