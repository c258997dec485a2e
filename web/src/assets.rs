//! The one stylesheet and script set of every node (`assets/web/`), embedded at compile time
//! and served under `/static/`. Every node's router merges [`routes`].

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// The stylesheet of every page: shared rules first, then those of each page family (the
/// `<body>` class the shell sets).
pub const APP_CSS: &str = include_str!("../../assets/web/app.css");
/// Progressive enhancement (upload and transcoding progress); every page works without it.
pub const APP_JS: &str = include_str!("../../assets/web/app.js");
/// Passkey ceremonies on the sign-in and account pages.
pub const SIGNIN_JS: &str = include_str!("../../assets/web/signin.js");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body)
}

/// `/static/app.css`, `/static/app.js`, `/static/signin.js`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/static/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/static/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/static/signin.js", get(|| async { asset("text/javascript; charset=utf-8", SIGNIN_JS) }))
}

/// ECharts, vendored from npm (`echarts` 6.1.0, `dist/echarts.min.js`, Apache-2.0; its LICENSE
/// and NOTICE beside it in `assets/web/vendor/echarts/`).
pub const ECHARTS_JS: &str = include_str!("../../assets/web/vendor/echarts/echarts.min.js");
/// Where the page loads ECharts from: versioned, so it is cached for a year.
pub const ECHARTS_PATH: &str = "/static/vendor/echarts-6.1.0.min.js";
/// The visualisation centre's script (`/dashboard`): reads the page's data attributes, fetches
/// `/api/stats` and the maps, draws the charts.
pub const DASHBOARD_JS: &str = include_str!("../../assets/web/dashboard.js");
pub const DASHBOARD_PATH: &str = "/static/dashboard.js";
/// The 农村双创平台 map's script (`/innovation`, hubs and kiosks).
pub const INNOVATION_JS: &str = include_str!("../../assets/web/innovation.js");
pub const INNOVATION_PATH: &str = "/static/innovation.js";
/// The maps' path prefix (versioned with the files: cached for a year).
pub const MAPS_PATH: &str = "/static/maps/v1";

/// Sichuan's 21 cities (市州), simplified from `../shared/data/maps` by `assets/maps/simplify.py`.
const MAP_PROVINCE: &str = include_str!("../../assets/maps/sichuan.json");

macro_rules! county_maps {
    ($($city:literal),*) => {
        /// Each city's counties (县市区), keyed by the city's code.
        const MAP_COUNTIES: &[(&str, &str)] = &[
            $(($city, include_str!(concat!("../../assets/maps/counties/", $city, ".json"))),)*
        ];
    };
}

county_maps!(
    "5101", "5103", "5104", "5105", "5106", "5107", "5108", "5109", "5110", "5111", "5113", "5114", "5115",
    "5116", "5117", "5118", "5119", "5120", "5132", "5133", "5134"
);

/// The codes of the cities whose county map is served.
pub fn county_map_cities() -> impl Iterator<Item = &'static str> {
    MAP_COUNTIES.iter().map(|(c, _)| *c)
}

/// Sichuan's cities as served (GeoJSON, features with `code`), for code that places points.
pub fn province_map() -> &'static str {
    MAP_PROVINCE
}

/// One city's counties as served (GeoJSON), by the city's code.
pub fn county_map(city: &str) -> Option<&'static str> {
    MAP_COUNTIES.iter().find(|(c, _)| *c == city).map(|(_, json)| *json)
}

/// A large file, kept with its gzip encoding made once on first use.
struct Large {
    content_type: &'static str,
    body: &'static str,
    gzip: std::sync::OnceLock<Vec<u8>>,
}

impl Large {
    const fn new(content_type: &'static str, body: &'static str) -> Large {
        Large { content_type, body, gzip: std::sync::OnceLock::new() }
    }

    fn gzipped(&self) -> &[u8] {
        self.gzip.get_or_init(|| {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            // Writing into a Vec cannot fail; should it, the plain body is served instead.
            enc.write_all(self.body.as_bytes()).and_then(|()| enc.finish()).unwrap_or_default()
        })
    }

    /// The file with a year's cache (its path carries its version), gzip-encoded when the
    /// browser accepts it.
    fn respond(&self, headers: &axum::http::HeaderMap) -> axum::response::Response {
        let accepts_gzip = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().split(';').next() == Some("gzip")));
        let common = [
            (header::CONTENT_TYPE, self.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::VARY, "Accept-Encoding"),
        ];
        let gz = if accepts_gzip { self.gzipped() } else { &[] };
        if gz.is_empty() {
            (common, self.body).into_response()
        } else {
            (common, [(header::CONTENT_ENCODING, "gzip")], gz.to_vec()).into_response()
        }
    }
}

static ECHARTS: Large = Large::new("text/javascript; charset=utf-8", ECHARTS_JS);
static PROVINCE_MAP: Large = Large::new("application/geo+json", MAP_PROVINCE);
static COUNTY_MAPS: std::sync::LazyLock<Vec<(&'static str, Large)>> = std::sync::LazyLock::new(|| {
    MAP_COUNTIES.iter().map(|(c, body)| (*c, Large::new("application/geo+json", body))).collect()
});

/// The visualisation centre's files, merged by the hubs only: ECharts
/// (`/static/vendor/echarts-6.1.0.min.js`), the page script (`/static/dashboard.js`) and the
/// maps (`/static/maps/v1/sichuan.json`, `/static/maps/v1/counties/{city}.json`). ECharts and
/// the maps are sent gzip-compressed and cached for a year.
pub fn dashboard_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    use axum::extract::Path;
    use axum::http::{HeaderMap, StatusCode};
    Router::new()
        .route(ECHARTS_PATH, get(|h: HeaderMap| async move { ECHARTS.respond(&h) }))
        .route(DASHBOARD_PATH, get(|| async { asset("text/javascript; charset=utf-8", DASHBOARD_JS) }))
        .route(INNOVATION_PATH, get(|| async { asset("text/javascript; charset=utf-8", INNOVATION_JS) }))
        .route(
            &format!("{MAPS_PATH}/sichuan.json"),
            get(|h: HeaderMap| async move { PROVINCE_MAP.respond(&h) }),
        )
        .route(
            &format!("{MAPS_PATH}/counties/{{file}}"),
            get(|Path(file): Path<String>, h: HeaderMap| async move {
                let city = file.strip_suffix(".json").unwrap_or_default();
                match COUNTY_MAPS.iter().find(|(c, _)| *c == city) {
                    Some((_, large)) => large.respond(&h),
                    None => (StatusCode::NOT_FOUND, "没有这个市州的地图").into_response(),
                }
            }),
        )
}
