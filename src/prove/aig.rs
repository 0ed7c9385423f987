//! And-inverter graphs: the bit-level form every proof works on.
//!
//! Yosys lowers the RTL to `$_AND_`/`$_NOT_` gates and plain flip-flops
//! (`aigmap`, `write_json`); [`Seq::from_yosys_json`] reads that into a
//! sequential AIG whose variables are the top's input bits followed by the
//! flip-flops' current values. A [`Builder`] instantiates it (one clock
//! frame per call of [`Seq::step`]) with constants or fresh variables in
//! place of its inputs, folding constants and hashing structure, so equal
//! logic over equal inputs is one node.

use serde_json::Value;
use std::collections::HashMap;

/// A literal: node index times two, plus one when inverted.
pub type Lit = u32;
pub const FALSE: Lit = 0;
pub const TRUE: Lit = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Const,
    /// A free variable, numbered by whoever created it.
    Var(u32),
    And(Lit, Lit),
}

/// Nodes in topological order (every fanin precedes its node).
#[derive(Debug, Clone, Default)]
pub struct Builder {
    pub nodes: Vec<Node>,
    strash: HashMap<(Lit, Lit), Lit>,
    vars: HashMap<u32, Lit>,
}

pub fn not(l: Lit) -> Lit {
    l ^ 1
}

pub fn node_of(l: Lit) -> usize {
    (l >> 1) as usize
}

pub fn konst(b: bool) -> Lit {
    if b {
        TRUE
    } else {
        FALSE
    }
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            nodes: vec![Node::Const],
            strash: HashMap::new(),
            vars: HashMap::new(),
        }
    }

    /// The literal of variable `v` (created on first use).
    pub fn var(&mut self, v: u32) -> Lit {
        if let Some(&l) = self.vars.get(&v) {
            return l;
        }
        let l = (self.nodes.len() as Lit) << 1;
        self.nodes.push(Node::Var(v));
        self.vars.insert(v, l);
        l
    }

    pub fn and(&mut self, a: Lit, b: Lit) -> Lit {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        if a == FALSE || a == not(b) {
            return FALSE;
        }
        if a == TRUE || a == b {
            return b;
        }
        if let Some(&l) = self.strash.get(&(a, b)) {
            return l;
        }
        let l = (self.nodes.len() as Lit) << 1;
        self.nodes.push(Node::And(a, b));
        self.strash.insert((a, b), l);
        l
    }

    pub fn or(&mut self, a: Lit, b: Lit) -> Lit {
        not(self.and(not(a), not(b)))
    }

    pub fn xor(&mut self, a: Lit, b: Lit) -> Lit {
        let x = self.and(a, not(b));
        let y = self.and(not(a), b);
        self.or(x, y)
    }

    pub fn mux(&mut self, s: Lit, t: Lit, e: Lit) -> Lit {
        let x = self.and(s, t);
        let y = self.and(not(s), e);
        self.or(x, y)
    }

    /// `a + b` modulo 2^len (LSB first).
    pub fn add(&mut self, a: &[Lit], b: &[Lit]) -> Vec<Lit> {
        let mut carry = FALSE;
        let mut out = Vec::with_capacity(a.len());
        for (&x, &y) in a.iter().zip(b) {
            let s = self.xor(x, y);
            out.push(self.xor(s, carry));
            let g = self.and(x, y);
            let p = self.and(s, carry);
            carry = self.or(g, p);
        }
        out
    }

    /// Copy `src`'s nodes into this builder; `subst(var)` gives the literal
    /// for each of `src`'s variables. Returns the literal of every node.
    pub fn copy_from(&mut self, src: &Builder, subst: &mut dyn FnMut(u32) -> Lit) -> Vec<Lit> {
        let mut map = Vec::with_capacity(src.nodes.len());
        for &n in &src.nodes {
            let l = match n {
                Node::Var(v) => subst(v),
                _ => self.copy_node(&map, n),
            };
            map.push(l);
        }
        map
    }

    /// Rebuild node `n` of a source graph here: its operands are looked up
    /// in `map` (source node -> literal here, see [`remap`]), a variable
    /// keeps its number.
    pub fn copy_node(&mut self, map: &[Lit], n: Node) -> Lit {
        match n {
            Node::Const => FALSE,
            Node::Var(v) => self.var(v),
            Node::And(a, b) => {
                let x = remap(map, a);
                let y = remap(map, b);
                self.and(x, y)
            }
        }
    }
}

