//! Product managers' routes of financial moments (`offers:manage`, ADR 0026): the moment
//! catalogue (`/offers/moment-types`: the default file's types and staff's, with the
//! condition variables each offers), the trigger rules (`/offers/trigger-rules`) and their
//! dry run on a moment payload and a customer. Their bodies are here, their OpenAPI document
//! is [`StaffMomentsApi`] (merged into [`super::OffersApi`] by [`MergeStaffMoments`]).

use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, InteractionId, Problem};
use ecohub_kernel::RequestContext;
use ecohub_kernel::schema::{self, Controls};
use ecohub_security::{Authenticated, OffersManageScope};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::Object;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::application::{AppError, OffersState};
use crate::domain::{
    AttributeType, Invalid, MomentCatalogue, MomentType, MomentTypeDefinition, PropositionId,
    RuleMatch, RuleMiss, TriggerRule, VarType,
};

type Staff = Authenticated<OffersManageScope>;

fn ctx(auth: &Staff, interaction: InteractionId) -> RequestContext {
    RequestContext::acting_as(auth.principal().actor(), interaction)
}

/// Mounts the routes (the dry run before `{name}`: `dry-run` is no rule's name).
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/offers/moment-types").route(web::get().to(list_moment_types)))
        .service(
            web::resource("/offers/moment-types/{name}")
                .route(web::get().to(show_moment_type))
                .route(web::put().to(define_moment_type)),
        )
        .service(web::resource("/offers/trigger-rules").route(web::get().to(list_trigger_rules)))
        .service(
            web::resource("/offers/trigger-rules/dry-run")
                .route(web::post().to(dry_run_trigger_rules)),
        )
        .service(
            web::resource("/offers/trigger-rules/{name}")
                .route(web::get().to(show_trigger_rule))
                .route(web::put().to(define_trigger_rule)),
        );
}

/// The financial moments' staff routes and bodies.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_moment_types,
        show_moment_type,
        define_moment_type,
        list_trigger_rules,
        show_trigger_rule,
        define_trigger_rule,
        dry_run_trigger_rules,
    ),
    components(schemas(
        MomentTypeRequest,
        MomentTypeView,
        MomentTypeList,
        MomentTypeOrigin,
        ConditionVariable,
        TriggerRuleRequest,
        TriggerRuleView,
        TriggerRuleList,
        TriggerDryRunRequest,
        TriggerDryRunView,
        RuleMatch,
        RuleMiss,
        AttributeType,
    ))
)]
pub struct StaffMomentsApi;

/// Merges [`StaffMomentsApi`] into the offers document (`modifiers(&MergeStaffMoments)`).
pub struct MergeStaffMoments;

impl utoipa::Modify for MergeStaffMoments {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(StaffMomentsApi::openapi());
    }
}

// ---------------------------------------------------------------- bodies

fn moment_description() -> Object {
    schema::text(500, Controls::Allowed)
        .description(Some(
            "What happened, in words (shown to staff, and to customers as the reason of an offer): 1 to 500 characters once trimmed.",
        ))
        .examples(["The customer booked a trip with a travel partner"])
        .build()
}

/// `bank`, `data_provider` or a partner id (a UUID), as `MomentTypeDefinition::check` reads them.
fn moment_providers() -> utoipa::openapi::Array {
    let provider = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(
            "^(bank|data_provider|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
        ))
        .description(Some("`bank`, `data_provider` or a partner id."))
        .build();
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(provider)
        .min_items(Some(1))
        .max_items(Some(50))
        .build()
}

/// An object schema with `properties`; that it compiles as JSON Schema is checked by the
/// server (400 at `/schema`).
fn payload_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "type",
            ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["object"])),
        )
        .property(
            "properties",
            ObjectBuilder::new().schema_type(Type::Object).additional_properties(Some(
                // Each property's schema: an object or a boolean schema (JSON Schema 2020-12).
                ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter(
                    [Type::Object, Type::Boolean],
                )),
            )),
        )
        .required("type")
        .required("properties")
        .description(Some(
            "The payload's JSON Schema (draft 2020-12): `\"type\": \"object\"` with `properties`; it must compile.",
        ))
        .build()
}

fn rule_reason() -> Object {
    schema::text(200, Controls::Allowed)
        .description(Some(
            "Why the customer sees the offer, in their words: 1 to 200 characters once trimmed.",
        ))
        .examples(["You booked a trip abroad"])
        .build()
}

