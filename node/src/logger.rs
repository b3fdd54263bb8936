//! A small structured logger for the `log` facade: one line per record on
//! stderr, `ts=<unix seconds> level=<level> target=<module> <message>`, where
//! messages are written as `key=value` pairs. The level filter comes from the
//! configuration (`log_level`) or the `PN_LOG` environment variable.

use log::{LevelFilter, Log, Metadata, Record};
use std::io::Write;

struct Logger;

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let line = format!(
            "ts={ts:.3} level={} target={} {}\n",
            record.level().as_str().to_ascii_lowercase(),
            record.target(),
            record.args()
        );
        // One write per line, so lines from threads do not interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Installs the logger with `level`, unless `PN_LOG` names another level.
pub fn init(level: LevelFilter) {
    let level = std::env::var("PN_LOG").ok().and_then(|s| s.parse::<LevelFilter>().ok()).unwrap_or(level);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}
