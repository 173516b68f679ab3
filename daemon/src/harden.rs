//! Process hardening: no core dumps, no ptrace by other processes of the same user.
//!
//! `PR_SET_DUMPABLE` 0 makes the kernel refuse core dumps and `ptrace` attachment by
//! unprivileged processes, and makes `/proc/<pid>/mem` and `environ` root-only; a zero core
//! limit covers the case where dumpable is turned back on by an exec.

use rustix::process::{DumpableBehavior, Resource, Rlimit};

/// Call first thing in `main`, before any secret exists in memory.
pub fn harden_process() {
    if let Err(err) = rustix::process::set_dumpable_behavior(DumpableBehavior::NotDumpable) {
        tracing::warn!(error = %err, "could not disable core dumps (PR_SET_DUMPABLE)");
    }
    let zero = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    if let Err(err) = rustix::process::setrlimit(Resource::Core, zero) {
        tracing::warn!(error = %err, "could not set the core size limit to 0");
    }
}

/// Whether the process is currently undumpable (for tests and `status`).
pub fn is_undumpable() -> bool {
    matches!(
        rustix::process::dumpable_behavior(),
        Ok(DumpableBehavior::NotDumpable)
    )
}
