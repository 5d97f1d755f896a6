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
        let (persona, c) = Self::evidence(personas.iter().map(AsRef::as_ref), counts);
        Self::of(prior, persona.map(str::to_owned), c)
    }

    /// Which bucket [`Propensity::for_customer`] uses, and its counts (nothing allocated).
    pub fn evidence<'p>(
        personas: impl Iterator<Item = &'p str>,
        counts: impl Fn(Option<&str>) -> OutcomeCounts,
    ) -> (Option<&'p str>, OutcomeCounts) {
        let best = personas
            .map(|p| (p, counts(Some(p))))
            .max_by(|(a, ca), (b, cb)| ca.presented.cmp(&cb.presented).then(b.cmp(a)));
        match best {
            Some((p, c)) => (Some(p), c),
            None => (None, counts(None)),
        }
    }
}

impl Propensity {
    /// The highest estimate [`Propensity::for_customer`] can give any customer of a
    /// proposition: the best over the buckets of the personas its version names (`personas`;
    /// one without outcomes has the prior's mean), and over the proposition-wide bucket
    /// (`counts(None)`) unless every customer it is offered to matches one of them
    /// (`persona_required`: its audience has `all_of` or `any_of`).
    pub fn best<'p>(
        prior: Prior,
        personas: impl Iterator<Item = &'p str>,
        persona_required: bool,
        counts: impl Fn(Option<&str>) -> OutcomeCounts,
    ) -> f64 {
        let wide = (!persona_required).then_some(None);
        personas
            .map(Some)
            .chain(wide)
            .map(|p| Self::of(prior, None, counts(p)).estimate)
            .reduce(f64::max)
            // No persona although one is required: nobody can be offered it.
            .unwrap_or(0.0)
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
    pub matched: Vec<&'a str>,
    /// The bucket of outcomes the propensity comes from (see [`Propensity::for_customer`]).
    pub evidence: Option<&'a str>,
    /// Its counts.
    pub counts: OutcomeCounts,
    /// The prior.
    pub prior: Prior,
    /// priority × business value × propensity.
    pub score: f64,
}

impl Ranked<'_> {
    /// The acceptance propensity, with its evidence.
    pub fn propensity(&self) -> Propensity {
        Propensity::of(self.prior, self.evidence.map(str::to_owned), self.counts)
    }
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

/// The order in which a decision screens propositions: entries of a proposition and one of its
/// outcome buckets, each with the best score a customer reaching the proposition through that
/// bucket can get, best first. Built once per proposition list and outcome change that may
/// raise an estimate, shared by every decision until then.
///
/// An entry names a persona version of the proposition (by its slot in the order's table of
/// persona versions, so that a decision looks each up once), or none:
/// a decision screens the proposition when it reaches an entry whose persona the customer
/// matches, or an entry without persona. With [`ScreeningOrder::by_bucket`] every customer's
/// score for a proposition is the bound of one of its entries that the customer reaches (the
/// bucket its propensity comes from), so a proposition not screened yet scores at most the
/// bound of the next entry.
#[derive(Debug, Clone, Default)]
pub struct ScreeningOrder {
    /// (bound, index into the offerable list, persona slot), bound descending.
    order: Vec<(f64, usize, Option<u32>)>,
    /// The persona versions the entries name, by slot (shared by the restricted orders).
    slots: std::sync::Arc<[(String, u32)]>,
}