fn customer_id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(200))
        .description(Some(
            "The bank's customer id: 1 to 200 characters, without surrounding spaces or control characters.",
        ))
        .build()
}

/// A moment type's definition (`PUT /offers/moment-types/{name}`; the name is the path's).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "description": "The customer booked a trip with a travel partner",
    "providers": ["data_provider"],
    "schema": {"type": "object", "required": ["destination", "amount"],
               "properties": {"destination": {"type": "string", "maxLength": 100},
                              "departure_date": {"type": "string", "format": "date"},
                              "amount": {"type": "number", "minimum": 0}},
               "additionalProperties": false}}))]
pub struct MomentTypeRequest {
    /// What happened, in words.
    #[schema(schema_with = moment_description)]
    pub description: String,
    /// Who may publish it: `bank`, `data_provider` (any partner with the active
    /// `data_provider` role), or partner ids (1 to 50).
    #[schema(schema_with = moment_providers)]
    pub providers: Vec<String>,
    /// The JSON Schema (draft 2020-12) of its payload: an object schema with `properties`.
    /// Properties of type string (`format: date`: a date), number, integer, boolean or array
    /// of strings are the `moment.<property>` variables of trigger rules.
    #[schema(schema_with = payload_schema)]
    pub schema: Value,
}

/// Where a moment type's definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MomentTypeOrigin {
    /// The default file (`moments.json`), unchanged (revision 0).
    Default,
    /// A default type staff changed.
    ChangedDefault,
    /// A type staff defined.
    Staff,
}

/// A variable a trigger rule's condition may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"name": "moment.amount", "type": "number"}))]
pub struct ConditionVariable {
    /// Its name in `{"var": …}` (`moment.amount`).
    pub name: String,
    /// Its type.
    pub r#type: AttributeType,
}

/// The attribute type a condition variable compares as.
pub(crate) fn var_type(t: VarType) -> AttributeType {
    match t {
        VarType::Number => AttributeType::Number,
        VarType::String => AttributeType::String,
        VarType::Boolean => AttributeType::Boolean,
        VarType::Date => AttributeType::Date,
        VarType::StringSet => AttributeType::StringSet,
    }
}

/// A moment type of the catalogue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MomentTypeView {
    /// Its name.
    #[schema(example = "travel_booked")]
    pub name: String,
    /// What happened, in words.
    pub description: String,
    /// Who may publish it.
    pub providers: Vec<String>,
    /// The JSON Schema of its payload.
    #[schema(value_type = Object)]
    pub schema: Value,
    /// 0 for the default file's definition, then 1, 2, … for staff's.
    pub revision: u32,
    /// Where its definition comes from.
    pub origin: MomentTypeOrigin,
    /// Who last defined it (`null`: the default file).
    pub defined_by: Option<String>,
    /// When (RFC 3339; `null`: the default file).
    pub defined_at: Option<String>,
    /// What its payload offers trigger rules: `moment.<property>` with its type (the
    /// customer's attributes and `personas.<name>` come on top).
    pub variables: Vec<ConditionVariable>,
}

impl MomentTypeView {
    fn of(t: &MomentType, defaults: &MomentCatalogue) -> Self {
        let d = &t.definition;
        Self {
            name: d.name.clone(),
            description: d.description.clone(),
            providers: d.providers.clone(),
            schema: d.schema.clone(),
            revision: t.revision,
            origin: match (t.revision, defaults.get(&d.name).is_some()) {
                (0, _) => MomentTypeOrigin::Default,
                (_, true) => MomentTypeOrigin::ChangedDefault,
                (_, false) => MomentTypeOrigin::Staff,
            },
            defined_by: t.by.clone(),
            defined_at: t.at.map(|at| at.to_rfc3339()),
            variables: d
                .variables()
                .into_iter()
                .map(|(name, t)| ConditionVariable {
                    name,
                    r#type: var_type(t),
                })
                .collect(),
        }
    }
}

/// The moment catalogue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MomentTypeList {
    /// The version of the default file the hub runs with.
    pub default_file_version: u32,
    /// Every type, by name.
    pub moment_types: Vec<MomentTypeView>,
}

/// A trigger rule as staff define it (`PUT /offers/trigger-rules/{name}`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "reason": "You booked a trip abroad",
    "moment_type": "travel_booked",
    "condition": {"and": [{">=": [{"var": "moment.amount"}, 500]},
                          {"var": "personas.globetrotter"}]},
    "propositions": ["0190a000-0000-7000-8000-000000000001"],
    "validity_days": 14, "priority": 100, "active": true}))]
