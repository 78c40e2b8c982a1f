//! The replies inbox and a user's read flag and class correction.

use super::*;
use crate::reply::ReplyFilter;
use crate::usecases::returns::inbox::{ReplyChange, ShownReply, class_named};
use crate::usecases::returns::raw::RawAnswer;

/// The filters of `GET /v1/replies`; every one given must hold.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReplyQuery {
    /// Replies to the project's campaigns.
    #[serde(default)]
    project_id: Option<String>,
    /// Replies to one campaign.
    #[serde(default)]
    campaign_id: Option<String>,
    /// One class: `interested`, `not_interested`, `opt_out`, `referral`, `other`.
    #[serde(default)]
    class: Option<String>,
    /// `true`: only replies no user marked read; `false`: only read ones.
    #[serde(default)]
    unread: Option<bool>,
    /// Items per page (default 50); values outside 1 to 100 are clamped.
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    #[serde(default)]
    limit: Option<u32>,
    /// The `cursor` of the previous page, as given.
    #[serde(default)]
    cursor: Option<String>,
}

/// A reply or automatic reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyView {
    pub id: String,
    pub candidate_id: String,
    /// The campaign replied to; null for a single message.
    #[schema(required = true)]
    pub campaign_id: Option<String>,
    /// The enrollment replied to; null for a single message.
    #[schema(required = true)]
    pub enrollment_id: Option<String>,
    /// The single message replied to (its id in `/v1/candidates/{id}/messages`).
    #[schema(required = true)]
    pub single_message_id: Option<String>,
    /// The step replied to (the last one sent before the reply), from 1.
    #[schema(required = true)]
    pub step_index: Option<u32>,
    pub received_at: Timestamp,
    /// Null for an automatic reply.
    #[schema(required = true)]
    pub class: Option<outreach_domain::inbound::ReplyClass>,
    pub automatic: bool,
    pub subject: String,
    /// The reply's own text: quoted history and signature removed.
    pub text: String,
    pub read: bool,
    /// The sender's address; null when it is a colleague's manual address.
    #[schema(required = true)]
    pub from: Option<String>,
    /// Where the raw message is kept (AWS: `s3://bucket/key`), shown only to
    /// the campaign's owner and the sender account's owner.
    #[schema(required = true)]
    pub raw_ref: Option<String>,
    /// When it was last answered (a message sent `in_reply_to` it, R-12.2);
    /// null while unanswered.
    #[schema(required = true)]
    pub answered_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyPage {
    pub items: Vec<ReplyView>,
    #[schema(required = true)]
    pub cursor: Option<String>,
}

/// What a user changes on a reply.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchReply {
    #[serde(default)]
    pub read: Option<bool>,
    /// The corrected class.
    #[serde(default)]
    pub class: Option<String>,
}

fn view(shown: ShownReply) -> ReplyView {
    let r = shown.reply;
    let single = r.single;
    ReplyView {
        id: r.id,
        candidate_id: r.candidate_id.to_string(),
        campaign_id: (!single).then(|| r.campaign_id.to_string()),
        enrollment_id: (!single).then(|| r.enrollment_id.to_string()),
        single_message_id: single.then(|| r.enrollment_id.to_string()),
        step_index: r.step,
        received_at: r.received_at.into(),
        class: r.class,
        automatic: r.automatic,
        subject: r.subject,
        text: r.text,
        read: r.read,
        from: shown.from.map(|a| a.to_string()),
        raw_ref: shown.raw_ref,
        answered_at: r.answered_at.map(Timestamp::from),
    }
}

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new()
        .routes(routes!(list_replies))
        .routes(routes!(get_reply, patch_reply))
        .routes(routes!(get_raw_reply))
}

/// The reply's raw message, as it arrived.
///
/// For the campaign's owner and the sender account's owner, for as long as
/// the deployment keeps inbound mail: local mode keeps it until the
/// candidate is erased. In AWS the raw message stays in the inbound
/// bucket, which the API does not read: 404 whose detail names its
/// `s3://bucket/key`.
#[utoipa::path(
    get,
    path = "/v1/replies/{id}/raw",
    tag = "replies",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Reply id")),
    responses(
        (status = 200, description = "The raw message", body = String, content_type = "message/rfc822"),
        (status = 403, description = "The caller is neither the campaign's owner nor the sender account's owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or foreign reply, or its raw message is no longer kept (expired or erased) or kept where the API does not read it (AWS: the inbound bucket, named in `detail`)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn get_raw_reply(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    Ok(match s.returns().raw_message(&who, &id).await? {
        RawAnswer::Kept(bytes) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "message/rfc822")],
            bytes,
        )
            .into_response(),
        RawAnswer::Elsewhere(raw_ref) => problem::not_found(format!(
            "the raw message is kept in the inbound bucket under {raw_ref}; this API does not \
             read it (R-11.2)"
        )),
    })
}

/// One reply or automatic reply of the organization.
#[utoipa::path(
    get,
    path = "/v1/replies/{id}",
    tag = "replies",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Reply id")),
    responses((status = 200, description = "The reply", body = ReplyView)),
)]
async fn get_reply(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    ok(view(s.returns().reply(&who, &id).await?))
}

/// The organization's replies and automatic replies, newest first.
#[utoipa::path(
    get,
    path = "/v1/replies",
    tag = "replies",
    security(("bearer" = [])),
    params(ReplyQuery),
    responses((status = 200, description = "A page of replies, newest first", body = ReplyPage)),
)]
async fn list_replies(State(s): Svc, who: Identity, Params(q): Params<ReplyQuery>) -> ApiResult {
    let page = extract::page_request(q.limit, q.cursor)?;
    let filter = ReplyFilter {
        project_id: q.project_id,
        campaign_id: q.campaign_id.map(|c| c.as_str().into()),
        class: q
            .class
            .as_deref()
            .map(|c| class_named(c, "class"))
            .transpose()?,
        unread: q.unread,
    };
    let found = s.returns().replies(&who, &filter, &page).await?;
    ok(ReplyPage {
        cursor: cursor(found.next.as_ref()),
        items: found.items.into_iter().map(view).collect(),
    })
}

/// Marks a reply read or unread, or corrects its class.
///
/// Correcting to `opt_out` opts the candidate out; correcting an
/// `opt_out` lifts only the opt-out that the class caused, never one from
/// the unsubscribe link or a complaint, and revives no ended enrollment.
#[utoipa::path(
    patch,
    path = "/v1/replies/{id}",
    tag = "replies",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Reply id")),
    request_body = PatchReply,
    responses((status = 200, description = "The reply", body = ReplyView)),
)]
async fn patch_reply(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<PatchReply>,
) -> ApiResult {
    let change = ReplyChange {
        read: b.read,
        class: b.class,
    };
    ok(view(s.returns().change_reply(&who, &id, &change).await?))
}
