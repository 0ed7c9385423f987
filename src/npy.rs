//! NumPy `.npy` files: how PyTorch and NumPy users hand tensors over.
//!
//! Reads format versions 1-3, C order, little-endian integer dtypes; values
//! are range-checked into the element type the model wants (an int64 tensor
//! of activations in 0..=255 is accepted, a float32 one is not). Writes
//! version 1.0.

use crate::tensor::Tensor;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The output path holds something that may not be replaced.
    #[error("{0}")]
    Output(String),
    #[error("{path}: not a .npy file ({why})")]
    Format { path: String, why: String },
    #[error("{path}: dtype {descr} ({name}) is not allowed for {what}; expected {expected}")]
    Dtype {
        path: String,
        descr: String,
        name: String,
        what: String,
        expected: String,
    },
    #[error("{path}: {what} must be {expected}, got shape {got:?}")]
    Shape {
        path: String,
        what: String,
        expected: String,
        got: Vec<usize>,
    },
    #[error(
        "{path}: {what} value {value} at flat index {index} (position {pos:?}) is out of range \
         (allowed: {min}..={max})"
    )]
    Range {
        path: String,
        what: String,
        /// The file's value as written (a uint64 above i64::MAX included;
        /// text, so that the error stays small).
        value: Box<str>,
        index: usize,
        pos: Vec<usize>,
        min: i64,
        max: i64,
    },
}

/// Element types the model reads.
pub trait Element: Copy + Default {
    const NAME: &'static str;
    const DESCR: &'static str;
    const MIN: i64;
    const MAX: i64;
    fn from_i64(v: i64) -> Self;
    fn to_le(self) -> Vec<u8>;
}

impl Element for u8 {
    const NAME: &'static str = "uint8";
    const DESCR: &'static str = "|u1";
    const MIN: i64 = 0;
    const MAX: i64 = 255;
    fn from_i64(v: i64) -> u8 {
        v as u8
    }
    fn to_le(self) -> Vec<u8> {
        vec![self]
    }
}

impl Element for i8 {
    const NAME: &'static str = "int8";
    const DESCR: &'static str = "|i1";
    const MIN: i64 = -128;
    const MAX: i64 = 127;
    fn from_i64(v: i64) -> i8 {
        v as i8
    }
    fn to_le(self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
}

impl Element for i32 {
    const NAME: &'static str = "int32";
    const DESCR: &'static str = "<i4";
    const MIN: i64 = i32::MIN as i64;
    const MAX: i64 = i32::MAX as i64;
    fn from_i64(v: i64) -> i32 {
        v as i32
    }
    fn to_le(self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
}

/// Integer dtypes accepted on input: (descr without byte-order, size, signed, name).
const INT_DTYPES: &[(&str, usize, bool, &str)] = &[
    ("u1", 1, false, "uint8"),
    ("i1", 1, true, "int8"),
    ("u2", 2, false, "uint16"),
    ("i2", 2, true, "int16"),
    ("u4", 4, false, "uint32"),
    ("i4", 4, true, "int32"),
    ("u8", 8, false, "uint64"),
    ("i8", 8, true, "int64"),
];

fn dtype_name(descr: &str) -> String {
    let base = descr.trim_start_matches(['<', '>', '|', '=']);
    if let Some((_, _, _, n)) = INT_DTYPES.iter().find(|d| d.0 == base) {
        return (*n).to_string();
    }
    match base {
        "f2" => "float16",
        "f4" => "float32",
        "f8" => "float64",
        "b1" => "bool",
        _ => "unsupported",
    }
    .to_string()
}

struct Header {
    descr: String,
    fortran: bool,
    shape: Vec<usize>,
    data_offset: usize,
}

fn parse_header(bytes: &[u8], path: &str) -> Result<Header, NpyError> {
    let bad = |why: &str| NpyError::Format {
        path: path.to_string(),
        why: why.to_string(),
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("missing the \\x93NUMPY magic"));
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(&format!("format version {v} is not supported"))),
    };
    let text = bytes
        .get(start..start + hlen)
        .ok_or_else(|| bad("truncated header"))?;
    let text = std::str::from_utf8(text).map_err(|_| bad("header is not text"))?;
    let value_of = |key: &str| -> Result<&str, NpyError> {
        let pat = format!("'{key}':");
        let at = text
            .find(&pat)
            .ok_or_else(|| bad(&format!("header has no '{key}'")))?;
        Ok(text[at + pat.len()..].trim_start())
    };
    let descr_v = value_of("descr")?;
    let descr = descr_v
        .strip_prefix('\'')
        .and_then(|s| s.split('\'').next())
        .ok_or_else(|| {
            bad("descr is not a simple dtype string (structured arrays are not supported)")
        })?
        .to_string();
    let fortran = value_of("fortran_order")?.starts_with("True");
    let shape_v = value_of("shape")?;
    let inner = shape_v
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("shape is not a tuple"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| bad("shape has a non-integer entry"))?;
    Ok(Header {
        descr,
        fortran,
        shape,
        data_offset: start + hlen,
    })
}