pub struct TriggerRuleRequest {
    /// Why the customer sees the offer, in their words.
    #[schema(schema_with = rule_reason)]
    pub reason: String,
    /// The moment type it listens to (in the catalogue).
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$", example = "travel_booked")]
    pub moment_type: String,
    /// When it matches: a JSONLogic condition (the personas' operators) over the moment's
    /// payload (`moment.<property>`), the customer's attributes and persona memberships
    /// (`personas.<name>`).
    #[schema(schema_with = crate::domain::document_schema::condition)]
    pub condition: Value,
    /// The propositions it puts forward (1 to 20, each once).
    #[schema(value_type = Vec<uuid::Uuid>, min_items = 1, max_items = 20)]
    pub propositions: Vec<String>,
    /// How long the offer stays open, days (1 to 90).
    #[serde(deserialize_with = "ecohub_kernel::integer::u32")]
    #[schema(minimum = 1, maximum = 90)]
    pub validity_days: u32,
    /// Its priority (1 to 1000): matched rules are taken best first; a proposition several
    /// matched rules name is offered with the best rule's reason and validity.
    #[serde(deserialize_with = "ecohub_kernel::integer::u32")]
    #[schema(minimum = 1, maximum = 1000)]
    pub priority: u32,
    /// Whether it is in force (`false`: paused, it matches nothing). Default `true`.
    #[serde(default = "in_force")]
    pub active: bool,
}

fn in_force() -> bool {
    true
}

/// A trigger rule and who last changed it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TriggerRuleView {
    /// Its name.
    #[schema(example = "travel_insurance_on_booking")]
    pub name: String,
    /// Why the customer sees the offer.
    pub reason: String,
    /// The moment type it listens to.
    pub moment_type: String,
    /// When it matches.
    #[schema(schema_with = crate::domain::document_schema::condition)]
    pub condition: Value,
    /// The propositions it puts forward.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub propositions: Vec<String>,
    /// How long the offer stays open, days.
    pub validity_days: u32,
    /// Its priority.
    pub priority: u32,
    /// Whether it is in force.
    pub active: bool,
    /// 1 when first defined, +1 per change.
    pub revision: u32,
    /// Who last defined it.
    pub defined_by: String,
    /// When (RFC 3339).
    pub defined_at: String,
}

impl From<&TriggerRule> for TriggerRuleView {
    fn from(r: &TriggerRule) -> Self {
        let d = &r.definition;
        Self {
            name: d.name.clone(),
            reason: d.reason.clone(),
            moment_type: d.moment_type.clone(),
            condition: d.condition.rule().clone(),
            propositions: d.propositions.iter().map(ToString::to_string).collect(),
            validity_days: d.validity_days,
            priority: d.priority,
            active: d.active,
            revision: r.revision,
            defined_by: r.by.clone(),
            defined_at: r.at.to_rfc3339(),
        }
    }
}

/// The trigger rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TriggerRuleList {
    /// The rules asked for, by name.
    pub trigger_rules: Vec<TriggerRuleView>,
}

/// Which trigger rules to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RuleFilter {
    /// Only the rules of this moment type.
    moment_type: Option<String>,
    /// Only the rules in force (`true`) or paused (`false`).
    active: Option<bool>,
}

/// A moment to try the trigger rules on (`POST /offers/trigger-rules/dry-run`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"moment_type": "travel_booked",
    "payload": {"destination": "Lisbon", "departure_date": "2027-07-01", "amount": 1200, "currency": "EUR"},
    "customer_id": "0190f5c2-8b1e-7c3a-9d4f-2a6b8c0e1f35"}))]
pub struct TriggerDryRunRequest {
    /// The moment type.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$", example = "travel_booked")]
    pub moment_type: String,
    /// The payload, as a provider would publish it (validated against the type's schema).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// The bank's customer id whose attributes and personas the rules read.
    #[schema(schema_with = customer_id)]
    pub customer_id: String,
}

/// What the active rules of a moment type make of a moment, and why; nothing is recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TriggerDryRunView {
    /// The rules that matched, best priority first, each with its condition explained (the
    /// values read, `moment.<property>` from the payload).
    pub matched: Vec<RuleMatch>,
    /// The active rules of the type that did not match, with why.
    pub missed: Vec<RuleMiss>,
}

// ---------------------------------------------------------------- handlers