/// Map a literal of a source graph through a node map from [`Builder::copy_from`].
pub fn remap(map: &[Lit], l: Lit) -> Lit {
    map[node_of(l)] ^ (l & 1)
}

/// A port of the netlist's top module.
#[derive(Debug, Clone)]
pub struct Port {
    pub name: String,
    /// First variable (inputs) or first output bit (outputs).
    pub first: usize,
    pub width: usize,
}

/// A sequential AIG: variables `0..n_inputs` are input bits, then one per
/// flip-flop (its current value). Flip-flops are plain D flip-flops on one
/// clock (Yosys's `async2sync` and `dffunmap` turned resets and enables
/// into logic).
#[derive(Debug, Clone)]
pub struct Seq {
    pub graph: Builder,
    pub n_inputs: usize,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    /// Output bits, in port order.
    pub out_lits: Vec<Lit>,
    /// Next value of each flip-flop.
    pub next: Vec<Lit>,
}

#[derive(Debug, thiserror::Error)]
pub enum NetlistError {
    /// The JSON is not the netlist the script asks Yosys for.
    #[error("cannot read Yosys's netlist: {0}")]
    Malformed(String),
    /// A bit the design observes is `x` (an out-of-range select, a case
    /// without default): the RTL leaves open what the model defines, a
    /// finding about the RTL rather than a failure of the proof.
    #[error("{0}")]
    Undefined(String),
}

impl NetlistError {
    /// The same error, with where it was found in front.
    fn at(self, at: &str) -> NetlistError {
        match self {
            NetlistError::Malformed(s) => NetlistError::Malformed(format!("{at}: {s}")),
            NetlistError::Undefined(s) => NetlistError::Undefined(format!("{at}: {s}")),
        }
    }

    pub fn text(&self) -> &str {
        match self {
            NetlistError::Malformed(s) | NetlistError::Undefined(s) => s,
        }
    }
}

fn bits(v: &Value) -> Result<Vec<Value>, NetlistError> {
    v.as_array()
        .cloned()
        .ok_or_else(|| NetlistError::Malformed("a port or connection has no bit list".into()))
}

