//! The project-token cache of one profile, and which of its tokens are due for refresh.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;

use opcp_cred_proto::Secret;
use opcp_cred_proto::messages::{CachedToken, ProjectSelector, Timestamp};

use crate::clock::{BootInstant, Lifetime};

use super::min_valid::MinValid;

/// A project-scoped token.
#[derive(Debug, Clone)]
pub struct Scoped {
    pub token: Secret,
    pub lifetime: Lifetime,
    pub fetched_at: Timestamp,
    pub project_id: String,
    pub project_name: Option<String>,
}

#[derive(Debug)]
struct Entry {
    scoped: Scoped,
    /// When a request last asked for it: tokens nobody asks for are not refreshed forever.
    last_used: BootInstant,
    /// The API's answer for this token, rendered once: a cache hit then copies no string and
    /// serialises nothing.
    answer: Option<Answer>,
}

#[derive(Debug)]
struct Answer {
    /// The whole second of the local expiry it shows; a wall clock that was set since makes
    /// it render again.
    expires_at_secs: u64,
    body: Bytes,
}

/// What the refresher should do now.
#[derive(Debug, Default)]
pub struct Plan {
    /// Projects past their refresh point, with the time their token has left.
    pub due: Vec<(ProjectSelector, Duration)>,
    /// The earliest refresh point still ahead.
    pub next: Option<BootInstant>,
}

#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<ProjectSelector, Entry>,
    /// Set by [`TokenCache::close`]: the profile was logged out or replaced, and a token that
    /// an in-flight request brings back must be revoked, not kept.
    closed: bool,
}

impl TokenCache {
    /// The token for `project` if it has what `min_valid` requires left; marks it used.
    pub fn get(
        &self,
        project: &ProjectSelector,
        min_valid: MinValid,
        now: BootInstant,
    ) -> Option<Scoped> {
        let mut entries = self.lock();
        let entry = usable(&mut entries.map, project, min_valid, now)?;
        Some(entry.scoped.clone())
    }

    /// [`Self::get`] as the API's answer: `render(token, local expiry)` runs when the entry
    /// has no answer yet for that expiry.
    pub fn get_answer(
        &self,
        project: &ProjectSelector,
        min_valid: MinValid,
        now: BootInstant,
        render: impl FnOnce(&Scoped, SystemTime) -> Bytes,
    ) -> Option<Bytes> {
        let mut entries = self.lock();
        let entry = usable(&mut entries.map, project, min_valid, now)?;
        let expires_at = entry.scoped.lifetime.local_expiry();
        let secs = expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match &entry.answer {
            Some(answer) if answer.expires_at_secs == secs => Some(answer.body.clone()),
            _ => {
                let body = render(&entry.scoped, expires_at);
                entry.answer = Some(Answer {
                    expires_at_secs: secs,
                    body: body.clone(),
                });
                Some(body)
            }
        }
    }

    /// Store a token; a refresh keeps the entry's last use. A closed cache refuses it and
    /// gives it back, to be revoked.
    pub fn insert(&self, project: ProjectSelector, scoped: Scoped) -> Result<(), Scoped> {
        let received = scoped.lifetime.received;
        let mut entries = self.lock();
        if entries.closed {
            return Err(scoped);
        }
        let last_used = entries.map.get(&project).map_or(received, |e| e.last_used);
        let entry = Entry {
            scoped,
            last_used,
            answer: None,
        };
        entries.map.insert(project, entry);
        Ok(())
    }

    /// Drop one project's token.
    pub fn remove(&self, project: &ProjectSelector) {
        self.lock().map.remove(project);
    }

    /// Empty the cache for good, returning the tokens (to revoke them).
    pub fn close(&self) -> Vec<Secret> {
        let mut entries = self.lock();
        entries.closed = true;
        entries.map.drain().map(|(_, e)| e.scoped.token).collect()
    }

    /// Move every token of `other` here (a profile state rebuilt after a config edit that
    /// kept its login), dropping their rendered answers: what they show may have changed.
    pub fn adopt(&self, other: &Self) {
        let taken = std::mem::take(&mut other.lock().map);
        let mut entries = self.lock();
        for (project, mut entry) in taken {
            entry.answer = None;
            entries.map.insert(project, entry);
        }
    }

