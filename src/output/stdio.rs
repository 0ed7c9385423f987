//! The command line's one writer of standard output and error. Every line a
//! command prints goes through [`outln!`](crate::outln) / [`out!`](crate::out)
//! (stdout) or [`errln!`](crate::errln) / [`errout!`](crate::errout)
//! (stderr), so a full or failing stdout (`sparqgen check > /dev/full`)
//! ends the run with one line on stderr and exit 2 instead of a panic, a
//! closed pipe (`sparqgen check | head -1`) ends it quietly with exit 0, as
//! ripgrep does, and a failing stderr is never a reason to stop.

use std::io::{ErrorKind, Write};

/// Write to stdout and flush; on failure end the process (see the module).
pub fn write_out(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        drop(out);
        stdout_failed(&e)
    }
}

/// Write to stderr; a failure is ignored (there is nowhere left to say it).
pub fn write_err(args: std::fmt::Arguments) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.flush());
}

/// What a failed write to stdout does: a closed pipe ends the run quietly
/// (exit 0), anything else with one line and exit 2.
pub fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    write_err(format_args!(
        "error: cannot write to standard output: {e}\n"
    ));
    std::process::exit(2)
}

/// `println!` through [`write_out`].
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::stdio::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stdio::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`write_out`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::stdio::write_out(format_args!($($arg)*))
    };
}

/// `eprintln!` through [`write_err`].
#[macro_export]
macro_rules! errln {
    () => {
        $crate::output::stdio::write_err(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stdio::write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` through [`write_err`].
#[macro_export]
macro_rules! errout {
    ($($arg:tt)*) => {
        $crate::output::stdio::write_err(format_args!($($arg)*))
    };
}
