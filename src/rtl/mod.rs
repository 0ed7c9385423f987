//! Verilog for the SPARQ hardware family (README.md, "Generating
//! the Verilog"), from one validated [`Design`]: askama templates under
//! `templates/rtl/`, one module per file, every module name prefixed with
//! the design name, plus a filelist, a README for the hardware engineer, a
//! machine-readable [`Manifest`] that also names the files of downstream
//! flows ([`Flows`]: FuseSoC core, SDC and PCF constraints, self-checking
//! testbench), which `crate::flows::generate` renders and adds: they need
//! the simulator and synthesis, and this module imports neither.
//!
//! `generate` is pure (design -> strings); [`Generated::write`] writes the
//! folder atomically. The port contract is verif/INTERFACE.md.

pub mod align;
pub mod constraints;
mod decode;
mod dot;
pub mod flow_files;
pub mod manifest;
mod pair_mul;
pub mod params;
mod pe;
pub mod plan;
mod readme;
mod stages;
mod systolic;
mod top;
mod window;

pub use flow_files::{FlowOptions, Flows};
pub use manifest::{
    content_hash, pe_info, ArrayInfo, Direction, Manifest, Parameter, PeInfo, Port, MANIFEST_FILE,
};

use crate::config::{ArrayShape, Design, PeKind};
use crate::output::{write_dir, DirOptions, FileSet};
use plan::PePlan;
use std::path::{Path, PathBuf};

/// The subfolder of a generated folder where `synth` writes its reports;
/// regenerating the design keeps it.
pub const REPORTS_DIR: &str = "reports";
/// Where `sparqgen asic` writes the layout of the design, inside its folder;
/// regenerating the design keeps it too.
pub const ASIC_DIR: &str = "asic";

/// An error while generating or reading generated RTL.
#[derive(Debug, thiserror::Error)]
pub enum RtlError {
    #[error("cannot render template {template}: {source}")]
    Template {
        template: &'static str,
        #[source]
        source: askama::Error,
    },
    #[error("{path}: {message}")]
    Manifest { path: String, message: String },
}

/// The PE kind as prose names it.
pub(crate) fn kind_title(kind: &PeKind) -> &'static str {
    match kind {
        PeKind::Sparq(_) => "SPARQ",
        PeKind::Mac8x8 => "mac8x8",
        PeKind::Mac4x8 => "mac4x8",
    }
}

/// The common opening of every generated Verilog file.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub purpose: String,
    pub design: String,
    pub hash: String,
}

impl Header {
    fn new(design: &Design, purpose: impl Into<String>) -> Header {
        Header {
            purpose: purpose.into(),
            design: design.name().to_string(),
            hash: design.short_hash(),
        }
    }
}

