//! `ledwall info`: the version, the backends built in, the graphics adapters wgpu sees
//! (name, API, device type, driver) and what `--backend auto` picks, and the CPU features
//! that choose the CPU backend's kernels (as `ledwall_render::cpu::simd` detects them).

use std::io::Write;

/// The wgpu version this build uses.
const WGPU: &str = "30";

/// The CPU backend's kernel level and what it uses on this machine, from the one place
/// that chooses kernels (`ledwall_render::cpu::simd`).
pub fn cpu_kernels() -> String {
    use ledwall_render::cpu::simd::{self, Avx512, Level};
    let level = simd::level();
    let mut uses = Vec::new();
    match level {
        Level::Portable => uses.push("portable Rust (no AVX2 + FMA)"),
        Level::Avx2 => uses.push("AVX2 + FMA"),
        Level::Avx512 => uses.push("AVX-512 F/BW/VL/DQ"),
    }
    if let Some(t) = Avx512::new() {
        if t.vbmi().is_some() {
            uses.push("VBMI byte-permute LUTs");
        }
        if t.vnni_vbmi().is_some() {
            uses.push("VNNI fixed-point resampling");
        }
        if t.gfni_vbmi().is_some() {
            uses.push("GFNI bit-plane transpose");
        }
    }
    format!("{level} ({})", uses.join(", "))
}

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
    writeln!(out, "cpu kernels: {}", cpu_kernels())?;
    let features = ledwall_render::cpu::simd::features();
    let list: Vec<String> = features
        .list()
        .iter()
        .map(|(name, on)| format!("{name} {}", if *on { "yes" } else { "no" }))
        .collect();
    writeln!(out, "cpu features: {}", list.join(", "))?;
    writeln!(out, "media: png (8 and 16 bits per channel), jpeg")?;
    Ok(())
}
