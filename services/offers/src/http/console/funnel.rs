//! `GET /console/offer-funnel`: the offer funnel (presented, viewed, accepted, declined,
//! expired, conversion) per proposition, persona, co-brand partner or channel, filtered by
//! proposition, channel and days, the filters in the URL; a bar chart drawn here as SVG (no
//! script), and the same numbers in a table. Served from the funnel read model.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use ecohub_http::percent_encode;
use ecohub_kernel::Timestamp;
use ecohub_security::{StaffSession, StaffSessionError};
use serde::Deserialize;

use super::views::{Bar, BarGroup, Chart, Choice, FunnelGroup, FunnelPage, Tab};
use super::{CHANNELS, bad_request, channel_words, html, person};
use crate::application::OffersState;
use crate::domain::PropositionId;
use crate::funnel::{FunnelCounts, FunnelFilter, FunnelRow};

/// The dimensions a report is grouped by: URL name, tab label, the words in captions.
const DIMENSIONS: [(&str, &str, &str); 4] = [
    ("proposition", "By proposition", "proposition"),
    ("persona", "By persona", "persona"),
    ("partner", "By partner", "co-brand partner"),
    ("channel", "By channel", "channel"),
];

/// The chart's series: name and colour (at least 3:1 against white).
const SERIES: [(&str, &str); 5] = [
    ("presented", "#1d4f91"),
    ("viewed", "#4a5a6b"),
    ("accepted", "#1e6b3a"),
    ("declined", "#a61b1b"),
    ("expired", "#7a5200"),
];

/// At most this many groups in the chart (the largest by offers presented; the table has all).
const CHART_GROUPS: usize = 10;

/// The report's query (every filter optional; dates are days, `YYYY-MM-DD`, UTC).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FunnelQuery {
    by: Option<String>,
    proposition_id: Option<String>,
    channel: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The start of day `d` (`YYYY-MM-DD`), or none when it is not a date.
fn day(d: &str) -> Option<Timestamp> {
    let ok =
        d.len() == 10 && d.as_bytes().get(4) == Some(&b'-') && d.as_bytes().get(7) == Some(&b'-');
    ok.then(|| Timestamp::parse_rfc3339(&format!("{d}T00:00:00Z")).ok())
        .flatten()
}

fn add(total: &mut FunnelCounts, c: &FunnelCounts) {
    total.presented += c.presented;
    total.viewed += c.viewed;
    total.accepted += c.accepted;
    total.declined += c.declined;
    total.expired += c.expired;
}

/// The rows grouped by `by`: a key (for ordering and links) and the summed counts.
fn group(by: &str, rows: &[FunnelRow]) -> BTreeMap<String, FunnelCounts> {
    let mut groups: BTreeMap<String, FunnelCounts> = BTreeMap::new();
    for r in rows {
        let keys: Vec<String> = match by {
            "persona" => vec![r.key.persona.clone().unwrap_or_default()],
            "partner" => r.partners.iter().map(ToString::to_string).collect(),
            "channel" => vec![channel_words(r.key.channel).to_owned()],
            _ => vec![r.key.proposition_id.to_string()],
        };
        for k in keys {
            add(groups.entry(k).or_default(), &r.counts);
        }
    }
    groups
}

fn chart(groups: &[FunnelGroup], by_words: &str) -> Option<Chart> {
    let mut shown: Vec<&FunnelGroup> = groups.iter().collect();
    shown.sort_by_key(|g| std::cmp::Reverse(g.presented));
    shown.truncate(CHART_GROUPS);
    let max = shown
        .iter()
        .map(|g| g.presented.max(g.viewed))
        .max()?
        .max(1);
    let (bar, gap, label) = (12_u32, 3_u32, 22_u32);
    let mut y = 34;
    let groups = shown
        .iter()
        .map(|g| {
            let values = [g.presented, g.viewed, g.accepted, g.declined, g.expired];
            let label_y = y + 14;
            y += label;
            let bars = SERIES
                .iter()
                .zip(values)
                .map(|((_, colour), value)| {
                    let width = u32::try_from(value.saturating_mul(480) / max).unwrap_or(480);
                    let b = Bar {
                        y,
                        width: width.max(1),
                        colour,
                        value,
                        label_x: width.max(1) + 6,
                    };
                    y += bar + gap;
                    b
                })
                .collect();
            y += 12;
            BarGroup {
                label: g.label.clone(),
                label_y,
                bars,
            }
        })
        .collect();
    Some(Chart {
        height: y,
        groups,
        legend: SERIES.to_vec(),
        summary: format!(
            "Offers presented, viewed, accepted, declined and expired per {by_words}, for the {} \
{} with the most offers presented; the table below has every number.",
            shown.len(),
            if shown.len() == 1 {
                by_words.to_owned()
            } else {
                format!("{by_words}s")
            },
        ),
    })
}

