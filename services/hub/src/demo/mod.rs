//! `ecohub serve --demo`: fills a fresh store with a believable ecosystem, then serves it.
//!
//! Everything is written through the public use cases, as the people and systems of a real
//! ecosystem would: the CLI's own use cases for what only an operator does (the bootstrap
//! administrator client, the staff and customer directories), and otherwise the running hub's
//! HTTP API and pages over loopback — partners apply and register clients by dynamic
//! registration, people of the bank sign in to the console and work under their sessions
//! (so maker-checker and the history name them), customers sign in and decide on the real
//! consent pages, the bank publishes data, partners read it under consent, the bank's app
//! decides offers and reports responses. So the demo is real events only, and passes
//! `ecohub audit verify`.
//!
//! A store that holds any event is refused, unless it holds the demo already (its last step
//! appends `DemoEcosystemLoaded` to the `demo-ecosystem` stream), in which case it is served
//! as it is.

mod client;
mod partner;

use std::sync::Arc;

use anyhow::{Context, anyhow};
use ecohub_eventstore::{
    EventStore, ExpectedRevision, NewEvent, ReadStreamOptions, read_stream_to_end,
};
use ecohub_kernel::{Clock, SystemClock, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

use self::client::Actor;
use self::partner::{CALLBACK, Partner, apply};

const MARKER_STREAM: &str = "demo-ecosystem";
const MARKER_EVENT: &str = "DemoEcosystemLoaded";
const ACTOR: &str = "system:demo";

/// What a store holds, for `--demo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreContents {
    /// Nothing: the demo can be loaded.
    Empty,
    /// The demo, loaded at this time (RFC 3339).
    Demo(String),
    /// Something else: the demo refuses it.
    Other,
}

/// Whether the store is empty, holds the demo, or holds something else.
pub async fn contents(store: &dyn EventStore) -> anyhow::Result<StoreContents> {
    if store.head().await?.is_none() {
        return Ok(StoreContents::Empty);
    }
    let marker = store
        .read_stream(MARKER_STREAM, ReadStreamOptions::forwards())
        .await?;
    Ok(match marker.first() {
        Some(event) => StoreContents::Demo(event.recorded_at.to_rfc3339()),
        None => StoreContents::Other,
    })
}

/// A person of the bank the demo creates.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    /// Sign-in name.
    pub username: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// Their role.
    pub role: &'static str,
    /// The generated password (printed once).
    pub password: String,
}

/// What the demo created that a newcomer needs: the people's and customers' credentials.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The bank's staff, one or two per role.
    pub staff: Vec<DemoPerson>,
    /// Customers' usernames (a few to try).
    pub customers: Vec<String>,
    /// The password every demo customer shares.
    pub customer_password: String,
    /// How many customers there are.
    pub customer_count: usize,
}

impl Loaded {
    /// The lines printed once after loading.
    pub fn summary(&self, base: &str) -> String {
        let mut out = format!(
            "\nThe demo ecosystem is loaded. These credentials are shown once; keep them.\n\n\
             Console for the bank's staff: {base}/console\n"
        );
        for p in &self.staff {
            out.push_str(&format!(
                "  {:<8} {:<22} {:<20} password {}\n",
                p.username, p.display_name, p.role, p.password
            ));
        }
        out.push_str(&format!(
            "\nCustomer space: {base}/dashboard\n  {} customers, e.g. {}, all with password {}\n\n\
             API documentation: {base}/docs\n",
            self.customer_count,
            self.customers.join(", "),
            self.customer_password
        ));
        out
    }
}

/// A generated password: 20 characters from a v4 UUID's random bits, in groups for reading.
fn password() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{}-{}-{}-{}",
        &hex[0..5],
        &hex[5..10],
        &hex[10..15],
        &hex[15..20]
    )
}

const STAFF: [(&str, &str, &str); 6] = [
    ("ada", "Ada Okafor", "partnership_manager"),
    ("grace", "Grace Lindqvist", "partnership_manager"),
    ("anna", "Anna Moreau", "product_manager"),
    ("ben", "Ben Castillo", "product_manager"),
    ("carla", "Carla Mendes", "compliance_officer"),
    ("dan", "Dan Whitfield", "administrator"),
];

