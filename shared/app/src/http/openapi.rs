//! The OpenAPI 3.1 document of the API (SPEC §13), served at `/v1/openapi.json`.
//!
//! Each operation comes from its handler's `#[utoipa::path]`, registered with
//! the router by [`super::routes`], and its schemas from the request and view
//! types the handler reads and writes. [`complete`] then adds what every route
//! of a kind shares because the same code serves it — the bearer check, the
//! JSON body extractor, the pagination extractor, the idempotency middleware —
//! so that those answers are written down once, next to the rule that makes
//! them, instead of in fifty annotations.

use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, Info, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder,
    Ref, RefOr, Required, Type,
};
use utoipa::{PartialSchema, ToSchema};

use crate::http::problem::Problem;

/// The media type of every error (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The security scheme of every non-public route: `Authorization: Bearer <JWT>`.
pub const BEARER: &str = "bearer";

const IDEMPOTENCY_KEY: &str = "IdempotencyKey";

/// The operations that can make mail leave from a campaign's sender account
/// and so answer 403 to a caller without sender rights (R-2.4, `sender_rights.rs`).
/// The sender-rights sweep (tests/sim/tests/sender_rights.rs) checks that
/// exactly these answer 403 to a colleague.
pub const SENDER_RIGHTS: &[&str] = &[
    "edit_campaign",
    "start_campaign",
    "resume_campaign",
    "add_enrollments",
    "set_overrides",
    "resume_enrollment",
    "retry_enrollment",
    // With `campaign_id` (R-3.7).
    "import_candidates",
];

/// The reusable error answers, by status: (component name, description).
const PROBLEMS: &[(u16, &str, &str)] = &[
    (
        400,
        "BadRequest",
        "Malformed request: unreadable JSON, a wrong Content-Type or a malformed header",
    ),
    (
        401,
        "Unauthorized",
        "No bearer token, or one that is not valid",
    ),
    (
        403,
        "Forbidden",
        "The caller sees the resource but may not send from its sender account: only the \
         account's owner and its current delegates may (sender rights, R-2.4)",
    ),
    (
        404,
        "NotFound",
        "Unknown or foreign: another organization's ids answer exactly like unknown ones",
    ),
    (
        409,
        "Conflict",
        "State conflict: a concurrent change, or a request with the same Idempotency-Key still in progress",
    ),
    (
        413,
        "PayloadTooLarge",
        "The body is larger than 1 MB, or a list is longer than allowed (1,000 candidate_ids)",
    ),
    (
        422,
        "UnprocessableEntity",
        "Invalid values; `errors` names each invalid field",
    ),
    (
        500,
        "InternalError",
        "The service failed to complete the request",
    ),
];

/// The document of the `/v1` API before the routes are added: info, tags, the
/// bearer scheme and the shared error answers.
pub fn base() -> OpenApi {
    let info = InfoBuilder::new()
        .title("Outreach API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "The candidate-outreach email service (SPEC §13). JSON under `/v1`, \
             snake_case fields, RFC 3339 timestamps in UTC, opaque string ids. \
             Errors are `application/problem+json` (RFC 9457). Lists take `limit` \
             and an opaque `cursor`. POSTs accept an `Idempotency-Key`.\n\n\
             Local mode (`outreach-local`) also serves the `/dev` routes, described \
             by their own document at `/dev/openapi.json`.",
        ))
        .build();
    let tags = [
        ("me", "The caller (R-1)"),
        (
            "email-accounts",
            "Sender accounts, their confirmation and delegates (R-2)",
        ),
        (
            "candidates",
            "Candidates, their addresses, reveals and single messages (R-3, R-12)",
        ),
        ("credits", "The organization's credits (R-3.2)"),
        (
            "projects",
            "Projects, pins and the Outreach view (R-3.4, R-11)",
        ),
        ("templates", "Messaging templates (R-4)"),
        ("campaigns", "Campaigns (R-5, R-10)"),
        ("enrollments", "Candidates in campaigns (R-5.3–R-5.5, R-10)"),
        (
            "unsubscribe",
            "Public unsubscribe routes, no token (R-9.5, RFC 8058)",
        ),
        (
            "replies",
            "The replies inbox, read flags and class corrections (R-9.9, R-11.2)",
        ),
        (
            "stats",
            "Statistics per campaign, step, sender, template or user (R-11.3)",
        ),
        ("admin", "Admin-only routes (R-3.2)"),
        (
            "webhooks",
            "SNS HTTPS deliveries of SES events and inbound mail, SNS-signed (§15)",
        ),
        ("openapi", "This document"),
    ];
    let mut doc = skeleton(info, &tags);
    doc.components
        .get_or_insert_with(Default::default)
        .security_schemes
        .insert(
            BEARER.to_owned(),
            RefOr::T(SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT naming the user (`sub`) and the organization (`org_id`); \
                         the `admin` scope grants credits. In local mode, \
                         `outreach-local token --org O --user U` prints one.",
                    ))
                    .build(),
            )),
        );
    doc
}

