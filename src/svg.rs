//! What the SVG plots share (the roofline of `hcm --plot`, the Pareto plot
//! of `synth --sweep`): every piece of free text reaches the document through
//! [`Text`] or [`Comment`], whose `Display` escapes it, so a template that
//! prints `[[ x ]]` of one cannot break the XML whatever the text holds (a
//! network, layer or design name with `<` or `&`). The SVG templates are
//! rendered without askama's own escaping (askama.toml); numbers and
//! fixed colour or class names are printed as they are.
//!
//! Layout: [`text_width`] bounds the width a text takes, [`fit`] shrinks a
//! heading to the room it has, and [`Placer`] puts point labels where they
//! stay inside the plot and clear of each other and of the points
//! (`tests/it/plots.rs` renders the plots and checks both).

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

/// An axis-aligned box in the SVG's user units (y grows downwards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    pub fn new(x0: f64, y0: f64, x1: f64, y1: f64) -> Rect {
        Rect { x0, y0, x1, y1 }
    }

    pub fn width(&self) -> f64 {
        self.x1 - self.x0
    }

    pub fn height(&self) -> f64 {
        self.y1 - self.y0
    }

    pub fn area(&self) -> f64 {
        self.width() * self.height()
    }

    /// Grow to cover `o` too.
    pub fn grow(&mut self, o: &Rect) {
        self.x0 = self.x0.min(o.x0);
        self.y0 = self.y0.min(o.y0);
        self.x1 = self.x1.max(o.x1);
        self.y1 = self.y1.max(o.y1);
    }

    /// The square around a circle.
    pub fn around(cx: f64, cy: f64, r: f64) -> Rect {
        Rect::new(cx - r, cy - r, cx + r, cy + r)
    }

    /// Whether the two share any area (touching edges do not count).
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    /// Whether `self` lies wholly inside `o`.
    pub fn inside(&self, o: &Rect) -> bool {
        self.x0 >= o.x0 && self.x1 <= o.x1 && self.y0 >= o.y0 && self.y1 <= o.y1
    }

    /// The point of the box nearest to `(x, y)`.
    fn nearest(&self, x: f64, y: f64) -> (f64, f64) {
        (x.clamp(self.x0, self.x1), y.clamp(self.y0, self.y1))
    }
}

