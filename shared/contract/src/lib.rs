//! One contract suite for every adapter set of the ports (issue 6): generic
//! async checks over `Arc<dyn Store>`, `Arc<dyn Scheduler>` and
//! `Arc<dyn Mailer>`, run against the embedded adapters
//! (`shared/embedded/tests/contract.rs`) and the AWS adapters on the emulator
//! (`shared/aws/tests/contract.rs`), so local mode can never pass where
//! DynamoDB, SES or EventBridge would fail.
//!
//! Each check is one function that takes fresh adapters and panics with a
//! message when the adapter breaks the port's promise. A test file calls every
//! check, one test each.
//!
//! [`LostAnswers`] wraps any store to lose the answers of writes that applied,
//! for the application's tests (issue 19); [`StaleIndexes`] serves the reads
//! DynamoDB answers from an index stale. Both also inject their faults at
//! random from a seed ([`chance::Chance`]), for the simulation.

pub mod chance;
pub mod fixtures;
#[macro_use]
mod methods;
pub mod latency;
pub mod lost_answers;
pub mod mailer;
pub mod scheduler;
pub mod stale_indexes;
pub mod store;

pub use latency::Latency;
pub use lost_answers::LostAnswers;
pub use mailer::{MailInspector, SentRecord};
pub use scheduler::ScheduleInspector;
pub use stale_indexes::StaleIndexes;
