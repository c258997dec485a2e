//! The sensitive-word list (安全熔断, automatic part): one document kept by the province
//! (`sensitive-words`, flowing down to every hub and kiosk), holding the words and the
//! per-account submission limits; and the matcher every node runs on an item's text at
//! submission.
//!
//! What is normalised before matching, in both the words and the text: Unicode NFKC (full-width
//! letters, digits and punctuation become their ordinary forms, compatibility ideographs their
//! unified ones), lower case, and every character that is not a letter or digit is removed
//! (spaces, punctuation, symbols, control characters), so "法 轮", "法.轮" and "法＊轮" all match
//! "法轮". A word that normalises to nothing is refused. Matching is Aho-Corasick over the
//! normalised words (overlapping, so every word present is reported once). Known limits:
//! traditional/simplified variants, homophones and characters split into components are not
//! folded; removing spaces can join two words ("示例 词" matches "示例词").

use std::collections::BTreeSet;

use aho_corasick::{AhoCorasick, MatchKind};
use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};
use unicode_normalization::UnicodeNormalization;

pub const DOC_TYPE: &str = "sensitive_words";
/// The one document's id.
pub const DOC_ID: &str = "sensitive-words";
/// Words in the list at most.
pub const WORDS_MAX: usize = 10_000;
/// Characters in one word at most.
pub const WORD_CHARS_MAX: usize = 64;
/// A per-account submission limit lies within 1..=LIMIT_MAX.
pub const LIMIT_MAX: u64 = 10_000;
/// Submissions by one account within an hour before its breaker trips (until the province sets
/// its own).
pub const DEFAULT_PER_HOUR: u64 = 20;
/// Submissions by one account within a day before its breaker trips.
pub const DEFAULT_PER_DAY: u64 = 100;

/// The list and the limits, as the province keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct SensitiveWords {
    pub doc_type: String,
    pub id: String,
    /// Always the province (`51`): the document flows down from it only.
    pub region_code: String,
    pub words: Vec<String>,
    pub per_hour: u64,
    pub per_day: u64,
    pub updated_at_ms: i64,
    pub updated_by: String,
}

impl SensitiveWords {
    /// A list from words as typed or uploaded (one per line or separated by commas), trimmed,
    /// without duplicates; refused with a Chinese message when a bound is broken.
    pub fn new(
        region_code: &str,
        text: &str,
        per_hour: u64,
        per_day: u64,
        at_ms: i64,
        by: &str,
    ) -> Result<SensitiveWords, String> {
        let mut seen = BTreeSet::new();
        let mut words = Vec::new();
        for w in text.split(['\n', '\r', ',', '，', '、', ';', '；', '\t']) {
            let w = w.trim();
            if w.is_empty() {
                continue;
            }
            if seen.insert(normalise(w)) {
                words.push(w.to_string());
            }
        }
        let s = SensitiveWords {
            doc_type: DOC_TYPE.into(),
            id: DOC_ID.into(),
            region_code: region_code.into(),
            words,
            per_hour,
            per_day,
            updated_at_ms: at_ms,
            updated_by: by.into(),
        };
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.doc_type != DOC_TYPE || self.id != DOC_ID {
            return Err("不是敏感词表".into());
        }
        crate::RegionCode::parse(&self.region_code).map_err(|e| e.to_string())?;
        if self.words.len() > WORDS_MAX {
            return Err(format!("敏感词不能超过 {WORDS_MAX} 个（现有 {} 个）", self.words.len()));
        }
        for w in &self.words {
            if w.chars().count() > WORD_CHARS_MAX {
                return Err(format!(
                    "敏感词“{}…”超过 {WORD_CHARS_MAX} 个字",
                    w.chars().take(10).collect::<String>()
                ));
            }
            if normalise(w).is_empty() {
                return Err(format!("“{w}”只有空格或标点，不能作为敏感词"));
            }
        }
        for (name, v) in [("每小时", self.per_hour), ("每天", self.per_day)] {
            if v == 0 || v > LIMIT_MAX {
                return Err(format!("{name}提交上限应在 1 到 {LIMIT_MAX} 之间"));
            }
        }
        if self.updated_by.chars().count() > crate::item::NAME_CHARS_MAX {
            return Err("updated_by too long".into());
        }
        Ok(())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, String> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| e.to_string())?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<SensitiveWords, String> {
        let s: SensitiveWords = hydrate(doc).map_err(|e| e.to_string())?;
        s.validate()?;
        Ok(s)
    }