/// The C-order position of flat `index` in `shape` (for messages).
pub fn unravel(mut index: usize, shape: &[usize]) -> Vec<usize> {
    let mut pos = vec![0; shape.len()];
    for (p, &d) in pos.iter_mut().zip(shape).rev() {
        if d > 0 {
            *p = index % d;
            index /= d;
        }
    }
    pos
}

/// Largest .npy file sparqgen reads.
pub const MAX_FILE_BYTES: u64 = 64 << 30;

/// The bytes of the .npy file at `path`: the header first, then exactly the
/// data its shape needs (and one byte more, so trailing data is seen), so
/// that `/dev/zero` or a pipe that never ends is an error, not a hang.
fn load(path: &Path, p: &str) -> Result<Vec<u8>, NpyError> {
    use std::io::Read;
    let io = |source| NpyError::Io {
        path: p.to_string(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    (&mut f).take(1 << 20).read_to_end(&mut bytes).map_err(io)?;
    let h = parse_header(&bytes, p)?;
    let base = h.descr.trim_start_matches(['<', '>', '|', '=']);
    let Some(size) = base.get(1..).and_then(|n| n.parse::<u64>().ok()) else {
        return Ok(bytes); // not a simple dtype: the caller's check says so
    };
    let total = h
        .shape
        .iter()
        .try_fold(size, |acc, &d| acc.checked_mul(d as u64))
        .and_then(|n| n.checked_add(h.data_offset as u64))
        .filter(|&n| n <= MAX_FILE_BYTES)
        .ok_or_else(|| NpyError::Format {
            path: p.to_string(),
            why: format!(
                "shape {:?} of {} needs more than the {} GiB sparqgen reads",
                h.shape,
                dtype_name(&h.descr),
                MAX_FILE_BYTES >> 30
            ),
        })?;
    let have = bytes.len() as u64;
    if have <= total {
        f.take(total + 1 - have)
            .read_to_end(&mut bytes)
            .map_err(io)?;
    }
    Ok(bytes)
}

/// The data bytes of a parsed file: C order, and exactly the shape's
/// element count times `size` bytes (computed with checked arithmetic, so a
/// crafted shape cannot wrap into a small byte count).
fn data_of<'a>(h: &Header, bytes: &'a [u8], size: usize, p: &str) -> Result<&'a [u8], NpyError> {
    let format = |why: String| NpyError::Format {
        path: p.to_string(),
        why,
    };
    if h.fortran && h.shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err(format(
            "Fortran-ordered arrays are not supported; save with np.ascontiguousarray".into(),
        ));
    }
    let need = h
        .shape
        .iter()
        .try_fold(size, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            format(format!(
                "shape {:?} holds more than 2^64 bytes of {}",
                h.shape,
                dtype_name(&h.descr)
            ))
        })?;
    let body = &bytes[h.data_offset..];
    if body.len() != need {
        return Err(format(format!(
            "data {}: shape {:?} needs {need} bytes, the file has {}",
            if body.len() < need {
                "is truncated"
            } else {
                "has trailing bytes"
            },
            h.shape,
            body.len()
        )));
    }
    Ok(body)
}

