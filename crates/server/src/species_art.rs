//! Card art for Amazing Species, drawn from data: a silhouette for the species' group, the
//! colour of its habitat, a badge in the Red List colour of its category, its names and its
//! fact. Built as an SVG element tree (the `svg` crate escapes text nodes; data never goes into
//! attributes, which it does not escape fully), no copied images.
//! It lives in the server, not core: it is presentation, shared by the API and the web app.

use openforest_core::species::{Category, Group, Habitat, Species};
use svg::Document;
use svg::node::element::{Circle, Ellipse, Group as SvgGroup, Path, Rectangle, TSpan, Text, Title};

const WIDTH: u32 = 300;
const HEIGHT: u32 = 420;
const INK_DARK: &str = "#1f2a24";
const INK_LIGHT: &str = "#f1faee";
const PAPER: &str = "#fbf8f0";
const FACT_LINE_CHARS: usize = 42;
const FACT_LINES_MAX: usize = 3;

/// The habitat's colour and the ink that reads on it.
fn habitat_colours(habitat: Habitat) -> (&'static str, &'static str) {
    match habitat {
        Habitat::Desert => ("#e9c46a", INK_DARK),
        Habitat::Grassland => ("#a7c957", INK_DARK),
        Habitat::Forest => ("#2a7d5f", INK_LIGHT),
        Habitat::Mountain => ("#8d99ae", INK_DARK),
        Habitat::Wetland => ("#84a98c", INK_DARK),
        Habitat::Freshwater => ("#5fb3d9", INK_DARK),
        Habitat::Ocean => ("#1d5f8a", INK_LIGHT),
        Habitat::Polar => ("#dbe9f4", INK_DARK),
    }
}

/// The Red List's own colours for its categories, and the text colour on each.
fn category_colours(category: Category) -> (&'static str, &'static str) {
    match category {
        Category::CR => ("#d81e05", "#ffffff"),
        Category::EN => ("#fc7f3f", "#000000"),
        Category::VU => ("#f9e814", "#000000"),
        Category::NT => ("#cce226", "#000000"),
        Category::LC => ("#60c659", "#000000"),
    }
}

fn ellipse(cx: f32, cy: f32, rx: f32, ry: f32) -> Ellipse {
    Ellipse::new()
        .set("cx", cx)
        .set("cy", cy)
        .set("rx", rx)
        .set("ry", ry)
}

fn circle(cx: f32, cy: f32, r: f32) -> Circle {
    Circle::new().set("cx", cx).set("cy", cy).set("r", r)
}

fn rect(x: f32, y: f32, width: f32, height: f32) -> Rectangle {
    Rectangle::new()
        .set("x", x)
        .set("y", y)
        .set("width", width)
        .set("height", height)
}

fn path(d: &str) -> Path {
    Path::new().set("d", d)
}

/// Lines drawn with the ink instead of filled (antennae, branches, stems).
fn stroke(d: &str, width: f32, ink: &str) -> Path {
    path(d)
        .set("fill", "none")
        .set("stroke", ink)
        .set("stroke-width", width)
        .set("stroke-linecap", "round")
}

