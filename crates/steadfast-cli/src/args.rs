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
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Ask a model a question.
    Ask(AskArgs),
    /// Run the provider simulator until interrupted.
    Sim(SimArgs),
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
    /// The prompt; read from stdin when absent.
    pub(crate) prompt: Vec<String>,
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
