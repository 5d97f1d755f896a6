//! Propositions: a bank product bundled with partner benefits, versioned. A version goes
//! Draft → Submitted → Approved (by someone other than the submitter) → Published →
//! Retired; a rejection sends it back to Draft with a reason. Every co-brand partner accepts
//! a version before it is published; publishing retires the previous published version in
//! the same append.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ecohub_kernel::{Aggregate, Timestamp};
use serde_json::Value;

use super::attribute::AttributeCatalogue;
use super::document::{Channel, PriceDoc, PropositionDoc};
use super::event::PropositionEvent;
use super::expression::{Condition, VarType, Vocabulary};
use super::persona::PersonaCatalogue;
use super::{Invalid, OffersError, PartnerId, PropositionId};

/// A checked version's content: the normalised document and its compiled parts.
#[derive(Clone)]
pub struct PropositionContent {
    /// The document, every persona pinned.
    pub doc: Arc<PropositionDoc>,
    /// Pricing conditions, in order.
    pub pricing: Vec<Condition>,
    /// Add-on conditions, in order.
    pub add_ons: Vec<Condition>,
    /// The parameters' schema, compiled.
    pub parameters: Arc<jsonschema::Validator>,
    /// Availability window.
    pub from: Option<Timestamp>,
    /// Availability window end (exclusive).
    pub until: Option<Timestamp>,
    /// The co-brand partners (every partner named by a benefit), parsed once.
    partner_set: Arc<BTreeSet<PartnerId>>,
}

fn partner_set(doc: &PropositionDoc) -> Arc<BTreeSet<PartnerId>> {
    Arc::new(
        doc.benefits
            .iter()
            .filter_map(|b| PartnerId::parse(&b.partner_id).ok())
            .collect(),
    )
}

impl std::fmt::Debug for PropositionContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PropositionContent")
            .field("doc", &self.doc)
            .finish_non_exhaustive()
    }
}

impl PartialEq for PropositionContent {
    fn eq(&self, other: &Self) -> bool {
        self.doc == other.doc
    }
}

