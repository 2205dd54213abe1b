//! External dimming (receiving cards that dim themselves, `dim=card`): the renderer leaves
//! the pixels at full level (the white point only) and each frame carries the level for the
//! hardware, `brightness × runtime level`. The bytes equal those of the same wall at
//! brightness 1, on both backends; without it the pipeline dims and the level is 1.

use ledwall_render::backend::RenderFrame;
use ledwall_render::gpu;
use ledwall_render::{Layer, Renderer, Scene, SourceImage, Wall, WallFrame};

mod common;

fn wall(brightness: f64) -> Wall {
    let text = format!(
        r#"
        name = "cards"
        [canvas]
        width = 40
        height = 12
        [color]
        transfer = "srgb"
        brightness = {brightness}
        white_point = [1.0, 0.9, 0.8]
        dither = "ordered"
        [[outputs]]
        name = "cards"
        format = "canvas"
        sink = "colorlight://eth1?dim=card"
        "#
    );
    Wall::from_toml_str(&text, "cards.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn source() -> Vec<u8> {
    (0..40 * 12 * 4).map(|i| (i * 37 % 251) as u8).collect()
}

/// Render one frame with `r`; the frame's port bytes and card level.
fn render(r: &mut dyn RenderFrame, g: &ledwall_render::Geometry) -> (Vec<u8>, f32) {
    let src = source();
    let mut f = WallFrame::new(g);
    let layer = Layer::new(SourceImage::rgba8(40, 12, &src));
    r.render_into(&Scene::single(3, layer), &mut f)
        .unwrap_or_else(|e| panic!("{e}"));
    (f.ports[0].bytes.clone(), f.card_level)
}

#[test]
fn external_dimming_keeps_full_level_pixels_and_hands_the_level_on() {
    let (dim, full) = (wall(0.6), wall(1.0));
    let mut reference = Renderer::new(&full).unwrap_or_else(|e| panic!("{e}"));
    let g = reference.geometry().clone();
    let (want, level) = render(&mut reference, &g);
    assert_eq!(level, 1.0);

    let mut cpu = Renderer::new(&dim).unwrap_or_else(|e| panic!("{e}"));
    let (dimmed, level) = render(&mut cpu, &g);
    assert_eq!(level, 1.0, "the pipeline dims by default");
    assert_ne!(dimmed, want);
    cpu.set_external_dimming(true);
    cpu.set_brightness(0.5);
    let (bytes, level) = render(&mut cpu, &g);
    assert_eq!(bytes, want, "full-level pixels");
    assert!((level - 0.3).abs() < 1e-6, "{level}");
    // A new colour section's brightness goes to the cards too.
    let mut color = dim.color.clone();
    color.brightness = 0.8;
    RenderFrame::set_color(&mut cpu, &color).unwrap_or_else(|e| panic!("{e}"));
    let (bytes, level) = render(&mut cpu, &g);
    assert_eq!(bytes, want);
    assert!((level - 0.4).abs() < 1e-6, "{level}");
    cpu.set_external_dimming(false);
    assert_eq!(render(&mut cpu, &g).1, 1.0);

    let Some(dev) = common::device() else { return };
    let mut gpu = gpu::Renderer::with_gpu(&dim, dev, None).unwrap_or_else(|e| panic!("{e}"));
    gpu.set_external_dimming(true);
    gpu.set_brightness(0.5);
    let (bytes, level) = render(&mut gpu, &g);
    let diff = bytes
        .iter()
        .zip(&want)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(0);
    assert!(diff <= common::MAX_CODE_DIFF as u8, "gpu differs by {diff}");
    assert!((level - 0.3).abs() < 1e-6, "{level}");
}
