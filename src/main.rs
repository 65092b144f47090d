fn main() {
    std::process::exit(rke::cli::run());
}
