//! Sessions in this process's memory, in two bounded pools: one for
//! browsers that have not given a password, one for sessions after an
//! accepted password. A flood of cookie-less requests fills the first
//! pool only, whose oldest entries go first; it never pushes a signed-in
//! user out.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

use super::{Session, SessionCounts, SessionPolicy, Token};

#[derive(Debug, Default)]
pub(super) struct MemorySessions {
    pools: Mutex<Pools>,
}

#[derive(Debug, Default)]
struct Pools {
    pre_login: PreLoginPool,
    signed_in: HashMap<Token, Session>,
}

/// The pre-login pool: first in, first out. `order` holds identifiers in
/// the order they were created; entries whose session has gone already
/// are skipped, and the queue is rebuilt when they pile up, so a
/// request costs a constant amount of work however full the pool is.
#[derive(Debug, Default)]
struct PreLoginPool {
    sessions: HashMap<Token, Session>,
    order: VecDeque<Token>,
}

impl PreLoginPool {
    fn insert(&mut self, id: Token, session: Session, capacity: usize) {
        while self.sessions.len() >= capacity.max(1) {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.sessions.remove(&oldest);
        }
        self.order.push_back(id.clone());
        self.sessions.insert(id, session);
        if self.order.len() > self.sessions.len().saturating_mul(2).max(64) {
            let sessions = &self.sessions;
            self.order.retain(|id| sessions.contains_key(id));
        }
    }
}

impl Pools {
    fn remove(&mut self, id: &Token) -> Option<Session> {
        self.pre_login
            .sessions
            .remove(id)
            .or_else(|| self.signed_in.remove(id))
    }

    fn get_mut(&mut self, id: &Token) -> Option<&mut Session> {
        match self.pre_login.sessions.get_mut(id) {
            Some(session) => Some(session),
            None => self.signed_in.get_mut(id),
        }
    }
}

impl MemorySessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pools> {
        // The maps stay consistent even if a holder panicked.
        self.pools.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn load(
        &self,
        id: &Token,
        policy: &SessionPolicy,
        now: DateTime<Utc>,
    ) -> Option<Session> {
        let mut pools = self.lock();
        let session = pools.get_mut(id)?;
        if !session.alive(policy, now) {
            pools.remove(id);
            return None;
        }
        session.touched_at = now;
        Some(session.clone())
    }

    pub(super) fn save(&self, id: &Token, session: &Session, policy: &SessionPolicy) {
        let mut pools = self.lock();
        let Some(stored) = pools.get_mut(id) else {
            return;
        };
        if stored.stage.signed_in() == session.stage.signed_in() {
            *stored = session.clone();
            return;
        }
        // The stage moved between pools without a rotation.
        pools.remove(id);
        drop(pools);
        self.insert(id.clone(), session.clone(), policy, session.touched_at);
    }

    pub(super) fn remove(&self, id: &Token) {
        self.lock().remove(id);
    }

    pub(super) fn insert(
        &self,
        id: Token,
        session: Session,
        policy: &SessionPolicy,
        now: DateTime<Utc>,
    ) {
        let mut pools = self.lock();
        if !session.stage.signed_in() {
            pools
                .pre_login
                .insert(id, session, policy.pre_login_capacity);
            return;
        }
        let signed_in = &mut pools.signed_in;
        if signed_in.len() >= policy.signed_in_capacity {
            // Expired sessions go first; if none has expired, the least
            // recently used one.
            signed_in.retain(|_, s| s.alive(policy, now));
            if signed_in.len() >= policy.signed_in_capacity
                && let Some(oldest) = signed_in
                    .iter()
                    .min_by_key(|(_, s)| s.touched_at)
                    .map(|(k, _)| k.clone())
            {
                signed_in.remove(&oldest);
            }
        }
        signed_in.insert(id, session);
    }

    pub(super) fn counts(&self) -> SessionCounts {
        let pools = self.lock();
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        SessionCounts {
            pre_login: count(pools.pre_login.sessions.len()),
            signed_in: count(pools.signed_in.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::session::{LoggedIn, Stage};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn small() -> SessionPolicy {
        SessionPolicy {
            idle: TimeDelta::minutes(30),
            absolute: TimeDelta::hours(12),
            signed_in_capacity: 3,
            pre_login_capacity: 5,
        }
    }

    fn session(stage: Stage) -> Session {
        let mut session = Session::new(at(0)).unwrap();
        session.stage = stage;
        session
    }

    fn logged_in() -> Stage {
        Stage::LoggedIn(LoggedIn {
            account: &crate::accounts::DEMO_ACCOUNTS[0],
            recovery_codes: None,
            phone_change_pending: false,
            not_mobile: None,
            sign_in_again: false,
            adding: None,
            adding_passkey: None,
        })
    }

    #[test]
    fn a_flood_of_pre_login_sessions_never_evicts_a_signed_in_one() {
        let policy = small();
        let sessions = MemorySessions::default();
        let user = Token::generate().unwrap();
        sessions.insert(user.clone(), session(logged_in()), &policy, at(0));
        let first = Token::generate().unwrap();
        sessions.insert(first.clone(), session(Stage::Anonymous), &policy, at(0));
        for _ in 0..1_000 {
            let id = Token::generate().unwrap();
            sessions.insert(id, session(Stage::Anonymous), &policy, at(1));
        }
        let counts = sessions.counts();
        assert_eq!(counts.pre_login, 5, "bounded");
        assert_eq!(counts.signed_in, 1);
        assert!(sessions.load(&user, &policy, at(2)).is_some());
        assert!(
            sessions.load(&first, &policy, at(2)).is_none(),
            "oldest out"
        );
        assert!(
            sessions.lock().pre_login.order.len() <= 64,
            "the queue is kept small"
        );
    }

    #[test]
    fn a_full_signed_in_pool_drops_its_least_recently_used_session() {
        let policy = small();
        let sessions = MemorySessions::default();
        let ids: Vec<Token> = (0..3).map(|_| Token::generate().unwrap()).collect();
        for id in &ids {
            sessions.insert(id.clone(), session(logged_in()), &policy, at(0));
        }
        // The first is used again: the second is now the least recent.
        assert!(sessions.load(&ids[0], &policy, at(5)).is_some());
        assert!(sessions.load(&ids[2], &policy, at(6)).is_some());
        let newest = Token::generate().unwrap();
        sessions.insert(newest.clone(), session(logged_in()), &policy, at(7));
        assert!(sessions.load(&ids[1], &policy, at(8)).is_none());
        assert!(sessions.load(&ids[0], &policy, at(8)).is_some());
        assert!(sessions.load(&newest, &policy, at(8)).is_some());
        assert_eq!(sessions.counts().signed_in, 3);
    }

    #[test]
    fn saving_a_new_stage_moves_the_session_between_pools() {
        let policy = small();
        let sessions = MemorySessions::default();
        let id = Token::generate().unwrap();
        sessions.insert(id.clone(), session(Stage::Anonymous), &policy, at(0));
        sessions.save(&id, &session(logged_in()), &policy);
        assert_eq!(
            sessions.counts(),
            SessionCounts {
                pre_login: 0,
                signed_in: 1
            }
        );
        // A removed session stays removed.
        sessions.remove(&id);
        sessions.save(&id, &session(logged_in()), &policy);
        assert_eq!(sessions.counts(), SessionCounts::default());
    }
}
