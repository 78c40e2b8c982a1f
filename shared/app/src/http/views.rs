//! The JSON shapes of responses (SPEC Appendix A). Views apply: a manual
//! address is shown to its author alone.

use chrono::{DateTime, SecondsFormat, Utc};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::{Campaign, CampaignStatus};
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::UserId;
use serde_json::{Value, json};

use crate::model::{EmailAccount, EnrollmentEvent, LedgerEntry};

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn ts_opt(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(ts(t))).unwrap_or(Value::Null)
}

pub fn account(a: &EmailAccount, viewer: &UserId) -> Value {
    json!({
        "id": a.id,
        "address": a.address,
        "display_name": a.display_name,
        "status": a.status,
        "owner_id": a.owner_id,
        "delegated": &a.owner_id != viewer,
        "created_at": ts(a.created_at),
    })
}

/// A candidate as `viewer` sees it: a colleague's manual addresses are left
/// out; each address has its status.
pub fn candidate(c: &Candidate, viewer: &UserId, suppressed: &[EmailAddress]) -> Value {
    let emails: Vec<Value> = c
        .emails
        .iter()
        .filter(|e| e.visible_to(viewer))
        .map(|e| {
            let status = if e.bounced {
                "bounced"
            } else if suppressed.contains(&e.address) {
                "suppressed"
            } else {
                "valid"
            };
            json!({
                "address": e.address,
                "type": e.kind,
                "manual": e.is_manual(),
                "status": status,
            })
        })
        .collect();
    json!({
        "id": c.id,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "full_name": c.full_name(),
        "title": c.title,
        "company": c.company,
        "location": c.location,
        "timezone": c.timezone,
        "emails": emails,
    })
}

pub fn campaign(c: &Campaign) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("active_enrollments");
        o.insert("created_at".into(), Value::String(ts(c.created_at)));
        o.insert("started_at".into(), ts_opt(c.started_at));
    }
    v
}

pub fn ledger_entry(e: &LedgerEntry) -> Value {
    json!({
        "kind": e.kind,
        "candidate_id": e.candidate_id,
        "amount": e.amount,
        "at": ts(e.at),
    })
}

/// An enrollment as `viewer` may see it. `candidate` lets the view hide a
/// colleague's manual address; `preview` is the address the next step
/// would use.
pub fn enrollment(
    c: &Campaign,
    e: &Enrollment,
    now: DateTime<Utc>,
    viewer: &UserId,
    candidate: Option<&Candidate>,
    preview: Option<&EmailAddress>,
    events: Option<&[EnrollmentEvent]>,
) -> Value {
    let visible = |a: &EmailAddress| -> Value {
        let hidden = candidate.is_some_and(|cand| {
            cand.emails
                .iter()
                .any(|x| &x.address == a && !x.visible_to(viewer))
        });
        if hidden { Value::Null } else { json!(a) }
    };
    let campaign_final = c.status == CampaignStatus::Stopped;
    let steps: Vec<Value> = e
        .steps
        .iter()
        .map(|s| {
            let latest = s.latest();
            let attempts: Vec<Value> = s
                .attempts
                .iter()
                .map(|a| {
                    json!({
                        "number": a.number,
                        "status": a.state,
                        "address": visible(&a.address),
                        "sent_at": ts_opt(a.sent_at),
                        "message_id": a.message_id,
                        "rfc822_message_id": a.rfc822_message_id,
                        "unconfirmed": a.unconfirmed,
                        "reason": a.reason,
                    })
                })
                .collect();
            json!({
                "index": s.index,
                "status": e.step_status(s.index, now, campaign_final),
                "scheduled_at": ts_opt(s.planned_at),
                "sent_at": ts_opt(latest.and_then(|a| a.sent_at)),
                "address": latest.map(|a| visible(&a.address)).unwrap_or(Value::Null),
                "message_id": latest.and_then(|a| a.message_id.clone()),
                "rfc822_message_id": latest.and_then(|a| a.rfc822_message_id.clone()),
                "attempts": attempts,
            })
        })
        .collect();
    let address = e
        .address
        .as_ref()
        .or(preview)
        .map(visible)
        .unwrap_or(Value::Null);
    let mut v = json!({
        "id": e.id,
        "campaign_id": e.campaign_id,
        "candidate_id": e.candidate_id,
        "status": e.status,
        "status_label": e.status.label(),
        "blocked_reason": e.blocked_reason,
        "address": address,
        "plan_start": ts_opt(e.plan_start),
        "steps": steps,
        "created_at": ts(e.created_at),
        "ended_at": ts_opt(e.ended_at),
    });
    if let Some(events) = events {
        v["events"] = events
            .iter()
            .map(|ev| json!({"at": ts(ev.at), "kind": ev.kind, "step": ev.step, "detail": ev.detail}))
            .collect();
    }
    v
}