/// Advance width of one character in em, an upper bound of DejaVu Sans's
/// (the `sans-serif` Debian's fontconfig resolves to) by character class:
/// a box from it holds the rendered text (the plot test renders every label
/// and checks).
fn char_em(c: char) -> f64 {
    match c {
        'i' | 'j' | 'l' | '\'' | '.' | ',' | ':' | ';' | '|' | '!' | ' ' => 0.34,
        'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '/' | '\\' | '-' | 'I' | 'J' | '`' => 0.42,
        'm' | 'w' | 'M' | 'W' | '%' | '@' | '+' | '=' | '<' | '>' | '~' | '^' | '#' | '&' => 1.0,
        'A'..='Z' => 0.8,
        c if c.is_ascii() => 0.64,
        _ => 1.0,
    }
}

/// Width of `s` set at `size` px (an upper bound, see [`char_em`]).
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars().map(char_em).sum::<f64>() * size
}

/// How much wider bold text is at most (DejaVu Sans Bold's `r` is 1.2x
/// the regular one's, every other ASCII glyph less).
pub const BOLD: f64 = 1.2;

/// Above and below the baseline, in em: DejaVu Sans's tallest ASCII ink
/// (brackets, accents aside) and deepest descender, rounded up.
const ASCENT: f64 = 0.8;
const DESCENT: f64 = 0.25;

/// How a `<text>`'s x relates to its box (the `text-anchor` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    pub fn as_str(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// The box the ink of `s` covers, set at `size` px with its baseline at
/// `(x, y)` and anchored as `anchor` says.
pub fn text_box(s: &str, x: f64, y: f64, size: f64, anchor: Anchor) -> Rect {
    let w = text_width(s, size);
    let x0 = match anchor {
        Anchor::Start => x,
        Anchor::Middle => x - w / 2.0,
        Anchor::End => x - w,
    };
    Rect::new(x0, y - ASCENT * size, x0 + w, y + DESCENT * size)
}

/// The largest font size, at most `size` and at least `min`, at which `s`
/// fits `width`; and `s` itself, shortened with "..." if even `min` is too
/// big. For headings whose text comes from the user (a design's name).
pub fn fit(s: &str, size: f64, min: f64, width: f64) -> (String, f64) {
    let w = text_width(s, size);
    if w <= width {
        return (s.to_string(), size);
    }
    let scaled = size * width / w;
    if scaled >= min {
        return (s.to_string(), (scaled * 10.0).floor() / 10.0);
    }
    let mut t: String = s.to_string();
    while !t.is_empty() && text_width(&format!("{t}..."), min) > width {
        t.pop();
    }
    (format!("{t}..."), min)
}

/// A point label as placed: its text's baseline start (`text-anchor:
/// start`), its box, and a leader line from the point when the label sits
/// away from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub x: f64,
    pub y: f64,
    pub rect: Rect,
    pub leader: Option<[f64; 4]>,
}

/// Puts labels beside points so that none leaves `bounds` or covers
/// another label or anything blocked (points, the legend); lines drawn in
/// the plot and the leader lines of labels placed before are avoided, and
/// a leader line kept off other labels, where possible. Nearest free spot
/// first: rings of growing distance around the point, eight directions on
/// each.
#[derive(Debug, Clone)]
pub struct Placer {
    bounds: Rect,
    hard: Vec<Rect>,
    labels: Vec<Rect>,
    soft: Vec<Rect>,
}

/// Rings of candidate spots around a point (ring 0 touches it).
pub const RINGS: usize = 24;

impl Placer {
    pub fn new(bounds: Rect) -> Placer {
        Placer {
            bounds,
            hard: Vec::new(),
            labels: Vec::new(),
            soft: Vec::new(),
        }
    }

    /// No label may cover `r`.
    pub fn block(&mut self, r: Rect) {
        self.hard.push(r);
    }

    /// Labels keep off the segment when they can.
    pub fn avoid_line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64) {
        self.soft.extend(along(x0, y0, x1, y1));
    }

    /// Whether a label may go at `r`: inside the bounds and off everything
    /// blocked always; off the lines to avoid, and without its leader
    /// crossing a label, as `strict` (0: neither needed, 1: the leader,
    /// 2: both).
    fn free(&self, r: &Rect, leader: &Option<[f64; 4]>, strict: u8) -> bool {
        let crosses = |l: &[f64; 4]| {
            along(l[0], l[1], l[2], l[3]).any(|p| self.labels.iter().any(|b| b.overlaps(&p)))
        };
        r.inside(&self.bounds)
            && !self.hard.iter().any(|h| h.overlaps(r))
            && (strict < 1 || !leader.as_ref().is_some_and(crosses))
            && (strict < 2 || !self.soft.iter().any(|h| h.overlaps(r)))
    }

    /// Place `s` (at `size` px) beside the point `(cx, cy)` drawn with
    /// radius `r`, at most `reach` rings away (up to [`RINGS`]); `None` when
    /// no spot is free. The label then blocks its box for the labels placed
    /// after it.
    pub fn place(
        &mut self,
        s: &str,
        size: f64,
        (cx, cy, r): (f64, f64, f64),
        reach: usize,
    ) -> Option<Placed> {
        let w = text_width(s, size);
        let h = (ASCENT + DESCENT) * size;
        let step = h + 2.0;
        let mut spots = Vec::new();
        for ring in 0..reach.min(RINGS) {
            let d = r + 3.0 + ring as f64 * step;
            let e = d * std::f64::consts::FRAC_1_SQRT_2;
            // (left, top) of the box: E, W, SE, NW, NE, SW, S, N
            spots.extend([
                (cx + d, cy - h / 2.0),
                (cx - d - w, cy - h / 2.0),
                (cx + e, cy + e),
                (cx - e - w, cy - e - h),
                (cx + e, cy - e - h),
                (cx - e - w, cy + e),
                (cx - w / 2.0, cy + d),
                (cx - w / 2.0, cy - d - h),
            ]);
        }
        let candidates: Vec<(Rect, Option<[f64; 4]>)> = spots
            .iter()
            .map(|&(x, y)| {
                let b = Rect::new(x, y, x + w, y + h);
                let (nx, ny) = b.nearest(cx, cy);
                let dist = (nx - cx).hypot(ny - cy);
                let leader = (dist > r + 3.0 + step / 2.0).then(|| {
                    let (ux, uy) = ((nx - cx) / dist, (ny - cy) / dist);
                    [cx + ux * (r + 1.0), cy + uy * (r + 1.0), nx, ny]
                });
                (b, leader)
            })
            .collect();
        let (rect, leader) = [2, 1, 0]
            .iter()
            .find_map(|&strict| candidates.iter().find(|(b, l)| self.free(b, l, strict)))
            .cloned()?;
        self.hard.push(rect);
        self.labels.push(rect);
        if let Some(l) = leader {
            self.avoid_line(l[0], l[1], l[2], l[3]);
        }
        Some(Placed {
            x: rect.x0,
            y: rect.y1 - DESCENT * size,
            rect,
            leader,
        })
    }
}

