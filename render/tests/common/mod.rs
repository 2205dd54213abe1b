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
