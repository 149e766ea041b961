//! SVG line plots (plotters, SVG backend only, no font files): a figure is a title, two axes,
//! a few series of points and a caption saying where the figures come from. Knows nothing of the
//! ledger; `sweep.rs` builds the figures.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// Size of every plot in pixels (a page width in most Markdown viewers).
pub const WIDTH_PIXELS: u32 = 900;
pub const HEIGHT_PIXELS: u32 = 540;
/// Height of the legend strip between the title and the chart (a legend inside the chart would
/// hide points wherever the data happens to be).
const LEGEND_PIXELS: u32 = 26;
/// Height of one caption line under the chart.
const CAPTION_LINE_PIXELS: u32 = 18;
/// Estimated width of a legend label's character at `LEGEND_FONT_PIXELS` (no font metrics in an
/// SVG-only build).
const LEGEND_CHAR_PIXELS: i32 = 8;
const LEGEND_FONT_PIXELS: u32 = 14;
/// Series colours, in order (colour-blind-safe: the Okabe–Ito palette).
const COLOURS: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];
/// Head- and footroom around the data, as a fraction of its span (linear axes).
const LINEAR_MARGIN: f64 = 0.08;
/// Head- and footroom around the data, as a factor (logarithmic axes).
const LOG_MARGIN_FACTOR: f64 = 1.4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub label: String,
    pub scale: Scale,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    /// `(x, y)`, drawn in x order.
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub title: String,
    /// Lines under the chart: machine, run length, commit.
    pub caption: Vec<String>,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("the figure \"{0}\" has no point to draw")]
    Empty(String),
    #[error("drawing \"{title}\": {reason}")]
    Draw { title: String, reason: String },
}

/// The figure as an SVG document.
///
/// # Errors
/// The figure has no drawable point (none at all, or none positive on a log axis), or plotters
/// fails to lay it out.
pub fn render_svg(figure: &Figure) -> Result<String, PlotError> {
    let xs = figure.series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = figure.series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let empty = || PlotError::Empty(figure.title.clone());
    let x = axis_range(xs, figure.x.scale).ok_or_else(empty)?;
    let y = axis_range(ys, figure.y.scale).ok_or_else(empty)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH_PIXELS, HEIGHT_PIXELS)).into_drawing_area();
        let drawn = match (figure.x.scale, figure.y.scale) {
            (Scale::Linear, Scale::Linear) => draw(&root, figure, x, y),
            (Scale::Linear, Scale::Log) => draw(&root, figure, x, y.log_scale()),
            (Scale::Log, Scale::Linear) => draw(&root, figure, x.log_scale(), y),
            (Scale::Log, Scale::Log) => draw(&root, figure, x.log_scale(), y.log_scale()),
        };
        drawn
            .and_then(|()| root.present().map_err(|e| e.to_string()))
            .map_err(|reason| PlotError::Draw { title: figure.title.clone(), reason })?;
    }
    Ok(svg)
}

fn draw<X, Y>(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    figure: &Figure,
    x: X,
    y: Y,
) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let caption_pixels = CAPTION_LINE_PIXELS * u32::try_from(figure.caption.len()).unwrap_or(1) + 8;
    let root = root.titled(&figure.title, ("sans-serif", 22)).map_err(|e| e.to_string())?;
    let (legend_area, rest) = root.split_vertically(LEGEND_PIXELS);
    let (chart_area, caption_area) =
        rest.split_vertically(rest.dim_in_pixel().1.saturating_sub(caption_pixels));
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())?;
    let formatter = |v: &f64| si(*v);
    chart
        .configure_mesh()
        .x_desc(figure.x.label.as_str())
        .y_desc(figure.y.label.as_str())
        .x_label_formatter(&formatter)
        .y_label_formatter(&formatter)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| e.to_string())?;
    for (series, colour) in figure.series.iter().zip(COLOURS.iter().cycle()) {
        let mut points = drawable(&series.points, figure.x.scale, figure.y.scale);
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled())))
            .map_err(|e| e.to_string())?;
    }
    // The legend: a line of each series' colour and its label, left to right, centred.
    let widths: Vec<i32> = figure.series.iter().map(|s| legend_entry_pixels(&s.label)).collect();
    let legend_width = widths.iter().sum::<i32>();
    let mut x = (i32::try_from(WIDTH_PIXELS).unwrap_or(0) - legend_width).max(0) / 2;
    for ((series, colour), width) in figure.series.iter().zip(COLOURS.iter().cycle()).zip(widths) {
        let y = i32::try_from(LEGEND_PIXELS / 2).unwrap_or(0);
        legend_area
            .draw(&PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(3)))
            .map_err(|e| e.to_string())?;
        let style = TextStyle::from(("sans-serif", LEGEND_FONT_PIXELS).into_font())
            .pos(Pos::new(HPos::Left, VPos::Center));
        legend_area.draw(&Text::new(series.label.as_str(), (x + 30, y), style)).map_err(|e| e.to_string())?;
        x += width;
    }
    let grey = RGBColor(90, 90, 90);
    for (line, y) in figure.caption.iter().zip((4_i32..).step_by(CAPTION_LINE_PIXELS as usize)) {
        caption_area
            .draw(&Text::new(line.as_str(), (16, y), ("sans-serif", 13).into_font().color(&grey)))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Pixels a legend entry takes: the line, a gap, the label and the space before the next.
fn legend_entry_pixels(label: &str) -> i32 {
    30 + LEGEND_CHAR_PIXELS * i32::try_from(label.chars().count()).unwrap_or(i32::MAX / 16) + 28
}

/// The points a scale can show (a log axis has no place for zero or below).
fn drawable(points: &[(f64, f64)], x: Scale, y: Scale) -> Vec<(f64, f64)> {
    let fits = |value: f64, scale: Scale| value.is_finite() && (scale == Scale::Linear || value > 0.0);
    points.iter().copied().filter(|(px, py)| fits(*px, x) && fits(*py, y)).collect()
}

/// The range an axis spans to show `values` with some room: from zero on a linear axis of
/// non-negative values (so throughputs are compared from their base), by a factor on a log axis.
/// `None` without a drawable value.
#[must_use]
pub fn axis_range(values: impl Iterator<Item = f64>, scale: Scale) -> Option<Range<f64>> {
    let drawable = values.filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0));
    let (low, high) = drawable.fold(None, |bounds: Option<(f64, f64)>, v| match bounds {
        None => Some((v, v)),
        Some((low, high)) => Some((low.min(v), high.max(v))),
    })?;
    Some(match scale {
        Scale::Log => (low / LOG_MARGIN_FACTOR)..(high * LOG_MARGIN_FACTOR),
        Scale::Linear => {
            let low = low.min(0.0);
            let span = if high > low { high - low } else { high.abs().max(1.0) };
            low..(high + span * LINEAR_MARGIN)
        }
    })
}

