//! A seeded coin for the fault-injecting wrappers (issue 19): the same seed
//! and the same sequence of calls give the same faults, so a simulation run
//! that uses [`LostAnswers`](crate::LostAnswers) or
//! [`StaleIndexes`](crate::StaleIndexes) at random replays exactly.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Heads with probability `per_million` / 1,000,000, from a SplitMix64 stream.
pub struct Chance {
    state: Mutex<u64>,
    per_million: AtomicU32,
    /// Tails whenever this says no (a simulation's faults switched off).
    gate: Option<Gate>,
}

type Gate = Box<dyn Fn() -> bool + Send + Sync>;

impl Chance {
    pub fn new(seed: u64, per_million: u32) -> Self {
        Chance {
            state: Mutex::new(seed),
            per_million: AtomicU32::new(per_million.min(1_000_000)),
            gate: None,
        }
    }

    /// Tails (without advancing the stream) while `gate` answers false.
    pub fn when(mut self, gate: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.gate = Some(Box::new(gate));
        self
    }

    /// Changes the probability (0 turns the faults off; the stream does not
    /// advance while it is 0).
    pub fn set(&self, per_million: u32) {
        self.per_million
            .store(per_million.min(1_000_000), Ordering::SeqCst);
    }

    pub fn per_million(&self) -> u32 {
        self.per_million.load(Ordering::SeqCst)
    }

    fn next(&self) -> u64 {
        let mut state = self.state.lock().expect("chance");
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// One toss.
    pub fn heads(&self) -> bool {
        let p = self.per_million();
        p > 0
            && self.gate.as_ref().is_none_or(|open| open())
            && self.next() % 1_000_000 < u64::from(p)
    }

    /// A number in `1..=n`.
    pub fn up_to(&self, n: u32) -> u32 {
        1 + (self.next() % u64::from(n.max(1))) as u32
    }
}
