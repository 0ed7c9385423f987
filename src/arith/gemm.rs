//! GEMM and convolution through a PE's arithmetic.

use super::kernel::{dot_tile, padded_k, MR, NR};
use super::lut::SplitLut;
use super::pair::PairTable;
use super::tensor::{MatI32, MatI8, MatU8, Tensor, View};
use crate::config::{Design, PeKind};
use rayon::prelude::*;

/// Weights packed once for many GEMMs ([`Model::pack`]).
pub struct PackedWeights {
    #[cfg(target_arch = "x86_64")]
    inner: Option<super::vnni::PackedB>,
    /// The 2:4 kernel's packing, made by the first 2:4 GEMM that uses it
    /// (or its error: B is not 2:4). Packing per call cost more than the
    /// GEMM on a batch-1 network's late layers (M = 49).
    #[cfg(target_arch = "x86_64")]
    stc: std::sync::OnceLock<Result<super::stc_vnni::PackedB, ArithError>>,
}

/// An input the model cannot compute with. Every variant names the operand
/// and the offending place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArithError {
    #[error("{operand}: expected {expected}, got shape {got:?}")]
    Shape {
        operand: &'static str,
        expected: String,
        got: Vec<usize>,
    },
    #[error(
        "A[{row}][{col}] = {value} is out of range for pe.kind {kind} \
         (allowed: 0..={max}{hint})"
    )]
    ActivationRange {
        row: usize,
        col: usize,
        value: u8,
        max: u8,
        kind: &'static str,
        hint: &'static str,
    },
    #[error(
        "B row {row}, group k = {start}..{end}: {nonzeros} non-zero weights at k = {positions:?}; \
         a 2:4 (stc) weight group allows at most 2"
    )]
    NotTwoOfFour {
        row: usize,
        start: usize,
        end: usize,
        nonzeros: usize,
        positions: Vec<usize>,
    },
    #[error(
        "K = {k} products per output can reach |{worst}|, beyond what the {acc_bits}-bit \
         accumulator{why} holds exactly (at most K = {k_max}); the hardware would wrap \
         modulo 2^{acc_bits}"
    )]
    WouldWrap {
        k: usize,
        k_max: u64,
        worst: u64,
        acc_bits: u32,
        why: &'static str,
    },
    #[error("{0}")]
    Conv(String),
    #[error(
        "{what} would be {dims:?} = {bytes} bytes, over the model's limit of {limit} bytes \
         ({limit_gib} GiB); split the work into smaller batches"
    )]
    TooLarge {
        what: &'static str,
        dims: Vec<usize>,
        /// The exact size, or `more than 2^64` when it does not fit a u64.
        bytes: String,
        limit: usize,
        limit_gib: usize,
    },
}

/// The most memory one tensor the model allocates may take.
pub const MAX_TENSOR_BYTES: usize = 8 << 30;

/// Largest zero padding `conv2d` accepts on each side.
pub const MAX_PADDING: usize = 1 << 16;

/// The byte size of a `dims` tensor of `elem`-byte elements, checked against
/// overflow and [`MAX_TENSOR_BYTES`] before anything is allocated.
pub fn checked_bytes(what: &'static str, dims: &[usize], elem: usize) -> Result<usize, ArithError> {
    let bytes = dims.iter().try_fold(elem, |acc, &d| acc.checked_mul(d));
    match bytes {
        Some(b) if b <= MAX_TENSOR_BYTES => Ok(b),
        _ => Err(ArithError::TooLarge {
            what,
            dims: dims.to_vec(),
            bytes: bytes.map_or("more than 2^64".to_string(), |b| b.to_string()),
            limit: MAX_TENSOR_BYTES,
            limit_gib: MAX_TENSOR_BYTES >> 30,
        }),
    }
}

/// The arithmetic of one design's PE, ready to run: the pair table is
/// built once.
pub struct Model {
    kind: PeKind,
    table: PairTable,
    /// The table split for the vector trim (dense designs).
    lut: Option<SplitLut>,
    acc_bits: u32,
    exact_k_max: u64,
}

/// Largest K whose worst-case sum (255 * 128 per product) fits i32: the
/// model's own accumulator.
pub const I32_EXACT_K_MAX: u64 = (i32::MAX as u64) / (255 * 128);

impl Model {
    pub fn new(design: &Design) -> Model {
        let kind = design.pe().kind();
        Model::assemble(
            kind,
            PairTable::for_kind(&kind),
            design.pe().acc_bits(),
            design.exact_k_max(),
        )
    }

