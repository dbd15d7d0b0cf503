//! Leases: an instance reserves several units of a key's window in one conditional
//! write (`ADD count n` if `count <= max - n`) and spends them without asking DynamoDB
//! again; and a key known to be over its limit (or throttled) is refused locally until
//! its window ends. Never more than the limit is admitted: units are only spent after
//! DynamoDB granted them. The price is under-admission by the units an instance leased
//! but did not spend before the window ended (at most a lease's size per instance).
//!
//! A lease grows while its key keeps coming back (1, 2, 4, ... units), capped at a
//! fraction of the limit and at half the room left, so an occasional client costs one
//! unit per call and a steady one a call per many requests. Pure bookkeeping, tested
//! here; the DynamoDB calls are in `store.rs`.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

/// Keys remembered at once; beyond it, entries of past windows are dropped.
const MAX_KEYS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    window: i64,
    /// Units granted and not spent yet.
    left: u32,
    /// Units to ask for next time.
    next: u32,
    /// The key's count after our last grant (others' spending included).
    count: u32,
    /// Over the limit, or throttled: refused without a call until the window ends.
    denied: bool,
    /// Units of the last grant: a one-unit grant is no lease to give back into.
    last: u32,
    /// The window's first rejection was already reported from here.
    reported: bool,
}

impl Entry {
    fn fresh(window: i64) -> Self {
        Self {
            window,
            left: 0,
            next: 1,
            count: 0,
            denied: false,
            last: 0,
            reported: false,
        }
    }
}

/// What one request of a key needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// Spent a leased unit: allowed, no call. `remaining`: an estimate for the headers.
    Spent { remaining: u32 },
    /// Known to be over its limit in this window: refused, no call.
    Denied,
    /// Ask DynamoDB for this many units.
    Reserve { units: u32 },
}

pub struct Leases {
    entries: Mutex<HashMap<String, Entry>>,
    /// A lease is at most `max / divisor` units, and at least one: a divisor at least
    /// the limit keeps every request of that tier its own conditional write.
    divisor: u32,
}

impl Leases {
    pub fn new(divisor: u32) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            divisor: divisor.max(1),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Decides one request of `key` in `window` (limit `max`) locally if it can.
    pub fn take(&self, key: &str, window: i64, max: u32) -> Local {
        let mut entries = self.entries();
        let Some(entry) = entries.get_mut(key).filter(|entry| entry.window == window) else {
            return Local::Reserve { units: 1 };
        };
        if entry.denied {
            return Local::Denied;
        }
        if entry.left > 0 {
            entry.left -= 1;
            return Local::Spent {
                remaining: max.saturating_sub(entry.count) + entry.left,
            };
        }
        let cap = (max / self.divisor).max(1);
        let room = (max.saturating_sub(entry.count) / 2).max(1);
        Local::Reserve {
            units: entry.next.min(cap).min(room),
        }
    }

