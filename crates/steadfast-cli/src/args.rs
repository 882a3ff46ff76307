//! Command-line arguments, parsed and validated apart from what they resolve to.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Resilient LLM calls: ask with retries and fallbacks, run the provider simulator.
#[derive(Debug, Parser)]
#[command(name = "steadfast", version, about)]
pub(crate) struct Cli {
    /// More logging on stderr (-v info, -vv debug, -vvv trace); STEADFAST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    /// Export the calls' OpenTelemetry spans and metrics over OTLP/HTTP to this collector (a base
    /// URL such as http://localhost:4318; /v1/traces and /v1/metrics are appended).
    #[arg(
        long,
        global = true,
        value_name = "ENDPOINT",
        env = "OTEL_EXPORTER_OTLP_ENDPOINT"
    )]
    pub(crate) otlp: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Ask a model a question.
    Ask(Box<AskArgs>),
    /// Run the provider simulator until interrupted.
    Sim(SimArgs),
    /// Serve the OpenAI Chat Completions and Anthropic Messages APIs, every call resilient.
    Gateway(GatewayArgs),
    /// Run the reference scenarios (retries, streams, tools, reinsertion, fallback) against the
    /// embedded simulator.
    Demo(DemoArgs),
}

/// `steadfast ask`.
#[derive(Debug, Args)]
pub(crate) struct AskArgs {
    /// The model, as PROVIDER:MODEL (e.g. openai:gpt-4o-mini, anthropic:claude-3-5-sonnet-latest).
    #[arg(short, long, env = "STEADFAST_MODEL")]
    pub(crate) model: String,
    /// A system prompt.
    #[arg(long)]
    pub(crate) system: Option<String>,
    /// Print the answer as it arrives.
    #[arg(long)]
    pub(crate) stream: bool,
    /// Print one JSON object with the answer, usage and every attempt.
    #[arg(long)]
    pub(crate) json: bool,
    /// The provider's base URL (in the official SDK's convention for that provider).
    #[arg(long)]
    pub(crate) base_url: Option<String>,
    /// Sampling temperature.
    #[arg(long)]
    pub(crate) temperature: Option<f64>,
    /// Maximum output tokens.
    #[arg(long)]
    pub(crate) max_tokens: Option<u32>,
    /// A JSON Schema file: ask for structured output matching it.
    #[arg(long)]
    pub(crate) schema: Option<PathBuf>,
    /// Run against the embedded simulator instead of the real provider (no key or network needed).
    #[arg(long)]
    pub(crate) sim: bool,
    /// A simulator scenario file (TOML or JSON) with scripted faults; implies --sim.
    #[arg(long)]
    pub(crate) sim_scenario: Option<PathBuf>,
    /// Attempts per target (1 = no retries).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) attempts: u32,
    /// Wait between attempts: none, fixed:S, exponential:MULT:MIN:MAX or
    /// random-exponential:MULT:MIN:MAX (seconds, decimals allowed). Default: exponential backoff
    /// with jitter (1 s doubling, at most 30 s, plus up to 1 s).
    #[arg(long, value_parser = crate::policy::parse_wait)]
    pub(crate) wait: Option<crate::policy::WaitSpec>,
    /// Error kinds to retry, comma-separated kebab-case (rate-limited,overloaded,...), or `any`.
    /// Default: the transient kinds, or what the server's x-should-retry says.
    #[arg(long, value_parser = crate::policy::parse_kinds)]
    pub(crate) retry_on: Option<crate::policy::Kinds>,
    /// With --schema: output that fails the schema is retried, the error shown to the model.
    #[arg(long, requires = "schema")]
    pub(crate) reinsert: bool,
    /// A fallback target PROVIDER:MODEL, tried in order when the previous one fails (repeatable).
    #[arg(long = "fallback", value_name = "PROVIDER:MODEL")]
    pub(crate) fallbacks: Vec<String>,
    /// Error kinds that move on to the next fallback target (comma-separated, or `any`). Default:
    /// the transient kinds.
    #[arg(long, value_parser = crate::policy::parse_kinds)]
    pub(crate) fallback_on: Option<crate::policy::Kinds>,
    /// With --stream: when the stream fails after the answer began, start it again from the
    /// beginning, at most N times (announced on stderr; the answer starts on a new line).
    #[arg(long, default_value_t = 0, requires = "stream", value_name = "N")]
    pub(crate) restart_streams: u32,
    #[command(flatten)]
    pub(crate) quota: QuotaArgs,
    /// Send nothing: print the request each target would be sent — method, URL and JSON body
    /// (headers are left out: they carry the key).
    #[arg(long, conflicts_with_all = ["schema", "stream"])]
    pub(crate) dry_run: bool,
    /// The prompt; read from stdin when absent.
    pub(crate) prompt: Vec<String>,
}

