fn main() {
    std::process::exit(canary_report::cli::main());
}
