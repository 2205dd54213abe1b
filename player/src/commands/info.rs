//! `ledwall info`: the version, the backends built in, the graphics adapters wgpu sees
//! (name, API, device type, driver) and what `--backend auto` picks, and the CPU features
//! found.

use std::io::Write;

/// The wgpu version this build uses.
const WGPU: &str = "30";

/// CPU features that matter to the CPU backend, with whether this machine has them.
pub fn cpu_features() -> Vec<(&'static str, bool)> {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        vec![
            ("sse4.1", std::is_x86_feature_detected!("sse4.1")),
            ("avx2", std::is_x86_feature_detected!("avx2")),
            ("bmi2", std::is_x86_feature_detected!("bmi2")),
        ]
    }
    #[cfg(target_arch = "aarch64")]
    {
        vec![("neon", std::arch::is_aarch64_feature_detected!("neon"))]
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    {
        Vec::new()
    }
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
    let features = cpu_features();
    if features.is_empty() {
        writeln!(out, "cpu features: none checked on this architecture")?;
    } else {
        let list: Vec<String> = features
            .iter()
            .map(|(name, on)| format!("{name} {}", if *on { "yes" } else { "no" }))
            .collect();
        writeln!(out, "cpu features: {}", list.join(", "))?;
    }
    writeln!(out, "media: png (8 and 16 bits per channel), jpeg")?;
    Ok(())
}
