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