    /// Replaces the content of an existing document.
    pub fn update(doc: &mut AutoCommit, new: &SensitiveWords) -> Result<(), String> {
        new.validate()?;
        reconcile(doc, new).map_err(|e| e.to_string())
    }

    pub fn matcher(&self) -> Matcher {
        Matcher::new(&self.words)
    }
}

/// The text as matched: NFKC, lower case, letters and digits only.
pub fn normalise(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).filter(|c| c.is_alphanumeric()).collect()
}

/// Finds the list's words in texts.
pub struct Matcher {
    automaton: Option<AhoCorasick>,
    /// The word as listed, by pattern index.
    words: Vec<String>,
}

impl Matcher {
    pub fn new(words: &[String]) -> Matcher {
        let pairs: Vec<(String, String)> =
            words.iter().map(|w| (normalise(w), w.clone())).filter(|(n, _)| !n.is_empty()).collect();
        let automaton = if pairs.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(pairs.iter().map(|(n, _)| n.as_str()))
                .ok()
        };
        Matcher { automaton, words: pairs.into_iter().map(|(_, w)| w).collect() }
    }

    /// The listed words found in `texts` (each once, in list order).
    pub fn find<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let Some(ac) = &self.automaton else { return Vec::new() };
        let mut hit = BTreeSet::new();
        for t in texts {
            for m in ac.find_overlapping_iter(&normalise(t)) {
                hit.insert(m.pattern().as_usize());
            }
        }
        hit.into_iter().filter_map(|i| self.words.get(i).cloned()).collect()
    }

    /// The words found in every text field of an item (title, body, the kind's fields, the IP
    /// owner).
    pub fn find_in_item(&self, item: &crate::item::ItemDoc) -> Vec<String> {
        let texts = [item.title.as_str(), item.body.as_str(), item.ip_owner.as_str()]
            .into_iter()
            .chain(item.fields.values().map(String::as_str));
        self.find(texts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Data-driven: (words, text, expected hits).
    const CASES: &[(&[&str], &str, &[&str])] = &[
        (&["违禁词示例"], "这里有违禁词示例一条", &["违禁词示例"]),
        (&["违禁词示例"], "这里有违禁 词示例", &["违禁词示例"]),
        (&["违禁词示例"], "违·禁·词·示·例", &["违禁词示例"]),
        (&["违禁词示例"], "违禁\n词示例", &["违禁词示例"]),
        (&["违禁词示例"], "违禁　词示例（全角空格）", &["违禁词示例"]),
        (&["假种子"], "本社不卖假＊种＊子", &["假种子"]),
        (&["假种子", "种子"], "假种子", &["假种子", "种子"]),
        (&["ABC"], "全角ＡＢＣ字母", &["ABC"]),
        (&["abc"], "大写 A-B-C", &["abc"]),
        (&["假种子"], "优质种子，假一赔十", &[]),
        (&["违禁词示例"], "违禁的词和示例", &[]),
        (&[], "任何文字", &[]),
    ];

    #[test]
    fn matching_is_on_normalised_text() {
        for (words, text, expected) in CASES {
            let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            let found = Matcher::new(&words).find([*text]);
            assert_eq!(
                found,
                expected.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
                "{words:?} in {text:?}"
            );
        }
    }

    #[test]
    fn lists_are_bounded_and_deduplicated() {
        let s = SensitiveWords::new("51", "违禁词示例\n假种子，违禁 词示例\n\n", 5, 50, 1, "admin").unwrap();
        assert_eq!(s.words, vec!["违禁词示例", "假种子"]);
        let doc = s.to_doc().unwrap();
        assert_eq!(SensitiveWords::from_doc(&doc).unwrap(), s);
        let long = "字".repeat(WORD_CHARS_MAX + 1);
        assert!(SensitiveWords::new("51", &long, 5, 50, 1, "a").is_err());
        assert!(
            SensitiveWords::new("51", "，、\n；", 5, 50, 1, "a").unwrap().words.is_empty(),
            "separators only"
        );
        assert!(SensitiveWords::new("51", "。！", 5, 50, 1, "a").is_err(), "punctuation only");
        assert!(SensitiveWords::new("51", "“”", 5, 50, 1, "a").is_err(), "punctuation only");
        let many: String = (0..=WORDS_MAX).map(|i| format!("词{i}\n")).collect();
        assert!(SensitiveWords::new("51", &many, 5, 50, 1, "a").is_err());
        assert!(SensitiveWords::new("51", "a", 0, 50, 1, "a").is_err());
        assert!(SensitiveWords::new("51", "a", 5, LIMIT_MAX + 1, 1, "a").is_err());
    }
}
