//! Records the checks write: small, valid, and built from ids the check picks.

use chrono::{DateTime, TimeZone, Utc};
use outreach_app::model::{AccountStatus, EmailAccount, MessageRef};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::{Enrollment, NewEnrollment};
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};

/// A fixed instant: 2026-12-01 at `h:m` UTC.
pub fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0)
        .single()
        .expect("a valid instant")
}

pub fn address(a: &str) -> EmailAddress {
    EmailAddress::parse(a).expect("a valid address")
}

pub fn account(org: &str, id: &str, owner: &str, addr: &str) -> EmailAccount {
    EmailAccount {
        id: AccountId::from(id),
        org_id: OrgId::from(org),
        owner_id: UserId::from(owner),
        address: address(addr),
        display_name: "Alice Recruiter".into(),
        status: AccountStatus::Connected,
        confirmed: true,
        proof: Default::default(),
        delegates: Vec::new(),
        daily_limit: None,
        created_at: at(9, 0),
    }
}

/// Records with many optional settings are read from JSON, as the API would
/// store them, so that settings added later take their defaults here too.
fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a valid fixture")
}

pub fn candidate(org: &str, id: &str, emails: &[&str]) -> Candidate {
    let emails: Vec<serde_json::Value> = emails
        .iter()
        .map(|a| serde_json::json!({ "address": address(a), "type": "work" }))
        .collect();
    from_json(serde_json::json!({
        "id": id,
        "org_id": org,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "emails": emails,
    }))
}

pub fn campaign(org: &str, id: &str, project: &str, sender: &str) -> Campaign {
    from_json(serde_json::json!({
        "id": id,
        "org_id": org,
        "project_id": project,
        "owner_id": "alice",
        "name": format!("Campaign {id}"),
        "sender_account_id": sender,
        "steps": [
            { "subject": "Hello {{ candidate.first_name }}", "body": "<p>Hi</p>" },
            { "body": "<p>Following up</p>", "delay_days": 2 },
        ],
        "timezone": "UTC",
        "when_to_send": { "mode": "when_started" },
        "status": "running",
        "created_at": at(9, 0),
        "started_at": at(9, 0),
    }))
}

/// An enrollment of `candidate` in `campaign` with two steps planned at
/// `first` and a day later (so step 1 is due at `first`).
pub fn enrollment(
    org: &str,
    id: &str,
    campaign: &str,
    candidate: &str,
    first: DateTime<Utc>,
) -> Enrollment {
    let mut e = Enrollment::new(NewEnrollment {
        id: EnrollmentId::from(id),
        org_id: OrgId::from(org),
        campaign_id: CampaignId::from(campaign),
        candidate_id: CandidateId::from(candidate),
        step_count: 2,
        pinned_address: None,
        reply_token: format!("reply-{org}-{id}"),
        unsubscribe_token: format!("unsub-{org}-{id}"),
        now: at(9, 0),
    });
    e.apply_plan(at(9, 0), &[first, first + chrono::Duration::days(1)]);
    e
}

#[allow(clippy::too_many_arguments)]
pub fn message(
    org: &str,
    campaign: &str,
    enrollment: &str,
    message_id: &str,
    rfc822: &str,
    to: &str,
    step: u32,
    sent_at: DateTime<Utc>,
) -> MessageRef {
    MessageRef {
        message_id: message_id.into(),
        rfc822_message_id: rfc822.into(),
        org_id: OrgId::from(org),
        campaign_id: CampaignId::from(campaign),
        enrollment_id: EnrollmentId::from(enrollment),
        step,
        attempt: 1,
        to: address(to),
        sent_at,
        account_seq: Some(1),
        org_seq: Some(1),
    }
}
