//! sparqgen's command line: parse, load the validated design, dispatch.
//! Exit codes: 0 success, 1 a check failed (a mismatch), 2 usage or I/O error.

mod cmd;

use clap::Parser;

fn main() {
    // A closed stdout (`sparqgen check | head -1`) ends the process quietly,
    // as it does for other Unix tools, instead of a panic in println!.
    // SAFETY: called before any other thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {}", message(&e));
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
