//! The Outreach view of a project and its notifications.

use super::*;

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(outreach_view))
        .routes(routes!(project_notifications))
}

/// The Outreach view of a project.
///
/// Its campaigns with per-status and per-step counts, and its open
/// notifications, newest first.
#[utoipa::path(
    get,
    path = "/v1/projects/{id}/outreach",
    tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id")),
    responses((status = 200, description = "The Outreach view", body = OutreachView)),
)]
async fn outreach_view(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let view = s.campaigns().outreach_view(&who, &id).await?;
    ok(views::outreach(&view))
}

/// The project's notifications, newest first.
#[utoipa::path(
    get,
    path = "/v1/projects/{id}/notifications",
    tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id")),
    responses((status = 200, description = "Every notification, in one page", body = NotificationPage)),
)]
async fn project_notifications(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let view = s.campaigns().outreach_view(&who, &id).await?;
    ok(NotificationPage {
        items: view.notifications.iter().map(views::notification).collect(),
        cursor: None,
    })
}
