//! Where two players are in their playlists, from their control API statuses: the item and
//! the ticks into it, and the offset between a MultiSync master and its remote read back to
//! back. The statuses come from closures, so the players may be on this host or in network
//! namespaces. Included with `#[path = "common/positions.rs"] mod positions;`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::ops::Range;
use std::time::Duration;

/// (item index, ticks into it at the wall's refresh rate) from a status.
pub fn position(s: &Value) -> Option<(u64, f64)> {
    let item = &s["item"];
    let hz = s["wall"]["refresh_hz"].as_f64()?;
    Some((item["index"].as_u64()?, item["elapsed_s"].as_f64()? * hz))
}

/// The remote's position minus the master's, in ticks, read back to back (master, remote,
/// master), and the ticks between the two reads of the master (the offset is known to half
/// of that); `None` when an item changed meanwhile or the two show different items.
pub fn offset(master: &impl Fn() -> Value, remote: &impl Fn() -> Value) -> Option<(f64, f64)> {
    let (i1, m1) = position(&master())?;
    let (ir, r) = position(&remote())?;
    let (i2, m2) = position(&master())?;
    (i1 == i2 && i1 == ir && m2 >= m1).then(|| (r - (m1 + m2) / 2.0, m2 - m1))
}

/// Sample the offset `n` times, 50 ms apart: (offsets where both show one item, read within
/// `window` ticks; samples where they showed different items while the master was `middle`
/// ticks into its item). Reads that took longer than `window` (this host was busy) are no
/// evidence either way.
pub fn sample(
    master: &impl Fn() -> Value,
    remote: &impl Fn() -> Value,
    n: usize,
    middle: Range<f64>,
    window: f64,
) -> (Vec<f64>, usize) {
    let mut same = Vec::new();
    let mut different = 0;
    for _ in 0..n {
        match offset(master, remote) {
            Some((d, w)) if w <= window => same.push(d),
            Some(_) => {}
            None => {
                // An item boundary between the reads is no evidence either way.
                let m = position(&master());
                let r = position(&remote());
                if let (Some((mi, mt)), Some((ri, _))) = (m, r)
                    && mi != ri
                    && middle.contains(&mt)
                {
                    different += 1;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (same, different)
}