/// Read `path` as a tensor of `T` with `ndim` dimensions. `what` names the
/// operand in errors ("A (activations, M x K)").
pub fn read<T: Element>(path: &Path, what: &str, ndim: usize) -> Result<Tensor<T>, NpyError> {
    let p = path.display().to_string();
    let bytes = load(path, &p)?;
    parse(&bytes, &p, what, ndim)
}

/// [`read`] on the bytes of a .npy file; `p` names it in errors.
pub fn parse<T: Element>(
    bytes: &[u8],
    p: &str,
    what: &str,
    ndim: usize,
) -> Result<Tensor<T>, NpyError> {
    let p = p.to_string();
    let h = parse_header(bytes, &p)?;
    let base = h.descr.trim_start_matches(['<', '|', '=']);
    let dtype = INT_DTYPES.iter().find(|d| d.0 == base);
    let big_endian = h.descr.starts_with('>') && !base.ends_with('1');
    let (size, signed) = match dtype {
        Some((_, size, signed, _)) if !big_endian => (*size, *signed),
        _ => {
            return Err(NpyError::Dtype {
                path: p,
                descr: format!("'{}'", h.descr),
                name: dtype_name(&h.descr),
                what: what.to_string(),
                expected: format!(
                    "{} ('{}'), or another little-endian integer dtype with values in {}..={}",
                    T::NAME,
                    T::DESCR,
                    T::MIN,
                    T::MAX
                ),
            })
        }
    };
    if h.shape.len() != ndim {
        return Err(NpyError::Shape {
            path: p,
            what: what.to_string(),
            expected: format!("{ndim}-D"),
            got: h.shape,
        });
    }
    let body = data_of(&h, bytes, size, &p)?;
    let count = body.len() / size;
    let mut data = Vec::with_capacity(count);
    for (i, chunk) in body.chunks_exact(size).take(count).enumerate() {
        let mut buf = [0u8; 8];
        buf[..size].copy_from_slice(chunk);
        let v: i128 = if signed {
            let raw = i64::from_le_bytes(buf);
            let shift = 64 - 8 * size as u32;
            i128::from((raw << shift) >> shift)
        } else {
            i128::from(u64::from_le_bytes(buf))
        };
        let Some(v) = i64::try_from(v)
            .ok()
            .filter(|v| (T::MIN..=T::MAX).contains(v))
        else {
            return Err(NpyError::Range {
                path: p,
                what: what.to_string(),
                value: v.to_string().into(),
                index: i,
                pos: unravel(i, &h.shape),
                min: T::MIN,
                max: T::MAX,
            });
        };
        data.push(T::from_i64(v));
    }
    Ok(Tensor::new(h.shape, data))
}

/// A .npy version 1.0 file: the header for `descr` and the Python shape
/// literal `shape` (`"(2, 3)"`), then `body` as it is.
pub fn encode_raw(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // magic(6) + version(2) + len(2) + header + '\n' is a multiple of 64
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + body.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

/// Serialize a tensor as .npy version 1.0 bytes.
pub fn to_bytes<T: Element>(t: &Tensor<T>) -> Vec<u8> {
    let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let body: Vec<u8> = t.data.iter().flat_map(|v| v.to_le()).collect();
    encode_raw(T::DESCR, &shape, &body)
}

/// Write a tensor atomically: a temporary file beside `path`, then a rename.
pub fn write<T: Element>(path: &Path, t: &Tensor<T>) -> Result<(), NpyError> {
    write_bytes(path, &to_bytes(t))
}

/// A whole .npy file through [`crate::output::write_file`].
fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), NpyError> {
    crate::output::write_file(path, bytes).map_err(|e| match e {
        crate::output::OutputError::Io { source, .. } => NpyError::Io {
            path: path.display().to_string(),
            source,
        },
        refused => NpyError::Output(refused.to_string()),
    })
}

