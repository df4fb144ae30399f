//! Small maps drawn from coordinates alone: no tiles, nothing fetched from elsewhere. The view
//! is the places' bounding box, padded, in an equirectangular projection whose x axis is
//! shrunk by the cosine of the middle latitude (so shapes keep their proportions), with a
//! graticule at a round step, planting areas as polygons and places as labelled dots.
//! Colours come from CSS classes (`map-*` in `app.css`), so the SVG has no style attributes.

use svg::Document;
use svg::node::element::{Circle, Group, Line, Polygon, Rectangle, Text, Title};

/// A point on the map with its label (a site's or a planting's name).
pub struct Place {
    pub latitude: f64,
    pub longitude: f64,
    pub label: String,
}

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 200.0;
/// The view around a single place, in degrees either side.
const SPAN_MIN_DEGREES: f64 = 0.5;
/// Steps the graticule may take, in degrees.
const GRID_STEPS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];

/// The box shown, in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
struct View {
    west: f64,
    east: f64,
    south: f64,
    north: f64,
}

impl View {
    fn around(points: impl Iterator<Item = (f64, f64)>) -> View {
        let mut view = View {
            west: f64::INFINITY,
            east: f64::NEG_INFINITY,
            south: f64::INFINITY,
            north: f64::NEG_INFINITY,
        };
        for (longitude, latitude) in points.filter(|(x, y)| x.is_finite() && y.is_finite()) {
            view.west = view.west.min(longitude);
            view.east = view.east.max(longitude);
            view.south = view.south.min(latitude);
            view.north = view.north.max(latitude);
        }
        if !view.west.is_finite() {
            // Nothing to show: the whole world.
            return View {
                west: -180.0,
                east: 180.0,
                south: -60.0,
                north: 75.0,
            };
        }
        let (middle_x, middle_y) = (
            (view.west + view.east) / 2.0,
            (view.south + view.north) / 2.0,
        );
        let half_x = ((view.east - view.west) / 2.0 * 1.2).max(SPAN_MIN_DEGREES);
        let half_y = ((view.north - view.south) / 2.0 * 1.2).max(SPAN_MIN_DEGREES);
        // Widen one side so the box has the drawing's aspect ratio.
        let shrink = middle_y.to_radians().cos().max(0.2);
        let aspect = WIDTH / HEIGHT;
        let (half_x, half_y) = if half_x * shrink / half_y < aspect {
            (half_y * aspect / shrink, half_y)
        } else {
            (half_x, half_x * shrink / aspect)
        };
        View {
            west: (middle_x - half_x).max(-180.0),
            east: (middle_x + half_x).min(180.0),
            south: (middle_y - half_y).max(-90.0),
            north: (middle_y + half_y).min(90.0),
        }
    }

    fn x(&self, longitude: f64) -> f64 {
        (longitude - self.west) / (self.east - self.west) * WIDTH
    }

    fn y(&self, latitude: f64) -> f64 {
        (self.north - latitude) / (self.north - self.south) * HEIGHT
    }

    /// The graticule's step: about four lines across.
    fn grid_step(&self) -> f64 {
        let span = (self.east - self.west).max(self.north - self.south);
        GRID_STEPS
            .into_iter()
            .find(|step| span / step <= 6.0)
            .unwrap_or(30.0)
    }
}

/// About how wide a label's character is at the map's 11 px font, and a label line's height.
const LABEL_CHAR_WIDTH: f64 = 6.0;
const LABEL_LINE: f64 = 13.0;

/// Where a label's text lies, to keep labels from covering each other.
#[derive(Clone, Copy)]
struct LabelBox {
    left: f64,
    right: f64,
    baseline: f64,
}

impl LabelBox {
    fn overlaps(&self, other: &LabelBox) -> bool {
        self.left < other.right
            && other.left < self.right
            && (self.baseline - other.baseline).abs() < LABEL_LINE
    }
}

