//! sparqgen's command line: parse, load the validated design, dispatch.
//! Exit codes: 0 success, 1 a check failed (a mismatch), 2 usage or I/O error.

#[macro_use]
extern crate sparqgen;

mod cmd;

use clap::Parser;

fn main() {
    // SIGPIPE stays ignored (Rust's default): a harness that dies while we
    // feed it is an error we report, not a signal that kills sparqgen
    // silently; a closed stdout ends the run quietly through the one
    // writer every command prints with (`sparqgen::output::stdio`).
    let cli = match cmd::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap's --help/--version go to stdout, usage errors to stderr
            let code = e.exit_code();
            let text = e.render().to_string();
            if e.use_stderr() {
                errout!("{text}");
            } else {
                out!("{text}");
            }
            std::process::exit(code);
        }
    };
    match cmd::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            errln!("error: {}", message(&e));
            std::process::exit(2);
        }
    }
}

/// The error and its causes, each cause once: many errors already quote
/// their source in their own text (`{path}: {source}`).
fn message(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}
