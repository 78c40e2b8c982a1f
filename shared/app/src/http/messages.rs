//! Single messages.

use super::*;
use crate::usecases::sending::messages as uc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// May be omitted with `in_reply_to`; if given then, it must be the
    /// sender account of the enrollment or message replied to.
    #[serde(default)]
    pub sender_account_id: Option<String>,
    #[serde(default)]
    pub template_id: Option<String>,
    /// 1-based; defaults to the template's first step.
    #[serde(default)]
    pub step_index: Option<u32>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    /// A reply id (`GET /v1/replies`): the message answers it, to the address
    /// it came from, threaded under it, "Re: " subject.
    #[serde(default)]
    pub in_reply_to: Option<String>,
}

impl From<NewMessage> for uc::NewMessage {
    fn from(b: NewMessage) -> Self {
        uc::NewMessage {
            sender_account_id: b.sender_account_id,
            template_id: b.template_id,
            step_index: b.step_index,
            subject: b.subject,
            body: b.body,
            address: b.address,
            in_reply_to: b.in_reply_to,
        }
    }
}

/// The routes of this resource, each with its OpenAPI operation.
pub(super) fn routes() -> OpenApiRouter<Arc<Service>> {
    OpenApiRouter::new().routes(routes!(list_messages, send_message))
}

/// Sends one message to a candidate at once.
///
/// From a template step or an inline subject and body; the address follows R-7
/// unless given. Locally the message is handed to the mail service within the
/// request (`sent`). In AWS it goes through the send queue, within the same
/// bound as every campaign step (§15): the answer is `queued` with
/// `message_id` null, filled in seconds later (`GET
/// /v1/candidates/{id}/messages`). Beyond the sender account's daily limit it
/// is `scheduled`, with `scheduled_at` the time it will leave.
#[utoipa::path(
    post,
    path = "/v1/candidates/{id}/messages",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    request_body = NewMessage,
    responses(
        (status = 201, description = "The message: `sent`, `queued` (AWS) or `scheduled` (daily limit)", body = MessageView),
        (status = 402, description = "The candidate is not revealed and no credit is left", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An answer (`in_reply_to`) by a caller who may not send from the sender account of the enrollment or message replied to (R-12.2, R-2.4)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An answer (`in_reply_to`) whose replied sender account was removed: nothing can be sent from it (R-12.2)", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn send_message(
    State(s): Svc,
    who: Identity,
    Path(id): Path<String>,
    Body(b): Body<NewMessage>,
) -> ApiResult {
    let (_, e) = s.sending().send_single(&who, &id, b.into()).await?;
    let candidate = s.catalog().candidate(&who, &id).await?;
    created(views::message(&e, s.now(), &who.user_id, &candidate))
}

/// The single messages the caller's organization sent to a candidate.
#[utoipa::path(
    get,
    path = "/v1/candidates/{id}/messages",
    tag = "candidates",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Candidate id")),
    responses((status = 200, description = "Every message, in one page", body = MessagePage)),
)]
async fn list_messages(State(s): Svc, who: Identity, Path(id): Path<String>) -> ApiResult {
    let now = s.now();
    let (candidate, messages) = s.sending().single_messages(&who, &id).await?;
    let items: Vec<MessageView> = messages
        .iter()
        .map(|(_, e)| views::message(e, now, &who.user_id, &candidate))
        .collect();
    ok(MessagePage {
        items,
        cursor: None,
    })
}