/// A client-side quota, applied to every target (each in the scope of its own provider and
/// model): each attempt waits until the quota admits it.
#[derive(Debug, Args)]
pub(crate) struct QuotaArgs {
    /// Requests per minute allowed for each target (waits for admission before each attempt).
    #[arg(long, value_name = "N", help_heading = "Quota")]
    pub(crate) rpm: Option<u64>,
    /// Tokens per minute allowed for each target, estimated up front (prompt bytes / 4 plus
    /// --max-tokens, or 1024) and corrected from the usage.
    #[arg(long, value_name = "N", help_heading = "Quota")]
    pub(crate) tpm: Option<u64>,
    /// How many requests may go at once, from idle, above the steady rate of --rpm. Default: one
    /// second's worth, ceil(rpm / 60), at least 1.
    #[arg(long, value_name = "N", help_heading = "Quota")]
    pub(crate) burst: Option<u64>,
    /// Share the quota (and provider cooldowns) with every process using this Redis
    /// (redis://[:password@]host:port/db). Default: this process alone.
    #[arg(long, value_name = "URL", help_heading = "Quota")]
    pub(crate) redis: Option<String>,
    /// The account label of the quota's scope (provider + account + model); never the API key.
    #[arg(
        long,
        value_name = "LABEL",
        default_value = "default",
        help_heading = "Quota"
    )]
    pub(crate) account: String,
    /// Do not wait for admission: fail at once (moving on to the next --fallback target).
    #[arg(long, help_heading = "Quota")]
    pub(crate) no_wait: bool,
}

/// `steadfast sim`.
#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub(crate) addr: std::net::SocketAddr,
    /// A scenario file (TOML or JSON) with scripted faults.
    #[arg(long)]
    pub(crate) scenario: Option<PathBuf>,
}

/// `steadfast gateway`.
#[derive(Debug, Args)]
pub(crate) struct GatewayArgs {
    /// The address to listen on (port 0: any free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) addr: std::net::SocketAddr,
    /// Use the embedded simulator as every provider's upstream: every provider:model is a
    /// routable model name, any API key is accepted.
    #[arg(long, conflicts_with = "config")]
    pub(crate) sim: bool,
    /// A TOML config: model aliases and their deployments, policies, fallbacks and retry
    /// budgets, inbound keys (SHA-256 hashes) and their limits, opt-in content logging
    /// (`[log] content = true`). See the steadfast-gateway docs.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// A simulator scenario file (TOML or JSON) with scripted faults; needs --sim.
    #[arg(long, requires = "sim")]
    pub(crate) sim_scenario: Option<PathBuf>,
    /// The wait between attempts of the default policy (4 attempts, transient errors, server
    /// hints honoured): none, fixed:S, exponential:MULT:MIN:MAX or random-exponential:MULT:MIN:MAX.
    /// Default: the library's (1 s doubling, at most 30 s, plus up to 1 s of jitter).
    #[arg(long, value_parser = crate::policy::parse_wait)]
    pub(crate) wait: Option<crate::policy::WaitSpec>,
    /// Share the deployments' quotas and provider cooldowns with the other replicas through
    /// this Redis (redis://[:PASSWORD@]HOST:PORT[/DB]); overrides the config's `[redis]`. Needs
    /// --config.
    #[arg(
        long,
        value_name = "URL",
        requires = "config",
        env = "STEADFAST_GATEWAY_REDIS"
    )]
    pub(crate) redis: Option<String>,
    /// How many gateway replicas share the quotas (overrides the config's `[redis] replicas`):
    /// with Redis, each admits its share of every quota while Redis is unreachable; without,
    /// each always admits its share. Needs --config.
    #[arg(long, value_name = "N", requires = "config", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) replicas: Option<u32>,
}

/// `steadfast demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// The scenario to run (see --list); all of them when absent.
    pub(crate) name: Option<String>,
    /// List the scenarios and exit.
    #[arg(long)]
    pub(crate) list: bool,
    /// Multiply every wait by this factor, so the reference backoff (4 s, 4 s, …) runs in
    /// moments. The transcript shows both the nominal and the actual wait. 1 = real time.
    #[arg(long, default_value_t = 0.02, value_parser = crate::policy::parse_scale)]
    pub(crate) time_scale: f64,
    /// Prompt style: string, builder, template, messages, or all (each scenario in all four).
    #[arg(long, default_value = "string")]
    pub(crate) style: String,
}
