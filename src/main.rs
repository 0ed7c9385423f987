//! sparqgen's command line: parse, load the validated design, dispatch.
//! Exit codes: 0 success, 1 a check failed (a mismatch), 2 usage or I/O error.

mod cmd;

use clap::Parser;

fn main() {
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
