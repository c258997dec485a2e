//! Entity extraction (智能解析与语义分析): from a record's title, text and fields, the
//! regions (city, county and town names of the regions data), the 10+3 industries, crops and
//! species (the project's vocabulary, `assets/vocab/crops.txt`, through `yizhan-similar`'s
//! Chinese analysis, which folds local names to one crop and knows each crop's industry), and
//! enterprise and institution names (a name ending in 公司, 合作社, 研究所, 大学, 研究院,
//! 农业科学院 ...). Records sharing entities are linked ([`crate::catalogue`]).
//!
//! Pure and deterministic; the cost grows linearly with the text (names are looked up at every
//! position for every length up to the longest name, never scanned name by name).

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use yizhan_core::{Industry, RegionLevel, regions};

use crate::kinds;

/// Characters of text analysed per record at most (the rest is ignored for extraction).
pub const TEXT_CHARS_MAX: usize = 30_000;
/// Organisation names: at most this many characters, suffix included.
pub const ORG_CHARS_MAX: usize = 30;
/// Entities of one kind kept per record at most.
pub const ENTITIES_PER_KIND_MAX: usize = 40;

/// What one record is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entities {
    /// Region codes (cities, counties, towns named; and the record's own region).
    pub regions: BTreeSet<String>,
    /// 10+3 industry codes.
    pub industries: BTreeSet<String>,
    /// Canonical crop or species names (猕猴桃, 柑橘, 藏茶).
    pub crops: BTreeSet<String>,
    /// Enterprises (…公司, …合作社, …家庭农场, …集团).
    pub enterprises: BTreeSet<String>,
    /// Institutions (…大学, …研究所, …研究院, …农业科学院, …推广站, …协会 ...).
    pub institutions: BTreeSet<String>,
}

/// Name endings of enterprises, longest first.
const ENTERPRISE_SUFFIXES: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "专业合作社",
    "合作社",
    "家庭农场",
    "公司",
    "集团",
    "联合社",
];
/// Name endings of institutions, longest first.
const INSTITUTION_SUFFIXES: &[&str] = &[
    "农业科学院",
    "林业科学研究院",
    "科学院",
    "研究院",
    "研究所",
    "研究中心",
    "技术推广中心",
    "技术推广站",
    "推广站",
    "工作站",
    "试验站",
    "大学",
    "学院",
    "协会",
    "学会",
    "产业联盟",
    "科技特派团",
];
/// Words before a name that are not part of it (verbs, prepositions), cut from its front.
const LEADING_WORDS: &[&str] = &[
    "依托", "联合", "携手", "牵头", "引进", "引入", "成立", "组建", "创办", "注册", "支持", "指导", "邀请",
    "来自", "包括", "通过", "依靠", "带动", "其中", "以及", "并与", "与", "和", "及", "由", "在", "对", "向",
    "从", "据", "被", "等", "将", "把", "是", "的", "了", "如", "省内", "全省",
];
/// Characters that end a name when walking back from its suffix.
fn is_name_char(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '（' | '）' | '(' | ')') || c.is_ascii_alphanumeric()
}

/// A region name in the index: the codes it names, and whether it is the full name.
struct RegionIndex {
    names: HashMap<String, Vec<&'static str>>,
    chars_max: usize,
}

/// Suffixes left out in short forms of city and county names (雅安 for 雅安市), longest first.
const REGION_SUFFIXES: &[&str] = &[
    "藏族羌族自治州",
    "藏族自治州",
    "彝族自治州",
    "藏族自治县",
    "彝族自治县",
    "羌族自治县",
    "自治县",
    "市",
    "县",
    "区",
    "州",
];

static REGION_INDEX: LazyLock<RegionIndex> = LazyLock::new(|| {
    let mut names: HashMap<String, Vec<&'static str>> = HashMap::new();
    let mut add = |name: String, code: &'static str| {
        let codes = names.entry(name).or_default();
        if !codes.contains(&code) {
            codes.push(code);
        }
    };
    let r = regions();
    let mut stack: Vec<&'static str> = vec!["51"];
    while let Some(code) = stack.pop() {
        for child in r.children(code) {
            let (c, name) = (child.code.as_str(), child.name.as_str());
            stack.push(c);
            let level = RegionLevel::of(c);
            // Full names of three characters or more (two-character names such as 东区 or
            // 高县 are too often part of ordinary words).
            if name.chars().count() >= 3 {
                add(name.to_string(), c);
            }
            if matches!(level, Some(RegionLevel::City | RegionLevel::County)) {
                for suffix in REGION_SUFFIXES {
                    if let Some(short) = name.strip_suffix(suffix) {
                        if short.chars().count() >= 2 {
                            add(short.to_string(), c);
                        }
                        break;
                    }
                }
            }
        }
    }
    let chars_max = names.keys().map(|n| n.chars().count()).max().unwrap_or(0);
    RegionIndex { names, chars_max }
});

