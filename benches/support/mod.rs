//! What the benches share: reading their flags, and the median they report.
//!
//! Every bench reads `--name value` flags; `cargo bench` adds `--bench` to each bench
//! target's command line, which is skipped here. A bad flag prints the bench's usage and
//! exits with code 2, before anything is started.

/// The flag being read, and the rest of the command line its value comes from.
pub(crate) struct Flags {
    args: std::iter::Skip<std::env::Args>,
}

impl Flags {
    /// The value of `flag`, as given.
    pub(crate) fn value(&mut self, flag: &str) -> Result<String, String> {
        self.args
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))
    }

    /// The value of `flag`: a positive whole number.
    pub(crate) fn positive(&mut self, flag: &str) -> Result<usize, String> {
        self.value(flag)?
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{flag} needs a positive number"))
    }
}

/// Reads the bench's command line: `read` is given every flag but `--bench` and takes its
/// value from [`Flags`]; an `Err` (an unknown flag, a bad value) ends the process with
/// `usage`.
pub(crate) fn parse(usage: &str, mut read: impl FnMut(&str, &mut Flags) -> Result<(), String>) {
    let mut flags = Flags {
        args: std::env::args().skip(1),
    };
    while let Some(flag) = flags.args.next() {
        let read = match flag.as_str() {
            "--bench" => Ok(()),
            other => read(other, &mut flags),
        };
        if let Err(problem) = read {
            eprintln!("{problem}\nusage: {usage}");
            std::process::exit(2);
        }
    }
}

/// The median of `values` (the upper one of an even count).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}
