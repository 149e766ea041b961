//! Figures about the machine and a process, read from `/proc` (Linux), and the commit measured.
//! Every reader returns `None` rather than failing: a missing figure must not lose a run.

use std::path::Path;

/// Clock ticks per second for `/proc/<pid>/stat` times when `getconf` is unavailable (the value
/// on every mainstream Linux configuration).
const CLOCK_TICKS_PER_SECOND_FALLBACK: u64 = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Machine {
    pub cpu_model: Option<String>,
    pub cores: Option<u64>,
    pub ram_bytes: Option<u64>,
}

impl Machine {
    #[must_use]
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self::parse(&cpuinfo, &meminfo)
    }

    fn parse(cpuinfo: &str, meminfo: &str) -> Self {
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, model)| model.trim().to_owned());
        let cores = cpuinfo.lines().filter(|line| line.starts_with("processor")).count() as u64;
        Self { cpu_model, cores: (cores > 0).then_some(cores), ram_bytes: kib_field(meminfo, "MemTotal:") }
    }
}

/// CPU time and memory of one process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ProcessSample {
    /// User + system CPU seconds since the process started.
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
    /// Peak RSS (`VmHWM`) since the process started.
    pub rss_peak_bytes: u64,
}

impl ProcessSample {
    #[must_use]
    pub fn read(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        Self::parse(&stat, &status, clock_ticks_per_second())
    }

    fn parse(stat: &str, status: &str, ticks_per_second: u64) -> Option<Self> {
        // The command name (field 2) is in parentheses and may hold spaces: count fields after
        // the last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
        let after_name = &stat[stat.rfind(')')? + 1..];
        let mut fields = after_name.split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some(Self {
            cpu_seconds: (utime + stime) as f64 / ticks_per_second.max(1) as f64,
            rss_bytes: kib_field(status, "VmRSS:")?,
            rss_peak_bytes: kib_field(status, "VmHWM:")?,
        })
    }
}

fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(CLOCK_TICKS_PER_SECOND_FALLBACK)
}

/// A `Name:   1234 kB` line of `/proc/meminfo` or `/proc/<pid>/status`, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let rest = text.lines().find_map(|line| line.strip_prefix(name))?;
    let kib: u64 = rest.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

/// The commit of the working tree at or above `dir`: read from `.git` directly (a branch ref,
/// then `packed-refs`, or a detached HEAD), else `git rev-parse HEAD`. Local edits on top are
/// not detected.
#[must_use]
pub fn commit(dir: &Path) -> Option<String> {
    let git_dir = dir.ancestors().map(|d| d.join(".git")).find(|d| d.is_dir());
    if let Some(git_dir) = git_dir {
        let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
        let head = head.trim();
        let Some(reference) = head.strip_prefix("ref: ") else {
            return Some(head.to_owned());
        };
        if let Ok(hash) = std::fs::read_to_string(git_dir.join(reference)) {
            return Some(hash.trim().to_owned());
        }
        let packed = std::fs::read_to_string(git_dir.join("packed-refs")).unwrap_or_default();
        if let Some(hash) = packed.lines().find_map(|line| line.strip_suffix(reference)) {
            return Some(hash.trim().to_owned());
        }
    }
    let out = std::process::Command::new("git").args(["rev-parse", "HEAD"]).current_dir(dir).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_figures_are_read_from_stat_and_status() {
        let stat = "4242 (ledger serve) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 1234 0 0";
        let status = "Name:\tledger\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        let sample = ProcessSample::parse(stat, status, 100).expect("parsable");
        assert!((sample.cpu_seconds - 3.0).abs() < 1e-9, "{}", sample.cpu_seconds);
        assert_eq!((sample.rss_bytes, sample.rss_peak_bytes), (100 << 20, 200 << 20));
        assert_eq!(ProcessSample::parse("4242 (x) S 1", status, 100), None);
    }

    #[test]
    fn machine_figures_are_read_from_cpuinfo_and_meminfo() {
        let cpuinfo =
            "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        let machine = Machine::parse(cpuinfo, "MemTotal:       24576000 kB\n");
        assert_eq!(machine.cpu_model.as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!((machine.cores, machine.ram_bytes), (Some(2), Some(24_576_000 * 1024)));
    }
}