/// The group's silhouette in a 100 × 100 box, filled with `ink`; `hole` is the background
/// colour, for eyes.
fn silhouette(group: Group, ink: &str, hole: &str) -> SvgGroup {
    let shape = SvgGroup::new().set("fill", ink);
    match group {
        Group::Mammal => shape
            .add(ellipse(50.0, 55.0, 27.0, 14.0))
            .add(path("M68,50 L75,34 L86,40 L78,60 Z"))
            .add(ellipse(82.0, 38.0, 10.0, 8.0))
            .add(path("M77,32 L80,22 L85,31 Z"))
            .add(rect(28.0, 62.0, 6.0, 24.0))
            .add(rect(38.0, 64.0, 6.0, 22.0))
            .add(rect(60.0, 64.0, 6.0, 22.0))
            .add(rect(69.0, 62.0, 6.0, 24.0))
            .add(stroke("M24,50 Q12,48 13,64", 4.0, ink)),
        Group::AquaticMammal => shape
            .add(path(
                "M14,56 Q30,30 68,40 Q90,46 92,58 Q72,72 32,67 Q20,65 14,56 Z",
            ))
            .add(path("M16,57 L3,44 L8,57 L3,70 Z"))
            .add(path("M52,64 L44,78 L60,66 Z"))
            .add(circle(80.0, 52.0, 2.0).set("fill", hole)),
        Group::Bird => shape
            .add(ellipse(48.0, 58.0, 24.0, 15.0))
            .add(circle(72.0, 40.0, 10.0))
            .add(path("M81,37 L95,42 L81,46 Z"))
            .add(path("M27,54 L7,46 L12,66 Z"))
            .add(rect(44.0, 70.0, 3.0, 18.0))
            .add(rect(53.0, 70.0, 3.0, 18.0))
            .add(circle(74.0, 38.0, 2.0).set("fill", hole)),
        Group::Reptile => shape
            .add(ellipse(50.0, 55.0, 22.0, 9.0))
            .add(ellipse(78.0, 53.0, 11.0, 6.5))
            .add(path("M30,52 Q12,56 4,74 Q18,64 32,60 Z"))
            .add(path("M40,60 L34,72 L40,72 L46,62 Z"))
            .add(path("M60,60 L56,72 L62,72 L66,61 Z"))
            .add(path("M40,50 L34,38 L40,38 L46,48 Z"))
            .add(path("M60,50 L56,38 L62,38 L66,49 Z")),
        Group::Amphibian => shape
            .add(ellipse(50.0, 60.0, 26.0, 16.0))
            .add(circle(37.0, 45.0, 8.0))
            .add(circle(63.0, 45.0, 8.0))
            .add(ellipse(24.0, 72.0, 13.0, 6.0))
            .add(ellipse(76.0, 72.0, 13.0, 6.0))
            .add(circle(37.0, 44.0, 3.0).set("fill", hole))
            .add(circle(63.0, 44.0, 3.0).set("fill", hole)),
        Group::Fish => shape
            .add(ellipse(52.0, 50.0, 30.0, 14.0))
            .add(path("M25,50 L6,35 L10,50 L6,65 Z"))
            .add(path("M44,38 L58,24 L64,38 Z"))
            .add(path("M48,62 L56,72 L60,62 Z"))
            .add(circle(72.0, 47.0, 2.5).set("fill", hole)),
        Group::Insect => shape
            .add(ellipse(35.0, 40.0, 15.0, 19.0))
            .add(ellipse(65.0, 40.0, 15.0, 19.0))
            .add(ellipse(38.0, 66.0, 10.0, 12.0))
            .add(ellipse(62.0, 66.0, 10.0, 12.0))
            .add(ellipse(50.0, 52.0, 3.5, 24.0))
            .add(stroke("M49,30 Q44,18 38,14", 2.0, ink))
            .add(stroke("M51,30 Q56,18 62,14", 2.0, ink)),
        Group::Coral => shape.add(stroke(
            "M50,92 L50,56 M50,72 L32,52 M50,66 L68,46 M32,52 L25,34 M32,52 L41,36 \
             M68,46 L61,30 M68,46 L79,33 M50,56 L45,38 M50,56 L57,34",
            7.0,
            ink,
        )),
        Group::Tree => shape
            .add(rect(45.0, 55.0, 10.0, 36.0))
            .add(circle(50.0, 36.0, 21.0))
            .add(circle(32.0, 50.0, 14.0))
            .add(circle(68.0, 50.0, 14.0)),
        Group::Plant => shape
            .add(stroke("M50,90 Q47,62 50,30", 4.0, ink))
            .add(path("M50,64 Q28,56 24,38 Q42,44 50,64 Z"))
            .add(path("M50,52 Q72,44 76,26 Q58,32 50,52 Z"))
            .add(path("M50,80 Q30,76 22,62 Q42,64 50,80 Z"))
            .add(circle(50.0, 26.0, 8.0)),
    }
}

/// The fact in lines of at most `FACT_LINE_CHARS` characters, cut at words; the last line
/// ends with an ellipsis when the fact does not fit.
fn wrap(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = textwrap::wrap(text, FACT_LINE_CHARS)
        .into_iter()
        .map(|line| line.into_owned())
        .collect();
    if lines.len() > FACT_LINES_MAX {
        lines.truncate(FACT_LINES_MAX);
        if let Some(last) = lines.last_mut() {
            last.push('…');
        }
    }
    lines
}

/// The font size that fits `text` on one line of the card.
fn fitting_size(text: &str, largest: f32, width: f32) -> f32 {
    let chars = text.chars().count().max(1) as f32;
    // An average glyph is about 0.55 em wide in a sans-serif face.
    (width / (chars * 0.55)).min(largest)
}

fn text(content: &str, x: u32, y: u32, size: f32) -> Text {
    Text::new(content)
        .set("x", x)
        .set("y", y)
        .set("font-size", size)
        .set("text-anchor", "middle")
}

