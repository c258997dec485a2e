//! Sichuan's administrative divisions (统计用区划代码), embedded from `assets/regions/`.
//!
//! A region code is hierarchical: `51` province > `5101` city > `510104` county >
//! `510104017` town > 12 digits for a village (the town code plus three digits). The
//! reference data lists down to towns; village codes are validated by their town prefix.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

const PROVINCE_CSV: &str = include_str!("../../assets/regions/province.csv");
const CITIES_CSV: &str = include_str!("../../assets/regions/cities.csv");
const COUNTIES_CSV: &str = include_str!("../../assets/regions/counties.csv");
const TOWNS_CSV: &str = include_str!("../../assets/regions/towns.csv");

/// Ordered from the top: `Province < City < ... < Village` (a greater level lies deeper).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegionLevel {
    Province,
    City,
    County,
    Town,
    Village,
}

impl RegionLevel {
    /// The level a code names, from its digits (the one place that knows the code lengths);
    /// `None` for anything that is not a region code's shape (including "" and non-digits).
    /// For stored codes that were validated when written; untrusted input goes through
    /// [`RegionCode::parse`].
    pub fn of(code: &str) -> Option<RegionLevel> {
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        RegionLevel::from_len(code.len())
    }

    /// The number of digits of a code at this level.
    pub fn digits(self) -> usize {
        match self {
            RegionLevel::Province => 2,
            RegionLevel::City => 4,
            RegionLevel::County => 6,
            RegionLevel::Town => 9,
            RegionLevel::Village => 12,
        }
    }

    fn from_len(len: usize) -> Option<RegionLevel> {
        match len {
            2 => Some(RegionLevel::Province),
            4 => Some(RegionLevel::City),
            6 => Some(RegionLevel::County),
            9 => Some(RegionLevel::Town),
            12 => Some(RegionLevel::Village),
            _ => None,
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            RegionLevel::Province => "省",
            RegionLevel::City => "市州",
            RegionLevel::County => "县市区",
            RegionLevel::Town => "乡镇街道",
            RegionLevel::Village => "村",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegionError {
    #[error("region code {0:?} is not 2, 4, 6, 9 or 12 digits")]
    Malformed(String),
    #[error("region code {0:?} is not a known division of Sichuan")]
    Unknown(String),
}

/// A validated region code that names a known division (a village code must extend a known town).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(code: &str) -> Result<RegionCode, RegionError> {
        let code = code.trim();
        if RegionLevel::from_len(code.len()).is_none() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionError::Malformed(code.to_string()));
        }
        let db = regions();
        let known_prefix = ancestor_at(code, RegionLevel::Town).unwrap_or(code);
        if !db.by_code.contains_key(known_prefix) {
            return Err(RegionError::Unknown(code.to_string()));
        }
        Ok(RegionCode(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> RegionLevel {
        // Invariant: parse() admits only lengths that have a level.
        RegionLevel::from_len(self.0.len()).unwrap_or(RegionLevel::Village)
    }

    /// True when `other` lies within this region (a region contains itself).
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The county this code lies in, if it is at county level or below.
    pub fn county(&self) -> Option<RegionCode> {
        ancestor_at(&self.0, RegionLevel::County).map(|c| RegionCode(c.to_string()))
    }
}

/// The code of the region at `level` that contains `code` (itself when it is at that level);
/// `None` when `code` is not a region code or lies above `level`.
pub fn ancestor_at(code: &str, level: RegionLevel) -> Option<&str> {
    let own = RegionLevel::of(code)?;
    (own >= level).then(|| &code[..level.digits()])
}

/// True when `code` names a region at `level` or below it (a county code and a village code
/// are both "at or below county").
pub fn at_or_below(code: &str, level: RegionLevel) -> bool {
    RegionLevel::of(code).is_some_and(|l| l >= level)
}

/// True when `inner` lies strictly within `outer` (a proper sub-region; "" contains all).
pub fn strictly_within(inner: &str, outer: &str) -> bool {
    inner != outer && inner.starts_with(outer)
}

/// The codes within `code` (itself and every region below it), as a half-open range of
/// strings `[lo, hi)`: an index range for tables keyed by region code.
pub fn within_range(code: &str) -> (String, String) {
    // Codes are ASCII digits; ':' sorts right after '9'.
    (code.to_string(), format!("{code}:"))
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
}

/// The embedded division table, parsed once.
pub struct Regions {
    by_code: BTreeMap<String, Region>,
    children: BTreeMap<String, Vec<String>>,
}

static REGIONS: LazyLock<Regions> = LazyLock::new(Regions::load);

pub fn regions() -> &'static Regions {
    &REGIONS
}

impl Regions {
    fn load() -> Regions {
        let mut regions = Regions { by_code: BTreeMap::new(), children: BTreeMap::new() };
        // Columns: code,name[,parent,...]; the parent is the second code column.
        let tables: [(&str, Option<usize>); 4] =
            [(PROVINCE_CSV, None), (CITIES_CSV, Some(2)), (COUNTIES_CSV, Some(2)), (TOWNS_CSV, Some(2))];
        for (csv, parent_col) in tables {
            for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
                let cols: Vec<&str> = line.split(',').map(|c| c.trim().trim_matches('"')).collect();
                let (Some(code), Some(name)) = (cols.first(), cols.get(1)) else { continue };
                let parent = parent_col.and_then(|i| cols.get(i)).map(|p| p.to_string());
                if let Some(p) = &parent {
                    regions.children.entry(p.clone()).or_default().push(code.to_string());
                }
                regions.by_code.insert(
                    code.to_string(),
                    Region { code: code.to_string(), name: name.to_string(), parent },
                );
            }
        }
        regions
    }

