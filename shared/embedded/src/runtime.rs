//! Fires the wake-ups of the in-process scheduler and runs the sweeper: with
//! the system clock in a background loop, with the manual clock when
//! `POST /dev/clock` moves it (everything due by the new time runs, in due
//! order, before the call returns).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use outreach_app::dev::{DevControl, Fault, OutboxItem};
use outreach_app::ports::{Clock, WakeUp};
use outreach_app::{Error, Service};
use outreach_domain::EmailAddress;

use crate::clock::LocalClock;
use crate::outbox::OutboxMailer;
use crate::scheduler::LocalScheduler;

pub struct LocalRuntime {
    service: Arc<Service>,
    scheduler: Arc<LocalScheduler>,
    clock: Arc<LocalClock>,
    outbox: Arc<OutboxMailer>,
    /// The data folder's HS256 secret, for `POST /dev/token`.
    secret: Vec<u8>,
    /// One runner at a time, so wake-ups run in due order.
    running: tokio::sync::Mutex<()>,
    /// When the identities were last checked (R-2.3: at least hourly).
    last_identity_check: std::sync::Mutex<DateTime<Utc>>,
}

/// How often every linked identity is checked.
const IDENTITY_CHECK_EVERY: Duration = Duration::hours(1);

/// Upper bound of wake-ups one clock move runs, so a fault that keeps
/// re-planning cannot hold the call forever.
const MAX_RUNS_PER_MOVE: usize = 1_000_000;
/// How many wake-ups run between two saves of the manual clock.
const SAVE_CLOCK_EVERY: usize = 500;

impl LocalRuntime {
    pub fn new(
        service: Arc<Service>,
        scheduler: Arc<LocalScheduler>,
        clock: Arc<LocalClock>,
        outbox: Arc<OutboxMailer>,
        secret: Vec<u8>,
    ) -> Arc<Self> {
        let now = clock.now();
        Arc::new(LocalRuntime {
            service,
            scheduler,
            clock,
            outbox,
            secret,
            running: tokio::sync::Mutex::new(()),
            last_identity_check: std::sync::Mutex::new(now),
        })
    }

    /// Runs one wake-up. A failing job is logged and dropped: the sweeper picks
    /// the enrollment up again, so an error never becomes a retry loop.
    async fn fire(&self, wake_up: &WakeUp) {
        match self.service.sending().run_job(&wake_up.job).await {
            Ok(outcome) => tracing::debug!(name = %wake_up.name, ?outcome, "wake-up ran"),
            Err(e) => tracing::error!(name = %wake_up.name, error = %e, "wake-up failed"),
        }
        if let Err(e) = self.scheduler.complete(wake_up) {
            tracing::error!(name = %wake_up.name, error = %e, "could not remove a wake-up");
        }
    }

    /// Runs every wake-up due at or before `until`, earliest first; with the
    /// manual clock, the clock shows each wake-up's instant while it runs.
    async fn run_due(&self, until: DateTime<Utc>) -> Result<usize, Error> {
        let mut ran = 0;
        while ran < MAX_RUNS_PER_MOVE {
            let Some(wake_up) = self.scheduler.next_due(until)? else {
                break;
            };
            self.clock.advance(wake_up.at);
            self.fire(&wake_up).await;
            ran += 1;
            if ran % SAVE_CLOCK_EVERY == 0 {
                self.clock.save();
            }
        }
        if ran % SAVE_CLOCK_EVERY != 0 {
            self.clock.save();
        }
        Ok(ran)
    }

    /// Checks every linked identity when an hour passed since the last check.
    async fn check_identities_if_due(&self) {
        let now = self.clock.now();
        {
            let mut last = self
                .last_identity_check
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if now - *last < IDENTITY_CHECK_EVERY {
                return;
            }
            *last = now;
        }
        match self.service.returns().check_identities().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(accounts = n, "identity check: accounts lost verification"),
            Err(e) => tracing::error!(error = %e, "identity check failed"),
        }
    }

    /// Moves the manual clock to `target` and runs everything due by then.
    pub async fn advance_to(&self, target: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
        if !self.clock.is_manual() {
            return Err(Error::Conflict(
                "the clock is the system clock; start with --clock manual to move it".into(),
            ));
        }
        let _guard = self.running.lock().await;
        // A sweep may plan new wake-ups that are already due; a few rounds settle it.
        for _ in 0..100 {
            self.run_due(target).await?;
            self.clock.set(target);
            // Claims whose lease ended and wake-ups lost to a crash.
            self.service.sending().sweep(Duration::zero()).await?;
            self.check_identities_if_due().await;
            if self.scheduler.next_due(target)?.is_none() {
                break;
            }
        }
        Ok(self.clock.now())
    }

    /// The background loop of the system clock: fire due wake-ups every
    /// half-second and sweep every minute.
    pub async fn run_system_clock(self: Arc<Self>) {
        let mut last_sweep = std::time::Instant::now() - StdDuration::from_secs(3600);
        loop {
            {
                let _guard = self.running.lock().await;
                if let Err(e) = self.run_due(self.clock.now()).await {
                    tracing::error!(error = %e, "running due wake-ups failed");
                }
                self.check_identities_if_due().await;
                if last_sweep.elapsed() >= StdDuration::from_secs(60) {
                    let margin = self.service.config().sweep_margin;
                    match self.service.sending().sweep(margin).await {
                        Ok(report) if report != Default::default() => {
                            tracing::info!(?report, "sweep")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "sweep failed"),
                    }
                    last_sweep = std::time::Instant::now();
                }
            }
            tokio::time::sleep(StdDuration::from_millis(500)).await;
        }
    }

    /// With the manual clock: runs, in the background, what is already due
    /// (queued work such as a large campaign's fan-out), without moving the clock.
    pub async fn run_manual_clock(self: Arc<Self>) {
        loop {
            {
                let _guard = self.running.lock().await;
                if let Err(e) = self.run_due(self.clock.now()).await {
                    tracing::error!(error = %e, "running due work failed");
                }
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }

    /// The service this runtime drives (for in-process tools such as the bench).
    pub fn service(&self) -> Arc<Service> {
        self.service.clone()
    }

    pub fn pending_wake_ups(&self) -> usize {
        self.scheduler.pending().unwrap_or(0)
    }
}

#[async_trait]
impl DevControl for LocalRuntime {
    async fn advance_clock(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
        self.advance_to(to).await
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn outbox(&self) -> Result<Vec<OutboxItem>, Error> {
        self.outbox.list().map_err(Error::Internal)
    }

    async fn outbox_raw(&self, id: &str) -> Result<Option<Vec<u8>>, Error> {
        self.outbox.raw(id).map_err(Error::Internal)
    }

    fn set_fault(&self, sender: &str, fault: Fault) -> Result<(), Error> {
        let sender =
            EmailAddress::parse(sender).map_err(|e| Error::invalid("sender", e.to_string()))?;
        self.outbox.set_fault(sender, fault);
        Ok(())
    }

    fn issue_token(&self, org: &str, user: &str) -> Result<String, Error> {
        // Token expiry is checked against wall time, whatever the manual clock says.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| Error::Internal(e.to_string()))?
            .as_secs();
        outreach_app::auth::issue_hs256(&self.secret, org, user, None, false, now, 12 * 3600)
            .map_err(Error::Internal)
    }
}
