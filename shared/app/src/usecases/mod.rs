//! One module per resource; each public function is one use case.

pub mod accounts;
pub mod campaigns;
pub mod candidates;
pub mod catalog;
pub mod enrollments;
pub mod inbound;
pub mod me;
pub mod messages;
pub mod outreach;
pub mod preview;
pub mod records;
pub mod reputation;
pub mod returns;
pub mod sender_rights;
pub mod sending;
pub mod ses_events;
pub mod sweep;