impl Seq {
    /// Read the JSON Yosys writes (`write_json`) for a flattened module of
    /// `$_AND_`, `$_NOT_` and `$_DFF_P_` cells.
    pub fn from_yosys_json(text: &str, top: &str) -> Result<Seq, NetlistError> {
        let root: Value = serde_json::from_str(text)
            .map_err(|e| NetlistError::Malformed(format!("not JSON: {e}")))?;
        let module = root
            .get("modules")
            .and_then(|m| m.get(top))
            .ok_or_else(|| NetlistError::Malformed(format!("no module {top}")))?;
        let mut g = Builder::new();
        let mut net: HashMap<u64, Lit> = HashMap::new();
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let mut out_nets = Vec::new();
        let mut n_vars = 0u32;
        let ports = module
            .get("ports")
            .and_then(Value::as_object)
            .ok_or_else(|| NetlistError::Malformed("no ports".into()))?;
        for (name, p) in ports {
            let dir = p.get("direction").and_then(Value::as_str).unwrap_or("");
            let b = bits(p.get("bits").unwrap_or(&Value::Null))?;
            match dir {
                "input" => {
                    inputs.push(Port {
                        name: name.clone(),
                        first: n_vars as usize,
                        width: b.len(),
                    });
                    for bit in &b {
                        let l = g.var(n_vars);
                        n_vars += 1;
                        if let Some(id) = bit.as_u64() {
                            net.insert(id, l);
                        }
                    }
                }
                "output" => {
                    outputs.push(Port {
                        name: name.clone(),
                        first: out_nets.len(),
                        width: b.len(),
                    });
                    out_nets.extend(b);
                }
                other => {
                    return Err(NetlistError::Malformed(format!(
                        "port {name}: direction {other}"
                    )))
                }
            }
        }
        let n_inputs = n_vars as usize;
        let cells = module
            .get("cells")
            .and_then(Value::as_object)
            .ok_or_else(|| NetlistError::Malformed("no cells".into()))?;
        // Gates by output net; flip-flops get a variable each.
        let mut gates: HashMap<u64, (bool, Value, Value)> = HashMap::new();
        let mut ffs: Vec<(String, Value)> = Vec::new();
        for (name, c) in cells {
            let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
            let conn = c.get("connections").cloned().unwrap_or(Value::Null);
            let one = |pin: &str| -> Result<Value, NetlistError> {
                let b = bits(conn.get(pin).unwrap_or(&Value::Null))?;
                b.into_iter().next().ok_or_else(|| {
                    NetlistError::Malformed(format!("cell {name}: pin {pin} unconnected"))
                })
            };
            let y = |pin: &str| -> Result<u64, NetlistError> {
                one(pin)?.as_u64().ok_or_else(|| {
                    NetlistError::Malformed(format!("cell {name}: output {pin} is a constant"))
                })
            };
            match ty {
                "$_AND_" => {
                    gates.insert(y("Y")?, (true, one("A")?, one("B")?));
                }
                "$_NOT_" => {
                    gates.insert(y("Y")?, (false, one("A")?, Value::Null));
                }
                "$_DFF_P_" | "$_DFF_N_" | "$_FF_" => {
                    let q = y("Q")?;
                    let l = g.var(n_vars);
                    n_vars += 1;
                    net.insert(q, l);
                    ffs.push((ff_name(module, name, c, q), one("D")?));
                }
                other => {
                    return Err(NetlistError::Malformed(format!(
                        "cell {name} has type {other}; expected $_AND_, $_NOT_ or $_DFF_P_"
                    )))
                }
            }
        }
        let mut resolve = |root: &Value, g: &mut Builder| -> Result<Lit, NetlistError> {
            resolve_bit(root, g, &mut net, &gates)
        };
        // an undefined bit is named by the output bit or flip-flop it reaches
        let mut out_lits = Vec::new();
        for (i, b) in out_nets.iter().enumerate() {
            out_lits.push(resolve(b, &mut g).map_err(|e| {
                let at = outputs
                    .iter()
                    .find(|p| (p.first..p.first + p.width).contains(&i))
                    .map_or(format!("output bit {i}"), |p| {
                        format!("output {}[{}]", p.name, i - p.first)
                    });
                e.at(&at)
            })?);
        }
        let mut next = Vec::new();
        for (name, d) in &ffs {
            next.push(
                resolve(d, &mut g)
                    .map_err(|e| e.at(&format!("the D input of flip-flop {name}")))?,
            );
        }
        Ok(Seq {
            graph: g,
            n_inputs,
            inputs,
            outputs,
            out_lits,
            next,
        })
    }

    pub fn n_latches(&self) -> usize {
        self.next.len()
    }

    pub fn input(&self, name: &str) -> Option<&Port> {
        self.inputs.iter().find(|p| p.name == name)
    }

    /// One clock frame: `inputs` and `state` in, (outputs, next state) out.
    pub fn step(&self, b: &mut Builder, inputs: &[Lit], state: &[Lit]) -> (Vec<Lit>, Vec<Lit>) {
        let n = self.n_inputs;
        let map = b.copy_from(&self.graph, &mut |v| {
            let v = v as usize;
            if v < n {
                inputs[v]
            } else {
                state[v - n]
            }
        });
        let outs = self.out_lits.iter().map(|&l| remap(&map, l)).collect();
        let next = self.next.iter().map(|&l| remap(&map, l)).collect();
        (outs, next)
    }
}

/// How a message names a flip-flop: the RTL's name of its output when
/// Yosys kept one (`acc_q[5]`), else its cell name with the source line the
/// register came from (`cx_pe.v:87.3-93.6`).
fn ff_name(module: &Value, cell: &str, c: &Value, q: u64) -> String {
    let named = module
        .get("netnames")
        .and_then(Value::as_object)
        .and_then(|names| {
            names
                .iter()
                .filter(|(_, n)| n.get("hide_name").and_then(Value::as_u64) == Some(0))
                .find_map(|(name, n)| {
                    let bits = n.get("bits")?.as_array()?;
                    let i = bits.iter().position(|b| b.as_u64() == Some(q))?;
                    Some(match bits.len() {
                        1 => name.clone(),
                        _ => format!("{name}[{i}]"),
                    })
                })
        });
    let src = c
        .get("attributes")
        .and_then(|a| a.get("src"))
        .and_then(Value::as_str)
        .and_then(|s| s.rsplit('|').next());
    match (named, src) {
        (Some(n), _) => n,
        (None, Some(src)) => format!("{cell} (register of {src})"),
        (None, None) => cell.to_string(),
    }
}

