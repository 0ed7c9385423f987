//! The model at its extremes and on convolutions.

use sparqgen::arith::{sparq_pair, ArithError, Kernel, Model, Tensor};
use sparqgen::config::Design;

fn design(yaml: &str) -> Design {
    Design::from_yaml(yaml).unwrap()
}

#[test]
fn k4096_of_255_times_minus128_is_exact() {
    let k = 4096;
    let a = Tensor::new(vec![3, k], vec![255u8; 3 * k]);
    let b = Tensor::new(vec![2, k], vec![-128i8; 2 * k]);
    let want = -(4096i64 * 255 * 128); // -133,693,440: beyond f32's exact 2^24
    assert!(want.unsigned_abs() > 1 << 24);
    let exact = Model::exact().gemm(&a, &b).unwrap();
    assert!(exact.data.iter().all(|&v| i64::from(v) == want));
    // under 5opt round every 255 becomes 240, and so on: compare with the
    // pair rule applied by hand
    for yaml in [
        "pe: {placements: 5}",
        "pe: {window_bits: 3, placements: 6, rounding: truncate}",
    ] {
        let d = design(yaml);
        let s = d.sparq().unwrap();
        let (h1, h2) = sparq_pair(255, 255, s);
        let per_pair = (i64::from(h1) + i64::from(h2)) * -128;
        let c = Model::new(&d).gemm(&a, &b).unwrap();
        assert!(
            c.data
                .iter()
                .all(|&v| i64::from(v) == per_pair * (k as i64 / 2)),
            "{yaml}"
        );
    }
}

