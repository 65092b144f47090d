fn main() {
    // Die quietly on a closed pipe (`rke config -s | head`), like other command-line tools,
    // instead of panicking in println!.
    // SAFETY: restoring the default disposition of one signal at start-up, before any thread runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(rke::cli::run());
}
