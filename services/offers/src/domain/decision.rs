//! Ranking: priority × business value × acceptance propensity. The propensity is a
//! Beta-Bernoulli estimate from this hub's own outcomes per proposition and persona: with a
//! prior Beta(α, β) and `a` acceptances out of `n` presentations, the posterior mean is
//! (α + a) / (α + β + n). It is explainable: the decision shows the persona whose outcomes
//! were used, the counts, the prior and the estimate (ADR 0022).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The prior of every propensity: Beta(`alpha`, `beta`), mean α / (α + β).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Prior {
    /// Prior acceptances (α > 0).
    pub alpha: f64,
    /// Prior non-acceptances (β > 0).
    pub beta: f64,
}

impl Default for Prior {
    /// Beta(1, 19): a 5 % acceptance rate, worth 20 presentations of evidence.
    fn default() -> Self {
        Self {
            alpha: 1.0,
            beta: 19.0,
        }
    }
}

impl Prior {
    /// Checks that both are finite and positive.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("offers.prior.{name} must be a positive number"));
            }
        }
        Ok(())
    }
}

/// Presentations and acceptances observed for one proposition and persona.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct OutcomeCounts {
    /// Offers presented.
    pub presented: u64,
    /// Offers accepted.
    pub accepted: u64,
}

/// An acceptance propensity and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Propensity {
    /// The persona whose outcomes were used; absent: the proposition's outcomes over every
    /// customer (no persona matched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// Presentations observed.
    pub presented: u64,
    /// Acceptances observed.
    pub accepted: u64,
    /// The prior's α.
    pub alpha: f64,
    /// The prior's β.
    pub beta: f64,
    /// (α + accepted) / (α + β + presented).
    pub estimate: f64,
}

impl Propensity {
    /// The posterior mean for `counts` (acceptances beyond presentations are not counted).
    pub fn of(prior: Prior, persona: Option<String>, counts: OutcomeCounts) -> Self {
        let accepted = counts.accepted.min(counts.presented);
        Self {
            persona,
            presented: counts.presented,
            accepted,
            alpha: prior.alpha,
            beta: prior.beta,
            estimate: (prior.alpha + accepted as f64)
                / (prior.alpha + prior.beta + counts.presented as f64),
        }
    }

    /// The propensity of a proposition for a customer who matched `personas`: the outcomes
    /// of the matched persona with the most presentations (the most evidence; ties by name),
    /// or, when none matched, of the proposition over every customer. `counts(None)` is the
    /// proposition-wide bucket.
    pub fn for_customer<S: AsRef<str>>(
        prior: Prior,
        personas: &[S],
        counts: impl Fn(Option<&str>) -> OutcomeCounts,
    ) -> Self {
        let best = personas
            .iter()
            .map(|p| (p.as_ref(), counts(Some(p.as_ref()))))
            .max_by(|(a, ca), (b, cb)| ca.presented.cmp(&cb.presented).then(b.cmp(a)));
        match best {
            Some((p, c)) => Self::of(prior, Some(p.to_owned()), c),
            None => Self::of(prior, None, counts(None)),
        }
    }
}

/// The ranking score: priority × business value × propensity.
pub fn rank_score(priority: u32, business_value: f64, propensity: f64) -> f64 {
    f64::from(priority) * business_value * propensity
}

/// A published proposition a decision considers.
#[derive(Debug, Clone, Copy)]
pub struct Offerable<'a> {
    /// Its id.
    pub id: super::PropositionId,
    /// Its published version.
    pub version: &'a super::Version,
}

/// An available proposition, ranked.
#[derive(Clone)]
pub struct Ranked<'a> {
    /// The proposition.
    pub proposition_id: super::PropositionId,
    /// Its published version's number.
    pub version: u32,
    /// Its content.
    pub content: &'a super::PropositionContent,
    /// The personas of the version the customer matched.
    pub matched: Vec<String>,
    /// The acceptance propensity.
    pub propensity: Propensity,
    /// priority × business value × propensity.
    pub score: f64,
}

/// A published proposition a decision did not offer, with the first reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldBack {
    /// The proposition.
    #[schema(value_type = String, format = Uuid)]
    pub proposition_id: super::PropositionId,
    /// The version considered.
    pub version: u32,
    /// Its name.
    pub name: String,
    /// Why: an evaluation code (`audience_all_of`, `partner_not_active`, …), parameters that
    /// do not fit (`params_invalid`), a contact policy (`frequency_cap`, `daily_cap`,
    /// `suppressed_after_decline`, `already_accepted`, `already_held`, `max_offers`), or
    /// `customer_objected`.
    pub reason: super::Exclusion,
}

impl HeldBack {
    /// `offerable` held back for `reason`.
    pub fn of(offerable: &Offerable<'_>, reason: super::Exclusion) -> Self {
        Self {
            proposition_id: offerable.id,
            version: offerable.version.number,
            name: offerable.version.content.doc.name.clone(),
            reason,
        }
    }
}

/// Screens every published proposition for one customer (each persona evaluated once, no
/// explanation built) and ranks the available ones, best first: score, then priority, then
/// business value, then proposition id. `base` gives the channel, the parameters and the
/// inactive partners; `counts` the outcomes per proposition and persona. The propositions
/// held back are listed only when `explain` is asked for.
#[allow(clippy::too_many_arguments)]
pub fn rank<'a>(
    offerable: &[Offerable<'a>],
    personas: &super::PersonaCatalogue,
    subject: &super::Subject,
    base: &super::Context,
    prior: Prior,
    counts: impl Fn(super::PropositionId, Option<&str>) -> OutcomeCounts,
    now: ecohub_kernel::Timestamp,
    explain: bool,
) -> (Vec<Ranked<'a>>, Vec<HeldBack>) {
    let mut memberships = super::Memberships::new(personas, subject, &base.params);
    let mut ranked = Vec::new();
    let mut held_back = Vec::new();
    let mut context = super::Context {
        params: serde_json::Map::new(),
        ..base.clone()
    };
    for o in offerable {
        context.published = o.version.status == super::VersionStatus::Published;
        let accepted = &o.version.accepted;
        context.not_accepted = if o
            .version
            .content
            .partner_set()
            .iter()
            .all(|p| accepted.contains(p))
        {
            std::collections::BTreeSet::new()
        } else {
            o.version.awaiting()
        };
        let (excluded, matched) =
            match super::screen(&o.version.content, &mut memberships, &context, now) {
                Ok(screened) => screened,
                Err(invalid) => {
                    if explain {
                        held_back.push(HeldBack::of(
                            o,
                            super::Exclusion {
                                code: "params_invalid".into(),
                                message: invalid.to_string(),
                            },
                        ));
                    }
                    continue;
                }
            };
        if let Some(reason) = excluded {
            if explain {
                held_back.push(HeldBack::of(o, reason));
            }
            continue;
        }
        let propensity = Propensity::for_customer(prior, &matched, |p| counts(o.id, p));
        let doc = &o.version.content.doc;
        ranked.push(Ranked {
            proposition_id: o.id,
            version: o.version.number,
            score: rank_score(doc.priority, doc.business_value, propensity.estimate),
            content: &o.version.content,
            matched: matched.into_iter().map(str::to_owned).collect(),
            propensity,
        });
    }
    ranked.sort_by(|a, b| {
        let (da, db) = (&a.content.doc, &b.content.doc);
        b.score
            .total_cmp(&a.score)
            .then(db.priority.cmp(&da.priority))
            .then(db.business_value.total_cmp(&da.business_value))
            .then(a.proposition_id.cmp(&b.proposition_id))
    });
    (ranked, held_back)
}
