//! What the SVG plots share (the roofline of `hcm --plot`, the Pareto plot
//! of `synth --sweep`): every piece of free text reaches the document through
//! [`Text`] or [`Comment`], whose `Display` escapes it, so a template that
//! prints `[[ x ]]` of one cannot break the XML whatever the text holds (a
//! network, layer or design name with `<` or `&`). The SVG templates are
//! rendered without askama's own escaping (askama.toml); numbers and
//! fixed colour or class names are printed as they are.

use std::fmt;

/// XML's five special characters as entities; everything else unchanged.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Text for an element's content or an attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text(pub String);

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(&self.0))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(s)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(s.to_string())
    }
}

/// Text inside an XML comment, where `--` may not appear: escaped as
/// [`Text`], then every `--` is broken up by a space.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comment(pub String);

impl fmt::Display for Comment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = escape(&self.0);
        while s.contains("--") {
            s = s.replace("--", "- -");
        }
        if s.ends_with('-') {
            s.push(' ');
        }
        f.write_str(&s)
    }
}

impl From<String> for Comment {
    fn from(s: String) -> Comment {
        Comment(s)
    }
}

/// A coordinate with one decimal, as both plots write them.
pub fn px(v: f64) -> String {
    format!("{v:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_the_five_specials() {
        assert_eq!(
            Text::from("a<b>&\"c'").to_string(),
            "a&lt;b&gt;&amp;&quot;c&apos;"
        );
        assert_eq!(
            Text::from("sparq 5opt round").to_string(),
            "sparq 5opt round"
        );
    }

    #[test]
    fn comment_text_never_holds_a_double_dash() {
        for s in ["a--b", "---", "x-", "<&>--->"] {
            let c = Comment::from(s.to_string()).to_string();
            assert!(!c.contains("--") && !c.ends_with('-'), "{s:?} -> {c:?}");
            let doc = format!("<r><!-- {c} --></r>");
            roxmltree::Document::parse(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
        }
    }
}
