//! The agricultural vocabulary shipped in `assets/vocab/` and the one jieba instance that knows it.
//!
//! The files are compiled into the binary (`include_str!`) so a kiosk can never run with a
//! vocabulary that differs from the one its index was built with; see `assets/vocab/README.md`
//! for the format.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use jieba_rs::Jieba;

const CROPS: &str = include_str!("../../assets/vocab/crops.txt");
const PESTS: &str = include_str!("../../assets/vocab/pests.txt");
const DISEASES: &str = include_str!("../../assets/vocab/diseases.txt");
const CHEMICALS: &str = include_str!("../../assets/vocab/chemicals.txt");
const SYMPTOMS: &str = include_str!("../../assets/vocab/symptoms.txt");
const SYNONYMS: &str = include_str!("../../assets/vocab/synonyms.txt");
const PERIODS: &str = include_str!("../../assets/vocab/periods.txt");
const STAGES: &str = include_str!("../../assets/vocab/stages.txt");
const STOPWORDS: &str = include_str!("../../assets/vocab/stopwords.txt");

/// Problem names that only say "a pest" or "a disease": they name no particular problem, so they
/// must neither match nor contradict a particular one.
const GENERIC_PROBLEMS: &[&str] = &[
    "害虫",
    "虫害",
    "病虫害",
    "病害",
    "虫子",
    "虫",
    "病",
    "真菌病害",
    "细菌病害",
    "生理病害",
    "地下害虫",
    "蛀干害虫",
    "仓储害虫",
    "寄生虫病",
    "病毒病",
];

/// A crop (or animal) as the vocabulary knows it.
#[derive(Debug, Clone)]
pub(crate) struct CropInfo {
    pub canonical: String,
    /// Industry code (`fruit`, `pig`, ...), `None` for crops outside the "10+3" list.
    pub industry: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Lexicon {
    pub crops: HashMap<String, CropInfo>,
    /// Pest and disease names: both are "the problem" a farmer asks about.
    pub problems: HashSet<String>,
    pub generic_problems: HashSet<&'static str>,
    /// variant -> canonical (synonyms and growth stages).
    pub fold: HashMap<String, String>,
    /// The canonical forms of `fold`.
    pub fold_targets: HashSet<String>,
    /// period word -> month mask (bit 0 = January).
    pub periods: HashMap<String, u16>,
    pub stopwords: HashSet<String>,
    /// Every multi-character term, to be added to jieba.
    pub terms: Vec<String>,
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty())
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    lines(text).flat_map(str::split_whitespace)
}

/// Parses `3-5`, `12-2`, `9`, `3,4` into a month mask; `None` when malformed.
pub(crate) fn parse_months(spec: &str) -> Option<u16> {
    let mut mask = 0u16;
    for part in spec.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?),
            None => {
                let m = part.trim().parse::<u8>().ok()?;
                (m, m)
            }
        };
        mask |= month_range(a, b)?;
    }
    Some(mask)
}

/// Months `a..=b`, wrapping over the new year when `a > b` (`11-2` = Nov, Dec, Jan, Feb).
pub(crate) fn month_range(a: u8, b: u8) -> Option<u16> {
    if !(1..=12).contains(&a) || !(1..=12).contains(&b) {
        return None;
    }
    let mut mask = 0u16;
    let mut m = a;
    loop {
        mask |= 1 << (m - 1);
        if m == b {
            break;
        }
        m = if m == 12 { 1 } else { m + 1 };
    }
    Some(mask)
}

impl Lexicon {
    fn load() -> Lexicon {
        let mut lex =
            Lexicon { generic_problems: GENERIC_PROBLEMS.iter().copied().collect(), ..Default::default() };
        let mut industry: Option<String> = None;
        for line in lines(CROPS) {
            if let Some(code) = line.strip_prefix('@') {
                industry = (code != "none").then(|| code.to_owned());
                continue;
            }
            for item in line.split_whitespace() {
                let (term, canonical) = item.split_once('=').unwrap_or((item, item));
                lex.crops.insert(
                    term.to_owned(),
                    CropInfo { canonical: canonical.to_owned(), industry: industry.clone() },
                );
                lex.terms.push(term.to_owned());
            }
        }
        for w in words(PESTS).chain(words(DISEASES)) {
            lex.problems.insert(w.to_owned());
            lex.terms.push(w.to_owned());
        }
        for w in words(CHEMICALS).chain(words(SYMPTOMS)) {
            lex.terms.push(w.to_owned());
        }
        for line in lines(SYNONYMS).chain(lines(STAGES)) {
            let mut it = line.split_whitespace();
            if let Some(canonical) = it.next() {
                lex.terms.push(canonical.to_owned());
                lex.fold_targets.insert(canonical.to_owned());
                for v in it {
                    lex.fold.insert(v.to_owned(), canonical.to_owned());
                    lex.terms.push(v.to_owned());
                }
            }
        }
        for line in lines(PERIODS) {
            let mut it = line.split_whitespace();
            if let (Some(term), Some(spec)) = (it.next(), it.next())
                && let Some(mask) = parse_months(spec)
            {
                lex.periods.insert(term.to_owned(), mask);
                lex.terms.push(term.to_owned());
            }
        }
        lex.stopwords = words(STOPWORDS).map(str::to_owned).collect();
        lex.terms.retain(|t| t.chars().count() >= 2);
        lex.terms.sort();
        lex.terms.dedup();
        lex
    }
}

pub(crate) static LEXICON: LazyLock<Lexicon> = LazyLock::new(Lexicon::load);

/// The one jieba instance of the process: loading its dictionary costs ~0.4 s and several MB,
/// so it is built once, with the agricultural terms added so names segment as one word.
pub(crate) static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    let mut jieba = Jieba::new();
    for term in &LEXICON.terms {
        // `None` lets jieba pick a frequency just high enough for the term to win over its parts.
        jieba.add_word(term, None, None);
    }
    jieba
});

/// Number of distinct terms in the shipped vocabulary (reported by the evaluation).
pub fn vocabulary_size() -> usize {
    LEXICON.terms.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_wrap_over_new_year() {
        assert_eq!(parse_months("12-2"), Some(0b1000_0000_0011));
        assert_eq!(parse_months("3-5"), Some(0b1_1100));
        assert_eq!(parse_months("3,9"), Some(0b1_0000_0100));
        assert_eq!(parse_months("13"), None);
    }

    #[test]
    fn vocabulary_loads() {
        let lex = &*LEXICON;
        assert!(lex.problems.contains("稻瘟病"));
        assert_eq!(lex.crops.get("土豆").map(|c| c.canonical.as_str()), Some("马铃薯"));
        assert_eq!(lex.fold.get("防控").map(String::as_str), Some("防治"));
        assert_eq!(lex.periods.get("深冬"), Some(&1));
        assert!(vocabulary_size() > 1500, "{}", vocabulary_size());
    }
}
