//! The test harness of opcp-cred: a cloud simulator and isolated environments that run the
//! real binaries.
//!
//! - [`sim`] plays Keycloak and Keystone on loopback, wire-faithful, with request counters and
//!   fault injection.
//! - [`env`]: [`env::TestEnv`] gives each test its own HOME, XDG directories, socket and
//!   keyring, and builds scrubbed [`std::process::Command`]s for the binaries (no `OS_*` or
//!   `OPCP_CRED_*` variable leaks in from the caller).
//! - [`keyring`] starts a private keyring per test: a D-Bus session with an unlocked
//!   gnome-keyring (Secret Service), or a named kernel session keyring (keyutils).
//! - [`daemon`]: [`daemon::DaemonGuard`] runs `opcp-credd` and stops it on drop.
//! - [`pty`] runs a program on a pseudo-terminal, for prompts typed at by a test.
//! - [`real_keystone`]: [`real_keystone::RealCloud`] runs the real Keystone (installed by
//!   tests/keystone/setup.sh) federated to the simulator's Keycloak, to check the product,
//!   and the simulator, against what Keystone really does.
//! - [`proxy`]: [`proxy::TestProxy`], a real HTTP proxy (CONNECT and forward) that records
//!   what went through it.
//! - [`bins`] finds the workspace's binaries next to the test executable.

pub mod bins;
pub mod daemon;
pub mod env;
pub mod keyring;
pub mod proxy;
pub mod pty;
pub mod real_keystone;
pub mod sim;
