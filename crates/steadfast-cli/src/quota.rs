//! `steadfast ask --rpm/--tpm/--burst/--redis`: a client-side quota for every target of the call.

use std::sync::Arc;

use anyhow::Context as _;
use steadfast::Call;
use steadfast::quota::{InProcess, Limiter, Quota, QuotaScope, QuotaStore};

use crate::args::QuotaArgs;

/// The store and quota the flags describe; `None` when no limit was given.
pub(crate) struct Quotas {
    store: Arc<dyn QuotaStore>,
    quota: Quota,
    account: String,
    fail_fast: bool,
}

impl Quotas {
    /// Reads the flags. With `--redis`, connects now (a clear error when Redis does not answer:
    /// a one-shot command has nothing to degrade to that the user asked for).
    pub(crate) async fn from_args(args: &QuotaArgs) -> anyhow::Result<Option<Quotas>> {
        if args.rpm.is_none() && args.tpm.is_none() {
            anyhow::ensure!(
                args.burst.is_none() && args.redis.is_none() && !args.no_wait,
                "--burst, --redis and --no-wait need a limit: --rpm N or --tpm N"
            );
            return Ok(None);
        }
        let mut builder = Quota::builder();
        if let Some(rpm) = args.rpm {
            builder = builder.requests_per_minute(rpm);
        }
        if let Some(tpm) = args.tpm {
            builder = builder.tokens_per_minute(tpm);
        }
        if let Some(burst) = args.burst {
            builder = builder.burst(burst);
        }
        let quota = builder.build().context("invalid quota")?;
        let store: Arc<dyn QuotaStore> = match &args.redis {
            None => Arc::new(InProcess::new()),
            Some(url) => redis_store(url).await?,
        };
        Ok(Some(Quotas {
            store,
            quota,
            account: args.account.clone(),
            fail_fast: args.no_wait,
        }))
    }

    /// `call` admitted by this quota, in the scope of its own provider and model.
    pub(crate) fn apply(&self, call: Call) -> anyhow::Result<Call> {
        let scope = QuotaScope::new(call.provider_name(), &self.account, call.model())
            .with_context(|| format!("invalid quota scope for {}", call.target()))?;
        let limiter = Limiter::new(scope, self.quota)
            .with_store(Arc::clone(&self.store))
            .fail_fast(self.fail_fast);
        Ok(call.quota(limiter))
    }
}

#[cfg(feature = "redis")]
async fn redis_store(url: &str) -> anyhow::Result<Arc<dyn QuotaStore>> {
    let store = steadfast::quota::RedisStore::builder(url).connect().await?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "redis"))]
async fn redis_store(_url: &str) -> anyhow::Result<Arc<dyn QuotaStore>> {
    anyhow::bail!("--redis needs the CLI built with the `redis` feature")
}