    /// The one place a model is put together: its table and, when the
    /// table splits, the vector trim's lookup.
    fn assemble(kind: PeKind, table: PairTable, acc_bits: u32, exact_k_max: u64) -> Model {
        Model {
            kind,
            lut: SplitLut::from_table(&table),
            table,
            acc_bits,
            exact_k_max,
        }
    }

    /// The same arithmetic as [`Model::new`] with no accumulator of the
    /// design's width behind it: GEMMs are limited only by the model's own
    /// int32 output (co-simulation sums chunks of K exactly and applies the
    /// hardware's wrap itself).
    pub fn unwrapped(kind: &PeKind) -> Model {
        Model::assemble(
            *kind,
            PairTable::for_kind(kind),
            crate::config::limits::ACC_BITS_MAX,
            u64::MAX,
        )
    }

    /// The exact int8 reference: every activation 0..=255 passes unchanged,
    /// sums in i32.
    pub fn exact() -> Model {
        Model::assemble(PeKind::Mac8x8, PairTable::identity(), 32, I32_EXACT_K_MAX)
    }

    pub fn kind(&self) -> &PeKind {
        &self.kind
    }

    /// `(h1, h2)` for one activation pair.
    pub fn pair(&self, a1: u8, a2: u8) -> [u8; 2] {
        self.table.get(a1, a2)
    }

    fn stc(&self) -> bool {
        matches!(self.kind, PeKind::Sparq(s) if s.stc)
    }

    fn check_k(&self, k: usize) -> Result<(), ArithError> {
        let (k_max, acc_bits, why) = if self.exact_k_max <= I32_EXACT_K_MAX {
            (self.exact_k_max, self.acc_bits, "")
        } else {
            (I32_EXACT_K_MAX, 32, " (the model's int32 output)")
        };
        if k as u64 > k_max {
            return Err(ArithError::WouldWrap {
                k,
                k_max,
                worst: k as u64 * u64::from(self.kind.act_max()) * 128,
                acc_bits,
                why,
            });
        }
        Ok(())
    }

    fn check_activations(&self, a: &View<u8>) -> Result<(), ArithError> {
        let max = self.kind.act_max();
        if max == 255 {
            return Ok(());
        }
        let cols = a.shape[1].max(1);
        if let Some(i) = a.data.iter().position(|&v| v > max) {
            return Err(ArithError::ActivationRange {
                row: i / cols,
                col: i % cols,
                value: a.data[i],
                max,
                kind: self.kind.name(),
                hint: "; mac4x8 takes pre-quantized 4-bit activation codes",
            });
        }
        Ok(())
    }

    /// `C = A . B^T` through this PE's arithmetic. A: `M x K` u8, B: `N x K`
    /// i8, C: `M x N` i32.
    pub fn gemm(&self, a: &MatU8, b: &MatI8) -> Result<MatI32, ArithError> {
        self.gemm_view(&a.view(), &b.view())
    }

    /// [`Model::gemm`] on borrowed data.
    pub fn gemm_view(&self, a: &View<u8>, b: &View<i8>) -> Result<MatI32, ArithError> {
        self.gemm_with(Kernel::best(), a, b)
    }

    /// [`Model::gemm_view`] on a chosen kernel (tests hold every kernel this
    /// CPU has to the same results). Panics if the CPU lacks `kernel`.
    pub fn gemm_with(
        &self,
        kernel: Kernel,
        a: &View<u8>,
        b: &View<i8>,
    ) -> Result<MatI32, ArithError> {
        self.gemm_impl(kernel, a, b, None)
    }

    /// [`Model::gemm`] with B packed beforehand by [`Model::pack`] (for
    /// weights used by many GEMMs, a network layer's): the same result, no
    /// packing per call. A packing that does not fit B's shape or the
    /// kernel is ignored (B is packed as usual).
    pub fn gemm_packed(
        &self,
        a: &MatU8,
        b: &MatI8,
        packed: &PackedWeights,
    ) -> Result<MatI32, ArithError> {
        self.gemm_impl(Kernel::best(), &a.view(), &b.view(), Some(packed))
    }

    /// [`Model::gemm_packed`] on a chosen kernel and borrowed data (B
    /// packed by [`Model::pack_for`] the same kernel).
    pub fn gemm_packed_with(
        &self,
        kernel: Kernel,
        a: &View<u8>,
        b: &View<i8>,
        packed: &PackedWeights,
    ) -> Result<MatI32, ArithError> {
        self.gemm_impl(kernel, a, b, Some(packed))
    }

