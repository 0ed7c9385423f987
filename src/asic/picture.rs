//! A picture of the routed layout with no display: the DEF's cells and
//! wires drawn into a palette image, written as PNG (zlib by miniz_oxide,
//! chunks and CRC here).

use super::def::{Layout, Rect};

/// Colours: background, die, fill cells, logic cells, flops, cell edges,
/// then metal1..metal6, vias.
const PALETTE: [[u8; 3]; 14] = [
    [255, 255, 255],
    [236, 236, 236],
    [214, 214, 214],
    [170, 196, 150],
    [230, 180, 120],
    [110, 110, 110],
    [40, 90, 220],
    [220, 40, 160],
    [20, 160, 80],
    [230, 120, 0],
    [130, 60, 200],
    [0, 170, 190],
    [0, 0, 0],
    [0, 0, 0],
];
const BG: u8 = 0;
const DIE: u8 = 1;
const FILL_CELL: u8 = 2;
const CELL: u8 = 3;
const FLOP: u8 = 4;
const EDGE: u8 = 5;
const METAL1: u8 = 6;
const VIA: u8 = 12;

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
    scale: f64,
    origin: (f64, f64),
}

impl Canvas {
    fn to_px(&self, x: f64, y: f64) -> (i64, i64) {
        let px = ((x - self.origin.0) * self.scale).round() as i64;
        // y up in DEF, down in the image
        let py = self.h as i64 - 1 - ((y - self.origin.1) * self.scale).round() as i64;
        (px, py)
    }

    fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: u8) {
        let (xa, xb) = (x0.min(x1).max(0), x0.max(x1).min(self.w as i64 - 1));
        let (ya, yb) = (y0.min(y1).max(0), y0.max(y1).min(self.h as i64 - 1));
        for y in ya..=yb {
            for x in xa..=xb {
                self.px[y as usize * self.w + x as usize] = c;
            }
        }
    }

    fn rect(&mut self, r: &Rect, c: u8, edge: Option<u8>) {
        let (x0, y0) = self.to_px(r.x0, r.y0);
        let (x1, y1) = self.to_px(r.x1, r.y1);
        self.fill(x0, y0, x1, y1, c);
        if let Some(e) = edge {
            self.fill(x0, y0, x1, y0, e);
            self.fill(x0, y1, x1, y1, e);
            self.fill(x0, y0, x0, y1, e);
            self.fill(x1, y0, x1, y1, e);
        }
    }
}

/// The layout as a PNG at most `max_px` wide or high.
pub fn png(layout: &Layout, fill: &str, max_px: usize) -> Vec<u8> {
    let die = layout.die;
    let scale = max_px as f64 / die.width().max(die.height()).max(1e-9);
    let w = ((die.width() * scale).ceil() as usize).max(1);
    let h = ((die.height() * scale).ceil() as usize).max(1);
    let mut c = Canvas {
        w,
        h,
        px: vec![BG; w * h],
        scale,
        origin: (die.x0, die.y0),
    };
    c.rect(&die, DIE, Some(EDGE));
    for comp in &layout.components {
        let colour = if comp.macro_name == fill {
            FILL_CELL
        } else if comp.macro_name.starts_with("DFF") || comp.macro_name.starts_with("LATCH") {
            FLOP
        } else {
            CELL
        };
        c.rect(&comp.rect, colour, Some(EDGE));
    }
    let mut segs: Vec<_> = layout.wires.iter().chain(&layout.stubs).collect();
    segs.sort_by_key(|s| s.layer);
    for s in segs {
        let colour = METAL1 + (s.layer.clamp(1, 6) - 1) as u8;
        let (x0, y0) = c.to_px(s.from.0, s.from.1);
        let (x1, y1) = c.to_px(s.to.0, s.to.1);
        c.fill(x0, y0, x1, y1, colour);
    }
    for &(x, y) in &layout.vias {
        let (px, py) = c.to_px(x, y);
        c.fill(px, py, px, py, VIA);
    }
    encode(w, h, &c.px)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// An 8-bit palette PNG of `px` (row-major, `w` x `h` palette indices).
fn encode(w: usize, h: usize, px: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(w as u32).to_be_bytes());
    ihdr.extend_from_slice(&(h as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let plte: Vec<u8> = PALETTE.iter().flatten().copied().collect();
    chunk(&mut out, b"PLTE", &plte);
    let mut raw = Vec::with_capacity((w + 1) * h);
    for row in px.chunks(w) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    chunk(
        &mut out,
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 9),
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_png_header() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        let p = encode(2, 2, &[0, 1, 2, 3]);
        assert!(p.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(p.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
    }
}