#[test]
fn accumulator_overflow_is_refused_not_wrapped() {
    // an 18-bit accumulator is exact for K <= (2^17 - 1) / 32640 = 4
    let d = design("pe: {acc_bits: 18}\narray: {kind: single}");
    assert_eq!(d.exact_k_max(), 4);
    let a = Tensor::new(vec![1, 5], vec![255u8; 5]);
    let b = Tensor::new(vec![1, 5], vec![-128i8; 5]);
    let e = Model::new(&d).gemm(&a, &b).unwrap_err();
    assert!(
        matches!(e, ArithError::WouldWrap { k: 5, k_max: 4, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("18-bit accumulator"), "{e}");
    // the model's own i32 limit for wide accumulators
    let d = design("pe: {acc_bits: 40}");
    let k = 65_794;
    let a = Tensor::new(vec![1, k], vec![0u8; k]);
    let b = Tensor::new(vec![1, k], vec![0i8; k]);
    assert!(Model::new(&d).gemm(&a, &b).is_err());
}

#[test]
fn stc_group_with_three_weights_is_an_input_error() {
    let d = design("pe: {stc: true}");
    let a = Tensor::new(vec![1, 8], vec![1u8; 8]);
    let b = Tensor::new(vec![1, 8], vec![1i8, 0, 0, 0, 0, 2, 3, 4]);
    let e = Model::new(&d).gemm(&a, &b).unwrap_err().to_string();
    assert_eq!(
        e,
        "B row 0, group k = 4..8: 3 non-zero weights at k = [5, 6, 7]; a 2:4 (stc) weight group allows at most 2"
    );
}

#[test]
fn stc_lone_survivor_takes_the_wide_path() {
    // one non-zero weight per group: its activation pairs with (0, 0)
    let d = design("pe: {window_bits: 3, placements: 6, stc: true}");
    let a = Tensor::new(vec![1, 4], vec![200u8, 255, 7, 9]);
    let b = Tensor::new(vec![1, 4], vec![0i8, 1, 0, 0]);
    let c = Model::new(&d).gemm(&a, &b).unwrap();
    assert_eq!(c.data, vec![252]); // wide6 round: 255 -> 252
}

#[test]
fn mac4x8_rejects_8bit_activations() {
    let d = design("pe: {kind: mac4x8}");
    let a = Tensor::new(vec![1, 2], vec![3u8, 16]);
    let b = Tensor::new(vec![1, 2], vec![1i8, 1]);
    let e = Model::new(&d).gemm(&a, &b).unwrap_err().to_string();
    assert!(
        e.starts_with("A[0][1] = 16 is out of range for pe.kind mac4x8 (allowed: 0..=15"),
        "{e}"
    );
}

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

/// Direct convolution, pairing consecutive k of the channel-innermost
/// order by hand: an independent statement of docs/arithmetic.md's "Convolution".
fn direct_conv(d: &Design, x: &Tensor<u8>, w: &Tensor<i8>, stride: usize, pad: usize) -> Vec<i32> {
    let [n, c, h, wd] = x.dims4().unwrap();
    let [o, _, kh, kw] = w.dims4().unwrap();
    let ho = (h + 2 * pad - kh) / stride + 1;
    let wo = (wd + 2 * pad - kw) / stride + 1;
    let s = d.sparq().copied();
    let mut y = Vec::new();
    for ni in 0..n {
        for oi in 0..o {
            for oh in 0..ho {
                for ow in 0..wo {
                    let mut terms = Vec::new();
                    for i in 0..kh {
                        for j in 0..kw {
                            for ci in 0..c {
                                let yy = (oh * stride + i) as isize - pad as isize;
                                let xx = (ow * stride + j) as isize - pad as isize;
                                let av =
                                    if yy < 0 || xx < 0 || yy >= h as isize || xx >= wd as isize {
                                        0
                                    } else {
                                        x.data[((ni * c + ci) * h + yy as usize) * wd + xx as usize]
                                    };
                                terms.push((av, w.data[((oi * c + ci) * kh + i) * kw + j]));
                            }
                        }
                    }
                    if terms.len() % 2 == 1 {
                        terms.push((0, 0));
                    }
                    let mut acc = 0i32;
                    for p in terms.chunks(2) {
                        let (h1, h2) = match &s {
                            Some(s) => sparq_pair(p[0].0, p[1].0, s),
                            None => (p[0].0, p[1].0),
                        };
                        acc +=
                            i32::from(h1) * i32::from(p[0].1) + i32::from(h2) * i32::from(p[1].1);
                    }
                    y.push(acc);
                }
            }
        }
    }
    y
}

#[test]
fn conv_matches_direct_convolution() {
    let mut seed = 7;
    for (c, stride, pad, yaml) in [
        (4, 1, 1, "pe: {placements: 5}"),
        (3, 2, 1, "pe: {placements: 3, rounding: truncate}"), // odd C: pairs span taps
        (5, 1, 0, "pe: {window_bits: 2, placements: 7}"),
        (2, 1, 2, "pe: {kind: mac8x8}"),
    ] {
        let d = design(yaml);
        let (n, h, w, o, k) = (2, 7, 6, 3, 3);
        let x = Tensor::new(
            vec![n, c, h, w],
            (0..n * c * h * w)
                .map(|_| {
                    if lcg(&mut seed).is_multiple_of(3) {
                        0
                    } else {
                        (lcg(&mut seed) % 256) as u8
                    }
                })
                .collect(),
        );
        let wt = Tensor::new(
            vec![o, c, k, k],
            (0..o * c * k * k)
                .map(|_| (lcg(&mut seed) % 256) as u8 as i8)
                .collect(),
        );
        let y = Model::new(&d).conv2d(&x, &wt, stride, pad).unwrap();
        let ho = (h + 2 * pad - k) / stride + 1;
        let wo = (w + 2 * pad - k) / stride + 1;
        assert_eq!(y.shape, vec![n, o, ho, wo]);
        assert_eq!(
            y.data,
            direct_conv(&d, &x, &wt, stride, pad),
            "{yaml} C={c}"
        );
    }
}

#[test]
fn gemm_handles_awkward_shapes() {
    // M, N not multiples of the micro-tile; K odd and not a multiple of 16
    let mut seed = 3;
    let d = design("pe: {placements: 2}");
    let s = *d.sparq().unwrap();
    for (m, n, k) in [
        (1, 1, 1),
        (5, 3, 17),
        (67, 5, 33),
        (0, 3, 4),
        (3, 0, 4),
        (2, 2, 0),
    ] {
        let a = Tensor::new(
            vec![m, k],
            (0..m * k).map(|_| (lcg(&mut seed) % 256) as u8).collect(),
        );
        let b = Tensor::new(
            vec![n, k],
            (0..n * k)
                .map(|_| (lcg(&mut seed) % 256) as u8 as i8)
                .collect(),
        );
        let c = Model::new(&d).gemm(&a, &b).unwrap();
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0i32;
                for p in (0..k).step_by(2) {
                    let a2 = if p + 1 < k { a.data[i * k + p + 1] } else { 0 };
                    let b2 = if p + 1 < k { b.data[j * k + p + 1] } else { 0 };
                    let (h1, h2) = sparq_pair(a.data[i * k + p], a2, &s);
                    acc += i32::from(h1) * i32::from(b.data[j * k + p])
                        + i32::from(h2) * i32::from(b2);
                }
                assert_eq!(c.data[i * n + j], acc, "m={m} n={n} k={k} at ({i},{j})");
            }
        }
    }
}