    /// B (`N x K`) packed for the dense byte kernel of this CPU (empty when
    /// it has none); pass it with the same B to [`Model::gemm_packed`].
    pub fn pack(b: &MatI8) -> PackedWeights {
        Model::pack_for(Kernel::best(), &b.view())
    }

    /// B packed for `kernel` (empty when it is not a byte kernel).
    pub fn pack_for(kernel: Kernel, b: &View<i8>) -> PackedWeights {
        #[cfg(target_arch = "x86_64")]
        {
            use super::vnni::{Isa, PackedB};
            let isa = match kernel {
                Kernel::Vnni | Kernel::VnniScalarTrim => Some(Isa::Avx512),
                Kernel::AvxVnni => Some(Isa::AvxVnni),
                Kernel::Avx2 | Kernel::Portable => None,
            };
            let inner = match (isa, b.dims2()) {
                (Some(isa), Some((n, k))) => Some(PackedB::for_isa(isa, b, n, k)),
                _ => None,
            };
            PackedWeights {
                inner,
                stc: std::sync::OnceLock::new(),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (kernel, b);
            PackedWeights {}
        }
    }

    fn gemm_impl(
        &self,
        kernel: Kernel,
        a: &View<u8>,
        b: &View<i8>,
        packed: Option<&PackedWeights>,
    ) -> Result<MatI32, ArithError> {
        assert!(
            kernel.available(),
            "{kernel:?} needs a CPU feature this one lacks"
        );
        let (m, k) = a.dims2().ok_or_else(|| ArithError::Shape {
            operand: "A",
            expected: "a 2-D M x K matrix".into(),
            got: a.shape.to_vec(),
        })?;
        let (n, kb) = b.dims2().ok_or_else(|| ArithError::Shape {
            operand: "B",
            expected: "a 2-D N x K matrix".into(),
            got: b.shape.to_vec(),
        })?;
        if kb != k {
            return Err(ArithError::Shape {
                operand: "B",
                expected: format!("N x {k} (K must match A's {m} x {k})"),
                got: b.shape.to_vec(),
            });
        }
        self.check_k(k)?;
        self.check_activations(a)?;
        checked_bytes("the output C (M x N int32)", &[m, n], 4)?;
        let data = if self.stc() {
            self.gemm_stc(kernel, a, b, m, n, k, packed)?
        } else {
            self.gemm_dense(kernel, a, b, m, n, k, packed)
        };
        Ok(Tensor::new(vec![m, n], data))
    }

    /// 2-D convolution, lowered to GEMM with channel-innermost im2col
    /// (`k = (i * kw + j) * C + c`). X: `N x C x H x W` u8, W: `O x C x kh x
    /// kw` i8, Y: `N x O x H_out x W_out` i32. Dilation 1, groups 1.
    pub fn conv2d(
        &self,
        x: &Tensor<u8>,
        w: &Tensor<i8>,
        stride: usize,
        padding: usize,
    ) -> Result<Tensor<i32>, ArithError> {
        self.conv2d_view(&x.view(), &w.view(), stride, padding)
    }

    /// [`Model::conv2d`] on borrowed data.
    pub fn conv2d_view(
        &self,
        x: &View<u8>,
        w: &View<i8>,
        stride: usize,
        padding: usize,
    ) -> Result<Tensor<i32>, ArithError> {
        let [nb, c, h, wd] = x.dims4().ok_or_else(|| ArithError::Shape {
            operand: "X",
            expected: "a 4-D N x C x H x W tensor".into(),
            got: x.shape.to_vec(),
        })?;
        let [o, cw, kh, kw] = w.dims4().ok_or_else(|| ArithError::Shape {
            operand: "W",
            expected: "a 4-D O x C x kh x kw tensor".into(),
            got: w.shape.to_vec(),
        })?;
        if cw != c {
            return Err(ArithError::Shape {
                operand: "W",
                expected: format!("O x {c} x kh x kw (C must match X's {c} channels)"),
                got: w.shape.to_vec(),
            });
        }
        if stride == 0 {
            return Err(ArithError::Conv("--stride must be at least 1".into()));
        }
        if padding > MAX_PADDING {
            return Err(ArithError::Conv(format!(
                "--padding {padding} is larger than the model allows (at most {MAX_PADDING})"
            )));
        }
        if h + 2 * padding < kh || wd + 2 * padding < kw || kh == 0 || kw == 0 {
            return Err(ArithError::Conv(format!(
                "kernel {kh}x{kw} does not fit the {h}x{wd} input with padding {padding}"
            )));
        }
        let ho = (h + 2 * padding - kh) / stride + 1;
        let wo = (wd + 2 * padding - kw) / stride + 1;
        checked_bytes(
            "the output Y (N x O x H_out x W_out int32)",
            &[nb, o, ho, wo],
            4,
        )?;
        checked_bytes(
            "the im2col matrix (H_out*W_out x K)",
            &[ho, wo, kh, kw, c],
            1,
        )?;
        let k = kh * kw * c;
        // weights as O x K in the same K order
        let mut wm = vec![0i8; o * k];
        for oi in 0..o {
            for ci in 0..c {
                for i in 0..kh {
                    for j in 0..kw {
                        wm[oi * k + (i * kw + j) * c + ci] =
                            w.data[((oi * c + ci) * kh + i) * kw + j];
                    }
                }
            }
        }
        let wm = Tensor::new(vec![o, k], wm);
        let mut y = vec![0i32; nb * o * ho * wo];
        let mut cols = vec![0u8; ho * wo * k];
        for n in 0..nb {
            im2col(x, n, kh, kw, stride, padding, ho, wo, &mut cols);
            let a = Tensor::new(vec![ho * wo, k], std::mem::take(&mut cols));
            let cm = self.gemm(&a, &wm)?;
            cols = a.data;
            let yn = &mut y[n * o * ho * wo..(n + 1) * o * ho * wo];
            for p in 0..ho * wo {
                for oi in 0..o {
                    yn[oi * ho * wo + p] = cm.data[p * o + oi];
                }
            }
        }
        Ok(Tensor::new(vec![nb, o, ho, wo], y))
    }
}

/// Channel-innermost im2col of image `n`: row `p = oh * wo + ow`, column
/// `(i * kw + j) * C + c`; padding reads as zero.
#[allow(clippy::too_many_arguments)]
fn im2col(
    x: &View<u8>,
    n: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    padding: usize,
    ho: usize,
    wo: usize,
    out: &mut [u8],
) {
    // infallible: only called on the 4-D input of a lowered conv
    let [_, c, h, w] = x.dims4().expect("checked by the caller");
    let k = kh * kw * c;
    let img = &x.data[n * c * h * w..(n + 1) * c * h * w];
    for oh in 0..ho {
        for ow in 0..wo {
            let row = &mut out[(oh * wo + ow) * k..(oh * wo + ow + 1) * k];
            for i in 0..kh {
                for j in 0..kw {
                    let y = (oh * stride + i) as isize - padding as isize;
                    let xw = (ow * stride + j) as isize - padding as isize;
                    let dst = &mut row[(i * kw + j) * c..(i * kw + j + 1) * c];
                    if y < 0 || xw < 0 || y >= h as isize || xw >= w as isize {
                        dst.fill(0);
                    } else {
                        let (y, xw) = (y as usize, xw as usize);
                        for (ci, d) in dst.iter_mut().enumerate() {
                            *d = img[(ci * h + y) * w + xw];
                        }
                    }
                }
            }
        }
    }
}

/// Output rows per parallel task.
const ROW_BLOCK: usize = 64;

fn round_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// Which kernel runs a dense GEMM. Every kernel computes the same exact
/// sums; [`Kernel::best`] is the fastest one this CPU has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// AVX-512 VNNI bytes (`vpdpbusd`), A trimmed with AVX-512 VBMI lookups.
    Vnni,
    /// AVX-512 VNNI bytes, A trimmed with scalar lookups (no VBMI).
    VnniScalarTrim,
    /// AVX-VNNI bytes (`vpdpbusd` on ymm; CPUs without AVX-512), scalar trim.
    AvxVnni,
    /// AVX2 int16 (`vpmaddwd`), scalar trim.
    Avx2,
    /// Portable Rust, scalar trim.
    Portable,
}