pub(crate) fn render<T: askama::Template>(
    template: &'static str,
    t: &T,
) -> Result<String, RtlError> {
    // askama drops the template's final newline; every file ends with one.
    let mut text = t
        .render()
        .map_err(|source| RtlError::Template { template, source })?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// A generated design: its files (relative to `<out>/<name>/`) and its
/// manifest (also among the files, as `manifest.yaml`).
#[derive(Debug, Clone)]
pub struct Generated {
    pub manifest: Manifest,
    pub files: FileSet,
}

impl Generated {
    /// The design name: the folder's name.
    pub fn name(&self) -> &str {
        self.manifest.design.name()
    }

    /// The Verilog files in compile order (the top last), as `(name, text)`.
    pub fn verilog(&self) -> Result<Vec<(String, Vec<u8>)>, RtlError> {
        self.manifest
            .files
            .iter()
            .map(|f| {
                let text = self.files.get(f).ok_or_else(|| RtlError::Manifest {
                    path: f.clone(),
                    message: "listed in the manifest but not generated".into(),
                })?;
                Ok((f.clone(), text.to_vec()))
            })
            .collect()
    }

    /// The same folder with `extra` files added after the others (before
    /// `manifest.yaml`), the manifest's content hash taken over them too.
    pub fn with_files(self, design: &Design, extra: FileSet) -> Result<Generated, RtlError> {
        let mut files = self.files;
        files.files.retain(|(p, _)| p != Path::new(MANIFEST_FILE));
        files.files.extend(extra.files);
        seal(design, self.manifest, files)
    }

    /// Write the folder `out_dir/<name>/` atomically; returns its path. An
    /// older folder is replaced only if sparqgen wrote it and nobody changed
    /// it since (or `force`); its `reports/` (from `synth`) is kept.
    pub fn write(&self, out_dir: &Path, force: bool) -> anyhow::Result<PathBuf> {
        let dest = out_dir.join(self.name());
        let opts = DirOptions {
            force,
            keep: &[REPORTS_DIR, ASIC_DIR],
        };
        write_dir(&dest, &self.files, &opts)?;
        Ok(dest)
    }
}

/// The top module's ports of `design` (names, directions, widths with the
/// default parameters), without rendering anything.
pub fn ports(design: &Design) -> Vec<Port> {
    manifest::top_ports(design, &PePlan::new(design))
}

/// The name of a design's top module, `N_top`: the one definition that
/// the RTL, its manifest, the flows and the synthesis reports share.
pub fn top_module(design: &Design) -> String {
    format!("{}_top", design.name())
}

/// The module names of a design, leaves first, the top last.
pub fn module_names(design: &Design) -> Vec<String> {
    let n = &design.name();
    let mut m = Vec::new();
    if let PeKind::Sparq(s) = &design.pe().kind() {
        m.push(format!("{n}_window"));
        if s.pair_sharing && s.placements.window_bits() < 4 {
            m.push(format!("{n}_wide_window"));
        }
    }
    m.push(format!("{n}_decode"));
    m.push(format!("{n}_pair_mul"));
    match design.array() {
        ArrayShape::Single => m.push(format!("{n}_pe")),
        ArrayShape::Systolic { .. } => {
            m.push(format!("{n}_pe"));
            m.push(format!("{n}_systolic_array"));
        }
        ArrayShape::Dot { .. } => m.push(format!("{n}_dot_unit")),
    }
    m.push(top_module(design));
    m
}

/// Generate `design`'s Verilog, filelist, README and manifest (flow files
/// named with the default [`FlowOptions`], not rendered: the whole folder
/// is `crate::flows::generate`).
pub fn generate(design: &Design) -> Result<Generated, RtlError> {
    generate_with(design, &FlowOptions::default())
}

/// Generate `design`'s Verilog, filelist, README and manifest; `opts`
/// shapes what the manifest and README say of the flow files.
pub fn generate_with(design: &Design, opts: &FlowOptions) -> Result<Generated, RtlError> {
    let plan = PePlan::new(design);
    let modules = module_names(design);
    let mut manifest = Manifest::new(design, &plan, modules.clone());
    manifest.flows = Some(Flows::new(design, opts));
    let n = &design.name();
    let mut verilog: Vec<(String, String)> = Vec::new();
    let mut push = |module: &str, text: String| verilog.push((format!("{module}.v"), text));

    if let plan::Decode::Sparq(d) = &plan.decode {
        push(&d.window.module, window::render(design, &d.window, false)?);
        if let Some(ww) = d.wide.as_ref().and_then(|w| w.window.as_ref()) {
            push(&ww.module, window::render(design, ww, true)?);
        }
    }
    push(&format!("{n}_decode"), decode::render(design, &plan)?);
    push(&format!("{n}_pair_mul"), pair_mul::render(design, &plan)?);
    match design.array() {
        ArrayShape::Single => push(&format!("{n}_pe"), pe::render(design, &plan, false)?),
        ArrayShape::Systolic { rows, cols } => {
            push(&format!("{n}_pe"), pe::render(design, &plan, true)?);
            push(
                &format!("{n}_systolic_array"),
                systolic::render(design, &plan, rows, cols)?,
            );
        }
        ArrayShape::Dot { lanes } => {
            push(&format!("{n}_dot_unit"), dot::render(design, &plan, lanes)?)
        }
    }
    push(&top_module(design), top::render(design, &plan)?);
    debug_assert_eq!(
        verilog.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(),
        manifest.files
    );

    let filelist = readme::filelist(design, &manifest)?;
    let readme = readme::readme(design, &plan, &manifest)?;
    let mut files = FileSet::default();
    for (path, text) in verilog {
        files.add(path, text);
    }
    files.add(manifest.filelist.clone(), filelist);
    files.add(manifest.readme.clone(), readme);
    seal(design, manifest, files)
}

/// Hash `files` into the manifest and add `manifest.yaml` last.
fn seal(
    design: &Design,
    mut manifest: Manifest,
    mut files: FileSet,
) -> Result<Generated, RtlError> {
    manifest.content_hash = content_hash(
        files
            .files
            .iter()
            // infallible: paths built from validated identifiers, UTF-8
            .map(|(p, c)| (p.to_str().expect("generated names are ASCII"), c.as_slice())),
    );
    files.add(MANIFEST_FILE, readme::manifest_yaml(design, &manifest)?);
    Ok(Generated { manifest, files })
}
