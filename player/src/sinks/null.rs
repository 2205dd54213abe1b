//! `null`: discards frames and counts them (benchmarks, dry runs).

use super::{ErrorLog, PortShape, Sink, SinkError, SinkStats, check_port};

/// Counts frames and bytes; sends nothing.
#[derive(Debug)]
pub struct NullSink {
    url: String,
    shapes: Vec<PortShape>,
    stats: SinkStats,
    log: ErrorLog,
    sent: bool,
}

impl NullSink {
    /// A null sink for ports of these shapes.
    pub fn new(url: impl Into<String>, shapes: &[PortShape]) -> NullSink {
        NullSink {
            url: url.into(),
            shapes: shapes.to_vec(),
            stats: SinkStats::default(),
            log: ErrorLog::default(),
            sent: false,
        }
    }
}

impl Sink for NullSink {
    fn url(&self) -> &str {
        &self.url
    }

    fn send(&mut self, port: usize, bytes: &[u8], _tick: u64) {
        if check_port(&self.shapes, port, bytes, &self.url, &mut self.log) {
            self.stats.bytes += bytes.len() as u64;
            self.sent = true;
        }
        self.stats.errors = self.log.total();
    }

    fn sync(&mut self, _tick: u64) {
        if std::mem::take(&mut self.sent) {
            self.stats.frames += 1;
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledwall_render::wall::OutputFormat;

    #[test]
    fn counts_frames_bytes_and_refused_calls() {
        let shapes = [
            PortShape {
                format: OutputFormat::Rgb8,
                bytes: 6,
            },
            PortShape {
                format: OutputFormat::Bitplanes,
                bytes: 4,
            },
        ];
        let mut s = NullSink::new("null", &shapes);
        for tick in 0..3 {
            s.send(0, &[0; 6], tick);
            s.send(1, &[0; 4], tick);
            s.sync(tick);
        }
        s.sync(3); // nothing sent: not a frame
        s.send(1, &[0; 5], 4); // wrong length
        s.send(2, &[0; 4], 4); // no such port
        assert_eq!(
            s.stats(),
            SinkStats {
                frames: 3,
                bytes: 30,
                packets: 0,
                errors: 2
            }
        );
    }
}