/// `C = T(A) . B^T` by the pair rule, one output at a time: the reference
/// every kernel is held to.
fn reference(model: &Model, a: &Tensor<u8>, b: &Tensor<i8>) -> Vec<i32> {
    let (m, k) = (a.shape[0], a.shape[1]);
    let n = b.shape[0];
    let mut c = vec![0i32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0i32;
            for p in (0..k).step_by(2) {
                let a2 = if p + 1 < k { a.data[i * k + p + 1] } else { 0 };
                let b2 = if p + 1 < k { b.data[j * k + p + 1] } else { 0 };
                let [h1, h2] = model.pair(a.data[i * k + p], a2);
                acc += i32::from(h1) * i32::from(b.data[j * k + p]) + i32::from(h2) * i32::from(b2);
            }
            c[i * n + j] = acc;
        }
    }
    c
}

#[test]
fn every_kernel_agrees_with_the_reference_on_ragged_shapes() {
    let kernels: Vec<Kernel> = Kernel::ALL.into_iter().filter(|k| k.available()).collect();
    assert!(kernels.contains(&Kernel::Portable));
    let mut models = vec![("exact".to_string(), Model::exact())];
    for yaml in [
        "pe: {placements: 5}",
        "pe: {placements: 5, rounding: truncate, pair_sharing: false}",
        "pe: {placements: 3, rounding: truncate}",
        "pe: {placements: 2}",
        "pe: {window_bits: 3, placements: 6}",
        "pe: {window_bits: 2, placements: 7, rounding: truncate}",
    ] {
        models.push((yaml.to_string(), Model::new(&design(yaml))));
    }
    let mut seed = 11;
    // M, N, K around the tiles (6 rows, 16/64 columns, 4/16/64 k), odd K,
    // and the extremes 255 x -128 in the first row and column.
    let shapes = [
        (1, 1, 1),
        (6, 16, 4),
        (7, 17, 5),
        (13, 65, 63),
        (5, 64, 64),
        (97, 3, 130),
        (193, 80, 65),
        (12, 129, 2),
        (100, 48, 577),
        // several row tiles per task on the threads: each tile's
        // micro-kernel trims the next tile's rows (K odd, a short chunk)
        (300, 70, 1155),
        // small M, many panels: tasks split C by columns too (a batch-1
        // network's late layers), the last group short
        (49, 300, 70),
        (200, 130, 36),
        // K in several blocks (the last short, K odd) on the threads
        (50, 200, 1155),
    ];
    for (m, n, k) in shapes {
        let mut a: Vec<u8> = (0..m * k)
            .map(|_| {
                let r = lcg(&mut seed);
                // a third zeros (the wide path), the rest full range
                if r.is_multiple_of(3) {
                    0
                } else {
                    (r >> 8) as u8
                }
            })
            .collect();
        let mut b: Vec<i8> = (0..n * k)
            .map(|_| (lcg(&mut seed) >> 16) as u8 as i8)
            .collect();
        a[..k].fill(255);
        b[..k].fill(-128);
        let (a, b) = (Tensor::new(vec![m, k], a), Tensor::new(vec![n, k], b));
        for (name, model) in &models {
            let want = reference(model, &a, &b);
            for &kernel in &kernels {
                let c = model.gemm_with(kernel, &a.view(), &b.view()).unwrap();
                assert_eq!(c.shape, vec![m, n]);
                if let Some(i) = (0..m * n).find(|&i| c.data[i] != want[i]) {
                    panic!(
                        "{kernel:?} {name} m={m} n={n} k={k}: C[{}][{}] = {}, want {}",
                        i / n,
                        i % n,
                        c.data[i],
                        want[i]
                    );
                }
            }
        }
    }
}