fn text(field: &str, s: &str, max: usize) -> Result<(), Invalid> {
    let n = s.trim().chars().count();
    if n == 0 || n > max {
        return Err(Invalid::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(())
}

fn price(field: &str, p: &PriceDoc) -> Result<(), Invalid> {
    let pct = |v: f64| v.is_finite() && (0.0..=100.0).contains(&v);
    if !pct(p.rate_percent) {
        return Err(Invalid::new(
            format!("{field}/rate_percent"),
            "must be 0 to 100",
        ));
    }
    if !pct(p.commission_percent) {
        return Err(Invalid::new(
            format!("{field}/commission_percent"),
            "must be 0 to 100",
        ));
    }
    if !(p.fees.is_finite() && p.fees >= 0.0) {
        return Err(Invalid::new(format!("{field}/fees"), "must be 0 or more"));
    }
    Ok(())
}

fn timestamp(field: &str, s: &Option<String>) -> Result<Option<Timestamp>, Invalid> {
    s.as_deref()
        .map(|s| {
            Timestamp::parse_rfc3339(s)
                .map_err(|_| Invalid::new(field, "must be an RFC 3339 date-time"))
        })
        .transpose()
}

fn partner(field: &str, s: &str) -> Result<PartnerId, Invalid> {
    PartnerId::parse(s).map_err(|_| Invalid::new(field, "must be a partner id"))
}

/// The parameters' names and types from their schema.
fn parameter_types(schema: &Value) -> Result<BTreeMap<String, VarType>, Invalid> {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(Invalid::new("/parameters/type", "must be \"object\""));
    }
    let mut out = BTreeMap::new();
    if let Some(props) = schema.get("properties") {
        let Some(props) = props.as_object() else {
            return Err(Invalid::new("/parameters/properties", "must be an object"));
        };
        for (name, p) in props {
            super::attribute::check_name(&format!("/parameters/properties/{name}"), name)?;
            let t = match p.get("type").and_then(Value::as_str) {
                Some("number" | "integer") => VarType::Number,
                Some("string") => VarType::String,
                Some("boolean") => VarType::Boolean,
                _ => {
                    return Err(Invalid::new(
                        format!("/parameters/properties/{name}/type"),
                        "must be number, integer, string or boolean",
                    ));
                }
            };
            out.insert(name.clone(), t);
        }
    }
    Ok(out)
}

impl PropositionContent {
    /// Checks `doc` against the catalogues: names, types, personas (pinned to their latest
    /// version when the document does not pin them), partners, prices, the parameters'
    /// schema. The error names the failing path.
    pub fn check(
        mut doc: PropositionDoc,
        attributes: &AttributeCatalogue,
        personas: &PersonaCatalogue,
    ) -> Result<PropositionContent, Invalid> {
        text("/name", &doc.name, 200)?;
        text("/description", &doc.description, 2000)?;
        text("/product/code", &doc.product.code, 64)?;
        text("/product/name", &doc.product.name, 200)?;
        for (k, v) in &doc.product.terms {
            text(&format!("/product/terms/{k}"), v, 500)?;
        }
        let mut seen = BTreeSet::new();
        for (i, b) in doc.benefits.iter().enumerate() {
            let p = partner(&format!("/benefits/{i}/partner_id"), &b.partner_id)?;
            seen.insert(p);
            text(&format!("/benefits/{i}/description"), &b.description, 500)?;
            text(&format!("/benefits/{i}/value"), &b.value, 200)?;
        }
        if doc.availability.channels.is_empty() {
            return Err(Invalid::new(
                "/availability/channels",
                "must list at least one channel",
            ));
        }
        if doc.availability.channels.contains(&Channel::PartnerChannel) && doc.benefits.is_empty() {
            return Err(Invalid::new(
                "/availability/channels",
                "partner_channel needs a co-brand partner (a benefit)",
            ));
        }
        let from = timestamp("/availability/from", &doc.availability.from)?;
        let until = timestamp("/availability/until", &doc.availability.until)?;
        if let (Some(f), Some(u)) = (from, until)
            && u <= f
        {
            return Err(Invalid::new("/availability/until", "must be after from"));
        }
        // Personas: those of the audience, and those conditions read, each pinned.
        let audience = &doc.availability.audience;
        let mut used: BTreeMap<String, String> = BTreeMap::new();
        for (list, names) in [
            ("all_of", &audience.all_of),
            ("any_of", &audience.any_of),
            ("none_of", &audience.none_of),
        ] {
            for (i, n) in names.iter().enumerate() {
                used.entry(n.clone())
                    .or_insert(format!("/availability/audience/{list}/{i}"));
            }
        }
        for (name, v) in &doc.personas {
            used.entry(name.clone())
                .or_insert(format!("/personas/{name}"));
            if personas.version(name, *v).is_none() {
                return Err(Invalid::new(
                    format!("/personas/{name}"),
                    format!("persona {name} has no version {v}"),
                ));
            }
        }
        let params = parameter_types(&doc.parameters)?;
        let parameters = jsonschema::validator_for(&doc.parameters)
            .map_err(|e| Invalid::new("/parameters", format!("is not a valid JSON schema: {e}")))?;
        let mut vocabulary = Vocabulary::new();
        for a in attributes.attributes.values() {
            vocabulary.insert(a.definition.name.clone(), a.definition.r#type.into());
        }
        for (n, t) in &params {
            vocabulary.insert(format!("params.{n}"), *t);
        }
        for n in personas.personas.keys() {
            vocabulary.insert(format!("personas.{n}"), VarType::Boolean);
        }
        let compile = |path: String, rule: &Value| {
            Condition::parse(rule, &vocabulary)
                .map_err(|e| Invalid::new(format!("{path}{}", &e.path), e.message))
        };
        let mut pricing = Vec::new();
        for (i, r) in doc.pricing.rules.iter().enumerate() {
            text(&format!("/pricing/rules/{i}/name"), &r.name, 200)?;
            price(&format!("/pricing/rules/{i}"), &r.price)?;
            pricing.push(compile(
                format!("/pricing/rules/{i}/condition"),
                &r.condition,
            )?);
        }
        price("/pricing/default", &doc.pricing.default)?;
        let mut add_ons = Vec::new();
        for (i, a) in doc.add_ons.iter().enumerate() {
            text(&format!("/add_ons/{i}/name"), &a.name, 200)?;
            text(&format!("/add_ons/{i}/description"), &a.description, 500)?;
            if let Some(p) = &a.partner_id {
                let p = partner(&format!("/add_ons/{i}/partner_id"), p)?;
                if !seen.contains(&p) {
                    return Err(Invalid::new(
                        format!("/add_ons/{i}/partner_id"),
                        "a partner's add-on needs that partner among the benefits (co-brand)",
                    ));
                }
            }
            add_ons.push(compile(format!("/add_ons/{i}/condition"), &a.condition)?);
        }
        for (i, c) in pricing.iter().chain(add_ons.iter()).enumerate() {
            for n in c.names() {
                if let Some(p) = n.strip_prefix("personas.") {
                    used.entry(p.to_owned()).or_insert(format!("/pricing/{i}"));
                }
            }
        }
        for (name, path) in &used {
            let Some(p) = personas.personas.get(name) else {
                return Err(Invalid::new(
                    path.clone(),
                    format!("unknown persona {name}"),
                ));
            };
            doc.personas
                .entry(name.clone())
                .or_insert(p.latest().version);
        }
        if doc.priority > 1000 {
            return Err(Invalid::new("/priority", "must be 0 to 1000"));
        }
        if !(doc.business_value.is_finite() && doc.business_value >= 0.0) {
            return Err(Invalid::new("/business_value", "must be 0 or more"));
        }
        if let Some(policy) = &doc.contact_policy {
            policy.validate("/contact_policy")?;
        }
        Ok(PropositionContent {
            partner_set: partner_set(&doc),
            doc: Arc::new(doc),
            pricing,
            add_ons,
            parameters: Arc::new(parameters),
            from,
            until,
        })
    }

    /// Rebuilds a stored (already checked, normalised) document without the catalogues.
    pub fn stored(doc: PropositionDoc) -> Result<PropositionContent, String> {
        let compile = |rule: &Value| Condition::stored(rule).map_err(|e| e.to_string());
        let pricing = doc
            .pricing
            .rules
            .iter()
            .map(|r| compile(&r.condition))
            .collect::<Result<_, _>>()?;
        let add_ons = doc
            .add_ons
            .iter()
            .map(|a| compile(&a.condition))
            .collect::<Result<_, _>>()?;
        let parameters = jsonschema::validator_for(&doc.parameters).map_err(|e| e.to_string())?;
        let ts = |s: &Option<String>| {
            s.as_deref()
                .map(Timestamp::parse_rfc3339)
                .transpose()
                .map_err(|e| e.to_string())
        };
        Ok(PropositionContent {
            from: ts(&doc.availability.from)?,
            until: ts(&doc.availability.until)?,
            partner_set: partner_set(&doc),
            doc: Arc::new(doc),
            pricing,
            add_ons,
            parameters: Arc::new(parameters),
        })
    }

    /// The co-brand partners: every partner named by a benefit.
    pub fn partners(&self) -> BTreeSet<PartnerId> {
        (*self.partner_set).clone()
    }

    /// The co-brand partners, borrowed.
    pub fn partner_set(&self) -> &BTreeSet<PartnerId> {
        &self.partner_set
    }
}

/// Where a version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    /// Being written.
    Draft,
    /// Waiting for a second person's approval.
    Submitted,
    /// Approved; publishable once every co-brand partner accepted.
    Approved,
    /// Live: the one version offered.
    Published,
    /// No longer offered.
    Retired,
}

/// One version.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// 1, 2, …
    pub number: u32,
    /// Its content.
    pub content: PropositionContent,
    /// Where it stands.
    pub status: VersionStatus,
    /// Who drafted it.
    pub drafted_by: String,
    /// Who submitted it (last time).
    pub submitted_by: Option<String>,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// Everyone who wrote or submitted this version: none of them may approve it.
    pub authors: BTreeSet<String>,
    /// Co-brand partners that accepted this version.
    pub accepted: BTreeSet<PartnerId>,
    /// Why it was last rejected.
    pub rejection: Option<String>,
}

