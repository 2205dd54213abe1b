//! A repeated still skips compose and colour, and the frame is still exactly what a fresh
//! renderer makes for the same scene.

use ledwall_render::Stage;
use ledwall_render::{Layer, Renderer, Scene, SourceImage, Wall, WallFrame};
use std::time::Duration;

fn image(w: u32, h: u32, seed: u32) -> Vec<u8> {
    (0..w * h)
        .flat_map(|i| {
            [
                (i * 7 + seed) as u8,
                (i / w * 3) as u8,
                (i ^ seed) as u8,
                255,
            ]
        })
        .collect()
}

fn fresh(wall: &Wall, scene: &Scene<'_>) -> WallFrame {
    let mut r = Renderer::new(wall).unwrap_or_else(|e| panic!("{e}"));
    let mut f = WallFrame::new(r.geometry());
    r.render_into(scene, &mut f)
        .unwrap_or_else(|e| panic!("{e}"));
    f
}

#[test]
fn repeated_stills_skip_colour_and_stay_exact() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/walls/outdoor.toml"
    );
    let wall = Wall::load(path).unwrap();
    let (a, b) = (image(97, 61, 1), image(50, 200, 9));
    let la = Layer::new(SourceImage::rgba8(97, 61, &a).with_key(1));
    let lb = Layer::new(SourceImage::rgba8(50, 200, &b).with_key(2));
    let mut r = Renderer::new(&wall).unwrap();
    let mut f = WallFrame::new(r.geometry());
    let scenes = [
        Scene::single(0, la),
        Scene::single(1, la),             // repeat: colour skipped
        Scene::crossfade(2, la, lb, 0.3), // new weights: recomputed
        Scene::crossfade(3, la, lb, 0.3), // repeat: skipped
        Scene::crossfade(4, la, lb, 0.6), // weights changed: recomputed
        Scene::single(5, lb),             // another still: recomputed
        Scene::single(6, lb),             // repeat: skipped
    ];
    let skipped = [false, true, false, true, false, false, true];
    for (scene, skip) in scenes.iter().zip(skipped) {
        r.render_into(scene, &mut f).unwrap();
        let colour = r.stage_times()[Stage::Color];
        assert_eq!(
            colour == Duration::ZERO,
            skip,
            "frame {}: colour time {colour:?}",
            scene.frame_number
        );
        assert_eq!(
            f,
            fresh(&wall, scene),
            "frame {} differs from a fresh render",
            scene.frame_number
        );
    }
}
