//! The gateway's config file: any text through `Config::from_toml_str_with_env` (every
//! environment variable set, so that deployments' keys resolve and validation goes on past
//! them). A config may be refused — with its line and column; loading must not panic, and an
//! error's position must lie within the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast_gateway::{Config, Resolve as _};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::from_toml_str_with_env(text, |_| Some("fuzz-value".to_owned())) {
        Ok(config) => {
            for model in &config.models() {
                let _ = config.resolve(model);
            }
        }
        Err(e) => {
            let lines = text.lines().count().max(1) + 1;
            assert!(e.line <= lines, "line {} of {lines}: {e}", e.line);
            let _ = e.to_string();
        }
    }
});
