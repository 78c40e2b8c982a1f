//! The catalog of an organization: users, sender accounts (read by id across
//! organizations, R-2.4), candidates with their addresses, projects
//! and templates.

use outreach_app::model::{EmailAccount, Project, Template, UserProfile};
use outreach_app::ports::{Page, PageRequest, StoreError, Versioned};
use outreach_domain::EmailAddress;
use outreach_domain::candidate::Candidate;
use outreach_domain::ids::{AccountId, CandidateId, OrgId, UserId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use super::docs::{
    ACCOUNT, CANDIDATE, Keys, PROJECT, TEMPLATE, USER, err, get_doc, list_docs, page_of, put_doc,
    read_bodies, read_rows, upsert_doc,
};
use crate::db::Cached;

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

/// Users are keyed by organization and id together: a user id may exist in two.
pub(super) async fn get_user(
    store: &SqliteStore,
    org: &OrgId,
    user: &UserId,
) -> Result<Option<UserProfile>, StoreError> {
    let id = format!("{org}|{user}");
    Ok(get_doc(&store.db.lock(), USER, Some(org.as_str()), &id)?.map(|v| v.value))
}

pub(super) async fn put_user(store: &SqliteStore, profile: &UserProfile) -> Result<(), StoreError> {
    let id = format!("{}|{}", profile.org_id, profile.id);
    let keys = Keys::of(USER, &id, profile.org_id.as_str());
    upsert_doc(&store.db.lock(), &keys, profile)
}

pub(super) async fn get_account(
    store: &SqliteStore,
    id: &AccountId,
) -> Result<Option<Versioned<EmailAccount>>, StoreError> {
    get_doc(&store.db.lock(), ACCOUNT, None, id.as_str())
}

/// The lookup column holds `owner|address` within the organization.
pub(super) async fn find_account(
    store: &SqliteStore,
    owner: &UserId,
    org: &OrgId,
    address: &EmailAddress,
) -> Result<Option<Versioned<EmailAccount>>, StoreError> {
    let conn = store.db.lock();
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

/// An owner's accounts are the documents listed under the owner, all of
/// them in id order (no cap: DynamoDB answers them all too).
pub(super) async fn accounts_of(
    store: &SqliteStore,
    org: &OrgId,
    owner: &UserId,
) -> Result<Vec<EmailAccount>, StoreError> {
    read_bodies(
        &store.db.lock(),
        "SELECT body FROM docs WHERE kind = ?1 AND org = ?2 AND parent = ?3 ORDER BY id",
        params![ACCOUNT, org.as_str(), owner.as_str()],
    )
}

/// One account per owner and address in an organization: a creation
/// whose owner and address another account holds is a `Conflict`, decided in
/// the write's own transaction, as DynamoDB decides it with its uniqueness
/// item. A replacement keeps its owner and address (no use case moves them),
/// so it is not checked: accounts made twice before the check stay writable.
pub(super) async fn put_account(
    store: &SqliteStore,
    account: &EmailAccount,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let lookup = account_lookup(&account.owner_id, &account.address);
    let keys = Keys::of(ACCOUNT, account.id.as_str(), account.org_id.as_str())
        .under(account.owner_id.as_str())
        .found_by(lookup.clone());
    let mut conn = store.db.lock();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    if expected.is_none() && account_taken(&tx, account, &lookup)? {
        return Err(StoreError::Conflict);
    }
    let v = put_doc(&tx, &keys, account, expected)?;
    tx.commit().map_err(err)?;
    Ok(v)
}

/// Whether another account of the organization has this owner and address.
fn account_taken(
    conn: &Connection,
    account: &EmailAccount,
    lookup: &str,
) -> Result<bool, StoreError> {
    conn.query_row_cached(
        "SELECT 1 FROM docs WHERE kind = ?1 AND org = ?2 AND lookup = ?3 AND id <> ?4 LIMIT 1",
        params![
            ACCOUNT,
            account.org_id.as_str(),
            lookup,
            account.id.as_str()
        ],
        |_| Ok(()),
    )
    .optional()
    .map_err(err)
    .map(|found| found.is_some())
}

/// Across organizations, for the identity check: the one list not
/// kept to an organization.
pub(super) async fn list_all_accounts(
    store: &SqliteStore,
    page: &PageRequest,
) -> Result<Page<EmailAccount>, StoreError> {
    let limit = page.limit.max(1) as i64;
    let after = page.after.clone().unwrap_or_default();
    let rows = read_rows(
        &store.db.lock(),
        "SELECT id, body FROM docs WHERE kind = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        params![ACCOUNT, after, limit + 1],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    let items = rows
        .into_iter()
        .map(|(id, body)| Ok((id, serde_json::from_str(&body).map_err(err)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(page_of(items, limit))
}

pub(super) async fn get_candidate(
    store: &SqliteStore,
    org: &OrgId,
    id: &CandidateId,
) -> Result<Option<Versioned<Candidate>>, StoreError> {
    get_doc(&store.db.lock(), CANDIDATE, Some(org.as_str()), id.as_str())
}

/// The address rows are rewritten with the document in one transaction, so
/// that `candidates_with_address` never sees half a candidate.
pub(super) async fn put_candidate(
    store: &SqliteStore,
    c: &Candidate,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let keys = Keys::of(CANDIDATE, c.id.as_str(), c.org_id.as_str());
    let mut conn = store.db.lock();
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

pub(super) async fn list_candidates(
    store: &SqliteStore,
    org: &OrgId,
    page: &PageRequest,
) -> Result<Page<Candidate>, StoreError> {
    list_docs(&store.db.lock(), CANDIDATE, org.as_str(), "", page)
}

pub(super) async fn get_project(
    store: &SqliteStore,
    org: &OrgId,
    id: &str,
) -> Result<Option<Project>, StoreError> {
    Ok(get_doc(&store.db.lock(), PROJECT, Some(org.as_str()), id)?.map(|v| v.value))
}

pub(super) async fn put_project(store: &SqliteStore, p: &Project) -> Result<(), StoreError> {
    let keys = Keys::of(PROJECT, &p.id, p.org_id.as_str());
    upsert_doc(&store.db.lock(), &keys, p)
}

pub(super) async fn list_projects(
    store: &SqliteStore,
    org: &OrgId,
    page: &PageRequest,
) -> Result<Page<Project>, StoreError> {
    list_docs(&store.db.lock(), PROJECT, org.as_str(), "", page)
}

pub(super) async fn get_template(
    store: &SqliteStore,
    org: &OrgId,
    id: &str,
) -> Result<Option<Template>, StoreError> {
    Ok(get_doc(&store.db.lock(), TEMPLATE, Some(org.as_str()), id)?.map(|v| v.value))
}

pub(super) async fn put_template(store: &SqliteStore, t: &Template) -> Result<(), StoreError> {
    let keys = Keys::of(TEMPLATE, &t.id, t.org_id.as_str());
    upsert_doc(&store.db.lock(), &keys, t)
}

/// Deleting what is not there is success, as a retried delete must be.
pub(super) async fn delete_template(
    store: &SqliteStore,
    org: &OrgId,
    id: &str,
) -> Result<(), StoreError> {
    store
        .db
        .lock()
        .execute_cached(
            "DELETE FROM docs WHERE kind = ?1 AND org = ?2 AND id = ?3",
            params![TEMPLATE, org.as_str(), id],
        )
        .map_err(err)?;
    Ok(())
}

pub(super) async fn list_templates(
    store: &SqliteStore,
    org: &OrgId,
    page: &PageRequest,
) -> Result<Page<Template>, StoreError> {
    list_docs(&store.db.lock(), TEMPLATE, org.as_str(), "", page)
}
