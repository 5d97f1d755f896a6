//! A customer's contact ledger (`offercontacts-<customer>`): every offer presented to them and
//! every response, and the contact policies decided over it. One stream per customer makes the
//! caps exact across instances: a decision reads the ledger, selects within the caps, and
//! appends its `OfferPresented` events expecting the revision it read, so of two concurrent
//! decisions for one customer exactly one appends and the other decides again on the new
//! ledger (ADR 0022).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ecohub_kernel::{Aggregate, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contact_event::{ContactEvent, OfferId, Presented, Reporter, Response};
use super::document::Channel;
use super::evaluation::Exclusion;
use super::{Invalid, OffersError, PropositionId};

const DAY: Duration = Duration::from_secs(86_400);

/// The contact policy every proposition follows unless it sets its own limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ContactPolicy {
    /// At most this many presentations of one proposition to one customer per period.
    pub max_presentations: u32,
    /// The period of `max_presentations`, in days.
    pub period_days: u32,
    /// At most this many offers (all propositions) to one customer per day, per channel.
    pub daily_max_per_channel: u32,
    /// After a decline, the proposition is not offered to that customer for this many days.
    pub decline_suppression_days: u32,
    /// How long an offer may be answered, in days; then it expires.
    pub offer_validity_days: u32,
}

impl Default for ContactPolicy {
    fn default() -> Self {
        Self {
            max_presentations: 3,
            period_days: 7,
            daily_max_per_channel: 5,
            decline_suppression_days: 30,
            offer_validity_days: 14,
        }
    }
}

impl ContactPolicy {
    /// Checks the limits: every one at least 1 (a cap of 0 would disable offers; retire the
    /// proposition instead), periods at most 3650 days.
    pub fn validate(&self) -> Result<(), Invalid> {
        let fields = [
            ("max_presentations", self.max_presentations),
            ("period_days", self.period_days),
            ("daily_max_per_channel", self.daily_max_per_channel),
            ("decline_suppression_days", self.decline_suppression_days),
            ("offer_validity_days", self.offer_validity_days),
        ];
        for (name, v) in fields {
            if v == 0 || v > 3650 {
                return Err(Invalid::new(format!("/{name}"), "must be 1 to 3650"));
            }
        }
        Ok(())
    }

    /// This policy with a proposition's own limits.
    pub fn with(self, own: Option<&PropositionPolicy>) -> ContactPolicy {
        let Some(own) = own else { return self };
        ContactPolicy {
            max_presentations: own.max_presentations.unwrap_or(self.max_presentations),
            period_days: own.period_days.unwrap_or(self.period_days),
            decline_suppression_days: own
                .decline_suppression_days
                .unwrap_or(self.decline_suppression_days),
            offer_validity_days: own.offer_validity_days.unwrap_or(self.offer_validity_days),
            ..self
        }
    }
}

/// A proposition's own contact limits (each absent one follows the global policy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropositionPolicy {
    /// At most this many presentations to one customer per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3650)]
    pub max_presentations: Option<u32>,
    /// The period, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3650)]
    pub period_days: Option<u32>,
    /// Days without this proposition after a decline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3650)]
    pub decline_suppression_days: Option<u32>,
    /// How long its offers may be answered, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3650)]
    pub offer_validity_days: Option<u32>,
}

impl PropositionPolicy {
    /// Checks each limit given: 1 to 3650.
    pub fn validate(&self, at: &str) -> Result<(), Invalid> {
        let fields = [
            ("max_presentations", self.max_presentations),
            ("period_days", self.period_days),
            ("decline_suppression_days", self.decline_suppression_days),
            ("offer_validity_days", self.offer_validity_days),
        ];
        for (name, v) in fields {
            if let Some(v) = v
                && (v == 0 || v > 3650)
            {
                return Err(Invalid::new(format!("{at}/{name}"), "must be 1 to 3650"));
            }
        }
        Ok(())
    }
}

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    /// Presented, no response yet.
    Presented,
    /// Seen, no decision yet.
    Viewed,
    /// Accepted.
    Accepted,
    /// Declined.
    Declined,
    /// Not answered in time.
    Expired,
}

impl OfferStatus {
    /// The stable name (`presented`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Presented => "presented",
            OfferStatus::Viewed => "viewed",
            OfferStatus::Accepted => "accepted",
            OfferStatus::Declined => "declined",
            OfferStatus::Expired => "expired",
        }
    }

    /// Whether a response is still possible.
    pub fn is_open(self) -> bool {
        matches!(self, OfferStatus::Presented | OfferStatus::Viewed)
    }
}

