//! Where an enrollment, an attempt and a step stand, and the labels users see;
//! an attempt that ended unsent lets its step have a next one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentStatus {
    NotStarted,
    InProgress,
    Paused,
    Blocked,
    Replied,
    Bounced,
    Unsubscribed,
    Finished,
    Removed,
}

impl EnrollmentStatus {
    /// The label users see.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotStarted => "Not Started",
            Self::InProgress => "In Progress",
            Self::Paused => "Paused",
            Self::Blocked => "Needs attention",
            Self::Replied => "Replied (Ended)",
            Self::Bounced => "Bounced (Ended)",
            Self::Unsubscribed => "Unsubscribed (Ended)",
            Self::Finished => "Finished",
            Self::Removed => "Removed",
        }
    }

    pub fn is_ended(self) -> bool {
        matches!(
            self,
            Self::Replied | Self::Bounced | Self::Unsubscribed | Self::Finished | Self::Removed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::InProgress => "in_progress",
            Self::Paused => "paused",
            Self::Blocked => "blocked",
            Self::Replied => "replied",
            Self::Bounced => "bounced",
            Self::Unsubscribed => "unsubscribed",
            Self::Finished => "finished",
            Self::Removed => "removed",
        }
    }
}

/// Where one attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptState {
    /// Claimed for hand-off; the mailer may or may not have been called yet.
    Claimed,
    Sent,
    Delivered,
    Bounced,
    /// A transient bounce: retried once 24 hours later.
    SoftBounced,
    Failed,
}

impl AttemptState {
    /// Whether the attempt ended without reaching the recipient, so that the
    /// step may get a next attempt.
    pub fn ended_unsent(self) -> bool {
        matches!(
            self,
            AttemptState::Bounced | AttemptState::SoftBounced | AttemptState::Failed
        )
    }
}

/// What a user sees of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Scheduled,
    Sent,
    Delivered,
    Bounced,
    Cancelled,
    Failed,
}
