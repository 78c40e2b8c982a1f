//! An import's record, and an import run as a job (R-3.7, §15).
//!
//! Every import is recorded (`GET /v1/imports/{id}`): its counts and state
//! in one record, its row errors in parts beside it. An import answered at
//! once (200) is recorded `done`. In AWS an import whose store calls would
//! not fit the API's timeout (`Config::import_sync_max_calls`), or one with
//! `campaign_id` beyond `Config::import_enroll_max_rows`, is stored as a job:
//! its valid rows in chunks (at most [`CHUNK_ROWS`] rows and [`PART_BYTES`]
//! of JSON each, well within a store item), its errors (all known when the
//! file was read), its options; the request answers 202 and the planner
//! queue runs the chunks one after the other. A chunk runs only when the job
//! says it is the next one, and adds its counts in the same conditional write
//! that moves the job on, so a redelivered or repeated chunk adds nothing;
//! the candidates a chunk creates have ids derived from the job and the row,
//! so a chunk that died part-way and runs again finds them (never twice).
//! The records are kept [`KEPT_DAYS`] days.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use outreach_domain::ids::{CandidateId, OrgId, UserId};
use outreach_domain::jitter::stable_hash;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::table::RowCandidate;
use super::{Catalog, Imported, OnDuplicate, RowError, RunIds};
use crate::auth::Identity;
use crate::error::Error;
use crate::ports::{Found, Job, Lookup, StoreError, WakeUp};
use crate::usecases::enrollments::{Added, RefusalReason};

/// Valid rows in one chunk of a job at most: one add-candidates call's cap
/// (§13), and well within the planner function's timeout (README, "Import").
pub const CHUNK_ROWS: usize = 1_000;

/// The JSON a chunk or an error part holds at most: well under the store's
/// item limit (400 KB), whatever the rows hold.
pub const PART_BYTES: usize = 256 * 1024;

/// How long an import's records are kept.
pub const KEPT_DAYS: i64 = 30;

/// The parts holding the rows a chunk refused while it ran, one a chunk.
const RUN_ERRORS: &str = "run_errors";

/// What an import was asked to do besides the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub on_duplicate: OnDuplicate,
    pub campaign_id: Option<String>,
}

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    Queued,
    Running,
    Done,
    Failed,
}

/// What adding an import's candidates to its campaign did, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignCounts {
    pub campaign_id: String,
    pub enrolled: usize,
    /// Refusals by reason (`duplicate`, `already_enrolled`, …).
    pub refused: BTreeMap<String, usize>,
    pub warnings: usize,
}

impl CampaignCounts {
    pub fn of(campaign_id: &str, added: &Added) -> Self {
        let mut refused = BTreeMap::new();
        for r in &added.refused {
            *refused.entry(reason(r.reason).to_owned()).or_insert(0) += 1;
        }
        CampaignCounts {
            campaign_id: campaign_id.to_owned(),
            enrolled: added.enrollments.len(),
            refused,
            warnings: added.warnings.len(),
        }
    }

    fn add(&mut self, more: &CampaignCounts) {
        self.enrolled += more.enrolled;
        self.warnings += more.warnings;
        for (k, n) in &more.refused {
            *self.refused.entry(k.clone()).or_insert(0) += n;
        }
    }
}

fn reason(r: RefusalReason) -> &'static str {
    match r {
        RefusalReason::Duplicate => "duplicate",
        RefusalReason::AlreadyEnrolled => "already_enrolled",
        RefusalReason::Suppressed => "suppressed",
        RefusalReason::NoCredits => "no_credits",
        RefusalReason::NotFound => "not_found",
    }
}

/// An import's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportJob {
    pub id: String,
    pub org_id: OrgId,
    /// The importer: the job matches and adds as they would.
    pub user_id: UserId,
    pub state: ImportState,
    pub on_duplicate: OnDuplicate,
    pub campaign_id: Option<String>,
    pub created: usize,
    pub updated: usize,
    pub skipped: usize,
    /// Entries in the error parts.
    pub error_count: usize,
    /// With `campaign_id`, once a chunk added candidates.
    pub campaign: Option<CampaignCounts>,
    /// Chunks of valid rows, and how many ran.
    pub chunks: usize,
    pub chunks_done: usize,
    pub error_parts: usize,
    /// Why a job stopped (`failed`): the campaign could no longer take candidates.
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What derives the ids of the candidates it creates ([`RunIds`]).
    seed: String,
}

