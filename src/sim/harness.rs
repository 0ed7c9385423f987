//! Streaming records through a simulator process: the compiled Verilator
//! harness (binary batches, see `templates/sim/driver.cpp`) or Icarus `vvp`
//! running `templates/sim/icarus_bench.v` (one hex line per record).
//!
//! One process per run, spawned once. A writer thread generates and sends
//! batch `k + 1` while the simulator works on batch `k` and the calling
//! thread checks batch `k - 1`.

use super::SimError;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;

const MAGIC: u32 = 0x4851_5053;
const PROTOCOL: u32 = 3;

/// The simulator that runs a harness.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A compiled Verilator harness.
    Verilator { exe: PathBuf },
    /// An Icarus `vvp` image of the bench.
    Icarus { vvp: PathBuf },
}

/// One batch of records and whatever the caller needs back with its
/// outputs.
pub struct Batch<M> {
    /// `records * (1 + in_words)` words: flags, then the input bus.
    pub words: Vec<u32>,
    pub records: u32,
    /// Records with the sample flag (outputs expected back).
    pub samples: u32,
    pub meta: M,
}

/// Totals of a finished stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamStats {
    /// Cycles the simulator reports it ran.
    pub cycles: u64,
    /// CPU seconds the simulator process used (Verilator only).
    pub sim_cpu_secs: Option<f64>,
}

/// What the checker gets back for a batch.
pub struct Done<M> {
    pub records: u32,
    pub samples: u32,
    pub meta: M,
}

/// Run `batches` through `backend` and hand each batch's meta with its
/// sampled outputs (`samples * out_words` words) to `on_batch`. `vcd` asks the
/// simulator to write a waveform (records with the trace flags select the
/// window).
pub fn stream<M: Send, I>(
    backend: &Backend,
    in_words: u32,
    out_words: u32,
    vcd: Option<&Path>,
    batches: I,
    mut on_batch: impl FnMut(Done<M>, &[u32]),
) -> Result<StreamStats, SimError>
where
    I: Iterator<Item = Batch<M>> + Send,
{
    let mut cmd = match backend {
        Backend::Verilator { exe } => {
            let mut c = Command::new(exe);
            if let Some(v) = vcd {
                c.arg("--vcd").arg(v);
            }
            c
        }
        Backend::Icarus { vvp } => {
            let mut c = Command::new("vvp");
            c.arg("-n").arg(vvp);
            if let Some(v) = vcd {
                c.arg(format!("+vcd={}", v.display()));
            }
            c
        }
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| SimError::Harness {
            message: format!("cannot start {:?}: {e}", cmd.get_program()),
        })?;
    // infallible: all three were set to Stdio::piped() above
    let stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let icarus = matches!(backend, Backend::Icarus { .. });

    std::thread::scope(|s| {
        let err_reader = s.spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            text
        });
        // Icarus buffers its output until it exits, so the writer must not
        // wait for the checker: an unbounded queue (Icarus runs a subset).
        let (tx, rx) = if icarus {
            let (tx, rx) = mpsc::channel::<Done<M>>();
            (Queue::Unbounded(tx), rx)
        } else {
            let (tx, rx) = mpsc::sync_channel::<Done<M>>(2);
            (Queue::Bounded(tx), rx)
        };
        let writer = s.spawn(move || write_all(stdin, batches, tx, icarus, in_words));
        let read = if icarus {
            read_icarus(stdout, rx, out_words, &mut on_batch)
        } else {
            read_verilator(stdout, rx, in_words, out_words, &mut on_batch)
        };
        if read.is_err() {
            // The simulator may be blocked on a full pipe nobody reads any
            // more; stop it so that the writer sees a broken pipe.
            let _ = child.kill();
        }
        // infallible: the writer thread returns its errors; it panics only on a bug
        let wrote = writer.join().expect("writer thread");
        let status = child.wait();
        let err_text = err_reader.join().unwrap_or_default();
        finish(read, wrote, status, err_text, &mut child)
    })
}

