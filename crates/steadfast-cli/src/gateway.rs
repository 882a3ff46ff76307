//! `steadfast gateway`: the resilience engine as an OpenAI- and Anthropic-compatible HTTP
//! gateway, on the embedded simulator (`--sim`) or on a config file (`--config`).

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use steadfast::quota::{InProcess, QuotaStore};
use steadfast::resilient;
use steadfast_gateway::{Config, Gateway, InboundKeys, ProviderTargets};
use steadfast_sim::Simulator;

use crate::args::GatewayArgs;
use crate::embedded::{load_scenario, sim_provider};

/// The models `GET /v1/models` lists in `--sim` mode (any `provider:model` routes).
const SIM_MODELS: [&str; 6] = [
    "openai:gpt-4o-mini",
    "anthropic:claude-3-5-sonnet-latest",
    "gemini:gemini-2.0-flash",
    "mistral:mistral-small-latest",
    "cohere:command-r-plus",
    "bedrock:amazon.nova-lite-v1:0",
];

pub(crate) async fn run(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.config {
        let config = load(path)?;
        let quotas = Quotas::new(&config, args.redis.as_deref(), args.replicas).await?;
        let config = quotas.apply(config)?;
        let gateway = Gateway::new(config.clone())
            .keys(config.keys())
            .log_content(config.log_content());
        let listener = listen(args.addr).await?;
        let mut lines = vec![format!("gateway: http://{}", listener.local_addr()?)];
        lines.extend(quotas.describe());
        announce(&lines);
        reload_on_sighup(&gateway, path.clone(), quotas)?;
        return serve(gateway, listener).await;
    }
    if !args.sim {
        anyhow::bail!(
            "steadfast gateway needs --config FILE, or --sim (the embedded simulator as upstream)"
        );
    }
    let scenario = load_scenario(args.sim_scenario.as_deref())?;
    let sim = Simulator::start(scenario)
        .await
        .context("could not start the embedded simulator")?;
    let mut policy = steadfast::resilient::default_policy();
    if let Some(w) = &args.wait {
        policy = policy.wait(w.0.clone());
    }
    let mut targets = ProviderTargets::new()
        .api_key("sim-key")
        .list(SIM_MODELS)
        .policy(policy);
    for name in steadfast::llm::names() {
        if let Ok(dialect) = sim_provider(&name) {
            targets = targets.base_url(name, sim.base_url(dialect));
        }
    }
    // --sim: a demo, not a deployment; any non-empty key is accepted (and never logged).
    let gateway = Gateway::new(targets).keys(InboundKeys::any());
    let listener = listen(args.addr).await?;
    let addr = listener.local_addr().context("no local address")?;
    announce(&[
        format!("gateway: http://{addr}"),
        format!("simulator: {}", sim.url()),
        format!("  OpenAI SDK: base_url=http://{addr}/v1   Anthropic SDK: base_url=http://{addr}"),
        "  models: any provider:model (e.g. openai:gpt-4o-mini, anthropic:claude-3-5-sonnet-latest); a,b falls back from a to b; any API key".into(),
    ]);
    let code = serve(gateway, listener).await?;
    sim.shutdown().await;
    Ok(code)
}

/// Prints the startup lines. Best effort: a server keeps serving when whoever read its stdout
/// has gone away.
fn announce(lines: &[String]) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    Config::from_toml_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// On SIGHUP, reads the config again: a valid one replaces the routes and keys (requests in
/// flight finish on theirs); an invalid one is reported and the running config kept.
/// The deployments' quota store for the process's life: the Redis the replicas share, or one
/// in process, kept across reloads so that the counts carry over.
struct Quotas {
    store: Arc<dyn QuotaStore>,
    shared: bool,
    replicas: u32,
    /// With Redis: makes a set of breakers share its decisions with the other replicas.
    share_breakers: Option<ShareBreakers>,
    /// With Redis: shares a retry budget, by its name, with the other replicas.
    share_budget: Option<ShareBudget>,
}

/// Shares a retry budget under its name through Redis.
type ShareBudget =
    Arc<dyn Fn(&str, &steadfast::retry::Budget) -> Result<(), steadfast::Error> + Send + Sync>;

/// Turns an alias's breakers into breakers shared through Redis.
type ShareBreakers =
    Arc<dyn Fn(resilient::Breakers) -> Result<resilient::Breakers, steadfast::Error> + Send + Sync>;

