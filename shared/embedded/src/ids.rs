//! Ids and tokens for local mode.

use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use outreach_app::ports::IdSource;
use rand::RngCore;

/// Time-ordered random ids (`cmp_0193…`) and 256-bit tokens in lower-case
/// base32, which survive a mail system's case-folding.
#[derive(Default)]
pub struct RandomIds {
    counter: AtomicU16,
}

impl IdSource for RandomIds {
    fn new_id(&self, prefix: &str) -> String {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let seq = self.counter.fetch_add(1, Ordering::Relaxed);
        let random = rand::rng().next_u64();
        format!(
            "{prefix}_{:012x}{seq:04x}{random:016x}",
            ms & 0xffff_ffff_ffff
        )
    }

    fn token(&self) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        outreach_domain::token::encode(&bytes)
    }
}