impl ScreeningOrder {
    /// The order of `offerable` with one bound per proposition (`best(offerable)`, at least
    /// any customer's score), reached by every customer.
    pub fn new(offerable: &[Offerable<'_>], best: impl Fn(&Offerable<'_>) -> f64) -> Self {
        let mut order: Vec<(f64, usize, Option<u32>)> = offerable
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let doc = &o.version.content.doc;
                (
                    rank_score(doc.priority, doc.business_value, best(o)),
                    i,
                    None,
                )
            })
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Self {
            order,
            slots: std::sync::Arc::default(),
        }
    }

    /// The order of `offerable` by outcome bucket (ADR 0022): an entry per persona the
    /// version names, bounded by the score its own outcomes give (`counts`, with `prior`),
    /// and one for the proposition-wide bucket unless every customer it is offered to
    /// matches one of its personas (its audience has `all_of` or `any_of`). A customer's
    /// propensity comes from a matched persona's bucket, or from the proposition-wide one
    /// when none matched ([`Propensity::evidence`]), so the entry of that bucket bounds the
    /// score exactly; the bound of one proposition for every customer
    /// ([`Propensity::best`]) is the best of these, loose for most customers.
    pub fn by_bucket(
        offerable: &[Offerable<'_>],
        prior: Prior,
        counts: impl Fn(super::PropositionId, Option<&str>) -> OutcomeCounts,
    ) -> Self {
        let mut order = Vec::with_capacity(offerable.len() * 3);
        let mut slots: Vec<(String, u32)> = Vec::new();
        let mut slot_of: std::collections::HashMap<(&str, u32), u32> =
            std::collections::HashMap::new();
        for (i, o) in offerable.iter().enumerate() {
            let doc = &o.version.content.doc;
            let audience = &doc.availability.audience;
            let required = !(audience.all_of.is_empty() && audience.any_of.is_empty());
            let score = |bucket: Option<&str>| {
                let estimate = Propensity::of(prior, None, counts(o.id, bucket)).estimate;
                rank_score(doc.priority, doc.business_value, estimate)
            };
            for (name, version) in &doc.personas {
                let slot = *slot_of.entry((name, *version)).or_insert_with(|| {
                    slots.push((name.clone(), *version));
                    u32::try_from(slots.len() - 1).unwrap_or(u32::MAX)
                });
                order.push((score(Some(name)), i, Some(slot)));
            }
            if !required || doc.personas.is_empty() {
                // Without a persona a required audience admits nobody: screened last.
                let bound = if required { 0.0 } else { score(None) };
                order.push((bound, i, None));
            }
        }
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        Self {
            order,
            slots: slots.into(),
        }
    }

    /// This order restricted to the offerable indexes `keep` admits.
    pub fn only(&self, keep: impl Fn(usize) -> bool) -> Self {
        Self {
            order: self
                .order
                .iter()
                .copied()
                .filter(|(_, i, _)| keep(*i))
                .collect(),
            slots: std::sync::Arc::clone(&self.slots),
        }
    }

    /// Every offerable in its list order (no bound: a full ranking screens everything).
    fn unbounded(len: usize) -> Self {
        Self {
            order: (0..len).map(|i| (f64::INFINITY, i, None)).collect(),
            slots: std::sync::Arc::default(),
        }
    }
}

/// An available proposition waiting in a [`Ranking`], ordered as the ranking orders.
struct Pending<'a>(Ranked<'a>);

impl PartialEq for Pending<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Pending<'_> {}
impl PartialOrd for Pending<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending<'_> {
    /// Greater is better: the max-heap pops the next in rank order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        rank_order(&other.0, &self.0)
    }
}

/// Rank order, best first: score, then priority, then business value, then proposition id.
fn rank_order(a: &Ranked<'_>, b: &Ranked<'_>) -> std::cmp::Ordering {
    let (da, db) = (&a.content.doc, &b.content.doc);
    b.score
        .total_cmp(&a.score)
        .then(db.priority.cmp(&da.priority))
        .then(db.business_value.total_cmp(&da.business_value))
        .then(a.proposition_id.cmp(&b.proposition_id))
}

/// The available propositions for one customer in rank order, screened only as far as they
/// are asked for: the next in rank order is known once the best one screened beats the bound
/// of every entry not reached yet (a threshold algorithm over [`ScreeningOrder`]); entries of
/// personas the customer is not in are passed over. A decision that presents its offers from
/// the first few ranks screens a few propositions, however many are published; the ranking
/// is the same as screening all of them (tested).
pub struct Ranking<'a, 'o, F> {
    offerable: &'o [Offerable<'a>],
    order: std::borrow::Cow<'o, ScreeningOrder>,
    next: usize,
    /// Which offerable indexes were screened (sized on the first screen).
    seen: Vec<bool>,
    screened: usize,
    pending: std::collections::BinaryHeap<Pending<'a>>,
    ranked: Vec<Ranked<'a>>,
    memberships: super::Memberships<'o>,
    context: super::Context,
    prior: Prior,
    counts: F,
    now: ecohub_kernel::Timestamp,
    explain: bool,
    held_back: Vec<(usize, HeldBack)>,
}