/// Region codes named in `text`: the longest name at each position; a name shared by several
/// divisions (城关镇) counts only for those within a region named unambiguously, or within
/// `context` (the record's own region).
pub fn regions_in(text: &str, context: Option<&str>) -> BTreeSet<String> {
    let index = &*REGION_INDEX;
    let chars: Vec<char> = text.chars().take(TEXT_CHARS_MAX).collect();
    let mut sure: BTreeSet<String> = BTreeSet::new();
    let mut ambiguous: Vec<&Vec<&'static str>> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let mut matched = 0;
        for len in (2..=index.chars_max.min(chars.len() - i)).rev() {
            let candidate: String = chars[i..i + len].iter().collect();
            if let Some(codes) = index.names.get(&candidate) {
                if codes.len() == 1 {
                    sure.insert(codes[0].to_string());
                } else {
                    ambiguous.push(codes);
                }
                matched = len;
                break;
            }
        }
        i += matched.max(1);
    }
    let within = |code: &str, outer: &str| code != outer && code.starts_with(outer);
    let mut out = sure.clone();
    for codes in ambiguous {
        for code in codes {
            if sure.iter().any(|s| within(code, s)) || context.is_some_and(|c| within(code, c) || code == &c)
            {
                out.insert(code.to_string());
            }
        }
    }
    out
}

/// Enterprise and institution names in `text`: at each name ending (…公司, …研究所), the run
/// of name characters before it, cut after the words that precede names (依托, 与, 由 ...). A
/// name ending that follows another closely, with no such word between (四川省农业科学院 +
/// 园艺研究所), continues the same name.
pub fn organisations_in(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let chars: Vec<char> = text.chars().take(TEXT_CHARS_MAX).collect();
    // (start, suffix start, end, is_enterprise)
    let mut spans: Vec<(usize, usize, usize, bool)> = Vec::new();
    let mut end = 0;
    while end < chars.len() {
        end += 1;
        let tail: String = chars[end.saturating_sub(8)..end].iter().collect();
        let found = ENTERPRISE_SUFFIXES
            .iter()
            .map(|s| (*s, true))
            .chain(INSTITUTION_SUFFIXES.iter().map(|s| (*s, false)))
            .filter(|(s, _)| tail.ends_with(s))
            .max_by_key(|(s, _)| s.chars().count());
        let Some((suffix, enterprise)) = found else { continue };
        // 有限公司 ends with 公司 too: a longer ending at the same place was taken already.
        let suffix_start = end - suffix.chars().count();
        if let Some(last) = spans.last_mut() {
            if last.2 > suffix_start {
                continue; // inside the last name's ending (农业科学院 then 科学院)
            }
            let gap: String = chars[last.2..suffix_start].iter().collect();
            let joined = gap.chars().all(is_name_char)
                && gap.chars().count() <= 8
                && !LEADING_WORDS.iter().any(|w| gap.contains(w));
            if joined {
                *last = (last.0, suffix_start, end, enterprise);
                continue;
            }
        }
        let floor = spans.last().map_or(0, |l| l.2);
        let mut start = suffix_start;
        while start > floor && is_name_char(chars[start - 1]) && end - (start - 1) <= ORG_CHARS_MAX {
            start -= 1;
        }
        spans.push((start, suffix_start, end, enterprise));
    }
    let mut enterprises = BTreeSet::new();
    let mut institutions = BTreeSet::new();
    for (start, suffix_start, end, enterprise) in spans {
        let raw: String = chars[start..end].iter().collect();
        let Some(name) = clean_name(&raw, end - suffix_start) else { continue };
        if enterprise {
            enterprises.insert(name);
        } else {
            institutions.insert(name);
        }
    }
    (enterprises, institutions)
}