fn finish(
    read: Result<StreamStats, String>,
    wrote: Result<(), String>,
    status: std::io::Result<std::process::ExitStatus>,
    err_text: String,
    _child: &mut Child,
) -> Result<StreamStats, SimError> {
    let status_ok = matches!(&status, Ok(s) if s.success());
    let tail: String = {
        let lines: Vec<&str> = err_text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    match (read, wrote) {
        (Ok(stats), Ok(())) if status_ok => Ok(stats),
        (r, w) => {
            let mut why = Vec::new();
            if let Err(e) = r {
                why.push(e);
            }
            if let Err(e) = w {
                why.push(e);
            }
            match status {
                Ok(s) if !s.success() => why.push(format!("the simulator exited with {s}")),
                Err(e) => why.push(format!("cannot wait for the simulator: {e}")),
                _ => {}
            }
            if !tail.trim().is_empty() {
                why.push(format!("its last messages:\n{tail}"));
            }
            Err(SimError::Harness {
                message: why.join("; "),
            })
        }
    }
}

fn as_bytes(words: &[u32]) -> &[u8] {
    // SAFETY: u32 has no padding and any byte pattern is a valid u8; the
    // length covers exactly the words. The protocol is little-endian, which
    // the compile-time check below guarantees is the host order.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), std::mem::size_of_val(words)) }
}

#[cfg(not(target_endian = "little"))]
compile_error!("the harness protocol assumes a little-endian host");

/// The writer's side of the queue to the checker.
enum Queue<T> {
    Bounded(mpsc::SyncSender<T>),
    Unbounded(mpsc::Sender<T>),
}

impl<T> Queue<T> {
    fn send(&self, v: T) -> Result<(), ()> {
        match self {
            Queue::Bounded(t) => t.send(v).map_err(|_| ()),
            Queue::Unbounded(t) => t.send(v).map_err(|_| ()),
        }
    }
}

fn write_all<M, I: Iterator<Item = Batch<M>>>(
    stdin: ChildStdin,
    batches: I,
    tx: Queue<Done<M>>,
    icarus: bool,
    in_words: u32,
) -> Result<(), String> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, stdin);
    let rec = 1 + in_words as usize;
    let mut line = String::new();
    for b in batches {
        debug_assert_eq!(b.words.len(), b.records as usize * rec);
        // Announce the batch before sending it: a simulator that writes
        // outputs while it reads (Icarus) must find the checker reading.
        let words = b.words;
        let done = Done {
            records: b.records,
            samples: b.samples,
            meta: b.meta,
        };
        if tx.send(done).is_err() {
            return Ok(()); // the reader stopped; it reports why
        }
        let r = if icarus {
            let mut res = Ok(());
            for r in words.chunks_exact(rec) {
                line.clear();
                for word in r.iter().rev() {
                    push_hex(&mut line, *word);
                }
                line.push('\n');
                if let Err(e) = w.write_all(line.as_bytes()) {
                    res = Err(e);
                    break;
                }
            }
            res.and_then(|_| w.flush())
        } else {
            w.write_all(&b.records.to_le_bytes())
                .and_then(|_| w.write_all(as_bytes(&words)))
                .and_then(|_| w.flush())
        };
        if let Err(e) = r {
            return Err(format!("cannot send vectors to the simulator: {e}"));
        }
    }
    drop(tx);
    if !icarus {
        w.write_all(&0u32.to_le_bytes())
            .and_then(|_| w.flush())
            .map_err(|e| format!("cannot end the run: {e}"))?;
    }
    Ok(())
}

fn push_hex(s: &mut String, w: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..8).rev() {
        s.push(HEX[((w >> (i * 4)) & 15) as usize] as char);
    }
}

fn read_words(r: &mut impl Read, buf: &mut Vec<u32>, n: usize) -> std::io::Result<()> {
    buf.clear();
    buf.resize(n, 0);
    // SAFETY: as in `as_bytes`, for a mutable buffer of plain u32.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(
            buf.as_mut_ptr().cast::<u8>(),
            std::mem::size_of_val(&buf[..]),
        )
    };
    r.read_exact(bytes)
}

