//! `bench model --compare-ort`: ONNX Runtime's exact int8 GEMM
//! (MatMulInteger, uint8 x uint8) on the same shape, timed in the same run.
//!
//! ORT runs in a Python child process (scripts/ort_bench.py, embedded in
//! the binary and written to a temporary folder) that stays up for the whole
//! bench, so its rounds can be interleaved with ours. Python is optional:
//! without onnxruntime the comparison is skipped with the install command.

use anyhow::{bail, Context, Result};
use sparqgen::arith::{Model, Tensor};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

const SCRIPT: &str = include_str!("../../scripts/ort_bench.py");
const INSTALL: &str = "pip install onnxruntime onnx";

/// A running ORT timing process.
pub struct Ort {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    _dir: tempfile::TempDir,
}

/// Whether `python3` can import onnxruntime, onnx and numpy.
pub fn available() -> bool {
    Command::new("python3")
        .args(["-c", "import onnxruntime, onnx, numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The line that says how to get ONNX Runtime.
pub fn missing() -> String {
    format!("python3 cannot import onnxruntime and onnx (install: {INSTALL})")
}

/// The weights of the check mapped into 0..=127, where ORT's uint8 x uint8
/// and our signed int8 read the same values.
fn non_negative(w: &Tensor<i8>) -> Tensor<i8> {
    Tensor::new(
        w.shape.clone(),
        w.data.iter().map(|&v| (v as u8 & 0x7f) as i8).collect(),
    )
}

impl Ort {
    /// Start ORT on `a` x `w`^T with `threads` intra-op threads, and check
    /// that its result equals the exact int8 model's, bit for bit. The
    /// weights are mapped into 0..=127 first (see [`non_negative`]): ORT's
    /// exact path is uint8 x uint8, so this is the range where both compute
    /// the same product. `None` (after printing how to install it) when
    /// onnxruntime is missing.
    pub fn start(a: &Tensor<u8>, w: &Tensor<i8>, threads: usize) -> Result<Option<Ort>> {
        if !available() {
            outln!("ORT: {}; comparison skipped", missing());
            return Ok(None);
        }
        let dir = tempfile::tempdir().context("temporary folder for the ORT bench")?;
        let w_pos = non_negative(w);
        let w_u8 = Tensor::new(
            w_pos.shape.clone(),
            w_pos.data.iter().map(|&v| v as u8).collect(),
        );
        let (a_path, b_path, c_path) = (
            dir.path().join("a.npy"),
            dir.path().join("b.npy"),
            dir.path().join("c.npy"),
        );
        sparqgen::npy::write(&a_path, a)?;
        sparqgen::npy::write(&b_path, &w_u8)?;
        let args = [a_path.as_os_str(), b_path.as_os_str(), c_path.as_os_str()];
        let ort = Ort::spawn(dir, "ort_bench.py", SCRIPT, &args, &[threads])?;
        let theirs: Tensor<i32> = sparqgen::npy::read(&c_path, "ORT output", 2)?;
        let ours = Model::exact().gemm(a, &w_pos)?;
        if theirs.shape != ours.shape {
            bail!(
                "ORT check: output shape {:?}, the model's {:?}",
                theirs.shape,
                ours.shape
            );
        }
        let wrong = theirs
            .data
            .iter()
            .zip(&ours.data)
            .filter(|(t, o)| t != o)
            .count();
        if wrong != 0 {
            bail!(
                "ORT check: {wrong} of {} outputs differ from the exact int8 model",
                ours.data.len()
            );
        }
        outln!(
            "ORT check: MatMulInteger u8 x u8 equals the exact int8 model on all {} outputs \
             (weights in 0..=127)",
            ours.data.len()
        );
        Ok(Some(ort))
    }

    /// Start `script` (its text, written into `dir`) under python3 with
    /// `paths` and then the numbers `nums`, and wait for its "ready".
    pub fn spawn(
        dir: tempfile::TempDir,
        name: &str,
        text: &str,
        paths: &[&std::ffi::OsStr],
        nums: &[usize],
    ) -> Result<Ort> {
        let script = dir.path().join(name);
        std::fs::write(&script, text).with_context(|| format!("writing {name}"))?;
        let mut child = Command::new("python3")
            .arg(&script)
            .args(paths)
            .args(nums.iter().map(|n| n.to_string()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting python3 for the ORT bench")?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            bail!("ORT bench: no pipe to python3");
        };
        let mut ort = Ort {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            _dir: dir,
        };
        let line = ort.line()?;
        if line != "ready" {
            bail!("ORT bench: expected \"ready\" from {name}, got {line:?}");
        }
        Ok(ort)
    }

    /// One ORT round: the best wall time of `reps` calls, in seconds.
    pub fn round(&mut self, reps: usize) -> Result<f64> {
        self.round_with(reps, "")
    }

    /// [`Ort::round`] with words after the count (`"side"`: see
    /// scripts/ort_net_bench.py).
    pub fn round_with(&mut self, reps: usize, words: &str) -> Result<f64> {
        let Some(stdin) = self.stdin.as_mut() else {
            bail!("ORT bench: ort_bench.py already closed");
        };
        writeln!(stdin, "{} {words}", reps.max(1)).context("writing to ort_bench.py")?;
        stdin.flush().context("writing to ort_bench.py")?;
        let line = self.line()?;
        // ORT's idle pool threads spin for a while after a run; let them
        // settle so they do not slow down whichever configuration is next.
        std::thread::sleep(std::time::Duration::from_millis(200));
        line.parse::<f64>()
            .with_context(|| format!("ORT bench: expected seconds, got {line:?}"))
    }

    fn line(&mut self) -> Result<String> {
        let mut s = String::new();
        let n = self
            .stdout
            .read_line(&mut s)
            .context("reading from ort_bench.py")?;
        if n == 0 {
            bail!("ORT bench: ort_bench.py exited early (see its error above)");
        }
        Ok(s.trim().to_string())
    }
}

impl Drop for Ort {
    fn drop(&mut self) {
        // Closing stdin ends the script's loop; wait so no zombie is left.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// `bench net --compare-ort`: ONNX Runtime on the whole model `model`,
/// every image of `x`, `batch` images at a time (scripts/ort_net_bench.py).
pub struct OrtNet {
    pub ort: Ort,
    /// ORT's first output over all images; `None` when it is not float
    /// (a graph ending in uint8 codes: sparqgen's run dequantizes them).
    pub y: Option<Tensor<f32>>,
}

const NET_SCRIPT: &str = include_str!("../../scripts/ort_net_bench.py");

impl OrtNet {
    /// Start ORT on `model` (bytes, written to a temporary file) and run
    /// every image once; an error naming the install command when
    /// onnxruntime is missing.
    pub fn start(model: &[u8], x: &Tensor<f32>, batch: usize, threads: usize) -> Result<OrtNet> {
        if !available() {
            bail!("--compare-ort: {}", missing());
        }
        let dir = tempfile::tempdir().context("temporary folder for the ORT bench")?;
        let (m, xp, yp) = (
            dir.path().join("model.onnx"),
            dir.path().join("x.npy"),
            dir.path().join("y.npy"),
        );
        std::fs::write(&m, model).context("writing the model for ORT")?;
        sparqgen::npy::write_f32(&xp, x)?;
        let args = [m.as_os_str(), xp.as_os_str(), yp.as_os_str()];
        let ort = Ort::spawn(
            dir,
            "ort_net_bench.py",
            NET_SCRIPT,
            &args,
            &[threads, batch],
        )?;
        let y = sparqgen::npy::read_f32(&yp, "ORT output").ok();
        Ok(OrtNet { ort, y })
    }
}