/// Cuts the words before a name (依托, 与, 由 ...) and checks that what is left is a name: at
/// least two characters before its ending, not a generic phrase (该公司, 本合作社).
fn clean_name(raw: &str, suffix_chars: usize) -> Option<String> {
    let raw = raw.trim_start_matches(['（', '）', '(', ')']);
    let min_rest = suffix_chars + 2;
    let mut cut = 0;
    for w in LEADING_WORDS {
        for (pos, _) in raw.match_indices(w) {
            let after = pos + w.len();
            if after > cut && raw[after..].chars().count() >= min_rest {
                cut = after;
            }
        }
    }
    let mut name = &raw[cut..];
    // Words still in front (the name would have been too short without them) are not part of it.
    while let Some(w) = LEADING_WORDS.iter().find(|w| name.starts_with(**w)) {
        name = &name[w.len()..];
    }
    if name.chars().count() < min_rest || name.starts_with('该') || name.starts_with('本') {
        return None;
    }
    Some(name.to_string())
}

/// Industries named directly (川茶, 川果, 种业, 冷链 ...).
fn industries_named(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for i in Industry::ALL {
        let name = i.name_zh().split('(').next().unwrap_or_default();
        if text.contains(name) {
            out.insert(i.code().to_string());
        }
    }
    for (word, industry) in [
        ("种业", Industry::Seed),
        ("制种", Industry::Seed),
        ("农机", Industry::Equipment),
        ("农业装备", Industry::Equipment),
        ("冷链", Industry::DryingColdChain),
        ("烘干", Industry::DryingColdChain),
        ("生猪", Industry::Pig),
        ("中药材", Industry::MedicinalHerb),
        ("水产", Industry::Fish),
        ("酿酒", Industry::LiquorMaterial),
    ] {
        if text.contains(word) {
            out.insert(industry.code().to_string());
        }
    }
    out
}

fn cap(set: &mut BTreeSet<String>) {
    while set.len() > ENTITIES_PER_KIND_MAX {
        set.pop_last();
    }
}

/// Entities in free text (`context`: the record's own region code, which decides ambiguous
/// town names).
pub fn extract(text: &str, context: Option<&str>) -> Entities {
    let text: String = text.chars().take(TEXT_CHARS_MAX).collect();
    let analysis = yizhan_similar::analyze(&text);
    let (enterprises, institutions) = organisations_in(&text);
    let mut industries = industries_named(&text);
    industries.extend(analysis.industries.iter().cloned());
    let mut e = Entities {
        regions: regions_in(&text, context),
        industries,
        crops: analysis.crops.into_iter().collect(),
        enterprises,
        institutions,
    };
    for set in [&mut e.regions, &mut e.industries, &mut e.crops, &mut e.enterprises, &mut e.institutions] {
        cap(set);
    }
    e
}

/// A record's entities: what its text names, plus its structured fields (its region, its
/// industry, the crops, enterprises and institutions listed).
pub fn of_record(title: &str, body: &str, fields: &HashMap<String, String>) -> Entities {
    let get = |k: &str| fields.get(k).map_or("", String::as_str);
    let region = kinds::region(get(kinds::F_REGION));
    let text = format!(
        "{title}\n{body}\n{}\n{}\n{}",
        get(kinds::F_CROPS),
        get(kinds::F_ENTERPRISES),
        get(kinds::F_INSTITUTIONS)
    );
    let mut e = extract(&text, region.as_ref().map(|r| r.as_str()));
    if let Some(r) = &region
        && r.level() != RegionLevel::Province
    {
        e.regions.insert(r.to_string());
    }
    if let Some(i) = kinds::industry(get(kinds::F_INDUSTRY)) {
        e.industries.insert(i.code().to_string());
    }
    for name in kinds::names(get(kinds::F_CROPS)) {
        let crops = yizhan_similar::analyze(&name).crops;
        if crops.is_empty() {
            e.crops.insert(name);
        } else {
            e.crops.extend(crops);
        }
    }
    for name in kinds::names(get(kinds::F_ENTERPRISES)) {
        e.enterprises.insert(name);
    }
    for name in kinds::names(get(kinds::F_INSTITUTIONS)) {
        e.institutions.insert(name);
    }
    for set in [&mut e.regions, &mut e.industries, &mut e.crops, &mut e.enterprises, &mut e.institutions] {
        cap(set);
    }
    e
}
