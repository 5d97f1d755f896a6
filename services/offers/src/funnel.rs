//! The offer funnel: presented, viewed, accepted, declined and expired offers per
//! proposition, version, channel, persona and UTC day, with each version's co-brand partners
//! (a read model fed by the customers' contact ledgers; reports never scan the log).
//!
//! Each event counts on the day it happened. An offer counts once in the all-customers row
//! (`persona` absent) and once in the row of each persona its customer matched when it was
//! presented, so persona rows may overlap.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use ecohub_kernel::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Channel, ContactEvent, PartnerId, PropositionId, Response};

const DAY_SECS: i64 = 86_400;

/// Counts of one row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FunnelCounts {
    /// Offers presented.
    pub presented: u64,
    /// Offers viewed.
    pub viewed: u64,
    /// Offers accepted.
    pub accepted: u64,
    /// Offers declined.
    pub declined: u64,
    /// Offers that expired unanswered.
    pub expired: u64,
}

impl FunnelCounts {
    fn add(&mut self, other: &FunnelCounts) {
        self.presented += other.presented;
        self.viewed += other.viewed;
        self.accepted += other.accepted;
        self.declined += other.declined;
        self.expired += other.expired;
    }
}

/// The grouping of a report row (also its sort key and cursor).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FunnelKey {
    /// The proposition.
    pub proposition_id: PropositionId,
    /// Its version.
    pub version: u32,
    /// The channel.
    pub channel: Channel,
    /// The persona; `None`: every customer.
    pub persona: Option<String>,
}

/// What a report asks for; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct FunnelFilter {
    /// Only this proposition.
    pub proposition_id: Option<PropositionId>,
    /// Only this version.
    pub version: Option<u32>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Rows per persona (`Some("")`: every persona's row; `Some(p)`: persona `p`'s);
    /// `None`: the all-customers rows.
    pub persona: Option<String>,
    /// Only propositions co-branded by this partner.
    pub partner_id: Option<PartnerId>,
    /// Days starting at or after this instant.
    pub from: Option<Timestamp>,
    /// Days starting before this instant.
    pub to: Option<Timestamp>,
}

/// One report row: counts summed over the days in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelRow {
    /// The grouping.
    pub key: FunnelKey,
    /// The co-brand partners of the version.
    pub partners: Vec<PartnerId>,
    /// The counts.
    pub counts: FunnelCounts,
}

#[derive(Debug, Default)]
struct Data {
    /// Key → day (days since the epoch) → counts.
    rows: BTreeMap<FunnelKey, BTreeMap<i64, FunnelCounts>>,
    /// (proposition, version) → co-brand partners.
    partners: BTreeMap<(PropositionId, u32), BTreeSet<PartnerId>>,
}

/// Reads the funnel.
#[derive(Debug, Clone, Default)]
pub struct FunnelReader {
    data: Arc<RwLock<Data>>,
}

impl FunnelReader {
    /// Up to `limit` rows after `after` (in key order) that `filter` keeps.
    pub fn rows(
        &self,
        filter: &FunnelFilter,
        after: Option<&FunnelKey>,
        limit: usize,
    ) -> Vec<FunnelRow> {
        let data = self.data.read().unwrap_or_else(|e| e.into_inner());
        // The first day starting at or after an instant.
        let first_day = |t: Timestamp| {
            let s = t.unix_seconds();
            s.div_euclid(DAY_SECS) + i64::from(s.rem_euclid(DAY_SECS) > 0)
        };
        let from_day = filter.from.map(first_day);
        let to_day = filter.to.map(first_day);
        let lower = match after {
            Some(a) => std::ops::Bound::Excluded(a.clone()),
            None => std::ops::Bound::Unbounded,
        };
        let mut out = Vec::new();
        for (key, days) in data.rows.range((lower, std::ops::Bound::Unbounded)) {
            if out.len() >= limit {
                break;
            }
            if filter
                .proposition_id
                .is_some_and(|p| p != key.proposition_id)
                || filter.version.is_some_and(|v| v != key.version)
                || filter.channel.is_some_and(|c| c != key.channel)
            {
                continue;
            }
            let persona_ok = match (&filter.persona, &key.persona) {
                (None, None) => true,
                (Some(want), Some(p)) => want.is_empty() || want == p,
                _ => false,
            };
            if !persona_ok {
                continue;
            }
            let partners: Vec<PartnerId> = data
                .partners
                .get(&(key.proposition_id, key.version))
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            if filter.partner_id.is_some_and(|p| !partners.contains(&p)) {
                continue;
            }
            let mut counts = FunnelCounts::default();
            for (day, c) in days {
                if from_day.is_some_and(|f| *day < f) || to_day.is_some_and(|t| *day >= t) {
                    continue;
                }
                counts.add(c);
            }
            if counts == FunnelCounts::default() {
                continue;
            }
            out.push(FunnelRow {
                key: key.clone(),
                partners,
                counts,
            });
        }
        out
    }
}

impl FunnelReader {
    /// Counts a batch of contact-ledger events (fed by [`crate::views::ContactViews`]).
    pub(crate) fn apply(&self, events: &[(&str, ContactEvent)]) {
        let mut data = self.data.write().unwrap_or_else(|e| e.into_inner());
        for (_, event) in events {
            let day = event.at().unix_seconds().div_euclid(DAY_SECS);
            let (proposition, version, channel, personas, bump): (
                _,
                _,
                _,
                _,
                fn(&mut FunnelCounts),
            ) = match event {
                ContactEvent::Presented { offer, .. } => {
                    data.partners
                        .entry((offer.proposition_id, offer.version))
                        .or_default()
                        .extend(offer.partners.iter().copied());
                    (
                        offer.proposition_id,
                        offer.version,
                        offer.channel,
                        &offer.personas,
                        |c| c.presented += 1,
                    )
                }
                ContactEvent::Responded {
                    proposition_id,
                    version,
                    channel,
                    personas,
                    response,
                    ..
                } => (
                    *proposition_id,
                    *version,
                    *channel,
                    personas,
                    match response {
                        Response::Viewed => |c: &mut FunnelCounts| c.viewed += 1,
                        Response::Accepted => |c: &mut FunnelCounts| c.accepted += 1,
                        Response::Declined => |c: &mut FunnelCounts| c.declined += 1,
                    },
                ),
                ContactEvent::Expired {
                    proposition_id,
                    version,
                    channel,
                    personas,
                    ..
                } => (*proposition_id, *version, *channel, personas, |c| {
                    c.expired += 1
                }),
            };
            let keys = std::iter::once(None).chain(personas.iter().cloned().map(Some));
            for persona in keys {
                let key = FunnelKey {
                    proposition_id: proposition,
                    version,
                    channel,
                    persona,
                };
                bump(data.rows.entry(key).or_default().entry(day).or_default());
            }
        }
    }

    pub(crate) fn reset(&self) {
        *self.data.write().unwrap_or_else(|e| e.into_inner()) = Data::default();
    }
}
