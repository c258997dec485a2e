//! 农村双创平台 (rural innovation platforms): the registry of 星创天地, 众创空间, 科技企业孵化器
//! and 农业科技园区 as the kind `achievements.platform` on the one publication pipeline (a
//! centre's staff registers one, two other people review and sign it off, it is public at every
//! node), the checks of its fields (type, level, region, coordinates inside Sichuan and near the
//! region, the 10+3 industries it serves, an organisation's telephone only), the entries the map
//! and list read from published documents, and the nearest platforms with a matching industry
//! (基地选择的参考) by great-circle distance.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use yizhan_core::Industry;
use yizhan_core::item::{FieldSpec, ItemDoc, ORGANISATION_PHONE_FIELD};
use yizhan_core::published::PublishedDoc;
use yizhan_core::region::{self, RegionCode, RegionLevel};

use crate::geo;

pub const PLATFORM: &str = "achievements.platform";

/// The four kinds of platform: (code, name).
pub const PLATFORM_TYPES: &[(&str, &str)] = &[
    ("xingchuang", "星创天地"),
    ("zhongchuang", "众创空间"),
    ("incubator", "科技企业孵化器"),
    ("park", "农业科技园区"),
];

/// Who recognised it: (code, name).
pub const LEVELS: &[(&str, &str)] = &[("national", "国家级"), ("provincial", "省级"), ("city", "市级")];

/// Sichuan's bounding box in degrees (97°21′–108°33′ E, 26°03′–34°19′ N), a little wider.
pub const SICHUAN_LONGITUDE: (f64, f64) = (97.30, 108.60);
pub const SICHUAN_LATITUDE: (f64, f64) = (26.00, 34.35);
/// Industries one platform may name at most.
pub const INDUSTRIES_MAX: usize = 13;
/// Platforms suggested beside a record.
pub const NEAREST_MAX: usize = 3;

const fn field(key: &'static str, label_zh: &'static str, required: bool) -> FieldSpec {
    FieldSpec { key, label_zh, required, multi_line: false }
}

pub const PLATFORM_FIELDS: &[FieldSpec] = &[
    field("platform_type", "平台类型", true),
    field("level", "级别", true),
    field("region", "所在地区", true),
    field("longitude", "经度", true),
    field("latitude", "纬度", true),
    field("industries", "服务产业", true),
    field("operator", "运营单位", true),
    field(ORGANISATION_PHONE_FIELD, "单位电话", false),
];

pub fn type_zh(code: &str) -> Option<&'static str> {
    PLATFORM_TYPES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

pub fn level_zh(code: &str) -> Option<&'static str> {
    LEVELS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// A coordinate typed in degrees: a plain decimal, finite.
pub fn parse_degrees(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The industries field: 10+3 codes separated by commas (also 、 or spaces), each once.
pub fn parse_industries(s: &str) -> Result<Vec<Industry>, String> {
    let mut out = Vec::new();
    for code in s.split([',', '，', '、', ' ']).map(str::trim).filter(|c| !c.is_empty()) {
        let i = Industry::from_code(code).ok_or_else(|| format!("产业“{code}”不是 10+3 产业之一"))?;
        if !out.contains(&i) {
            out.push(i);
        }
    }
    if out.is_empty() {
        return Err("请至少选择一个服务产业".into());
    }
    if out.len() > INDUSTRIES_MAX {
        return Err(format!("服务产业最多 {INDUSTRIES_MAX} 个"));
    }
    Ok(out)
}

/// Great-circle distance in km between two (longitude, latitude) points in degrees.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0088;
    let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
    let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
    let h =
        ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

fn centroids() -> &'static HashMap<String, (f64, f64)> {
    static CENTROIDS: OnceLock<HashMap<String, (f64, f64)>> = OnceLock::new();
    CENTROIDS.get_or_init(|| {
        include_str!("../../assets/maps/centroids.csv")
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut parts = line.split(',');
                let code = parts.next()?.to_string();
                let lon = parts.next()?.parse().ok()?;
                let lat = parts.next()?.parse().ok()?;
                Some((code, (lon, lat)))
            })
            .collect()
    })
}