    /// DynamoDB granted `units` (one of them spent by the asking request); the key's
    /// count is now `count`. Answers the remaining estimate.
    pub fn granted(&self, key: &str, window: i64, units: u32, count: u32, max: u32) -> u32 {
        let mut entries = self.entries();
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            entries.retain(|_, entry| entry.window >= window);
        }
        let entry = entries
            .entry(key.to_owned())
            .or_insert_with(|| Entry::fresh(window));
        if entry.window != window {
            *entry = Entry::fresh(window);
        }
        entry.left += units.saturating_sub(1);
        entry.count = count;
        entry.last = units;
        // Seen again within the window: the next lease is twice the size.
        entry.next = units.saturating_mul(2);
        max.saturating_sub(count) + entry.left
    }

    /// The window is full (or the key is throttled): refuse it locally until it ends.
    pub fn deny(&self, key: &str, window: i64) {
        let mut entries = self.entries();
        entries.insert(
            key.to_owned(),
            Entry {
                denied: true,
                ..Entry::fresh(window)
            },
        );
    }

    /// True the first time this instance reports a rejection of `key` in `window` (so a
    /// flood of refused requests does not ask DynamoDB whether it was audited yet).
    pub fn first_report(&self, key: &str, window: i64) -> bool {
        let mut entries = self.entries();
        let entry = entries
            .entry(key.to_owned())
            .or_insert_with(|| Entry::fresh(window));
        if entry.window != window {
            *entry = Entry::fresh(window);
        }
        !std::mem::replace(&mut entry.reported, true)
    }

    /// A unit given back (a successful auth request): into the lease if one is held
    /// for the window, so no call is needed. False when there is none.
    pub fn give_back(&self, key: &str, window: i64) -> bool {
        let mut entries = self.entries();
        match entries
            .get_mut(key)
            .filter(|entry| entry.window == window && !entry.denied)
        {
            Some(entry) if entry.last > 1 => {
                entry.left += 1;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_asks_for_one_unit() {
        let leases = Leases::new(16);
        assert_eq!(leases.take("k", 1, 100), Local::Reserve { units: 1 });
    }

    #[test]
    fn a_returning_key_leases_more_and_spends_locally() {
        let leases = Leases::new(16);
        leases.granted("k", 1, 1, 1, 100);
        assert_eq!(leases.take("k", 1, 100), Local::Reserve { units: 2 });
        leases.granted("k", 1, 2, 3, 100);
        assert_eq!(leases.take("k", 1, 100), Local::Spent { remaining: 97 });
        assert_eq!(leases.take("k", 1, 100), Local::Reserve { units: 4 });
    }

    #[test]
    fn leases_are_capped_by_the_limit_and_the_room_left() {
        let leases = Leases::new(16);
        leases.granted("k", 1, 32, 40, 100);
        for _ in 0..31 {
            assert!(matches!(leases.take("k", 1, 100), Local::Spent { .. }));
        }
        // 100 / 16 = 6 at most, and at most half of the 60 left.
        assert_eq!(leases.take("k", 1, 100), Local::Reserve { units: 6 });
        leases.granted("k", 1, 6, 97, 100);
        for _ in 0..5 {
            assert!(matches!(leases.take("k", 1, 100), Local::Spent { .. }));
        }
        assert_eq!(
            leases.take("k", 1, 100),
            Local::Reserve { units: 1 },
            "3 left: one at a time"
        );
    }

    #[test]
    fn small_limits_are_exact_per_request() {
        let leases = Leases::new(16);
        leases.granted("k", 1, 1, 1, 5);
        assert_eq!(leases.take("k", 1, 5), Local::Reserve { units: 1 });
    }

    #[test]
    fn a_denied_key_is_refused_until_its_window_ends() {
        let leases = Leases::new(16);
        leases.deny("k", 1);
        assert_eq!(leases.take("k", 1, 100), Local::Denied);
        assert_eq!(leases.take("k", 2, 100), Local::Reserve { units: 1 });
    }

    #[test]
    fn a_rejection_is_reported_once_per_key_and_window() {
        let leases = Leases::new(16);
        leases.deny("k", 1);
        assert!(leases.first_report("k", 1));
        assert!(!leases.first_report("k", 1));
        assert_eq!(leases.take("k", 1, 100), Local::Denied, "still denied");
        assert!(leases.first_report("k", 2), "a new window");
    }

    #[test]
    fn a_new_window_forgets_the_old_lease() {
        let leases = Leases::new(16);
        leases.granted("k", 1, 4, 4, 100);
        assert_eq!(leases.take("k", 2, 100), Local::Reserve { units: 1 });
    }

    #[test]
    fn units_given_back_go_into_a_held_lease_only() {
        let leases = Leases::new(16);
        assert!(!leases.give_back("k", 1), "nothing held");
        leases.granted("k", 1, 1, 1, 100);
        assert!(
            !leases.give_back("k", 1),
            "a one-unit lease: DynamoDB takes it back"
        );
        leases.granted("k", 1, 2, 3, 100);
        assert!(leases.give_back("k", 1));
        assert_eq!(leases.take("k", 1, 100), Local::Spent { remaining: 98 });
    }

    #[test]
    fn a_divisor_at_least_the_limit_keeps_every_request_exact() {
        let leases = Leases::new(1000);
        leases.granted("k", 1, 1, 1, 100);
        assert_eq!(leases.take("k", 1, 100), Local::Reserve { units: 1 });
    }
}
