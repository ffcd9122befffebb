//! `phr-server`: the maternal & child PHR sync service.
//!
//! One binary (`phr-server`) with a `serve` command and admin subcommands. It
//! links `phr-core` (dataset, consent, crypto, merge rules) and `phr-fhir`, and
//! stores through diesel on SQLite (the embedded default) or PostgreSQL, chosen
//! by the database URL.
//!
//! Three layers, dependencies one way: [`http`] → [`app`] → [`store`]
//! (`docs/architecture.md` draws them and follows a push, a FHIR read and an
//! export through them).
//!
//! | module | owns |
//! |---|---|
//! | [`cli`] | the binary's entry point and wiring: builds the [`app::App`], starts the background threads, serves [`http::configure`]; `migrate`, `org …`, `audit …` |
//! | [`config`] | the one `Config` struct (flags + env vars via clap), printed at start without secrets |
//! | [`http`] | actix-web: routes, extractors, handlers, request ids, body limits and deadlines, the one mapping of errors to HTTP answers; nothing but [`cli`] imports it |
//! | [`app`] | the use cases without HTTP: accounts, sync, consent (with the one consent decision), FHIR, research, audit; the one record-append rule ([`app::records`]) |
//! | [`store`] | diesel on SQLite or PostgreSQL: the only module that names the schema or branches on the backend; test databases behind the `testing` feature |
//! | [`keys`] | the server key directory (view keys for HPKE, token signing keys), created on first run, mode 0600 |
//! | [`files`] | modes of what the server writes (umask 0077, data dir 0700, files 0600) and the start-up check of older, wider ones |

pub mod app;
pub mod cli;

/// mimalloc for every binary that links the server (`phr-server`, and the benches and test
/// servers, so they measure what ships): under `bench-fhir`'s 32 clients, glibc's malloc and
/// free were about a tenth of the server's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod config;
pub mod files;
pub mod http;
pub mod keys;
pub mod store;

pub use app::error::{AppError, ServerError};
