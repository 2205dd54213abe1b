//! The contact sheet: one tile per playlist item, showing the wall at the item's first
//! frame (the first tick after its transition, where it shows on its own) and at its middle
//! tick, labelled with the item's number and name, its start time in the pass and its
//! duration, and the kinds of finding [`super::check`] made. Items that do not play get a
//! dark red tile saying why.

use super::check::{ItemCheck, PlaylistCheck, trim};
use super::look::Painter;
use super::text::{draw_text, fill_rect, fit_text, text_size};
use super::{Previewer, clock};
use image::{Rgba, RgbaImage, imageops};
use ledwall_render::RenderError;

/// Sheet background.
pub const BACKGROUND: [u8; 3] = [18, 18, 20];
/// Tile background.
pub const TILE: [u8; 3] = [44, 44, 48];
/// Label text.
pub const LABEL: [u8; 3] = [235, 235, 235];
/// Findings in a label.
pub const WARN: [u8; 3] = [255, 190, 60];
/// The frames of an item that does not play.
pub const DEAD: [u8; 3] = [70, 16, 16];
/// Most tiles in a row.
pub const MAX_COLUMNS: usize = 4;
/// Fewer columns when tiles are wide, to keep the sheet about this wide at most.
pub const MAX_WIDTH: u32 = 2400;

/// Where one item's tile is on the sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    /// Index into the playlist's items.
    pub item: usize,
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// The ticks shown (first, middle); `None` for an item that does not play.
    pub ticks: Option<(u64, u64)>,
    /// Top-left corners of the two frames on the sheet.
    pub frames: [(u32, u32); 2],
    /// Size of each frame.
    pub frame_size: (u32, u32),
}

/// A rendered contact sheet.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// The picture.
    pub image: RgbaImage,
    /// One tile per item, in playlist order.
    pub tiles: Vec<Tile>,
}

/// The geometry of tiles for frames of `fw` × `fh` pixels.
#[derive(Debug, Clone, Copy)]
struct Metrics {
    px: u32,
    pad: u32,
    fh: u32,
    line: u32,
    width: u32,
    height: u32,
}

impl Metrics {
    fn new(fw: u32, fh: u32) -> Metrics {
        let px = (fw / 110).clamp(1, 3);
        let pad = 3 * px + 2;
        let line = 7 * px;
        Metrics {
            px,
            pad,
            fh,
            line,
            width: 2 * fw + 3 * pad,
            height: fh + 2 * pad + 3 * line + pad,
        }
    }
}

/// The ticks a tile shows for an item placed at `start` for `ticks`, fading in over `fade`.
pub fn tile_ticks(start: u64, ticks: u64, fade: u64) -> (u64, u64) {
    let ticks = ticks.max(1);
    (start + fade.min(ticks - 1), start + ticks / 2)
}

/// The name a tile shows: the file name of a path, a pattern as written.
pub fn short_name(source: &str) -> &str {
    if source.starts_with("pattern:") {
        return source;
    }
    source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(source)
}