impl Version {
    /// Co-brand partners that have not accepted.
    pub fn awaiting(&self) -> BTreeSet<PartnerId> {
        self.content
            .partner_set()
            .difference(&self.accepted)
            .copied()
            .collect()
    }
}

/// A proposition and its versions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proposition {
    /// Its id (none before it is drafted).
    pub id: Option<PropositionId>,
    /// Every version, oldest first.
    pub versions: Vec<Version>,
}

impl Proposition {
    /// Version `n`.
    pub fn version(&self, n: u32) -> Option<&Version> {
        self.versions.iter().find(|v| v.number == n)
    }

    fn version_mut(&mut self, n: u32) -> Option<&mut Version> {
        self.versions.iter_mut().find(|v| v.number == n)
    }

    /// The published version, if any.
    pub fn published(&self) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.status == VersionStatus::Published)
    }

    /// The version being worked on (draft, submitted or approved), if any.
    pub fn open(&self) -> Option<&Version> {
        self.versions.iter().find(|v| {
            matches!(
                v.status,
                VersionStatus::Draft | VersionStatus::Submitted | VersionStatus::Approved
            )
        })
    }

    /// Every partner that co-brands any version.
    pub fn partners(&self) -> BTreeSet<PartnerId> {
        self.versions
            .iter()
            .flat_map(|v| v.content.partners())
            .collect()
    }

    fn need(&self, n: u32) -> Result<&Version, OffersError> {
        self.version(n).ok_or(OffersError::NotFound)
    }
}

