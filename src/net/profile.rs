//! Where a network run's time goes: seconds per op type and, for MAC
//! layers, per stage (lowering, the engine's GEMMs, zero-point/bias
//! assembly, requantization). Filled by `Plan::run_profiled`.

use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug, Default, Clone)]
pub struct Profile {
    /// Seconds per op type (a MAC layer's op counts all its stages).
    pub ops: BTreeMap<String, f64>,
    /// Seconds per MAC stage.
    pub stages: BTreeMap<&'static str, f64>,
    /// Seconds of whole runs.
    pub total: f64,
}

impl Profile {
    /// Add the time since `t` to stage `stage`; returns now.
    pub fn stage(&mut self, stage: &'static str, t: Instant) -> Instant {
        let now = Instant::now();
        *self.stages.entry(stage).or_default() += (now - t).as_secs_f64();
        now
    }

    pub fn op(&mut self, op: &str, secs: f64) {
        *self.ops.entry(op.to_string()).or_default() += secs;
    }

    /// Lines `name  ms  share` sorted by time, then the stages.
    pub fn report(&self, runs: usize) -> String {
        let runs = runs.max(1) as f64;
        let mut out = String::new();
        let pct = |s: f64| 100.0 * s / self.total.max(1e-12);
        let mut ops: Vec<_> = self.ops.iter().collect();
        ops.sort_by(|a, b| b.1.total_cmp(a.1));
        out += &format!("  per run: {:.2} ms\n", self.total / runs * 1e3);
        for (op, s) in ops {
            out += &format!(
                "  op {op:<22} {:8.2} ms  {:5.1}%\n",
                s / runs * 1e3,
                pct(*s)
            );
        }
        let mut stages: Vec<_> = self.stages.iter().collect();
        stages.sort_by(|a, b| b.1.total_cmp(a.1));
        for (st, s) in stages {
            out += &format!(
                "  stage {st:<19} {:8.2} ms  {:5.1}%\n",
                s / runs * 1e3,
                pct(*s)
            );
        }
        out
    }
}