/// The 2:4 rule by hand, one output at a time: per group of four the
/// activations at the non-zero weights pair up in order; a missing member is
/// a zero activation with a zero weight.
fn stc_reference(model: &Model, a: &Tensor<u8>, b: &Tensor<i8>) -> Vec<i32> {
    let (m, k) = (a.shape[0], a.shape[1]);
    let n = b.shape[0];
    let mut c = vec![0i32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0i32;
            for g in (0..k).step_by(4) {
                let nz: Vec<usize> = (g..(g + 4).min(k))
                    .filter(|&p| b.data[j * k + p] != 0)
                    .collect();
                let at = |x: Option<&usize>| {
                    x.map_or((0u8, 0i8), |&p| (a.data[i * k + p], b.data[j * k + p]))
                };
                let ((a1, b1), (a2, b2)) = (at(nz.first()), at(nz.get(1)));
                let [h1, h2] = model.pair(a1, a2);
                acc += i32::from(h1) * i32::from(b1) + i32::from(h2) * i32::from(b2);
            }
            c[i * n + j] = acc;
        }
    }
    c
}

#[test]
fn every_kernel_runs_2_of_4_exactly_on_ragged_shapes() {
    let kernels: Vec<Kernel> = Kernel::ALL.into_iter().filter(|k| k.available()).collect();
    let models: Vec<(&str, Model)> = [
        "pe: {stc: true}",
        "pe: {stc: true, placements: 5, rounding: truncate, pair_sharing: false}",
        "pe: {stc: true, placements: 3, rounding: truncate}",
        "pe: {stc: true, window_bits: 3, placements: 6}",
        "pe: {stc: true, window_bits: 2, placements: 7, rounding: truncate}",
    ]
    .into_iter()
    .map(|y| (y, Model::new(&design(y))))
    .collect();
    let mut seed = 7;
    // around the tiles (6 rows, 16/32 columns, groups of 4, windows of 16,
    // table chunks of 64 k) and short last groups
    let shapes = [
        (1, 1, 1),
        (1, 1, 3),
        (6, 16, 16),
        (7, 17, 5),
        (13, 33, 63),
        (5, 64, 64),
        (97, 3, 130),
        (193, 80, 65),
        (12, 129, 2),
        (100, 48, 577),
        (3, 31, 70),
        // small M, many panels: tasks split C by columns too
        (49, 300, 70),
        (200, 130, 36),
        // K in several blocks (the last short, K odd) on the threads
        (50, 200, 1155),
    ];
    for (m, n, k) in shapes {
        let mut a: Vec<u8> = (0..m * k)
            .map(|_| {
                let r = lcg(&mut seed);
                if r.is_multiple_of(3) {
                    0
                } else {
                    (r >> 8) as u8
                }
            })
            .collect();
        // per group of four: zero, one or two survivors anywhere
        let mut b = vec![0i8; n * k];
        for j in 0..n {
            for g in (0..k).step_by(4) {
                let width = (g + 4).min(k) - g;
                for _ in 0..lcg(&mut seed) % 3 {
                    let p = g + (lcg(&mut seed) as usize >> 4) % width;
                    b[j * k + p] = (lcg(&mut seed) >> 16) as u8 as i8;
                }
            }
        }
        a[..k].fill(255);
        for (p, w) in b[..k].iter_mut().enumerate() {
            *w = if p % 4 < 2 { -128 } else { 0 };
        }
        let (a, b) = (Tensor::new(vec![m, k], a), Tensor::new(vec![n, k], b));
        for (name, model) in &models {
            let want = stc_reference(model, &a, &b);
            for &kernel in &kernels {
                let c = model.gemm_with(kernel, &a.view(), &b.view()).unwrap();
                assert_eq!(c.shape, vec![m, n]);
                if let Some(i) = (0..m * n).find(|&i| c.data[i] != want[i]) {
                    panic!(
                        "{kernel:?} {name} m={m} n={n} k={k}: C[{}][{}] = {}, want {}",
                        i / n,
                        i % n,
                        c.data[i],
                        want[i]
                    );
                }
            }
        }
    }
}

