//! Region names as people write them in a spreadsheet ("成都市/锦江区", "成都市 锦江区
//! 锦官驿街道", "乐山市市中区", "锦江区") resolved to region codes through
//! [`yizhan_core::regions()`].
//!
//! The written names are a top-down chain: the last one names the region, the ones before it
//! name some of its ancestors, in order (levels may be skipped: "成都市/锦官驿街道"). A leading
//! "四川省" is optional. Names may be run together without separators. A name matches a
//! division's full name; only if nothing matches that way is the name also tried without its
//! level suffix ("成都" for "成都市"). Reference data lists divisions down to towns, so a
//! village is given by its code, not by name.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use yizhan_core::regions;

const PROVINCE: &str = "51";
/// Separators between names in a path.
const SEPARATORS: [char; 9] = ['/', '／', '\\', '>', '＞', '|', '、', ',', '，'];
/// Level suffixes that people leave out, longest first.
const SUFFIXES: [&str; 6] = ["街道", "市", "区", "县", "镇", "乡"];
/// Bounds on the search through run-together names (each is far above real use).
const SPLITS_MAX: usize = 16;
const SEGMENTS_MAX: usize = 8;
const NAME_CHARS_MAX: usize = 24;

struct Index {
    /// Full name -> codes (a name such as "城关镇" or "市中区" names several divisions).
    full: HashMap<&'static str, Vec<&'static str>>,
    /// Name without its level suffix -> codes.
    short: HashMap<String, Vec<&'static str>>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let db = regions();
    let mut index = Index { full: HashMap::new(), short: HashMap::new() };
    let mut stack = vec![PROVINCE];
    while let Some(code) = stack.pop() {
        for child in db.children(code) {
            index.full.entry(child.name.as_str()).or_default().push(child.code.as_str());
            if let Some(short) = short_name(&child.name) {
                index.short.entry(short.to_string()).or_default().push(child.code.as_str());
            }
            stack.push(child.code.as_str());
        }
    }
    index
});

fn short_name(name: &str) -> Option<&str> {
    SUFFIXES.iter().find_map(|s| name.strip_suffix(s)).filter(|short| short.chars().count() >= 2)
}

fn name_of(code: &str) -> &'static str {
    regions().get(code).map_or("", |r| r.name.as_str())
}

/// What a written path resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    One(String),
    None,
    /// Several divisions fit; their codes in code order.
    Many(Vec<String>),
}

pub fn resolve(path: &str) -> Resolved {
    let mut segments: Vec<&str> = path
        .split(|c: char| c.is_whitespace() || SEPARATORS.contains(&c))
        .filter(|s| !s.is_empty())
        .collect();
    if segments.len() > SEGMENTS_MAX {
        return Resolved::None;
    }
    // The province is implied; alone, it names the province.
    if let Some(first) = segments.first_mut() {
        for prefix in ["四川省", "四川"] {
            if let Some(rest) = first.strip_prefix(prefix) {
                *first = rest;
                break;
            }
        }
    }
    segments.retain(|s| !s.is_empty());
    if segments.is_empty() {
        return if path.contains("四川") { Resolved::One(PROVINCE.into()) } else { Resolved::None };
    }
    for short in [false, true] {
        let found = candidates(&segments, short);
        match found.len() {
            0 => continue,
            1 => return found.into_iter().next().map_or(Resolved::None, Resolved::One),
            _ => return Resolved::Many(found.into_iter().collect()),
        }
    }
    Resolved::None
}

/// Codes that fit the segments, each of which may be several names run together.
fn candidates(segments: &[&str], short: bool) -> BTreeSet<String> {
    let mut chains: Vec<Vec<String>> = vec![Vec::new()];
    for segment in segments {
        let splits = split_names(segment, short);
        if splits.is_empty() {
            return BTreeSet::new();
        }
        let mut next = Vec::new();
        for chain in &chains {
            for split in &splits {
                if next.len() >= SPLITS_MAX {
                    break;
                }
                let mut c = chain.clone();
                c.extend(split.iter().cloned());
                next.push(c);
            }
        }
        chains = next;
    }
    let mut found = BTreeSet::new();
    for chain in chains {
        found.extend(chain_matches(&chain, short));
    }
    found
}

fn codes_named(name: &str, short: bool) -> Vec<&'static str> {
    let index = &*INDEX;
    let mut codes: Vec<&'static str> = index.full.get(name).cloned().unwrap_or_default();
    if short && let Some(more) = index.short.get(name) {
        codes.extend(more.iter().copied());
    }
    codes
}

