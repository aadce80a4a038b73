//! Small line graphs ("sparklines") for the status page, drawn on the server as inline SVG:
//! the page loads no script or picture to show them, and the Content-Security-Policy
//! stays as strict as everywhere (the lines are styled by class from the style sheet,
//! never by a `style` attribute).
//!
//! A graph covers the history held of one figure (up to [`crate::vitals::HISTORY`],
//! fifteen minutes; at least [`SHORTEST_SPAN`], so a gateway that just started does not
//! stretch its first seconds across the page); a point that is not known (no calls, no
//! scrape) breaks the line rather than drawing a zero.

use crate::vitals::{HISTORY, Point};

/// The shortest time a graph spans, in seconds.
pub const SHORTEST_SPAN: f64 = 30.0;

/// The seconds the graphs of a page span: from the oldest point of `histories` to `now`,
/// within [`SHORTEST_SPAN`] and [`HISTORY`].
pub fn span<'a>(histories: impl IntoIterator<Item = &'a [Point]>, now: f64) -> f64 {
    let oldest = histories
        .into_iter()
        .filter_map(|history| history.first().map(|point| point.at))
        .fold(now, f64::min);
    (now - oldest).clamp(SHORTEST_SPAN, HISTORY.as_secs_f64())
}

/// Width of a graph, in SVG units.
pub const WIDTH: f64 = 140.0;
/// Height of a graph.
pub const HEIGHT: f64 = 36.0;

/// One line of a graph: its segments, each a `points` attribute of a `<polyline>`.
#[derive(Clone, Debug, Default)]
pub struct Line {
    /// `"x,y x,y ..."` per unbroken segment.
    pub segments: Vec<String>,
}

/// A graph: one or two lines on one scale, and what its top stands for.
#[derive(Clone, Debug)]
pub struct Spark {
    /// The main line.
    pub line: Line,
    /// A second line on the same scale (p99 beside p50), possibly empty.
    pub second: Line,
    /// The value at the top of the graph, as shown.
    pub top: String,
    /// Whether there is anything to draw.
    pub drawn: bool,
    /// Its size ([`WIDTH`]).
    pub width: f64,
    /// Its size ([`HEIGHT`]).
    pub height: f64,
}

/// Reads one figure off a graph point.
pub type Figure<'a> = &'a dyn Fn(&Point) -> Option<f64>;

/// A graph of `figure` (and of `second`, when given) over `history`, the `span` seconds
/// up to `now` (Unix seconds); the scale goes up to the highest value, but never below
/// `floor`.
pub fn spark(
    history: &[Point],
    (now, span): (f64, f64),
    figure: impl Fn(&Point) -> Option<f64>,
    second: Option<Figure<'_>>,
    floor: f64,
    format: impl Fn(f64) -> String,
) -> Spark {
    let highest = history
        .iter()
        .flat_map(|point| [figure(point), second.and_then(|f| f(point))])
        .flatten()
        .filter(|value| value.is_finite())
        .fold(floor, f64::max);
    let main = line(history, (now, span), &figure, highest);
    let second = second.map(|f| line(history, (now, span), f, highest));
    let drawn = !main.segments.is_empty();
    Spark {
        line: main,
        second: second.unwrap_or_default(),
        top: format(highest),
        drawn,
        width: WIDTH,
        height: HEIGHT,
    }
}

fn line(history: &[Point], (now, span): (f64, f64), figure: Figure<'_>, highest: f64) -> Line {
    let mut segments = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for point in history {
        match figure(point).filter(|value| value.is_finite()) {
            Some(value) => {
                let x = (WIDTH * (1.0 - (now - point.at) / span)).clamp(0.0, WIDTH);
                let y = HEIGHT - 1.0 - (HEIGHT - 2.0) * (value / highest).clamp(0.0, 1.0);
                current.push(format!("{x:.1},{y:.1}"));
            }
            None => finish(&mut current, &mut segments),
        }
    }
    finish(&mut current, &mut segments);
    Line { segments }
}

/// Ends a segment; a lone point becomes a short dash so that it shows.
fn finish(current: &mut Vec<String>, segments: &mut Vec<String>) {
    match current.len() {
        0 => {}
        1 => {
            let point = current.remove(0);
            let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
            let x: f64 = x.parse().unwrap_or(0.0);
            segments.push(format!("{:.1},{y} {x:.1},{y}", (x - 2.0).max(0.0)));
        }
        _ => segments.push(std::mem::take(current).join(" ")),
    }
}

/// Calls a second, as shown.
pub fn per_second(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}/s")
    } else {
        format!("{value:.1}/s")
    }
}

/// A ratio, as a percentage.
pub fn percent(value: f64) -> String {
    format!("{:.1} %", value * 100.0)
}

/// Seconds, as milliseconds.
pub fn millis(seconds: f64) -> String {
    let ms = seconds * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// An optional figure, or a dash.
pub fn or_dash(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "—".to_owned(), format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at: f64, rps: Option<f64>) -> Point {
        Point {
            at,
            requests_per_second: rps,
            error_ratio: None,
            p50_seconds: None,
            p99_seconds: None,
        }
    }

    #[test]
    fn an_unknown_point_breaks_the_line() {
        let now = 1000.0;
        let history = [
            point(now - 20.0, Some(1.0)),
            point(now - 10.0, Some(2.0)),
            point(now - 5.0, None),
            point(now, Some(4.0)),
        ];
        let graph = spark(
            &history,
            (now, 900.0),
            |p| p.requests_per_second,
            None,
            1.0,
            per_second,
        );
        assert!(graph.drawn);
        assert_eq!(graph.top, "4.0/s");
        assert_eq!(graph.line.segments.len(), 2);
        // 20 s before the right edge of 900 s, a quarter of the way up.
        assert!(
            graph.line.segments[0].starts_with("136.9,26.5 "),
            "{:?}",
            graph.line
        );
        // The last point is at the right edge, at the top.
        assert!(
            graph.line.segments[1].ends_with("140.0,1.0"),
            "{:?}",
            graph.line
        );
        let empty = spark(
            &[],
            (now, 900.0),
            |p| p.requests_per_second,
            None,
            1.0,
            per_second,
        );
        assert!(!empty.drawn);
        assert_eq!(empty.top, "1.0/s");
        assert_eq!(span([&history[..]], now), SHORTEST_SPAN);
        assert_eq!(span([&history[..]], now + 100.0), 120.0);
        assert_eq!(span([&history[..]], now + 10_000.0), HISTORY.as_secs_f64());
    }
}
