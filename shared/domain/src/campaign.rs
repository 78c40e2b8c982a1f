//! Campaigns and their settings (R-5.1, R-5.2, R-6, R-7).

use crate::ids::{AccountId, CampaignId, OrgId, ProjectId, UserId};
use crate::zone::Zone;
use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// Minutes of the grace period (R-6.1).
pub const GRACE_MINUTES: i64 = 20;

/// When-to-send preference (R-6.2–R-6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum WhenToSend {
    /// R-6.2: step 1 at S + 20 min.
    WhenStarted,
    /// R-6.4: by the local time of S.
    BestTime,
    /// R-6.3: step 1 0–20 minutes after the first occurrence of `time`.
    SpecificTime {
        #[serde(with = "hhmm")]
        #[schema(value_type = String, pattern = "^[0-9]{2}:[0-9]{2}$", example = "09:30")]
        time: NaiveTime,
    },
}

/// Recipient email setting (R-7.2 (3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecipientSetting {
    #[serde(default)]
    pub prefer: Option<crate::candidate::EmailType>,
    #[serde(default)]
    pub strict: bool,
}

/// Whose time zone the plan uses (R-6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimezoneMode {
    #[default]
    Campaign,
    Recipient,
}

/// One step of a sequence (R-4.1). `subject` may be absent for a later step,
/// which then threads as "Re: " + the first subject (R-8.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepSpec {
    /// A one-line template; required on the first step.
    #[serde(default)]
    pub subject: Option<String>,
    /// The HTML body, a template with merge fields such as
    /// `{{ candidate.first_name }}`; at most 100 KB.
    pub body: String,
    /// An optional plain-text part, a template too; at most 100 KB.
    #[serde(default)]
    pub text: Option<String>,
    /// Days after the previous step: 1 to 365 for every step after the first.
    #[serde(default)]
    pub delay_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Running,
    Paused,
    Completed,
    Stopped,
}

impl CampaignStatus {
    /// `completed` and `stopped` never change again (R-5.2, R-10.2).
    pub fn is_final(self) -> bool {
        matches!(self, CampaignStatus::Completed | CampaignStatus::Stopped)
    }
}

/// Why a campaign is paused. The service resumes by itself only what it paused
/// for a sender problem that went away (R-2.3); the user resumes the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    User,
    SenderError,
    SenderRemoved,
    SenderRevoked,
    SenderReputation,
}

impl PauseReason {
    pub fn resumes_by_itself(self) -> bool {
        matches!(self, PauseReason::SenderError | PauseReason::SenderRemoved)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CampaignTransitionError {
    #[error("the campaign is {0:?}; only a draft can be started")]
    NotDraft(CampaignStatus),
    #[error("the campaign is {0:?}; only a running campaign can be paused")]
    NotRunning(CampaignStatus),
    #[error("the campaign is {0:?}; only a paused campaign can be resumed")]
    NotPaused(CampaignStatus),
    #[error("the campaign is already {0:?}")]
    Final(CampaignStatus),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub name: String,
    pub sender_account_id: AccountId,
    pub steps: Vec<StepSpec>,
    pub timezone: Zone,
    pub when_to_send: WhenToSend,
    #[serde(default)]
    pub recipient: RecipientSetting,
    #[serde(default)]
    pub skip_weekends: bool,
    #[serde(default)]
    pub daily_limit: Option<u32>,
    #[serde(default)]
    pub timezone_mode: TimezoneMode,
    pub status: CampaignStatus,
    #[serde(default)]
    pub pause_reason: Option<PauseReason>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// The moment of the latest start or resume: the fan-out that plans the
    /// enrollments for it carries the same moment, and a fan-out of any other
    /// moment is stale (R-10.1, SPEC §15).
    #[serde(default)]
    pub fan_out_at: Option<DateTime<Utc>>,
    /// Enrollments not yet ended; the campaign completes when it reaches 0 while running.
    #[serde(default)]
    pub active_enrollments: i64,
    #[serde(default)]
    pub kind: CampaignKind,
    /// The template the steps were taken from (`None` for steps given
    /// inline, or edited inline since): what the statistics group by (R-11.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
}

/// A sequence (R-5), or the carrier of one single message (R-12), which reuses
/// the whole sending and returns machinery but belongs to no project view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    #[default]
    Sequence,
    Single,
}

impl Campaign {
    /// Whether steps and settings may be edited now (R-5.2): in draft, paused,
    /// or during the grace period after the start.
    pub fn editable(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            CampaignStatus::Draft | CampaignStatus::Paused => true,
            CampaignStatus::Running => self
                .started_at
                .is_some_and(|s| now < s + chrono::Duration::minutes(GRACE_MINUTES)),
            _ => false,
        }
    }