/// A document with `info`, `tags` and the shared error answers and
/// parameters, ready for routes.
pub fn skeleton(info: Info, tags: &[(&str, &str)]) -> OpenApi {
    let mut components = ComponentsBuilder::new()
        .schema(Problem::name(), Problem::schema())
        .build();
    for (_, name, description) in PROBLEMS {
        components.responses.insert(
            (*name).to_owned(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(*description)
                    .content(
                        PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(Problem::name())))
                            .build(),
                    )
                    .build(),
            ),
        );
    }
    components.parameters.insert(
        IDEMPOTENCY_KEY.to_owned(),
        RefOr::T(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Makes the POST safe to repeat: a repeat with the same key and body \
                     returns the first answer (with `Idempotent-Replayed: true`) and does \
                     nothing again; the same key with another body answers 422, and 409 \
                     while the first request is still running.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(255))
                        // What idempotency.rs accepts: visible ASCII, spaces
                        // inside only (the key is trimmed), 1 to 255 bytes.
                        .pattern(Some(r"^[!-~]([ -~]*[!-~])?$")),
                ))
                .build(),
        ),
    );
    OpenApiBuilder::new()
        .info(info)
        .components(Some(components))
        .tags(Some(tags.iter().map(|(name, description)| {
            TagBuilder::new()
                .name(*name)
                .description(Some(*description))
                .build()
        })))
        .build()
}

fn problem(name: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::Ref(Ref::new(format!("#/components/responses/{name}")))
}

/// Adds to each operation the answers and parameters that the code shared by
/// all routes of its kind produces. An answer the handler's annotation already
/// names (with a more precise description) is left as it is.
pub fn complete(mut doc: OpenApi) -> OpenApi {
    for item in doc.paths.paths.values_mut() {
        for (method, op) in [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
        ] {
            if let Some(op) = op {
                complete_operation(method, op);
            }
        }
    }
    doc
}

fn complete_operation(method: HttpMethod, op: &mut Operation) {
    let mut add: Vec<u16> = Vec::new();
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_in = |place: ParameterIn| {
        params
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
    };
    // `Identity` (auth.rs): every route with a bearer requirement answers 401
    // without a valid token.
    if secured {
        add.push(401);
    }
    // `Service::require_sender_rights`: a colleague without sender rights (R-2.4).
    if op
        .operation_id
        .as_deref()
        .is_some_and(|id| SENDER_RIGHTS.contains(&id))
    {
        add.push(403);
    }
    // Unknown or foreign ids in the path answer 404 (SPEC §13).
    if has_in(ParameterIn::Path) {
        add.push(404);
    }
    // `Paging` and `Query` extractors: unreadable parameters answer 422.
    if has_in(ParameterIn::Query) {
        add.push(422);
    }
    // `DefaultBodyLimit` (1 MB) on every body; `Body<T>`: malformed JSON 400,
    // invalid values 422 (unknown fields included).
    if let Some(RefOr::T(body)) = &op.request_body {
        add.push(413);
        if body.content.contains_key("application/json") {
            add.extend([400, 422]);
        }
    }
    // The idempotency middleware (idempotency.rs) serves every POST of a caller;
    // every write of a caller may meet a concurrent change (409).
    if secured && method == HttpMethod::Post {
        op.parameters
            .get_or_insert_with(Vec::new)
            .push(RefOr::Ref(Ref::new(format!(
                "#/components/parameters/{IDEMPOTENCY_KEY}"
            ))));
        add.extend([400, 409, 413, 422]);
    }
    if secured && method != HttpMethod::Get {
        add.push(409);
    }
    add.push(500);
    for status in add {
        let key = status.to_string();
        if op.responses.responses.contains_key(&key) {
            continue;
        }
        let (_, name, _) = PROBLEMS
            .iter()
            .find(|(s, _, _)| *s == status)
            .expect("every shared status has a problem answer");
        op.responses.responses.insert(key, problem(name));
    }
}