/// What staff and co-brand partners ask of a proposition.
#[derive(Debug, Clone)]
pub enum PropositionCommand {
    /// Drafts a new version (the first creates the proposition). Refused while another
    /// version is open.
    DraftVersion {
        /// The proposition's id (used by the first draft).
        id: PropositionId,
        /// Its content.
        content: PropositionContent,
        /// Who.
        by: String,
    },
    /// Replaces a draft's content.
    ReviseDraft {
        /// Which version.
        version: u32,
        /// The new content.
        content: PropositionContent,
        /// Who.
        by: String,
    },
    /// Submits a draft for approval.
    SubmitVersion {
        /// Which version.
        version: u32,
        /// Who.
        by: String,
    },
    /// Approves a submitted version (not by anyone who drafted, revised or submitted it).
    ApproveVersion {
        /// Which version.
        version: u32,
        /// Who.
        by: String,
    },
    /// Sends a submitted or approved version back to draft.
    RejectVersion {
        /// Which version.
        version: u32,
        /// Who.
        by: String,
        /// Why.
        reason: String,
    },
    /// A co-brand partner accepts a version.
    AcceptCoBranding {
        /// Which version.
        version: u32,
        /// The partner.
        partner: PartnerId,
    },
    /// A co-brand partner withdraws its acceptance.
    WithdrawCoBranding {
        /// Which version.
        version: u32,
        /// The partner.
        partner: PartnerId,
        /// Why.
        reason: String,
    },
    /// Publishes an approved version, retiring the published one.
    PublishVersion {
        /// Which version.
        version: u32,
        /// Who.
        by: String,
        /// Co-brand partners that are not active now (read exactly by the caller).
        inactive_partners: BTreeSet<PartnerId>,
    },
    /// Retires the published version.
    RetireVersion {
        /// Which version.
        version: u32,
        /// Who.
        by: String,
        /// Why.
        reason: String,
    },
}

fn refuse(msg: impl Into<String>) -> OffersError {
    OffersError::Refused(msg.into())
}