/// Read `path` as a float32 tensor of any rank (float64 is narrowed): the
/// float inputs of a network (`sparqgen net --input`).
pub fn read_f32(path: &Path, what: &str) -> Result<Tensor<f32>, NpyError> {
    let p = path.display().to_string();
    let bytes = load(path, &p)?;
    let h = parse_header(&bytes, &p)?;
    let size = match h.descr.as_str() {
        "<f4" | "=f4" => 4,
        "<f8" | "=f8" => 8,
        _ => {
            return Err(NpyError::Dtype {
                path: p,
                descr: format!("'{}'", h.descr),
                name: dtype_name(&h.descr),
                what: what.to_string(),
                expected: "float32 ('<f4') or float64 ('<f8')".into(),
            })
        }
    };
    let body = data_of(&h, &bytes, size, &p)?;
    let count = body.len() / size;
    let data = body
        .chunks_exact(size)
        .take(count)
        .map(|c| match c.len() {
            4 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            _ => f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32,
        })
        .collect();
    Ok(Tensor::new(h.shape, data))
}

/// Serialize a float32 tensor as .npy version 1.0 bytes.
pub fn to_bytes_f32(t: &Tensor<f32>) -> Vec<u8> {
    let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let body: Vec<u8> = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode_raw("<f4", &shape, &body)
}

/// Write a float32 tensor as [`write`] does.
pub fn write_f32(path: &Path, t: &Tensor<f32>) -> Result<(), NpyError> {
    write_bytes(path, &to_bytes_f32(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_raw(
        dir: &Path,
        name: &str,
        descr: &str,
        shape: &str,
        body: &[u8],
    ) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, encode_raw(descr, shape, body)).unwrap();
        p
    }

    #[test]
    fn round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let t = Tensor::new(vec![2, 3], vec![1i32, -2, 3, i32::MIN, 5, i32::MAX]);
        let p = dir.path().join("c.npy");
        write(&p, &t).unwrap();
        assert_eq!(read::<i32>(&p, "C", 2).unwrap(), t);

        let f = write_raw(dir.path(), "f.npy", "<f4", "(1, 1)", &[0; 4]);
        let e = read::<u8>(&f, "A (activations)", 2)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dtype '<f4' (float32) is not allowed for A"),
            "{e}"
        );

        let s = write_raw(dir.path(), "s.npy", "|u1", "(4,)", &[0; 4]);
        let e = read::<u8>(&s, "A (activations, M x K)", 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be 2-D, got shape [4]"), "{e}");

        let r = write_raw(dir.path(), "r.npy", "<i2", "(1, 2)", &[7, 0, 0x2c, 0x01]);
        let e = read::<u8>(&r, "A", 2).unwrap_err().to_string();
        assert!(
            e.contains("value 300 at flat index 1 (position [0, 1])"),
            "{e}"
        );

        let ok = write_raw(
            dir.path(),
            "ok.npy",
            "<i8",
            "(1, 1)",
            &[200, 0, 0, 0, 0, 0, 0, 0],
        );
        assert_eq!(read::<u8>(&ok, "A", 2).unwrap().data, vec![200]);

        // a uint64 above i64::MAX is named exactly, not as i64::MAX
        let big = write_raw(dir.path(), "big.npy", "<u8", "(1,)", &[0xff; 8]);
        let e = read::<i32>(&big, "labels", 1).unwrap_err().to_string();
        assert!(e.contains("value 18446744073709551615 at"), "{e}");

        std::fs::write(dir.path().join("junk.npy"), b"hello").unwrap();
        let e = read::<u8>(&dir.path().join("junk.npy"), "A", 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a .npy file"), "{e}");
    }
}