/// One offer in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferRecord {
    /// As presented.
    pub offer: Presented,
    /// When.
    pub presented_at: Timestamp,
    /// Recorded status.
    pub status: OfferStatus,
    /// When the customer last responded (or it expired).
    pub changed_at: Timestamp,
    /// Who reported the last response.
    pub by: Option<Reporter>,
}

impl OfferRecord {
    /// The status at `now`: an open offer past its expiry is expired even before
    /// `OfferExpired` is written.
    pub fn status_at(&self, now: Timestamp) -> OfferStatus {
        if self.status.is_open() && now >= self.offer.expires_at {
            OfferStatus::Expired
        } else {
            self.status
        }
    }
}

/// Everything offered to one customer, by offer id (UUIDv7: time order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactLedger {
    /// The offers.
    pub offers: BTreeMap<OfferId, OfferRecord>,
    /// The decisions that presented them.
    pub decisions: std::collections::BTreeSet<super::contact_event::DecisionId>,
}

/// A proposition a decision may present, ranked (best first), with its own policy applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The offer it would be (ids assigned by the caller).
    pub offer: Presented,
    /// The effective policy (global with the proposition's own limits).
    pub policy: ContactPolicy,
}

impl Candidate {
    /// What the policies look at.
    pub fn view(&self) -> CandidateView<'_> {
        CandidateView {
            proposition_id: self.offer.proposition_id,
            product_code: &self.offer.product_code,
            channel: self.offer.channel,
            policy: self.policy,
        }
    }
}

/// What the contact policies look at in a candidate (cheap to build for every proposition a
/// decision ranks; the full offer is built only for those chosen).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateView<'a> {
    /// The proposition.
    pub proposition_id: PropositionId,
    /// The bank product's code.
    pub product_code: &'a str,
    /// Where it would be presented.
    pub channel: Channel,
    /// The effective policy.
    pub policy: ContactPolicy,
}

/// What the contact policies let through, in rank order, and why the others were not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Indexes of the candidates presented.
    pub chosen: Vec<usize>,
    /// Index of each candidate held back, with the first policy that held it back.
    pub excluded: Vec<(usize, Exclusion)>,
}

fn exclusion(code: &str, message: String) -> Exclusion {
    Exclusion {
        code: code.into(),
        message,
    }
}

/// The ledger summarised for the policies, once per decision.
struct History<'a> {
    accepted: BTreeSet<&'a str>,
    /// Latest decline per proposition.
    declined: BTreeMap<PropositionId, Timestamp>,
    /// Presentation times per proposition.
    presented: BTreeMap<PropositionId, Vec<Timestamp>>,
    /// Presentation times per channel.
    by_channel: BTreeMap<Channel, Vec<Timestamp>>,
}