impl Kernel {
    pub const ALL: [Kernel; 5] = [
        Kernel::Vnni,
        Kernel::VnniScalarTrim,
        Kernel::AvxVnni,
        Kernel::Avx2,
        Kernel::Portable,
    ];

    /// The name `bench model --kernel` takes.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Vnni => "vnni",
            Kernel::VnniScalarTrim => "vnni-scalar-trim",
            Kernel::AvxVnni => "avx-vnni",
            Kernel::Avx2 => "avx2",
            Kernel::Portable => "portable",
        }
    }

    /// The kernel called `name`.
    pub fn from_name(name: &str) -> Option<Kernel> {
        Kernel::ALL.into_iter().find(|k| k.name() == name)
    }

    /// True when this CPU can run the kernel.
    pub fn available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use super::vnni::Isa;
            match self {
                Kernel::Vnni => Isa::Avx512.available() && super::vnni::vbmi(),
                Kernel::VnniScalarTrim => Isa::Avx512.available(),
                Kernel::AvxVnni => Isa::AvxVnni.available(),
                Kernel::Avx2 => std::is_x86_feature_detected!("avx2"),
                Kernel::Portable => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Kernel::Portable
        }
    }

    /// The fastest available kernel.
    pub fn best() -> Kernel {
        use std::sync::OnceLock;
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| {
            Kernel::ALL
                .into_iter()
                .find(|k| k.available())
                .unwrap_or(Kernel::Portable)
        })
    }
}