impl<'a, 'o, F> Ranking<'a, 'o, F>
where
    F: Fn(super::PropositionId, Option<&str>) -> OutcomeCounts,
{
    /// Ranks `offerable` for `subject`, screening in `order` (which must hold a bound at
    /// least as high as each proposition's score; see [`ScreeningOrder::new`]). `base` gives
    /// the channel, the parameters and the inactive partners; `counts` the outcomes per
    /// proposition and persona. With `explain`, the propositions held back are kept (see
    /// [`Ranking::held_back`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        offerable: &'o [Offerable<'a>],
        order: &'o ScreeningOrder,
        personas: &'o super::PersonaCatalogue,
        subject: &super::Subject,
        base: &super::Context,
        prior: Prior,
        counts: F,
        now: ecohub_kernel::Timestamp,
        explain: bool,
    ) -> Self {
        Self::with_order(
            offerable,
            std::borrow::Cow::Borrowed(order),
            personas,
            subject,
            base,
            prior,
            counts,
            now,
            explain,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn with_order(
        offerable: &'o [Offerable<'a>],
        order: std::borrow::Cow<'o, ScreeningOrder>,
        personas: &'o super::PersonaCatalogue,
        subject: &super::Subject,
        base: &super::Context,
        prior: Prior,
        counts: F,
        now: ecohub_kernel::Timestamp,
        explain: bool,
    ) -> Self {
        Self {
            offerable,
            order,
            next: 0,
            seen: Vec::new(),
            screened: 0,
            pending: std::collections::BinaryHeap::new(),
            ranked: Vec::new(),
            memberships: super::Memberships::new(personas, subject, &base.params),
            context: super::Context {
                params: serde_json::Map::new(),
                ..base.clone()
            },
            prior,
            counts,
            now,
            explain,
            held_back: Vec::new(),
        }
    }

    /// The `i`-th available proposition in rank order (0 is best), if there are that many.
    pub fn get(&mut self, i: usize) -> Option<&Ranked<'a>> {
        while self.ranked.len() <= i {
            if !self.advance() {
                return None;
            }
        }
        self.ranked.get(i)
    }

    /// The propositions ranked so far, best first.
    pub fn ranked(&self) -> &[Ranked<'a>] {
        &self.ranked
    }

    /// How many propositions were screened so far.
    pub fn screened(&self) -> usize {
        self.screened
    }

    /// Ranks every proposition left; then the propositions held back (with `explain`), in
    /// the offerable list's order.
    pub fn finish(&mut self) -> Vec<HeldBack> {
        while self.advance() {}
        // Those reached through no entry (the customer is in none of their personas, and
        // their audience requires one) are not available; screened now for their reason.
        for i in 0..self.offerable.len() {
            if self.mark(i) {
                self.screen(i);
            }
        }
        while let Some(Pending(r)) = self.pending.pop() {
            self.ranked.push(r);
        }
        let mut held_back = std::mem::take(&mut self.held_back);
        held_back.sort_by_key(|(i, _)| *i);
        held_back.into_iter().map(|(_, h)| h).collect()
    }

    /// Ranks one more proposition; false when none is left.
    fn advance(&mut self) -> bool {
        loop {
            let bound = self.order.order.get(self.next).map(|(b, _, _)| *b);
            if let Some(best) = self.pending.peek()
                && bound.is_none_or(|b| best.0.score > b)
            {
                let Some(Pending(r)) = self.pending.pop() else {
                    return false;
                };
                self.ranked.push(r);
                return true;
            }
            let Some(&(_, i, persona)) = self.order.order.get(self.next) else {
                return false;
            };
            self.next += 1;
            if self.seen.get(i).copied().unwrap_or(false) {
                continue;
            }
            if let Some(slot) = persona {
                let (name, version) = &self.order.slots[slot as usize];
                if !self.memberships.matches_slot(slot as usize, name, *version) {
                    continue;
                }
            }
            if self.mark(i) {
                self.screen(i);
            }
        }
    }

    /// Marks offerable `i` screened; false if it already was.
    fn mark(&mut self, i: usize) -> bool {
        if self.seen.is_empty() {
            self.seen = vec![false; self.offerable.len()];
        }
        let first = !std::mem::replace(&mut self.seen[i], true);
        self.screened += usize::from(first);
        first
    }

    fn screen(&mut self, i: usize) {
        let o = &self.offerable[i];
        let context = &mut self.context;
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
            match super::screen(&o.version.content, &mut self.memberships, context, self.now) {
                Ok(screened) => screened,
                Err(invalid) => {
                    if self.explain {
                        self.held_back.push((
                            i,
                            HeldBack::of(
                                o,
                                super::Exclusion {
                                    code: "params_invalid".into(),
                                    message: invalid.to_string(),
                                },
                            ),
                        ));
                    }
                    return;
                }
            };
        if let Some(reason) = excluded {
            if self.explain {
                self.held_back
                    .push((i, HeldBack::of(o, reason.exclusion())));
            }
            return;
        }
        let (evidence, counts) =
            Propensity::evidence(matched.iter().copied(), |p| (self.counts)(o.id, p));
        let estimate = Propensity::of(self.prior, None, counts).estimate;
        let doc = &o.version.content.doc;
        self.pending.push(Pending(Ranked {
            proposition_id: o.id,
            version: o.version.number,
            score: rank_score(doc.priority, doc.business_value, estimate),
            content: &o.version.content,
            matched,
            evidence,
            counts,
            prior: self.prior,
        }));
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
    let mut ranking = Ranking::with_order(
        offerable,
        std::borrow::Cow::Owned(ScreeningOrder::unbounded(offerable.len())),
        personas,
        subject,
        base,
        prior,
        counts,
        now,
        explain,
    );
    let held_back = ranking.finish();
    (ranking.ranked, held_back)
}
