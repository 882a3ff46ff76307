//! `steadfast-load`: see the crate documentation (`steadfast_load`).

fn main() -> std::process::ExitCode {
    steadfast_load::cli::main()
}
