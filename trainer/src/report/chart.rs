//! One line chart over epochs, drawn the same way into a PNG and an SVG file.

use super::fonts::{self, FAMILY};
use crate::checkpoint::write_atomic;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Pixel size of every plot.
const WIDTH: u32 = 1000;
const HEIGHT: u32 = 600;
/// Curves with at most this many points also get a marker on each point (so that a
/// run of one epoch still shows something).
const MARKER_LIMIT: usize = 40;

/// One curve: `(epoch, value)` points; non-finite values leave a gap.
pub(crate) struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// `None` for a solid line, else the dash length in pixels.
    pub dash: Option<u32>,
}

/// A chart: title, axis labels, curves, and an optional fixed y range.
pub(crate) struct ChartSpec {
    pub title: String,
    pub y_label: String,
    pub curves: Vec<Curve>,
    pub y_range: Option<(f64, f64)>,
    /// Bounds that an automatic y range is clamped to (accuracies stay in [0, 1]).
    pub y_clamp: Option<(f64, f64)>,
    /// Where the legend goes: the corner the curves are least likely to cross (upper
    /// right for falling losses, lower right for rising accuracies).
    pub legend: SeriesLabelPosition,
}

// Font sizes are even: plotters' ab_glyph renderer places each glyph at
// `(size / 2 + top) as i32`, which truncates toward zero, so with an odd size glyphs
// whose top lies above or below mid-height drift a pixel apart ("s" low, "." high).

/// Ten distinguishable colours (matplotlib's "tab10").
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Draws `spec` into `path` as a PNG.
pub(crate) fn write_png(spec: &ChartSpec, path: &Path) -> Result<(), String> {
    fonts::ensure_registered()?;
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, spec)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut encoded = Vec::new();
    let mut encoder = png::Encoder::new(&mut encoded, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    write_atomic(path, &encoded).map_err(|e| e.to_string())
}

/// Draws `spec` into `path` as an SVG.
pub(crate) fn write_svg(spec: &ChartSpec, path: &Path) -> Result<(), String> {
    fonts::ensure_registered()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, spec)?;
        root.present().map_err(|e| e.to_string())?;
    }
    write_atomic(path, svg.as_bytes()).map_err(|e| e.to_string())
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, spec: &ChartSpec) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let (x0, x1) = x_range(spec);
    let (y0, y1) = spec.y_range.unwrap_or_else(|| auto_y_range(spec));
    let mut chart = ChartBuilder::on(root)
        .caption(&spec.title, (FAMILY, 26))
        .margin(18)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let x_ticks = ((x1 - x0).round() as usize + 1).clamp(2, 12);
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(spec.y_label.as_str())
        .x_labels(x_ticks)
        .y_labels(8)
        .x_label_formatter(&|x| tick_label(*x))
        .label_style((FAMILY, 16))
        .axis_desc_style((FAMILY, 18))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;

    let mut labelled = 0;
    for curve in &spec.curves {
        let style = curve.color.stroke_width(2);
        let mut first_run = true;
        for run in finite_runs(&curve.points) {
            let drawn = match curve.dash {
                None => chart
                    .draw_series(LineSeries::new(run.iter().copied(), style))
                    .map_err(err)?,
                Some(dash) => chart
                    .draw_series(DashedLineSeries::new(
                        run.iter().copied(),
                        dash as i32,
                        (dash / 2 + 2) as i32,
                        style,
                    ))
                    .map_err(err)?,
            };
            if first_run {
                first_run = false;
                labelled += 1;
                let color = curve.color;
                let dash = curve.dash;
                drawn.label(curve.label.as_str()).legend(move |(x, y)| {
                    // Three segments: touching for a solid line, apart for a dashed one.
                    let style = color.stroke_width(2);
                    let [a, b, c] = if dash.is_some() {
                        [(0, 7), (11, 18), (22, 24)]
                    } else {
                        [(0, 8), (8, 16), (16, 24)]
                    };
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(a.0, 0), (a.1, 0)], style)
                        + PathElement::new(vec![(b.0, 0), (b.1, 0)], style)
                        + PathElement::new(vec![(c.0, 0), (c.1, 0)], style)
                });
            }
        }
        if curve.points.len() <= MARKER_LIMIT {
            chart
                .draw_series(
                    curve
                        .points
                        .iter()
                        .filter(|(_, y)| y.is_finite())
                        .map(|&p| Circle::new(p, 3, curve.color.filled())),
                )
                .map_err(err)?;
        }
    }
    if labelled > 0 {
        chart
            .configure_series_labels()
            .position(spec.legend.clone())
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.5))
            .label_font((FAMILY, 16))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Splits a curve at non-finite values.
fn finite_runs(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            if let Some(run) = runs.last_mut() {
                run.push((x, y));
            }
        } else if runs.last().is_some_and(|r| !r.is_empty()) {
            runs.push(Vec::new());
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

fn x_range(spec: &ChartSpec) -> (f64, f64) {
    let xs = spec
        .curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0));
    let (lo, hi) = min_max(xs).unwrap_or((0.0, 1.0));
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    }
}

fn auto_y_range(spec: &ChartSpec) -> (f64, f64) {
    let ys = spec
        .curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.1));
    let (lo, hi) = min_max(ys).unwrap_or((0.0, 1.0));
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        0.05 * lo.abs().max(1.0)
    };
    let (mut lo, mut hi) = (lo - pad, hi + pad);
    if let Some((min, max)) = spec.y_clamp {
        lo = lo.max(min);
        hi = hi.min(max);
    }
    (lo, hi)
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Epoch ticks: whole numbers without decimals, others with one.
fn tick_label(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:.1}")
    }
}
