//! The pure rules of Outreach (SPEC §5–§10).
//!
//! Nothing here performs I/O or reads the system time: every function that needs
//! "now" takes it as a parameter, and the application layer gets it from its
//! `Clock` port.

pub mod address;
pub mod campaign;
pub mod candidate;
pub mod email;
pub mod enrollment;
pub mod ids;
pub mod inbound;
pub mod jitter;
pub mod name;
pub mod plan;
pub mod render;
pub mod ses_event;
pub mod text;
pub mod token;
pub mod zone;

pub use email::EmailAddress;
pub use name::Name;
pub use zone::Zone;