/// Small boxes every 3 px along a segment.
fn along(x0: f64, y0: f64, x1: f64, y1: f64) -> impl Iterator<Item = Rect> {
    let n = ((x1 - x0).hypot(y1 - y0) / 3.0).ceil().max(1.0) as usize;
    (0..=n).map(move |i| {
        let t = i as f64 / n as f64;
        Rect::around(x0 + t * (x1 - x0), y0 + t * (y1 - y0), 1.0)
    })
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

    #[test]
    fn text_boxes_follow_the_anchor() {
        let s = "ab";
        let w = text_width(s, 10.0);
        assert!((w - 12.8).abs() < 1e-9);
        assert_eq!(text_box(s, 100.0, 50.0, 10.0, Anchor::Start).x0, 100.0);
        assert_eq!(text_box(s, 100.0, 50.0, 10.0, Anchor::End).x1, 100.0);
        let m = text_box(s, 100.0, 50.0, 10.0, Anchor::Middle);
        assert!((m.x0 + m.x1 - 200.0).abs() < 1e-9 && m.y0 == 42.0 && m.y1 == 52.5);
    }

    #[test]
    fn fit_shrinks_then_shortens() {
        assert_eq!(fit("abc", 12.0, 8.0, 1000.0), ("abc".to_string(), 12.0));
        let (t, size) = fit("abcdefghij", 12.0, 8.0, 60.0);
        assert_eq!(t, "abcdefghij");
        assert!((8.0..12.0).contains(&size) && text_width(&t, size) <= 60.0);
        let (t, size) = fit(&"x".repeat(100), 12.0, 8.0, 60.0);
        assert!(
            t.ends_with("...") && size == 8.0 && text_width(&t, size) <= 60.0,
            "{t}"
        );
    }

    /// Labels of points piled on one spot all find room, inside the
    /// bounds, apart from each other and off the points.
    #[test]
    fn placed_labels_never_overlap_or_leave_the_bounds() {
        let bounds = Rect::new(0.0, 0.0, 300.0, 200.0);
        let mut p = Placer::new(bounds);
        let pts: Vec<(f64, f64)> = (0..12)
            .map(|i| (280.0 - i as f64, 10.0 + i as f64))
            .collect();
        for &(x, y) in &pts {
            p.block(Rect::around(x, y, 4.5));
        }
        let mut placed: Vec<Rect> = Vec::new();
        for (i, &(x, y)) in pts.iter().enumerate() {
            let l = p
                .place(&format!("layer{i}.conv"), 11.0, (x, y, 4.5), RINGS)
                .unwrap();
            assert!(l.rect.inside(&bounds), "{l:?}");
            assert!(placed.iter().all(|q| !q.overlaps(&l.rect)), "{l:?}");
            for &(px, py) in &pts {
                assert!(!Rect::around(px, py, 4.5).overlaps(&l.rect), "{l:?}");
            }
            placed.push(l.rect);
        }
        // a label too wide for the bounds is refused, not pushed outside
        assert!(p
            .place(&"w".repeat(40), 11.0, (150.0, 100.0, 4.5), RINGS)
            .is_none());
    }
}