fn read_verilator<M>(
    stdout: ChildStdout,
    rx: mpsc::Receiver<Done<M>>,
    in_words: u32,
    out_words: u32,
    on_batch: &mut impl FnMut(Done<M>, &[u32]),
) -> Result<StreamStats, String> {
    let mut r = BufReader::with_capacity(1 << 20, stdout);
    let mut buf = Vec::new();
    read_words(&mut r, &mut buf, 4).map_err(|e| format!("the harness did not start: {e}"))?;
    if buf[0] != MAGIC || buf[1] != PROTOCOL {
        return Err(format!(
            "the harness speaks another protocol (magic {:#x}, version {})",
            buf[0], buf[1]
        ));
    }
    if buf[2] != in_words || buf[3] != out_words {
        return Err(format!(
            "the harness was built for {} input and {} output words, the run needs {in_words} and {out_words}",
            buf[2], buf[3]
        ));
    }
    for b in rx {
        read_words(&mut r, &mut buf, 1)
            .map_err(|e| format!("the harness stopped answering: {e}"))?;
        let m = buf[0];
        if m != b.samples {
            return Err(format!(
                "the harness returned {m} samples for a batch with {}",
                b.samples
            ));
        }
        read_words(&mut r, &mut buf, m as usize * out_words as usize)
            .map_err(|e| format!("the harness stopped answering: {e}"))?;
        on_batch(b, &buf);
    }
    read_words(&mut r, &mut buf, 5).map_err(|e| format!("the harness did not finish: {e}"))?;
    if buf[0] != 0 {
        return Err("the harness ended with an unexpected reply".into());
    }
    Ok(StreamStats {
        cycles: u64::from(buf[1]) | u64::from(buf[2]) << 32,
        sim_cpu_secs: Some((u64::from(buf[3]) | u64::from(buf[4]) << 32) as f64 * 1e-6),
    })
}

fn read_icarus<M>(
    stdout: ChildStdout,
    rx: mpsc::Receiver<Done<M>>,
    out_words: u32,
    on_batch: &mut impl FnMut(Done<M>, &[u32]),
) -> Result<StreamStats, String> {
    let mut lines = BufReader::new(stdout).lines();
    let mut buf = Vec::new();
    let mut next_output = |buf: &mut Vec<u32>| -> Result<(), String> {
        loop {
            let line = lines
                .next()
                .ok_or_else(|| "Icarus stopped before printing every output".to_string())?
                .map_err(|e| format!("cannot read Icarus output: {e}"))?;
            if let Some(hex) = line.strip_prefix("O:") {
                return parse_hex_words(hex.trim(), out_words as usize, buf)
                    .map_err(|e| format!("Icarus printed {line:?}: {e}"));
            }
        }
    };
    for b in rx {
        buf.clear();
        for _ in 0..b.samples {
            next_output(&mut buf)?;
        }
        on_batch(b, &buf);
    }
    // the closing "Q:<cycles>" line
    let mut cycles = 0;
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("Q:") {
            cycles = n.trim().parse().unwrap_or(0);
        }
    }
    Ok(StreamStats {
        cycles,
        sim_cpu_secs: None,
    })
}

/// Append `n` words parsed from a hex number (most significant digit first).
fn parse_hex_words(hex: &str, n: usize, out: &mut Vec<u32>) -> Result<(), String> {
    let digits = hex.as_bytes();
    let base = out.len();
    out.resize(base + n, 0);
    for (i, &d) in digits.iter().rev().enumerate() {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            b'x' | b'X' | b'z' | b'Z' => {
                return Err("the outputs hold X or Z bits (an unreset or undriven register)".into())
            }
            _ => return Err(format!("{:?} is not a hex digit", d as char)),
        };
        let w = i / 8;
        if w >= n {
            if v != 0 {
                return Err("more digits than the output bus has".into());
            }
            continue;
        }
        out[base + w] |= u32::from(v) << ((i % 8) * 4);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_words() {
        let mut v = Vec::new();
        parse_hex_words("00000001fffffffe", 2, &mut v).unwrap();
        assert_eq!(v, vec![0xffff_fffe, 1]);
        let mut s = String::new();
        push_hex(&mut s, 0xdead_beef);
        assert_eq!(s, "deadbeef");
        assert!(parse_hex_words("x0", 1, &mut Vec::new()).is_err());
    }
}
