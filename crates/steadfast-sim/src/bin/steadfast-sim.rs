//! `steadfast-sim`: run the simulator on an address with an optional scenario file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use steadfast_sim::{Scenario, Simulator};

/// A fault-injecting simulator of LLM provider APIs (OpenAI, Anthropic, Gemini, Mistral, Cohere,
/// Bedrock, Azure, Groq, xAI, LiteLLM).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Scenario file (TOML or JSON).
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Print only the `export NAME=value` lines (handy for scripts that parse the address).
    #[arg(long)]
    quiet: bool,
    /// Worker threads (default: number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = args.threads {
        builder.worker_threads(n.max(1));
    }
    let runtime = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let scenario = match &args.scenario {
        Some(path) => match Scenario::from_path(path) {
            Ok(s) => s,
            Err(e) => return fail(&e),
        },
        None => Scenario::new(),
    };
    let sim = match Simulator::start_on(args.addr, scenario).await {
        Ok(sim) => sim,
        Err(e) => return fail(&e),
    };
    let text = if args.quiet {
        steadfast_sim::exports(&sim, steadfast_sim::DEFAULT_KEY)
    } else {
        steadfast_sim::describe(&sim)
    };
    println!("{text}");
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    ExitCode::SUCCESS
}

fn fail(e: &dyn std::error::Error) -> ExitCode {
    let mut msg = format!("error: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    eprintln!("{msg}");
    ExitCode::FAILURE
}
