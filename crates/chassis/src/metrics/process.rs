//! The process's own metrics, under the names every Prometheus client library uses:
//! `process_resident_memory_bytes`, `process_cpu_seconds_total`, `process_open_fds`,
//! `process_max_fds` and `process_start_time_seconds`.
//!
//! They are read from `/proc/self` when `/metrics` is scraped, so they cost nothing
//! between scrapes, and written straight into the exposition text (the CPU time is a
//! fractional counter, which the recorder's integer counters cannot hold). On systems
//! without `/proc` there are none.

use std::fmt::Write;

/// Appends the process metrics to `text`, in the Prometheus text format; on systems
/// without `/proc`, or if it cannot be read, nothing.
pub(crate) fn render(text: &mut String) {
    #[cfg(target_os = "linux")]
    if let Some(sample) = linux::sample() {
        sample.write(text);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = text;
}

/// One reading of the process's figures; a figure that could not be read is left out.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Sample {
    pub(crate) resident_memory_bytes: Option<u64>,
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) open_fds: Option<u64>,
    pub(crate) max_fds: Option<u64>,
    pub(crate) start_time_seconds: Option<f64>,
}

impl Sample {
    fn write(&self, text: &mut String) {
        let mut one = |name: &str, kind: &str, help: &str, value: Option<f64>| {
            if let Some(value) = value {
                // Writing to a String cannot fail.
                let _ = write!(
                    text,
                    "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
                );
            }
        };
        one(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            self.resident_memory_bytes.map(|v| v as f64),
        );
        one(
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            self.cpu_seconds,
        );
        one(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            self.open_fds.map(|v| v as f64),
        );
        one(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            self.max_fds.map(|v| v as f64),
        );
        one(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            self.start_time_seconds,
        );
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::Sample;

    /// The unit of the times in `/proc/self/stat`: `USER_HZ`, which the kernel fixes at 100
    /// for what it reports to user space on every architecture Rust's tier-1 Linux targets.
    const TICKS_PER_SECOND: f64 = 100.0;

    pub(super) fn sample() -> Option<Sample> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let status = std::fs::read_to_string("/proc/self/status").ok();
        let limits = std::fs::read_to_string("/proc/self/limits").ok();
        let boot = std::fs::read_to_string("/proc/stat").ok();
        let fields = stat_fields(&stat);
        let ticks = |index: usize| -> Option<f64> {
            fields
                .as_ref()?
                .get(index)?
                .parse::<u64>()
                .ok()
                .map(|t| t as f64)
        };
        Some(Sample {
            resident_memory_bytes: status.as_deref().and_then(resident_bytes),
            // utime and stime: fields 14 and 15 of stat(5), 0 and 1 after the command.
            cpu_seconds: ticks(11)
                .zip(ticks(12))
                .map(|(user, system)| (user + system) / TICKS_PER_SECOND),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|entries| entries.count() as u64),
            max_fds: limits.as_deref().and_then(max_open_files),
            // starttime (field 22) is in ticks since boot; btime of /proc/stat is the boot.
            start_time_seconds: ticks(19)
                .zip(boot.as_deref().and_then(boot_time))
                .map(|(start, boot)| boot + start / TICKS_PER_SECOND),
        })
    }

    /// The fields of `/proc/self/stat` after the command (which is in parentheses and may
    /// hold spaces), starting with the state (field 3).
    pub(super) fn stat_fields(stat: &str) -> Option<Vec<&str>> {
        let after = &stat[stat.rfind(')')? + 1..];
        Some(after.split_whitespace().collect())
    }

    pub(super) fn resident_bytes(status: &str) -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    pub(super) fn max_open_files(limits: &str) -> Option<u64> {
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        // "Max open files            1024                 4096                 files": the
        // soft limit, which is the one that refuses.
        line["Max open files".len()..]
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    pub(super) fn boot_time(stat: &str) -> Option<f64> {
        let line = stat.lines().find(|l| l.starts_with("btime "))?;
        line["btime ".len()..].trim().parse().ok()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_figures_are_read_from_proc_formats() {
            let stat = "4242 (a (tricky) name) S 1 4242 4242 0 -1 4194560 2000 0 0 0 250 50 \
                        0 0 20 0 8 0 12345 1000000 500 18446744073709551615";
            let fields = stat_fields(stat).unwrap();
            assert_eq!(fields[0], "S");
            assert_eq!(fields[11], "250");
            assert_eq!(fields[12], "50");
            assert_eq!(fields[19], "12345");
            assert_eq!(
                resident_bytes("Name:\tx\nVmRSS:\t  2048 kB\n"),
                Some(2048 * 1024)
            );
            assert_eq!(
                max_open_files(
                    "Limit                     Soft Limit           Hard Limit           Units\n\
                     Max open files            1024                 4096                 files\n"
                ),
                Some(1024)
            );
            assert_eq!(boot_time("cpu 1 2 3\nbtime 1700000000\n"), Some(1.7e9));
        }

        #[test]
        fn this_process_has_figures() {
            let sample = sample().expect("/proc/self is readable");
            assert!(sample.resident_memory_bytes.unwrap() > 0);
            assert!(sample.open_fds.unwrap() > 0);
            assert!(sample.max_fds.unwrap() >= sample.open_fds.unwrap());
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            let start = sample.start_time_seconds.unwrap();
            assert!(
                start <= now + 1.0 && start > now - 86_400.0,
                "{start} vs {now}"
            );
        }
    }
}
