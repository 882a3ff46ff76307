//! `steadfast`: ask a model with retries and fallbacks, run the simulator, demonstrate every
//! scenario.

mod args;
mod ask;
mod demo;
mod embedded;
mod gateway;
mod policy;
mod quota;
mod sim;
mod telemetry;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

/// mimalloc as the global allocator (feature `mimalloc`, on by default): the gateway allocates on
/// every request, and glibc's malloc/free were ~13% of its CPU.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match telemetry::init(cli.verbose, cli.otlp.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Ask(a) => ask::run(*a).await,
            Command::Sim(s) => sim::run(s).await,
            Command::Demo(d) => demo::run(d).await,
            Command::Gateway(g) => gateway::run(g).await,
        }
    });
    drop(runtime);
    telemetry.finish();
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            report(&e);
            ExitCode::FAILURE
        }
    }
}

/// Prints the error and its chain of causes, one line each.
fn report(e: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {e}");
    for cause in e.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
