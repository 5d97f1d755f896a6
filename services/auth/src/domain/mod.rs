//! The authorization server's pure domain: the OAuth [`Client`] aggregate (stream
//! `client-<client_id>`) and the exact partner standing folded from a partner stream's public
//! event type names ([`PartnerStanding`]), the built-in customer directory, sign-in
//! throttling, and the staff directory ([`Staff`], stream `staff-<uuid>`; roles and their
//! scopes in [`ROLE_SCOPES`]).
//!
//! Pure: no IO, no clock (time arrives as `now`), no randomness and no hashing. The
//! application layer generates the client id, the secret and the registration access token,
//! hashes them, and passes only the hashes in.

pub mod authorization;
mod client;
mod customer;
mod event;
pub mod login;
mod partner;
pub mod staff;

pub use client::{
    AuthMethod, BANK_CLIENT_SCOPES, Client, ClientCommand, ClientError, ClientKind, ClientMetadata,
    DeleteClient, GrantType, RegisterClient, RegisteredClient, STAFF_SCOPES, UpdateClient,
};
pub use customer::{
    Customer, CustomerCommand, CustomerError, CustomerEvent, RegisterCustomer, RegisteredCustomer,
    normalise_username,
};
pub use event::ClientEvent;
pub use login::{
    LOCK_MEMORY, LoginAttemptCommand, LoginAttemptEvent, LoginAttempts, LoginFailure, LoginPolicy,
    LoginRefusal,
};
pub use partner::{PARTNER_STATUS_EVENTS, PartnerStanding};
pub use staff::{
    AddStaff, ROLE_SCOPES, SealedTotpSecret, Staff, StaffCommand, StaffError, StaffEvent, StaffId,
    StaffMember, StaffRole, TotpFactor, TotpSecret, scopes_of,
};

ecohub_kernel::define_id!(
    /// Identifies an OAuth client (and its stream `client-<uuid>`).
    ClientId,
    "client"
);

ecohub_kernel::define_id!(
    /// Identifies a customer of the built-in directory (and its stream `customer-<uuid>`).
    CustomerId,
    "customer"
);
