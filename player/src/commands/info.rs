//! `ledwall info`: the version, the backends built in, the graphics adapters wgpu sees
//! (name, API, device type, driver) and what `--backend auto` picks, and the CPU features
//! that choose the CPU backend's kernels (as the render core detects them).

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
    writeln!(out, "media: png (8 and 16 bits per channel), jpeg")?;
    Ok(())
}