fn reason(r: &str) -> Result<String, OffersError> {
    let r = r.trim();
    if r.is_empty() || r.chars().count() > 500 {
        return Err(OffersError::Invalid(Invalid::new(
            "/reason",
            "must be 1 to 500 characters",
        )));
    }
    Ok(r.to_owned())
}

impl Aggregate for Proposition {
    type Command = PropositionCommand;
    type Event = PropositionEvent;
    type Error = OffersError;
    const CATEGORY: &'static str = "proposition";

    fn decide(
        &self,
        command: PropositionCommand,
        now: Timestamp,
    ) -> Result<Vec<PropositionEvent>, OffersError> {
        use PropositionCommand as C;
        use PropositionEvent as E;
        match command {
            C::DraftVersion { id, content, by } => {
                if let Some(open) = self.open() {
                    return Err(refuse(format!(
                        "version {} is still {:?}; finish or reject it before drafting another",
                        open.number, open.status
                    )));
                }
                Ok(vec![E::Drafted {
                    proposition_id: self.id.unwrap_or(id),
                    version: self.versions.len() as u32 + 1,
                    content,
                    by,
                    at: now,
                }])
            }
            C::ReviseDraft {
                version,
                content,
                by,
            } => {
                let v = self.need(version)?;
                if v.status != VersionStatus::Draft {
                    return Err(refuse(format!(
                        "version {version} is {:?}: only a draft can change (draft a new version)",
                        v.status
                    )));
                }
                if v.content == content {
                    return Ok(vec![]);
                }
                Ok(vec![E::DraftRevised {
                    version,
                    content,
                    by,
                    at: now,
                }])
            }
            C::SubmitVersion { version, by } => {
                let v = self.need(version)?;
                if v.status != VersionStatus::Draft {
                    return Err(refuse(format!(
                        "version {version} is {:?}, not a draft",
                        v.status
                    )));
                }
                Ok(vec![E::Submitted {
                    version,
                    by,
                    at: now,
                }])
            }
            C::ApproveVersion { version, by } => {
                let v = self.need(version)?;
                if v.status != VersionStatus::Submitted {
                    return Err(refuse(format!(
                        "version {version} is {:?}, not submitted",
                        v.status
                    )));
                }
                if v.authors.contains(&by) {
                    return Err(OffersError::FourEyes(by));
                }
                Ok(vec![E::Approved {
                    version,
                    by,
                    at: now,
                }])
            }
            C::RejectVersion {
                version,
                by,
                reason: r,
            } => {
                let v = self.need(version)?;
                if !matches!(v.status, VersionStatus::Submitted | VersionStatus::Approved) {
                    return Err(refuse(format!(
                        "version {version} is {:?}; only a submitted or approved version is rejected",
                        v.status
                    )));
                }
                Ok(vec![E::Rejected {
                    version,
                    by,
                    reason: reason(&r)?,
                    at: now,
                }])
            }
            C::AcceptCoBranding { version, partner } => {
                let v = self.need(version)?;
                if !v.content.partners().contains(&partner) {
                    return Err(OffersError::NotFound);
                }
                if !matches!(
                    v.status,
                    VersionStatus::Submitted | VersionStatus::Approved | VersionStatus::Published
                ) {
                    return Err(refuse(format!(
                        "version {version} is {:?}; a submitted, approved or published version is accepted",
                        v.status
                    )));
                }
                if v.accepted.contains(&partner) {
                    return Ok(vec![]);
                }
                Ok(vec![E::CoBrandingAccepted {
                    version,
                    partner_id: partner,
                    at: now,
                }])
            }
            C::WithdrawCoBranding {
                version,
                partner,
                reason: r,
            } => {
                let v = self.need(version)?;
                if !v.content.partners().contains(&partner) {
                    return Err(OffersError::NotFound);
                }
                if !v.accepted.contains(&partner) {
                    return Err(refuse(format!(
                        "version {version} is not accepted by this partner"
                    )));
                }
                Ok(vec![E::CoBrandingWithdrawn {
                    version,
                    partner_id: partner,
                    reason: reason(&r)?,
                    at: now,
                }])
            }
            C::PublishVersion {
                version,
                by,
                inactive_partners,
            } => {
                let v = self.need(version)?;
                if v.status != VersionStatus::Approved {
                    return Err(refuse(format!(
                        "version {version} is {:?}, not approved",
                        v.status
                    )));
                }
                let awaiting = v.awaiting();
                if !awaiting.is_empty() {
                    let list: Vec<String> = awaiting.iter().map(ToString::to_string).collect();
                    return Err(refuse(format!(
                        "co-brand partners have not accepted version {version}: {}",
                        list.join(", ")
                    )));
                }
                let inactive: Vec<String> = v
                    .content
                    .partners()
                    .intersection(&inactive_partners)
                    .map(ToString::to_string)
                    .collect();
                if !inactive.is_empty() {
                    return Err(refuse(format!(
                        "co-brand partners are not active: {}",
                        inactive.join(", ")
                    )));
                }
                let mut events = Vec::new();
                if let Some(previous) = self.published() {
                    events.push(E::Retired {
                        version: previous.number,
                        by: by.clone(),
                        reason: format!("superseded by version {version}"),
                        at: now,
                    });
                }
                events.push(E::Published {
                    version,
                    by,
                    at: now,
                });
                Ok(events)
            }
            C::RetireVersion {
                version,
                by,
                reason: r,
            } => {
                let v = self.need(version)?;
                if v.status != VersionStatus::Published {
                    return Err(refuse(format!(
                        "version {version} is {:?}, not published",
                        v.status
                    )));
                }
                Ok(vec![E::Retired {
                    version,
                    by,
                    reason: reason(&r)?,
                    at: now,
                }])
            }
        }
    }

