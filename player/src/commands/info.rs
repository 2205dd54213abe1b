//! `ledwall info`: the version, the backends built in, the graphics adapters wgpu sees
//! (name, API, device type, driver) and what `--backend auto` picks, and the CPU features
//! that choose the CPU backend's kernels (as the render core detects them), and the
//! monitors `display:` sinks can show on.

use std::io::Write;

/// The wgpu version this build uses.
const WGPU: &str = "30";

/// Run `ledwall info`.
pub fn run(out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "ledwall {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(
        out,
        "target: {}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS
    )?;
    writeln!(out, "backends:")?;
    writeln!(
        out,
        "  cpu: built in, {} rayon threads",
        rayon::current_num_threads()
    )?;
    let adapters = ledwall_render::gpu::adapters();
    if adapters.is_empty() {
        writeln!(
            out,
            "  gpu: built in (wgpu {WGPU}, Vulkan and GL), no graphics adapter found"
        )?;
    } else {
        writeln!(
            out,
            "  gpu: built in (wgpu {WGPU}, Vulkan and GL); adapters:"
        )?;
        for a in &adapters {
            writeln!(
                out,
                "    - {} ({}, {}{}), driver: {}",
                a.name,
                a.backend,
                a.device_type,
                if a.software { ", software" } else { "" },
                if a.driver.is_empty() { "-" } else { &a.driver }
            )?;
        }
    }
    let (choice, why) = ledwall_render::backend::auto_choice(None);
    writeln!(out, "  auto: {} ({why})", choice.name())?;
    writeln!(
        out,
        "cpu kernels: {}",
        ledwall_render::backend::cpu_kernels()
    )?;
    let list: Vec<String> = ledwall_render::backend::cpu_features()
        .iter()
        .map(|(name, on)| format!("{name} {}", if *on { "yes" } else { "no" }))
        .collect();
    writeln!(out, "cpu features: {}", list.join(", "))?;
    write_media(out, &crate::media::video::Ffmpeg::from_env())?;
    write_monitors(out, crate::display::list_monitors())?;
    write_interfaces(out)?;
    Ok(())
}

/// The image formats that decode (the `image` crate features this build enables), each as
/// `info` names it and the file extension of a sample.
pub const IMAGE_FORMATS: [(&str, &str); 6] = [
    ("png (8 and 16 bits per channel)", "png"),
    ("jpeg", "jpg"),
    ("gif", "gif"),
    ("webp", "webp"),
    ("bmp", "bmp"),
    ("tiff (8 and 16 bits per channel)", "tiff"),
];

/// The animation formats that play frame by frame.
pub const ANIMATION_FORMATS: [&str; 3] = ["gif", "apng", "webp"];

/// The `media:` lines: images and animations decoded in process, video and live sources
/// through ffmpeg (found or not).
fn write_media(out: &mut impl Write, ffmpeg: &crate::media::video::Ffmpeg) -> std::io::Result<()> {
    let images: Vec<&str> = IMAGE_FORMATS.iter().map(|(name, _)| *name).collect();
    writeln!(out, "media:")?;
    writeln!(out, "  images: {}", images.join(", "))?;
    writeln!(out, "  animations: {}", ANIMATION_FORMATS.join(", "))?;
    writeln!(out, "  image sequences: a folder or glob of images")?;
    let found = if ffmpeg.available() {
        format!("ffmpeg found ({})", ffmpeg.ffmpeg.display())
    } else {
        format!(
            "ffmpeg not found ({}; set LEDWALL_FFMPEG or install ffmpeg)",
            ffmpeg.ffmpeg.display()
        )
    };
    writeln!(
        out,
        "  video and live sources: what ffmpeg decodes, through ffmpeg: {found}"
    )?;
    Ok(())
}

