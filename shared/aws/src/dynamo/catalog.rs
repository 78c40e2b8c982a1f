//! The catalog of an organization: users, sender accounts (read by id across
//! organizations, R-2.4), candidates with their address items,
//! projects and templates.

use std::collections::BTreeSet;

use outreach_app::model::{EmailAccount, Project, Template, UserProfile};
use outreach_app::ports::{Page, PageRequest, StoreError, Versioned};
use outreach_domain::EmailAddress;
use outreach_domain::candidate::Candidate;
use outreach_domain::ids::{AccountId, CandidateId, OrgId, UserId};

use super::DynamoStore;
use super::access::{CREATE, Query, Range, SAME_VERSION};
use super::item::{
    self, ID, ItemBuilder, ORG, VERSION, doc, n, sdk_error, text, tx_delete, tx_put, versioned,
};
use super::keys::{self, Key};

fn account_item(a: &EmailAccount) -> Result<ItemBuilder, StoreError> {
    Ok(ItemBuilder::new(&keys::account(a.id.as_str()))
        .doc(a)?
        .text(ORG, a.org_id.as_str())
        .text(ID, a.id.as_str())
        .index(
            keys::GSI1PK,
            keys::GSI1SK,
            &keys::account_by_owner(
                a.org_id.as_str(),
                a.owner_id.as_str(),
                a.address.as_str(),
                a.id.as_str(),
            ),
        )
        .index(
            keys::GSI2PK,
            keys::GSI2SK,
            &keys::account_in_all(a.id.as_str()),
        ))
}

pub(super) async fn get_user(
    store: &DynamoStore,
    org: &OrgId,
    user: &UserId,
) -> Result<Option<UserProfile>, StoreError> {
    store
        .get_doc(&keys::user(org.as_str(), user.as_str()))
        .await
}

pub(super) async fn put_user(store: &DynamoStore, profile: &UserProfile) -> Result<(), StoreError> {
    let key = keys::user(profile.org_id.as_str(), profile.id.as_str());
    store.upsert(ItemBuilder::new(&key).doc(profile)?).await
}

pub(super) async fn get_account(
    store: &DynamoStore,
    id: &AccountId,
) -> Result<Option<Versioned<EmailAccount>>, StoreError> {
    store.get_versioned(&keys::account(id.as_str())).await
}

/// By the owner's address item, read consistently; an account created before
/// those items existed is found through the index.
pub(super) async fn find_account(
    store: &DynamoStore,
    owner: &UserId,
    org: &OrgId,
    address: &EmailAddress,
) -> Result<Option<Versioned<EmailAccount>>, StoreError> {
    let unique = keys::account_address(org.as_str(), owner.as_str(), address.as_str());
    if let Some(item) = store.get(&unique).await? {
        let account = get_account(store, &AccountId::new(text(&item, ID)?)).await?;
        return Ok(account.filter(|a| {
            &a.value.org_id == org && &a.value.owner_id == owner && &a.value.address == address
        }));
    }
    let query = Query::index(
        keys::GSI1,
        keys::accounts_of_pk(org.as_str(), owner.as_str()),
        Range::BeginsWith(keys::account_address_prefix(address.as_str())),
    );
    let found = store.query(&query, Some(1)).await?;
    let Some(item) = found.first() else {
        return Ok(None);
    };
    // The index may lag: the record itself, read consistently, decides.
    let account = get_account(store, &AccountId::new(text(item, ID)?)).await?;
    Ok(account.filter(|a| {
        &a.value.org_id == org && &a.value.owner_id == owner && &a.value.address == address
    }))
}

pub(super) async fn accounts_of(
    store: &DynamoStore,
    org: &OrgId,
    owner: &UserId,
) -> Result<Vec<EmailAccount>, StoreError> {
    let query = Query::index(
        keys::GSI1,
        keys::accounts_of_pk(org.as_str(), owner.as_str()),
        Range::BeginsWith(keys::ACCOUNT_ADDRESSES.into()),
    );
    let mut accounts: Vec<EmailAccount> = store.query_docs(&query, None).await?;
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(accounts)
}

/// A creation writes the owner's address item in the same transaction, on
/// the condition that it is new: a second account for one owner and address
/// is a `Conflict`, however close the two links. Accounts are never
/// deleted (a removal is a status) and no replacement moves an owner or an
/// address, so the item is never removed or moved.
pub(super) async fn put_account(
    store: &DynamoStore,
    account: &EmailAccount,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    if expected.is_some() {
        return store.put_versioned(account_item(account)?, expected).await;
    }
    let unique = ItemBuilder::new(&keys::account_address(
        account.org_id.as_str(),
        account.owner_id.as_str(),
        account.address.as_str(),
    ))
    .text(ORG, account.org_id.as_str())
    .text(ID, account.id.as_str())
    .build();
    let item = account_item(account)?.attr(VERSION, n(1)).build();
    let writes = vec![
        tx_put(&store.table, item, Some(CREATE), vec![])?,
        tx_put(&store.table, unique, Some(CREATE), vec![])?,
    ];
    store.transact(writes).await.map_err(StoreError::from)?;
    Ok(1)
}