#[derive(Serialize, Deserialize)]
struct RowsPart {
    rows: Vec<(usize, RowCandidate)>,
}

#[derive(Serialize, Deserialize)]
struct ErrorsPart {
    errors: Vec<RowError>,
}

#[derive(Serialize, Deserialize)]
struct NamedPart {
    ids: Vec<CandidateId>,
}

impl ImportJob {
    /// Whether the job still has chunks to run (it holds the organization's
    /// import lease, [`super::lease`]).
    pub fn runs(&self) -> bool {
        matches!(self.state, ImportState::Queued | ImportState::Running)
    }
}

fn job_key(org: &OrgId, id: &str) -> String {
    format!("import:{org}:{id}")
}

fn part_key(org: &OrgId, id: &str, kind: &str, n: usize) -> String {
    format!("import:{org}:{id}:{kind}:{n}")
}

/// An import's id from its run's seed (an `Idempotency-Key`'s): a repeat
/// after a crash finds the record of its first run.
pub(super) fn derived_id(seed: &str) -> String {
    format!(
        "imp_{:016x}{:016x}",
        stable_hash(seed, 0, "import-job"),
        stable_hash(seed, 1, "import-job")
    )
}

/// `items` cut in order into parts of at most `rows` items and
/// [`PART_BYTES`] of JSON (one item always fits: a row or an error is a few
/// KB at most).
fn parts<T: Serialize + Clone>(items: &[T], rows: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut bytes = 0;
    for item in items {
        let size = serde_json::to_vec(item).map_or(0, |v| v.len()) + 1;
        match out.last_mut() {
            Some(last) if last.len() < rows && bytes + size <= PART_BYTES => {
                last.push(item.clone());
                bytes += size;
            }
            _ => {
                out.push(vec![item.clone()]);
                bytes = size;
            }
        }
    }
    out
}

fn to_value<T: Serialize>(v: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(v).map_err(|e| Error::Internal(e.to_string()))
}

fn from_value<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(v).map_err(|e| Error::Internal(format!("an import record: {e}")))
}

