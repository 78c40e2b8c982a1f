//! The use cases, one folder per process: open a process' folder and every
//! step of it is there. Each public function is one use case.
//!
//! - [`accounts`]: the user and their sender accounts — linking and
//!   proof of control, delegates and rights, daily limits.
//! - [`catalog`]: projects, templates and candidates.
//! - [`campaigns`]: a campaign's life — create, edit, start, pause, resume,
//!   stop — and the planning of its enrollments; its
//!   preview and the project's Outreach view.
//! - [`enrollments`]: adding candidates with the no-double-outreach
//!   check, an enrollment's pause, resume, removal, retry and
//!   overrides.
//! - [`sending`]: the send of a fired wake-up as named stages, the
//!   daily limits, the sweeper and single messages.
//! - [`returns`]: what comes back — deliveries, bounces, complaints (R-9.1–
//!   via SES events), replies and their forwarding,
//!   the reputation windows.
//!
//! [`records`] holds the versioned read-modify-writes they share, [`markers`]
//! the "handled" markers written after the work they guard.

/// Declares a process: a view of the [`Service`](crate::service::Service)
/// (`service.<accessor>()`) whose methods are that process' steps; the
/// ports, and what several processes share, stay the service's.
macro_rules! process {
    ($(#[$doc:meta])* $name:ident, $accessor:ident) => {
        $(#[$doc])*
        pub struct $name<'a> {
            service: &'a crate::service::Service,
        }

        impl crate::service::Service {
            #[doc = concat!("The ", stringify!($accessor), " process.")]
            pub fn $accessor(&self) -> $name<'_> {
                $name { service: self }
            }
        }

        impl std::ops::Deref for $name<'_> {
            type Target = crate::service::Service;

            fn deref(&self) -> &crate::service::Service {
                self.service
            }
        }
    };
}

pub mod accounts;
pub mod campaigns;
pub mod catalog;
pub mod enrollments;
pub mod markers;
pub mod records;
pub mod returns;
pub mod sending;
