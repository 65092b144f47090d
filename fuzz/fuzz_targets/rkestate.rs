//! `cluster.rkestate`: JSON decoding into the full state, as `rke up` reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rke::config::RkeConfig;

fuzz_target!(|data: &[u8]| {
    if let Ok(loaded) = rke::state::decode::<RkeConfig>(data, "cluster.rkestate") {
        // A state that decodes must also encode again (the next save writes it).
        let _ = loaded.state.to_file_bytes();
    }
});