/// The report. Bad filters are a 400 page in words.
pub(crate) async fn page(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    query: web::Query<FunnelQuery>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let q = query.into_inner();
    let nonempty = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    let (proposition, channel, from, to) = (
        nonempty(&q.proposition_id),
        nonempty(&q.channel),
        nonempty(&q.from),
        nonempty(&q.to),
    );
    let Some(&(by, _, by_words)) = DIMENSIONS
        .iter()
        .find(|(name, _, _)| q.by.as_deref().is_none_or(|b| b.is_empty() || b == *name))
    else {
        return bad_request(
            &staff,
            "Unknown grouping",
            "The report groups by proposition, persona, partner or channel. Choose one of the tabs.",
        );
    };
    let proposition_id = match proposition.as_deref().map(PropositionId::parse) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return bad_request(
                &staff,
                "Unknown proposition",
                "The filter names no proposition. Choose one from the list.",
            );
        }
    };
    let channel_filter = match channel.as_deref() {
        None => None,
        Some(c) => match CHANNELS.iter().find(|(_, name, _)| *name == c) {
            Some((ch, _, _)) => Some(*ch),
            None => {
                return bad_request(
                    &staff,
                    "Unknown channel",
                    "The filter names no channel. Choose one from the list.",
                );
            }
        },
    };
    let (Some(from_t), Some(to_t)) = (
        from.as_deref().map_or(Some(None), |d| day(d).map(Some)),
        to.as_deref().map_or(Some(None), |d| day(d).map(Some)),
    ) else {
        return bad_request(
            &staff,
            "Not a date",
            "The days of the report are dates like 2026-12-03. Choose them again.",
        );
    };
    let filter = FunnelFilter {
        proposition_id,
        channel: channel_filter,
        persona: (by == "persona").then(String::new),
        from: from_t,
        // The last day is included: days starting before the next one.
        to: to_t.map(|t| t.plus(std::time::Duration::from_secs(86_400))),
        ..FunnelFilter::default()
    };
    let rows = state.funnel.rows(&filter, None, usize::MAX);
    let listed = state.index.list(None, None, usize::MAX);
    let name_of = |id: &str| {
        listed
            .iter()
            .find(|p| p.id.is_some_and(|x| x.to_string() == id))
            .and_then(|p| p.versions.last())
            .map_or_else(
                || format!("proposition {id}"),
                |v| v.content.doc.name.clone(),
            )
    };
    let groups: Vec<FunnelGroup> = group(by, &rows)
        .into_iter()
        .map(|(key, c)| {
            let (label, href) = match by {
                "persona" if key.is_empty() => ("no persona".to_owned(), None),
                "persona" => (
                    key.clone(),
                    Some(format!("/console/personas/{}", percent_encode(&key))),
                ),
                "partner" => (
                    format!("partner {key}"),
                    Some(format!("/console/partners/{key}")),
                ),
                "channel" => (key.clone(), None),
                _ => (name_of(&key), Some(format!("/console/propositions/{key}"))),
            };
            FunnelGroup {
                label,
                href,
                presented: c.presented,
                viewed: c.viewed,
                accepted: c.accepted,
                declined: c.declined,
                expired: c.expired,
                conversion: if c.presented == 0 {
                    "–".to_owned()
                } else {
                    format!("{:.1} %", c.accepted as f64 * 100.0 / c.presented as f64)
                },
            }
        })
        .collect();
    let filters: Vec<String> = [
        ("proposition_id", &proposition),
        ("channel", &channel),
        ("from", &from),
        ("to", &to),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("&{k}={}", percent_encode(v))))
    .collect();
    let filters = filters.concat();
    let view = FunnelPage {
        title: "Offer funnel",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        dimensions: DIMENSIONS
            .iter()
            .map(|(name, label, _)| Tab {
                label,
                href: format!("/console/offer-funnel?by={name}{filters}"),
                count: 0,
                current: *name == by,
            })
            .collect(),
        by_words,
        by,
        propositions: listed
            .iter()
            .filter_map(|p| {
                let id = p.id?.to_string();
                Some(Choice {
                    selected: proposition.as_deref() == Some(id.as_str()),
                    label: p.versions.last()?.content.doc.name.clone(),
                    value: id,
                })
            })
            .collect(),
        channels: CHANNELS
            .iter()
            .map(|(_, name, words)| Choice {
                value: (*name).to_owned(),
                label: (*words).to_owned(),
                selected: channel.as_deref() == Some(*name),
            })
            .collect(),
        from: from.unwrap_or_default(),
        to: to.unwrap_or_default(),
        chart: chart(&groups, by_words),
        groups,
        filtered: !filters.is_empty(),
        note: match by {
            "persona" => "An offer counts under every persona its customer matched.",
            "partner" => "An offer counts under every co-brand partner of its version.",
            _ => "",
        },
    };
    html(StatusCode::OK, view.render())
}
