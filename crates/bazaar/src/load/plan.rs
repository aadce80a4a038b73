//! The shape of a load run in time: a list of stages, each holding a level (calls a second
//! in an open loop, shoppers in a closed one) for a while, or ramping it linearly from one
//! value to another.
//!
//! `--stages 10s@50,20s@100` holds 50 for ten seconds, then 100 for twenty;
//! `--stages 30s@10..100` ramps from 10 to 100 over thirty seconds. `--duration` with
//! `--rate` or `--shoppers` is one constant stage.
//!
//! An open loop's arrivals are fixed in advance by the plan, never by how fast the shop
//! answers: arrival `k` is due at the instant the planned rate has accumulated `k` calls
//! (the integral of a linear rate is a quadratic, solved exactly), so a slow shop cannot
//! slow the arrivals down and hide its queueing (no coordinated omission).

use std::time::Duration;

/// One stage: `duration` long, the level going linearly from `from` to `to`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// The level at its start.
    pub from: f64,
    /// The level at its end (equal to `from` for a step).
    pub to: f64,
}

impl Stage {
    /// The level `into` the stage.
    fn level_at(&self, into: Duration) -> f64 {
        let length = self.duration.as_secs_f64();
        if length == 0.0 {
            return self.to;
        }
        let fraction = (into.as_secs_f64() / length).clamp(0.0, 1.0);
        self.from + (self.to - self.from) * fraction
    }

    /// Calls a rate following this stage accumulates over the whole stage.
    fn calls(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.duration.as_secs_f64()
    }

    /// Seconds into the stage at which a rate following it has accumulated `calls` calls
    /// (`calls` no more than [`Stage::calls`]).
    fn time_of(&self, calls: f64) -> f64 {
        let length = self.duration.as_secs_f64();
        let slope = (self.to - self.from) / length;
        if slope.abs() < 1e-12 {
            return calls / self.from;
        }
        // from·t + slope·t²/2 = calls, the root within the stage.
        let root = (self.from * self.from + 2.0 * slope * calls)
            .max(0.0)
            .sqrt();
        ((root - self.from) / slope).clamp(0.0, length)
    }
}

/// The stages of a run, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    stages: Vec<Stage>,
}

impl Plan {
    /// One stage holding `level` for `duration`.
    pub fn constant(duration: Duration, level: f64) -> Self {
        Self {
            stages: vec![Stage {
                duration,
                from: level,
                to: level,
            }],
        }
    }

    /// Parses `--stages`: comma-separated `DURATION@LEVEL` (a step) or
    /// `DURATION@FROM..TO` (a linear ramp), such as `10s@50,20s@100` or `30s@10..100`.
    ///
    /// # Errors
    ///
    /// A message naming the stage that is not of that form, has no duration, or a negative
    /// level; or when no stage has a level above zero.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut stages = Vec::new();
        for part in text.split(',').map(str::trim) {
            let (duration, level) = part.split_once('@').ok_or_else(|| {
                format!("stage {part:?} is not DURATION@LEVEL or DURATION@FROM..TO")
            })?;
            let duration =
                parse_duration(duration).map_err(|why| format!("stage {part:?}: {why}"))?;
            if duration.is_zero() {
                return Err(format!("stage {part:?} lasts no time"));
            }
            let number = |text: &str| -> Result<f64, String> {
                match text.trim().parse::<f64>() {
                    Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
                    _ => Err(format!(
                        "stage {part:?}: level {text:?} is not a number of zero or more"
                    )),
                }
            };
            let (from, to) = match level.split_once("..") {
                Some((from, to)) => (number(from)?, number(to)?),
                None => {
                    let level = number(level)?;
                    (level, level)
                }
            };
            stages.push(Stage { duration, from, to });
        }
        let plan = Self { stages };
        if plan.peak() <= 0.0 {
            return Err("every stage has a level of zero: nothing would run".to_owned());
        }
        Ok(plan)
    }

    /// The stages, in order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// How long the whole plan lasts.
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|stage| stage.duration).sum()
    }

    /// The level `elapsed` after the start, or `None` once the plan is over.
    pub fn level_at(&self, elapsed: Duration) -> Option<f64> {
        let mut start = Duration::ZERO;
        for stage in &self.stages {
            if elapsed < start + stage.duration {
                return Some(stage.level_at(elapsed - start));
            }
            start += stage.duration;
        }
        None
    }

    /// The highest level of the plan.
    pub fn peak(&self) -> f64 {
        self.stages
            .iter()
            .map(|stage| stage.from.max(stage.to))
            .fold(0.0, f64::max)
    }

    /// The calls an open loop following the plan makes in all.
    pub fn calls(&self) -> f64 {
        self.stages.iter().map(Stage::calls).sum()
    }

    /// The instants, counted from the start, at which an open loop following the plan
    /// starts its calls.
    pub fn arrivals(&self) -> Arrivals<'_> {
        Arrivals {
            stages: &self.stages,
            stage: 0,
            stage_start: Duration::ZERO,
            before: 0.0,
            next: 0,
        }
    }
}

