//! The output thread asks the OS for a higher scheduling priority while it paces, so that
//! a render pool keeping every core busy does not delay its wake-ups (measured on 2 cores:
//! pacer p99 lateness at 240 Hz went from hundreds of µs to tens with it, see
//! docs/PERFORMANCE.md). On Linux it lowers the thread's nice value to [`NICE`]; that
//! needs `CAP_SYS_NICE` (root, or `setcap cap_sys_nice+ep` on the binary, or a systemd
//! `Nice=` / `AmbientCapabilities=`). Without the permission nothing changes and the run
//! goes on at normal priority. The previous value comes back when the guard drops.
//! `LEDWALL_PRIORITY=normal` in the environment leaves the priority alone.

/// The nice value the output thread asks for (−20 is the highest priority, 0 normal).
pub const NICE: i32 = -15;

/// Restores the thread's previous nice value when dropped.
#[derive(Debug)]
pub struct Raised {
    #[cfg(target_os = "linux")]
    tid: libc::id_t,
    #[cfg(target_os = "linux")]
    previous: i32,
}

impl Drop for Raised {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        // SAFETY: setpriority on this thread's own id; no memory is passed.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, self.tid, self.previous);
        }
    }
}

/// Raise the calling thread's priority; `Err` says why it could not (the caller logs it
/// and carries on).
pub fn raise_current_thread() -> Result<Raised, String> {
    if std::env::var("LEDWALL_PRIORITY").is_ok_and(|v| v == "normal") {
        return Err("LEDWALL_PRIORITY=normal".into());
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid takes no arguments and cannot fail.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
        // getpriority may legitimately return -1: clear errno first to tell it apart.
        // SAFETY: errno is thread-local; getpriority reads no memory of ours.
        let previous = unsafe {
            *libc::__errno_location() = 0;
            libc::getpriority(libc::PRIO_PROCESS, tid)
        };
        let err = std::io::Error::last_os_error();
        if previous == -1 && err.raw_os_error().unwrap_or(0) != 0 {
            return Err(format!("getpriority: {err}"));
        }
        if previous <= NICE {
            return Ok(Raised { tid, previous });
        }
        // SAFETY: setpriority on this thread's own id; no memory is passed.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, NICE) };
        if rc != 0 {
            return Err(format!(
                "cannot raise the output thread's priority (nice {NICE}): {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(Raised { tid, previous })
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err("raising the output thread's priority is only implemented on Linux".into())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn nice_now() -> i32 {
        // SAFETY: plain syscalls on the calling thread.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::getpriority(libc::PRIO_PROCESS, tid)
        }
    }

    #[test]
    fn raises_this_thread_only_while_the_guard_lives() {
        // On a thread of its own, so the test runner's threads keep their priority.
        if std::env::var_os("LEDWALL_PRIORITY").is_some() {
            return; // the operator's setting, not what this test checks
        }
        std::thread::spawn(|| {
            let before = nice_now();
            match raise_current_thread() {
                Ok(guard) => {
                    assert_eq!(nice_now(), NICE.min(before));
                    drop(guard);
                    assert_eq!(nice_now(), before);
                }
                // Without CAP_SYS_NICE the only acceptable failure is a permission error,
                // and the priority must be untouched.
                Err(e) => {
                    assert!(
                        e.contains("ermission") || e.contains("not permitted"),
                        "{e}"
                    );
                    assert_eq!(nice_now(), before);
                }
            }
        })
        .join()
        .unwrap();
    }
}
