//! The send function's pace (§15). The send queue's event source mapping
//! bounds how many instances run at once (`MaximumConcurrency`), but
//! concurrency is not a rate: one instance can hand SES several messages a
//! second. So each instance also spaces its own sends `concurrency /
//! MaxSendRate` seconds apart, where `MaxSendRate` is the account's SES
//! maximum send rate read when the instance starts: `concurrency` instances
//! at that pace stay within the account's rate, even a sandbox account's one
//! message a second. A send SES throttles anyway is re-planned.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use outreach_app::ports::{Clock, Mailer, MailerError, OutboundMail, SentMail};

/// The rate assumed when SES does not say (the sandbox's: one message a second).
pub const FALLBACK_SEND_RATE: f64 = 1.0;

/// Hands out send slots at most one every `interval` on one instance.
pub struct Pacer {
    interval: Duration,
    /// The earliest instant of the next slot.
    next: Mutex<Option<DateTime<Utc>>>,
    clock: Arc<dyn Clock>,
}

impl Pacer {
    /// One slot every `interval`.
    pub fn new(interval: Duration, clock: Arc<dyn Clock>) -> Pacer {
        Pacer {
            interval: interval.max(Duration::zero()),
            next: Mutex::new(None),
            clock,
        }
    }

    /// The pace of one of `concurrency` instances sharing an account whose
    /// maximum send rate is `max_send_rate` messages a second: `concurrency /
    /// max_send_rate` seconds between sends (rounded up to the microsecond).
    /// A rate that is not a positive number counts as [`FALLBACK_SEND_RATE`].
    pub fn for_account(max_send_rate: f64, concurrency: u32, clock: Arc<dyn Clock>) -> Pacer {
        let rate = if max_send_rate.is_finite() && max_send_rate > 0.0 {
            max_send_rate
        } else {
            FALLBACK_SEND_RATE
        };
        let micros = (f64::from(concurrency.max(1)) / rate * 1e6).ceil();
        Pacer::new(Duration::microseconds(micros as i64), clock)
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How long a send would wait for its slot if it asked now.
    pub fn wait(&self) -> std::time::Duration {
        let now = self.clock.now();
        let next = *self.next.lock().unwrap_or_else(|p| p.into_inner());
        next.map_or(now, |n| n.max(now))
            .signed_duration_since(now)
            .to_std()
            .unwrap_or_default()
    }

    /// Takes the next slot: how long to wait before sending in it (zero
    /// when the previous slot is at least an interval ago).
    pub fn reserve(&self) -> std::time::Duration {
        let now = self.clock.now();
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + self.interval);
        (slot - now).to_std().unwrap_or_default()
    }
}

/// A mailer that waits for its pacer's slot before each send.
pub struct PacedMailer {
    inner: Arc<dyn Mailer>,
    pacer: Arc<Pacer>,
}

impl PacedMailer {
    pub fn new(inner: Arc<dyn Mailer>, pacer: Arc<Pacer>) -> PacedMailer {
        PacedMailer { inner, pacer }
    }
}

#[async_trait]
impl Mailer for PacedMailer {
    async fn send(&self, mail: &OutboundMail) -> Result<SentMail, MailerError> {
        let wait = self.pacer.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        self.inner.send(mail).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    struct FakeClock(Mutex<DateTime<Utc>>);

    impl FakeClock {
        fn at(t: DateTime<Utc>) -> Arc<FakeClock> {
            Arc::new(FakeClock(Mutex::new(t)))
        }
        fn advance(&self, by: Duration) {
            let mut t = self.0.lock().expect("the clock");
            *t += by;
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock().expect("the clock")
        }
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .single()
            .expect("an instant")
    }

    fn ms(n: u64) -> std::time::Duration {
        std::time::Duration::from_millis(n)
    }

    #[test]
    fn each_instance_takes_its_share_of_the_account_rate() {
        // §15: concurrency / MaxSendRate seconds between one instance's sends.
        let clock = FakeClock::at(start());
        let sandbox = Pacer::for_account(1.0, 2, clock.clone());
        assert_eq!(sandbox.interval(), Duration::seconds(2));
        let production = Pacer::for_account(14.0, 2, clock.clone());
        assert_eq!(production.interval(), Duration::microseconds(142_858));
        // Nothing known about the rate: the sandbox's one a second.
        assert_eq!(
            Pacer::for_account(f64::NAN, 3, clock.clone()).interval(),
            Duration::seconds(3)
        );
        assert_eq!(
            Pacer::for_account(0.0, 1, clock).interval(),
            Duration::seconds(1)
        );
    }

    #[test]
    fn slots_are_spaced_by_the_interval_whatever_the_burst() {
        let clock = FakeClock::at(start());
        let pacer = Pacer::new(Duration::milliseconds(500), clock.clone());
        // A burst of three at one instant: now, +0.5 s, +1 s.
        assert_eq!(pacer.wait(), ms(0));
        assert_eq!(pacer.reserve(), ms(0));
        assert_eq!(pacer.wait(), ms(500), "asking takes no slot");
        assert_eq!(pacer.reserve(), ms(500));
        assert_eq!(pacer.reserve(), ms(1000));
        // Time passes while they go out; the next slot is 1.5 s after the start.
        clock.advance(Duration::milliseconds(1200));
        assert_eq!(pacer.reserve(), ms(300));
        // After a quiet spell, a send goes at once, and the pace starts again.
        clock.advance(Duration::seconds(10));
        assert_eq!(pacer.reserve(), ms(0));
        assert_eq!(pacer.reserve(), ms(500));
    }

    #[test]
    fn a_zero_interval_never_waits() {
        let pacer = Pacer::new(Duration::zero(), FakeClock::at(start()));
        for _ in 0..5 {
            assert_eq!(pacer.reserve(), ms(0));
        }
    }
}
