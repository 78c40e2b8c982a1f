//! `POST /v1/candidates/import`: a CSV file as `multipart/form-data`
//! (SPEC Appendix A), with its own body limit in place of §13's 1 MB.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;

use super::*;
use crate::usecases::catalog::import::job::{ImportJob, ImportState};
use crate::usecases::catalog::import::{
    ImportAnswer, ImportInput, Imported, MAX_FILE_BYTES, OnDuplicate, RowError,
};

/// The import's body limit: a 4 MB file and the form around it.
pub const IMPORT_MAX_BODY_BYTES: usize = MAX_FILE_BYTES + 64 * 1024;

/// The path whose body limit is [`IMPORT_MAX_BODY_BYTES`].
pub const IMPORT_PATH: &str = "/v1/candidates/import";

/// The route, with its own body limit.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(import_candidates))
        .routes(routes!(get_import))
        .layer(DefaultBodyLimit::max(IMPORT_MAX_BODY_BYTES))
}

/// The form of an import (SPEC Appendix A).
#[derive(ToSchema)]
#[allow(dead_code)]
struct ImportForm {
    /// The CSV file (RFC 4180; UTF-8 with or without BOM; comma, semicolon or
    /// tab; a header row): at most 4 MB and 10,000 data rows.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// JSON `{column name: field}`, field one of `first_name`, `last_name`,
    /// `title`, `company`, `location`, `timezone`, `email:work`,
    /// `email:personal`, `email:other`. Without it, common header names are
    /// recognised ("First Name", "Email", "Work Email"…).
    mapping: Option<String>,
    /// `skip` (default) or `update`.
    on_duplicate: Option<String>,
    /// Also add the imported candidates to this campaign.
    campaign_id: Option<String>,
}

/// A row not imported, and why (`row` counts data rows from 1).
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowErrorView {
    pub row: usize,
    /// The field: `first_name`, `timezone`, `email:work`…, or `row`.
    pub field: String,
    pub message: String,
}

/// What adding the imported candidates to the campaign did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportCampaignView {
    pub campaign_id: String,
    pub enrollments: Vec<NewEnrollmentView>,
    pub refused: Vec<RefusalView>,
    pub warnings: Vec<WarningView>,
}

/// What an import did: every non-blank data row counts once, in
/// `created`, `updated`, `skipped` or `errors`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    pub created: usize,
    pub updated: usize,
    pub skipped: usize,
    pub errors: Vec<ImportRowErrorView>,
    /// With `campaign_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<ImportCampaignView>,
    /// The import's record: `GET /v1/imports/{id}` answers it `done`.
    pub import_id: String,
}

/// Where an import is: `queued` and `running` (a job, AWS), `done`, or
/// `failed` (its campaign could no longer take candidates).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStateView {
    Queued,
    Running,
    Done,
    Failed,
}

/// What adding an import's candidates to its campaign did, counted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportCampaignCountsView {
    pub campaign_id: String,
    pub enrolled: usize,
    /// Refused candidates by reason (`duplicate`, `already_enrolled`,
    /// `no_credits`, `suppressed`, `not_found`).
    pub refused: std::collections::BTreeMap<String, usize>,
    pub warnings: usize,
}

/// An import: a job's progress, or what a finished import did. The
/// counts grow as a job's chunks run; when `done` they and `errors` are what
/// the 200 answer of the same import has.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportJobView {
    pub id: String,
    pub state: ImportStateView,
    pub created: usize,
    pub updated: usize,
    pub skipped: usize,
    /// Every invalid row, known when the file was read.
    pub errors: Vec<ImportRowErrorView>,
    /// With `campaign_id`, once candidates were added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<ImportCampaignCountsView>,
    /// The chunks of valid rows (at most 1,000 each) and how many ran.
    pub chunks: usize,
    pub chunks_done: usize,
    /// Why a `failed` import stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Imports candidates from a CSV file.
///
/// Rows are matched to the organization's candidates by canonical address:
/// `on_duplicate` `skip` leaves them, `update` fills their empty fields and
/// appends new addresses. Invalid rows are reported by row and field, never
/// half-imported; the valid rows are imported. Creating never spends a
/// credit; with `campaign_id` the imported candidates are also added to the
/// campaign (revealing them, R-3.2). Answers 200 when the import is done
/// (always in local mode); in AWS a large import answers 202 with a job,
/// whose state `GET /v1/imports/{id}` gives.
#[utoipa::path(
    post,
    path = "/v1/candidates/import",
    tag = "candidates",
    security(("bearer" = [])),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "What the import did", body = ImportView),
        (status = 202, description = "A large import queued as a job (AWS)", body = ImportJobView),
        (status = 400, description = "Not a multipart form", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown campaign", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The campaign has ended, or another import of the organization is running (its id in `detail`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "More than 4 MB or 10,000 rows", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn import_candidates(State(s): Svc, who: Identity, form: Form) -> ApiResult {
    let input = form.0;
    let campaign_id = input.campaign_id.clone();
    match s.catalog().import_candidates(&who, input).await? {
        ImportAnswer::Done(done) => ok(import_view(done, campaign_id)),
        ImportAnswer::Queued { job, errors } => {
            Ok((StatusCode::ACCEPTED, Json(import_job_view(job, errors))).into_response())
        }
    }
}