/// Lines at multiples of `step` strictly inside `from..to`.
fn multiples(from: f64, to: f64, step: f64) -> impl Iterator<Item = f64> {
    let first = (from / step).floor() as i64 + 1;
    let last = (to / step).ceil() as i64 - 1;
    (first..=last).map(move |k| k as f64 * step)
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// An inline `<svg role="img">` showing `places` and `areas` (rings of longitude, latitude
/// pairs, as GeoJSON writes them), titled `title` for screen readers. Text is escaped by the
/// `svg` crate, so labels may come from users.
pub fn draw(places: &[Place], areas: &[Vec<(f64, f64)>], title: &str) -> String {
    let view = View::around(
        places
            .iter()
            .map(|place| (place.longitude, place.latitude))
            .chain(areas.iter().flatten().copied()),
    );
    let mut grid = Group::new().set("class", "map-grid");
    let step = view.grid_step();
    for longitude in multiples(view.west, view.east, step) {
        let x = round(view.x(longitude));
        grid = grid.add(
            Line::new()
                .set("x1", x)
                .set("y1", 0)
                .set("x2", x)
                .set("y2", HEIGHT),
        );
    }
    for latitude in multiples(view.south, view.north, step) {
        let y = round(view.y(latitude));
        grid = grid.add(
            Line::new()
                .set("x1", 0)
                .set("y1", y)
                .set("x2", WIDTH)
                .set("y2", y),
        );
    }
    let mut document = Document::new()
        .set("viewBox", (0, 0, WIDTH, HEIGHT))
        .set("class", "map")
        .set("role", "img")
        .add(Title::new(title))
        .add(
            Rectangle::new()
                .set("class", "map-ground")
                .set("width", WIDTH)
                .set("height", HEIGHT),
        )
        .add(grid);
    for ring in areas {
        let points = ring
            .iter()
            .map(|&(longitude, latitude)| {
                format!("{},{}", round(view.x(longitude)), round(view.y(latitude)))
            })
            .collect::<Vec<_>>()
            .join(" ");
        document = document.add(
            Polygon::new()
                .set("class", "map-area")
                .set("points", points),
        );
    }
    // Labels that would overlap a label already placed move down a line.
    let mut placed: Vec<LabelBox> = Vec::new();
    for place in places {
        let (x, y) = (
            round(view.x(place.longitude)),
            round(view.y(place.latitude)),
        );
        // Labels sit right of the dot, or left of it near the east edge.
        let width = LABEL_CHAR_WIDTH * place.label.chars().count() as f64;
        let (label_x, anchor, left) = if x > WIDTH * 0.65 {
            (x - 7.0, "end", x - 7.0 - width)
        } else {
            (x + 7.0, "start", x + 7.0)
        };
        let mut label = LabelBox {
            left,
            right: left + width,
            baseline: y + 4.0,
        };
        while placed.iter().any(|other| other.overlaps(&label)) {
            label.baseline += LABEL_LINE;
        }
        placed.push(label);
        document = document.add(
            Group::new()
                .set("class", "map-place")
                .add(Title::new(place.label.as_str()))
                .add(Circle::new().set("cx", x).set("cy", y).set("r", 4.5))
                .add(
                    Text::new(place.label.as_str())
                        .set("x", label_x)
                        .set("y", round(label.baseline))
                        .set("text-anchor", anchor),
                ),
        );
    }
    document.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(latitude: f64, longitude: f64, label: &str) -> Place {
        Place {
            latitude,
            longitude,
            label: label.into(),
        }
    }

    #[test]
    fn a_single_place_sits_in_the_middle_of_a_view_around_it() {
        let svg = draw(&[place(40.9, 107.3, "Alxa")], &[], "Sites");
        assert!(svg.contains("cx=\"160\""), "{svg}");
        assert!(svg.contains("cy=\"100\""), "{svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title>Sites</title>"));
        assert!(!svg.contains("style"), "classes only: {svg}");
    }

    #[test]
    fn every_place_and_area_is_inside_the_drawing() {
        let places = [
            place(-2.5, 113.9, "Kalimantan"),
            place(40.9, 107.3, "Alxa"),
            place(9.8, 118.7, "Palawan"),
        ];
        let area = vec![(107.0, 40.5), (107.6, 40.5), (107.6, 41.2), (107.0, 40.5)];
        let view = View::around(
            places
                .iter()
                .map(|p| (p.longitude, p.latitude))
                .chain(area.iter().copied()),
        );
        for (longitude, latitude) in places
            .iter()
            .map(|p| (p.longitude, p.latitude))
            .chain(area.iter().copied())
        {
            let (x, y) = (view.x(longitude), view.y(latitude));
            assert!((0.0..=WIDTH).contains(&x) && (0.0..=HEIGHT).contains(&y));
        }
        let svg = draw(&places, &[area], "Sites");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(svg.matches("<polygon").count(), 1);
    }

    #[test]
    fn labels_of_places_close_together_do_not_cover_each_other() {
        let places = [
            place(38.85, 105.73, "Alxa League dune belt"),
            place(38.62, 103.08, "Minqin oasis edge"),
            place(-6.86, 110.52, "Demak"),
        ];
        let svg = draw(&places, &[], "Sites");
        let baselines: Vec<f64> = svg
            .split("<text ")
            .skip(1)
            .map(|text| {
                let tag = text.split('>').next().unwrap();
                let y = tag.split(" y=\"").nth(1).unwrap();
                y.split('"').next().unwrap().parse().unwrap()
            })
            .collect();
        assert_eq!(baselines.len(), 3, "{svg}");
        assert!(
            (baselines[0] - baselines[1]).abs() >= LABEL_LINE,
            "{baselines:?}"
        );
    }

    #[test]
    fn labels_are_escaped_and_nothing_to_show_draws_the_world() {
        let svg = draw(&[place(1.0, 1.0, "<script>x</script>")], &[], "a & b");
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("a &amp; b"), "{svg}");
        let world = View::around(std::iter::empty());
        assert_eq!((world.west, world.east), (-180.0, 180.0));
        let nan = View::around([(f64::NAN, 1.0)].into_iter());
        assert_eq!(nan, world);
    }
}
