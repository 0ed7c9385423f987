//! The hardware point of a report: clock, off-chip bandwidth, on-chip
//! buffer, and optionally the hardware's own PE array (used when no design
//! is given). YAML, strict; presets are compiled in.

use serde::{Deserialize, Serialize};

/// Built-in hardware points, by the name `--hw NAME` accepts.
pub const PRESETS: &[(&str, &str)] = &[("eyeriss", include_str!("../../networks/hw/eyeriss.yaml"))];

/// The preset used when `--hw` is not given.
pub const DEFAULT_PRESET: &str = "eyeriss";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HwError {
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    #[error("hardware description is not valid YAML/JSON: {0}")]
    Syntax(String),
}

fn field_err(field: &str, message: impl Into<String>) -> HwError {
    HwError::Field {
        field: field.to_string(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHw {
    name: String,
    clock_mhz: f64,
    buffer_kib: f64,
    bandwidth_gbit_s: f64,
    pe_array: Option<RawArray>,
    mapping_efficiency: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArray {
    rows: u32,
    cols: u32,
    bits: u32,
    psum_bits: Option<u32>,
}

/// A PE array the hardware file describes itself: `rows x cols` PEs, each
/// one `bits x bits` multiply-accumulate per cycle; activations, weights
/// and outputs travel at `bits`; partial sums held in the on-chip buffer
/// take `psum_bits` (default 2 bits + 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HwArray {
    pub rows: u32,
    pub cols: u32,
    pub bits: u32,
    pub psum_bits: u32,
}

/// A validated hardware point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HwPoint {
    pub name: String,
    pub clock_mhz: f64,
    pub buffer_kib: f64,
    pub bandwidth_gbit_s: f64,
    pub pe_array: Option<HwArray>,
    /// The share of the modelled compute rate the real chip reaches on its
    /// own mapping (a calibration: 1 = the cycle model as is; Eyeriss's
    /// row-stationary chip reached 69 % of its peak on AlexNet's
    /// convolutions where our mapping counts 88-90 %). Compute time is the
    /// model's cycles divided by it. Serialized only when not 1, so the
    /// hash of every earlier point holds.
    #[serde(skip_serializing_if = "is_one")]
    pub mapping_efficiency: f64,
}

fn is_one(v: &f64) -> bool {
    *v == 1.0
}

impl HwPoint {
    pub fn from_yaml(text: &str) -> Result<HwPoint, HwError> {
        let raw: RawHw = crate::yaml::from_str(text).map_err(|e| {
            if e.path.is_empty() {
                HwError::Syntax(e.message)
            } else {
                field_err(&e.path_text(), e.message)
            }
        })?;
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(field_err(
                    field,
                    format!("{v} is not allowed (must be > 0)"),
                ))
            }
        };
        if raw.name.trim().is_empty() {
            return Err(field_err("name", "must not be empty"));
        }
        let pe_array = match raw.pe_array {
            None => None,
            Some(a) => {
                for (f, v, lo, hi) in [
                    ("pe_array.rows", a.rows, 1, 4096),
                    ("pe_array.cols", a.cols, 1, 4096),
                    ("pe_array.bits", a.bits, 1, 32),
                ] {
                    if !(lo..=hi).contains(&v) {
                        return Err(field_err(
                            f,
                            format!("{v} is not allowed (allowed: {lo}..={hi})"),
                        ));
                    }
                }
                let psum_bits = a.psum_bits.unwrap_or(2 * a.bits + 8);
                if !(a.bits..=64).contains(&psum_bits) {
                    return Err(field_err(
                        "pe_array.psum_bits",
                        format!("{psum_bits} is not allowed (allowed: {}..=64)", a.bits),
                    ));
                }
                Some(HwArray {
                    rows: a.rows,
                    cols: a.cols,
                    bits: a.bits,
                    psum_bits,
                })
            }
        };
        let mapping_efficiency = match raw.mapping_efficiency {
            None => 1.0,
            Some(e) if e.is_finite() && e > 0.0 && e <= 1.0 => e,
            Some(e) => {
                return Err(field_err(
                    "mapping_efficiency",
                    format!("{e} is not allowed (allowed: > 0 and at most 1)"),
                ))
            }
        };
        Ok(HwPoint {
            name: raw.name,
            clock_mhz: positive("clock_mhz", raw.clock_mhz)?,
            buffer_kib: positive("buffer_kib", raw.buffer_kib)?,
            bandwidth_gbit_s: positive("bandwidth_gbit_s", raw.bandwidth_gbit_s)?,
            pe_array,
            mapping_efficiency,
        })
    }

    /// A preset by name, or a file.
    pub fn load(name_or_path: &str) -> anyhow::Result<HwPoint> {
        use anyhow::Context;
        if let Some((_, text)) = PRESETS.iter().find(|(n, _)| *n == name_or_path) {
            // infallible: a unit test loads every preset
            return Ok(HwPoint::from_yaml(text).expect("presets are valid"));
        }
        let path = std::path::Path::new(name_or_path);
        let text = crate::input::read_text(path).with_context(|| {
            let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            format!(
                "cannot read hardware file {} (presets: {})",
                path.display(),
                names.join(", ")
            )
        })?;
        HwPoint::from_yaml(&text)
            .with_context(|| format!("invalid hardware file {}", path.display()))
    }

    pub fn clock_hz(&self) -> f64 {
        self.clock_mhz * 1e6
    }

    /// Off-chip bandwidth in bits per second.
    pub fn bandwidth_bits_per_s(&self) -> f64 {
        self.bandwidth_gbit_s * 1e9
    }

    /// On-chip buffer in bits (1 KiB = 8192 bits).
    pub fn buffer_bits(&self) -> u64 {
        (self.buffer_kib * 8192.0).floor() as u64
    }

    /// SHA-256 of the canonical JSON (identifies the point in reports).
    pub fn hash(&self) -> String {
        crate::config::hex_sha256(
            serde_json::to_string(self)
                // infallible: plain structs with string keys
                .expect("a hardware point serializes")
                .as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_efficiency_is_checked_and_keeps_old_hashes() {
        let base = "name: x\nclock_mhz: 1\nbuffer_kib: 1\nbandwidth_gbit_s: 1\n";
        let a = HwPoint::from_yaml(base).unwrap();
        let b = HwPoint::from_yaml(&format!("{base}mapping_efficiency: 1\n")).unwrap();
        assert_eq!(a.mapping_efficiency, 1.0);
        assert_eq!(a.hash(), b.hash());
        let c = HwPoint::from_yaml(&format!("{base}mapping_efficiency: 0.69\n")).unwrap();
        assert_eq!(c.mapping_efficiency, 0.69);
        assert_ne!(a.hash(), c.hash());
        for bad in ["0", "1.5", "-0.2"] {
            let e = HwPoint::from_yaml(&format!("{base}mapping_efficiency: {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("mapping_efficiency") && e.contains("at most 1"),
                "{e}"
            );
        }
    }

    #[test]
    fn eyeriss_preset() {
        let h = HwPoint::load("eyeriss").unwrap();
        let a = h.pe_array.unwrap();
        assert_eq!(a.rows * a.cols, 168);
        assert_eq!(a.bits, 16);
        assert_eq!(h.clock_hz(), 200e6);
        assert_eq!(h.buffer_bits(), 108 * 1024 * 8);
    }

    #[test]
    fn errors_name_the_field() {
        let e = HwPoint::from_yaml("name: x\nclock_mhz: 0\nbuffer_kib: 1\nbandwidth_gbit_s: 1\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "clock_mhz: 0 is not allowed (must be > 0)");
        let e = HwPoint::from_yaml(
            "name: x\nclock_mhz: 1\nbuffer_kib: 1\nbandwidth_gbit_s: 1\nbandwith: 2\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `bandwith`"), "{e}");
        let e = HwPoint::from_yaml(
            "name: x\nclock_mhz: 1\nbuffer_kib: 1\nbandwidth_gbit_s: 1\npe_array: {rows: 0, cols: 1, bits: 8}\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "pe_array.rows: 0 is not allowed (allowed: 1..=4096)");
    }
}
