//! The `Store` port on SQLite.
//!
//! Records are JSON documents in one `docs` table keyed by (kind, id), with the
//! few columns the access patterns need: `org` (every read checks it), `parent`
//! (lists: a campaign's enrollments, a project's campaigns), `lookup` (an
//! account by owner and address, an enrollment by candidate), `due_at` (the
//! sweeper), `counter` (a campaign's active enrollments, never overwritten by a
//! document write) and `version` (every conditional write).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outreach_app::model::{
    EmailAccount, EnrollmentEvent, LedgerEntry, LedgerKind, MessageRef, Notification, Project,
    Template, UserProfile,
};
use outreach_app::ports::{
    Activity, Page, PageRequest, RevealOutcome, Store, StoreError, Versioned,
};
use outreach_domain::EmailAddress;
use outreach_domain::campaign::Campaign;
use outreach_domain::candidate::Candidate;
use outreach_domain::enrollment::Enrollment;
use outreach_domain::ids::{AccountId, CampaignId, CandidateId, EnrollmentId, OrgId, UserId};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::{Cached, Db};

pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    pub fn new(db: Db) -> Self {
        SqliteStore { db }
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

const ACCOUNT: &str = "account";
const CANDIDATE: &str = "candidate";
const PROJECT: &str = "project";
const TEMPLATE: &str = "template";
const CAMPAIGN: &str = "campaign";
const ENROLLMENT: &str = "enrollment";
const USER: &str = "user";
const NOTIFICATION: &str = "notification";
const RECORD: &str = "record";

/// The index columns of one document.
struct Keys<'a> {
    kind: &'static str,
    id: &'a str,
    org: &'a str,
    parent: &'a str,
    lookup: Option<String>,
    due_at: Option<i64>,
}