impl Model {
    /// Dense pairing `(k, k+1)`: the pair table depends on A alone, so A is
    /// trimmed row by row and the rest is an exact integer GEMM.
    #[allow(clippy::too_many_arguments)]
    fn gemm_dense(
        &self,
        kernel: Kernel,
        a: &View<u8>,
        b: &View<i8>,
        m: usize,
        n: usize,
        k: usize,
        packed: Option<&PackedWeights>,
    ) -> Vec<i32> {
        #[cfg(target_arch = "x86_64")]
        {
            use super::vnni::{gemm, Isa, Trim};
            let trim = |vector: bool| match (&self.lut, self.table.is_identity()) {
                (_, true) => Some(Trim::None),
                (Some(l), false) if vector => Some(Trim::Vbmi(l)),
                (Some(_), false) => Some(Trim::Scalar(&self.table)),
                (None, false) => None,
            };
            let (isa, vector) = match kernel {
                Kernel::Vnni => (Isa::Avx512, true),
                Kernel::VnniScalarTrim => (Isa::Avx512, false),
                Kernel::AvxVnni => (Isa::AvxVnni, false),
                Kernel::Avx2 | Kernel::Portable => (Isa::Avx512, false),
            };
            let byte_kernel = !matches!(kernel, Kernel::Avx2 | Kernel::Portable);
            if let Some(t) = trim(vector).filter(|_| byte_kernel) {
                let pb = packed.and_then(|p| p.inner.as_ref());
                return gemm(isa, t, a, b, m, n, k, pb);
            }
        }
        let _ = packed;
        gemm_dense_i16(&self.table, kernel != Kernel::Portable, a, b, m, n, k)
    }
}

impl Model {
    /// 2:4 pairing (`super::stc`): the scalar pair rule on the portable
    /// kernel, the `vpermb` kernel with AVX-512 VBMI, else the slot tables as
    /// one exact byte GEMM on the chosen kernel.
    #[allow(clippy::too_many_arguments)]
    fn gemm_stc(
        &self,
        kernel: Kernel,
        a: &View<u8>,
        b: &View<i8>,
        m: usize,
        n: usize,
        k: usize,
        packed: Option<&PackedWeights>,
    ) -> Result<Vec<i32>, ArithError> {
        use super::stc::{expand, Source};
        let src = match &self.lut {
            Some(l) => Source::Lut(l),
            None => Source::Table(&self.table),
        };
        if kernel == Kernel::Portable {
            return gemm_stc(&self.table, a, b, m, n, k);
        }
        #[cfg(target_arch = "x86_64")]
        if kernel == Kernel::Vnni {
            use super::stc_vnni::{gemm, PackedB};
            let pb = match packed.map(|p| p.stc.get_or_init(|| PackedB::new(b, n, k))) {
                Some(Ok(pb)) if pb.fits(n, k) => Some(pb),
                Some(Err(e)) if b.dims2() == Some((n, k)) => return Err(e.clone()),
                _ => None,
            };
            return gemm(src, a, b, m, n, k, pb);
        }
        let _ = packed;
        let (ax, bx, kx) = expand(src, a, b, m, n, k)?;
        let (ax, bx) = (Tensor::new(vec![m, kx], ax), Tensor::new(vec![n, kx], bx));
        let (av, bv) = (ax.view(), bx.view());
        #[cfg(target_arch = "x86_64")]
        {
            use super::vnni::{gemm, Isa, Trim};
            match kernel {
                Kernel::VnniScalarTrim => {
                    return Ok(gemm(Isa::Avx512, Trim::None, &av, &bv, m, n, kx, None))
                }
                Kernel::AvxVnni => {
                    return Ok(gemm(Isa::AvxVnni, Trim::None, &av, &bv, m, n, kx, None))
                }
                _ => {}
            }
        }
        Ok(gemm_dense_i16(identity(), true, &av, &bv, m, n, kx))
    }
}

