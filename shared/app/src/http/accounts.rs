//! Sender accounts: linking with proof of control, the daily limit, removal and delegation.

use super::*;
use crate::model::Delegate;
use outreach_domain::ids::{OrgId, UserId};

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, link_account))
        .routes(routes!(get_account, remove_account, set_account_limit))
        .routes(routes!(resend_confirmation))
        .routes(routes!(add_delegate))
        .routes(routes!(remove_delegate))
        .routes(routes!(relink_account))
}

/// A sender account to link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LinkAccount {
    address: String,
    /// At most 200 characters (422 otherwise); empty or absent: the address's local part.
    #[schema(max_length = 200)]
    display_name: Option<String>,
}

/// Links a sender account; linking a removed address again revives it.
#[utoipa::path(
    post,
    path = "/v1/email-accounts",
    tag = "email-accounts",
    security(("bearer" = [])),
    request_body = LinkAccount,
    responses(
        (status = 201, description = "The account, `pending` until its address is confirmed", body = AccountView),
        (status = 422, description = "Invalid, or the domain's DMARC policy needs a verified domain identity", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "5 links pending, or a relink sent again too often; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The DMARC lookup failed; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn link_account(State(s): Svc, who: Identity, Body(b): Body<LinkAccount>) -> ApiResult {
    let a = s
        .accounts()
        .link_account(&who, &b.address, b.display_name)
        .await?;
    created(views::account(&a, &who.user_id))
}

/// The accounts the caller owns or is a delegate of.
#[utoipa::path(
    get,
    path = "/v1/email-accounts",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of the usable accounts, by id", body = AccountPage)),
)]
async fn list_accounts(State(s): Svc, who: Identity, Paging(page): Paging) -> ApiResult {
    // A user links a handful of accounts: they are read whole and paged here.
    let mut accounts = s.accounts().usable_accounts(&who).await?;
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    accounts.retain(|a| {
        page.after
            .as_deref()
            .is_none_or(|after| a.id.as_str() > after)
    });
    let more = accounts.len() > page.limit as usize;
    accounts.truncate(page.limit as usize);
    let next = more
        .then(|| accounts.last().map(|a| a.id.to_string()))
        .flatten();
    let items: Vec<AccountView> = accounts
        .iter()
        .map(|a| views::account(a, &who.user_id))
        .collect();
    ok(AccountPage {
        items,
        cursor: cursor(next.as_ref()),
    })
}

/// One sender account.
#[utoipa::path(
    get,
    path = "/v1/email-accounts/{id}",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, description = "The account", body = AccountView)),
)]
async fn get_account(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let a = s.accounts().account_for(&who, &id).await?;
    ok(views::account(&a, &who.user_id))
}

/// The settings of a sender account its owner changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AccountSettings {
    /// Messages per calendar day of the owner's time zone, 1 to 100000, whatever
    /// sends them; `null` removes the limit; absent leaves it as it is.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, required = false, minimum = 1, maximum = 100000)]
    daily_limit: Option<Option<u32>>,
}

/// A field that is present, `null` included (absent stays `None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Sets the account's daily limit; owner only.
#[utoipa::path(
    patch,
    path = "/v1/email-accounts/{id}",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    request_body = AccountSettings,
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 403, description = "A delegate sees the account but only its owner changes it", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn set_account_limit(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<AccountSettings>,
) -> ApiResult {
    let a = match b.daily_limit {
        Some(limit) => {
            s.accounts()
                .set_account_daily_limit(&who, &id, limit)
                .await?
        }
        None => s.accounts().account_for(&who, &id).await?,
    };
    ok(views::account(&a, &who.user_id))
}

/// Removes a sender account: campaigns using it pause with `sender_removed`.
#[utoipa::path(
    delete,
    path = "/v1/email-accounts/{id}",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 204, description = "Removed")),
)]
async fn remove_account(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    s.accounts().remove_account(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Sends the proof-of-control message again.
#[utoipa::path(
    post,
    path = "/v1/email-accounts/{id}/resend",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 409, description = "The account needs no confirmation", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Sent again too often (3 an hour, 10 a day), or 5 links pending; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn resend_confirmation(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let a = s.accounts().resend_confirmation(&who, &id).await?;
    ok(views::account(&a, &who.user_id))
}

/// A user who may send from the account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewDelegate {
    user_id: String,
    /// The delegate's organization, when it is not the owner's.
    #[serde(default)]
    org_id: Option<String>,
}

/// Lets a named user (of any organization) send from the account; owner only.
#[utoipa::path(
    post,
    path = "/v1/email-accounts/{id}/delegates",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    request_body = NewDelegate,
    responses((status = 201, description = "The account", body = AccountView)),
)]
async fn add_delegate(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<NewDelegate>,
) -> ApiResult {
    let a = s
        .accounts()
        .add_delegate(
            &who,
            &id,
            delegate_named(&who, b.org_id.as_deref(), &b.user_id),
        )
        .await?;
    created(views::account(&a, &who.user_id))
}

/// The user a delegation names: of the caller's organization unless another is given.
fn delegate_named(who: &Identity, org: Option<&str>, user: &str) -> Delegate {
    Delegate {
        org_id: org.map(OrgId::from).unwrap_or_else(|| who.org_id.clone()),
        user_id: UserId::from(user.trim()),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DelegateQuery {
    /// The delegate's organization, when it is not the owner's.
    #[serde(default)]
    org_id: Option<String>,
}

/// Revokes a delegate; owner only.
///
/// The delegate's campaigns on the account pause with `sender_revoked`.
#[utoipa::path(
    delete,
    path = "/v1/email-accounts/{id}/delegates/{user_id}",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Account id"),
        ("user_id" = String, Path, description = "The delegate's user id"),
        DelegateQuery,
    ),
    responses((status = 200, description = "The account", body = AccountView)),
)]
async fn remove_delegate(
    State(s): Svc,
    who: Identity,
    Path((id, user)): Path<(String, String)>,
    Params(q): Params<DelegateQuery>,
) -> ApiResult {
    let a = s
        .accounts()
        .remove_delegate(&who, &id, &delegate_named(&who, q.org_id.as_deref(), &user))
        .await?;
    ok(views::account(&a, &who.user_id))
}

/// Links a sender account again after an error.
///
/// Campaigns the service paused for it resume.
#[utoipa::path(
    post,
    path = "/v1/email-accounts/{id}/relink",
    tag = "email-accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, description = "The account", body = AccountView)),
)]
async fn relink_account(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let a = s.accounts().relink_account(&who, &id).await?;
    ok(views::account(&a, &who.user_id))
}
