//! External tools (Verilator, Yosys, Icarus, nextpnr): found on PATH or not,
//! their versions, and the command that installs a missing one. Nothing here
//! panics on a missing or old tool: callers get a [`ToolError`] that says
//! what to run.

use std::process::Command;

/// A tool sparqgen drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Verilator,
    Yosys,
    Iverilog,
    Vvp,
    NextpnrIce40,
    /// OpenSTA (timing and power on a cell library).
    Sta,
}

impl Tool {
    pub fn program(self) -> &'static str {
        match self {
            Tool::Verilator => "verilator",
            Tool::Yosys => "yosys",
            Tool::Iverilog => "iverilog",
            Tool::Vvp => "vvp",
            Tool::NextpnrIce40 => "nextpnr-ice40",
            Tool::Sta => "sta",
        }
    }

    fn version_args(self) -> &'static [&'static str] {
        match self {
            Tool::Yosys => &["-V"],
            Tool::Iverilog => &["-V"],
            Tool::Vvp => &["-V"],
            Tool::Sta => &["-version"],
            _ => &["--version"],
        }
    }

    /// Debian package that provides the tool.
    pub fn package(self) -> &'static str {
        match self {
            Tool::Verilator => "verilator",
            Tool::Yosys => "yosys",
            Tool::Iverilog | Tool::Vvp => "iverilog",
            Tool::NextpnrIce40 => "nextpnr-ice40",
            Tool::Sta => "opensta",
        }
    }

    /// Oldest version sparqgen supports, as (major, minor).
    pub fn min_version(self) -> (u32, u32) {
        match self {
            Tool::Verilator => (5, 6),
            Tool::Yosys => (0, 23),
            Tool::Iverilog | Tool::Vvp => (11, 0),
            Tool::NextpnrIce40 | Tool::Sta => (0, 0),
        }
    }

    /// The oldest supported version as its tool prints it.
    pub fn min_version_text(self) -> &'static str {
        match self {
            Tool::Verilator => "5.006",
            Tool::Yosys => "0.23",
            Tool::Iverilog | Tool::Vvp => "11.0",
            Tool::NextpnrIce40 | Tool::Sta => "any",
        }
    }

    pub fn install_hint(self) -> String {
        format!(
            "install it with: apt-get update && apt-get install -y {} (or run scripts/setup.sh)",
            self.package()
        )
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolError {
    #[error("{program} was not found on PATH; {hint}")]
    Missing { program: &'static str, hint: String },
    #[error("{what} {path} was not found; install it with: apt-get update && apt-get install -y {package} (or run scripts/setup.sh)")]
    MissingFile {
        what: &'static str,
        path: String,
        package: &'static str,
    },
    #[error("{why}; a working {program} answers at once")]
    Hangs { program: &'static str, why: String },
    #[error("{program} {found} is too old (sparqgen needs {need} or newer); {hint}")]
    TooOld {
        program: &'static str,
        found: String,
        need: String,
        hint: String,
    },
}

/// A found tool: its program name and the first line of its version text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    pub program: String,
    pub version: String,
}

/// The OSU 0.18 um standard-cell library of Debian's `qflow-tech-osu018`:
/// the liberty file (`synth --target liberty` without `--liberty`) and,
/// next to it, the cells' Verilog models the power simulation runs.
pub const OSU018_LIB: &str = "/usr/share/qflow/tech/osu018/osu018_stdcells.lib";
pub const OSU018_PACKAGE: &str = "qflow-tech-osu018";

/// The OSU 0.18 um liberty file, or the command that installs it.
pub fn osu018() -> Result<std::path::PathBuf, ToolError> {
    let p = std::path::PathBuf::from(OSU018_LIB);
    if p.is_file() {
        Ok(p)
    } else {
        Err(ToolError::MissingFile {
            what: "the OSU 0.18 um cell library",
            path: OSU018_LIB.to_string(),
            package: OSU018_PACKAGE,
        })
    }
}

/// Parse the first `major.minor` in a version text.
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let bytes = text.as_bytes();
    for (i, c) in bytes.iter().enumerate() {
        if c.is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let rest = &text[i..];
            let mut it = rest.split(|c: char| !c.is_ascii_digit());
            let major = it.next()?.parse().ok()?;
            let after = &rest[rest.find('.').unwrap_or(rest.len())..];
            if !after.starts_with('.') || rest.find('.') != Some(major_len(rest)) {
                continue;
            }
            let minor = after[1..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            return Some((major, minor));
        }
    }
    None
}

fn major_len(s: &str) -> usize {
    s.chars().take_while(|c| c.is_ascii_digit()).count()
}

/// Find `tool` and check its version.
pub fn find(tool: Tool) -> Result<Found, ToolError> {
    let out = crate::process::output_within(
        Command::new(tool.program()).args(tool.version_args()),
        crate::process::PROBE,
    )
    .map_err(|e| match e {
        crate::process::RunError::TimedOut(t) => ToolError::Hangs {
            program: tool.program(),
            why: t.to_string(),
        },
        crate::process::RunError::Spawn { .. } => ToolError::Missing {
            program: tool.program(),
            hint: tool.install_hint(),
        },
    })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let first = text.lines().next().unwrap_or("").trim().to_string();
    let need = tool.min_version();
    if need != (0, 0) {
        match parse_version(&first) {
            Some(v) if v >= need => {}
            _ => {
                return Err(ToolError::TooOld {
                    program: tool.program(),
                    found: first,
                    need: tool.min_version_text().to_string(),
                    hint: tool.install_hint(),
                })
            }
        }
    }
    Ok(Found {
        program: tool.program().to_string(),
        version: first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    /// A missing cell library names the file and the package that has it.
    #[test]
    fn missing_library_says_what_to_install() {
        let e = ToolError::MissingFile {
            what: "the OSU 0.18 um cell library",
            path: OSU018_LIB.to_string(),
            package: OSU018_PACKAGE,
        }
        .to_string();
        assert!(e.contains(OSU018_LIB), "{e}");
        assert!(
            e.contains("apt-get install -y qflow-tech-osu018") && !e.contains('\n'),
            "{e}"
        );
        assert!(Tool::Sta
            .install_hint()
            .contains("apt-get install -y opensta"));
    }

    #[test]
    fn versions_parse() {
        assert_eq!(
            parse_version("Verilator 5.006 2023-01-22 rev (Debian 5.006-3)"),
            Some((5, 6))
        );
        assert_eq!(
            parse_version("Yosys 0.23 (git sha1 7ce5011c24b)"),
            Some((0, 23))
        );
        assert_eq!(
            parse_version("Icarus Verilog version 11.0 (stable) ()"),
            Some((11, 0))
        );
        assert_eq!(parse_version("Verilator 4.038 2020-07-11"), Some((4, 38)));
        assert!(parse_version("Verilator 4.038") < Some((5, 6)));
    }
}
