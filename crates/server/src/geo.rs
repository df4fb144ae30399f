//! Places on Earth as the API takes them: a GPS point (WGS 84 degrees) or a GeoJSON Polygon
//! (RFC 7946), checked at the edge so no impossible coordinate or open ring is ever stored.

use crate::error::ApiError;
use geojson::{Geometry, GeometryValue};

/// The most positions one polygon may have (a site's outline, not a survey).
pub const POLYGON_POSITIONS_MAX: usize = 2_000;

/// A latitude and longitude in degrees, both finite and in range.
pub fn check_point(latitude: f64, longitude: f64, field: &str) -> Result<(), ApiError> {
    if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
        return Err(ApiError::invalid(
            format!("{field}.latitude"),
            "a latitude is a number of degrees from -90 to 90",
        ));
    }
    if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
        return Err(ApiError::invalid(
            format!("{field}.longitude"),
            "a longitude is a number of degrees from -180 to 180",
        ));
    }
    Ok(())
}

/// A GeoJSON Polygon: closed linear rings of at least four positions `[longitude, latitude]`
/// in range. Answers it as compact GeoJSON text, ready to store.
pub fn parse_polygon(value: &serde_json::Value, field: &str) -> Result<String, ApiError> {
    let geometry: Geometry = serde_json::from_value(value.clone()).map_err(|err| {
        ApiError::invalid(
            field,
            format!("expected a GeoJSON Polygon geometry ({err})"),
        )
    })?;
    let GeometryValue::Polygon { coordinates: rings } = &geometry.value else {
        return Err(ApiError::invalid(
            field,
            "expected a GeoJSON geometry of type Polygon",
        ));
    };
    if rings.is_empty() {
        return Err(ApiError::invalid(field, "a Polygon needs an outer ring"));
    }
    let positions: usize = rings.iter().map(Vec::len).sum();
    if positions > POLYGON_POSITIONS_MAX {
        return Err(ApiError::invalid(
            field,
            format!("a Polygon may have at most {POLYGON_POSITIONS_MAX} positions"),
        ));
    }
    for (n, ring) in rings.iter().enumerate() {
        if ring.len() < 4 {
            return Err(ApiError::invalid(
                format!("{field}.coordinates[{n}]"),
                "a linear ring has at least 4 positions",
            ));
        }
        if ring.first() != ring.last() {
            return Err(ApiError::invalid(
                format!("{field}.coordinates[{n}]"),
                "a linear ring ends where it starts (closed)",
            ));
        }
        for (m, position) in ring.iter().enumerate() {
            let ([longitude, latitude] | [longitude, latitude, _]) = position.as_slice() else {
                return Err(ApiError::invalid(
                    format!("{field}.coordinates[{n}][{m}]"),
                    "a position is [longitude, latitude] (or with an altitude)",
                ));
            };
            check_point(
                *latitude,
                *longitude,
                &format!("{field}.coordinates[{n}][{m}]"),
            )?;
        }
    }
    serde_json::to_string(&geometry)
        .map_err(|err| ApiError::Internal(format!("writing GeoJSON: {err}")))
}

/// The stored polygon text back as JSON for answers.
pub fn polygon_json(text: Option<&str>) -> Option<serde_json::Value> {
    text.and_then(|text| serde_json::from_str(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_closed_polygon_in_range_is_accepted() {
        let polygon = json!({"type": "Polygon", "coordinates": [[[104.1, 38.9], [104.2, 38.9], [104.2, 39.0], [104.1, 38.9]]]});
        assert!(parse_polygon(&polygon, "polygon").is_ok());
    }

    #[test]
    fn open_rings_points_and_impossible_coordinates_are_refused() {
        let open = json!({"type": "Polygon", "coordinates": [[[104.1, 38.9], [104.2, 38.9], [104.2, 39.0], [104.3, 38.9]]]});
        let point = json!({"type": "Point", "coordinates": [104.1, 38.9]});
        let far = json!({"type": "Polygon", "coordinates": [[[204.1, 38.9], [104.2, 38.9], [104.2, 39.0], [204.1, 38.9]]]});
        for bad in [open, point, far, json!("nonsense")] {
            assert!(parse_polygon(&bad, "polygon").is_err(), "{bad}");
        }
        assert!(check_point(91.0, 0.0, "point").is_err());
        assert!(check_point(f64::NAN, 0.0, "point").is_err());
    }
}
