//! Deterministic jitter (SPEC §6): the same (enrollment, step) always gives the
//! same offset, on every platform and Rust version, so a re-plan after a
//! restart lands on the same instant.
//!
//! SipHash-1-3 with fixed keys over explicit bytes is a published, stable
//! function (std's `DefaultHasher` promises no stability, and `Hash` impls may
//! change what they feed the hasher), so we feed bytes ourselves.

use siphasher::sip::SipHasher13;
use std::hash::Hasher;

const KEY: (u64, u64) = (0x6f75_7472_6561_6368, 0x6a69_7474_6572_7631);

/// A stable 64-bit value for (enrollment, step, purpose).
pub fn stable_hash(enrollment: &str, step: u32, purpose: &str) -> u64 {
    let mut h = SipHasher13::new_with_keys(KEY.0, KEY.1);
    h.write(enrollment.as_bytes());
    h.write(&[0xff]);
    h.write(&step.to_le_bytes());
    h.write(purpose.as_bytes());
    h.finish()
}

/// A whole number of minutes in `lo..=hi`, fixed for (enrollment, step, purpose).
pub fn minutes_in(enrollment: &str, step: u32, purpose: &str, lo: i64, hi: i64) -> i64 {
    debug_assert!(lo <= hi);
    let span = (hi - lo + 1) as u64;
    lo + (stable_hash(enrollment, step, purpose) % span) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_stable_across_builds() {
        // Pinned values: if these change, every stored plan would move. Never update
        // them to make a test pass.
        assert_eq!(
            stable_hash("enr_a", 1, "jitter"),
            stable_hash("enr_a", 1, "jitter")
        );
        let pinned = stable_hash("enr_fixed", 2, "jitter");
        assert_eq!(pinned, PINNED);
        assert_ne!(
            stable_hash("enr_a", 1, "jitter"),
            stable_hash("enr_a", 2, "jitter")
        );
    }

    const PINNED: u64 = 526_980_916_803_090_949;

    #[test]
    fn minutes_stay_in_range() {
        for step in 0..500 {
            let m = minutes_in("enr_x", step, "jitter", -20, 20);
            assert!((-20..=20).contains(&m));
        }
    }
}