    /// Forget tokens unused for longer than `idle`, and say which are past `refresh_at` (a
    /// fraction of their lifetime) and when the next one will be.
    pub fn plan(&self, now: BootInstant, refresh_at: f64, idle: Duration) -> Plan {
        let mut entries = self.lock();
        entries.map.retain(|_, e| now.since(e.last_used) <= idle);
        let mut plan = Plan::default();
        for (project, entry) in &entries.map {
            let point = entry.scoped.lifetime.point(refresh_at);
            if now >= point {
                plan.due
                    .push((project.clone(), entry.scoped.lifetime.remaining(now)));
            } else {
                plan.next = Some(plan.next.map_or(point, |n| n.min(point)));
            }
        }
        plan
    }

    pub fn status(&self) -> Vec<CachedToken> {
        let mut tokens: Vec<CachedToken> = self
            .lock()
            .map
            .values()
            .map(|e| CachedToken {
                project_id: e.scoped.project_id.clone(),
                project_name: e.scoped.project_name.clone(),
                expires_at: Timestamp(e.scoped.lifetime.local_expiry()),
                fetched_at: e.scoped.fetched_at,
            })
            .collect();
        tokens.sort_by(|a, b| a.project_id.cmp(&b.project_id));
        tokens
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().expect("token cache lock poisoned")
    }
}

/// The entry for `project` if its token has what `min_valid` requires left; marks it used.
fn usable<'a>(
    entries: &'a mut HashMap<ProjectSelector, Entry>,
    project: &ProjectSelector,
    min_valid: MinValid,
    now: BootInstant,
) -> Option<&'a mut Entry> {
    let entry = entries.get_mut(project)?;
    let lifetime = entry.scoped.lifetime;
    if lifetime.remaining(now) < min_valid.required(lifetime.length) {
        return None;
    }
    entry.last_used = now;
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoped(received: BootInstant, secs: u64) -> Scoped {
        Scoped {
            token: Secret::new("fake"),
            lifetime: Lifetime {
                received,
                length: Duration::from_secs(secs),
            },
            fetched_at: Timestamp::now(),
            project_id: "p".into(),
            project_name: None,
        }
    }

    fn project(id: &str) -> ProjectSelector {
        ProjectSelector::Id { id: id.into() }
    }

    #[test]
    fn hits_need_min_valid_and_plans_follow_use_and_lifetime() {
        let t0 = BootInstant::zero() + Duration::from_secs(1000);
        let cache = TokenCache::default();
        cache.insert(project("a"), scoped(t0, 100)).unwrap();
        cache.insert(project("b"), scoped(t0, 1000)).unwrap();
        let at = |s| t0 + Duration::from_secs(s);
        assert!(
            cache
                .get(
                    &project("a"),
                    MinValid::Explicit(Duration::from_secs(50)),
                    at(40)
                )
                .is_some()
        );
        assert!(
            cache
                .get(
                    &project("a"),
                    MinValid::Explicit(Duration::from_secs(50)),
                    at(60)
                )
                .is_none()
        );

        // At 80 s, `a` (used at 40 s) is past 75 % of 100 s; `b` is due at 750 s.
        let plan = cache.plan(at(80), 0.75, Duration::from_secs(3600));
        assert_eq!(plan.due, vec![(project("a"), Duration::from_secs(20))]);
        assert_eq!(plan.next, Some(at(750)));

        // `b` was never asked for again: idle past the limit, it is dropped, not refreshed.
        let plan = cache.plan(at(900), 0.75, Duration::from_secs(800));
        assert!(plan.due.is_empty() && plan.next.is_none(), "{plan:?}");
        assert!(cache.status().is_empty());
    }

    #[test]
    fn a_closed_cache_gives_back_what_arrives_late() {
        let t0 = BootInstant::zero() + Duration::from_secs(1000);
        let cache = TokenCache::default();
        cache.insert(project("a"), scoped(t0, 100)).unwrap();
        assert_eq!(cache.close().len(), 1);
        let late = cache.insert(project("b"), scoped(t0, 100));
        assert!(late.is_err(), "a closed cache must refuse a token");
        assert!(cache.status().is_empty());
    }

    #[test]
    fn adopted_tokens_keep_their_use_and_lose_their_rendering() {
        let t0 = BootInstant::zero() + Duration::from_secs(1000);
        let old = TokenCache::default();
        old.insert(project("a"), scoped(t0, 100)).unwrap();
        let rendered = |_: &Scoped, _| Bytes::from_static(b"old");
        let wanted = MinValid::Explicit(Duration::from_secs(10));
        assert!(
            old.get_answer(&project("a"), wanted, t0, rendered)
                .is_some()
        );
        let new = TokenCache::default();
        new.adopt(&old);
        assert!(old.status().is_empty());
        let again = new.get_answer(&project("a"), wanted, t0, |_, _| Bytes::from_static(b"new"));
        assert_eq!(again.as_deref(), Some(&b"new"[..]));
    }
}
