//! `phr-server`: the maternal & child PHR sync service.
//!
//! One binary (`phr-server`) with a `serve` command and admin subcommands. It
//! links `phr-core` (dataset, consent, crypto, merge rules) and `phr-fhir`, and
//! stores through diesel on SQLite (the embedded default) or PostgreSQL, chosen
//! by the database URL.
//!
//! | module | owns |
//! |---|---|
//! | [`cli`] | the binary's entry point: `serve`, `migrate`, `org …`, `audit …` |
//! | [`config`] | the one `Config` struct (flags + env vars via clap), printed at start without secrets |
//! | [`db`] | the connection enum over both backends, the pool, embedded migrations, queries |
//! | [`files`] | modes of what the server writes (umask 0077, data dir 0700, files 0600) and the start-up check of older, wider ones |
//! | [`keys`] | the server key directory (view key for HPKE, token signing key), created on first run, mode 0600 |
//! | [`http`] | the actix-web app: `App`, routes, request ids, JSON limits, health and version |
//! | [`error`] | `AppError`, the one place errors become HTTP responses (RFC 9457 problem JSON) |
//! | [`auth`] | device sessions: challenge, access and refresh tokens, the [`auth::AuthenticatedDevice`] extractor |
//! | [`accounts`] | `/accounts/v1`: account creation, pairing, devices, key backup, recovery, erasure |
//! | [`sync`] | `/sync/v1`: push and pull of sealed records, the per-account change sequence |
//! | [`consent`] | `/consent/v1`: the view key, consent grants with their wrapped keys, revocation; [`consent::access`] opens records through grants |
//! | [`organizations`] | the grantee registry (`phr-server org …`) and its listing for devices |
//! | [`smart`] | SMART Backend Services for organizations: `/.well-known/smart-configuration`, `POST /auth/token`, the [`smart::AuthenticatedOrganization`] extractor |
//! | [`fhir`] | `/fhir/r4`: the consent-enforced FHIR R4 API for organizations (read, search, `$everything`, writes) |
//! | [`research`] | `/research/v1`: consented, de-identified bulk exports |
//! | [`audit`] | the append-only, hash-chained audit log and `/audit/v1/events` |
//! | [`test_support`] | test databases on both backends |
//!
//! The modules are split by feature: each holds its handlers, its logic and
//! its queries (`store.rs`). `docs/architecture.md` follows a push, a FHIR
//! read and an export through them and says where each product rule lives.

pub mod app;
pub mod cli;
pub mod config;
pub mod files;
pub mod http;
pub mod keys;
pub mod store;

pub use app::error::{AppError, ServerError};