    fn evolve(mut self, event: &PropositionEvent) -> Self {
        use PropositionEvent as E;
        match event {
            E::Drafted {
                proposition_id,
                version,
                content,
                by,
                ..
            } => {
                self.id = Some(*proposition_id);
                self.versions.push(Version {
                    number: *version,
                    content: content.clone(),
                    status: VersionStatus::Draft,
                    drafted_by: by.clone(),
                    submitted_by: None,
                    approved_by: None,
                    authors: BTreeSet::from([by.clone()]),
                    accepted: BTreeSet::new(),
                    rejection: None,
                });
            }
            E::DraftRevised {
                version,
                content,
                by,
                ..
            } => {
                if let Some(v) = self.version_mut(*version) {
                    v.content = content.clone();
                    v.authors.insert(by.clone());
                    // Partners accepted the content that was replaced.
                    v.accepted.clear();
                }
            }
            E::Submitted { version, by, .. } => {
                if let Some(v) = self.version_mut(*version) {
                    v.status = VersionStatus::Submitted;
                    v.submitted_by = Some(by.clone());
                    v.authors.insert(by.clone());
                }
            }
            E::Approved { version, by, .. } => {
                if let Some(v) = self.version_mut(*version) {
                    v.status = VersionStatus::Approved;
                    v.approved_by = Some(by.clone());
                }
            }
            E::Rejected {
                version, reason, ..
            } => {
                if let Some(v) = self.version_mut(*version) {
                    v.status = VersionStatus::Draft;
                    v.approved_by = None;
                    v.rejection = Some(reason.clone());
                }
            }
            E::CoBrandingAccepted {
                version,
                partner_id,
                ..
            } => {
                if let Some(v) = self.version_mut(*version) {
                    v.accepted.insert(*partner_id);
                }
            }
            E::CoBrandingWithdrawn {
                version,
                partner_id,
                ..
            } => {
                if let Some(v) = self.version_mut(*version) {
                    v.accepted.remove(partner_id);
                }
            }
            E::Published { version, .. } => {
                if let Some(v) = self.version_mut(*version) {
                    v.status = VersionStatus::Published;
                }
            }
            E::Retired { version, .. } => {
                if let Some(v) = self.version_mut(*version) {
                    v.status = VersionStatus::Retired;
                }
            }
        }
        self
    }
}
