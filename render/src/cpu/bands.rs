//! Bands: how a pass over output rows splits into contiguous runs of rows that run in
//! parallel, each on one thread with its own scratch (the resampler's rings, the fused
//! pack's view of the rows written so far).

/// Most bands a pass splits into (each owns its scratch rows).
pub const MAX_BANDS: usize = 32;

/// Band `k` is rows `cuts[k] .. cuts[k + 1]` of a pass over `cuts[count]` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bands {
    count: usize,
    cuts: [u32; MAX_BANDS + 1],
}

impl Bands {
    /// Bands for the calling thread's rayon pool: two per thread (each band fills its ring
    /// from its first window on, so bands cost the filter's overlap once each; a few per
    /// thread balance the load without redoing much).
    pub fn per_thread(rows: usize, cost: &[u32]) -> Bands {
        Bands::new(rows, rayon::current_num_threads() * 2, cost)
    }

    /// `count` bands (at most [`MAX_BANDS`] and `rows`) over `rows` rows, cut as evenly as
    /// possible. Where `cost[y]` says what cutting just before row `y` costs (the fused
    /// pack's units that would span the cut), each cut moves by up to an eighth of a band
    /// to the cheapest row nearby, the nearest of equally cheap ones.
    pub fn new(rows: usize, count: usize, cost: &[u32]) -> Bands {
        let count = count.clamp(1, MAX_BANDS).min(rows.max(1));
        let mut cuts = [0u32; MAX_BANDS + 1];
        let slack = rows / count / 8;
        for k in 1..count {
            let ideal = k * rows / count;
            let lo = (ideal - slack).max(cuts[k - 1] as usize + 1);
            let hi = (ideal + slack).min(rows - (count - k));
            let price = |y: usize| (cost.get(y).copied().unwrap_or(0), y.abs_diff(ideal));
            let best = (lo..=hi.max(lo)).min_by_key(|&y| price(y)).unwrap_or(ideal);
            cuts[k] = best as u32;
        }
        cuts[count] = rows as u32;
        Bands { count, cuts }
    }

    /// Bands in the pass.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Never true (a pass has at least one band); for clippy's `len` convention.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Rows the pass covers.
    pub fn rows(&self) -> usize {
        self.cuts[self.count] as usize
    }

    /// First row of band `k`.
    pub fn start(&self, k: usize) -> usize {
        self.cuts[k.min(self.count)] as usize
    }

    /// The band holding row `y`.
    pub fn of(&self, y: usize) -> usize {
        self.cuts[1..=self.count].partition_point(|&c| c as usize <= y)
    }

    /// `rows` (`self.rows()` rows of `row_len` samples) split at the cuts; entries past
    /// [`Bands::len`] are empty.
    pub fn split<'a, T>(&self, mut rows: &'a mut [T], row_len: usize) -> [&'a mut [T]; MAX_BANDS] {
        let mut out: [&'a mut [T]; MAX_BANDS] = std::array::from_fn(|_| Default::default());
        for (k, slot) in out.iter_mut().enumerate().take(self.count) {
            let n = ((self.cuts[k + 1] - self.cuts[k]) as usize * row_len).min(rows.len());
            let (head, tail) = std::mem::take(&mut rows).split_at_mut(n);
            *slot = head;
            rows = tail;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_cuts_cover_every_row_once() {
        for rows in [1, 2, 7, 100, 1080] {
            for count in [1, 2, 4, 5, 32, 40] {
                let b = Bands::new(rows, count, &[]);
                assert!(!b.is_empty() && b.len() <= count.min(rows).min(MAX_BANDS));
                assert_eq!(b.rows(), rows);
                for k in 0..b.len() {
                    assert!(b.start(k) < b.start(k + 1), "{rows} {count} band {k} empty");
                    for y in b.start(k)..b.start(k + 1) {
                        assert_eq!(b.of(y), k);
                    }
                }
                let mut data = vec![0u8; rows * 3];
                let split = b.split(&mut data, 3);
                let total: usize = split.iter().map(|s| s.len()).sum();
                assert_eq!(total, rows * 3);
            }
        }
    }

    #[test]
    fn cuts_move_to_cheap_rows_nearby() {
        // Cutting is free only every 32 rows (module rows), as for the fused pack.
        let cost: Vec<u32> = (0..1080).map(|y| if y % 32 == 0 { 0 } else { 9 }).collect();
        let b = Bands::new(1080, 4, &cost);
        for k in 1..4 {
            assert_eq!(b.start(k) % 32, 0, "cut {k} at {}", b.start(k));
            assert!(b.start(k).abs_diff(k * 270) <= 270 / 8);
        }
        // Nothing cheap within reach: the even cut stays.
        let flat = vec![5u32; 1080];
        assert_eq!(Bands::new(1080, 4, &flat), Bands::new(1080, 4, &[]));
    }
}
