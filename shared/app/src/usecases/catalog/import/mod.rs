//! Importing candidates from a CSV file.
//!
//! The file is read and every row checked first ([`table`]); a file beyond
//! the limits imports nothing (413). Rows are then matched to the
//! organization's candidates by canonical address with one read per
//! distinct address and one batched read of the matched candidates, decided
//! in file order (a later row may match a candidate an earlier row created),
//! and written with bounded concurrency: one write per created candidate and
//! one read-modify-write per updated one. An invalid row is reported and
//! never half-imported; the valid rows are imported whatever the others do.
//! Creating never spends a credit.

pub mod job;
pub mod lease;
pub mod table;
mod unread;

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use outreach_domain::EmailAddress;
use outreach_domain::candidate::{Candidate, CandidateEmail};
use outreach_domain::ids::{CandidateId, UserId};
use outreach_domain::jitter::stable_hash;

use super::Catalog;
use super::candidates::MAX_EMAILS;
use crate::auth::Identity;
use crate::error::Error;
use crate::ports::{Found, Lookup, StoreError};
use crate::usecases::enrollments::{AddCandidates, Added, MAX_CANDIDATES_PER_CALL};
use table::RowCandidate;

/// At most this many bytes of CSV (R-3.7; 413 beyond).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// Store calls of an import in flight at once.
const CONCURRENCY: usize = 16;

/// What to do with a row whose address names an existing candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    /// Leave the candidate as it is; the row counts as `skipped`.
    #[default]
    Skip,
    /// Fill the candidate's empty fields and append its new addresses (never
    /// reordering or removing any); the row counts as `updated` when that
    /// changed something, else `skipped`.
    Update,
}

/// An import, as the HTTP form gives it.
#[derive(Debug, Default)]
pub struct ImportInput {
    pub file: Vec<u8>,
    /// `{column name: field}` (SPEC Appendix A); `None`: recognise the headers.
    pub mapping: Option<BTreeMap<String, String>>,
    pub on_duplicate: OnDuplicate,
    pub campaign_id: Option<String>,
    /// The request's `Idempotency-Key` (§13): with one, the candidates the
    /// rows create have ids derived from it, the request and the row, so a
    /// repeat after a crash finds what the first run created (never twice).
    pub idempotency_key: Option<String>,
}

/// Why a row was not imported (`row` counts data rows from 1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