impl ContactLedger {
    fn history(&self) -> History<'_> {
        let mut h = History {
            accepted: BTreeSet::new(),
            declined: BTreeMap::new(),
            presented: BTreeMap::new(),
            by_channel: BTreeMap::new(),
        };
        for r in self.offers.values() {
            let o = &r.offer;
            match r.status {
                OfferStatus::Accepted => {
                    h.accepted.insert(o.product_code.as_str());
                }
                OfferStatus::Declined => {
                    let latest = h.declined.entry(o.proposition_id).or_insert(r.changed_at);
                    *latest = (*latest).max(r.changed_at);
                }
                _ => {}
            }
            h.presented
                .entry(o.proposition_id)
                .or_default()
                .push(r.presented_at);
            h.by_channel
                .entry(o.channel)
                .or_default()
                .push(r.presented_at);
        }
        h
    }

    /// Applies the contact policies to `candidates` (ranked best first) at `now`, up to `max`
    /// offers. A candidate is held back, with the first reason, when: its product was
    /// accepted before (`already_accepted`) or the customer holds it (`already_held`); the
    /// customer declined this proposition within its suppression days
    /// (`suppressed_after_decline`); it was presented its maximum number of times in its
    /// period (`frequency_cap`); the channel's daily maximum is reached, this decision's
    /// offers included (`daily_cap`); or `max` offers were already chosen (`max_offers`).
    pub fn select(
        &self,
        candidates: &[CandidateView<'_>],
        held_products: &BTreeSet<String>,
        max: usize,
        now: Timestamp,
    ) -> Selection {
        self.select_from(
            |i| candidates.get(i).copied(),
            held_products,
            max,
            now,
            true,
        )
    }

    /// [`ContactLedger::select`] over candidates asked for one at a time, best first
    /// (`candidate(i)`, `None` past the last). Unless `exhaustive`, it stops asking once `max`
    /// offers are chosen or a candidate is held back by the daily cap (a decision's
    /// candidates share one channel and its daily maximum, so every later one would be too):
    /// the chosen offers are the same, and only the exclusions after that point are not
    /// listed.
    pub fn select_from<'c>(
        &self,
        mut candidate: impl FnMut(usize) -> Option<CandidateView<'c>>,
        held_products: &BTreeSet<String>,
        max: usize,
        now: Timestamp,
        exhaustive: bool,
    ) -> Selection {
        let h = self.history();
        let day_start = now.minus(DAY);
        let since = |times: Option<&Vec<Timestamp>>, start: Timestamp| {
            times.map_or(0, |t| t.iter().filter(|&&at| at > start).count())
        };
        let mut chosen_per_channel: BTreeMap<Channel, usize> = BTreeMap::new();
        let mut selection = Selection::default();
        for i in 0.. {
            if !exhaustive && selection.chosen.len() >= max {
                break;
            }
            let Some(c) = candidate(i) else { break };
            let p = &c.policy;
            let why = if h.accepted.contains(c.product_code) {
                Some(exclusion(
                    "already_accepted",
                    format!("the customer accepted product {} before", c.product_code),
                ))
            } else if held_products.contains(c.product_code) {
                Some(exclusion(
                    "already_held",
                    format!("the customer holds product {}", c.product_code),
                ))
            } else if h
                .declined
                .get(&c.proposition_id)
                .is_some_and(|&at| at > now.minus(DAY * p.decline_suppression_days))
            {
                Some(exclusion(
                    "suppressed_after_decline",
                    format!(
                        "declined within the last {} days",
                        p.decline_suppression_days
                    ),
                ))
            } else if since(
                h.presented.get(&c.proposition_id),
                now.minus(DAY * p.period_days),
            ) >= p.max_presentations as usize
            {
                Some(exclusion(
                    "frequency_cap",
                    format!(
                        "presented {} times in the last {} days",
                        p.max_presentations, p.period_days
                    ),
                ))
            } else if since(h.by_channel.get(&c.channel), day_start)
                + chosen_per_channel.get(&c.channel).copied().unwrap_or(0)
                >= p.daily_max_per_channel as usize
            {
                Some(exclusion(
                    "daily_cap",
                    format!(
                        "{} offers on this channel in the last day",
                        p.daily_max_per_channel
                    ),
                ))
            } else if selection.chosen.len() >= max {
                Some(exclusion(
                    "max_offers",
                    format!("ranked below the {max} offers asked for"),
                ))
            } else {
                None
            };
            match why {
                Some(e) => {
                    let full = e.code == "daily_cap";
                    selection.excluded.push((i, e));
                    if full && !exhaustive {
                        break;
                    }
                }
                None => {
                    *chosen_per_channel.entry(c.channel).or_default() += 1;
                    selection.chosen.push(i);
                }
            }
        }
        selection
    }

    /// The offers the customer accepted or declined, newest answer first.
    pub fn answered(&self) -> Vec<&OfferRecord> {
        let mut answered: Vec<&OfferRecord> = self
            .offers
            .values()
            .filter(|r| matches!(r.status, OfferStatus::Accepted | OfferStatus::Declined))
            .collect();
        answered.sort_by_key(|r| std::cmp::Reverse(r.changed_at));
        answered
    }

    /// The offers presented to the customer that are open at `now`, newest first.
    pub fn open_offers(&self, now: Timestamp) -> impl Iterator<Item = &OfferRecord> {
        self.offers
            .values()
            .rev()
            .filter(move |r| r.status_at(now).is_open())
    }
}

/// What may be asked of a contact ledger.
#[derive(Debug, Clone)]
pub enum ContactCommand {
    /// Present the candidates the policies let through (see [`ContactLedger::select`]).
    Present {
        /// Ranked best first.
        candidates: Vec<Candidate>,
        /// Product codes the customer holds.
        held_products: BTreeSet<String>,
        /// At most this many offers.
        max: usize,
    },
    /// Record a response to an offer.
    Respond {
        /// The customer (the ledger's owner).
        customer_id: String,
        /// The offer.
        offer_id: OfferId,
        /// Which.
        response: Response,
        /// Who reports it.
        by: Reporter,
    },
    /// Record the expiry of every open offer past its expiry.
    ExpireDue,
}

