//! Whether a point lies in Sichuan and in a given city or county, on the maps the hubs serve
//! (`yizhan_web::assets::province_map`, `county_map`: simplified to about 100-200 m, so a point
//! within [`BORDER_KM`] of a border counts as inside). Each map is parsed once, on first use.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde::Deserialize;
use yizhan_core::region::{self, RegionLevel};

/// How far outside a simplified border a point still counts as inside.
pub const BORDER_KM: f64 = 1.0;

type Ring = Vec<(f64, f64)>;
/// Per region code, all rings of its polygons (outer rings and holes, read even-odd).
type Shapes = HashMap<String, Vec<Ring>>;

#[derive(Deserialize)]
struct Collection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Properties,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Properties {
    code: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geometry {
    Polygon(Vec<Vec<[f64; 2]>>),
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
}

fn parse(json: &str) -> Shapes {
    let Ok(c) = serde_json::from_str::<Collection>(json) else { return Shapes::new() };
    let ring = |r: Vec<[f64; 2]>| r.into_iter().map(|[x, y]| (x, y)).collect::<Ring>();
    c.features
        .into_iter()
        .map(|f| {
            let rings = match f.geometry {
                Geometry::Polygon(p) => p.into_iter().map(ring).collect(),
                Geometry::MultiPolygon(m) => m.into_iter().flatten().map(ring).collect(),
            };
            (f.properties.code, rings)
        })
        .collect()
}

fn cities() -> &'static Shapes {
    static CITIES: OnceLock<Shapes> = OnceLock::new();
    CITIES.get_or_init(|| parse(yizhan_web::assets::province_map()))
}

fn counties_of(city: &str) -> Option<std::sync::Arc<Shapes>> {
    static COUNTIES: OnceLock<Mutex<HashMap<String, std::sync::Arc<Shapes>>>> = OnceLock::new();
    let json = yizhan_web::assets::county_map(city)?;
    let cache = COUNTIES.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Some(cache.entry(city.to_string()).or_insert_with(|| std::sync::Arc::new(parse(json))).clone())
}

/// Even-odd ray casting over every ring.
fn inside(rings: &[Ring], p: (f64, f64)) -> bool {
    let mut odd = false;
    for ring in rings {
        for w in ring.windows(2) {
            let ((x1, y1), (x2, y2)) = (w[0], w[1]);
            if (y1 > p.1) != (y2 > p.1) && p.0 < (x2 - x1) * (p.1 - y1) / (y2 - y1) + x1 {
                odd = !odd;
            }
        }
    }
    odd
}

/// The distance in km from `p` to the nearest edge (a local flat projection: fine over a few km).
fn to_border_km(rings: &[Ring], p: (f64, f64)) -> f64 {
    let kx = 111.32 * p.1.to_radians().cos();
    let ky = 110.57;
    let mut best = f64::INFINITY;
    for ring in rings {
        for w in ring.windows(2) {
            let (ax, ay) = ((w[0].0 - p.0) * kx, (w[0].1 - p.1) * ky);
            let (bx, by) = ((w[1].0 - p.0) * kx, (w[1].1 - p.1) * ky);
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            let t = if len2 == 0.0 { 0.0 } else { (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0) };
            let (cx, cy) = (ax + t * dx, ay + t * dy);
            best = best.min((cx * cx + cy * cy).sqrt());
        }
    }
    best
}

fn within(rings: &[Ring], p: (f64, f64)) -> bool {
    inside(rings, p) || to_border_km(rings, p) <= BORDER_KM
}

/// Whether `p` (longitude, latitude) lies in one of Sichuan's cities.
pub fn in_sichuan(p: (f64, f64)) -> bool {
    cities().values().any(|rings| within(rings, p))
}

/// Whether `p` lies in the region `code` (a city, or a county; a town or village is checked
/// against its county, since no maps below counties exist). `None`: no map for that region.
pub fn in_region(code: &str, p: (f64, f64)) -> Option<bool> {
    let city = region::ancestor_at(code, RegionLevel::City)?;
    match RegionLevel::of(code)? {
        RegionLevel::Province => None,
        RegionLevel::City => cities().get(city).map(|r| within(r, p)),
        _ => {
            let county = region::ancestor_at(code, RegionLevel::County)?;
            counties_of(city)?.get(county).map(|r| within(r, p))
        }
    }
}
