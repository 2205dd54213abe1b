//! Every fixture wall loads and compiles.
use ledwall_render::{Geometry, Wall};

#[test]
fn fixture_walls_load_and_compile() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/walls");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml" || e == "json") {
            let wall = Wall::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let g = Geometry::compile(&wall);
            assert!(!g.ports.is_empty());
            n += 1;
        }
    }
    assert!(n >= 4);
}

#[test]
fn fixture_walls_fit_in_memory_by_the_estimate() {
    use ledwall_render::wall::{MemoryLimit, estimate_memory};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/walls");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml" || e == "json") {
            let wall = Wall::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let need = estimate_memory(&wall);
            // Every fixture fits a small player PC (2 GiB) with room to spare.
            assert!(need < 1 << 30, "{}: {need}", path.display());
            let limit = MemoryLimit {
                bytes: 2 << 30,
                source: "MemAvailable",
            };
            assert_eq!(wall.check_memory_against(Some(limit)), Ok(need));
            // And this machine, as the player checks it.
            wall.check_memory().unwrap_or_else(|e| panic!("{e}"));
        }
    }
    assert!(ledwall_render::wall::memory_limit().is_some());
}

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok());
    match kb {
        Some(kb) => kb * 1024,
        None => panic!("no VmRSS in /proc/self/status"),
    }
}

/// The estimate is an upper bound of what the renderer and a pool of frames really take,
/// within a small factor: hd.toml rendered into every frame of a pool.
#[test]
fn the_memory_estimate_bounds_what_rendering_takes() {
    use ledwall_render::{Layer, Renderer, Scene, SourceImage, WallFrame};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/walls/hd.toml");
    let wall = Wall::load(path).unwrap_or_else(|e| panic!("{e}"));
    let estimate = ledwall_render::wall::estimate_memory(&wall);
    let before = rss();
    let mut r = Renderer::new(&wall).unwrap();
    let pixels = vec![200u8; 1920 * 1080 * 4];
    let mut frames: Vec<WallFrame> = (0..ledwall_render::wall::ESTIMATE_POOL_FRAMES)
        .map(|_| WallFrame::new(r.geometry()))
        .collect();
    for (i, f) in frames.iter_mut().enumerate() {
        let layer = Layer::new(SourceImage::rgba8(1920, 1080, &pixels));
        r.render_into(&Scene::single(i as u64, layer), f).unwrap();
    }
    let used = rss().saturating_sub(before);
    assert!(
        used < estimate && estimate < 4 * used,
        "used {used} bytes, estimated {estimate}"
    );
    drop(frames);
}
