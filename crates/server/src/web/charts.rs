//! The impact dashboard's charts, drawn on the server as SVG by `plotters` and embedded inline
//! in the page (no script, no request of their own). `plotters`' SVG backend writes colours as
//! presentation attributes (`fill`, `stroke`, `opacity`), which the page's CSP allows, never a
//! `style` attribute; [`finish`] still removes any, swaps the fixed size for a `viewBox` the CSS
//! scales, and adds `role="img"` with a `<title>` and `<desc>` for screen readers. Each chart has
//! a table beside it in the page with the same figures.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Drawing units of every chart's width; the CSS scales them to the column.
const WIDTH: u32 = 480;
const FONT: &str = "sans-serif";
/// Big enough to read once the chart is scaled down to a phone's width (plotters writes
/// `font-size` as this ÷ 1.24).
const FONT_SIZE: u32 = 22;
const INK: RGBColor = RGBColor(31, 41, 55);
const GRID: RGBColor = RGBColor(209, 213, 219);
const GREEN: RGBColor = RGBColor(27, 127, 59);
const GREEN_LIGHT: RGBColor = RGBColor(134, 239, 172);
/// Characters of a bar's label drawn in the chart; the table beside it has the whole name.
const LABEL_CHARS_MAX: usize = 40;
/// Days the daily chart shows at most (the newest).
pub const DAYS_SHOWN_MAX: usize = 365;

/// One bar: what it counts and how many.
pub struct Bar {
    pub label: String,
    pub value: u64,
}

/// What a chart is called, for its `<title>`, its `<desc>` and the ids that tie them to it.
pub struct Caption<'a> {
    /// A short id unique in the page (`[a-z-]`).
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
}

/// Grams written short: `850 g`, `12.5 kg`, `3.2 t`.
pub fn short_grams(grams: u64) -> String {
    match grams {
        0..=999 => format!("{grams} g"),
        1_000..=999_999 => trimmed(grams as f64 / 1_000.0, "kg"),
        _ => trimmed(grams as f64 / 1_000_000.0, "t"),
    }
}