/// The identity pair table, built once.
fn identity() -> &'static PairTable {
    static ID: std::sync::OnceLock<PairTable> = std::sync::OnceLock::new();
    ID.get_or_init(PairTable::identity)
}

/// Dense pairing through the int16 kernel (AVX2 when `simd`, else portable):
/// the pair table trims A block by block.
fn gemm_dense_i16(
    table: &PairTable,
    simd: bool,
    a: &View<u8>,
    b: &View<i8>,
    m: usize,
    n: usize,
    k: usize,
) -> Vec<i32> {
    let mut c = vec![0i32; m * n];
    if m == 0 || n == 0 {
        return c;
    }
    let kp = padded_k(k);
    let np = round_up(n, NR);
    let mut bw = vec![0i16; np * kp];
    for j in 0..n {
        for (d, &s) in bw[j * kp..j * kp + k].iter_mut().zip(b.row(j)) {
            *d = i16::from(s);
        }
    }
    c.par_chunks_mut(ROW_BLOCK * n)
        .enumerate()
        .for_each(|(blk, cblk)| {
            let r0 = blk * ROW_BLOCK;
            let rows = cblk.len() / n;
            let rp = round_up(rows, MR);
            let mut aw = vec![0i16; rp * kp];
            let mut trimmed = vec![0u8; k];
            for r in 0..rows {
                let src = a.row(r0 + r);
                let vals: &[u8] = if table.is_identity() {
                    src
                } else {
                    table.apply_dense(src, &mut trimmed);
                    &trimmed
                };
                for (d, &s) in aw[r * kp..r * kp + k].iter_mut().zip(vals) {
                    *d = i16::from(s);
                }
            }
            let mut ct = vec![0i32; rp * np];
            dot_tile(simd, &aw, &bw, kp, rp, np, &mut ct);
            for r in 0..rows {
                cblk[r * n..(r + 1) * n].copy_from_slice(&ct[r * np..r * np + n]);
            }
        });
    c
}

/// One weight row of a 2:4 design, compressed: per group of four, the two
/// survivors `(k, b)` in order; a missing member is `(K, 0)`, which reads
/// the zero appended to every activation row.
pub fn stc_pairs(row: &[i8], row_index: usize) -> Result<Vec<[(usize, i8); 2]>, ArithError> {
    let k = row.len();
    let mut out = Vec::with_capacity(k.div_ceil(4));
    for start in (0..k).step_by(4) {
        let end = (start + 4).min(k);
        let positions: Vec<usize> = (start..end).filter(|&i| row[i] != 0).collect();
        if positions.len() > 2 {
            return Err(ArithError::NotTwoOfFour {
                row: row_index,
                start,
                end,
                nonzeros: positions.len(),
                positions,
            });
        }
        let member = |i: usize| positions.get(i).map_or((k, 0), |&p| (p, row[p]));
        out.push([member(0), member(1)]);
    }
    Ok(out)
}

/// 2:4 pairing: the pair is the activations at each group's non-zero
/// weight positions, so it depends on the weight row.
fn gemm_stc(
    table: &PairTable,
    a: &View<u8>,
    b: &View<i8>,
    m: usize,
    n: usize,
    k: usize,
) -> Result<Vec<i32>, ArithError> {
    let rows: Vec<Vec<[(usize, i8); 2]>> = (0..n)
        .map(|j| stc_pairs(b.row(j), j))
        .collect::<Result<_, _>>()?;
    let mut c = vec![0i32; m * n];
    if n == 0 {
        return Ok(c);
    }
    c.par_chunks_mut(n).enumerate().for_each(|(i, crow)| {
        let mut arow = Vec::with_capacity(k + 1);
        arow.extend_from_slice(a.row(i));
        arow.push(0);
        for (cell, pairs) in crow.iter_mut().zip(&rows) {
            let mut acc = 0i32;
            for [(k1, b1), (k2, b2)] in pairs {
                let [h1, h2] = table.get(arow[*k1], arow[*k2]);
                acc += i32::from(h1) * i32::from(*b1) + i32::from(h2) * i32::from(*b2);
            }
            *cell = acc;
        }
    });
    Ok(c)
}
