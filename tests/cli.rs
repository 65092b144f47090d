//! The CLI integration tests: the built `rke` binary run as a user would, without nodes (loopback
//! servers at most). One test binary with a module per command area in tests/cli/, so the rke
//! library and the shared helpers (tests/common/) are linked once, not once per area.
//! `cargo test --test cli validate::` runs one area.

mod common;

mod cli {
    mod config_cert;
    mod docs;
    mod etcd;
    mod json;
    mod kdm_metadata;
    mod remove;
    mod secrets;
    mod signals;
    mod status;
    mod up_init;
    mod validate;
    mod version_step;
}