impl RowError {
    pub fn new(row: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        RowError {
            row,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What an import did: every non-blank data row is counted exactly once, in
/// `created`, `updated`, `skipped` or (by row) `errors`.
#[derive(Default)]
pub struct Imported {
    pub created: usize,
    pub updated: usize,
    pub skipped: usize,
    pub errors: Vec<RowError>,
    /// The candidates the valid rows name, in file order.
    pub candidate_ids: Vec<CandidateId>,
    /// With `campaign_id`: what adding them to the campaign did.
    pub added: Option<Added>,
    /// The import's record, for `GET /v1/imports/{id}` ([`job`]).
    pub import_id: Option<String>,
}

/// How an import answers: done (200), or queued as a job (202, AWS)
/// with the file's row errors, all known when it was read.
pub enum ImportAnswer {
    Done(Imported),
    Queued {
        job: job::ImportJob,
        errors: Vec<RowError>,
    },
}

impl ImportAnswer {
    /// The finished import; `None` for a queued job.
    pub fn done(self) -> Option<Imported> {
        match self {
            ImportAnswer::Done(out) => Some(out),
            ImportAnswer::Queued { .. } => None,
        }
    }
}

/// Which candidate a row's address belongs to, while the rows are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// The n-th candidate this import creates.
    New(usize),
    /// The n-th existing candidate this import matched.
    Existing(usize),
}

/// The import's decisions, before anything is written.
#[derive(Default)]
struct Plan {
    new: Vec<Candidate>,
    /// Matched candidates as read, and whether a row changed them.
    existing: Vec<(Candidate, bool)>,
    owners: HashMap<EmailAddress, Owner>,
}

impl Catalog<'_> {
    /// imports the file's candidates, and with `campaign_id` adds them
    /// to that campaign (R-5.4, R-5.6, credits ). The whole file is
    /// read and checked first; in AWS an import whose store calls would not
    /// fit the request (`Config::import_sync_max_calls`) is queued as a job
    /// ([`job`]) and answered at once.
    pub async fn import_candidates(
        &self,
        who: &Identity,
        input: ImportInput,
    ) -> Result<ImportAnswer, Error> {
        if input.file.len() > MAX_FILE_BYTES {
            return Err(Error::TooLarge("the CSV file is larger than 4 MB".into()));
        }
        let text = table::text(&input.file)?;
        let (_, rows) = table::read(text, input.mapping.as_ref())?;
        let jobs = self.config.import_sync_max_calls.is_some();
        // A campaign that cannot take candidates refuses the import before
        // anything is written.
        if let Some(id) = &input.campaign_id {
            let bound = self.config.import_enroll_max_rows;
            if rows.len() > bound && !jobs {
                return Err(Error::TooLarge(format!(
                    "an import with campaign_id takes at most {bound} data rows here; import the rest without campaign_id, or in parts"
                )));
            }
            self.enrollments().addable_campaign(who, id).await?;
        }
        self.ensure_org(&who.org_id).await?;
        let mut out = Imported::default();
        let mut valid = Vec::new();
        for row in rows {
            match row.candidate {
                Ok(c) => valid.push((row.row, c)),
                Err(errors) => out.errors.extend(errors),
            }
        }
        let seed = input
            .idempotency_key
            .as_deref()
            .map(|key| run_seed(who, key, text, &input));
        let options = job::Options {
            on_duplicate: input.on_duplicate,
            campaign_id: input.campaign_id.clone(),
        };
        let id = seed
            .as_deref()
            .map_or_else(|| self.new_id("imp"), job::derived_id);
        let org = &who.org_id;
        if self.needs_job(&valid, input.campaign_id.is_some()) {
            self.take_import_lease(org, &id, lease::JOB_LEASE).await?;
            let queued = self
                .queue_import(who, &id, options, valid, out.errors.clone(), seed)
                .await;
            // A job holds the lease until its last chunk (or a failure to queue it).
            if !queued.as_ref().is_ok_and(job::ImportJob::runs) {
                self.release_import_lease(org, &id).await;
            }
            return Ok(ImportAnswer::Queued {
                job: queued?,
                errors: out.errors,
            });
        }
        self.take_import_lease(org, &id, lease::SYNC_LEASE).await?;
        let done = self.import_now(who, &id, input, valid, seed, out).await;
        self.release_import_lease(org, &id).await;
        Ok(ImportAnswer::Done(done?))
    }

    /// An import answered when done, under the organization's import lease.
    async fn import_now(
        &self,
        who: &Identity,
        id: &str,
        input: ImportInput,
        valid: Vec<(usize, RowCandidate)>,
        seed: Option<String>,
        mut out: Imported,
    ) -> Result<Imported, Error> {
        let options = job::Options {
            on_duplicate: input.on_duplicate,
            campaign_id: input.campaign_id.clone(),
        };
        let run = seed.clone().map(|seed| RunIds { seed });
        out.candidate_ids = self
            .import_rows(who, valid, input.on_duplicate, run.as_ref(), &mut out)
            .await?;
        if let Some(campaign) = &input.campaign_id {
            out.added = Some(self.add_imported(who, campaign, &out.candidate_ids).await?);
        }
        self.record_done(who, id, &options, &out, seed).await?;
        out.import_id = Some(id.to_owned());
        Ok(out)
    }

    /// Imports valid rows (data row number, candidate) in file order, counting
    /// each in `out`; returns the candidates they name, each once, in file
    /// order. With `run`, a created candidate's id is derived from the run
    /// and the row, so a repeat finds it (never twice).
    pub(super) async fn import_rows(
        &self,
        who: &Identity,
        valid: Vec<(usize, RowCandidate)>,
        on_duplicate: OnDuplicate,
        run: Option<&RunIds>,
        out: &mut Imported,
    ) -> Result<Vec<CandidateId>, Error> {
        let rows: Vec<&RowCandidate> = valid.iter().map(|(_, c)| c).collect();
        let mut plan = self.matches(who, &rows).await?;
        let mut named = Vec::with_capacity(valid.len());
        for (number, row) in valid {
            let ours = run.map(|r| r.id(number));
            let owner = plan.decide(who, row, on_duplicate, out, ours, || {
                self.new_id(CandidateId::PREFIX)
            });
            named.extend(owner);
        }
        self.write(who, &plan).await?;
        let mut seen = HashSet::new();
        Ok(named
            .into_iter()
            .map(|o| match o {
                Owner::New(i) => plan.new[i].id.clone(),
                Owner::Existing(i) => plan.existing[i].0.id.clone(),
            })
            .filter(|id| seen.insert(id.clone()))
            .collect())
    }

    /// The organization's candidates that the rows' addresses name, visible to
    /// the importer (a colleague's manual address matches nothing, R-3.3):
    /// one read per distinct address, one batched read of the candidates.
    async fn matches(&self, who: &Identity, rows: &[&RowCandidate]) -> Result<Plan, Error> {
        let mut addresses: Vec<EmailAddress> = Vec::new();
        let mut seen = HashSet::new();
        for (a, _) in rows.iter().flat_map(|r| r.emails.iter()) {
            if seen.insert(a.clone()) {
                addresses.push(a.clone());
            }
        }
        let reads: Vec<_> = addresses
            .iter()
            .map(|a| async move { self.store.candidates_with_address(&who.org_id, a).await })
            .collect();
        let found: Vec<Vec<CandidateId>> = stream::iter(reads)
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut ids: Vec<CandidateId> = Vec::new();
        let mut listed = HashSet::new();
        for id in found.iter().flatten() {
            if listed.insert(id.clone()) {
                ids.push(id.clone());
            }
        }
        let mut plan = Plan::default();
        for chunk in ids.chunks(100) {
            let lookups: Vec<Lookup> = chunk
                .iter()
                .map(|id| Lookup::Candidate(who.org_id.clone(), id.clone()))
                .collect();
            for found in self.store.get_batch(&lookups).await? {
                if let Some(Found::Candidate(c)) = found
                    && !c.value.erased
                {
                    plan.existing.push((c.value, false));
                }
            }
        }
        // An address names the first candidate, in the order read, that has it
        // where the importer may see it.
        for (i, (c, _)) in plan.existing.iter().enumerate() {
            for e in c.emails.iter().filter(|e| e.visible_to(&who.user_id)) {
                plan.owners
                    .entry(e.address.clone())
                    .or_insert(Owner::Existing(i));
            }
        }
        Ok(plan)
    }

    /// Writes the plan: the new candidates, and the rows' changes to the
    /// matched ones, re-applied to each as it is stored now (a concurrent
    /// change is kept: only empty fields are filled, only missing addresses
    /// appended).
    async fn write(&self, who: &Identity, plan: &Plan) -> Result<(), Error> {
        let creates: Vec<_> = plan
            .new
            .iter()
            .map(|c| async move { self.create_once(c).await })
            .collect();
        stream::iter(creates)
            .buffer_unordered(CONCURRENCY)
            .try_collect::<()>()
            .await?;
        let updates: Vec<_> = plan
            .existing
            .iter()
            .filter(|(_, changed)| *changed)
            .map(|(wanted, _)| async move {
                self.modify_candidate(&who.org_id, &wanted.id, |c| {
                    Ok(!c.erased && merge(c, wanted, &who.user_id))
                })
                .await
                .map(|_| ())
            })
            .collect();
        stream::iter(updates)
            .buffer_unordered(CONCURRENCY)
            .try_collect::<()>()
            .await
    }

    /// Creates a candidate unless it exists: a repeat of an import (§13)
    /// finds the candidates its first run created under the same ids.
    async fn create_once(&self, c: &Candidate) -> Result<(), Error> {
        match self.store.put_candidate(c, None).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict)
                if self.store.get_candidate(&c.org_id, &c.id).await?.is_some() =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Adds the imported candidates to the campaign, 1,000 per call (§13).
    async fn add_imported(
        &self,
        who: &Identity,
        campaign: &str,
        ids: &[CandidateId],
    ) -> Result<Added, Error> {
        let mut all = Added::default();
        for chunk in ids.chunks(MAX_CANDIDATES_PER_CALL) {
            let added = self
                .enrollments()
                .add_candidates(
                    who,
                    campaign,
                    AddCandidates {
                        candidate_ids: chunk.iter().map(ToString::to_string).collect(),
                        allow_duplicate: false,
                    },
                )
                .await?;
            all.extend(added);
        }
        Ok(all)
    }
}

impl Plan {
    /// Decides one valid row, in file order; returns the candidate it names,
    /// none when the row is an error (an update beyond the address cap).
    fn decide(
        &mut self,
        who: &Identity,
        row: RowCandidate,
        on_duplicate: OnDuplicate,
        out: &mut Imported,
        ours: Option<CandidateId>,
        new_id: impl FnOnce() -> String,
    ) -> Option<Owner> {
        let owner = row
            .emails
            .iter()
            .find_map(|(a, _)| self.owners.get(a).copied());
        if let Some(Owner::Existing(i)) = owner
            && ours.as_ref() == Some(&self.existing[i].0.id)
        {
            // A repeat of this import (§13): this row created the candidate.
            out.created += 1;
            return Some(Owner::Existing(i));
        }
        let Some(owner) = owner else {
            let id = ours.unwrap_or_else(|| CandidateId::new(new_id()));
            let candidate = new_candidate(who, row, id);
            let owner = Owner::New(self.new.len());
            for e in &candidate.emails {
                self.owners.insert(e.address.clone(), owner);
            }
            self.new.push(candidate);
            out.created += 1;
            return Some(owner);
        };
        if on_duplicate == OnDuplicate::Skip {
            out.skipped += 1;
            return Some(owner);
        }
        let number = row.row;
        // Addresses another candidate has stay with it.
        let free: Vec<_> = row
            .emails
            .iter()
            .filter(|(a, _)| self.owners.get(a).is_none_or(|o| *o == owner))
            .cloned()
            .collect();
        let wanted = RowCandidate {
            emails: free,
            ..row
        };
        let wanted = new_candidate(who, wanted, CandidateId::new(String::new()));
        let target = match owner {
            Owner::New(i) => &mut self.new[i],
            Owner::Existing(i) => &mut self.existing[i].0,
        };
        // one address cap, as the importer sees the candidate;
        // a row beyond it is an error of the row, never a silent cut.
        let mut new = wanted
            .emails
            .iter()
            .filter(|e| !target.shows(&e.address, &who.user_id));
        let adding = new.clone().count();
        if let Err(message) = super::candidates::room_for(target, &who.user_id, adding) {
            let field = new
                .next()
                .map_or("emails", |e| table::Field::Email(e.kind).name());
            out.errors.push(RowError::new(number, field, message));
            return None;
        }
        let changed = merge(target, &wanted, &who.user_id);
        for e in &wanted.emails {
            self.owners.insert(e.address.clone(), owner);
        }
        if changed {
            if let Owner::Existing(i) = owner {
                self.existing[i].1 = true;
            }
            out.updated += 1;
        } else {
            out.skipped += 1;
        }
        Some(owner)
    }
}

/// The ids an import with an `Idempotency-Key`, or run as a job, gives the
/// candidates it creates.
pub(super) struct RunIds {
    pub(super) seed: String,
}

impl RunIds {
    /// The id of the candidate data row `row` creates.
    fn id(&self, row: usize) -> CandidateId {
        let n = u32::try_from(row).unwrap_or(u32::MAX);
        CandidateId::new(format!(
            "{}_{:016x}{:016x}",
            CandidateId::PREFIX,
            stable_hash(&self.seed, n, "import-row"),
            stable_hash(&self.seed, n, "import-row-2")
        ))
    }
}

/// What makes an import's run the same one (§13): the organization, the
/// key, and the request (file and form), so that a key reused for another
/// file creates other candidates.
fn run_seed(who: &Identity, key: &str, text: &str, input: &ImportInput) -> String {
    let request = format!(
        "{text}\u{1f}{:?}\u{1f}{:?}\u{1f}{:?}",
        input.mapping, input.on_duplicate, input.campaign_id
    );
    format!(
        "{}\u{1f}{key}\u{1f}{:016x}{:016x}",
        who.org_id,
        stable_hash(&request, 0, "import-request"),
        stable_hash(&request, 1, "import-request")
    )
}

fn new_candidate(who: &Identity, row: RowCandidate, id: CandidateId) -> Candidate {
    Candidate {
        id,
        org_id: who.org_id.clone(),
        first_name: row.first_name,
        last_name: row.last_name,
        title: row.title,
        company: row.company,
        location: row.location,
        timezone: row.timezone,
        emails: row
            .emails
            .into_iter()
            .map(|(address, kind)| CandidateEmail {
                address,
                kind,
                manual_by: None,
                bounced: false,
            })
            .collect(),
        opted_out: false,
        erased: false,
    }
}

/// R-3.7 `update`: fills `c`'s empty fields from `row` and appends the row's
/// addresses `c` lacks as `importer` sees it, after its own (never
/// reordering or removing any); whether anything changed. An address `c`
/// has only as a colleague's manual one is appended as the row's own profile
/// address, as a new one would be, and the colleague's entry is left as it
/// is: the answer never tells the importer it was there, and the
/// colleague's address is neither shown nor changed.
fn merge(c: &mut Candidate, row: &Candidate, importer: &UserId) -> bool {
    let mut changed = false;
    let mut fill = |have: &mut String, given: &str| {
        if have.trim().is_empty() && !given.is_empty() {
            *have = given.to_owned();
            changed = true;
        }
    };
    fill(&mut c.first_name, &row.first_name);
    fill(&mut c.last_name, &row.last_name);
    let mut fill_opt = |have: &mut Option<String>, given: &Option<String>| {
        if have.is_none() && given.is_some() {
            have.clone_from(given);
            changed = true;
        }
    };
    fill_opt(&mut c.title, &row.title);
    fill_opt(&mut c.company, &row.company);
    fill_opt(&mut c.location, &row.location);
    if c.timezone.is_none() && row.timezone.is_some() {
        c.timezone.clone_from(&row.timezone);
        changed = true;
    }
    for e in &row.emails {
        if c.emails.len() < 2 * MAX_EMAILS && !c.shows(&e.address, importer) {
            c.emails.push(e.clone());
            changed = true;
        }
    }
    changed
}