fn get_doc<T: DeserializeOwned>(
    conn: &Connection,
    kind: &str,
    org: Option<&str>,
    id: &str,
) -> Result<Option<Versioned<T>>, StoreError> {
    let row: Option<(String, String, i64, i64)> = conn
        .query_row_cached(
            "SELECT org, body, version, counter FROM docs WHERE kind = ?1 AND id = ?2",
            params![kind, id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(err)?;
    match row {
        // A foreign id reads exactly as an unknown one.
        Some((row_org, _, _, _)) if org.is_some_and(|o| o != row_org) => Ok(None),
        Some((_, body, version, counter)) => {
            let mut value: serde_json::Value = serde_json::from_str(&body).map_err(err)?;
            if kind == CAMPAIGN {
                value["active_enrollments"] = counter.into();
            }
            Ok(Some(Versioned {
                value: serde_json::from_value(value).map_err(err)?,
                version: version as u64,
            }))
        }
        None => Ok(None),
    }
}

/// Creates (`expected: None`) or replaces version `expected` of a document.
fn put_doc<T: Serialize>(
    conn: &Connection,
    keys: &Keys<'_>,
    value: &T,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let body = serde_json::to_string(value).map_err(err)?;
    match expected {
        None => {
            let inserted = conn
                .execute_cached(
                    "INSERT INTO docs (kind, id, org, parent, lookup, version, due_at, body) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)
                     ON CONFLICT(kind, id) DO NOTHING",
                    params![keys.kind, keys.id, keys.org, keys.parent, keys.lookup, keys.due_at, body],
                )
                .map_err(err)?;
            if inserted == 0 {
                Err(StoreError::Conflict)
            } else {
                Ok(1)
            }
        }
        Some(v) => {
            // Most writes keep a document's parent and lookup (an enrollment's
            // campaign and candidate): then the indexes on them are left alone
            // (SQLite rewrites the index entries of every column it sets, a
            // page written each, issue 8). Otherwise, or on a stale version,
            // the full update below decides.
            let kept = conn
                .execute_cached(
                    "UPDATE docs SET body = ?1, due_at = ?2, version = version + 1
                     WHERE kind = ?3 AND id = ?4 AND org = ?5 AND version = ?6 AND parent = ?7 AND lookup IS ?8",
                    params![body, keys.due_at, keys.kind, keys.id, keys.org, v as i64, keys.parent, keys.lookup],
                )
                .map_err(err)?;
            if kept == 1 {
                return Ok(v + 1);
            }
            let updated = conn
                .execute_cached(
                    "UPDATE docs SET body = ?1, lookup = ?2, due_at = ?3, parent = ?4, version = version + 1
                     WHERE kind = ?5 AND id = ?6 AND org = ?7 AND version = ?8",
                    params![body, keys.lookup, keys.due_at, keys.parent, keys.kind, keys.id, keys.org, v as i64],
                )
                .map_err(err)?;
            if updated == 0 {
                Err(StoreError::Conflict)
            } else {
                Ok(v + 1)
            }
        }
    }
}

/// Replaces a document whatever its version (records no rule depends on racing).
fn upsert_doc<T: Serialize>(
    conn: &Connection,
    keys: &Keys<'_>,
    value: &T,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(value).map_err(err)?;
    conn.execute_cached(
        "INSERT INTO docs (kind, id, org, parent, lookup, version, due_at, body) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)
         ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body, lookup = excluded.lookup, version = docs.version + 1",
        params![keys.kind, keys.id, keys.org, keys.parent, keys.lookup, keys.due_at, body],
    )
    .map_err(err)?;
    Ok(())
}

fn list_docs<T: DeserializeOwned>(
    conn: &Connection,
    kind: &str,
    org: &str,
    parent: &str,
    page: &PageRequest,
) -> Result<Page<T>, StoreError> {
    let limit = page.limit.max(1) as i64;
    let after = page.after.clone().unwrap_or_default();
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, body, counter FROM docs WHERE kind = ?1 AND org = ?2 AND parent = ?3 AND id > ?4 ORDER BY id LIMIT ?5",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map(params![kind, org, parent, after, limit + 1], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(err)?;
    let mut items = Vec::new();
    let mut ids = Vec::new();
    for row in rows {
        let (id, body, counter) = row.map_err(err)?;
        let mut value: serde_json::Value = serde_json::from_str(&body).map_err(err)?;
        if kind == CAMPAIGN {
            value["active_enrollments"] = counter.into();
        }
        items.push(serde_json::from_value(value).map_err(err)?);
        ids.push(id);
    }
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        ids.get(limit as usize - 1).cloned()
    } else {
        None
    };
    Ok(Page { items, next })
}

/// `owner|address`; a `|` in the owner (user ids may hold one, R-1.2) is
/// escaped, as addresses may hold one too. Ids without `%` or `|` keep the
/// keys of earlier data folders.
fn account_lookup(owner: &UserId, address: &EmailAddress) -> String {
    let owner = owner.as_str();
    if owner.contains(['%', '|']) {
        format!(
            "{}|{address}",
            owner.replace('%', "%25").replace('|', "%7C")
        )
    } else {
        format!("{owner}|{address}")
    }
}

fn enrollment_keys(e: &Enrollment) -> Keys<'_> {
    Keys {
        kind: ENROLLMENT,
        id: e.id.as_str(),
        org: e.org_id.as_str(),
        parent: e.campaign_id.as_str(),
        lookup: Some(e.candidate_id.to_string()),
        due_at: e.next_due_at.map(ms),
    }
}

fn adjust_counter(
    tx: &Transaction<'_>,
    campaign: &CampaignId,
    delta: i64,
) -> Result<(), StoreError> {
    tx.execute_cached(
        "UPDATE docs SET counter = counter + ?1, version = version + 1 WHERE kind = ?2 AND id = ?3",
        params![delta, CAMPAIGN, campaign.as_str()],
    )
    .map_err(err)?;
    Ok(())
}

