//! Organizations and credits: the balance and ledger sequence
//! on the organization item, and every credit movement as one transaction of
//! marker, balance and ledger entry, retried when another movement took the
//! sequence first.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use outreach_app::model::{LedgerEntry, LedgerKind};
use outreach_app::ports::{Page, PageRequest, RevealOutcome, StoreError};
use outreach_domain::ids::{CandidateId, OrgId};

use super::DynamoStore;
use super::access::{CREATE, Query, Range};
use super::item::{
    BALANCE, DynamoError, ItemBuilder, SEQ, Values, backoff, doc, n, number, s, tx_put, tx_update,
};
use super::keys;

/// Attempts at a credit movement that lost the race for the ledger sequence.
const LEDGER_ATTEMPTS: usize = 25;

impl DynamoStore {
    /// The organization's balance and ledger sequence; `None` before `ensure_org`.
    async fn org_state(&self, org: &OrgId) -> Result<Option<(i64, i64)>, StoreError> {
        match self.get(&keys::org(org.as_str())).await? {
            Some(item) => Ok(Some((number(&item, BALANCE)?, number(&item, SEQ)?))),
            None => Ok(None),
        }
    }

    /// The writes moving `amount` credits with ledger entry `seq + 1`, on the
    /// condition that nobody else moved the sequence meanwhile.
    fn credit_movement(
        &self,
        org: &OrgId,
        seq: i64,
        entry: &LedgerEntry,
    ) -> Result<[TransactWriteItem; 2], StoreError> {
        let balance = tx_update(
            &self.table,
            &keys::org(org.as_str()),
            "SET #balance = #balance + :amount, #seq = :next",
            Some(if entry.amount < 0 {
                "#seq = :seq AND #balance >= :needed"
            } else {
                "#seq = :seq"
            }),
            {
                let mut v: Values = vec![
                    (":amount", n(entry.amount)),
                    (":next", n(entry.seq)),
                    (":seq", n(seq)),
                ];
                if entry.amount < 0 {
                    v.push((":needed", n(-entry.amount)));
                }
                v
            },
        )?;
        let ledger = tx_put(
            &self.table,
            ItemBuilder::new(&keys::ledger(org.as_str(), entry.seq))
                .doc(entry)?
                .build(),
            Some(CREATE),
            vec![],
        )?;
        Ok([balance, ledger])
    }
}

fn ledger_entry(
    seq: i64,
    kind: LedgerKind,
    candidate: Option<&CandidateId>,
    amount: i64,
    at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        seq,
        kind,
        candidate_id: candidate.cloned(),
        amount,
        at,
    }
}