fn resolve_bit(
    root: &Value,
    g: &mut Builder,
    net: &mut HashMap<u64, Lit>,
    gates: &HashMap<u64, (bool, Value, Value)>,
) -> Result<Lit, NetlistError> {
    let konst_of = |v: &Value| -> Result<Option<Lit>, NetlistError> {
        match v.as_str() {
            Some("0") => Ok(Some(FALSE)),
            Some("1") => Ok(Some(TRUE)),
            Some(s) => Err(NetlistError::Undefined(format!(
                "a bit is `{s}` (undefined): the RTL leaves it open where the model \
                 defines it (an out-of-range select or a case without default?)"
            ))),
            None => Ok(None),
        }
    };
    if let Some(l) = konst_of(root)? {
        return Ok(l);
    }
    let root_id = root.as_u64().unwrap_or(u64::MAX);
    // Iterative depth-first resolution (logic can be deep).
    let mut stack = vec![(root_id, false)];
    while let Some((id, expanded)) = stack.pop() {
        if net.contains_key(&id) {
            continue;
        }
        let (is_and, a, b) = gates
            .get(&id)
            .ok_or_else(|| NetlistError::Malformed(format!("net {id} has no driver")))?;
        let fanins: Vec<&Value> = if *is_and { vec![a, b] } else { vec![a] };
        if !expanded {
            stack.push((id, true));
            for f in &fanins {
                if konst_of(f)?.is_none() {
                    let fid = f.as_u64().unwrap_or(u64::MAX);
                    if !net.contains_key(&fid) {
                        if stack.iter().any(|&(s, e)| s == fid && e) {
                            return Err(NetlistError::Malformed("combinational loop".into()));
                        }
                        stack.push((fid, false));
                    }
                }
            }
            continue;
        }
        let mut lits = Vec::new();
        for f in &fanins {
            lits.push(match konst_of(f)? {
                Some(l) => l,
                None => *net
                    .get(&f.as_u64().unwrap_or(u64::MAX))
                    .ok_or_else(|| NetlistError::Malformed("combinational loop".into()))?,
            });
        }
        let l = if *is_and {
            g.and(lits[0], lits[1])
        } else {
            not(lits[0])
        };
        net.insert(id, l);
    }
    net.get(&root_id)
        .copied()
        .ok_or_else(|| NetlistError::Malformed(format!("net {root_id} unresolved")))
}

/// Evaluate nodes `0..nodes.len()` bit-parallel (64 lanes) with variable
/// values from `var`. `vals` is resized and overwritten.
pub fn eval(nodes: &[Node], var: &mut dyn FnMut(u32) -> u64, vals: &mut Vec<u64>) {
    vals.clear();
    vals.reserve(nodes.len());
    for n in nodes {
        let v = match *n {
            Node::Const => 0,
            Node::Var(v) => var(v),
            Node::And(a, b) => lit_val(vals, a) & lit_val(vals, b),
        };
        vals.push(v);
    }
}

#[inline]
pub fn lit_val(vals: &[u64], l: Lit) -> u64 {
    let v = vals[node_of(l)];
    if l & 1 == 1 {
        !v
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undefined_bit_is_named_by_the_output_it_reaches() {
        let json = r#"{"modules": {"t": {
            "ports": {
                "a_i": {"direction": "input", "bits": [2]},
                "y_o": {"direction": "output", "bits": [2, "x"]}
            },
            "cells": {}
        }}}"#;
        let Err(e) = Seq::from_yosys_json(json, "t") else {
            panic!("an x bit must be refused")
        };
        assert!(matches!(e, NetlistError::Undefined(_)), "{e:?}");
        assert!(e.text().starts_with("output y_o[1]: a bit is `x`"), "{e}");
    }
}
