//! The output thread asks the OS for a higher scheduling priority while it paces, so that
//! a render pool keeping every core busy does not delay its wake-ups (measured on 2 cores:
//! pacer p99 lateness at 240 Hz went from hundreds of µs to tens with it, see
//! docs/PERFORMANCE.md). On Linux it first asks for the real-time policy `SCHED_FIFO` at
//! [`RT_PRIORITY`]: a waking output thread then preempts the render threads at once, and
//! they cannot preempt it while it spins out the last stretch before a deadline (the spin
//! is bounded, and the kernel's real-time throttling keeps 5% of each second for others).
//! That needs `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` of at least [`RT_PRIORITY`] (systemd
//! `LimitRTPRIO=`, `/etc/security/limits.conf` `rtprio`). Failing that, it lowers the
//! thread's nice value to [`NICE`], which needs `CAP_SYS_NICE` too (root, `setcap
//! cap_sys_nice+ep` on the binary, or a systemd `Nice=`). Without either permission
//! nothing changes and the run goes on at normal priority. The previous policy and nice
//! value come back when the guard drops. `LEDWALL_PRIORITY=nice` skips the real-time
//! policy; `LEDWALL_PRIORITY=normal` leaves the priority alone.

/// The nice value the output thread asks for (−20 is the highest priority, 0 normal).
pub const NICE: i32 = -15;

/// The `SCHED_FIFO` priority the output thread asks for (1..=99; low, so that kernel
/// threads and audio servers still come first).
pub const RT_PRIORITY: i32 = 10;

/// How the output thread was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `SCHED_FIFO` at [`RT_PRIORITY`].
    RealTime,
    /// Nice [`NICE`].
    Nice,
}

/// Restores the thread's previous policy and nice value when dropped.
#[derive(Debug)]
pub struct Raised {
    /// What was granted.
    pub level: Level,
    #[cfg(target_os = "linux")]
    tid: libc::id_t,
    #[cfg(target_os = "linux")]
    previous: i32,
    #[cfg(target_os = "linux")]
    policy: Option<(i32, libc::sched_param)>,
}

impl Drop for Raised {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        // SAFETY: sched_setscheduler and setpriority on this thread's own id; the param is
        // a valid struct on our stack.
        unsafe {
            if let Some((policy, param)) = self.policy {
                libc::sched_setscheduler(self.tid as libc::pid_t, policy, &param);
            }
            libc::setpriority(libc::PRIO_PROCESS, self.tid, self.previous);
        }
    }
}

/// Raise the calling thread's priority; `Err` says why it could not (the caller logs it
/// and carries on).
pub fn raise_current_thread() -> Result<Raised, String> {
    let wanted = std::env::var("LEDWALL_PRIORITY").unwrap_or_default();
    if wanted == "normal" {
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
        if wanted != "nice" {
            // SAFETY: plain syscalls on this thread's own id with params on our stack.
            unsafe {
                let mut old = std::mem::zeroed::<libc::sched_param>();
                let policy = libc::sched_getscheduler(tid as libc::pid_t);
                if policy >= 0 && libc::sched_getparam(tid as libc::pid_t, &mut old) == 0 {
                    let param = libc::sched_param {
                        sched_priority: RT_PRIORITY,
                    };
                    if libc::sched_setscheduler(tid as libc::pid_t, libc::SCHED_FIFO, &param) == 0 {
                        return Ok(Raised {
                            level: Level::RealTime,
                            tid,
                            previous,
                            policy: Some((policy, old)),
                        });
                    }
                }
            }
        }
        let nice = |tid, previous| Raised {
            level: Level::Nice,
            tid,
            previous,
            policy: None,
        };
        if previous <= NICE {
            return Ok(nice(tid, previous));
        }
        // SAFETY: setpriority on this thread's own id; no memory is passed.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, NICE) };
        if rc != 0 {
            return Err(format!(
                "cannot raise the output thread's priority (nice {NICE}): {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(nice(tid, previous))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err("raising the output thread's priority is only implemented on Linux".into())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn policy_now() -> i32 {
        // SAFETY: a plain syscall on the calling thread.
        unsafe { libc::sched_getscheduler(libc::syscall(libc::SYS_gettid) as libc::pid_t) }
    }

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
            let (before, policy) = (nice_now(), policy_now());
            match raise_current_thread() {
                Ok(guard) => {
                    match guard.level {
                        Level::RealTime => assert_eq!(policy_now(), libc::SCHED_FIFO),
                        Level::Nice => assert_eq!(nice_now(), NICE.min(before)),
                    }
                    drop(guard);
                    assert_eq!((nice_now(), policy_now()), (before, policy));
                }
                // Without CAP_SYS_NICE the only acceptable failure is a permission error,
                // and the priority must be untouched.
                Err(e) => {
                    assert!(
                        e.contains("ermission") || e.contains("not permitted"),
                        "{e}"
                    );
                    assert_eq!((nice_now(), policy_now()), (before, policy));
                }
            }
        })
        .join()
        .unwrap();
    }
}