/// A number as an axis label: `8189`, `250k`, `1.2M`, `0.5`.
#[must_use]
pub fn si(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e9 {
        (value / 1e9, "G")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e4 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.fract().abs() < 1e-9 || scaled.abs() >= 100.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 1.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    let text =
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text };
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(x: Scale, y: Scale) -> Figure {
        Figure {
            title: "Throughput vs batch size".into(),
            caption: vec!["2-core test machine".into(), "one run per point".into()],
            x: Axis { label: "transfers per request".into(), scale: x },
            y: Axis { label: "transfers/s".into(), scale: y },
            series: vec![
                Series {
                    label: "closed loop".into(),
                    points: vec![(128.0, 300_000.0), (8_189.0, 1_200_000.0)],
                },
                Series { label: "p99".into(), points: vec![(1_024.0, 0.0), (4_096.0, 900_000.0)] },
            ],
        }
    }

    #[test]
    fn labels_are_short_and_exact_where_round() {
        assert_eq!(si(8_189.0), "8189");
        assert_eq!(si(250_000.0), "250k");
        assert_eq!(si(1_200_000.0), "1.2M");
        assert_eq!(si(1_000_000.0), "1M");
        assert_eq!(si(0.5), "0.5");
        assert_eq!(si(12.26), "12.3");
        assert_eq!(si(0.0), "0");
    }

    #[test]
    fn linear_axes_start_at_zero_and_log_axes_skip_zero() {
        let linear = axis_range([200.0, 1_000.0].into_iter(), Scale::Linear).expect("range");
        assert!(linear.start.abs() < f64::EPSILON && linear.end > 1_000.0, "{linear:?}");
        let log = axis_range([0.0, 10.0, 1_000.0].into_iter(), Scale::Log).expect("range");
        assert!(log.start > 0.0 && log.start < 10.0 && log.end > 1_000.0, "{log:?}");
        assert_eq!(axis_range([0.0, -1.0].into_iter(), Scale::Log), None);
        assert_eq!(axis_range(std::iter::empty(), Scale::Linear), None);
        let flat = axis_range([0.0].into_iter(), Scale::Linear).expect("range");
        assert!(flat.end > flat.start);
    }

    #[test]
    fn an_svg_holds_the_title_axes_legend_caption_and_every_point() {
        for (x, y) in [(Scale::Log, Scale::Linear), (Scale::Linear, Scale::Log), (Scale::Log, Scale::Log)] {
            let svg = render_svg(&figure(x, y)).expect("rendered");
            assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
            for text in [
                "Throughput vs batch size",
                "transfers per request",
                "closed loop",
                "2-core test machine",
                "one run",
            ] {
                assert!(svg.contains(text), "{text} missing for {x:?}/{y:?}");
            }
            // A circle per drawable point: on a log y axis the zero point is left out.
            let expected = if y == Scale::Log { 3 } else { 4 };
            assert_eq!(svg.matches("<circle").count(), expected, "{x:?}/{y:?}");
        }
    }

    #[test]
    fn a_figure_without_points_is_refused() {
        let mut empty = figure(Scale::Log, Scale::Log);
        empty.series.iter_mut().for_each(|s| s.points.clear());
        assert!(matches!(render_svg(&empty), Err(PlotError::Empty(_))));
    }
}
