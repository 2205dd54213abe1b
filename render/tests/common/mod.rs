//! What the render test files share: the GPU device (or a loud skip) and the tolerance,
//! and walls built in code ([`walls`]). Each test file uses part of it.
#![allow(dead_code)]

pub mod walls;

use ledwall_render::gpu::Gpu;
use std::sync::OnceLock;

/// Largest difference between the backends after quantize, in output codes per channel.
pub const MAX_CODE_DIFF: i32 = 1;

/// The shared device, or `None` (with a loud message) when there is no adapter. Under `CI`
/// a missing adapter fails the test instead.
pub fn device() -> Option<Gpu> {
    static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();
    let gpu = GPU.get_or_init(|| {
        let gpu = Gpu::open(None).map_err(|e| e.to_string());
        if let Ok(g) = &gpu {
            let a = &g.adapter;
            eprintln!(
                "GPU tests run on {} ({}, {}, driver {})",
                a.name, a.backend, a.device_type, a.driver
            );
        }
        gpu
    });
    match gpu {
        Ok(g) => Some(g.clone()),
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("CI must run the GPU tests, but no adapter opened: {e}");
            }
            eprintln!(
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !!! SKIPPED: no graphics adapter ({e}).\n\
                 !!! Install Mesa's Vulkan driver (apt-get install mesa-vulkan-drivers\n\
                 !!! libvulkan1) or run scripts/test, which does.\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            None
        }
    }
}

/// A deterministic pseudo-random generator (xorshift).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A photographic-looking RGBA8 image: smooth gradients, a few hard edges and noise.
pub fn photo8(w: u32, h: u32, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut v = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let fx = x as f64 / w.max(2) as f64;
            let fy = y as f64 / h.max(2) as f64;
            let edge = if (x / 7 + y / 5) % 3 == 0 { 60.0 } else { 0.0 };
            let n = (rng.next() % 24) as f64;
            let r = 255.0 * fx * 0.8 + edge + n;
            let g = 255.0 * (1.0 - fy) * 0.7 + n;
            let b = 128.0 + 100.0 * ((fx * 9.0).sin() * (fy * 7.0).cos()) + n * 0.5;
            v.extend([r, g, b].map(|c| c.clamp(0.0, 255.0) as u8));
            v.push(255);
        }
    }
    v
}

/// Uniform random RGBA16 values.
pub fn random16(w: u32, h: u32, seed: u64) -> Vec<u16> {
    let mut rng = Rng(seed | 1);
    (0..w * h * 4).map(|_| rng.next() as u16).collect()
}
