//! The context of one simulated handler invocation (a fired wake-up, an SNS
//! delivery, a user's API call), visible to the adapters through a task-local:
//! which crash it is scripted to suffer, how many store writes it made, and the
//! store reads the oracle needs to judge.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Where a handler's process dies, if it does. The sim aborts the parked task,
/// which drops the future exactly as a crashed Lambda loses its memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    None,
    /// The mailer is called and the process dies before anything leaves.
    MailerBeforeSend,
    /// The message is in the outbox and the process dies before the answer is recorded.
    MailerAfterSend,
    /// The process dies right after its n-th store write (1-based).
    AfterWrite(u32),
    /// The process dies before it creates a wake-up.
    BeforeSchedule,
}

pub struct Handler {
    pub label: String,
    pub crash: Crash,
    writes: AtomicU32,
    parked: AtomicBool,
    /// Enrollment id → sequence number of this handler's latest read of it.
    reads: Mutex<HashMap<String, u64>>,
}

tokio::task_local! {
    static HANDLER: Arc<Handler>;
}

impl Handler {
    pub fn new(label: impl Into<String>, crash: Crash) -> Arc<Handler> {
        Arc::new(Handler {
            label: label.into(),
            crash,
            writes: AtomicU32::new(0),
            parked: AtomicBool::new(false),
            reads: Mutex::new(HashMap::new()),
        })
    }

    pub fn is_parked(&self) -> bool {
        self.parked.load(Ordering::SeqCst)
    }

    /// Counts a store write; `true` when the handler must crash right after it.
    pub fn count_write(&self) -> bool {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        self.crash == Crash::AfterWrite(n)
    }

    pub fn note_read(&self, enrollment: &str, seq: u64) {
        self.reads
            .lock()
            .expect("reads")
            .insert(enrollment.to_owned(), seq);
    }

    pub fn last_read(&self, enrollment: &str) -> Option<u64> {
        self.reads.lock().expect("reads").get(enrollment).copied()
    }

    /// Runs `fut` as this handler.
    pub async fn scope<F: std::future::Future>(self: Arc<Self>, fut: F) -> F::Output {
        HANDLER.scope(self, fut).await
    }
}

/// The handler of the running task, if any.
pub fn current() -> Option<Arc<Handler>> {
    HANDLER.try_with(Arc::clone).ok()
}

/// The process of the current handler dies here: the task never continues and
/// the sim aborts it.
pub async fn park() -> ! {
    if let Some(h) = current() {
        h.parked.store(true, Ordering::SeqCst);
    }
    std::future::pending::<()>().await;
    unreachable!("a parked handler never resumes")
}
