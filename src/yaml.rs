//! YAML (and JSON, which is valid YAML) into a schema type, with the path of
//! the field an error is about, from `serde_path_to_error` rather than from
//! the text of the parser's message.

use serde::de::DeserializeOwned;
use std::fmt;

/// One step of a field path: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A parse or type error: where (`layers[3].stride`; empty at the top) and
/// what (the parser's message without its own copy of the path, with its
/// line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub path: Vec<Step>,
    pub message: String,
}

impl YamlError {
    /// The dotted path, `layers[3].stride`; empty for the document itself.
    pub fn path_text(&self) -> String {
        path_text(&self.path)
    }
}

/// `a.b[3].c`.
pub fn path_text(steps: &[Step]) -> String {
    let mut s = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path_text(), self.message)
        }
    }
}

impl std::error::Error for YamlError {}

/// Parse `text` into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path: Vec<Step> = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(Step::Key(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => Some(Step::Key(variant.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(Step::Index(*index)),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let message = strip_parser_path(&e.inner().to_string(), &path_text(&path));
        YamlError { path, message }
    })
}

/// The YAML parser prefixes its message with its own idea of the path
/// (`layers[1]: unknown field ...`, one step short for an unknown key); the
/// path we report comes from `serde_path_to_error`, so drop that prefix when
/// it is a prefix of ours.
fn strip_parser_path(msg: &str, path: &str) -> String {
    if let Some((head, tail)) = msg.split_once(": ") {
        if !head.is_empty() && !head.contains(' ') && path.starts_with(head) {
            return tail.to_string();
        }
    }
    msg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Top {
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        size: u32,
    }

    fn err(text: &str) -> YamlError {
        from_str::<Top>(text).unwrap_err()
    }

    #[test]
    fn errors_carry_the_field_path() {
        let e = err("items:\n  - {size: 1}\n  - {size: big}\n");
        assert_eq!(e.path_text(), "items[1].size");
        assert!(e.message.starts_with("invalid type: string \"big\""), "{e}");
        let e = err("items:\n  - {size: 1, colour: red}\n");
        assert_eq!(e.path_text(), "items[0].colour");
        assert!(e.message.starts_with("unknown field `colour`"), "{e}");
        let e = err("items:\n  - {}\n");
        assert_eq!(e.path_text(), "items[0]");
        assert!(e.message.starts_with("missing field `size`"), "{e}");
        let e = err("- 1\n");
        assert!(e.path.is_empty());
        assert_eq!(e.to_string(), e.message);
        let e = err("items: [\n");
        assert!(e.message.contains("line"), "{e}");
    }
}
