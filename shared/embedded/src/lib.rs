//! Local-mode adapters (SPEC §14): an SQLite store, an in-process scheduler, a
//! file outbox in place of SES, system and manual clocks, and the runtime that
//! fires wake-ups. They implement the same ports as the AWS adapters.

pub mod clock;
pub mod db;
pub mod folder;
pub mod guard;
pub mod ids;
pub mod inbound_mail;
pub mod local;
pub mod outbox;
pub mod runtime;
pub mod scheduler;
pub mod store;

pub use clock::LocalClock;
pub use db::Db;
pub use ids::RandomIds;
pub use outbox::OutboxMailer;
pub use runtime::LocalRuntime;
pub use scheduler::LocalScheduler;
pub use store::SqliteStore;
