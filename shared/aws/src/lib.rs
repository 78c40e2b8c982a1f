//! The AWS adapters of the ports (SPEC §15): the store on one DynamoDB table,
//! the mailer on SES v2, wake-ups on EventBridge Scheduler, and inbound raw
//! messages from S3. Each implements the same port as its embedded twin in
//! `outreach-embedded`, and the contract suite (`outreach-contract`) runs
//! against both.
//!
//! No SDK type crosses a port: every SDK error is mapped here to the port's
//! own error (`StoreError`, `MailerError`, `SchedulerError`).

pub mod config;
pub mod dns;
pub mod dynamo;
pub mod s3;
pub mod scheduler;
pub mod secrets;
pub mod ses;
pub mod sns;

pub use config::{AwsClients, ServiceClients};
pub use dynamo::DynamoStore;
pub use s3::S3RawMessages;
pub use scheduler::{EventBridgeScheduler, ScheduleTarget};
pub use ses::{SesIdentities, SesMailer};
pub use sns::{HttpsCertificates, SnsSubscriptions};
pub use {aws_sdk_dynamodb, aws_sdk_scheduler, aws_sdk_sesv2};
