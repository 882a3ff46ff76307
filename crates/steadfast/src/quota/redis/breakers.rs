//! Circuit-breaker decisions shared by a fleet through Redis: [`BreakerSharing`].

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use redis::Script;
use steadfast_retry::CircuitBreaker;
use steadfast_retry::circuit::{CircuitObserver, CircuitState, Origin, RemoteDecision, Transition};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{KEY_PREFIX, RedisStore};
use crate::error::Error;

/// How often shared breakers refresh from Redis unless set: 500 ms.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_millis(500);

/// How long the fleet's probe lease lasts unless set: 30 s.
pub const DEFAULT_PROBE_LEASE: Duration = Duration::from_secs(30);

/// How long a target's shared state outlives the end of its cooldown: 10 minutes.
pub const STATE_RETENTION: Duration = Duration::from_secs(600);

/// How [`Breakers`](crate::resilient::Breakers) share their decisions through a [`RedisStore`]
///; made by [`RedisStore::breaker_sharing`], given to
/// [`Breakers::shared`](crate::resilient::Breakers::shared).
///
/// Each process counts its own calls' outcomes in its own [`CircuitBreaker`]s; what the fleet
/// shares is the *decision*:
///
/// - when a process's breaker opens, it publishes "open until T" for the target (T on Redis's
///   clock: now + the breaker's remaining cooldown), and every other process's breaker for that
///   target opens until T ([`RemoteDecision::Open`]) at its next refresh;
/// - when the cooldown ends, the breakers (built with
///   [`remote_probe`](steadfast_retry::circuit::CircuitBreakerBuilder::remote_probe)) keep
///   refusing calls until one process — the one whose `SET key NX PX` takes the probe lease —
///   is granted the probe ([`RemoteDecision::ProbeGranted`]): one probe for the whole fleet;
/// - the probe's outcome is published: a success closes the target for everyone
///   ([`RemoteDecision::Closed`]), a failure opens it again for a new cooldown.
///
/// All Redis I/O happens in one background task per [`Breakers`](crate::resilient::Breakers)
/// set, every [refresh interval](BreakerSharing::refresh_interval) (default
/// [`DEFAULT_REFRESH_INTERVAL`], 500 ms) and at once after a local transition worth publishing:
/// one `EVALSHA` per known target per refresh. The calls themselves never wait for Redis —
/// [`CircuitBreaker::try_acquire`] stays a local mutex operation.
///
/// When Redis fails or times out (the store's [command timeout](super::RedisStoreBuilder::command_timeout)
/// and its breaker apply, with the store's `tracing` events and [`StoreStats`](super::StoreStats)),
/// the breakers act alone: a breaker waiting for the fleet's probe is granted it locally, and
/// decisions not yet published are kept (the latest per target) and published when Redis
/// answers again — an open only while its cooldown still runs, a close only if this process
/// still holds the probe lease and no one reopened the target meanwhile.
///
/// # Keys
///
/// `steadfast:v1:{breaker/<h>}:state` (a hash: `u`, open until in µs of Redis time, 0 when
/// closed; `i`, the id of the last decision) and `steadfast:v1:{breaker/<h>}:probe` (the probe
/// lease: the token of the process holding it, expiring after the
/// [probe lease](BreakerSharing::probe_lease)), where `<h>` is the 64-bit FNV-1a hash, in hex,
/// of the target's identity *without its secrets*: `provider:model@base_url#placement` with the
/// base URL's user info, query and fragment removed. The state expires
/// [`STATE_RETENTION`] after its cooldown ends.
///
/// # Edges
///
/// - The probe lease should outlast a call: a probe still running when its lease expires lets
///   another process probe too. A process that wins the lease and then sends nothing to the
///   target holds the fleet's probe until the lease expires.
/// - A process that starts while the fleet waits for a probe (the shared cooldown is over) starts
///   closed: it has seen no failure and no running cooldown.
/// - Decisions travel at the refresh interval: until then, a process may send a few more calls to
///   a target another process has just opened.
/// - A publication whose command timed out (Redis frozen, say) may still run when Redis answers
///   again: a late "open" then lasts what was left of the cooldown when it was sent, counted from
///   when it runs — never longer than one cooldown.
/// - Sharing lasts as long as the `Breakers` set (or one of its clones or lookups) lives; a
///   breaker kept after its set is dropped goes on alone.
///
/// `Debug` shows the store's URL without its password.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use steadfast::quota::RedisStore;
/// use steadfast::resilient::{Breakers, TRANSIENT, fallback, kinds};
/// use steadfast::retry::CircuitBreaker;
///
/// let store = RedisStore::builder("redis://127.0.0.1:6379/").connect().await?;
/// let breakers = Breakers::new(CircuitBreaker::builder().min_calls(5))?
///     .shared(store.breaker_sharing().refresh_interval(Duration::from_millis(250)))?;
/// let chain = fallback(kinds(TRANSIENT)).breaker(breakers.lookup());
/// # let _ = chain;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use = "give it to `Breakers::shared`"]
pub struct BreakerSharing {
    store: RedisStore,
    refresh: Duration,
    probe_lease: Duration,
}