/// The arrivals of an open loop; see [`Plan::arrivals`].
#[derive(Debug)]
pub struct Arrivals<'a> {
    stages: &'a [Stage],
    stage: usize,
    stage_start: Duration,
    /// Calls accumulated by the stages before the current one.
    before: f64,
    /// The number of the next arrival (the first is number 0, at the start).
    next: u64,
}

impl Iterator for Arrivals<'_> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        loop {
            let stage = self.stages.get(self.stage)?;
            // Arrival `k` is due when the rate has accumulated `k` calls.
            #[allow(clippy::cast_precision_loss)] // exact below 2^52 calls
            let into = self.next as f64 - self.before;
            if into < stage.calls() {
                self.next += 1;
                let at = Duration::from_secs_f64(stage.time_of(into));
                return Some(self.stage_start + at);
            }
            self.before += stage.calls();
            self.stage_start += stage.duration;
            self.stage += 1;
        }
    }
}

/// Parses a duration such as `250ms`, `30s`, `1.5s`, `2m` or `1h`; a bare number is
/// seconds.
///
/// # Errors
///
/// A message saying what is wrong.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("{text:?} is not a duration (units: ms, s, m, h)")),
    };
    match number.parse::<f64>() {
        Ok(value) if value.is_finite() && (0.0..1e9).contains(&(value * scale)) => {
            Ok(Duration::from_secs_f64(value * scale))
        }
        _ => Err(format!("{text:?} is not a duration such as 30s or 500ms")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(value: f64) -> Duration {
        Duration::from_secs_f64(value)
    }

    #[test]
    fn durations_take_the_usual_units() {
        assert_eq!(parse_duration("250ms").unwrap(), secs(0.25));
        assert_eq!(parse_duration("30s").unwrap(), secs(30.0));
        assert_eq!(parse_duration("1.5s").unwrap(), secs(1.5));
        assert_eq!(parse_duration("2m").unwrap(), secs(120.0));
        assert_eq!(parse_duration("1h").unwrap(), secs(3600.0));
        assert_eq!(parse_duration("7").unwrap(), secs(7.0));
        for bad in ["", "s", "10x", "-3s", "1e400s", "ten"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stages_step_and_ramp() {
        let plan = Plan::parse("10s@50, 20s@100,30s@10..100").unwrap();
        assert_eq!(plan.duration(), secs(60.0));
        assert_eq!(plan.peak(), 100.0);
        assert_eq!(plan.level_at(secs(0.0)), Some(50.0));
        assert_eq!(plan.level_at(secs(9.9)), Some(50.0));
        assert_eq!(plan.level_at(secs(10.0)), Some(100.0));
        assert_eq!(plan.level_at(secs(30.0)), Some(10.0));
        assert_eq!(plan.level_at(secs(45.0)), Some(55.0));
        assert_eq!(plan.level_at(secs(60.0)), None);
        assert_eq!(plan.calls(), 500.0 + 2000.0 + 1650.0);
    }

    #[test]
    fn bad_stages_are_refused_with_the_stage_named() {
        for (bad, says) in [
            ("10s", "\"10s\" is not DURATION@LEVEL"),
            ("10x@5", "stage \"10x@5\""),
            ("0s@5", "lasts no time"),
            ("10s@-5", "not a number of zero or more"),
            ("10s@5..z", "\"z\""),
            ("10s@0,5s@0..0", "nothing would run"),
        ] {
            let error = Plan::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn a_constant_rate_arrives_evenly_from_the_start() {
        let plan = Plan::constant(secs(2.0), 4.0);
        let arrivals: Vec<Duration> = plan.arrivals().collect();
        let expected: Vec<Duration> = (0..8).map(|k| secs(f64::from(k) * 0.25)).collect();
        assert_eq!(arrivals, expected);
    }

    #[test]
    fn steps_change_the_spacing_at_the_boundary() {
        let plan = Plan::parse("1s@2,1s@4").unwrap();
        let arrivals: Vec<f64> = plan.arrivals().map(|at| at.as_secs_f64()).collect();
        assert_eq!(arrivals, [0.0, 0.5, 1.0, 1.25, 1.5, 1.75]);
    }

    #[test]
    fn a_ramp_accumulates_its_integral_and_speeds_up() {
        let plan = Plan::parse("10s@0..100").unwrap();
        let arrivals: Vec<Duration> = plan.arrivals().collect();
        // ∫ 10·t dt over 10 s = 500 calls.
        assert_eq!(arrivals.len(), 500);
        // Half the calls are due when 5·t² = 250: t = √50.
        assert!((arrivals[250].as_secs_f64() - 50_f64.sqrt()).abs() < 1e-9);
        let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] <= g[0]), "gaps shrink");
        assert!(arrivals.iter().all(|at| *at <= secs(10.0)));
    }

    #[test]
    fn a_stage_of_zero_is_a_pause() {
        let plan = Plan::parse("1s@2,2s@0,1s@2").unwrap();
        let arrivals: Vec<f64> = plan.arrivals().map(|at| at.as_secs_f64()).collect();
        assert_eq!(arrivals, [0.0, 0.5, 3.0, 3.5]);
    }
}