const CUSTOMERS: [(&str, &str); 50] = [
    ("alice", "Alice Martin"),
    ("bilal", "Bilal Haddad"),
    ("chloe", "Chloé Bernard"),
    ("david", "David Kowalski"),
    ("elena", "Elena Rossi"),
    ("farah", "Farah Siddiqui"),
    ("george", "George Adeyemi"),
    ("hana", "Hana Sato"),
    ("ivan", "Ivan Petrov"),
    ("julia", "Julia Fischer"),
    ("kofi", "Kofi Mensah"),
    ("lea", "Léa Dubois"),
    ("mateo", "Mateo García"),
    ("nora", "Nora Lindberg"),
    ("omar", "Omar Benali"),
    ("priya", "Priya Raman"),
    ("quentin", "Quentin Leroy"),
    ("rosa", "Rosa Almeida"),
    ("sami", "Sami Virtanen"),
    ("tara", "Tara O'Neill"),
    ("umar", "Umar Farouk"),
    ("vera", "Vera Novak"),
    ("wei", "Wei Zhang"),
    ("ximena", "Ximena Torres"),
    ("yusuf", "Yusuf Demir"),
    ("zoe", "Zoë Clarke"),
    ("aaron", "Aaron Levi"),
    ("bianca", "Bianca Conti"),
    ("carlos", "Carlos Mendoza"),
    ("dina", "Dina Katz"),
    ("emil", "Emil Johansson"),
    ("fatima", "Fatima Zahra"),
    ("gabriel", "Gabriel Silva"),
    ("helena", "Helena Costa"),
    ("ines", "Inês Carvalho"),
    ("jonas", "Jonas Weber"),
    ("kira", "Kira Ivanova"),
    ("liam", "Liam Murphy"),
    ("maya", "Maya Patel"),
    ("nils", "Nils Eriksson"),
    ("olga", "Olga Sokolova"),
    ("pablo", "Pablo Ruiz"),
    ("rania", "Rania Khalil"),
    ("stefan", "Stefan Horvat"),
    ("tomas", "Tomás Ortega"),
    ("ulla", "Ulla Berg"),
    ("victor", "Victor Hugo Lima"),
    ("wanda", "Wanda Nowak"),
    ("yara", "Yara Haddad"),
    ("zain", "Zain Malik"),
];

/// Loads the demo into the hub listening at `base` (`http://127.0.0.1:8080`) on `store`.
/// `totp_keys`: the hub's (its people are added without a second factor; the directory
/// takes the keys all the same).
pub async fn load(
    base: &str,
    store: Arc<dyn EventStore>,
    totp_keys: &ecohub_auth::TotpKeys,
) -> anyhow::Result<Loaded> {
    let now = SystemClock.now();
    let anyone = Actor::new(base)?;

    // The operator's part: the bootstrap administrator, the bank's systems, its people.
    let (admin_id, admin_secret) = ecohub_auth::bootstrap_admin(&*store, now)
        .await
        .map_err(|e| anyhow!("cannot bootstrap the administrator client: {e}"))?;
    let admin = Actor::with_bearer(
        base,
        client_token(&anyone, &admin_id.to_string(), &admin_secret, "admin").await?,
    )?;
    let feed = bank_system(&admin, &anyone, "Core banking data feed", "data:publish").await?;
    let app = bank_system(&admin, &anyone, "Mobile banking app", "offers:decide").await?;

    let staff_directory = ecohub_auth::StaffDirectory::new(store.clone());
    let mut staff = Vec::new();
    for (username, display_name, role) in STAFF {
        let person = DemoPerson {
            username,
            display_name,
            role,
            password: password(),
        };
        staff_directory
            .add(
                ecohub_auth::NewStaff {
                    username,
                    display_name,
                    password: &person.password,
                    roles: &[role.to_owned()],
                    totp: false,
                },
                totp_keys,
                false,
                now,
                ACTOR,
            )
            .await
            .map_err(|e| anyhow!("cannot add {username}: {e}"))?;
        staff.push(person);
    }
    let (ada, grace) = (
        signed_in(base, &staff, "ada").await?,
        signed_in(base, &staff, "grace").await?,
    );
    let (anna, ben) = (
        signed_in(base, &staff, "anna").await?,
        signed_in(base, &staff, "ben").await?,
    );

    // Partners in different states of their lifecycle.
    let partners = Partners::onboard(&anyone, &ada, &grace).await?;

    // Customers, and what the bank knows of them.
    let customer_password = password();
    let directory = ecohub_auth::BuiltInDirectory::new(store.clone());
    let mut customers = Vec::new();
    for (i, (username, display_name)) in CUSTOMERS.iter().enumerate() {
        let added = directory
            .add(username, display_name, &customer_password, now, ACTOR)
            .await
            .map_err(|e| anyhow!("cannot add the customer {username}: {e}"))?;
        let id = added.customer_id.to_string();
        publish_bank_data(&feed, &id, i, now).await?;
        customers.push((*username, id));
    }

    // Consents in every status, and data read under them.
    let travellers = consents(&partners, &customers, &customer_password, now).await?;
    ada.json(
        Method::POST,
        &format!("/admin/partners/{}/suspend", partners.pulsefit.partner_id),
        Some(&json!({"reason": "Security review: the partner reported a leaked signing key"})),
    )
    .await?;

    // Propositions, and offers decided and answered.
    offers(&anna, &ben, &partners).await?;
    decide_and_respond(&app, &customers).await?;
    // Financial moments: the travel firm's bookings trigger the bank's trip cover.
    moments(&anna, &ben, &partners, &travellers).await?;

    store
        .append(
            MARKER_STREAM,
            ExpectedRevision::NoStream,
            vec![NewEvent::raw(
                MARKER_EVENT,
                json!({"partners": 5, "staff": STAFF.len(), "customers": customers.len()}),
                SystemClock.now(),
            )],
        )
        .await
        .context("cannot record that the demo is loaded")?;
    let check = read_stream_to_end(&*store, MARKER_STREAM).await?;
    if check.len() != 1 {
        return Err(anyhow!(
            "the demo marker was recorded {} times",
            check.len()
        ));
    }
    Ok(Loaded {
        staff,
        customers: customers
            .iter()
            .take(3)
            .map(|(u, _)| (*u).to_owned())
            .collect(),
        customer_password,
        customer_count: customers.len(),
    })
}

