//! `~/.ssh/known_hosts`: parsing, then the host lookups a connection makes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rke::transport::known_hosts::KnownHosts;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let hosts = KnownHosts::parse(Path::new("known_hosts"), text);
    for (host, port) in [
        ("10.0.0.1", 22),
        ("node-1.example.com", 2222),
        ("[::1]", 22),
    ] {
        let _ = hosts.entries_for(host, port).count();
        let _ = hosts.authorities_for(host, port);
        let _ = hosts.known_algorithms(host, port);
    }
});