impl fmt::Debug for BreakerSharing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerSharing")
            .field("store", &self.store.inner.url)
            .field("refresh_interval", &self.refresh)
            .field("probe_lease", &self.probe_lease)
            .finish()
    }
}

impl RedisStore {
    /// Sharing of circuit-breaker decisions through this store, with the
    /// [defaults](BreakerSharing): refresh every [`DEFAULT_REFRESH_INTERVAL`], probe lease
    /// [`DEFAULT_PROBE_LEASE`].
    pub fn breaker_sharing(&self) -> BreakerSharing {
        BreakerSharing {
            store: self.clone(),
            refresh: DEFAULT_REFRESH_INTERVAL,
            probe_lease: DEFAULT_PROBE_LEASE,
        }
    }

    /// The keys of a target's shared breaker state and probe lease (see
    /// [`BreakerSharing`]), from the target's identity with its secrets already removed.
    pub(crate) fn breaker_keys(identity: &str) -> [String; 2] {
        let tag = format!(
            "{KEY_PREFIX}{{breaker/{:016x}}}",
            fnv1a(identity.as_bytes())
        );
        [format!("{tag}:state"), format!("{tag}:probe")]
    }
}

impl BreakerSharing {
    /// How often the decisions are exchanged with Redis (default
    /// [`DEFAULT_REFRESH_INTERVAL`]): the delay before one process's open breaker is honoured
    /// by the others, and the background load (one command per target per interval).
    pub fn refresh_interval(mut self, every: Duration) -> Self {
        self.refresh = every;
        self
    }

    /// How long the process that takes the fleet's half-open probe holds it (default
    /// [`DEFAULT_PROBE_LEASE`]): longer than a call lasts, short enough that the fleet does not
    /// wait long for a process that won the probe and sends nothing.
    pub fn probe_lease(mut self, lease: Duration) -> Self {
        self.probe_lease = lease;
        self
    }

    /// Starts the refresher task.
    pub(crate) fn start(self) -> Result<Arc<Fleet>, Error> {
        if self.refresh.is_zero() {
            return Err(Error::config(
                "shared breakers need a refresh interval above zero",
            ));
        }
        if self.probe_lease < Duration::from_millis(1) {
            return Err(Error::config(
                "shared breakers need a probe lease of at least 1 ms",
            ));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::config("shared breakers need a Tokio runtime (their refresher is a task)")
        })?;
        let fleet = Arc::new(Fleet {
            sharing: self,
            token: token(),
            script: Script::new(include_str!("lua/breaker.lua")),
            targets: Mutex::default(),
            wake: Arc::new(Notify::new()),
        });
        runtime.spawn(refresher(
            Arc::downgrade(&fleet),
            Arc::clone(&fleet.wake),
            fleet.sharing.refresh,
        ));
        Ok(fleet)
    }
}

/// The shared side of one [`Breakers`](crate::resilient::Breakers) set: its targets and the
/// refresher's state. The refresher holds it weakly and ends when the set is dropped.
pub(crate) struct Fleet {
    sharing: BreakerSharing,
    token: i64,
    script: Script,
    targets: Mutex<HashMap<[String; 2], Target>>,
    wake: Arc<Notify>,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("sharing", &self.sharing)
            .finish_non_exhaustive()
    }
}

struct Target {
    breaker: CircuitBreaker,
    /// The id of the last decision applied or written.
    seen: i64,
    /// The latest local decision not yet published.
    pending: Option<Publish>,
    /// The decision id this process holds the probe lease for.
    lease: Option<i64>,
}

#[derive(Clone, Copy, Debug)]
enum Publish {
    Open { until: Instant },
    Close,
}

const OP_READ: i64 = 0;
const OP_OPEN: i64 = 1;
const OP_CLOSE: i64 = 2;
const OP_LEASE: i64 = 3;

impl Fleet {
    fn lock(&self) -> MutexGuard<'_, HashMap<[String; 2], Target>> {
        self.targets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shares `breaker`'s decisions as those of the target `identity` (secrets removed); the
    /// observer to build it with.
    pub(crate) fn observer(self: &Arc<Self>, identity: &str) -> FleetObserver {
        FleetObserver {
            fleet: Arc::downgrade(self),
            keys: RedisStore::breaker_keys(identity),
        }
    }

    /// Starts sharing `breaker`, built with `observer` (from [`observer`](Self::observer)).
    pub(crate) fn register(&self, observer: &FleetObserver, breaker: &CircuitBreaker) {
        self.lock()
            .entry(observer.keys.clone())
            .or_insert_with(|| Target {
                breaker: breaker.clone(),
                seen: 0,
                pending: None,
                lease: None,
            });
        self.wake.notify_one();
    }

    fn local(&self, keys: &[String; 2], t: &Transition) {
        let publish = match (t.from, t.to, t.open_until) {
            (_, CircuitState::Open, Some(until)) => Publish::Open { until },
            (CircuitState::HalfOpen, CircuitState::Closed, _) => Publish::Close,
            _ => return,
        };
        if let Some(target) = self.lock().get_mut(keys) {
            target.pending = Some(publish);
        }
        self.wake.notify_one();
    }