/// A person of the bank signed in on the console.
async fn signed_in(base: &str, staff: &[DemoPerson], username: &str) -> anyhow::Result<Actor> {
    let person = staff
        .iter()
        .find(|p| p.username == username)
        .ok_or_else(|| anyhow!("no demo person {username}"))?;
    let mut actor = Actor::new(base)?;
    actor
        .console_sign_in(person.username, &person.password)
        .await?;
    Ok(actor)
}

/// A client_credentials token with client_secret_basic.
async fn client_token(
    anyone: &Actor,
    id: &str,
    secret: &str,
    scope: &str,
) -> anyhow::Result<String> {
    let token = anyone
        .basic_form_json(
            "/token",
            (id, secret),
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await?;
    token["access_token"]
        .as_str()
        .map(ToOwned::to_owned)
        .ok_or_else(|| anyhow!("no access_token for {scope}"))
}

/// A system of the bank: a staff client with `scope`, and its token.
async fn bank_system(
    admin: &Actor,
    anyone: &Actor,
    description: &str,
    scope: &str,
) -> anyhow::Result<Actor> {
    let client = admin
        .json(
            Method::POST,
            "/admin/clients",
            Some(&json!({"description": description, "scope": scope})),
        )
        .await?;
    let (id, secret) = (
        client["client_id"].as_str().unwrap_or_default(),
        client["client_secret"].as_str().unwrap_or_default(),
    );
    Actor::with_bearer(
        &anyone.url(""),
        client_token(anyone, id, secret, scope).await?,
    )
}

/// The demo's partners.
struct Partners {
    globetrotter: Partner,
    pulsefit: Partner,
}

impl Partners {
    /// Five applications: a travel firm and a fitness app approved (the fitness app is
    /// suspended later), a retailer under review with its evidence recorded, a bookshop that
    /// just applied, a broker rejected after a failed check.
    async fn onboard(anyone: &Actor, ada: &Actor, grace: &Actor) -> anyhow::Result<Self> {
        let recipient = ["data_recipient", "offer_partner"];
        let scope = "consents:write data:read offers:read offers:write";
        // The travel firm also tells the bank about its customers' bookings (moments).
        let globetrotter = apply(
            anyone,
            "Globetrotter Travel Ltd",
            "https://globetrotter.example",
            ("Priya Nair", "priya.nair@globetrotter.example"),
            &["data_recipient", "data_provider", "offer_partner"],
        )
        .await?;
        let pulsefit = apply(
            anyone,
            "PulseFit Ltd",
            "https://pulsefit.example",
            ("Marcus Lee", "marcus.lee@pulsefit.example"),
            &recipient,
        )
        .await?;
        let northwind = apply(
            anyone,
            "Northwind Retail plc",
            "https://northwind.example",
            ("Sofia Brandt", "sofia.brandt@northwind.example"),
            &recipient,
        )
        .await?;
        apply(
            anyone,
            "Harbour Books Ltd",
            "https://harbourbooks.example",
            ("Tom Ashby", "tom.ashby@harbourbooks.example"),
            &["data_recipient"],
        )
        .await?;
        let broker = apply(
            anyone,
            "Quickloan Brokers Ltd",
            "https://quickloan.example",
            ("Rick Vance", "rick.vance@quickloan.example"),
            &["data_recipient"],
        )
        .await?;

        for (id, sanctions) in [
            (&globetrotter, "passed"),
            (&pulsefit, "passed"),
            (&northwind, "passed"),
            (&broker, "failed"),
        ] {
            check(
                ada,
                id,
                "registry_check",
                "passed",
                "Companies House extract",
            )
            .await?;
            check(ada, id, "sanctions_screening", sanctions, "Screening case").await?;
        }
        grace
            .json(
                Method::POST,
                &format!("/admin/partners/{broker}/reject"),
                Some(&json!({"reason": "The sanctions screening matched a director"})),
            )
            .await?;
        let mut approved = Vec::new();
        for (id, scope) in [
            (&globetrotter, format!("{scope} data:publish")),
            (&pulsefit, scope.to_owned()),
        ] {
            let approval = grace
                .json(
                    Method::POST,
                    &format!("/admin/partners/{id}/approve"),
                    Some(&json!({"redirect_uris": [CALLBACK]})),
                )
                .await?;
            approved.push(Partner::register(anyone, id, &approval, &scope).await?);
        }
        let pulsefit = approved
            .pop()
            .ok_or_else(|| anyhow!("PulseFit not registered"))?;
        let globetrotter = approved
            .pop()
            .ok_or_else(|| anyhow!("Globetrotter not registered"))?;
        Ok(Self {
            globetrotter,
            pulsefit,
        })
    }
}

async fn check(
    person: &Actor,
    partner: &str,
    name: &str,
    result: &str,
    evidence: &str,
) -> anyhow::Result<()> {
    let reference = format!("{evidence} {}", &partner[..8]);
    person
        .json(
            Method::POST,
            &format!("/admin/partners/{partner}/verifications"),
            Some(&json!({"check": name, "result": result, "evidence": reference})),
        )
        .await
        .map(|_| ())
}

/// The bank's data about customer `i`: profile, an account, its balance and transactions.
async fn publish_bank_data(
    feed: &Actor,
    customer: &str,
    i: usize,
    now: Timestamp,
) -> anyhow::Result<()> {
    let n = i as u64;
    let age = 21 + (n * 7) % 50;
    let income = 1_800 + (n * 613) % 9_000;
    let globetrotter = i.is_multiple_of(3);
    let risk = ["low", "medium", "high"][i % 3];
    let profile = json!({
        "age": age,
        "monthly_income": income,
        "risk_class": risk,
        "is_globetrotter": globetrotter,
        "trips_per_year": if globetrotter { 4 + n % 8 } else { n % 3 },
        "products_held": if i.is_multiple_of(4) { json!(["current_account", "credit_card"]) } else { json!(["current_account"]) },
        "customer_since": format!("{}-0{}-15", 2008 + n % 15, 1 + n % 9),
    });
    let account = format!("acc-{}", &customer[..8]);
    let day = |days_ago: i64| {
        Timestamp::from_unix_seconds(now.unix_seconds() - days_ago * 86_400).to_rfc3339()
    };
    let balance = format!("{}.{:02}", 200 + (n * 937) % 15_000, n % 100);
    let merchants = [
        ("Globetrotter Travel", "4722", "412.00", "Debit"),
        ("PulseFit", "7997", "29.99", "Debit"),
        ("Northwind Retail", "5311", "86.40", "Debit"),
        ("Salary", "6011", "3150.00", "Credit"),
        ("Corner Café", "5814", "4.60", "Debit"),
    ];
    let transactions: Vec<Value> = merchants
        .iter()
        .enumerate()
        .filter(|(k, _)| (i + k).is_multiple_of(2) || *k == 3)
        .map(|(k, (merchant, mcc, amount, direction))| {
            json!({"id": format!("tx-{k}"), "data": {
                "account_id": account, "amount": amount, "currency": "GBP",
                "credit_debit_indicator": direction, "booking_time": day(3 + k as i64 * 4),
                "status": "booked", "merchant_name": merchant, "merchant_category_code": mcc}})
        })
        .collect();
    for (dataset, records) in [
        (
            "customer_profile",
            json!([{"id": "profile", "data": profile}]),
        ),
        (
            "accounts",
            json!([{"id": account, "data": {"account_id": account, "currency": "GBP",
                "account_type": "personal", "nickname": "Everyday account"}}]),
        ),
        (
            "balances",
            json!([{"id": format!("{account}-booked"), "data": {"account_id": account,
                "amount": balance, "currency": "GBP", "type": "booked", "as_of": day(0)}}]),
        ),
        ("transactions", Value::Array(transactions)),
    ] {
        feed.json(
            Method::POST,
            &format!("/data/{dataset}/records"),
            Some(&json!({"customer_id": customer, "records": records})),
        )
        .await?;
    }
    Ok(())
}

/// Consents in every status: authorised and read (Globetrotter, PulseFit), awaiting the
/// customer, rejected, revoked by the customer on their dashboard, and one that expires two
/// minutes after loading.
async fn consents(
    partners: &Partners,
    customers: &[(&str, String)],
    password: &str,
    now: Timestamp,
) -> anyhow::Result<Vec<String>> {
    let mut travellers = Vec::new();
    let in_days = |days: i64| Timestamp::from_unix_seconds(now.unix_seconds() + days * 86_400);
    let travel = (
        "travel-offers",
        "Tailor travel offers and insurance to your trips",
    );
    let fitness = (
        "fitness-rewards",
        "Reward your active lifestyle with gym discounts",
    );
    let base = partners.globetrotter.base_url();
    for (i, (username, _)) in customers.iter().enumerate().take(16) {
        let customer = Actor::new(&base)?;
        let credentials = (*username, password);
        let g = &partners.globetrotter;
        match i {
            // Waiting for the customer.
            0 | 1 => {
                g.create_consent(&["ReadAccountsBasic"], travel, in_days(90))
                    .await?;
            }
            // The customer said no.
            2 => {
                let id = g
                    .create_consent(&["ReadAccountsBasic", "ReadBalances"], travel, in_days(90))
                    .await?;
                g.ask_customer(&customer, credentials, &id, "data:read", false)
                    .await?;
            }
            // Expires two minutes after loading.
            3 => {
                let expires = Timestamp::from_unix_seconds(SystemClock.now().unix_seconds() + 120);
                let id = g
                    .create_consent(&["ReadAccountsBasic"], travel, expires)
                    .await?;
                authorise_and_read(g, &customer, credentials, &id, &["accounts"]).await?;
            }
            // Authorised, read, then revoked by the customer on their dashboard.
            4 | 5 => {
                let id = g
                    .create_consent(&["ReadAccountsBasic", "ReadBalances"], travel, in_days(180))
                    .await?;
                authorise_and_read(g, &customer, credentials, &id, &["accounts", "balances"])
                    .await?;
                let dashboard = customer.page("/dashboard").await?;
                let csrf = dashboard.input("csrf_token")?;
                customer
                    .form(
                        &format!("/dashboard/consents/{id}/revoke"),
                        &[("csrf_token", &csrf)],
                    )
                    .await?;
            }
            // PulseFit's customers (before its suspension).
            13..=15 => {
                let p = &partners.pulsefit;
                let id = p
                    .create_consent(
                        &["ReadTransactionsBasic", "ReadTransactionsDebits"],
                        fitness,
                        in_days(365),
                    )
                    .await?;
                authorise_and_read(p, &customer, credentials, &id, &["transactions"]).await?;
            }
            // Authorised and in use.
            _ => {
                let id = g
                    .create_consent(
                        &[
                            "ReadAccountsBasic",
                            "ReadBalances",
                            "ReadTransactionsBasic",
                            "ReadTransactionsCredits",
                            "ReadTransactionsDebits",
                            "ReadOffers",
                        ],
                        travel,
                        in_days(365),
                    )
                    .await?;
                let token = authorise_and_read(
                    g,
                    &customer,
                    credentials,
                    &id,
                    &["accounts", "balances", "transactions"],
                )
                .await?;
                // Four of them let the bank use the travel firm's data for personalised
                // offers, on their dashboard; the firm knows them by pairwise ids.
                if (6..=9).contains(&i) {
                    let dashboard = customer.page("/dashboard").await?;
                    let csrf = dashboard.input("csrf_token")?;
                    customer
                        .form(
                            "/dashboard/bank-consents",
                            &[
                                ("csrf_token", &csrf),
                                ("data_provider", &g.partner_id),
                                ("permission", "ReadTravelProfile"),
                                ("days", "365"),
                            ],
                        )
                        .await?;
                    travellers.push(g.pairwise_of(&token).await?);
                }
            }
        }
    }
    Ok(travellers)
}

async fn authorise_and_read(
    partner: &Partner,
    customer: &Actor,
    credentials: (&str, &str),
    consent: &str,
    datasets: &[&str],
) -> anyhow::Result<String> {
    let token = partner
        .ask_customer(customer, credentials, consent, "data:read", true)
        .await?
        .ok_or_else(|| anyhow!("no token after approval"))?;
    for dataset in datasets {
        partner.read(&token, dataset).await?;
    }
    Ok(token)
}

/// The Globetrotter loan (published, co-branded by the travel firm, a second version in
/// draft), a fitness savings account co-branded by PulseFit awaiting approval, and a
/// cashback card of the bank's own, published.
async fn offers(anna: &Actor, ben: &Actor, partners: &Partners) -> anyhow::Result<()> {
    for (name, kind, description) in [
        ("age", "number", "Age in years"),
        ("monthly_income", "number", "Net monthly income (GBP)"),
        (
            "is_globetrotter",
            "boolean",
            "Travels abroad several times a year",
        ),
        (
            "trips_per_year",
            "number",
            "Trips abroad in the last twelve months",
        ),
        (
            "risk_class",
            "string",
            "Credit risk class: low, medium or high",
        ),
        (
            "products_held",
            "string_set",
            "The bank's products the customer holds",
        ),
    ] {
        anna.json(
            Method::PUT,
            &format!("/offers/attributes/{name}"),
            Some(&json!({"type": kind, "description": description,
                "source": {"dataset": "customer_profile", "pointer": format!("/{name}")}})),
        )
        .await?;
    }
    for (name, title, description, condition) in [
        (
            "globetrotter",
            "Globetrotter",
            "Customers who travel abroad several times a year",
            json!({"==": [{"var": "is_globetrotter"}, true]}),
        ),
        (
            "high_earner",
            "High earner",
            "Net monthly income above 5,000",
            json!({">": [{"var": "monthly_income"}, 5000]}),
        ),
        (
            "young_adult",
            "Young adult",
            "Aged 18 to 35",
            json!({"<=": [18, {"var": "age"}, 35]}),
        ),
    ] {
        anna.json(
            Method::PUT,
            &format!("/offers/personas/{name}"),
            Some(&json!({"title": title, "description": description, "condition": condition})),
        )
        .await?;
    }

    // The Globetrotter loan: Anna drafts and submits, Ben approves, the travel firm accepts
    // its co-branding through its API, Anna publishes; then she drafts a second version.
    let loan = anna
        .json(
            Method::POST,
            "/offers/propositions",
            Some(&globetrotter_loan(&partners.globetrotter.partner_id, 5.3)),
        )
        .await?;
    let loan_id = loan["id"].as_str().unwrap_or_default().to_owned();
    let version =
        |id: &str, v: u32, action: &str| format!("/offers/propositions/{id}/versions/{v}/{action}");
    anna.json(Method::POST, &version(&loan_id, 1, "submit"), None)
        .await?;
    ben.json(Method::POST, &version(&loan_id, 1, "approve"), None)
        .await?;
    let travel = Actor::with_bearer(
        &partners.globetrotter.base_url(),
        partners
            .globetrotter
            .token("offers:read offers:write")
            .await?,
    )?;
    travel
        .json(
            Method::PUT,
            &format!("/partner/propositions/{loan_id}/versions/1/acceptance"),
            None,
        )
        .await?;
    anna.json(Method::POST, &version(&loan_id, 1, "publish"), None)
        .await?;
    anna.json(
        Method::POST,
        &format!("/offers/propositions/{loan_id}/versions"),
        Some(&globetrotter_loan(&partners.globetrotter.partner_id, 4.9)),
    )
    .await?;

    // A savings account with PulseFit: submitted, waiting for a second product manager.
    let savings = anna
        .json(
            Method::POST,
            "/offers/propositions",
            Some(&active_saver(&partners.pulsefit.partner_id)),
        )
        .await?;
    let savings_id = savings["id"].as_str().unwrap_or_default().to_owned();
    anna.json(Method::POST, &version(&savings_id, 1, "submit"), None)
        .await?;

    // The bank's own cashback card: Ben drafts, Anna approves, Ben publishes.
    let card = ben
        .json(Method::POST, "/offers/propositions", Some(&cashback_card()))
        .await?;
    let card_id = card["id"].as_str().unwrap_or_default().to_owned();
    ben.json(Method::POST, &version(&card_id, 1, "submit"), None)
        .await?;
    anna.json(Method::POST, &version(&card_id, 1, "approve"), None)
        .await?;
    ben.json(Method::POST, &version(&card_id, 1, "publish"), None)
        .await?;
    Ok(())
}

/// Trip cover, co-branded by the travel firm and offered when a booking triggers it; the rule
/// for bookings over 500; the travel firm's bookings for the customers who let the bank use
/// its data (each triggers the cover once, in the background).
async fn moments(
    anna: &Actor,
    ben: &Actor,
    partners: &Partners,
    travellers: &[String],
) -> anyhow::Result<()> {
    let g = &partners.globetrotter;
    let cover = anna
        .json(
            Method::POST,
            "/offers/propositions",
            Some(&json!({
                "name": "Trip cover",
                "description": "Travel insurance for the trip you just booked, with an airport lounge pass from Globetrotter",
                "product": {"kind": "insurance", "code": "INS-TRIP", "name": "Trip cover",
                            "terms": {"cover_days": "1-90"}},
                "benefits": [{"partner_id": g.partner_id, "kind": "perk",
                              "description": "Airport lounge pass", "value": "1 visit"}],
                "availability": {"channels": ["moment", "bank_app", "web"]},
                "pricing": {"rules": [], "default": {"rate_percent": 0, "commission_percent": 12, "fees": 19}},
                "priority": 8,
                "business_value": 60
            })),
        )
        .await?;
    let id = cover["id"].as_str().unwrap_or_default().to_owned();
    let version = |action: &str| format!("/offers/propositions/{id}/versions/1/{action}");
    anna.json(Method::POST, &version("submit"), None).await?;
    ben.json(Method::POST, &version("approve"), None).await?;
    let travel = Actor::with_bearer(&g.base_url(), g.token("offers:read offers:write").await?)?;
    travel
        .json(
            Method::PUT,
            &format!("/partner/propositions/{id}/versions/1/acceptance"),
            None,
        )
        .await?;
    anna.json(Method::POST, &version("publish"), None).await?;
    ben.json(
        Method::PUT,
        "/offers/trigger-rules/trip_cover_on_booking",
        Some(&json!({
            "reason": "You booked a trip abroad with Globetrotter",
            "moment_type": "travel_booked",
            "condition": {">": [{"var": "moment.amount"}, 500]},
            "propositions": [id],
            "validity_days": 14,
            "priority": 10,
            "active": true
        })),
    )
    .await?;
    let feed = Actor::with_bearer(&g.base_url(), g.token("data:publish").await?)?;
    for (i, pairwise) in travellers.iter().enumerate() {
        let destination = ["Lisbon", "Tokyo", "Reykjavik", "Cape Town"][i % 4];
        feed.json(
            Method::POST,
            "/moments",
            Some(&json!({
                "moment_id": format!("GT-BOOKING-{}", 48_210 + i),
                "moment_type": "travel_booked",
                "customer_id": pairwise,
                "payload": {"destination": destination,
                            "departure_date": "2027-03-14", "amount": 800 + 400 * i as u64,
                            "currency": "GBP", "travellers": 2}
            })),
        )
        .await?;
    }
    Ok(())
}

fn globetrotter_loan(partner_id: &str, best_rate: f64) -> Value {
    json!({
        "name": "Globetrotter personal loan",
        "description": "A personal loan for customers who travel, with a year of family travel insurance from Globetrotter Travel",
        "product": {"kind": "loan", "code": "PL-GLOBE", "name": "Globetrotter loan",
                    "terms": {"term_months": "12-60"}},
        "benefits": [{"partner_id": partner_id, "kind": "insurance",
                      "description": "Travel insurance for the whole family", "value": "12 months free"}],
        "availability": {"audience": {"all_of": ["globetrotter"]},
                         "channels": ["bank_app", "web", "partner_channel"]},
        "parameters": {"type": "object", "required": ["amount"],
                       "properties": {"amount": {"type": "number", "minimum": 1000, "maximum": 50000}}},
        "pricing": {
            "rules": [
                {"name": "globetrotter high income large loan",
                 "condition": {"and": [{"var": "personas.globetrotter"},
                                       {">": [{"var": "monthly_income"}, 5000]},
                                       {">": [{"var": "params.amount"}, 10000]}]},
                 "rate_percent": best_rate, "commission_percent": 0},
                {"name": "globetrotter modest income mid-size loan",
                 "condition": {"and": [{"var": "personas.globetrotter"},
                                       {"<": [{"var": "monthly_income"}, 5000]},
                                       {"<=": [5000, {"var": "params.amount"}, 10000]}]},
                 "rate_percent": 4.5, "commission_percent": 1}
            ],
            "default": {"rate_percent": 7.9, "commission_percent": 1}
        },
        "add_ons": [{"name": "life insurance", "kind": "insurance",
                     "description": "Life cover for the outstanding balance",
                     "condition": {"and": [{"var": "personas.globetrotter"},
                                           {">": [{"var": "params.amount"}, 10000]}]}}],
        "priority": 80,
        "business_value": 40
    })
}

fn active_saver(partner_id: &str) -> Value {
    json!({
        "name": "Active saver account",
        "description": "A savings account that pays a bonus rate, with a PulseFit membership discount",
        "product": {"kind": "savings", "code": "SV-ACTIVE", "name": "Active saver"},
        "benefits": [{"partner_id": partner_id, "kind": "discount",
                      "description": "PulseFit gym membership", "value": "25% off for a year"}],
        "availability": {"audience": {"any_of": ["young_adult"]},
                         "channels": ["bank_app", "web"]},
        "pricing": {"rules": [
            {"name": "young adult bonus", "condition": {"var": "personas.young_adult"}, "rate_percent": 4.1}],
            "default": {"rate_percent": 3.2}},
        "priority": 50,
        "business_value": 20
    })
}

fn cashback_card() -> Value {
    json!({
        "name": "Everyday cashback card",
        "description": "A credit card with cashback on everyday spending",
        "product": {"kind": "card", "code": "CC-CASH", "name": "Cashback card"},
        "availability": {"audience": {"any_of": ["young_adult", "high_earner"]},
                         "channels": ["bank_app", "web", "branch"]},
        "pricing": {"rules": [
            {"name": "high earner rate", "condition": {"var": "personas.high_earner"}, "rate_percent": 18.9}],
            "default": {"rate_percent": 22.9}},
        "priority": 40,
        "business_value": 25
    })
}

/// The bank's app asks for offers for every customer; customers view, accept or decline
/// some of them.
async fn decide_and_respond(app: &Actor, customers: &[(&str, String)]) -> anyhow::Result<()> {
    for (i, (_, customer)) in customers.iter().enumerate() {
        let decision = app
            .json(
                Method::POST,
                "/offers/decisions",
                Some(&json!({"customer_id": customer, "channel": "bank_app",
                    "placement": "home_banner", "params": {"amount": 12000}, "max_offers": 2})),
            )
            .await?;
        let Some(offer) = decision["offers"].as_array().and_then(|o| o.first()) else {
            continue;
        };
        let offer_id = offer["offer_id"].as_str().unwrap_or_default();
        let responses: &[&str] = match i % 5 {
            0 => &["viewed", "accepted"],
            1 => &["viewed", "declined"],
            2 => &["viewed"],
            _ => &[],
        };
        for response in responses {
            app.json(
                Method::POST,
                "/offers/responses",
                Some(&json!({"customer_id": customer, "offer_id": offer_id, "response": response})),
            )
            .await?;
        }
    }
    Ok(())
}
