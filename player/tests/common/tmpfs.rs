//! A small tmpfs mounted for a test (a disk that fills), unmounted when dropped; and a way
//! to fill it. Needs root: without it the test is skipped loudly, and fails under `CI`.
//! Included with `#[path = "common/tmpfs.rs"] mod tmpfs;`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

/// A small tmpfs mounted on a fresh temporary folder, unmounted on drop (even when the test
/// fails). `None` (after a loud line) when mounting is not allowed here and `CI` is unset.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(kib: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let target = std::ffi::CString::new(dir.path().as_os_str().as_encoded_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let options =
            std::ffi::CString::new(format!("size={kib}k")).unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: every pointer is a NUL-terminated string that outlives the call.
        let r = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                options.as_ptr().cast(),
            )
        };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            let denied = e.raw_os_error() == Some(libc::EPERM);
            if !denied || std::env::var_os("CI").is_some() {
                panic!("cannot mount a tmpfs on {}: {e}", dir.path().display());
            }
            eprintln!("SKIPPED: cannot mount a tmpfs ({e}): the full-disk test needs root");
            return None;
        }
        Some(Tmpfs { dir })
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if let Ok(target) = std::ffi::CString::new(self.dir.path().as_os_str().as_encoded_bytes()) {
            // SAFETY: a NUL-terminated path that outlives the call.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Fill the file system under `path` with a file there, to the last byte it takes.
pub fn fill(path: &std::path::Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
    let chunk = [0x55u8; 4096];
    let mut len = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => len += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("{e}"),
        }
    }
    len
}