/// The `network interfaces:` section (for `colorlight://` sinks): name, state, link speed
/// and MAC address, from `/sys/class/net`.
fn write_interfaces(out: &mut impl Write) -> std::io::Result<()> {
    let Ok(dir) = std::fs::read_dir("/sys/class/net") else {
        return writeln!(out, "network interfaces: unknown (no /sys/class/net)");
    };
    let mut names: Vec<String> = dir
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lo")
        .collect();
    names.sort();
    if names.is_empty() {
        return writeln!(out, "network interfaces: none");
    }
    writeln!(out, "network interfaces (for colorlight://IFACE):")?;
    let read = |name: &str, what: &str| {
        std::fs::read_to_string(format!("/sys/class/net/{name}/{what}"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    for name in &names {
        let up = crate::sinks::colorlight::interface_up(name);
        let carrier = read(name, "carrier") == "1";
        let speed = read(name, "speed");
        let speed = match speed.parse::<i64>() {
            Ok(mbit) if mbit > 0 => format!(", {mbit} Mbit/s"),
            _ => String::new(),
        };
        writeln!(
            out,
            "  {name}: {}{speed}, MAC {}",
            match (up, carrier) {
                (false, _) => "down",
                (true, false) => "up, no link",
                (true, true) => "up, link",
            },
            read(name, "address")
        )?;
    }
    Ok(())
}

/// Run `ledwall info --colorlight IFACE`: send the discovery request and list the cards that
/// answer within a second. No answer is an error (exit code 1).
pub fn colorlight(iface: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let wait = std::time::Duration::from_secs(1);
    let cards = crate::sinks::colorlight::discover(iface, wait).map_err(|e| anyhow::anyhow!(e))?;
    if cards.is_empty() {
        anyhow::bail!(
            "no card answered on {iface} within 1 s: check the cable (the card's input port), \
             that the card is powered, and that nothing else (a switch) sits between"
        );
    }
    for (i, c) in cards.iter().enumerate() {
        let model = if c.model == 0x04 {
            "Colorlight 5A".to_string()
        } else {
            "Colorlight card".to_string()
        };
        writeln!(
            out,
            "card {}: {model} (model {:#04x}), firmware {}.{}, {}x{}",
            i + 1,
            c.model,
            c.firmware.0,
            c.firmware.1,
            c.size.0,
            c.size.1
        )?;
    }
    Ok(())
}

/// The `monitors:` section: one line per monitor, or why there are none.
fn write_monitors(
    out: &mut impl Write,
    monitors: Result<Vec<crate::display::Monitor>, crate::display::DisplayError>,
) -> std::io::Result<()> {
    let monitors = match monitors {
        Ok(m) if m.is_empty() => return writeln!(out, "monitors: none"),
        Ok(m) => m,
        Err(e) => return writeln!(out, "monitors: none ({e})"),
    };
    writeln!(out, "monitors:")?;
    for m in &monitors {
        let refresh = match m.refresh_millihertz {
            Some(mhz) => format!("{} Hz", refresh_hz(mhz)),
            None => "refresh unknown".to_string(),
        };
        writeln!(
            out,
            "  {}: {}, {}x{} at {},{}, {refresh}",
            m.index, m.name, m.size[0], m.size[1], m.position[0], m.position[1]
        )?;
    }
    Ok(())
}

/// Millihertz as hertz with up to 3 decimals: 60000 → "60", 59940 → "59.94".
fn refresh_hz(mhz: u32) -> String {
    let whole = mhz / 1000;
    let frac = mhz % 1000;
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:03}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::{DisplayError, Monitor};

    #[test]
    fn monitor_lines() {
        let mut out = Vec::new();
        let monitors = vec![
            Monitor {
                index: 0,
                name: "HDMI-1".to_string(),
                position: [0, 0],
                size: [1920, 1080],
                refresh_millihertz: Some(59_940),
            },
            Monitor {
                index: 1,
                name: "DP-2".to_string(),
                position: [1920, -40],
                size: [1280, 720],
                refresh_millihertz: None,
            },
        ];
        write_monitors(&mut out, Ok(monitors)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "monitors:\n  0: HDMI-1, 1920x1080 at 0,0, 59.94 Hz\n  \
             1: DP-2, 1280x720 at 1920,-40, refresh unknown\n"
        );
        let mut out = Vec::new();
        write_monitors(
            &mut out,
            Err(DisplayError::NoDisplay("DISPLAY unset".into())),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "monitors: none (no display: DISPLAY unset)\n"
        );
        assert_eq!(refresh_hz(60_000), "60");
        assert_eq!(refresh_hz(74_973), "74.973");
        assert_eq!(refresh_hz(50_500), "50.5");
    }

    /// Every image format `info` lists decodes through the media layer: a 4x2 image written
    /// in it by the `image` crate opens and reads back as the pixels written.
    #[test]
    fn every_listed_image_format_decodes() {
        use crate::media::{Frame, MediaRef, OpenOptions, ReadStatus};
        let dir = tempfile::tempdir().unwrap();
        let img = image::RgbImage::from_fn(4, 2, |x, y| {
            if (x + y) % 2 == 0 {
                image::Rgb([255, 255, 255])
            } else {
                image::Rgb([0, 0, 0])
            }
        });
        let canvas = crate::patterns::Canvas::from_wall(
            &ledwall_render::Wall::from_toml_str(crate::demo::WALL_TOML, "demo.toml").unwrap(),
        );
        for (name, ext) in IMAGE_FORMATS {
            let path = dir.path().join(format!("sample.{ext}"));
            img.save(&path)
                .unwrap_or_else(|e| panic!("{name}: cannot write a sample: {e}"));
            let mut src =
                crate::media::open(&MediaRef::File(path), &OpenOptions::new(canvas.clone()))
                    .unwrap_or_else(|e| panic!("{name} is listed but does not open: {e}"));
            let mut frame = Frame::new();
            let status = src.read_frame(0, &mut frame);
            assert!(
                matches!(status, Ok(ReadStatus::Frame)),
                "{name}: {status:?}"
            );
            // JPEG is lossy: a white pixel stays bright, a black one dark.
            let white = frame.pixel8(0, 0).unwrap();
            let black = frame.pixel8(1, 0).unwrap();
            assert!(
                white[0] > 200 && black[0] < 55,
                "{name}: {white:?} {black:?}"
            );
        }
        let mut out = Vec::new();
        let missing = crate::media::video::Ffmpeg {
            ffmpeg: "/nonexistent/ffmpeg".into(),
            ffprobe: "/nonexistent/ffprobe".into(),
        };
        write_media(&mut out, &missing).unwrap();
        let text = String::from_utf8(out).unwrap();
        for (name, _) in IMAGE_FORMATS {
            assert!(text.contains(name), "{text}");
        }
        assert!(text.contains("bmp") && text.contains("tiff") && text.contains("webp"));
        assert!(
            text.contains("ffmpeg not found (/nonexistent/ffmpeg"),
            "{text}"
        );
    }
}