pub(super) async fn ensure_org(
    store: &DynamoStore,
    org: &OrgId,
    initial_credits: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let granted = initial_credits > 0;
    let org_item = ItemBuilder::new(&keys::org(org.as_str()))
        .attr(BALANCE, n(initial_credits))
        .attr(SEQ, n(i64::from(granted)))
        .build();
    let mut writes = vec![tx_put(&store.table, org_item, Some(CREATE), vec![])?];
    if granted {
        let grant = ledger_entry(1, LedgerKind::Grant, None, initial_credits, now);
        writes.push(tx_put(
            &store.table,
            ItemBuilder::new(&keys::ledger(org.as_str(), 1))
                .doc(&grant)?
                .build(),
            Some(CREATE),
            vec![],
        )?);
    }
    match store.transact(writes).await {
        Ok(()) => Ok(()),
        // Seen before: its credits were granted then.
        Err(e) if e.condition_failed_at(0) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn credit_balance(store: &DynamoStore, org: &OrgId) -> Result<i64, StoreError> {
    Ok(store
        .org_state(org)
        .await?
        .map_or(0, |(balance, _)| balance))
}

pub(super) async fn reveal(
    store: &DynamoStore,
    org: &OrgId,
    candidate: &CandidateId,
    now: DateTime<Utc>,
) -> Result<RevealOutcome, StoreError> {
    for attempt in 0..LEDGER_ATTEMPTS {
        let (balance, seq) = store.org_state(org).await?.unwrap_or((0, 0));
        if balance <= 0 {
            return Ok(if is_revealed(store, org, candidate).await? {
                RevealOutcome::AlreadyRevealed
            } else {
                RevealOutcome::NoCredits
            });
        }
        let entry = ledger_entry(seq + 1, LedgerKind::Reveal, Some(candidate), -1, now);
        let marker = ItemBuilder::new(&keys::reveal(org.as_str(), candidate.as_str()))
            .text("revealed_at", now.to_rfc3339())
            .build();
        let [movement, ledger] = store.credit_movement(org, seq, &entry)?;
        let writes = vec![
            tx_put(&store.table, marker, Some(CREATE), vec![])?,
            movement,
            ledger,
        ];
        match store.transact(writes).await {
            Ok(()) => return Ok(RevealOutcome::Spent),
            Err(e) if e.condition_failed_at(0) => return Ok(RevealOutcome::AlreadyRevealed),
            // Another movement took the sequence (or the last credit): look again.
            Err(e @ DynamoError::Cancelled(_)) if e.condition_failed_at(1) => {
                backoff(attempt.min(3)).await
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict)
}

pub(super) async fn grant_credits(
    store: &DynamoStore,
    org: &OrgId,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for attempt in 0..LEDGER_ATTEMPTS {
        let writes = match store.org_state(org).await? {
            Some((_, seq)) => {
                let entry = ledger_entry(seq + 1, LedgerKind::Grant, None, amount, now);
                Vec::from(store.credit_movement(org, seq, &entry)?)
            }
            None => {
                // Granted before the organization was first seen: it starts with the grant.
                let entry = ledger_entry(1, LedgerKind::Grant, None, amount, now);
                let org_item = ItemBuilder::new(&keys::org(org.as_str()))
                    .attr(BALANCE, n(amount))
                    .attr(SEQ, n(1))
                    .build();
                vec![
                    tx_put(&store.table, org_item, Some(CREATE), vec![])?,
                    tx_put(
                        &store.table,
                        ItemBuilder::new(&keys::ledger(org.as_str(), 1))
                            .doc(&entry)?
                            .build(),
                        Some(CREATE),
                        vec![],
                    )?,
                ]
            }
        };
        match store.transact(writes).await {
            Ok(()) => return Ok(()),
            // Another movement took the sequence, or created the organization.
            Err(e @ DynamoError::Cancelled(_)) if e.condition_failed_at(0) => {
                backoff(attempt.min(3)).await
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict)
}

pub(super) async fn is_revealed(
    store: &DynamoStore,
    org: &OrgId,
    candidate: &CandidateId,
) -> Result<bool, StoreError> {
    Ok(store
        .get(&keys::reveal(org.as_str(), candidate.as_str()))
        .await?
        .is_some())
}

pub(super) async fn ledger(
    store: &DynamoStore,
    org: &OrgId,
    page: &PageRequest,
) -> Result<Page<LedgerEntry>, StoreError> {
    let after = page
        .after
        .as_deref()
        .and_then(|a| a.parse::<i64>().ok())
        .map(|seq| (keys::ledger(org.as_str(), seq), None));
    let query = Query::table(
        keys::org_pk(org.as_str()),
        Range::BeginsWith(keys::LEDGER_PREFIX.into()),
    )
    .after(after);
    store
        .page(query, page.limit, doc, |e: &LedgerEntry| e.seq.to_string())
        .await
}

pub(super) async fn refund_once(
    store: &DynamoStore,
    org: &OrgId,
    candidate: &CandidateId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    for attempt in 0..LEDGER_ATTEMPTS {
        let Some((_, seq)) = store.org_state(org).await? else {
            // No organization, so no reveal to refund.
            return Ok(false);
        };
        let entry = ledger_entry(seq + 1, LedgerKind::Refund, Some(candidate), 1, now);
        let [movement, ledger] = store.credit_movement(org, seq, &entry)?;
        let writes = vec![
            // The marker: revealed, and not refunded yet.
            tx_update(
                &store.table,
                &keys::reveal(org.as_str(), candidate.as_str()),
                "SET #refunded = :now",
                Some("attribute_exists(#pk) AND attribute_not_exists(#refunded)"),
                vec![(":now", s(now.to_rfc3339()))],
            )?,
            movement,
            ledger,
        ];
        match store.transact(writes).await {
            Ok(()) => return Ok(true),
            Err(e) if e.condition_failed_at(0) => return Ok(false),
            Err(e @ DynamoError::Cancelled(_)) if e.condition_failed_at(1) => {
                backoff(attempt.min(3)).await
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict)
}