/// The moment catalogue: the default file's types and staff's, each with its definition,
/// where it comes from, who changed it and the condition variables it offers.
#[utoipa::path(
    get, path = "/offers/moment-types", tag = "offers", operation_id = "list_moment_types",
    responses(
        (status = 200, description = "Every moment type", body = MomentTypeList),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn list_moment_types(
    state: web::Data<OffersState>,
    _auth: Staff,
) -> Result<HttpResponse, ApiError> {
    let c = state.moment_types().await?;
    let defaults = MomentCatalogue::default();
    Ok(HttpResponse::Ok().json(MomentTypeList {
        default_file_version: crate::domain::moment::default_catalogue_version(),
        moment_types: c
            .types
            .values()
            .map(|t| MomentTypeView::of(t, &defaults))
            .collect(),
    }))
}

/// One moment type.
#[utoipa::path(
    get, path = "/offers/moment-types/{name}", tag = "offers", operation_id = "get_moment_type",
    params(("name" = String, Path, description = "The moment type")),
    responses(
        (status = 200, description = "The moment type", body = MomentTypeView),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such moment type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn show_moment_type(
    state: web::Data<OffersState>,
    _auth: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let c = state.moment_types().await?;
    let t = c.get(&path).ok_or_else(super::not_found)?;
    Ok(HttpResponse::Ok().json(MomentTypeView::of(t, &MomentCatalogue::default())))
}

/// Defines a moment type, or changes one (a default type's too: staff's definition then
/// overrides the file's). Nothing is written when nothing changed. The schema must compile
/// and must keep every `moment.<property>` (with its type) that a trigger rule of the type
/// reads.
#[utoipa::path(
    put, path = "/offers/moment-types/{name}", tag = "offers", operation_id = "define_moment_type",
    params(("name" = String, Path, description = "Its name: 1 to 64 characters of a-z, 0-9 and _, starting with a letter", pattern = "^[a-z][a-z0-9_]{0,63}$")),
    request_body = MomentTypeRequest,
    responses(
        (status = 200, description = "Defined (or unchanged)", body = MomentTypeView),
        (status = 400, description = "Invalid definition; the failing path is named (`/name`, `/description`, `/providers/1`, `/schema`)", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "https://github.com/ecohub/ecohub/blob/main/docs/errors.md#invalid_request", "title": "Invalid request", "status": 400,
                             "code": "invalid_request", "detail": "/providers/0: must be `bank`, `data_provider` or a partner id",
                             "errors": [{"field": "/providers/0", "message": "must be `bank`, `data_provider` or a partner id"}]})),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn define_moment_type(
    state: web::Data<OffersState>,
    auth: Staff,
    interaction: InteractionId,
    path: web::Path<String>,
    body: web::Json<MomentTypeRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let b = body.into_inner();
    let definition = MomentTypeDefinition {
        name: name.clone(),
        description: b.description,
        providers: b.providers,
        schema: b.schema,
    };
    let c = state
        .define_moment_type(definition, &ctx(&auth, interaction))
        .await?;
    let t = c.get(&name).ok_or_else(super::not_found)?;
    Ok(HttpResponse::Ok().json(MomentTypeView::of(t, &MomentCatalogue::default())))
}

/// The trigger rules, by name, optionally of one moment type or only those in force (or
/// paused).
#[utoipa::path(
    get, path = "/offers/trigger-rules", tag = "offers", operation_id = "list_trigger_rules",
    params(RuleFilter),
    responses(
        (status = 200, description = "The rules asked for", body = TriggerRuleList),
        (status = 400, description = "An unknown or malformed filter (`invalid_query`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn list_trigger_rules(
    state: web::Data<OffersState>,
    _auth: Staff,
    filter: web::Query<RuleFilter>,
) -> Result<HttpResponse, ApiError> {
    let rules = state.trigger_rules().await?;
    let f = filter.into_inner();
    Ok(HttpResponse::Ok().json(TriggerRuleList {
        trigger_rules: rules
            .rules
            .values()
            .filter(|r| {
                f.moment_type
                    .as_ref()
                    .is_none_or(|t| *t == r.definition.moment_type)
                    && f.active.is_none_or(|a| a == r.definition.active)
            })
            .map(TriggerRuleView::from)
            .collect(),
    }))
}

/// One trigger rule.
#[utoipa::path(
    get, path = "/offers/trigger-rules/{name}", tag = "offers", operation_id = "get_trigger_rule",
    params(("name" = String, Path, description = "The rule")),
    responses(
        (status = 200, description = "The rule", body = TriggerRuleView),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such rule", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn show_trigger_rule(
    state: web::Data<OffersState>,
    _auth: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rules = state.trigger_rules().await?;
    let r = rules
        .rules
        .get(path.as_str())
        .ok_or_else(super::not_found)?;
    Ok(HttpResponse::Ok().json(TriggerRuleView::from(r)))
}

/// The propositions of a body, each a UUID (`/propositions/<i>` names one that is not).
pub(crate) fn proposition_ids(ids: &[String]) -> Result<Vec<PropositionId>, Invalid> {
    ids.iter()
        .enumerate()
        .map(|(i, s)| {
            PropositionId::parse(s)
                .map_err(|_| Invalid::new(format!("/propositions/{i}"), "is not a proposition id"))
        })
        .collect()
}

/// Defines a trigger rule, or writes its next revision when something changed. The
/// condition is checked against the vocabulary of its moment type (`moment.<property>`,
/// the attributes, `personas.<name>`): an unknown name or a type mismatch is a 400 under
/// `/condition`; an unknown moment type is a 400 at `/moment_type`, an unknown proposition
/// at `/propositions/<i>`; nothing is written then.
#[utoipa::path(
    put, path = "/offers/trigger-rules/{name}", tag = "offers", operation_id = "define_trigger_rule",
    params(("name" = String, Path, description = "Its name: 1 to 64 characters of a-z, 0-9 and _, starting with a letter", pattern = "^[a-z][a-z0-9_]{0,63}$")),
    request_body = TriggerRuleRequest,
    responses(
        (status = 200, description = "Defined (or unchanged)", body = TriggerRuleView),
        (status = 400, description = "Invalid rule; the failing path is named (`/name`, `/reason`, `/moment_type`, `/condition/…`, `/propositions/0`, `/validity_days`, `/priority`)", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "https://github.com/ecohub/ecohub/blob/main/docs/errors.md#invalid_request", "title": "Invalid request", "status": 400,
                             "code": "invalid_request", "detail": "/condition/>=/0/var: unknown name moment.price",
                             "errors": [{"field": "/condition/>=/0/var", "message": "unknown name moment.price"}]})),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn define_trigger_rule(
    state: web::Data<OffersState>,
    auth: Staff,
    interaction: InteractionId,
    path: web::Path<String>,
    body: web::Json<TriggerRuleRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let b = body.into_inner();
    let propositions = proposition_ids(&b.propositions).map_err(AppError::from)?;
    let rules = state
        .define_trigger_rule(
            name.clone(),
            b.reason,
            b.moment_type,
            &b.condition,
            propositions,
            b.validity_days,
            b.priority,
            b.active,
            &ctx(&auth, interaction),
        )
        .await?;
    let r = rules.rules.get(&name).ok_or_else(super::not_found)?;
    Ok(HttpResponse::Ok().json(TriggerRuleView::from(r)))
}

/// Tries the active trigger rules of a moment type on a payload and a customer, now: which
/// match and which do not, each condition explained with the values read. Nothing is
/// recorded and nobody is offered anything. The payload is validated as publishing
/// validates it (a 400 names `/payload/…`).
#[utoipa::path(
    post, path = "/offers/trigger-rules/dry-run", tag = "offers", operation_id = "dry_run_trigger_rules",
    request_body = TriggerDryRunRequest,
    responses(
        (status = 200, description = "The rules that matched and those that did not, explained", body = TriggerDryRunView),
        (status = 400, description = "Unknown moment type (`/moment_type`), a payload the type's schema refuses (`/payload/…`), or a malformed customer id (`/customer_id`)", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "https://github.com/ecohub/ecohub/blob/main/docs/errors.md#invalid_request", "title": "Invalid request", "status": 400,
                             "code": "invalid_request", "detail": "/payload/amount: \"lots\" is not of type \"number\"",
                             "errors": [{"field": "/payload/amount", "message": "\"lots\" is not of type \"number\""}]})),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store or a customer data source unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn dry_run_trigger_rules(
    state: web::Data<OffersState>,
    _auth: Staff,
    body: web::Json<TriggerDryRunRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let run = state
        .dry_run_triggers(&b.moment_type, &b.payload, &b.customer_id)
        .await?;
    Ok(HttpResponse::Ok().json(TriggerDryRunView {
        matched: run.matched,
        missed: run.missed,
    }))
}
