//! Column layout of port lists and instance connections, computed here so
//! templates never pad by hand: a port list is `dir type range name,  //
//! comment` with every column as wide as its widest entry; an instance's
//! `.port (signal)` pads the port names to the longest one.

/// One port of a generated module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortDecl {
    pub output: bool,
    /// `output reg` (assigned in an `always` block) rather than `wire`.
    pub reg: bool,
    /// `[15:0]`, `[AccBits-1:0]`, or empty for one bit.
    pub range: String,
    pub name: String,
    /// Without `//`; empty for none.
    pub comment: String,
}

impl PortDecl {
    pub fn input(range: impl Into<String>, name: &str, comment: impl Into<String>) -> PortDecl {
        PortDecl {
            output: false,
            reg: false,
            range: range.into(),
            name: name.to_string(),
            comment: comment.into(),
        }
    }

    pub fn output(range: impl Into<String>, name: &str, comment: impl Into<String>) -> PortDecl {
        PortDecl {
            output: true,
            ..PortDecl::input(range, name, comment)
        }
    }

    /// The same port declared `output reg`.
    pub fn reg(mut self) -> PortDecl {
        self.reg = true;
        self
    }
}

/// `[bits-1:0]`, or nothing for one bit.
pub fn range(bits: u32) -> String {
    if bits == 1 {
        String::new()
    } else {
        format!("[{}:0]", bits - 1)
    }
}

/// One laid-out port line: the template writes `  {head}{name}{comment}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortLine {
    /// Direction, type and range, padded to the columns, with the space
    /// before the name.
    pub head: String,
    /// The name and its comma (none after the last port), padded to the
    /// comment column when a comment follows.
    pub name: String,
    /// `  // comment`, or empty.
    pub comment: String,
}

/// Lay out a module's ports in columns.
pub fn ports(ports: &[PortDecl]) -> Vec<PortLine> {
    let range_w = ports.iter().map(|p| p.range.len()).max().unwrap_or(0);
    let name_w = ports.iter().map(|p| p.name.len() + 1).max().unwrap_or(0);
    let last = ports.len().saturating_sub(1);
    ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let dir = if p.output { "output" } else { "input " };
            let ty = if p.reg { "reg " } else { "wire" };
            let mut head = format!("{dir} {ty} ");
            if range_w > 0 {
                head.push_str(&format!("{:<range_w$} ", p.range));
            }
            let sep = if i == last { " " } else { "," };
            let name = format!("{}{sep}", p.name);
            let (name, comment) = if p.comment.is_empty() {
                (name.trim_end().to_string(), String::new())
            } else {
                (format!("{name:<name_w$}"), format!("  // {}", p.comment))
            };
            PortLine {
                head,
                name,
                comment,
            }
        })
        .collect()
}

/// One instance connection: the template writes `.{port} ({signal})`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conn {
    /// The port (or parameter) name, padded to the longest of its list.
    pub port: String,
    pub signal: String,
}

/// Lay out an instance's connections (or parameter overrides) in columns.
pub fn conns<P: AsRef<str>, S: Into<String>>(pairs: impl IntoIterator<Item = (P, S)>) -> Vec<Conn> {
    let pairs: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(p, s)| (p.as_ref().to_string(), s.into()))
        .collect();
    let w = pairs.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
    pairs
        .into_iter()
        .map(|(p, signal)| Conn {
            port: format!("{p:<w$}"),
            signal,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_line_up() {
        let lines = ports(&[
            PortDecl::input("", "clk_i", ""),
            PortDecl::input("", "rst_ni", "asynchronous, active low"),
            PortDecl::input("[15:0]", "act_i", "{a2, a1}"),
            PortDecl::output("[AccBits-1:0]", "acc_o", "accumulator"),
        ]);
        let text: Vec<String> = lines
            .iter()
            .map(|l| format!("  {}{}{}", l.head, l.name, l.comment))
            .collect();
        assert_eq!(
            text,
            [
                "  input  wire               clk_i,",
                "  input  wire               rst_ni,  // asynchronous, active low",
                "  input  wire [15:0]        act_i,   // {a2, a1}",
                "  output wire [AccBits-1:0] acc_o    // accumulator",
            ]
        );
    }

    #[test]
    fn connections_line_up() {
        let c = conns([("clk_i", "clk_i"), ("drain_acc_i", "left_acc")]);
        assert_eq!(c[0].port, "clk_i      ");
        assert_eq!(c[1].port, "drain_acc_i");
        assert_eq!(c[1].signal, "left_acc");
    }
}