/// The card of a species as an SVG document.
pub fn card_svg(species: &Species) -> String {
    let (habitat_fill, ink) = habitat_colours(species.habitat);
    let (badge_fill, badge_ink) = category_colours(species.category);
    let centre = WIDTH / 2;
    let label = format!(
        "{} ({}), {}",
        species.common_name,
        species.scientific_name,
        species.category.title()
    );
    let fact_lines = wrap(&species.fact);
    let mut fact = Text::new("")
        .set("x", centre)
        .set("y", 370)
        .set("font-size", 11)
        .set("text-anchor", "middle")
        .set("fill", INK_DARK);
    for (index, line) in fact_lines.iter().enumerate() {
        fact = fact.add(
            TSpan::new(line.as_str())
                .set("x", centre)
                .set("dy", if index == 0 { "0" } else { "1.3em" }),
        );
    }
    Document::new()
        .set("viewBox", (0, 0, WIDTH, HEIGHT))
        .set("width", WIDTH)
        .set("height", HEIGHT)
        .set("role", "img")
        .set("font-family", "system-ui, sans-serif")
        .add(Title::new(label.as_str()))
        .add(
            rect(0.0, 0.0, WIDTH as f32, HEIGHT as f32)
                .set("rx", 18)
                .set("fill", PAPER)
                .set("stroke", habitat_fill)
                .set("stroke-width", 6),
        )
        .add(
            rect(18.0, 18.0, 264.0, 236.0)
                .set("rx", 12)
                .set("fill", habitat_fill),
        )
        .add(
            silhouette(species.group, ink, habitat_fill)
                .set("transform", "translate(50,36) scale(2)"),
        )
        .add(
            circle(250.0, 50.0, 22.0)
                .set("fill", badge_fill)
                .set("stroke", PAPER)
                .set("stroke-width", 3),
        )
        .add(
            text(species.category.code(), 250, 57, 18.0)
                .set("font-weight", "bold")
                .set("fill", badge_ink),
        )
        .add(
            text(
                &species.common_name,
                centre,
                290,
                fitting_size(&species.common_name, 24.0, 264.0),
            )
            .set("font-weight", "bold")
            .set("fill", INK_DARK),
        )
        .add(
            text(
                &species.scientific_name,
                centre,
                314,
                fitting_size(&species.scientific_name, 15.0, 264.0),
            )
            .set("font-style", "italic")
            .set("fill", INK_DARK),
        )
        .add(
            text(
                &format!(
                    "{} · {} · {}",
                    species.category.title(),
                    species.habitat.title(),
                    species.region.title()
                ),
                centre,
                340,
                11.0,
            )
            .set("fill", INK_DARK),
        )
        .add(fact)
        .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use openforest_core::species::Catalog;

    #[test]
    fn every_bundled_card_is_well_formed_svg_naming_its_species() {
        let catalog = Catalog::load(true, &[], &crate::routes::props::KINDS).unwrap();
        for species in catalog.species() {
            let svg = card_svg(species);
            assert!(svg.starts_with("<svg"), "{svg}");
            let events: Vec<_> = svg::read(&svg).unwrap().collect();
            assert!(events.len() > 10);
            assert!(svg.contains(&species.scientific_name));
            assert!(svg.contains(category_colours(species.category).0));
        }
    }

    #[test]
    fn text_from_data_is_escaped() {
        let catalog = Catalog::load(
            false,
            &[(
                "x.toml".into(),
                "[[species]]\nid = \"x\"\ncommon_name = \"Fish & <chips>\"\nscientific_name = \"Piscis frictus\"\ncategory = \"LC\"\nhabitat = \"ocean\"\nregion = \"europe\"\nrange = \"A plate\"\ngroup = \"fish\"\nfact = \"Served with <b>vinegar</b>.\"\n".into(),
            )],
            &crate::routes::props::KINDS,
        )
        .unwrap();
        let svg = card_svg(catalog.get("x").unwrap());
        assert!(svg.contains("Fish &amp; &lt;chips&gt;"));
        assert!(!svg.contains("<b>"));
    }

    #[test]
    fn long_facts_wrap_at_words_into_three_lines() {
        let lines = wrap(&"word ".repeat(60));
        assert_eq!(lines.len(), 3);
        assert!(
            lines
                .iter()
                .all(|line| line.chars().count() <= FACT_LINE_CHARS + 1)
        );
        assert!(lines[2].ends_with('…'));
    }
}
