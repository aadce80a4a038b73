//! The dependency map of the status page: who calls whom, from the service table's
//! `calls` (`chassis::topology`), drawn as inline SVG and coloured by health.
//!
//! Services stand in columns by depth: the storefront on the left, then each caller to
//! the left of everything it calls, the services that call nobody on the right. An arrow
//! takes the colour of the service it points to, so a service that is down shows as red
//! arrows into it from every caller that now goes without.

use chassis::topology::{SERVICES, Spec};

/// A service's health on the map (a class of the style sheet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shade {
    /// Serving, and few of its calls fail.
    Up,
    /// Answering, but not serving or failing many of its calls.
    Degraded,
    /// Not answering.
    Down,
}

impl Shade {
    /// The class the style sheet colours.
    pub fn class(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Degraded => "degraded",
            Self::Down => "down",
        }
    }
}

/// A box on the map.
#[derive(Clone, Debug)]
pub struct Node {
    /// The service.
    pub name: &'static str,
    /// Its top-left corner.
    pub x: u32,
    /// Its top-left corner.
    pub y: u32,
    /// Its colour.
    pub shade: Shade,
    /// What the colour means, for the tooltip.
    pub says: String,
}

/// An arrow on the map.
#[derive(Clone, Debug)]
pub struct Edge {
    /// Who calls.
    pub caller: &'static str,
    /// Who is called.
    pub callee: &'static str,
    /// The SVG path.
    pub path: String,
    /// The callee's colour.
    pub shade: Shade,
}

/// The whole map.
#[derive(Clone, Debug)]
pub struct DependencyMap {
    /// Width of the drawing.
    pub width: u32,
    /// Height of the drawing.
    pub height: u32,
    /// Every service.
    pub nodes: Vec<Node>,
    /// Every call from one service to another.
    pub edges: Vec<Edge>,
}

/// Width of a box.
pub const NODE_WIDTH: u32 = 116;
/// Height of a box.
pub const NODE_HEIGHT: u32 = 28;
const COLUMN: u32 = 168;
const ROW: u32 = 44;
const MARGIN: u32 = 8;

/// How many calls deep `spec` goes: 0 for a service that calls nobody.
fn depth(spec: &Spec) -> u32 {
    spec.calls
        .iter()
        .filter_map(|callee| chassis::topology::find(callee))
        .map(|callee| depth(callee) + 1)
        .max()
        .unwrap_or(0)
}

/// The map of every service of the table, each shaded by `shade_of(name)` (with what the
/// shade means).
pub fn draw(shade_of: impl Fn(&str) -> (Shade, String)) -> DependencyMap {
    let depths: Vec<u32> = SERVICES.iter().map(depth).collect();
    let deepest = depths.iter().copied().max().unwrap_or(0);
    let columns = deepest + 1;
    let tallest = (0..columns)
        .map(|d| depths.iter().filter(|&&x| x == d).count())
        .max()
        .unwrap_or(1);
    let height = u32::try_from(tallest).unwrap_or(1) * ROW + 2 * MARGIN;
    let mut nodes = Vec::new();
    for depth in 0..columns {
        let column: Vec<&Spec> = SERVICES
            .iter()
            .zip(&depths)
            .filter(|(_, d)| **d == depth)
            .map(|(spec, _)| spec)
            .collect();
        let count = u32::try_from(column.len()).unwrap_or(0);
        // Centre the column vertically.
        let top = (height - count * ROW) / 2;
        for (row, spec) in (0_u32..).zip(column) {
            let (shade, says) = shade_of(spec.name);
            nodes.push(Node {
                name: spec.name,
                x: MARGIN + (deepest - depth) * COLUMN,
                y: top + row * ROW + (ROW - NODE_HEIGHT) / 2,
                shade,
                says,
            });
        }
    }
    let at = |name: &str| nodes.iter().find(|node| node.name == name);
    let mut edges = Vec::new();
    for spec in SERVICES {
        let Some(from) = at(spec.name) else { continue };
        for callee in spec.calls {
            let Some(to) = at(callee) else { continue };
            let (x1, y1) = (from.x + NODE_WIDTH, from.y + NODE_HEIGHT / 2);
            let (x2, y2) = (to.x - 6, to.y + NODE_HEIGHT / 2);
            let bend = (x2.saturating_sub(x1)) / 2;
            edges.push(Edge {
                caller: spec.name,
                callee,
                path: format!(
                    "M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}",
                    x1 + bend,
                    x2 - bend
                ),
                shade: to.shade,
            });
        }
    }
    DependencyMap {
        width: deepest * COLUMN + NODE_WIDTH + 2 * MARGIN,
        height,
        nodes,
        edges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_of_the_table_is_an_arrow_towards_the_right() {
        let map = draw(|name| {
            if name == "cart" {
                (Shade::Down, "DOWN".to_owned())
            } else {
                (Shade::Up, "SERVING".to_owned())
            }
        });
        assert_eq!(map.nodes.len(), SERVICES.len());
        let calls: usize = SERVICES.iter().map(|s| s.calls.len()).sum();
        assert_eq!(map.edges.len(), calls);
        let x = |name: &str| map.nodes.iter().find(|n| n.name == name).unwrap().x;
        for edge in &map.edges {
            assert!(x(edge.caller) < x(edge.callee), "{edge:?}");
        }
        let into_cart: Vec<_> = map.edges.iter().filter(|e| e.callee == "cart").collect();
        assert!(!into_cart.is_empty());
        assert!(into_cart.iter().all(|e| e.shade == Shade::Down));
        for node in &map.nodes {
            assert!(node.x + NODE_WIDTH <= map.width && node.y + NODE_HEIGHT <= map.height);
        }
    }
}
