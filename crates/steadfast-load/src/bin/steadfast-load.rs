//! `steadfast-load`: see the crate documentation (`steadfast_load`).

fn main() -> std::process::ExitCode {
    steadfast_load::cli::main()
}

/// The same allocator as the `steadfast` binary (feature `mimalloc`, on by default), so that the
/// proxy floor and the gateway it is compared with allocate alike.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