    pub fn get(&self, code: &str) -> Option<&Region> {
        self.by_code.get(code)
    }

    /// Direct children of a division, in code order.
    pub fn children(&self, code: &str) -> Vec<&Region> {
        self.children
            .get(code)
            .map(|c| c.iter().filter_map(|k| self.by_code.get(k)).collect())
            .unwrap_or_default()
    }

    pub fn count(&self, level: RegionLevel) -> usize {
        self.by_code.keys().filter(|c| RegionLevel::from_len(c.len()) == Some(level)).count()
    }

    /// Names from the city down, e.g. "成都市 锦江区 锦官驿街道"; a village shows its town's path.
    pub fn path_name(&self, code: &str) -> String {
        let mut names = Vec::new();
        for len in [4, 6, 9] {
            if let Some(r) = code.get(..len).and_then(|c| self.by_code.get(c)) {
                names.push(r.name.as_str());
            }
        }
        names.join(" ")
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn levels_and_ancestors() {
        use RegionLevel::*;
        let check = |code: &str, level: Option<RegionLevel>, county: Option<&str>| {
            assert_eq!(RegionLevel::of(code), level, "{code}");
            assert_eq!(ancestor_at(code, County), county, "{code}");
        };
        check("51", Some(Province), None);
        check("5101", Some(City), None);
        check("510131", Some(County), Some("510131"));
        check("510131001", Some(Town), Some("510131"));
        check("510131001001", Some(Village), Some("510131"));
        check("", None, None);
        check("5101x1", None, None);
        check("5101311", None, None);
        assert!(at_or_below("510131001", County) && !at_or_below("5101", County));
        assert!(strictly_within("510131", "5101") && !strictly_within("5101", "5101"));
        assert!(strictly_within("51", "") && !strictly_within("5101", "510131"));
    }

    use super::*;

    #[test]
    fn embedded_table_has_sichuan_divisions() {
        let db = regions();
        assert_eq!(db.count(RegionLevel::Province), 1);
        assert_eq!(db.count(RegionLevel::City), 21);
        assert_eq!(db.count(RegionLevel::County), 183);
        assert_eq!(db.count(RegionLevel::Town), 3111);
        assert_eq!(db.get("5101").map(|r| r.name.as_str()), Some("成都市"));
        assert!(db.children("510104").iter().any(|t| t.name == "锦官驿街道"));
        assert_eq!(db.path_name("510104017001"), "成都市 锦江区 锦官驿街道");
    }

    #[test]
    fn codes_are_validated() {
        fn check(code: &str, expected: Result<RegionLevel, ()>) {
            assert_eq!(RegionCode::parse(code).map(|c| c.level()).map_err(|_| ()), expected, "{code}");
        }
        check("51", Ok(RegionLevel::Province));
        check("510104", Ok(RegionLevel::County));
        check("510104017", Ok(RegionLevel::Town));
        check("510104017123", Ok(RegionLevel::Village));
        check("510104999123", Err(()));
        check("11", Err(()));
        check("5101a4", Err(()));
        check("51010", Err(()));
        let county = RegionCode::parse("510104").unwrap();
        assert!(county.contains(&RegionCode::parse("510104017123").unwrap()));
        assert!(!county.contains(&RegionCode::parse("510105").unwrap()));
    }
}
