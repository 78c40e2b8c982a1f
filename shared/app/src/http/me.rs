//! The caller: who they are and their profile.

use super::*;

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new().routes(routes!(get_me, put_me))
}

/// The caller's profile.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = MeView)),
)]
async fn get_me(State(s): Svc, who: Identity) -> ApiResult {
    let p = s.accounts().me(&who).await?;
    ok(views::me(&p))
}

/// A change of the caller's profile; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PutMe {
    /// 1 to 200 characters (422 otherwise).
    #[schema(min_length = 1, max_length = 200)]
    display_name: Option<String>,
    /// IANA time zone, e.g. `Europe/Paris` (422 otherwise).
    timezone: Option<String>,
}

/// Sets the caller's display name and time zone.
#[utoipa::path(
    put,
    path = "/v1/me",
    tag = "me",
    security(("bearer" = [])),
    request_body = PutMe,
    responses((status = 200, description = "The caller", body = MeView)),
)]
async fn put_me(State(s): Svc, who: Identity, Body(b): Body<PutMe>) -> ApiResult {
    let p = s
        .accounts()
        .update_me(&who, b.display_name, b.timezone)
        .await?;
    ok(views::me(&p))
}