impl Catalog<'_> {
    /// Whether an import of these valid rows runs as a job (AWS): its store
    /// calls, about one per row and one per distinct address (README,
    /// "Import"), beyond `Config::import_sync_max_calls`, or with a campaign
    /// more rows than one request adds.
    pub(super) fn needs_job(&self, valid: &[(usize, RowCandidate)], with_campaign: bool) -> bool {
        let Some(max) = self.config.import_sync_max_calls else {
            return false;
        };
        if with_campaign && valid.len() > self.config.import_enroll_max_rows {
            return true;
        }
        let addresses: HashSet<_> = valid
            .iter()
            .flat_map(|(_, c)| c.emails.iter().map(|(a, _)| a))
            .collect();
        valid.len() + addresses.len() > max
    }

    fn expiry(&self) -> DateTime<Utc> {
        self.now() + Duration::days(KEPT_DAYS)
    }

    /// Writes a part (create, or replace what a run that died left).
    async fn put_part(
        &self,
        org: &OrgId,
        id: &str,
        kind: &str,
        n: usize,
        value: &serde_json::Value,
    ) -> Result<(), Error> {
        let key = part_key(org, id, kind, n);
        let expected = self.store.get_record(&key).await?.map(|v| v.version);
        self.store
            .put_expiring_record(&key, value, expected, self.expiry())
            .await?;
        Ok(())
    }

    /// Writes the error parts; how many.
    async fn put_errors(&self, org: &OrgId, id: &str, errors: &[RowError]) -> Result<usize, Error> {
        let parts = parts(errors, usize::MAX);
        let writes: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(n, p)| async move {
                let value = to_value(&ErrorsPart { errors: p.clone() })?;
                self.put_part(org, id, "errors", n, &value).await
            })
            .collect();
        stream::iter(writes)
            .buffer_unordered(4)
            .try_collect::<()>()
            .await?;
        Ok(parts.len())
    }

    /// Creates the import's record; one that exists (a repeat) is kept and returned.
    async fn create_job(&self, job: ImportJob) -> Result<ImportJob, Error> {
        let key = job_key(&job.org_id, &job.id);
        match self
            .store
            .put_expiring_record(&key, &to_value(&job)?, None, self.expiry())
            .await
        {
            Ok(_) => Ok(job),
            Err(StoreError::Conflict) => self
                .import_job(&job.org_id, &job.id)
                .await?
                .map(|v| v.0)
                .ok_or_else(|| Error::Internal("an import record vanished".into())),
            Err(e) => Err(e.into()),
        }
    }

    fn new_job(&self, who: &Identity, id: String, seed: String, options: &Options) -> ImportJob {
        let now = self.now();
        ImportJob {
            id,
            org_id: who.org_id.clone(),
            user_id: who.user_id.clone(),
            state: ImportState::Queued,
            on_duplicate: options.on_duplicate,
            campaign_id: options.campaign_id.clone(),
            created: 0,
            updated: 0,
            skipped: 0,
            error_count: 0,
            campaign: None,
            chunks: 0,
            chunks_done: 0,
            error_parts: 0,
            failure: None,
            created_at: now,
            updated_at: now,
            seed,
        }
    }

    /// Records an import that answered when done (200); its id.
    pub(super) async fn record_done(
        &self,
        who: &Identity,
        id: &str,
        options: &Options,
        out: &Imported,
        seed: Option<String>,
    ) -> Result<(), Error> {
        let mut job = self.new_job(who, id.to_owned(), seed.unwrap_or_default(), options);
        job.state = ImportState::Done;
        job.created = out.created;
        job.updated = out.updated;
        job.skipped = out.skipped;
        job.error_count = out.errors.len();
        job.campaign = options
            .campaign_id
            .as_deref()
            .zip(out.added.as_ref())
            .map(|(c, added)| CampaignCounts::of(c, added));
        job.error_parts = self.put_errors(&who.org_id, id, &out.errors).await?;
        self.create_job(job).await?;
        Ok(())
    }

    /// Stores an import as a job and queues its first chunk (202).
    pub(super) async fn queue_import(
        &self,
        who: &Identity,
        id: &str,
        options: Options,
        valid: Vec<(usize, RowCandidate)>,
        errors: Vec<RowError>,
        seed: Option<String>,
    ) -> Result<ImportJob, Error> {
        let org = &who.org_id;
        if let Some((job, _)) = self.import_job(org, id).await? {
            // A repeat of a request whose answer was lost (§13).
            self.queue_chunk(&job).await?;
            return Ok(job);
        }
        let seed = seed.unwrap_or_else(|| format!("{org}\u{1f}{id}"));
        let chunks = parts(&valid, CHUNK_ROWS);
        let writes: Vec<_> = chunks
            .iter()
            .enumerate()
            .map(|(n, rows)| async move {
                let value = to_value(&RowsPart { rows: rows.clone() })?;
                self.put_part(org, id, "rows", n, &value).await
            })
            .collect();
        stream::iter(writes)
            .buffer_unordered(4)
            .try_collect::<()>()
            .await?;
        let mut job = self.new_job(who, id.to_owned(), seed, &options);
        job.chunks = chunks.len();
        job.error_count = errors.len();
        job.error_parts = self.put_errors(org, id, &errors).await?;
        if job.chunks == 0 {
            job.state = ImportState::Done;
        }
        // Written last: a job that exists has all its parts.
        let job = self.create_job(job).await?;
        self.queue_chunk(&job).await?;
        Ok(job)
    }

    /// Queues the job's next chunk, if it has one to run.
    async fn queue_chunk(&self, job: &ImportJob) -> Result<(), Error> {
        if !matches!(job.state, ImportState::Queued | ImportState::Running)
            || job.chunks_done >= job.chunks
        {
            return Ok(());
        }
        let chunk = job.chunks_done;
        self.queue
            .enqueue(&WakeUp {
                name: format!("imp.{}.c{chunk}", job.id),
                at: self.now(),
                job: Job::ImportChunk {
                    org_id: job.org_id.clone(),
                    import_id: job.id.clone(),
                    chunk,
                },
            })
            .await?;
        Ok(())
    }

    /// The import's record and its version.
    pub(crate) async fn import_job(
        &self,
        org: &OrgId,
        id: &str,
    ) -> Result<Option<(ImportJob, u64)>, Error> {
        match self.store.get_record(&job_key(org, id)).await? {
            Some(v) => Ok(Some((from_value(v.value)?, v.version))),
            None => Ok(None),
        }
    }

    /// `GET /v1/imports/{id}`: the organization's import and its row errors
    /// in row order (another organization's is not found).
    pub async fn import_status(
        &self,
        who: &Identity,
        id: &str,
    ) -> Result<(ImportJob, Vec<RowError>), Error> {
        let (job, _) = self
            .import_job(&who.org_id, id)
            .await?
            .ok_or(Error::NotFound("import"))?;
        let mut parts: Vec<ErrorsPart> = self.parts_of(&job, "errors", job.error_parts).await?;
        parts.extend(
            self.parts_of::<ErrorsPart>(&job, RUN_ERRORS, job.chunks_done)
                .await?,
        );
        let mut errors: Vec<RowError> = parts.into_iter().flat_map(|p| p.errors).collect();
        errors.sort_by_key(|e| e.row);
        Ok((job, errors))
    }

    /// The job's first `n` parts of `kind`, in order.
    async fn parts_of<T: DeserializeOwned>(
        &self,
        job: &ImportJob,
        kind: &str,
        n: usize,
    ) -> Result<Vec<T>, Error> {
        let keys: Vec<Lookup> = (0..n)
            .map(|i| Lookup::Record(part_key(&job.org_id, &job.id, kind, i)))
            .collect();
        let mut out = Vec::with_capacity(n);
        for batch in keys.chunks(100) {
            for found in self.store.get_batch(batch).await? {
                match found {
                    Some(Found::Record(v)) => out.push(from_value(v.value)?),
                    _ => {
                        return Err(Error::Internal(format!(
                            "an import's {kind} part is missing"
                        )));
                    }
                }
            }
        }
        Ok(out)
    }

    /// One chunk of an import job, run from the queue (R-3.7, §15): only when
    /// the job says it is the next; `Ok(false)` when it had nothing to do.
    pub(crate) async fn run_import_chunk(
        &self,
        org: &OrgId,
        id: &str,
        chunk: usize,
    ) -> Result<bool, Error> {
        let Some((job, _)) = self.import_job(org, id).await? else {
            return Ok(false);
        };
        if !matches!(job.state, ImportState::Queued | ImportState::Running)
            || job.chunks_done != chunk
        {
            // Ran already: the run that did it may have died before queueing
            // the next, or before giving the lease back.
            if job.chunks_done > chunk {
                self.queue_chunk(&job).await?;
            }
            if !job.runs() {
                self.release_import_lease(org, id).await;
            }
            return Ok(false);
        }
        self.renew_import_lease(org, id).await?;
        let rows: RowsPart = match self
            .store
            .get_record(&part_key(org, id, "rows", chunk))
            .await?
        {
            Some(v) => from_value(v.value)?,
            None => return Err(Error::Internal("an import's chunk is missing".into())),
        };
        let who = Identity {
            org_id: job.org_id.clone(),
            user_id: job.user_id.clone(),
            email: None,
            admin: false,
        };
        let mut out = Imported::default();
        let run = RunIds {
            seed: job.seed.clone(),
        };
        let named = self
            .import_rows(&who, rows.rows, job.on_duplicate, Some(&run), &mut out)
            .await?;
        // Rows refused while running (a candidate over its address cap by
        // then): kept beside the chunk, read with the file's own errors. The
        // same chunk run again writes the same part.
        let value = to_value(&ErrorsPart {
            errors: out.errors.clone(),
        })?;
        self.put_part(org, id, RUN_ERRORS, chunk, &value).await?;
        let mut result = ChunkResult {
            out,
            campaign: None,
            failure: None,
        };
        if let Some(campaign) = &job.campaign_id {
            self.add_chunk(&who, &job, chunk, campaign, named, &mut result)
                .await?;
        }
        self.finish_chunk(org, id, chunk, result).await
    }

    /// Adds the candidates a chunk names to the job's campaign, but those an
    /// earlier chunk named (added then, as one synchronous import adds each
    /// candidate once).
    async fn add_chunk(
        &self,
        who: &Identity,
        job: &ImportJob,
        chunk: usize,
        campaign: &str,
        named: Vec<CandidateId>,
        result: &mut ChunkResult,
    ) -> Result<(), Error> {
        let earlier: Vec<NamedPart> = self.parts_of(job, "named", chunk).await?;
        let earlier: HashSet<CandidateId> = earlier.into_iter().flat_map(|p| p.ids).collect();
        self.put_part(
            &job.org_id,
            &job.id,
            "named",
            chunk,
            &json!({ "ids": named }),
        )
        .await?;
        let fresh: Vec<CandidateId> = named.into_iter().filter(|c| !earlier.contains(c)).collect();
        match self.add_imported(who, campaign, &fresh).await {
            Ok(added) => result.campaign = Some(CampaignCounts::of(campaign, &added)),
            // The campaign can no longer take candidates (ended, deleted, the
            // importer's sender rights gone): the job stops, `failed`.
            Err(e) => match self.enrollments().addable_campaign(who, campaign).await {
                Err(why @ (Error::NotFound(_) | Error::Forbidden(_) | Error::Conflict(_))) => {
                    result.failure = Some(why.to_string());
                }
                _ => return Err(e),
            },
        }
        Ok(())
    }

    /// Adds a chunk's counts to its job and moves it on, in one conditional
    /// write that only the chunk's first finished run wins; then queues the next.
    async fn finish_chunk(
        &self,
        org: &OrgId,
        id: &str,
        chunk: usize,
        result: ChunkResult,
    ) -> Result<bool, Error> {
        for _ in 0..8 {
            let Some((mut job, version)) = self.import_job(org, id).await? else {
                return Ok(false);
            };
            if job.chunks_done != chunk {
                return Ok(false);
            }
            job.created += result.out.created;
            job.updated += result.out.updated;
            job.skipped += result.out.skipped;
            job.error_count += result.out.errors.len();
            if let Some(c) = &result.campaign {
                job.campaign.get_or_insert_with(|| CampaignCounts {
                    campaign_id: c.campaign_id.clone(),
                    ..CampaignCounts::default()
                });
                if let Some(total) = job.campaign.as_mut() {
                    total.add(c);
                }
            }
            job.chunks_done = chunk + 1;
            job.state = if result.failure.is_some() {
                ImportState::Failed
            } else if job.chunks_done >= job.chunks {
                ImportState::Done
            } else {
                ImportState::Running
            };
            job.failure.clone_from(&result.failure);
            job.updated_at = self.now();
            match self
                .store
                .put_expiring_record(
                    &job_key(org, id),
                    &to_value(&job)?,
                    Some(version),
                    self.expiry(),
                )
                .await
            {
                Ok(_) => {
                    if !job.runs() {
                        // The job is over: the organization may import again.
                        self.release_import_lease(org, id).await;
                    }
                    self.queue_chunk(&job).await?;
                    return Ok(true);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }
}

/// What one run of a chunk did.
struct ChunkResult {
    out: Imported,
    campaign: Option<CampaignCounts>,
    failure: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_keep_the_order_and_the_limits() {
        let rows: Vec<String> = (0..2_500).map(|i| format!("{i:0>200}")).collect();
        let cut = parts(&rows, CHUNK_ROWS);
        assert_eq!(cut.concat(), rows);
        for p in &cut {
            assert!(p.len() <= CHUNK_ROWS);
            assert!(serde_json::to_vec(p).unwrap().len() <= PART_BYTES + 8);
        }
        // 2,500 rows of about 200 bytes: the byte limit cuts before the row limit.
        assert!(cut.len() >= 2, "{}", cut.len());
        let big: Vec<String> = (0..3).map(|_| "x".repeat(200 * 1024)).collect();
        assert_eq!(parts(&big, CHUNK_ROWS).len(), 3);
    }
}
