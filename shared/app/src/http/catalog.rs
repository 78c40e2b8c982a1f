//! Projects and templates.

use super::*;

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project))
        .routes(routes!(list_templates, create_template))
        .routes(routes!(get_template, update_template, delete_template))
}

/// A new project.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Named {
    name: String,
}

/// Creates a project.
#[utoipa::path(
    post,
    path = "/v1/projects",
    tag = "projects",
    security(("bearer" = [])),
    request_body = Named,
    responses((status = 201, description = "The project", body = ProjectView)),
)]
async fn create_project(State(s): Svc, who: Identity, Body(b): Body<Named>) -> ApiResult {
    let p = s.catalog().create_project(&who, &b.name).await?;
    created(views::project(&p))
}

/// One project.
#[utoipa::path(
    get,
    path = "/v1/projects/{id}",
    tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Project id")),
    responses((status = 200, description = "The project", body = ProjectView)),
)]
async fn get_project(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let p = s.catalog().project(&who, &id).await?;
    ok(views::project(&p))
}

/// The organization's projects.
#[utoipa::path(
    get,
    path = "/v1/projects",
    tag = "projects",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of projects", body = ProjectPage)),
)]
async fn list_projects(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let p = s.catalog().list_projects(&who, &page).await?;
    ok(ProjectPage {
        items: p.items.iter().map(views::project).collect(),
        cursor: cursor(p.next.as_ref()),
    })
}

/// A template: a name and its steps.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTemplate {
    name: String,
    steps: Vec<StepSpec>,
}

/// Creates a template.
#[utoipa::path(
    post,
    path = "/v1/templates",
    tag = "templates",
    security(("bearer" = [])),
    request_body = NewTemplate,
    responses((status = 201, description = "The template", body = TemplateView)),
)]
async fn create_template(State(s): Svc, who: Identity, Body(b): Body<NewTemplate>) -> ApiResult {
    let t = s.catalog().create_template(&who, &b.name, b.steps).await?;
    created(views::template(&t))
}

/// One template.
#[utoipa::path(
    get,
    path = "/v1/templates/{id}",
    tag = "templates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template", body = TemplateView)),
)]
async fn get_template(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(views::template(&s.catalog().template(&who, &id).await?))
}

/// The organization's templates.
#[utoipa::path(
    get,
    path = "/v1/templates",
    tag = "templates",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of templates", body = TemplatePage)),
)]
async fn list_templates(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    let p = s.catalog().list_templates(&who, &page).await?;
    ok(TemplatePage {
        items: p.items.iter().map(views::template).collect(),
        cursor: cursor(p.next.as_ref()),
    })
}

/// Replaces a template's name and steps.
#[utoipa::path(
    put,
    path = "/v1/templates/{id}",
    tag = "templates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Template id")),
    request_body = NewTemplate,
    responses((status = 200, description = "The template", body = TemplateView)),
)]
async fn update_template(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<NewTemplate>,
) -> ApiResult {
    ok(views::template(
        &s.catalog()
            .update_template(&who, &id, &b.name, b.steps)
            .await?,
    ))
}

/// Deletes a template; campaigns keep their copy of its steps.
#[utoipa::path(
    delete,
    path = "/v1/templates/{id}",
    tag = "templates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 204, description = "Deleted")),
)]
async fn delete_template(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    s.catalog().delete_template(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