pub(super) async fn list_all_accounts(
    store: &DynamoStore,
    page: &PageRequest,
) -> Result<Page<EmailAccount>, StoreError> {
    let query = Query::index_page(
        keys::GSI2,
        keys::ALL_ACCOUNTS_PK.to_owned(),
        keys::ACCOUNT_PREFIX,
        page.after.as_deref(),
        |id| (keys::account(id), keys::account_in_all(id)),
    );
    // The index holds ids; the accounts themselves are read by key.
    let ids = store
        .page(
            query,
            page.limit,
            |i| text(i, ID).map(str::to_owned),
            |id: &String| id.clone(),
        )
        .await?;
    let wanted: Vec<Key> = ids.items.iter().map(|id| keys::account(id)).collect();
    let mut accounts = store
        .get_many(&wanted)
        .await?
        .iter()
        .map(doc)
        .collect::<Result<Vec<EmailAccount>, _>>()?;
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Page {
        items: accounts,
        next: ids.next,
    })
}

pub(super) async fn get_candidate(
    store: &DynamoStore,
    org: &OrgId,
    id: &CandidateId,
) -> Result<Option<Versioned<Candidate>>, StoreError> {
    store
        .get_versioned(&keys::candidate(org.as_str(), id.as_str()))
        .await
}

pub(super) async fn put_candidate(
    store: &DynamoStore,
    candidate: &Candidate,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let (org, id) = (candidate.org_id.as_str(), candidate.id.as_str());
    let key = keys::candidate(org, id);
    let addresses: BTreeSet<&str> = candidate
        .emails
        .iter()
        .map(|e| e.address.as_str())
        .collect();
    // The address items to remove are those of the version being replaced.
    let previous: BTreeSet<String> = match expected {
        None => BTreeSet::new(),
        Some(v) => {
            let Some(current) = store.get(&key).await? else {
                return Err(StoreError::Conflict);
            };
            let current: Versioned<Candidate> = versioned(&current)?;
            if current.version != v {
                return Err(StoreError::Conflict);
            }
            current
                .value
                .emails
                .iter()
                .map(|e| e.address.as_str().to_owned())
                .collect()
        }
    };
    let next = expected.map_or(1, |v| v + 1);
    let item = ItemBuilder::new(&key)
        .doc(candidate)?
        .attr(VERSION, n(next))
        .build();
    let unchanged = previous.len() == addresses.len()
        && previous.iter().all(|a| addresses.contains(a.as_str()));
    if let (Some(v), true) = (expected, unchanged) {
        // The common update (a bounce mark): one conditional write.
        store
            .put(item, Some(SAME_VERSION), vec![(":v", n(v))])
            .await
            .map_err(StoreError::from)?;
        return Ok(next);
    }
    let mut writes = vec![match expected {
        None => tx_put(&store.table, item, Some(CREATE), vec![])?,
        Some(v) => tx_put(&store.table, item, Some(SAME_VERSION), vec![(":v", n(v))])?,
    }];
    for address in &addresses {
        let entry = ItemBuilder::new(&keys::candidate_address(org, address, id))
            .text(ORG, org)
            .text(ID, id)
            .build();
        writes.push(tx_put(&store.table, entry, None, vec![])?);
    }
    for gone in previous.iter().filter(|a| !addresses.contains(a.as_str())) {
        writes.push(tx_delete(
            &store.table,
            &keys::candidate_address(org, gone, id),
        )?);
    }
    store.transact(writes).await.map_err(StoreError::from)?;
    Ok(next)
}

pub(super) async fn list_candidates(
    store: &DynamoStore,
    org: &OrgId,
    page: &PageRequest,
) -> Result<Page<Candidate>, StoreError> {
    store
        .list_in_org(
            org.as_str(),
            keys::CANDIDATE_PREFIX,
            keys::candidate,
            page,
            |c: &Candidate| c.id.to_string(),
        )
        .await
}

pub(super) async fn get_project(
    store: &DynamoStore,
    org: &OrgId,
    id: &str,
) -> Result<Option<Project>, StoreError> {
    store.get_doc(&keys::project(org.as_str(), id)).await
}

pub(super) async fn put_project(store: &DynamoStore, project: &Project) -> Result<(), StoreError> {
    let key = keys::project(project.org_id.as_str(), &project.id);
    store.upsert(ItemBuilder::new(&key).doc(project)?).await
}

pub(super) async fn list_projects(
    store: &DynamoStore,
    org: &OrgId,
    page: &PageRequest,
) -> Result<Page<Project>, StoreError> {
    store
        .list_in_org(
            org.as_str(),
            keys::PROJECT_PREFIX,
            keys::project,
            page,
            |p: &Project| p.id.clone(),
        )
        .await
}

pub(super) async fn get_template(
    store: &DynamoStore,
    org: &OrgId,
    id: &str,
) -> Result<Option<Template>, StoreError> {
    store.get_doc(&keys::template(org.as_str(), id)).await
}

pub(super) async fn put_template(
    store: &DynamoStore,
    template: &Template,
) -> Result<(), StoreError> {
    let key = keys::template(template.org_id.as_str(), &template.id);
    store.upsert(ItemBuilder::new(&key).doc(template)?).await
}

pub(super) async fn delete_template(
    store: &DynamoStore,
    org: &OrgId,
    id: &str,
) -> Result<(), StoreError> {
    store
        .client
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(item::key_item(&keys::template(org.as_str(), id))))
        .send()
        .await
        .map_err(|e| StoreError::from(sdk_error(e)))?;
    Ok(())
}

pub(super) async fn list_templates(
    store: &DynamoStore,
    org: &OrgId,
    page: &PageRequest,
) -> Result<Page<Template>, StoreError> {
    store
        .list_in_org(
            org.as_str(),
            keys::TEMPLATE_PREFIX,
            keys::template,
            page,
            |t: &Template| t.id.clone(),
        )
        .await
}