fn name_matches(code: &str, name: &str, short: bool) -> bool {
    let full = name_of(code);
    full == name || (short && short_name(full) == Some(name))
}

/// A segment as one name or as several known names run together ("成都市锦江区").
fn split_names(segment: &str, short: bool) -> Vec<Vec<String>> {
    if !codes_named(segment, short).is_empty() {
        return vec![vec![segment.to_string()]];
    }
    let chars: Vec<char> = segment.chars().collect();
    let mut out = Vec::new();
    let mut current = Vec::new();
    split_from(&chars, 0, short, &mut current, &mut out);
    out
}

fn split_from(chars: &[char], at: usize, short: bool, current: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let names_left = SEGMENTS_MAX.saturating_sub(current.len());
    if out.len() >= SPLITS_MAX || (chars.len() - at) > names_left * NAME_CHARS_MAX {
        return;
    }
    if at == chars.len() {
        if !current.is_empty() {
            out.push(current.clone());
        }
        return;
    }
    let longest = NAME_CHARS_MAX.min(chars.len() - at);
    for len in 2..=longest {
        let name: String = chars[at..at + len].iter().collect();
        if !codes_named(&name, short).is_empty() {
            current.push(name);
            split_from(chars, at + len, short, current, out);
            current.pop();
        }
    }
}

/// Divisions named by the chain's last name whose ancestors carry the earlier names, in order.
fn chain_matches(chain: &[String], short: bool) -> Vec<String> {
    let Some((last, above)) = chain.split_last() else { return Vec::new() };
    codes_named(last, short)
        .into_iter()
        .filter(|code| {
            // Ancestors top-down: city, county, town (those above the code itself).
            use yizhan_core::RegionLevel::{City, County, Town};
            let ancestors: Vec<&str> = [City, County, Town]
                .into_iter()
                .filter(|l| yizhan_core::RegionLevel::of(code).is_some_and(|own| *l < own))
                .filter_map(|l| yizhan_core::region::ancestor_at(code, l))
                .collect();
            let mut next = 0;
            above.iter().all(|name| {
                while let Some(a) = ancestors.get(next) {
                    next += 1;
                    if name_matches(a, name, short) {
                        return true;
                    }
                }
                false
            })
        })
        .map(str::to_string)
        .collect()
}

/// A division's name as shown to people: the path from the city down ("成都市 锦江区"),
/// the province's own name, or the code itself when it is unknown.
pub fn region_label(code: &str) -> String {
    let path = regions().path_name(code);
    if !path.is_empty() {
        return path;
    }
    match regions().get(code) {
        Some(r) => r.name.clone(),
        None => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(code: &str) -> Resolved {
        Resolved::One(code.into())
    }

    #[test]
    fn paths_resolve() {
        assert_eq!(resolve("成都市/锦江区"), one("510104"));
        assert_eq!(resolve("成都市 锦江区 锦官驿街道"), one("510104017"));
        assert_eq!(resolve("四川省/成都市/锦江区"), one("510104"));
        assert_eq!(resolve("四川省成都市锦江区"), one("510104"));
        assert_eq!(resolve("成都市锦江区"), one("510104"));
        assert_eq!(resolve("锦江区"), one("510104"));
        assert_eq!(resolve("成都市／锦官驿街道"), one("510104017"));
        assert_eq!(resolve("成都/锦江"), one("510104"));
        assert_eq!(resolve("成都市"), one("5101"));
        assert_eq!(resolve("四川省"), one("51"));
        assert_eq!(resolve("乐山市/市中区"), one("511102"));
        assert_eq!(resolve("内江市市中区"), one("511002"));
    }

    #[test]
    fn ambiguous_and_unknown_paths() {
        match resolve("市中区") {
            Resolved::Many(codes) => assert_eq!(codes, ["511002", "511102"]),
            other => panic!("{other:?}"),
        }
        assert_eq!(resolve("锦江区/成都市"), Resolved::None, "the order is top-down");
        assert_eq!(resolve("北京市/朝阳区"), Resolved::None);
        assert_eq!(resolve(""), Resolved::None);
        assert_eq!(resolve("/ /"), Resolved::None);
        assert_eq!(resolve(&"成都市/".repeat(20)), Resolved::None);
        assert_eq!(resolve(&"成都市".repeat(50)), Resolved::None);
    }

    #[test]
    fn labels() {
        assert_eq!(region_label("510104"), "成都市 锦江区");
        assert_eq!(region_label("51"), "四川省");
        assert_eq!(region_label("510104017123"), "成都市 锦江区 锦官驿街道");
        assert_eq!(region_label("999"), "999");
    }
}