/// An import: a job's progress, or what a finished import did.
#[utoipa::path(
    get,
    path = "/v1/imports/{id}",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The import's id")),
    responses(
        (status = 200, description = "The import", body = ImportJobView),
        (status = 404, description = "Unknown import", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn get_import(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let (job, errors) = s.catalog().import_status(&who, &id).await?;
    ok(import_job_view(job, errors))
}

fn row_errors(errors: Vec<RowError>) -> Vec<ImportRowErrorView> {
    errors
        .into_iter()
        .map(|e| ImportRowErrorView {
            row: e.row,
            field: e.field,
            message: e.message,
        })
        .collect()
}

fn import_job_view(job: ImportJob, errors: Vec<RowError>) -> ImportJobView {
    ImportJobView {
        id: job.id,
        state: match job.state {
            ImportState::Queued => ImportStateView::Queued,
            ImportState::Running => ImportStateView::Running,
            ImportState::Done => ImportStateView::Done,
            ImportState::Failed => ImportStateView::Failed,
        },
        created: job.created,
        updated: job.updated,
        skipped: job.skipped,
        errors: row_errors(errors),
        campaign_id: job.campaign_id,
        campaign: job.campaign.map(|c| ImportCampaignCountsView {
            campaign_id: c.campaign_id,
            enrolled: c.enrolled,
            refused: c.refused,
            warnings: c.warnings,
        }),
        chunks: job.chunks,
        chunks_done: job.chunks_done,
        failure: job.failure,
        created_at: job.created_at.into(),
        updated_at: job.updated_at.into(),
    }
}

fn import_view(mut done: Imported, campaign_id: Option<String>) -> ImportView {
    // In row order: an update beyond the address cap is found after the
    // file's own errors (a stable sort keeps a row's errors in order).
    done.errors.sort_by_key(|e| e.row);
    ImportView {
        created: done.created,
        updated: done.updated,
        skipped: done.skipped,
        errors: row_errors(done.errors),
        import_id: done.import_id.unwrap_or_default(),
        campaign: done
            .added
            .zip(campaign_id)
            .map(|(added, id)| ImportCampaignView {
                campaign_id: id,
                enrollments: added
                    .enrollments
                    .iter()
                    .map(NewEnrollmentView::from)
                    .collect(),
                refused: added.refused.iter().map(views::refusal).collect(),
                warnings: added.warnings.iter().map(views::warning).collect(),
            }),
    }
}

/// The import's form, read within the route's body limit.
struct Form(ImportInput);

impl axum::extract::FromRequest<Arc<Service>> for Form {
    type Rejection = Error;

    async fn from_request(
        req: axum::extract::Request,
        state: &Arc<Service>,
    ) -> Result<Self, Self::Rejection> {
        let idempotency_key = req
            .headers()
            .get(super::idempotency::HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut form = Multipart::from_request(req, state).await.map_err(|e| {
            Error::Malformed(format!(
                "the body must be multipart/form-data with a `file` part: {}",
                e.body_text()
            ))
        })?;
        let mut input = ImportInput {
            idempotency_key,
            ..ImportInput::default()
        };
        let mut file = None;
        let mut seen = std::collections::HashSet::new();
        while let Some(part) = form.next_field().await.map_err(part_error)? {
            let name = part.name().unwrap_or_default().to_owned();
            // A part given twice (two files) is ambiguous: never one of them
            // silently.
            if !seen.insert(name.clone()) {
                return Err(Error::invalid(
                    &name,
                    "given more than once; the form takes one of each part",
                ));
            }
            let bytes = part.bytes().await.map_err(part_error)?;
            match name.as_str() {
                "file" => file = Some(bytes.to_vec()),
                "mapping" => input.mapping = Some(mapping(&bytes)?),
                "on_duplicate" => {
                    input.on_duplicate = match text(&name, &bytes)?.trim() {
                        "skip" | "" => OnDuplicate::Skip,
                        "update" => OnDuplicate::Update,
                        _ => {
                            return Err(Error::invalid(
                                "on_duplicate",
                                "must be `skip` or `update`",
                            ));
                        }
                    }
                }
                "campaign_id" => {
                    let id = text(&name, &bytes)?.trim().to_owned();
                    input.campaign_id = (!id.is_empty()).then_some(id);
                }
                other => {
                    return Err(Error::invalid(
                        other,
                        "unknown part; the form takes file, mapping, on_duplicate and campaign_id",
                    ));
                }
            }
        }
        input.file = file.ok_or_else(|| Error::invalid("file", "the CSV file is required"))?;
        Ok(Form(input))
    }
}

fn part_error(e: MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge("the request body is larger than 4 MB and its form".into())
    } else {
        Error::Malformed(format!(
            "the multipart body cannot be read: {}",
            e.body_text()
        ))
    }
}

fn text<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|_| Error::invalid(name, "must be UTF-8 text"))
}

fn mapping(bytes: &[u8]) -> Result<std::collections::BTreeMap<String, String>, Error> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(
            "mapping",
            format!("must be a JSON object of column names to fields: {e}"),
        )
    })
}
