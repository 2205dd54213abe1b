//! The one place the CPU backend learns what the processor can do and chooses kernels.
//!
//! Features are detected once ([`features`]). Kernels are chosen through the **tokens**
//! below: a token is a zero-sized value that can only be built when its features are
//! present ([`Avx2::new`], [`Avx512::new`] and the extension tokens it hands out), so a
//! kernel that takes a token as an argument cannot be reached on a CPU without them. The
//! `unsafe` that calls a `#[target_feature]` function from ordinary code therefore sits
//! next to a token, and its safety argument is always the same sentence.
//!
//! Every level gives the same bytes (the kernels do the same operations in the same order;
//! the float ones use fused multiply-adds everywhere), so choosing a level is only about
//! speed. [`set_cap`] lowers the level for the kernels chosen afterwards: the tests run every
//! stage at every level this machine has ([`levels`]), as memchr's and fast_image_resize's
//! test runners do, and a benchmark can measure what a smaller CPU would get.
//!
//! | level | features | what uses them |
//! |---|---|---|
//! | [`Level::Avx2`] | AVX2, FMA | float resampler, colour, quantize, compose, pack, fixed-point resampler |
//! | [`Level::Avx512`] | AVX-512 F, BW, VL, DQ (+ AVX2, FMA) | the wider builds of the same kernels |
//! | … + [`Vbmi`] | AVX-512 VBMI | 8-bit LUTs with `vpermi2b` (linearize, fast-mode LUT) |
//! | … + [`VnniVbmi`] | AVX-512 VNNI, VBMI | the fixed-point horizontal pass of fast mode |
//! | … + [`GfniVbmi`] | GFNI, AVX-512 VBMI | the bit-plane pack's transpose |

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction-set level, lowest first. Each level's kernels give the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Plain Rust for the build target (what the compiler vectorizes by itself).
    Portable = 0,
    /// AVX2 + FMA (x86-64-v3).
    Avx2 = 1,
    /// AVX-512 F, BW, VL, DQ + AVX2 + FMA (x86-64-v4).
    Avx512 = 2,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 3] = [Level::Portable, Level::Avx2, Level::Avx512];

    /// Its name: `portable`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// The level named `portable`, `avx2` or `avx512`.
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == name)
    }

    fn from_u8(v: u8) -> Level {
        match v {
            0 => Level::Portable,
            1 => Level::Avx2,
            _ => Level::Avx512,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The CPU features that choose kernels, as detected (false off x86-64).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// AVX2.
    pub avx2: bool,
    /// FMA (fused multiply-add, 256-bit).
    pub fma: bool,
    /// AVX-512 Foundation.
    pub avx512f: bool,
    /// AVX-512 byte and word instructions.
    pub avx512bw: bool,
    /// AVX-512 vector-length extensions (the 128/256-bit forms).
    pub avx512vl: bool,
    /// AVX-512 doubleword and quadword instructions.
    pub avx512dq: bool,
    /// AVX-512 VBMI (byte permutes: `vpermi2b`, `vpermt2b`).
    pub avx512vbmi: bool,
    /// AVX-512 VNNI (`vpdpwssd`: i16 dot products into i32).
    pub avx512vnni: bool,
    /// GFNI (`gf2p8affineqb`: the bit-matrix transpose of pack).
    pub gfni: bool,
}

impl Features {
    /// The highest [`Level`] these features allow.
    pub fn level(&self) -> Level {
        if self.avx512f && self.avx512bw && self.avx512vl && self.avx512dq && self.avx2 && self.fma
        {
            Level::Avx512
        } else if self.avx2 && self.fma {
            Level::Avx2
        } else {
            Level::Portable
        }
    }

    /// `(name, present)` for each feature, in declaration order (for `ledwall info`).
    pub fn list(&self) -> [(&'static str, bool); 9] {
        [
            ("avx2", self.avx2),
            ("fma", self.fma),
            ("avx512f", self.avx512f),
            ("avx512bw", self.avx512bw),
            ("avx512vl", self.avx512vl),
            ("avx512dq", self.avx512dq),
            ("avx512vbmi", self.avx512vbmi),
            ("avx512vnni", self.avx512vnni),
            ("gfni", self.gfni),
        ]
    }
}

/// What this CPU has, detected on the first call.
pub fn features() -> Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    *FEATURES.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Features {
    Features {
        avx2: std::is_x86_feature_detected!("avx2"),
        fma: std::is_x86_feature_detected!("fma"),
        avx512f: std::is_x86_feature_detected!("avx512f"),
        avx512bw: std::is_x86_feature_detected!("avx512bw"),
        avx512vl: std::is_x86_feature_detected!("avx512vl"),
        avx512dq: std::is_x86_feature_detected!("avx512dq"),
        avx512vbmi: std::is_x86_feature_detected!("avx512vbmi"),
        avx512vnni: std::is_x86_feature_detected!("avx512vnni"),
        gfni: std::is_x86_feature_detected!("gfni"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Features {
    Features::default()
}

/// The level kernels are chosen at: the machine's, lowered by the cap. `UNSET` until the
/// first call. One relaxed load on every later call.
static LEVEL: AtomicU8 = AtomicU8::new(UNSET);
/// The cap last set with [`set_cap`]; `UNSET`: the environment's ([`ENV`]).
static CAP: AtomicU8 = AtomicU8::new(UNSET);
const UNSET: u8 = u8::MAX;

/// The environment variable that caps the level for a whole process: `portable`, `avx2`
/// or `avx512` (what a CPU without the higher kernels would run: for measuring, or to
/// step around a kernel suspected on one machine). Read once; other values are ignored.
pub const ENV: &str = "LEDWALL_CPU_LEVEL";

/// The cap in force: the last [`set_cap`], else [`ENV`], else none.
fn cap() -> Level {
    match CAP.load(Ordering::Relaxed) {
        UNSET => env_cap(),
        v => Level::from_u8(v),
    }
}

/// The cap [`ENV`] asks for (none when unset or not a level's name).
fn env_cap() -> Level {
    static FROM_ENV: OnceLock<Level> = OnceLock::new();
    *FROM_ENV.get_or_init(|| {
        std::env::var(ENV)
            .ok()
            .and_then(|v| Level::from_name(v.trim()))
            .unwrap_or(Level::Avx512)
    })
}

/// The level kernels are chosen at now: this CPU's, or less under a cap ([`set_cap`],
/// [`ENV`]).
#[inline]
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        UNSET => {
            let l = features().level().min(cap());
            LEVEL.store(l as u8, Ordering::Relaxed);
            l
        }
        v => Level::from_u8(v),
    }
}

/// Lower the level the kernels chosen from now on use to at most `cap` (never above what
/// the CPU has; [`Level::Avx512`] lifts the cap, [`ENV`]'s included). Process-wide. Kernels already chosen,
/// such as those a renderer picked when it was built, stay as they are: build renderers
/// after setting the cap. Returns the level now in force.
pub fn set_cap(cap: Level) -> Level {
    CAP.store(cap as u8, Ordering::Relaxed);
    let l = features().level().min(cap);
    LEVEL.store(l as u8, Ordering::Relaxed);
    l
}

/// The levels this machine runs, lowest first (always [`Level::Portable`]).
pub fn levels() -> Vec<Level> {
    let top = features().level();
    Level::ALL.into_iter().filter(|l| *l <= top).collect()
}

/// The level in force and what it uses on this CPU, for people: e.g. `avx512 (AVX-512
/// F/BW/VL/DQ, VBMI byte-permute LUTs, VNNI fixed-point resampling, GFNI bit-plane
/// transpose)`.
pub fn describe() -> String {
    let l = level();
    let mut uses = vec![match l {
        Level::Portable => "portable Rust, no AVX2 + FMA",
        Level::Avx2 => "AVX2 + FMA",
        Level::Avx512 => "AVX-512 F/BW/VL/DQ",
    }];
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
    format!("{l} ({})", uses.join(", "))
}

/// Proof that the CPU has AVX2 and FMA and that the level allows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx2(());

impl Avx2 {
    /// The token, when [`level`] is at least [`Level::Avx2`].
    #[inline]
    pub fn new() -> Option<Avx2> {
        (level() >= Level::Avx2).then_some(Avx2(()))
    }
}

/// Proof that the CPU has AVX-512 F, BW, VL and DQ (with AVX2 and FMA) and that the level
/// allows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx512(());

impl Avx512 {
    /// The token, when [`level`] is [`Level::Avx512`].
    #[inline]
    pub fn new() -> Option<Avx512> {
        (level() >= Level::Avx512).then_some(Avx512(()))
    }

    /// AVX-512 implies AVX2 + FMA.
    #[inline]
    pub fn avx2(self) -> Avx2 {
        Avx2(())
    }

    /// The VBMI token, when the CPU also has AVX-512 VBMI.
    #[inline]
    pub fn vbmi(self) -> Option<Vbmi> {
        features().avx512vbmi.then_some(Vbmi(()))
    }

    /// The VNNI + VBMI token.
    #[inline]
    pub fn vnni_vbmi(self) -> Option<VnniVbmi> {
        let f = features();
        (f.avx512vnni && f.avx512vbmi).then_some(VnniVbmi(()))
    }

    /// The GFNI + VBMI token.
    #[inline]
    pub fn gfni_vbmi(self) -> Option<GfniVbmi> {
        let f = features();
        (f.gfni && f.avx512vbmi).then_some(GfniVbmi(()))
    }
}

/// Proof of [`Avx512`] plus AVX-512 VBMI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vbmi(());

/// Proof of [`Avx512`] plus AVX-512 VNNI and VBMI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VnniVbmi(());

/// Proof of [`Avx512`] plus GFNI and AVX-512 VBMI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GfniVbmi(());

impl Vbmi {
    /// The AVX-512 token it implies.
    #[inline]
    pub fn avx512(self) -> Avx512 {
        Avx512(())
    }
}

impl VnniVbmi {
    /// The AVX-512 token it implies.
    #[inline]
    pub fn avx512(self) -> Avx512 {
        Avx512(())
    }

    /// The VBMI token it implies.
    #[inline]
    pub fn vbmi(self) -> Vbmi {
        Vbmi(())
    }
}

impl GfniVbmi {
    /// The AVX-512 token it implies.
    #[inline]
    pub fn avx512(self) -> Avx512 {
        Avx512(())
    }
}

/// Run `f` at every level this machine has, lowest first, with the cap set to each in turn
/// and restored afterwards; one at a time across threads (a lock), so two such runs do not
/// move each other's cap. For the tests: each stage's bit-exactness test runs its cases
/// through `f`, which names the level in its failure messages.
pub fn each_level(mut f: impl FnMut(Level)) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let before = CAP.load(Ordering::Relaxed);
    struct Restore(u8);
    impl Drop for Restore {
        fn drop(&mut self) {
            CAP.store(self.0, Ordering::Relaxed);
            LEVEL.store(UNSET, Ordering::Relaxed);
        }
    }
    let _restore = Restore(before);
    for l in levels() {
        set_cap(l);
        f(l);
    }
}

/// Defines a function whose body is compiled three times: for AVX-512 ([`Avx512`]), for
/// AVX2 + FMA ([`Avx2`]), each used when its token can be had, and for the baseline target.
/// The kernels are plain Rust that the compiler vectorizes; the wider registers are what
/// the features buy. (Building everything with `-C target-cpu=native` was measured to slow
/// the LUT kernels down, so features are enabled per kernel instead.)
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident $(<$($g:ident : $b:path),*>)? ($($a:ident : $t:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name $(<$($g: $b),*>)? ($($a: $t),*) {
            #[inline(always)]
            fn inner $(<$($g: $b),*>)? ($($a: $t),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2 $(<$($g: $b),*>)? ($($a: $t),*) {
                inner($($a),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
            fn avx512 $(<$($g: $b),*>)? ($($a: $t),*) {
                inner($($a),*)
            }
            #[cfg(target_arch = "x86_64")]
            match $crate::cpu::simd::level() {
                // SAFETY: the level is at most what the CPU has (`simd::level`), and
                // `Avx512` is exactly the features `avx512` is compiled for.
                $crate::cpu::simd::Level::Avx512 => return unsafe { avx512($($a),*) },
                // SAFETY: as above, for AVX2 + FMA.
                $crate::cpu::simd::Level::Avx2 => return unsafe { avx2($($a),*) },
                $crate::cpu::simd::Level::Portable => {}
            }
            inner($($a),*)
        }
    };
}
pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_the_cap() {
        each_level(|l| {
            assert_eq!(level(), l);
            assert_eq!(Avx2::new().is_some(), l >= Level::Avx2, "{l}");
            assert_eq!(Avx512::new().is_some(), l >= Level::Avx512, "{l}");
        });
        assert_eq!(level(), features().level().min(cap()));
    }

    #[test]
    fn levels_have_names() {
        for l in Level::ALL {
            assert_eq!(Level::from_name(l.name()), Some(l));
        }
        assert_eq!(Level::from_name("sse2"), None);
    }

    #[test]
    fn the_cap_never_raises_the_level() {
        each_level(|l| {
            // Inside the lock: the cap set here is restored by `each_level`.
            assert!(set_cap(Level::Avx512) <= features().level(), "{l}");
        });
    }
}
