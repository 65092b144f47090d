//! `cluster.yml`: strict parse, defaults and semantic validation, as `rke up` loads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rke::config::load::check_str(text, Path::new("cluster.yml"));
    }
});