/// Where a region lies, for distances: its county's centre point (a town or village takes its
/// county's), else its city's; none for the province or an unknown code.
pub fn centroid(code: &str) -> Option<(f64, f64)> {
    let at = |level| region::ancestor_at(code, level).and_then(|c| centroids().get(c).copied());
    match RegionLevel::of(code)? {
        RegionLevel::Province => None,
        RegionLevel::City => at(RegionLevel::City),
        _ => at(RegionLevel::County).or_else(|| at(RegionLevel::City)),
    }
}

/// The platform-specific checks of an item's fields (in Chinese): the type and level from their
/// lists, a known region within the owning centre's, coordinates inside Sichuan and near the
/// region, the industries.
/// Inside Sichuan and inside the region's city or county on the served maps (`geo`).
pub fn check_fields(fields: &BTreeMap<String, String>, centre: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let get = |k: &str| fields.get(k).map_or("", |v| v.trim());
    let ty = get("platform_type");
    if !ty.is_empty() && type_zh(ty).is_none() {
        problems.push("平台类型须为：星创天地、众创空间、科技企业孵化器、农业科技园区".into());
    }
    let level = get("level");
    if !level.is_empty() && level_zh(level).is_none() {
        problems.push("级别须为：国家级、省级、市级".into());
    }
    let region_code = get("region");
    let known = region::regions().get(region_code).is_some();
    if !region_code.is_empty() {
        if !known || RegionLevel::of(region_code) == Some(RegionLevel::Province) {
            problems.push(format!("所在地区“{region_code}”不是四川省的市（州）、县（市、区）或乡镇代码"));
        } else if !matches!(
            (RegionCode::parse(centre), RegionCode::parse(region_code)),
            (Ok(c), Ok(r)) if c.contains(&r)
        ) {
            problems.push("所在地区须在本中心的辖区内".into());
        }
    }
    let (lon, lat) = (get("longitude"), get("latitude"));
    if !lon.is_empty() || !lat.is_empty() {
        match (parse_degrees(lon), parse_degrees(lat)) {
            (Some(lon), Some(lat)) => {
                let in_box = (SICHUAN_LONGITUDE.0..=SICHUAN_LONGITUDE.1).contains(&lon)
                    && (SICHUAN_LATITUDE.0..=SICHUAN_LATITUDE.1).contains(&lat);
                if !in_box || !geo::in_sichuan((lon, lat)) {
                    problems.push(format!("坐标（经度 {lon}，纬度 {lat}）不在四川省范围内，请核对经纬度"));
                } else if known && geo::in_region(region_code, (lon, lat)) == Some(false) {
                    problems.push(format!(
                        "坐标（经度 {lon}，纬度 {lat}）不在所在地区（{}）内，请核对经纬度或所在地区",
                        region::regions().path_name(region_code)
                    ));
                }
            }
            _ => problems.push("经度、纬度须为数字（度，如 103.52、30.20）".into()),
        }
    }
    let industries = get("industries");
    if !industries.is_empty()
        && let Err(e) = parse_industries(industries)
    {
        problems.push(e);
    }
    problems
}

/// The kind's check hook for a platform item.
pub fn check_item(item: &ItemDoc) -> Vec<String> {
    check_fields(&item.fields, &item.centre)
}

/// A published platform as the map and list read it (and `/api/innovation` sends it).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Platform {
    /// The public document's id (its page is `/items/{id}`).
    pub id: String,
    pub name: String,
    pub platform_type: String,
    pub type_zh: String,
    pub level: String,
    pub level_zh: String,
    /// The region code and its path name (成都市/蒲江县).
    pub region: String,
    pub region_name: String,
    pub longitude: f64,
    pub latitude: f64,
    /// 10+3 codes.
    pub industries: Vec<String>,
    pub industries_zh: Vec<String>,
    pub operator: String,
    /// The organisation's telephone, or empty.
    pub org_phone: String,
    pub description: String,
    /// The centre that registered it.
    pub centre: String,
    pub published_at_ms: i64,
}