/// `gemm_packed` with B packed once gives `gemm`'s result, and a packing
/// of other weights (another shape) is ignored rather than misused.
#[test]
fn gemm_packed_equals_gemm() {
    let mut seed = 5;
    let mut next = || {
        seed = seed * 6364136223846793005u64 + 1442695040888963407;
        (seed >> 33) as u8
    };
    let (m, n, k) = (50, 130, 77);
    let a = Tensor::new(vec![m, k], (0..m * k).map(|_| next()).collect::<Vec<u8>>());
    let b = Tensor::new(
        vec![n, k],
        (0..n * k).map(|_| next() as i8).collect::<Vec<i8>>(),
    );
    let other = Tensor::new(vec![3, 5], vec![1i8; 15]);
    for yaml in ["pe: {kind: mac8x8}", "pe: {window_bits: 4, placements: 5}"] {
        let model = Model::new(&Design::from_yaml(yaml).unwrap());
        let want = model.gemm(&a, &b).unwrap();
        assert_eq!(
            model.gemm_packed(&a, &b, &Model::pack(&b)).unwrap(),
            want,
            "{yaml}"
        );
        assert_eq!(
            model.gemm_packed(&a, &b, &Model::pack(&other)).unwrap(),
            want,
            "{yaml}"
        );
    }
}

/// 2:4 designs keep their own packing in `PackedWeights` (made by the first
/// GEMM): reused for new activations it gives `gemm`'s result, a packing of
/// another shape is ignored, and weights that are not 2:4 are refused on
/// every call.
#[test]
fn gemm_packed_equals_gemm_on_2_of_4() {
    let mut seed = 9;
    let mut next = || {
        seed = seed * 6364136223846793005u64 + 1442695040888963407;
        (seed >> 33) as u8
    };
    let (m, n, k) = (49, 130, 70);
    let mut w: Vec<i8> = (0..n * k).map(|_| next() as i8).collect();
    sparqgen::workload::prune_2_of_4(&mut w, k);
    let b = Tensor::new(vec![n, k], w);
    let other = Tensor::new(vec![3, 5], vec![0i8; 15]);
    for yaml in ["pe: {stc: true}", "pe: {stc: true, rounding: truncate}"] {
        let model = Model::new(&Design::from_yaml(yaml).unwrap());
        let packed = Model::pack(&b);
        for _ in 0..2 {
            let a = Tensor::new(vec![m, k], (0..m * k).map(|_| next()).collect::<Vec<u8>>());
            let want = model.gemm(&a, &b).unwrap();
            assert_eq!(model.gemm_packed(&a, &b, &packed).unwrap(), want, "{yaml}");
            let ignored = model.gemm_packed(&a, &b, &Model::pack(&other)).unwrap();
            assert_eq!(ignored, want, "{yaml}");
        }
    }
    let model = Model::new(&Design::from_yaml("pe: {stc: true}").unwrap());
    let dense = Tensor::new(vec![2, 8], vec![1i8; 16]);
    let a = Tensor::new(vec![3, 8], vec![7u8; 24]);
    let packed = Model::pack(&dense);
    for _ in 0..2 {
        let e = model.gemm_packed(&a, &dense, &packed).unwrap_err();
        assert!(
            e.to_string()
                .contains("a 2:4 (stc) weight group allows at most 2"),
            "{e}"
        );
    }
}