fn trimmed(value: f64, unit: &str) -> String {
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {unit}")
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01.
pub fn day_text(day: i64) -> String {
    chrono::DateTime::from_timestamp(day.saturating_mul(86_400), 0)
        .map(|time| time.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn short_day(day: i64) -> String {
    day_text(day).get(5..).unwrap_or_default().to_string()
}

fn font() -> TextStyle<'static> {
    TextStyle::from((FONT, FONT_SIZE).into_font()).color(&INK)
}

/// Every day from the first to the last with a figure (days without one count zero), the
/// newest [`DAYS_SHOWN_MAX`] at most.
pub fn filled_days(days: &[(i64, u64)]) -> Vec<(i64, u64)> {
    let (Some(first), Some(last)) = (
        days.iter().map(|(day, _)| *day).min(),
        days.iter().map(|(day, _)| *day).max(),
    ) else {
        return Vec::new();
    };
    let first = first.max(last - DAYS_SHOWN_MAX as i64 + 1);
    (first..=last)
        .map(|day| {
            let grams = days
                .iter()
                .filter(|(at, _)| *at == day)
                .map(|(_, grams)| grams)
                .sum();
            (day, grams)
        })
        .collect()
}

/// An area chart of grams per day (`days` as [`filled_days`] gives them).
pub fn daily_area(caption: &Caption<'_>, days: &[(i64, u64)]) -> Result<String, String> {
    let height = 300;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        // The area rises from zero the day before the first, so even one day has a width.
        let first = days.first().map_or(0, |(day, _)| *day) - 1;
        let last = days.last().map_or(0, |(day, _)| *day).max(first + 2);
        let top = days.iter().map(|(_, grams)| *grams).max().unwrap_or(0);
        let top = (top + top / 10).max(10);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(40)
            .x_label_area_size(44)
            .y_label_area_size(96)
            .build_cartesian_2d(first..last, 0u64..top)
            .map_err(|err| err.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(4)
            .y_labels(5)
            .label_style(font())
            .x_label_formatter(&|day| short_day(*day))
            .y_label_formatter(&|grams| short_grams(*grams))
            .draw()
            .map_err(|err| err.to_string())?;
        let mut points: Vec<(i64, u64)> = days.to_vec();
        points.insert(0, (first, 0));
        chart
            .draw_series(
                AreaSeries::new(points, 0, GREEN_LIGHT.mix(0.6))
                    .border_style(GREEN.stroke_width(2)),
            )
            .map_err(|err| err.to_string())?;
        root.present().map_err(|err| err.to_string())?;
    }
    Ok(finish(&svg, caption))
}

/// Horizontal bars, largest first as given, each labelled above with its name and at its end
/// with its value (`value_text`).
pub fn bars(
    caption: &Caption<'_>,
    bars: &[Bar],
    value_text: &dyn Fn(u64) -> String,
) -> Result<String, String> {
    let rows = bars.len().max(1) as u32;
    let row_height = 70;
    let height = 40 + rows * row_height;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let top = bars.iter().map(|bar| bar.value).max().unwrap_or(0).max(1);
        // Room at the right for the value written after the longest bar.
        let right = top as f64 * 1.45;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(16)
            .x_label_area_size(0)
            .y_label_area_size(0)
            .build_cartesian_2d(0f64..right, 0f64..f64::from(rows))
            .map_err(|err| err.to_string())?;
        let label = font().pos(Pos::new(HPos::Left, VPos::Bottom));
        let value = font().pos(Pos::new(HPos::Left, VPos::Center));
        for (index, bar) in bars.iter().enumerate() {
            // The first bar at the top.
            let y = f64::from(rows) - index as f64 - 1.0;
            let length = bar.value as f64;
            let name: String = bar.label.chars().take(LABEL_CHARS_MAX).collect();
            chart
                .draw_series([Rectangle::new(
                    [(0.0, y + 0.1), (length.max(top as f64 / 400.0), y + 0.45)],
                    GREEN.filled(),
                )])
                .map_err(|err| err.to_string())?;
            chart
                .draw_series([
                    Text::new(name, (0.0, y + 0.55), label.clone()),
                    Text::new(
                        value_text(bar.value),
                        (length + top as f64 * 0.02, y + 0.275),
                        value.clone(),
                    ),
                ])
                .map_err(|err| err.to_string())?;
        }
        root.present().map_err(|err| err.to_string())?;
    }
    Ok(finish(&svg, caption))
}

/// `plotters`' SVG made fit for the page: no `style` attribute anywhere, a scalable `viewBox`
/// with a class instead of a fixed size, and `role="img"` named by a `<title>` and `<desc>`.
pub fn finish(svg: &str, caption: &Caption<'_>) -> String {
    let svg = without_style_attributes(svg);
    let Some(open_end) = svg.find('>') else {
        return String::new();
    };
    let opening = &svg[..open_end];
    let view_box = attribute(opening, "viewBox").unwrap_or("0 0 480 300");
    let id = caption.id;
    format!(
        r#"<svg class="chart" viewBox="{view_box}" xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{id}-title {id}-desc" focusable="false"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>{}"#,
        escape(caption.title),
        escape(caption.description),
        &svg[open_end + 1..]
    )
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(&tag[start..end])
}

/// Removes every ` style="…"` attribute (plotters writes none today; this keeps it so).
fn without_style_attributes(svg: &str) -> String {
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(start) = rest.find(" style=\"") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 8..];
        match after.find('"') {
            Some(end) => rest = &after[end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caption() -> Caption<'static> {
        Caption {
            id: "c",
            title: "Energy <by> day",
            description: "a & b",
        }
    }

    #[test]
    fn charts_have_no_style_attribute_and_are_named_for_screen_readers() {
        let days = filled_days(&[(20_000, 1_500), (20_003, 800)]);
        assert_eq!(days.len(), 4);
        assert_eq!(days[1], (20_001, 0));
        let area = daily_area(&caption(), &days).expect("drawn");
        let bars = bars(
            &caption(),
            &[
                Bar {
                    label: "bus_ride <x>".into(),
                    value: 2_400,
                },
                Bar {
                    label: "metro".into(),
                    value: 52,
                },
            ],
            &short_grams,
        )
        .expect("drawn");
        for svg in [&area, &bars] {
            assert!(
                svg.starts_with(r#"<svg class="chart" viewBox="0 0 480 "#),
                "{svg}"
            );
            assert!(!svg.contains("style="), "{svg}");
            assert!(svg.contains(r#"role="img""#));
            assert!(svg.contains("<title id=\"c-title\">Energy &lt;by&gt; day</title>"));
            assert!(svg.contains("<desc id=\"c-desc\">a &amp; b</desc>"));
            assert!(svg.trim_end().ends_with("</svg>"));
        }
        assert!(bars.contains("bus_ride &lt;x&gt;"), "{bars}");
        assert!(bars.contains("2.4 kg"));
        assert!(area.contains(&short_day(20_001)), "{area}");
    }

    #[test]
    fn one_day_alone_is_still_an_area() {
        let svg = daily_area(&caption(), &filled_days(&[(20_000, 10)])).expect("drawn");
        assert!(svg.contains("<path") || svg.contains("<polygon"), "{svg}");
    }

    #[test]
    fn style_attributes_are_removed() {
        assert_eq!(
            without_style_attributes(r#"<a style="x" b="1"/><c style="y"/>"#),
            r#"<a b="1"/><c/>"#
        );
        assert_eq!(short_grams(999), "999 g");
        assert_eq!(short_grams(12_500), "12.5 kg");
        assert_eq!(short_grams(3_000_000), "3 t");
        assert_eq!(day_text(0), "1970-01-01");
    }
}
