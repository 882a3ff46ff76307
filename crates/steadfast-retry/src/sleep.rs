//! The clock and the sleeping, replaceable for tests and other runtimes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// A boxed sleep future, returned by [`Sleeper::sleep`].
pub type SleepFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where a policy's time comes from: how it sleeps between attempts and how it reads the clock.
///
/// The default ([`TokioSleeper`]) uses `tokio::time`, so tests with paused time
/// (`#[tokio::test(start_paused = true)]`) run instantly yet observe exact waits. Replace it to
/// run on another executor, or to record waits without sleeping.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use steadfast_retry::{SleepFuture, Sleeper};
///
/// /// Records the waits instead of sleeping.
/// #[derive(Debug, Default)]
/// struct Recorder(Mutex<Vec<Duration>>);
///
/// impl Sleeper for Recorder {
///     fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
///         self.0.lock().unwrap().push(duration);
///         Box::pin(std::future::ready(()))
///     }
///     fn sleep_blocking(&self, duration: Duration) {
///         self.0.lock().unwrap().push(duration);
///     }
/// }
/// ```
pub trait Sleeper: Send + Sync + fmt::Debug + 'static {
    /// Sleeps for `duration` asynchronously.
    fn sleep(&self, duration: Duration) -> SleepFuture<'_>;

    /// Sleeps for `duration`, blocking the thread; used by
    /// [`Retry::run_blocking`](crate::Retry::run_blocking). Defaults to `std::thread::sleep`.
    fn sleep_blocking(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    /// The current time. Defaults to `tokio::time::Instant::now()`, which follows paused Tokio
    /// time inside a runtime and the system's monotonic clock outside one.
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// The default sleeper: `tokio::time::sleep` and `tokio::time::Instant`.
///
/// Its async sleep needs a Tokio runtime with the time driver enabled (Tokio panics
/// otherwise); use a custom [`Sleeper`] elsewhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A policy's sleeper: the default one is called directly, without boxing its futures.
#[derive(Clone, Debug, Default)]
pub(crate) enum SleeperSlot {
    #[default]
    Tokio,
    Custom(Arc<dyn Sleeper>),
}

impl SleeperSlot {
    pub(crate) fn now(&self) -> Instant {
        match self {
            SleeperSlot::Tokio => Instant::now(),
            SleeperSlot::Custom(s) => s.now(),
        }
    }

    pub(crate) async fn sleep(&self, duration: Duration) {
        match self {
            SleeperSlot::Tokio => tokio::time::sleep(duration).await,
            SleeperSlot::Custom(s) => s.sleep(duration).await,
        }
    }

    pub(crate) fn sleep_blocking(&self, duration: Duration) {
        match self {
            SleeperSlot::Tokio => std::thread::sleep(duration),
            SleeperSlot::Custom(s) => s.sleep_blocking(duration),
        }
    }
}