impl Quotas {
    /// `--redis` (or the config's `[redis] url`) connects now: a clear error when Redis does not
    /// answer at start; later outages degrade to each replica's share of the quotas.
    async fn new(
        config: &Config,
        redis: Option<&str>,
        replicas: Option<u32>,
    ) -> anyhow::Result<Self> {
        let replicas = replicas.or(config.replicas()).unwrap_or(1);
        match redis.or(config.redis_url()) {
            Some(url) => {
                let (store, share_breakers, share_budget) = redis_store(url, replicas).await?;
                Ok(Quotas {
                    store,
                    shared: true,
                    replicas,
                    share_breakers: Some(share_breakers),
                    share_budget: Some(share_budget),
                })
            }
            None => Ok(Quotas {
                store: Arc::new(InProcess::new()),
                shared: false,
                replicas,
                share_breakers: None,
                share_budget: None,
            }),
        }
    }

    /// The config with the process's quota store and, with Redis, breakers and retry budgets
    /// shared by the replicas.
    fn apply(&self, config: Config) -> anyhow::Result<Config> {
        if let Some(share) = &self.share_budget {
            config.share_budgets(|name, b| share(name, b))?;
        }
        let config = config.with_quota_store(Arc::clone(&self.store));
        let config = if self.shared || self.replicas == 1 {
            config
        } else {
            config.divide_quotas(self.replicas)
        };
        match &self.share_breakers {
            Some(share) => Ok(config.map_breakers(|b| share(b))?),
            None => Ok(config),
        }
    }

    fn describe(&self) -> Option<String> {
        match (self.shared, self.replicas) {
            (true, n) => Some(format!(
                "quotas, breakers and retry budgets: shared through Redis by {n} replica(s) (each admits 1/{n} of the quotas while Redis is unreachable)"
            )),
            (false, 1) => None,
            (false, n) => Some(format!(
                "quotas: this replica admits 1/{n} of each (no Redis)"
            )),
        }
    }
}

/// The Redis store the replicas share, and how to share an alias's breakers and a retry budget
/// through it.
#[cfg(feature = "redis")]
async fn redis_store(
    url: &str,
    replicas: u32,
) -> anyhow::Result<(Arc<dyn QuotaStore>, ShareBreakers, ShareBudget)> {
    use steadfast::quota::{Degrade, RedisStore};
    let store = RedisStore::builder(url)
        .degrade(Degrade::Local {
            expected_processes: replicas,
        })
        .connect()
        .await?;
    let sharing = store.clone();
    let share: ShareBreakers =
        Arc::new(move |b: resilient::Breakers| b.shared(sharing.breaker_sharing()));
    let sharing = store.clone();
    let share_budget: ShareBudget = Arc::new(move |name, b| sharing.budget_sharing(name)?.share(b));
    Ok((Arc::new(store), share, share_budget))
}

#[cfg(not(feature = "redis"))]
async fn redis_store(
    _url: &str,
    _replicas: u32,
) -> anyhow::Result<(Arc<dyn QuotaStore>, ShareBreakers, ShareBudget)> {
    anyhow::bail!("--redis needs the CLI built with the `redis` feature")
}

#[cfg(unix)]
fn reload_on_sighup(
    gateway: &Gateway,
    path: std::path::PathBuf,
    quotas: Quotas,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup()).context("could not listen for SIGHUP")?;
    let gateway = gateway.clone();
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match load(&path) {
                Ok(config) => match quotas.apply(config) {
                    // The running store: a reload keeps the counts (and the Redis of the start).
                    Ok(config) => {
                        gateway.reload(config.clone(), config.keys());
                        let _ = gateway.clone().log_content(config.log_content());
                        eprintln!("steadfast gateway: reloaded {}", path.display());
                    }
                    Err(e) => eprintln!("steadfast gateway: kept the running config: {e:#}"),
                },
                Err(e) => eprintln!("steadfast gateway: kept the running config: {e:#}"),
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_sighup(
    _gateway: &Gateway,
    _path: std::path::PathBuf,
    _quotas: Quotas,
) -> anyhow::Result<()> {
    Ok(())
}

async fn listen(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("could not listen on {addr}"))
}

/// Serves until Ctrl-C, draining the requests in flight.
async fn serve(gateway: Gateway, listener: tokio::net::TcpListener) -> anyhow::Result<ExitCode> {
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    gateway
        .serve(listener, shutdown)
        .await
        .context("the gateway failed")?;
    Ok(ExitCode::SUCCESS)
}
