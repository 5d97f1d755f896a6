//! Partners as the console's pages show them: by the name the partners service holds (their
//! registered legal name, through the `PartnerNames` port, one call per page), the id beside
//! it, and a link to the partner's page (`/console/partners/{id}`, the partners service's)
//! for people whose roles open it (`admin`). When the port cannot answer, the page still
//! renders, with ids.

use std::collections::{BTreeMap, BTreeSet};

use ecohub_security::SessionStaff;

use crate::application::OffersState;
use crate::domain::PartnerId;

/// The scope that opens the partners service's pages.
const PARTNER_PAGES_SCOPE: &str = "admin";

/// A partner on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartnerLabel {
    /// The partner's name, or `partner <id>` when it is not known (or the port failed).
    pub(crate) text: String,
    /// The id, shown beside the name (empty when `text` already says it).
    pub(crate) id: String,
    /// The partner's page, for people whose roles open it.
    pub(crate) href: Option<String>,
}

impl PartnerLabel {
    /// In words, for a line of text: `Name (id …)` or `partner <id>`.
    pub(crate) fn words(&self) -> String {
        if self.id.is_empty() {
            self.text.clone()
        } else {
            format!("{} (partner {})", self.text, self.id)
        }
    }
}

/// The names of the partners a page shows, asked once.
#[derive(Debug, Default)]
pub(crate) struct PartnerNames {
    names: BTreeMap<PartnerId, String>,
    link: bool,
}

impl PartnerNames {
    /// The names of `partners` (one call of the port); none when it cannot answer now (the
    /// page shows ids). Links to partners' pages only for `staff` whose roles open them.
    pub(crate) async fn of(
        state: &OffersState,
        staff: &SessionStaff,
        partners: impl IntoIterator<Item = PartnerId>,
    ) -> Self {
        let partners: BTreeSet<PartnerId> = partners.into_iter().collect();
        let names = match state.partner_names(partners).await {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!(error = %e, "partner names unavailable: the console shows ids");
                BTreeMap::new()
            }
        };
        Self {
            names,
            link: staff.scopes.contains(PARTNER_PAGES_SCOPE),
        }
    }

    /// `partner` as the page shows it.
    pub(crate) fn label(&self, partner: PartnerId) -> PartnerLabel {
        let (text, id) = match self.names.get(&partner) {
            Some(name) => (name.clone(), partner.to_string()),
            None => (format!("partner {partner}"), String::new()),
        };
        PartnerLabel {
            text,
            id,
            href: self.link.then(|| format!("/console/partners/{partner}")),
        }
    }

    /// A provider or partner named by a string (`bank`, a partner id, anything else as it
    /// is): the bank in words, a partner by [`Self::label`].
    pub(crate) fn provider(&self, provider: &str) -> PartnerLabel {
        match PartnerId::parse(provider) {
            Ok(p) => self.label(p),
            Err(_) if provider == crate::domain::BANK => PartnerLabel {
                text: "the bank".to_owned(),
                id: String::new(),
                href: None,
            },
            Err(_) => PartnerLabel {
                text: provider.to_owned(),
                id: String::new(),
                href: None,
            },
        }
    }
}
