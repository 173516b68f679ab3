//! `opcp-credd`: the per-user daemon that holds OpenStack credentials and serves tokens.
//!
//! A request travels **api → broker → {oidc, keystone}**, with secrets from **store** and
//! settings from **config**:
//!
//! - [`socket`] binds the Unix socket (or takes it from systemd), checks every peer's uid and
//!   runs HTTP/1.1 on each connection with limits and timeouts.
//! - [`api`] is the axum router: `/v1/status`, `/v1/token`, `/v1/profiles…`. Handlers are thin;
//!   they call the broker and turn errors into the one wire shape ([`error`]).
//! - [`broker`] owns the in-memory token cache keyed by (profile, project): it serves hits,
//!   runs one upstream flow per key at a time (single flight), and keeps the unscoped token to
//!   scope further projects without a Keycloak trip.
//! - [`oidc`] talks to Keycloak: discovery, password and refresh grants, error bodies.
//! - [`keystone`] talks to Keystone: federation auth, project scope, project list, revocation.
//!   Every Keystone URL comes from [`auth_url`].
//! - [`http`] builds the outbound HTTPS client of a profile (system roots + `cacert`, proxy,
//!   timeouts).
//! - [`doctor`] records the checks of `opcp-cred doctor` (`POST /v1/doctor`), which the broker
//!   runs on a profile's live state with the same oidc, keystone and store code: config,
//!   keyring, secrets, discovery, TLS, Keycloak, federation, project, clock.
//! - [`clock`] measures token lifetimes on the boot-time clock, immune to suspend and skew.
//! - [`store`] keeps passwords and client secrets in the OS keyring (Secret Service or the
//!   kernel keyutils store) behind the [`store::SecretStore`] trait.
//! - [`config`] reads `config.toml` (reloaded when it changes on disk) and is its only writer.
//! - [`startup`] makes one daemon per socket and lets a late starter wait for the first.
//! - [`systemd`] does readiness notification and socket activation; [`harden`] makes the
//!   process undumpable; [`log_file`] is the log of a daemon the client started.

pub mod api;
pub mod auth_url;
pub mod broker;
pub mod clock;
pub mod config;
pub mod doctor;
pub mod error;
pub mod harden;
pub mod http;
pub mod keystone;
pub mod log_file;
pub mod oidc;
pub mod small_file;
pub mod socket;
pub mod startup;
pub mod store;
pub mod systemd;
