//! Background refresh: shells never wait for a login.
//!
//! Once the profile's `refresh_at` share of a token's lifetime (75 % by default) has passed, the refresher asks for a token that
//! outlives it. Keystone keeps an unscoped token's expiry on the tokens scoped from it (see
//! `ProfileState::session` for the releases that do), so when the session cannot give more, that is a new login (refresh grant, else password) and
//! the session is renewed ahead of the project tokens derived from it. Tokens nobody asked
//! for within [`IDLE_LIMIT`] are dropped instead. Failures back off per profile (see
//! `health`); a profile that needs `login` is left alone.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::clock::BootInstant;

use super::Broker;
use super::min_valid::MinValid;
use super::profile::ProfileState;

/// Tokens not asked for in this long are forgotten, not refreshed.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60 * 60);
/// Re-plan at least this often: the sleep runs on the monotonic clock, which stops during
/// suspend, while lifetimes are measured on the boot-time clock.
const LONGEST_SLEEP: Duration = Duration::from_secs(30);

impl Broker {
    /// Keep cached tokens fresh, forever. Spawn it once next to the server.
    pub async fn keep_fresh(self: Arc<Self>) {
        loop {
            let next = self.refresh_round().await;
            let wait = next.map_or(LONGEST_SLEEP, |next| {
                next.since(BootInstant::now()).min(LONGEST_SLEEP)
            });
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.stored.notified() => {}
            }
        }
    }

    /// Refresh what is due in every profile, concurrently; returns when to look again.
    async fn refresh_round(&self) -> Option<BootInstant> {
        let states = self.current_states().await;
        let mut rounds = JoinSet::new();
        for state in states {
            rounds.spawn(async move { state.refresh_due().await });
        }
        let mut next: Option<BootInstant> = None;
        while let Some(done) = rounds.join_next().await {
            if let Ok(Some(at)) = done {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        next
    }
}

impl Broker {
    /// The state of each profile in the config as it is now: a profile removed from the file
    /// is forgotten (its tokens expire unrefreshed), an edited one rebuilt.
    async fn current_states(&self) -> Vec<Arc<ProfileState>> {
        let config = self.config.current();
        let names: Vec<String> = {
            let mut states = self.lock_profiles();
            states.retain(|name, _| config.profiles.contains_key(name));
            states.keys().cloned().collect()
        };
        let mut current = Vec::with_capacity(names.len());
        for name in names {
            match self.state_for(&name, &config).await {
                Ok(state) => current.push(state),
                Err(err) => tracing::debug!(profile = name, error = %err, "not refreshed"),
            }
        }
        current
    }
}

impl ProfileState {
    /// Refresh this profile's due tokens; returns when the next one is due.
    async fn refresh_due(&self) -> Option<BootInstant> {
        let now = BootInstant::now();
        if self.needs_login() {
            return None;
        }
        if let Some(next) = self.lock_health().next_attempt().filter(|next| *next > now) {
            return Some(next);
        }
        let plan = self
            .tokens
            .plan(now, self.config.refresh_fraction(), IDLE_LIMIT);
        for (project, left) in plan.due {
            // Ask for more than the current token has: only a fresher token satisfies that.
            let wanted = MinValid::Explicit(left + Duration::from_secs(1));
            match self.scoped_token(&project, wanted).await {
                Ok(_) => tracing::debug!(profile = %self.name, ?project, "refreshed"),
                Err(err) => {
                    tracing::warn!(profile = %self.name, ?project, error = %err, "background refresh failed");
                    return self.lock_health().next_attempt();
                }
            }
        }
        plan.next
    }
}
