//! The model against every vector the SPARQ authors' kernel produced.

use sparqgen::arith::{Kernel, Model, PairTable};
use sparqgen::config::{ArrayShape, Design, Pe, PeKind, Pipeline};
use sparqgen::golden;

fn golden_dir() -> std::path::PathBuf {
    let d = golden::default_dir();
    assert!(
        d.join("gemm_cases.json").exists(),
        "golden vectors not found at {} (set SPARQGEN_GOLDEN)",
        d.display()
    );
    d
}

#[test]
fn every_pair_table_matches() {
    let dir = golden_dir();
    let mut files = 0;
    let mut pairs = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("pairs_") {
            continue;
        }
        let f = golden::read_pairs(&path).unwrap();
        let table = PairTable::sparq(&f.config.arith().unwrap());
        let mut bad = Vec::new();
        for a1 in 0..=255u8 {
            for a2 in 0..=255u8 {
                let i = usize::from(a1) * 256 + usize::from(a2);
                let got = table.get(a1, a2);
                let want = [f.h1[i], f.h2[i]];
                if [u16::from(got[0]), u16::from(got[1])] != want {
                    bad.push((a1, a2, got, want));
                }
                pairs += 1;
            }
        }
        assert!(
            bad.is_empty(),
            "{name}: {} mismatches, first {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
        files += 1;
    }
    assert_eq!(files, 10, "expected 10 golden pair tables");
    assert_eq!(pairs, 655_360);
}

#[test]
fn every_gemm_case_matches() {
    let cases = golden::read_gemm_cases(&golden_dir().join("gemm_cases.json")).unwrap();
    assert_eq!(cases.len(), 160);
    let mut outputs = 0;
    for case in &cases {
        let pe = Pe::new(PeKind::Sparq(case.arith), 32, Pipeline::new(0).unwrap()).unwrap();
        let design = Design::new("golden", pe, ArrayShape::Single).unwrap();
        // every kernel this CPU has, not only the fastest
        for kernel in Kernel::ALL.into_iter().filter(|k| k.available()) {
            let c = Model::new(&design)
                .gemm_with(kernel, &case.a.view(), &case.b.view())
                .unwrap();
            assert_eq!(c.shape, case.c.shape);
            for (i, (got, want)) in c.data.iter().zip(&case.c.data).enumerate() {
                assert_eq!(
                    got, want,
                    "case {} {:?} output {i}, {kernel:?}",
                    case.index, case.config
                );
            }
            outputs += c.data.len();
        }
    }
    assert!(outputs > 0);
}
