//! Campaigns: create, edit, preview, start, pause, resume, stop.

use outreach_domain::campaign::{RecipientSetting, TimezoneMode, WhenToSend};

use super::*;
use crate::usecases::campaigns as uc;

// The body of a campaign's creation; no doc comment, which would
// change the schema's description.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    pub name: String,
    /// A sender account the caller owns or is a delegate of.
    pub sender_account_id: String,
    /// Copies this template's steps; give it or `steps`, not both.
    #[serde(default)]
    pub template_id: Option<String>,
    /// The steps inline; give them or `template_id`, not both.
    #[serde(default)]
    pub steps: Option<Vec<StepSpec>>,
    /// IANA time zone of the plan; the caller's when absent.
    #[serde(default)]
    pub timezone: Option<String>,
    pub when_to_send: WhenToSend,
    #[serde(default)]
    pub recipient: Option<RecipientSetting>,
    #[serde(default)]
    pub skip_weekends: bool,
    #[serde(default)]
    pub timezone_mode: TimezoneMode,
    /// Sends per sender account and calendar day.
    #[serde(default)]
    pub daily_limit: Option<u32>,
}

impl From<NewCampaign> for uc::NewCampaign {
    fn from(b: NewCampaign) -> Self {
        uc::NewCampaign {
            name: b.name,
            sender_account_id: b.sender_account_id,
            template_id: b.template_id,
            steps: b.steps,
            timezone: b.timezone,
            when_to_send: b.when_to_send,
            recipient: b.recipient,
            skip_weekends: b.skip_weekends,
            timezone_mode: b.timezone_mode,
            daily_limit: b.daily_limit,
        }
    }
}

/// An edit of a campaign; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignEdit {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default)]
    pub steps: Option<Vec<StepSpec>>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub when_to_send: Option<WhenToSend>,
    #[serde(default)]
    pub recipient: Option<RecipientSetting>,
    #[serde(default)]
    pub skip_weekends: Option<bool>,
    #[serde(default)]
    pub daily_limit: Option<u32>,
    #[serde(default)]
    pub timezone_mode: Option<TimezoneMode>,
}

impl From<CampaignEdit> for uc::CampaignEdit {
    fn from(b: CampaignEdit) -> Self {
        uc::CampaignEdit {
            name: b.name,
            template_id: b.template_id,
            steps: b.steps,
            timezone: b.timezone,
            when_to_send: b.when_to_send,
            recipient: b.recipient,
            skip_weekends: b.skip_weekends,
            daily_limit: b.daily_limit,
            timezone_mode: b.timezone_mode,
        }
    }
}

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(list_campaigns, create_campaign))
        .routes(routes!(get_campaign, edit_campaign))
        .routes(routes!(preview_campaign))
        .routes(routes!(start_campaign))
        .routes(routes!(pause_campaign))
        .routes(routes!(resume_campaign))
        .routes(routes!(stop_campaign))
}

/// Creates a campaign in `draft` from a template or inline steps.
#[utoipa::path(
    post,
    path = "/v1/projects/{id}/campaigns",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id")),
    request_body = NewCampaign,
    responses((status = 201, description = "The campaign", body = CampaignView)),
)]
async fn create_campaign(
    State(s): Svc,
    who: Identity,
    Path(project): Path<String>,
    Body(b): Body<NewCampaign>,
) -> ApiResult {
    let c = s
        .campaigns()
        .create_campaign(&who, &project, b.into())
        .await?;
    created(views::campaign(&c))
}

/// The project's campaigns.
#[utoipa::path(
    get,
    path = "/v1/projects/{id}/campaigns",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id"), PageQuery),
    responses((status = 200, description = "A page of campaigns", body = CampaignPage)),
)]
async fn list_campaigns(
    State(s): Svc,
    who: Identity,
    Path(project): Path<String>,
    Paging(page): Paging,
) -> ApiResult {
    let project = s.catalog().project(&who, &project).await?;
    let p = s
        .store
        .list_campaigns(&who.org_id, &project.id, &page)
        .await?;
    ok(CampaignPage {
        items: p.items.iter().map(views::campaign).collect(),
        cursor: cursor(p.next.as_ref()),
    })
}

/// One campaign.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, description = "The campaign", body = CampaignView)),
)]
async fn get_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(
        &s.campaigns().campaign(&who, &id).await?.value,
    ))
}

/// Starts a draft campaign.
///
/// The answer lists every candidate with a missing merge field.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/start",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The running campaign", body = StartedCampaignView),
        (status = 409, description = "Not a draft, no candidate was ever added to it (R-5.2), or its sender account is not `connected`", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn start_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let campaign = s.campaigns().start_campaign(&who, &id).await?;
    let missing = s.campaigns().missing_fields(&campaign).await?;
    ok(StartedCampaignView {
        campaign: views::campaign(&campaign),
        missing_fields: missing.iter().map(views::missing_field).collect(),
    })
}

/// Edits a campaign.
///
/// Allowed in draft, paused and during the grace period; applies to steps not
/// yet sent.
#[utoipa::path(
    patch,
    path = "/v1/campaigns/{id}",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    request_body = CampaignEdit,
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 409, description = "The campaign may not be edited now", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn edit_campaign(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<CampaignEdit>,
) -> ApiResult {
    ok(views::campaign(
        &s.campaigns().edit_campaign(&who, &id, b.into()).await?,
    ))
}

/// Previews a campaign: each step rendered for each enrolled candidate.
///
/// Lists every candidate with a missing merge field.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/preview",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id"), PageQuery),
    responses((status = 200, description = "A page of rendered enrollments", body = PreviewView)),
)]
async fn preview_campaign(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Paging(page): Paging,
) -> ApiResult {
    let (p, missing) = s.campaigns().preview(&who, &id, &page).await?;
    ok(PreviewView {
        items: p.items.iter().map(views::preview_item).collect(),
        missing_fields: missing.iter().map(views::missing_field).collect(),
        cursor: cursor(p.next.as_ref()),
    })
}

/// Pauses a running campaign.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/pause",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 409, description = "The campaign is not running", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn pause_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(
        &s.campaigns().pause_campaign(&who, &id).await?,
    ))
}

/// Resumes a paused campaign.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/resume",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 409, description = "The campaign is not paused, or its sender cannot send", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn resume_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(
        &s.campaigns().resume_campaign(&who, &id).await?,
    ))
}

/// Stops a campaign for good.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/stop",
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 409, description = "The campaign already ended", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn stop_campaign(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::campaign(
        &s.campaigns().stop_campaign(&who, &id).await?,
    ))
}
