//! `phr-server`: the maternal & child PHR sync service.
//!
//! One binary (`phr-server`) with a `serve` command and admin subcommands. It
//! links `phr-core` (dataset, consent, crypto, merge rules) and `phr-fhir`, and
//! stores through diesel on SQLite (the embedded default) or PostgreSQL, chosen
//! by the database URL.
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | the one `Config` struct (flags + env vars via clap), printed at start without secrets |
//! | [`db`] | the connection enum over both backends, the pool, embedded migrations, queries |
//! | [`files`] | modes of what the server writes (umask 0077, data dir 0700, files 0600) and the start-up check of older, wider ones |
//! | [`keys`] | the server key directory (view key for HPKE, token signing key), created on first run, mode 0600 |
//! | [`http`] | the actix-web app: routes, request ids, JSON limits, health and version |
//! | [`error`] | `ApiError`, the one place errors become HTTP responses (RFC 9457 problem JSON) |
//! | [`consent`] | `/consent/v1`: the view key, consent grants with their wrapped keys, revocation |
//! | [`organizations`] | the grantee registry (`phr-server org …`) and its listing for devices |
//! | [`fhir`] | `/fhir/r4`: the consent-enforced FHIR R4 API for organizations (read, search, `$everything`, writes) |
//! | [`smart`] | SMART Backend Services for organizations: `/.well-known/smart-configuration`, `POST /auth/token`, the [`smart::AuthenticatedOrganization`] extractor |
//!
//! Later issues add `sync/`, `consent/`, `audit/`, `fhir/` and `research/` beside these.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod consent;
pub mod db;
pub mod error;
pub mod fhir;
pub mod files;
pub mod http;
pub mod keys;
pub mod organizations;
pub mod research;
pub mod smart;
pub mod sync;
pub mod test_support;

pub use error::{ApiError, ServerError};