    /// `draft` → `running` (R-5.2).
    pub fn start(&mut self, now: DateTime<Utc>) -> Result<(), CampaignTransitionError> {
        match self.status {
            CampaignStatus::Draft => {
                self.status = CampaignStatus::Running;
                self.started_at = Some(now);
                self.fan_out_at = Some(now);
                Ok(())
            }
            s @ (CampaignStatus::Stopped | CampaignStatus::Completed) => {
                Err(CampaignTransitionError::Final(s))
            }
            s => Err(CampaignTransitionError::NotDraft(s)),
        }
    }

    /// `running` → `paused` (R-5.2, R-10.1).
    pub fn pause(&mut self, reason: PauseReason) -> Result<(), CampaignTransitionError> {
        match self.status {
            CampaignStatus::Running => {
                self.status = CampaignStatus::Paused;
                self.pause_reason = Some(reason);
                Ok(())
            }
            s @ (CampaignStatus::Stopped | CampaignStatus::Completed) => {
                Err(CampaignTransitionError::Final(s))
            }
            s => Err(CampaignTransitionError::NotRunning(s)),
        }
    }

    /// R-2.5: the reputation guard acts whatever state the campaign is in. A
    /// running campaign pauses, and one paused by the service (whose pause a
    /// relink would lift, R-2.3) takes the reason `sender_reputation`, so that
    /// only a user's explicit resume lifts it. A user's own pause, a draft and
    /// a final campaign stay as they are. Returns whether anything changed.
    pub fn pause_for_reputation(&mut self) -> bool {
        let affected = match (self.status, self.pause_reason) {
            (CampaignStatus::Running, _) => true,
            (CampaignStatus::Paused, Some(reason)) => reason.resumes_by_itself(),
            _ => false,
        };
        if affected {
            self.status = CampaignStatus::Paused;
            self.pause_reason = Some(PauseReason::SenderReputation);
        }
        affected
    }

    /// R-2.2: its sender account was removed. A running campaign pauses with
    /// `sender_removed`, and one the service paused for that account's
    /// connection error (`sender_error`) takes that reason, since the removal
    /// is what holds it now. A user's pause, a reputation or revocation
    /// pause, a draft and a final campaign stay. Returns whether it changed.
    pub fn pause_for_removed_sender(&mut self) -> bool {
        let affected = matches!(
            (self.status, self.pause_reason),
            (CampaignStatus::Running, _) | (CampaignStatus::Paused, Some(PauseReason::SenderError))
        );
        if affected {
            self.status = CampaignStatus::Paused;
            self.pause_reason = Some(PauseReason::SenderRemoved);
        }
        affected
    }

    /// `paused` → `running` at `now` (R-5.2, R-10.1): the fan-out of this moment
    /// re-plans the enrollments.
    pub fn resume_at(&mut self, now: DateTime<Utc>) -> Result<(), CampaignTransitionError> {
        self.resume()?;
        self.fan_out_at = Some(now);
        Ok(())
    }

    /// Whether a fan-out queued for the start or resume at `at` may still plan
    /// (`Some(true)`), must wait for its state change to land (`None`), or is
    /// stale (`Some(false)`): superseded by a later start or resume, or its
    /// campaign no longer running.
    pub fn fan_out_current(&self, at: DateTime<Utc>) -> Option<bool> {
        match self.fan_out_at {
            Some(latest) if latest > at => Some(false),
            Some(latest) if latest == at => Some(self.is_running()),
            // Written before this field existed: the running state decides.
            None if self.is_running() => Some(true),
            _ => None,
        }
    }

    /// `paused` → `running` (R-5.2, R-10.1).
    pub fn resume(&mut self) -> Result<(), CampaignTransitionError> {
        match self.status {
            CampaignStatus::Paused => {
                self.status = CampaignStatus::Running;
                self.pause_reason = None;
                Ok(())
            }
            s @ (CampaignStatus::Stopped | CampaignStatus::Completed) => {
                Err(CampaignTransitionError::Final(s))
            }
            s => Err(CampaignTransitionError::NotPaused(s)),
        }
    }

    /// Any state but a final one → `stopped` (R-5.2, R-10.2).
    pub fn stop(&mut self) -> Result<(), CampaignTransitionError> {
        match self.status {
            s @ (CampaignStatus::Stopped | CampaignStatus::Completed) => {
                Err(CampaignTransitionError::Final(s))
            }
            _ => {
                self.status = CampaignStatus::Stopped;
                Ok(())
            }
        }
    }

    /// A running campaign whose enrollments have all ended is `completed` (R-5.2).
    pub fn complete_if_done(&mut self) -> bool {
        if self.status == CampaignStatus::Running && self.active_enrollments <= 0 {
            self.status = CampaignStatus::Completed;
            return true;
        }
        false
    }

    pub fn is_running(&self) -> bool {
        self.status == CampaignStatus::Running
    }

    pub fn delays(&self) -> Vec<u32> {
        self.steps.iter().map(|s| s.delay_days).collect()
    }
}

mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let raw = String::deserialize(d)?;
        NaiveTime::parse_from_str(&raw, "%H:%M")
            .map_err(|_| serde::de::Error::custom(format!("`{raw}` is not a time of day HH:MM")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> Campaign {
        serde_json::from_value(serde_json::json!({
            "id": "cmp_1", "org_id": "org_1", "project_id": "prj_1", "owner_id": "u",
            "name": "C", "sender_account_id": "acc_1",
            "steps": [{ "subject": "Hi", "body": "<p>Hi</p>" }],
            "timezone": "UTC", "when_to_send": { "mode": "when_started" },
            "status": "draft", "created_at": "2026-12-01T09:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn a_fan_out_plans_only_for_its_own_start_or_resume() {
        // R-10.1, SPEC §15: a fan-out queued before a state change never re-plans
        // with the state of an older start or resume.
        let t = |m: u32| chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 9, m, 0).unwrap();
        let mut c = campaign();
        assert_eq!(
            c.fan_out_current(t(0)),
            None,
            "the start has not landed yet"
        );
        c.start(t(0)).unwrap();
        assert_eq!(c.fan_out_current(t(0)), Some(true));
        c.pause(PauseReason::User).unwrap();
        assert_eq!(c.fan_out_current(t(0)), Some(false), "paused since");
        assert_eq!(c.fan_out_current(t(5)), None, "a resume on its way");
        c.resume_at(t(5)).unwrap();
        assert_eq!(c.fan_out_current(t(0)), Some(false), "superseded");
        assert_eq!(c.fan_out_current(t(5)), Some(true));
    }

    #[test]
    fn when_to_send_reads_the_pinned_shape() {
        let w: WhenToSend =
            serde_json::from_str(r#"{"mode":"specific_time","time":"09:30"}"#).unwrap();
        assert_eq!(
            w,
            WhenToSend::SpecificTime {
                time: NaiveTime::from_hms_opt(9, 30, 0).unwrap()
            }
        );
        let b: WhenToSend = serde_json::from_str(r#"{"mode":"best_time"}"#).unwrap();
        assert_eq!(b, WhenToSend::BestTime);
        assert!(
            serde_json::from_str::<WhenToSend>(r#"{"mode":"specific_time","time":"25:00"}"#)
                .is_err()
        );
    }

    #[test]
    fn the_reputation_guard_acts_in_every_state() {
        // R-2.5: running → paused; paused by the service → the guard's reason
        // (a relink then resumes nothing); a user's pause, a draft and a final
        // campaign are left alone.
        let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 9, 0, 0).unwrap();
        let mut draft = campaign();
        assert!(!draft.pause_for_reputation());
        assert_eq!(draft.status, CampaignStatus::Draft);

        let mut running = campaign();
        running.start(t).unwrap();
        assert!(running.pause_for_reputation());
        assert_eq!(running.status, CampaignStatus::Paused);
        assert_eq!(running.pause_reason, Some(PauseReason::SenderReputation));
        assert!(!running.pause_for_reputation(), "already the guard's pause");

        for reason in [PauseReason::SenderError, PauseReason::SenderRemoved] {
            let mut c = campaign();
            c.start(t).unwrap();
            c.pause(reason).unwrap();
            assert!(c.pause_for_reputation());
            assert_eq!(c.pause_reason, Some(PauseReason::SenderReputation));
            assert!(!c.pause_reason.unwrap().resumes_by_itself());
        }
        for reason in [PauseReason::User, PauseReason::SenderRevoked] {
            let mut c = campaign();
            c.start(t).unwrap();
            c.pause(reason).unwrap();
            assert!(!c.pause_for_reputation());
            assert_eq!(c.pause_reason, Some(reason));
        }
    }

    #[test]
    fn a_removed_sender_pauses_running_campaigns_and_renames_a_sender_error_pause() {
        // R-2.2; issue 22 review: a campaign paused `sender_error` kept that
        // reason after its account was removed.
        let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 9, 0, 0).unwrap();
        let mut running = campaign();
        running.start(t).unwrap();
        assert!(running.pause_for_removed_sender());
        assert_eq!(running.pause_reason, Some(PauseReason::SenderRemoved));
        assert!(!running.pause_for_removed_sender(), "already so");
        let mut failed = campaign();
        failed.start(t).unwrap();
        failed.pause(PauseReason::SenderError).unwrap();
        assert!(failed.pause_for_removed_sender());
        assert_eq!(failed.pause_reason, Some(PauseReason::SenderRemoved));
        for reason in [
            PauseReason::User,
            PauseReason::SenderRevoked,
            PauseReason::SenderReputation,
        ] {
            let mut c = campaign();
            c.start(t).unwrap();
            c.pause(reason).unwrap();
            assert!(!c.pause_for_removed_sender());
            assert_eq!(c.pause_reason, Some(reason));
        }
        let mut draft = campaign();
        assert!(!draft.pause_for_removed_sender());
        assert_eq!(draft.status, CampaignStatus::Draft);
    }
}