fn add_ledger(
    tx: &Connection,
    org: &OrgId,
    kind: LedgerKind,
    candidate: Option<&CandidateId>,
    amount: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let kind = serde_json::to_value(kind).map_err(err)?;
    tx.execute_cached(
        "INSERT INTO ledger (org, kind, candidate, amount, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            org.as_str(),
            kind.as_str().unwrap_or_default(),
            candidate.map(|c| c.as_str()),
            amount,
            at.to_rfc3339()
        ],
    )
    .map_err(err)?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ensure_org(
        &self,
        org: &OrgId,
        initial_credits: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let created = tx
            .execute_cached(
                "INSERT INTO orgs (org, balance) VALUES (?1, ?2) ON CONFLICT(org) DO NOTHING",
                params![org.as_str(), initial_credits],
            )
            .map_err(err)?;
        if created == 1 && initial_credits > 0 {
            add_ledger(&tx, org, LedgerKind::Grant, None, initial_credits, now)?;
        }
        tx.commit().map_err(err)
    }

    async fn credit_balance(&self, org: &OrgId) -> Result<i64, StoreError> {
        let conn = self.db.lock();
        Ok(conn
            .query_row_cached(
                "SELECT balance FROM orgs WHERE org = ?1",
                [org.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?
            .unwrap_or(0))
    }

    async fn reveal(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        now: DateTime<Utc>,
    ) -> Result<RevealOutcome, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let already: bool = tx
            .query_row_cached(
                "SELECT 1 FROM reveals WHERE org = ?1 AND candidate = ?2",
                [org.as_str(), candidate.as_str()],
                |_| Ok(true),
            )
            .optional()
            .map_err(err)?
            .unwrap_or(false);
        if already {
            return Ok(RevealOutcome::AlreadyRevealed);
        }
        let spent = tx
            .execute_cached(
                "UPDATE orgs SET balance = balance - 1 WHERE org = ?1 AND balance > 0",
                [org.as_str()],
            )
            .map_err(err)?;
        if spent == 0 {
            return Ok(RevealOutcome::NoCredits);
        }
        tx.execute_cached(
            "INSERT INTO reveals (org, candidate) VALUES (?1, ?2)",
            [org.as_str(), candidate.as_str()],
        )
        .map_err(err)?;
        add_ledger(&tx, org, LedgerKind::Reveal, Some(candidate), -1, now)?;
        tx.commit().map_err(err)?;
        Ok(RevealOutcome::Spent)
    }

    async fn grant_credits(
        &self,
        org: &OrgId,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        tx.execute_cached(
            "UPDATE orgs SET balance = balance + ?1 WHERE org = ?2",
            params![amount, org.as_str()],
        )
        .map_err(err)?;
        add_ledger(&tx, org, LedgerKind::Grant, None, amount, now)?;
        tx.commit().map_err(err)
    }

    async fn is_revealed(&self, org: &OrgId, candidate: &CandidateId) -> Result<bool, StoreError> {
        let conn = self.db.lock();
        Ok(conn
            .query_row_cached(
                "SELECT 1 FROM reveals WHERE org = ?1 AND candidate = ?2",
                [org.as_str(), candidate.as_str()],
                |_| Ok(true),
            )
            .optional()
            .map_err(err)?
            .unwrap_or(false))
    }

    async fn ledger(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        let conn = self.db.lock();
        let after: i64 = page
            .after
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        let limit = page.limit.max(1) as i64;
        let mut stmt = conn
            .prepare_cached("SELECT seq, kind, candidate, amount, at FROM ledger WHERE org = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")
            .map_err(err)?;
        let rows = stmt
            .query_map(params![org.as_str(), after, limit + 1], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(err)?;
        let mut items = Vec::new();
        for row in rows {
            let (seq, kind, candidate, amount, at) = row.map_err(err)?;
            items.push(LedgerEntry {
                seq,
                kind: serde_json::from_value(serde_json::Value::String(kind)).map_err(err)?,
                candidate_id: candidate.map(CandidateId::new),
                amount,
                at: DateTime::parse_from_rfc3339(&at)
                    .map_err(err)?
                    .with_timezone(&Utc),
            });
        }
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|e| e.seq.to_string())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn get_user(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<UserProfile>, StoreError> {
        let id = format!("{org}|{user}");
        Ok(get_doc(&self.db.lock(), USER, Some(org.as_str()), &id)?.map(|v| v.value))
    }

    async fn put_user(&self, profile: &UserProfile) -> Result<(), StoreError> {
        let id = format!("{}|{}", profile.org_id, profile.id);
        let keys = Keys {
            kind: USER,
            id: &id,
            org: profile.org_id.as_str(),
            parent: "",
            lookup: None,
            due_at: None,
        };
        upsert_doc(&self.db.lock(), &keys, profile)
    }

    async fn get_account(
        &self,
        id: &AccountId,
    ) -> Result<Option<Versioned<EmailAccount>>, StoreError> {
        get_doc(&self.db.lock(), ACCOUNT, None, id.as_str())
    }

    async fn find_account(
        &self,
        owner: &UserId,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<Option<Versioned<EmailAccount>>, StoreError> {
        let conn = self.db.lock();
        let id: Option<String> = conn
            .query_row_cached(
                "SELECT id FROM docs WHERE kind = ?1 AND org = ?2 AND lookup = ?3",
                params![ACCOUNT, org.as_str(), account_lookup(owner, address)],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        match id {
            Some(id) => get_doc(&conn, ACCOUNT, Some(org.as_str()), &id),
            None => Ok(None),
        }
    }

    async fn accounts_of(
        &self,
        org: &OrgId,
        owner: &UserId,
    ) -> Result<Vec<EmailAccount>, StoreError> {
        let conn = self.db.lock();
        let page = list_docs::<EmailAccount>(
            &conn,
            ACCOUNT,
            org.as_str(),
            owner.as_str(),
            &PageRequest {
                limit: 1000,
                after: None,
            },
        )?;
        Ok(page.items)
    }

    async fn put_account(
        &self,
        account: &EmailAccount,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let keys = Keys {
            kind: ACCOUNT,
            id: account.id.as_str(),
            org: account.org_id.as_str(),
            parent: account.owner_id.as_str(),
            lookup: Some(account_lookup(&account.owner_id, &account.address)),
            due_at: None,
        };
        put_doc(&self.db.lock(), &keys, account, expected)
    }

    async fn get_candidate(
        &self,
        org: &OrgId,
        id: &CandidateId,
    ) -> Result<Option<Versioned<Candidate>>, StoreError> {
        get_doc(&self.db.lock(), CANDIDATE, Some(org.as_str()), id.as_str())
    }

    async fn put_candidate(&self, c: &Candidate, expected: Option<u64>) -> Result<u64, StoreError> {
        let keys = Keys {
            kind: CANDIDATE,
            id: c.id.as_str(),
            org: c.org_id.as_str(),
            parent: "",
            lookup: None,
            due_at: None,
        };
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let v = put_doc(&tx, &keys, c, expected)?;
        tx.execute_cached(
            "DELETE FROM candidate_addresses WHERE org = ?1 AND candidate = ?2",
            params![c.org_id.as_str(), c.id.as_str()],
        )
        .map_err(err)?;
        for e in &c.emails {
            tx.execute_cached(
                "INSERT OR IGNORE INTO candidate_addresses (org, address, candidate) VALUES (?1, ?2, ?3)",
                params![c.org_id.as_str(), e.address.as_str(), c.id.as_str()],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(v)
    }

    async fn list_candidates(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Candidate>, StoreError> {
        list_docs(&self.db.lock(), CANDIDATE, org.as_str(), "", page)
    }

    async fn get_project(&self, org: &OrgId, id: &str) -> Result<Option<Project>, StoreError> {
        Ok(get_doc(&self.db.lock(), PROJECT, Some(org.as_str()), id)?.map(|v| v.value))
    }

    async fn put_project(&self, p: &Project) -> Result<(), StoreError> {
        let keys = Keys {
            kind: PROJECT,
            id: &p.id,
            org: p.org_id.as_str(),
            parent: "",
            lookup: None,
            due_at: None,
        };
        upsert_doc(&self.db.lock(), &keys, p)
    }

    async fn list_projects(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Project>, StoreError> {
        list_docs(&self.db.lock(), PROJECT, org.as_str(), "", page)
    }

    async fn get_template(&self, org: &OrgId, id: &str) -> Result<Option<Template>, StoreError> {
        Ok(get_doc(&self.db.lock(), TEMPLATE, Some(org.as_str()), id)?.map(|v| v.value))
    }

    async fn put_template(&self, t: &Template) -> Result<(), StoreError> {
        let keys = Keys {
            kind: TEMPLATE,
            id: &t.id,
            org: t.org_id.as_str(),
            parent: "",
            lookup: None,
            due_at: None,
        };
        upsert_doc(&self.db.lock(), &keys, t)
    }

    async fn delete_template(&self, org: &OrgId, id: &str) -> Result<(), StoreError> {
        self.db
            .lock()
            .execute_cached(
                "DELETE FROM docs WHERE kind = ?1 AND org = ?2 AND id = ?3",
                params![TEMPLATE, org.as_str(), id],
            )
            .map_err(err)?;
        Ok(())
    }

    async fn list_templates(
        &self,
        org: &OrgId,
        page: &PageRequest,
    ) -> Result<Page<Template>, StoreError> {
        list_docs(&self.db.lock(), TEMPLATE, org.as_str(), "", page)
    }

    async fn get_campaign(
        &self,
        org: &OrgId,
        id: &CampaignId,
    ) -> Result<Option<Versioned<Campaign>>, StoreError> {
        get_doc(&self.db.lock(), CAMPAIGN, Some(org.as_str()), id.as_str())
    }

    async fn put_campaign(&self, c: &Campaign, expected: Option<u64>) -> Result<u64, StoreError> {
        let keys = Keys {
            kind: CAMPAIGN,
            id: c.id.as_str(),
            org: c.org_id.as_str(),
            parent: c.project_id.as_str(),
            lookup: Some(c.sender_account_id.to_string()),
            due_at: None,
        };
        put_doc(&self.db.lock(), &keys, c, expected)
    }

    async fn list_campaigns(
        &self,
        org: &OrgId,
        project: &str,
        page: &PageRequest,
    ) -> Result<Page<Campaign>, StoreError> {
        list_docs(&self.db.lock(), CAMPAIGN, org.as_str(), project, page)
    }

    async fn get_enrollment(
        &self,
        org: &OrgId,
        id: &EnrollmentId,
    ) -> Result<Option<Versioned<Enrollment>>, StoreError> {
        get_doc(&self.db.lock(), ENROLLMENT, Some(org.as_str()), id.as_str())
    }

    async fn insert_enrollment(&self, e: &Enrollment) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        put_doc(&tx, &enrollment_keys(e), e, None)?;
        for token in [&e.reply_token, &e.unsubscribe_token] {
            tx.execute_cached(
                "INSERT INTO tokens (token, org, enrollment) VALUES (?1, ?2, ?3)",
                params![token, e.org_id.as_str(), e.id.as_str()],
            )
            .map_err(|x| match x {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Conflict
                }
                other => err(other),
            })?;
        }
        if !e.is_ended() {
            adjust_counter(&tx, &e.campaign_id, 1)?;
        }
        tx.commit().map_err(err)
    }

    async fn update_enrollment(
        &self,
        e: &Enrollment,
        expected: u64,
        activity: Activity,
    ) -> Result<u64, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let v = put_doc(&tx, &enrollment_keys(e), e, Some(expected))?;
        if activity != Activity::Unchanged {
            adjust_counter(&tx, &e.campaign_id, activity.delta())?;
        }
        tx.commit().map_err(err)?;
        Ok(v)
    }

    async fn list_enrollments(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        page: &PageRequest,
    ) -> Result<Page<Enrollment>, StoreError> {
        list_docs(
            &self.db.lock(),
            ENROLLMENT,
            org.as_str(),
            campaign.as_str(),
            page,
        )
    }

    async fn list_due(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(OrgId, EnrollmentId)>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare_cached("SELECT org, id FROM docs WHERE due_at IS NOT NULL AND due_at <= ?1 AND kind = ?2 ORDER BY due_at, id LIMIT ?3")
            .map_err(err)?;
        let rows = stmt
            .query_map(params![ms(before), ENROLLMENT, limit as i64], |r| {
                Ok((
                    OrgId::new(r.get::<_, String>(0)?),
                    EnrollmentId::new(r.get::<_, String>(1)?),
                ))
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    async fn enrollment_of_candidate(
        &self,
        org: &OrgId,
        campaign: &CampaignId,
        candidate: &CandidateId,
    ) -> Result<Option<EnrollmentId>, StoreError> {
        let conn = self.db.lock();
        conn.query_row_cached(
            "SELECT id FROM docs WHERE kind = ?1 AND org = ?2 AND lookup = ?3 AND parent = ?4 LIMIT 1",
            params![ENROLLMENT, org.as_str(), candidate.as_str(), campaign.as_str()],
            |r| Ok(EnrollmentId::new(r.get::<_, String>(0)?)),
        )
        .optional()
        .map_err(err)
    }

    async fn enrollments_of_candidate_in_org(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
    ) -> Result<Vec<EnrollmentId>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id FROM docs WHERE kind = ?1 AND org = ?2 AND lookup = ?3 ORDER BY id",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![ENROLLMENT, org.as_str(), candidate.as_str()], |r| {
                Ok(EnrollmentId::new(r.get::<_, String>(0)?))
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    async fn campaigns_using(
        &self,
        account: &AccountId,
    ) -> Result<Vec<(OrgId, CampaignId)>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare_cached("SELECT org, id FROM docs WHERE kind = ?1 AND lookup = ?2 ORDER BY id")
            .map_err(err)?;
        let rows = stmt
            .query_map(params![CAMPAIGN, account.as_str()], |r| {
                Ok((
                    OrgId::new(r.get::<_, String>(0)?),
                    CampaignId::new(r.get::<_, String>(1)?),
                ))
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    async fn find_token(&self, token: &str) -> Result<Option<(OrgId, EnrollmentId)>, StoreError> {
        self.db
            .lock()
            .query_row_cached(
                "SELECT org, enrollment FROM tokens WHERE token = ?1",
                [token],
                |r| {
                    Ok((
                        OrgId::new(r.get::<_, String>(0)?),
                        EnrollmentId::new(r.get::<_, String>(1)?),
                    ))
                },
            )
            .optional()
            .map_err(err)
    }

    async fn index_message(&self, m: &MessageRef) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        insert_message(&tx, m)?;
        tx.commit().map_err(err)
    }

    async fn find_message(&self, id: &str) -> Result<Option<MessageRef>, StoreError> {
        let id = id.trim().trim_start_matches('<').trim_end_matches('>');
        let body: Option<String> = self
            .db
            .lock()
            .query_row_cached("SELECT body FROM messages WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)?;
        body.map(|b| serde_json::from_str(&b).map_err(err))
            .transpose()
    }

    async fn messages_to(
        &self,
        address: &EmailAddress,
        limit: u32,
    ) -> Result<Vec<MessageRef>, StoreError> {
        let conn = self.db.lock();
        // Each message is indexed under two ids; the Message-ID form contains '@'.
        let mut stmt = conn
            .prepare_cached("SELECT body FROM messages WHERE to_addr = ?1 AND id NOT LIKE '%@%' ORDER BY rowid DESC LIMIT ?2")
            .map_err(err)?;
        let rows = stmt
            .query_map(params![address.as_str(), limit as i64], |r| {
                r.get::<_, String>(0)
            })
            .map_err(err)?;
        rows.map(|r| {
            r.map_err(err)
                .and_then(|b| serde_json::from_str(&b).map_err(err))
        })
        .collect()
    }

    async fn candidates_with_address(
        &self,
        org: &OrgId,
        address: &EmailAddress,
    ) -> Result<Vec<CandidateId>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare_cached("SELECT candidate FROM candidate_addresses WHERE org = ?1 AND address = ?2 ORDER BY candidate")
            .map_err(err)?;
        let rows = stmt
            .query_map(params![org.as_str(), address.as_str()], |r| {
                Ok(CandidateId::new(r.get::<_, String>(0)?))
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    async fn suppress(
        &self,
        org: &OrgId,
        key: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = self
            .db
            .lock()
            .execute_cached(
                "INSERT INTO suppressions (org, key, reason, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(org, key) DO NOTHING",
                params![org.as_str(), key, reason, now.to_rfc3339()],
            )
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn is_suppressed(&self, org: &OrgId, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .db
            .lock()
            .query_row_cached(
                "SELECT 1 FROM suppressions WHERE org = ?1 AND key = ?2",
                [org.as_str(), key],
                |_| Ok(true),
            )
            .optional()
            .map_err(err)?
            .unwrap_or(false))
    }

    async fn refund_once(
        &self,
        org: &OrgId,
        candidate: &CandidateId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let revealed = tx
            .query_row_cached(
                "SELECT 1 FROM reveals WHERE org = ?1 AND candidate = ?2",
                [org.as_str(), candidate.as_str()],
                |_| Ok(true),
            )
            .optional()
            .map_err(err)?
            .unwrap_or(false);
        if !revealed {
            return Ok(false);
        }
        let marked = tx
            .execute_cached(
                "INSERT INTO refunds (org, candidate) VALUES (?1, ?2) ON CONFLICT(org, candidate) DO NOTHING",
                [org.as_str(), candidate.as_str()],
            )
            .map_err(err)?;
        if marked == 0 {
            return Ok(false);
        }
        tx.execute_cached(
            "UPDATE orgs SET balance = balance + 1 WHERE org = ?1",
            [org.as_str()],
        )
        .map_err(err)?;
        add_ledger(&tx, org, LedgerKind::Refund, Some(candidate), 1, now)?;
        tx.commit().map_err(err)?;
        Ok(true)
    }

    async fn first_time(&self, key: &str, expires_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let n = self
            .db
            .lock()
            .execute_cached(
                "INSERT INTO seen (key, expires_at) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
                params![key, ms(expires_at)],
            )
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn put_notification(&self, n: &Notification) -> Result<(), StoreError> {
        let keys = Keys {
            kind: NOTIFICATION,
            id: &n.id,
            org: n.org_id.as_str(),
            parent: &n.project_id,
            lookup: None,
            due_at: None,
        };
        upsert_doc(&self.db.lock(), &keys, n)
    }

    async fn list_notifications(
        &self,
        org: &OrgId,
        project: &str,
    ) -> Result<Vec<Notification>, StoreError> {
        let all = PageRequest {
            limit: 1000,
            after: None,
        };
        let mut page =
            list_docs::<Notification>(&self.db.lock(), NOTIFICATION, org.as_str(), project, &all)?;
        page.items
            .sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(page.items)
    }

    async fn list_all_accounts(
        &self,
        page: &PageRequest,
    ) -> Result<Page<EmailAccount>, StoreError> {
        let conn = self.db.lock();
        let limit = page.limit.max(1) as i64;
        let after = page.after.clone().unwrap_or_default();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, body FROM docs WHERE kind = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![ACCOUNT, after, limit + 1], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(err)?;
        let mut items = Vec::new();
        let mut last = Vec::new();
        for row in rows {
            let (id, body) = row.map_err(err)?;
            items.push(serde_json::from_str(&body).map_err(err)?);
            last.push(id);
        }
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            last.get(limit as usize - 1).cloned()
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn get_record(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<serde_json::Value>>, StoreError> {
        get_doc(&self.db.lock(), RECORD, None, key)
    }

    async fn put_record(
        &self,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let keys = Keys {
            kind: RECORD,
            id: key,
            org: "",
            parent: "",
            lookup: None,
            due_at: None,
        };
        put_doc(&self.db.lock(), &keys, value, expected)
    }

    async fn append_event(&self, event: &EnrollmentEvent) -> Result<(), StoreError> {
        insert_event(&self.db.lock(), event)
    }

    async fn update_enrollment_recording(
        &self,
        e: &Enrollment,
        expected: u64,
        activity: Activity,
        event: &EnrollmentEvent,
        message: Option<&MessageRef>,
    ) -> Result<u64, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let v = put_doc(&tx, &enrollment_keys(e), e, Some(expected))?;
        if activity != Activity::Unchanged {
            adjust_counter(&tx, &e.campaign_id, activity.delta())?;
        }
        insert_event(&tx, event)?;
        if let Some(m) = message {
            insert_message(&tx, m)?;
        }
        tx.commit().map_err(err)?;
        Ok(v)
    }

    async fn increment_counter(&self, key: &str) -> Result<u64, StoreError> {
        increment(&self.db.lock(), key)
    }

    async fn increment_counters(&self, keys: &[String]) -> Result<Vec<u64>, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(increment(&tx, key)?);
        }
        tx.commit().map_err(err)?;
        Ok(values)
    }

    async fn read_counter(&self, key: &str) -> Result<u64, StoreError> {
        let value: Option<i64> = self
            .db
            .lock()
            .query_row_cached("SELECT value FROM counters WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)?;
        Ok(value.unwrap_or(0) as u64)
    }

    async fn list_events(
        &self,
        org: &OrgId,
        enrollment: &EnrollmentId,
        limit: u32,
    ) -> Result<Vec<EnrollmentEvent>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT body FROM events WHERE org = ?1 AND enrollment = ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(
                params![org.as_str(), enrollment.as_str(), limit as i64],
                |r| r.get::<_, String>(0),
            )
            .map_err(err)?;
        rows.map(|r| {
            r.map_err(err)
                .and_then(|b| serde_json::from_str(&b).map_err(err))
        })
        .collect()
    }
}

fn insert_event(conn: &Connection, event: &EnrollmentEvent) -> Result<(), StoreError> {
    let body = serde_json::to_string(event).map_err(err)?;
    conn.execute_cached(
        "INSERT INTO events (org, enrollment, body) VALUES (?1, ?2, ?3)",
        params![event.org_id.as_str(), event.enrollment_id.as_str(), body],
    )
    .map_err(err)?;
    Ok(())
}

/// A handed-off message under both of its ids.
fn insert_message(conn: &Connection, m: &MessageRef) -> Result<(), StoreError> {
    let body = serde_json::to_string(m).map_err(err)?;
    for id in [&m.message_id, &m.rfc822_message_id] {
        conn.execute_cached(
            "INSERT INTO messages (id, to_addr, body) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
            params![id, m.to.as_str(), body],
        )
        .map_err(err)?;
    }
    Ok(())
}

/// Adds one to a counter (created at zero) and returns the new value.
fn increment(conn: &Connection, key: &str) -> Result<u64, StoreError> {
    let value: i64 = conn
        .query_row_cached(
            "INSERT INTO counters (key, value) VALUES (?1, 1) ON CONFLICT(key) DO UPDATE SET value = value + 1 RETURNING value",
            [key],
            |r| r.get(0),
        )
        .map_err(err)?;
    Ok(value as u64)
}
