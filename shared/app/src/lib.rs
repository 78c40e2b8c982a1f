//! The application layer of Outreach: ports, use cases, the HTTP router and the
//! handler of each trigger. It depends on the domain only; adapters depend on it.

pub mod auth;
pub mod console;
pub mod dev;
pub mod error;
pub mod http;
pub mod mime;
pub mod model;
pub mod ports;
pub mod reply;
pub mod retry;
pub mod service;
pub mod sns;
pub mod stats;
pub mod tally;
pub mod usecases;

pub use error::Error;
pub use service::{Config, Ports, Service};
