//! Writes the fixture media into `fixtures/media/` (or the directory given as the first
//! argument). The pixels are deterministic; see `ledwall_player::synth`.
//!
//! ```text
//! cargo run -p ledwall-player --example make_media
//! ```

use ledwall_player::synth::{ANIMATION_FIXTURE, FIXTURE_MEDIA, write_animated_gif, write_fixture};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/media"),
        PathBuf::from,
    );
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for media in &FIXTURE_MEDIA {
        match write_fixture(&dir, media) {
            Ok(path) => {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                println!("{} ({size} bytes): {}", path.display(), media.about);
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", media.name);
                return ExitCode::FAILURE;
            }
        }
    }
    let path = dir.join(ANIMATION_FIXTURE);
    if let Err(e) = write_animated_gif(&path, 32, 16, 100) {
        eprintln!("error: cannot write {ANIMATION_FIXTURE}: {e}");
        return ExitCode::FAILURE;
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{} ({size} bytes): animated GIF, 8 frames of 100 ms, looping",
        path.display()
    );
    ExitCode::SUCCESS
}
