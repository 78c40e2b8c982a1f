//! One retry for every versioned read-modify-write: read, change, write with
//! the version read; a write that lost a race to a concurrent change is tried
//! again from a fresh read, a bounded number of times. It depends on nothing
//! else in the crate, so the ports and every use case can use it.

/// Attempts at a read-modify-write before giving up on a hot record.
pub const CAS_ATTEMPTS: usize = 8;

/// What one attempt at a read-modify-write came to.
pub enum Attempt<T> {
    /// Finished (written, or nothing to write): the answer.
    Done(T),
    /// The write lost to a concurrent change: read again and retry.
    Lost,
}

impl<T> Attempt<T> {
    /// Whether the write lost its race.
    pub fn is_lost(&self) -> bool {
        matches!(self, Attempt::Lost)
    }

    /// The answer of a finished attempt changed by `f`; a lost race stays lost.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Attempt<U> {
        match self {
            Attempt::Done(v) => Attempt::Done(f(v)),
            Attempt::Lost => Attempt::Lost,
        }
    }
}

/// Runs `attempt` until it is [`Attempt::Done`], at most [`CAS_ATTEMPTS`]
/// times; `exhausted` answers when every attempt lost its race (mostly an error).
///
/// `attempt` is a closure returning an `async move` block (not an async
/// closure): its future's type is then fixed, so a caller's future stays
/// `Send` where a handler needs it.
pub async fn retry_versioned<T, E, F>(
    mut attempt: impl FnMut() -> F,
    exhausted: impl FnOnce() -> Result<T, E>,
) -> Result<T, E>
where
    F: Future<Output = Result<Attempt<T>, E>>,
{
    for _ in 0..CAS_ATTEMPTS {
        if let Attempt::Done(answer) = attempt().await? {
            return Ok(answer);
        }
    }
    exhausted()
}
