//! A counting global allocator for the `ledwall` binary, so `ledwall bench` can report
//! allocations per frame. The binary installs [`Counting`] as its `#[global_allocator]` and
//! calls [`mark_installed`]; a library user who does not gets "not measured" instead of a
//! misleading zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting allocations (and reallocations) on every thread: one
/// relaxed atomic increment per call.
#[derive(Debug, Default)]
pub struct Counting;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Record that [`Counting`] is the global allocator of this process.
pub fn mark_installed() {
    INSTALLED.store(true, Ordering::Relaxed);
}

/// Allocations so far on every thread, if [`Counting`] is installed.
pub fn allocations() -> Option<u64> {
    INSTALLED
        .load(Ordering::Relaxed)
        .then(|| ALLOCATIONS.load(Ordering::Relaxed))
}

/// The process's peak resident set size in bytes (`VmHWM`), where the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Allocations of this size or more get pages of their own from the kernel and give them
/// back when freed (1 MiB: decoded stills, video frame pools, canvas-sized buffers).
pub const MMAP_THRESHOLD: usize = 1 << 20;
/// At most this many malloc arenas (glibc's default is eight per core).
pub const ARENA_MAX: usize = 4;

/// Make glibc's allocator give memory back instead of keeping it, for a process that runs
/// for months. Call it first thing in `main`, before any other thread starts.
///
/// By default glibc raises its mmap threshold to the size of the largest block freed so
/// far (up to 32 MiB), after which canvas-sized buffers (8 MiB at 1080p) come from the
/// heaps of per-thread arenas and stay resident when freed: which thread first touches an
/// arena decides where they land, so resident memory stepped by about 56 MiB, once, in an
/// hour-long soak with the control API (its threads are more arenas), and never without it.
/// A fixed threshold (which also fixes the trim threshold at its 128 KiB default) and a
/// bounded number of arenas make resident memory follow what is live. The steady state
/// allocates nothing, so the cost (an mmap and a munmap per large block) is paid only when
/// items open. Settings the user made through `GLIBC_TUNABLES` or `MALLOC_*` variables win.
/// Returns what it set, for the log; does nothing on other C libraries.
pub fn tune_malloc() -> Option<&'static str> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        let user_set = tunables.contains("glibc.malloc.")
            || std::env::var_os("MALLOC_ARENA_MAX").is_some()
            || std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some()
            || std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_some();
        if user_set {
            return None;
        }
        // SAFETY: mallopt only changes allocator parameters; called before other threads
        // allocate, as documented above. The values are in the ranges glibc accepts
        // (1 MiB is under its 32 MiB mmap-threshold maximum).
        let ok = unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int) == 1
                && libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX as libc::c_int) == 1
        };
        ok.then_some("glibc malloc: mmap threshold 1 MiB (fixed), at most 4 arenas")
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}