impl Aggregate for ContactLedger {
    type Command = ContactCommand;
    type Event = ContactEvent;
    type Error = OffersError;
    const CATEGORY: &'static str = "offercontacts";

    fn decide(
        &self,
        command: ContactCommand,
        now: Timestamp,
    ) -> Result<Vec<ContactEvent>, OffersError> {
        match command {
            ContactCommand::Present {
                candidates,
                held_products,
                max,
            } => {
                // A decision is recorded once: the decision a moment's triggers make has the
                // same id on every instance and after a restart (ADR 0026).
                if candidates
                    .iter()
                    .any(|c| self.decisions.contains(&c.offer.decision_id))
                {
                    return Ok(vec![]);
                }
                let views: Vec<CandidateView<'_>> =
                    candidates.iter().map(Candidate::view).collect();
                let selection = self.select(&views, &held_products, max, now);
                Ok(selection
                    .chosen
                    .into_iter()
                    .map(|i| ContactEvent::Presented {
                        offer: candidates[i].offer.clone(),
                        at: now,
                    })
                    .collect())
            }
            ContactCommand::Respond {
                customer_id,
                offer_id,
                response,
                by,
            } => {
                let record = self.offers.get(&offer_id).ok_or(OffersError::NotFound)?;
                let status = record.status_at(now);
                let same = matches!(
                    (status, response),
                    (OfferStatus::Accepted, Response::Accepted)
                        | (OfferStatus::Declined, Response::Declined)
                        | (OfferStatus::Viewed, Response::Viewed)
                );
                if same || (response == Response::Viewed && !status.is_open()) {
                    // Idempotent: the same response again, or a view after the decision.
                    return Ok(vec![]);
                }
                if !status.is_open() {
                    return Err(OffersError::Refused(format!(
                        "the offer is already {}",
                        status.as_str()
                    )));
                }
                let o = &record.offer;
                Ok(vec![ContactEvent::Responded {
                    offer_id,
                    customer_id,
                    response,
                    by,
                    proposition_id: o.proposition_id,
                    version: o.version,
                    product_code: o.product_code.clone(),
                    partners: o.partners.clone(),
                    personas: o.personas.clone(),
                    channel: o.channel,
                    at: now,
                }])
            }
            ContactCommand::ExpireDue => Ok(self
                .offers
                .values()
                .filter(|r| r.status.is_open() && now >= r.offer.expires_at)
                .map(|r| ContactEvent::Expired {
                    offer_id: r.offer.offer_id,
                    proposition_id: r.offer.proposition_id,
                    version: r.offer.version,
                    personas: r.offer.personas.clone(),
                    channel: r.offer.channel,
                    at: now,
                })
                .collect()),
        }
    }

    fn evolve(mut self, event: &ContactEvent) -> Self {
        match event {
            ContactEvent::Presented { offer, at } => {
                self.decisions.insert(offer.decision_id);
                self.offers.insert(
                    offer.offer_id,
                    OfferRecord {
                        offer: offer.clone(),
                        presented_at: *at,
                        status: OfferStatus::Presented,
                        changed_at: *at,
                        by: None,
                    },
                );
            }
            ContactEvent::Responded {
                offer_id,
                response,
                by,
                at,
                ..
            } => {
                if let Some(r) = self.offers.get_mut(offer_id) {
                    r.status = match response {
                        Response::Viewed => OfferStatus::Viewed,
                        Response::Accepted => OfferStatus::Accepted,
                        Response::Declined => OfferStatus::Declined,
                    };
                    r.changed_at = *at;
                    r.by = Some(*by);
                }
            }
            ContactEvent::Expired { offer_id, at, .. } => {
                if let Some(r) = self.offers.get_mut(offer_id) {
                    r.status = OfferStatus::Expired;
                    r.changed_at = *at;
                }
            }
        }
        self
    }
}

/// Whose ledger an offer id belongs to is not derivable from the id: callers name the
/// customer. The stream of a customer's ledger: `offercontacts-<id>` with the same id rule
/// as their preferences (their UUID, or the SHA-256 of another id).
pub fn contacts_stream(customer_id: &str) -> String {
    format!(
        "{}-{}",
        ContactLedger::CATEGORY,
        super::preference::customer_key(customer_id)
    )
}