impl Platform {
    /// The platform of a published, not withdrawn document of the kind with valid fields.
    pub fn of(p: &PublishedDoc) -> Option<Platform> {
        if p.kind != PLATFORM || p.is_withdrawn() {
            return None;
        }
        let get = |k: &str| {
            p.fields.iter().find(|f| f.key == k).map(|f| f.value.trim().to_string()).unwrap_or_default()
        };
        let ty = get("platform_type");
        let level = get("level");
        let region = get("region");
        let industries = parse_industries(&get("industries")).ok()?;
        Some(Platform {
            id: p.id.clone(),
            name: p.title.clone(),
            type_zh: type_zh(&ty)?.into(),
            platform_type: ty,
            level_zh: level_zh(&level)?.into(),
            level,
            region_name: region::regions().path_name(&region),
            region,
            longitude: parse_degrees(&get("longitude"))?,
            latitude: parse_degrees(&get("latitude"))?,
            industries: industries.iter().map(|i| i.code().to_string()).collect(),
            industries_zh: industries.iter().map(|i| i.name_zh().to_string()).collect(),
            operator: get("operator"),
            org_phone: get(ORGANISATION_PHONE_FIELD),
            description: p.body.clone(),
            centre: p.centre.clone(),
            published_at_ms: p.published_at_ms,
        })
    }

    pub fn position(&self) -> (f64, f64) {
        (self.longitude, self.latitude)
    }
}

/// The map's and list's filters (the query string of `/innovation` and its JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PlatformFilter {
    #[serde(default, rename = "type")]
    pub platform_type: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub industry: String,
    /// A city's code (or any region's): platforms within it.
    #[serde(default)]
    pub city: String,
}

impl PlatformFilter {
    pub fn matches(&self, p: &Platform) -> bool {
        let region_ok = self.city.trim().is_empty()
            || matches!(
                (RegionCode::parse(self.city.trim()), RegionCode::parse(&p.region)),
                (Ok(c), Ok(r)) if c.contains(&r)
            );
        (self.platform_type.trim().is_empty() || p.platform_type == self.platform_type.trim())
            && (self.level.trim().is_empty() || p.level == self.level.trim())
            && (self.industry.trim().is_empty() || p.industries.iter().any(|i| i == self.industry.trim()))
            && region_ok
    }
}

/// The platforms among published documents that pass `filter`, by level (国家级 first), then
/// region, then name.
pub fn platforms(docs: &[PublishedDoc], filter: &PlatformFilter) -> Vec<Platform> {
    let rank = |p: &Platform| LEVELS.iter().position(|(c, _)| *c == p.level).unwrap_or(LEVELS.len());
    let mut out: Vec<Platform> = docs.iter().filter_map(Platform::of).filter(|p| filter.matches(p)).collect();
    out.sort_by(|a, b| {
        rank(a).cmp(&rank(b)).then_with(|| a.region.cmp(&b.region)).then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// Up to [`NEAREST_MAX`] platforms serving `industry`, nearest to `from` (longitude, latitude)
/// first, with the distance in km (ties by name).
pub fn nearest<'a>(platforms: &'a [Platform], industry: &str, from: (f64, f64)) -> Vec<(&'a Platform, f64)> {
    let mut out: Vec<(&Platform, f64)> = platforms
        .iter()
        .filter(|p| p.industries.iter().any(|i| i == industry))
        .map(|p| (p, haversine_km(from, p.position())))
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.name.cmp(&b.0.name)));
    out.truncate(NEAREST_MAX);
    out
}

/// Where a record lies: its own coordinates if it has both, else its region's centre point.
pub fn locate(region_code: &str, coordinates: Option<(f64, f64)>) -> Option<(f64, f64)> {
    coordinates.or_else(|| centroid(region_code))
}

#[cfg(test)]
mod tests;
