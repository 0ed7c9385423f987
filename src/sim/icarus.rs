//! The second, independent simulator: Icarus Verilog compiles the same
//! harness top (and a bench that reads records from standard input) with
//! `-g2005`. Compiling takes well under a second, so nothing is cached.

use super::bundle::Bundle;
use super::SimError;
use crate::tools::{self, Tool};
use std::process::Command;

/// A compiled Icarus image in a temporary folder (removed on drop).
pub struct IcarusBuild {
    pub dir: tempfile::TempDir,
    pub vvp: std::path::PathBuf,
    pub secs: f64,
}

pub fn build(bundle: &Bundle) -> Result<IcarusBuild, SimError> {
    tools::find(Tool::Iverilog)?;
    tools::find(Tool::Vvp)?;
    let t = std::time::Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("sparqgen-icarus-")
        .tempdir()
        .map_err(|e| SimError::Io {
            what: "temporary folder for Icarus".into(),
            source: e,
        })?;
    let mut files = Vec::new();
    for (rel, text) in &bundle.sources {
        let p = dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&p, text).map_err(|e| io(&p, e))?;
        files.push(p);
    }
    for (name, text) in [
        ("SimBundle.v", &bundle.wrapper),
        ("SimBench.v", &bundle.icarus_bench),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).map_err(|e| io(&p, e))?;
        files.push(p);
    }
    let vvp = dir.path().join("sim.vvp");
    let out = crate::process::output_within(
        Command::new("iverilog")
            .args(["-g2005", "-s", "SimBench", "-o"])
            .arg(&vvp)
            .args(&files),
        crate::process::BUILD,
    )
    .map_err(|e| SimError::Tool {
        message: e.to_string(),
    })?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return Err(SimError::Icarus {
            label: bundle.names.clone(),
            excerpt: text.lines().take(20).collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(IcarusBuild {
        dir,
        vvp,
        secs: t.elapsed().as_secs_f64(),
    })
}

fn io(p: &std::path::Path, e: std::io::Error) -> SimError {
    SimError::Io {
        what: p.display().to_string(),
        source: e,
    }
}