/// Render the contact sheet of `check`'s playlist with `preview` (the same playlist),
/// drawing frames with `painter`. `on_frame` is called after every rendered frame.
pub fn contact_sheet(
    preview: &mut Previewer,
    check: &PlaylistCheck,
    painter: &Painter,
    canvas: (u32, u32),
    on_frame: &mut dyn FnMut(),
) -> Result<Sheet, RenderError> {
    let (fw, fh) = painter.look().size(canvas.0, canvas.1);
    let m = Metrics::new(fw, fh);
    let n = check.items.len();
    let fit = (MAX_WIDTH / (m.width + m.pad)).max(1) as usize;
    let cols = ((n as f64).sqrt().ceil() as usize).clamp(1, MAX_COLUMNS.min(fit));
    let rows = n.div_ceil(cols).max(1);
    let gap = m.pad;
    let width = cols as u32 * (m.width + gap) + gap;
    let height = rows as u32 * (m.height + gap) + gap;
    let mut image = RgbaImage::from_pixel(width, height, rgba(BACKGROUND));
    if n == 0 {
        draw_text(&mut image, gap as i64, gap as i64, "NO ITEMS", LABEL, m.px);
    }
    let hz = check.timeline.hz().max(1) as f64;
    let mut tiles = Vec::with_capacity(n);
    for (k, c) in check.items.iter().enumerate() {
        let x = gap + (k % cols) as u32 * (m.width + gap);
        let y = gap + (k / cols) as u32 * (m.height + gap);
        fill_rect(
            &mut image,
            x as i64,
            y as i64,
            m.width as i64,
            m.height as i64,
            rgba(TILE),
        );
        let (fx, fy) = ((x + m.pad) as i64, (y + m.pad) as i64);
        let fx2 = fx + (fw + m.pad) as i64;
        let ticks = c
            .placed
            .as_ref()
            .map(|p| tile_ticks(p.start, p.ticks, p.fade));
        match ticks {
            Some((first, middle)) => {
                for (tick, at) in [(first, fx), (middle, fx2)] {
                    let shown = preview.render_tick(tick)?;
                    let pic = painter.paint(&shown);
                    imageops::replace(&mut image, &pic, at, fy);
                    on_frame();
                }
            }
            None => {
                for at in [fx, fx2] {
                    fill_rect(&mut image, at, fy, fw as i64, fh as i64, rgba(DEAD));
                }
                let why = c
                    .warnings
                    .iter()
                    .find(|w| w.kind.is_fatal())
                    .map_or("NOT PLAYED", |w| w.kind.name());
                let why = why.to_uppercase();
                let (tw, th) = text_size(&why, m.px);
                draw_text(
                    &mut image,
                    fx + (fw as i64 - tw as i64) / 2,
                    fy + (fh as i64 - th as i64) / 2,
                    &why,
                    LABEL,
                    m.px,
                );
            }
        }
        draw_label(&mut image, &m, x, y, c, hz);
        tiles.push(Tile {
            item: c.item,
            x,
            y,
            width: m.width,
            height: m.height,
            ticks,
            frames: [(fx as u32, fy as u32), (fx2 as u32, fy as u32)],
            frame_size: (fw, fh),
        });
    }
    Ok(Sheet { image, tiles })
}

fn draw_label(image: &mut RgbaImage, m: &Metrics, x: u32, y: u32, c: &ItemCheck, hz: f64) {
    let room = m.width - 2 * m.pad;
    let lx = (x + m.pad) as i64;
    let ly = (y + m.pad + m.fh + m.pad) as i64;
    let title = format!("{} {}", c.file_index + 1, short_name(&c.source));
    draw_text(image, lx, ly, &fit_text(&title, room, m.px), LABEL, m.px);
    let when = match &c.placed {
        Some(p) => format!(
            "AT {}  FOR {} S",
            clock(p.start as f64 / hz),
            trim(p.ticks as f64 / hz)
        ),
        None => "NOT PLAYED".to_string(),
    };
    let ly2 = ly + m.line as i64;
    draw_text(image, lx, ly2, &fit_text(&when, room, m.px), LABEL, m.px);
    let mut kinds: Vec<&str> = c.warnings.iter().map(|w| w.kind.name()).collect();
    kinds.dedup();
    if !kinds.is_empty() {
        let text = kinds.join(", ");
        let ly3 = ly2 + m.line as i64;
        draw_text(image, lx, ly3, &fit_text(&text, room, m.px), WARN, m.px);
    }
}

fn rgba(c: [u8; 3]) -> Rgba<u8> {
    Rgba([c[0], c[1], c[2], 255])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_ticks_skip_the_fade_and_take_the_middle() {
        assert_eq!(tile_ticks(0, 240, 0), (0, 120));
        assert_eq!(tile_ticks(240, 360, 60), (300, 420));
        // A fade as long as the item: its last tick.
        assert_eq!(tile_ticks(10, 4, 4), (13, 12));
        assert_eq!(tile_ticks(5, 1, 0), (5, 5));
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("../media/photo.jpg"), "photo.jpg");
        assert_eq!(short_name("pattern:solid:#ff8000"), "pattern:solid:#ff8000");
        assert_eq!(short_name("frames/"), "frames");
        assert_eq!(short_name("a.png"), "a.png");
    }
}