    /// One exchange with Redis for every target.
    async fn sync(&self) {
        let work: Vec<_> = self
            .lock()
            .iter_mut()
            .map(|(keys, t)| (keys.clone(), t.breaker.clone(), t.pending.take(), t.lease))
            .collect();
        for (keys, breaker, pending, lease) in work {
            self.sync_one(keys, &breaker, pending, lease).await;
        }
    }

    async fn sync_one(
        &self,
        keys: [String; 2],
        breaker: &CircuitBreaker,
        pending: Option<Publish>,
        lease: Option<i64>,
    ) {
        let (op, arg) = match pending {
            Some(Publish::Open { until }) => {
                let left = until.saturating_duration_since(Instant::now());
                match u64::try_from(left.as_micros()).ok().filter(|&us| us > 0) {
                    Some(us) => (OP_OPEN, i64::try_from(us).unwrap_or(i64::MAX)),
                    // Its cooldown already ended: nothing left to tell.
                    None => (OP_READ, 0),
                }
            }
            Some(Publish::Close) => (OP_CLOSE, lease.unwrap_or(-1)),
            None if breaker.awaits_probe() => (OP_LEASE, 0),
            None => (OP_READ, 0),
        };
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1);
        let args = [
            op,
            arg,
            self.token,
            ms(self.sharing.probe_lease),
            ms(STATE_RETENTION),
        ];
        let inner = &self.sharing.store.inner;
        let reply = inner
            .run(&self.script, &keys, &args, inner.command_timeout)
            .await;
        let mut targets = self.lock();
        let Some(target) = targets.get_mut(&keys) else {
            return;
        };
        let Some(&[until, now, id, held]) = reply.as_deref() else {
            // Redis is unreachable: act alone, and publish later what is still worth it.
            if target.pending.is_none() {
                target.pending = pending;
            }
            drop(targets);
            if breaker.awaits_probe() {
                tracing::debug!(
                    target: "steadfast::quota",
                    "shared breakers: store unreachable, probing locally"
                );
                breaker.apply(RemoteDecision::ProbeGranted);
            }
            return;
        };
        target.lease = (held == 1).then_some(id);
        let fresh = id > target.seen;
        target.seen = target.seen.max(id);
        // A local decision made while the command ran goes out first: it is newer.
        let apply = target.pending.is_none() && (fresh || op == OP_OPEN);
        drop(targets);
        if apply {
            if until > now {
                let left = Duration::from_micros(u64::try_from(until - now).unwrap_or(0));
                breaker.apply(RemoteDecision::Open {
                    until: Instant::now() + left,
                });
            } else if until == 0 && fresh {
                breaker.apply(RemoteDecision::Closed);
            }
        }
        if held == 1 {
            breaker.apply(RemoteDecision::ProbeGranted);
        }
    }
}

/// The background task: a sync every `every`, or at once when woken. It holds the set only
/// weakly between syncs, so dropping the breakers ends it.
async fn refresher(fleet: Weak<Fleet>, wake: Arc<Notify>, every: Duration) {
    loop {
        let Some(f) = fleet.upgrade() else { return };
        f.sync().await;
        drop(f);
        let _ = tokio::time::timeout(every, wake.notified()).await;
    }
}

/// The observer the shared breakers are built with: publishes their local decisions.
pub(crate) struct FleetObserver {
    fleet: Weak<Fleet>,
    keys: [String; 2],
}

impl CircuitObserver for FleetObserver {
    fn transition(&self, t: &Transition) {
        if t.origin != Origin::Local {
            return;
        }
        if let Some(fleet) = self.fleet.upgrade() {
            fleet.local(&self.keys, t);
        }
    }
}

/// 64-bit FNV-1a: a stable hash (the same in every process and release) for key names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A token naming this set of breakers in the probe lease, unique across the fleet: the
/// process id, the time and the standard library's per-process random hash keys.
fn token() -> i64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    i64::try_from(h.finish() >> 1).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hashed_under_the_versioned_prefix_with_one_hash_tag() {
        let [state, probe] = RedisStore::breaker_keys("openai:gpt-4o@https://api.openai.com/v1#");
        assert!(state.starts_with("steadfast:v1:{breaker/"), "{state}");
        assert!(state.ends_with("}:state") && probe.ends_with("}:probe"));
        let tag = |k: &str| k[k.find('{').unwrap_or(0)..=k.find('}').unwrap_or(0)].to_owned();
        assert_eq!(tag(&state), tag(&probe));
        assert_eq!(tag(&state).len(), "{breaker/}".len() + 16);
        let [other, _] = RedisStore::breaker_keys("openai:gpt-4o@https://eu.example/v1#");
        assert_ne!(state, other);
    }

    #[test]
    fn fnv1a_is_the_reference_function() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(token(), token());
        assert!(token() >= 0);
    }
}
