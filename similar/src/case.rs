//! Knowledge cases: what a solved consultation becomes once the farmer's personal data is gone.

use serde::{Deserialize, Serialize};

use crate::error::CaseError;

/// Replacement for a scrubbed number: says something was there, never what.
pub const SCRUBBED_NUMBER: &str = "[号码已删除]";
/// Replacement for the farmer's name where the text repeats it.
pub const SCRUBBED_NAME: &str = "[姓名已删除]";

/// Limits on one case: a knowledge document is a question and an answer, not a file store.
pub const ID_BYTES_MAX: usize = 128;
pub const QUESTION_CHARS_MAX: usize = 4_000;
pub const ANSWER_CHARS_MAX: usize = 20_000;
pub const SHORT_FIELD_CHARS_MAX: usize = 64;
/// Photo hashes per case: 16 photos of [`crate::phash::CROP_FRACTIONS`]`.len()` hashes each.
pub const PHOTO_HASHES_PER_CASE_MAX: usize = 64;

/// A published knowledge document: one solved case, with no personal data in it.
///
/// Built with [`KnowledgeCase::from_solved`] (which scrubs) or deserialised from a knowledge
/// file (which [`KnowledgeCase::validate`] checks and the index scrubs again on insert).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeCase {
    pub id: String,
    pub question: String,
    pub answer: String,
    /// Industry code (`fruit`, `pig`, ... see `yizhan_core::industry`); empty when unknown.
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub crop: String,
    /// Period code given by the source (an opaque small integer: equal codes, same period).
    #[serde(default)]
    pub season: Option<u8>,
    /// Region code of the kiosk or hub where it was solved (51, 5101, 510104, ...).
    #[serde(default)]
    pub region_code: String,
    /// Where the knowledge came from (`case`, `expert`, an import file name ...).
    #[serde(default)]
    pub source: String,
    /// 64-bit perceptual hashes of the case's photos: [`crate::phash::photo_hashes`] of each.
    #[serde(default)]
    pub photo_hashes: Vec<u64>,
}

/// The fields of a solved consultation that the knowledge base may be built from. It carries
/// the farmer's name and phone only so they can be removed from the text: they are never copied.
#[derive(Clone, Default)]
pub struct SolvedCaseFields<'a> {
    pub id: &'a str,
    pub question: &'a str,
    pub answer: &'a str,
    pub industry: &'a str,
    pub crop: &'a str,
    pub season: Option<u8>,
    pub region_code: &'a str,
    pub source: &'a str,
    pub photo_hashes: &'a [u64],
    pub farmer_name: &'a str,
    pub farmer_phone: &'a str,
}

impl std::fmt::Debug for SolvedCaseFields<'_> {
    // Never print the farmer's data, even in a debug log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SolvedCaseFields").field("id", &self.id).finish_non_exhaustive()
    }
}

impl KnowledgeCase {
    /// Builds the knowledge document of a solved case: the farmer's name and phone are not
    /// copied, and phone numbers, ID-card and bank-card numbers (and the farmer's name, where
    /// the text repeats it) are removed from the question and the answer.
    pub fn from_solved(f: &SolvedCaseFields<'_>) -> Result<KnowledgeCase, CaseError> {
        let clean = |text: &str| {
            let mut t = scrub_personal_numbers(text);
            let name = f.farmer_name.trim();
            // One-character "names" would erase ordinary words; real names have two or more.
            if name.chars().count() >= 2 {
                t = t.replace(name, SCRUBBED_NAME);
            }
            let phone_digits: String = f.farmer_phone.chars().filter(char::is_ascii_digit).collect();
            if phone_digits.len() >= 7 {
                t = t.replace(&phone_digits, SCRUBBED_NUMBER);
            }
            t
        };
        let case = KnowledgeCase {
            id: f.id.trim().to_owned(),
            question: clean(f.question),
            answer: clean(f.answer),
            industry: f.industry.trim().to_owned(),
            crop: f.crop.trim().to_owned(),
            season: f.season,
            region_code: f.region_code.trim().to_owned(),
            source: f.source.trim().to_owned(),
            photo_hashes: f.photo_hashes.to_vec(),
        };
        case.validate()?;
        Ok(case)
    }

    /// Checks the limits; an index refuses cases that break them.
    pub fn validate(&self) -> Result<(), CaseError> {
        if self.id.is_empty() || self.id.len() > ID_BYTES_MAX {
            return Err(CaseError::BadId { max_bytes: ID_BYTES_MAX });
        }
        let long = |field: &'static str, v: &str, max: usize| {
            if v.chars().count() > max { Err(CaseError::TooLong { field, max_chars: max }) } else { Ok(()) }
        };
        long("question", &self.question, QUESTION_CHARS_MAX)?;
        long("answer", &self.answer, ANSWER_CHARS_MAX)?;
        long("industry", &self.industry, SHORT_FIELD_CHARS_MAX)?;
        long("crop", &self.crop, SHORT_FIELD_CHARS_MAX)?;
        long("region_code", &self.region_code, SHORT_FIELD_CHARS_MAX)?;
        long("source", &self.source, SHORT_FIELD_CHARS_MAX)?;
        if self.question.trim().is_empty() || self.answer.trim().is_empty() {
            return Err(CaseError::Empty);
        }
        if self.photo_hashes.len() > PHOTO_HASHES_PER_CASE_MAX {
            return Err(CaseError::TooManyPhotos { max: PHOTO_HASHES_PER_CASE_MAX });
        }
        Ok(())
    }

    /// The same case with personal numbers scrubbed from its texts (idempotent).
    pub(crate) fn scrubbed(mut self) -> KnowledgeCase {
        self.question = scrub_personal_numbers(&self.question);
        self.answer = scrub_personal_numbers(&self.answer);
        self
    }
}

fn ascii_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
        _ => None,
    }
}

/// Replaces personal numbers in free text with [`SCRUBBED_NUMBER`]:
/// - mobile phones: 11 digits starting 13-19 (also written `138 1234 5678`, `+86 ...`);
/// - landlines: an area code starting with 0 and 7-8 digits (`028-85551234`, `(028)85551234`);
/// - ID-card numbers: 17 digits and a check digit or X;
/// - bank-card numbers: 16 to 19 digits, also in groups of four.
///
/// A "number" is a run of digits that may contain single spaces or hyphens between digits, so
/// written-out groups are caught; dosages like `1 000倍液` or `50%` are too short to match.
pub fn scrub_personal_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_number = ascii_digit(chars[i]).is_some()
            || (matches!(chars[i], '(' | '（')
                && chars.get(i + 1).copied().and_then(ascii_digit) == Some('0'));
        if !starts_number {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Collect a digit run with single separators between digits.
        let mut digits = String::new();
        let mut j = i;
        let mut end = i;
        while j < chars.len() {
            let c = chars[j];
            if let Some(d) = ascii_digit(c) {
                digits.push(d);
                j += 1;
                end = j;
            } else if matches!(c, 'x' | 'X') && digits.len() == 17 {
                digits.push('X');
                j += 1;
                end = j;
                break;
            } else if matches!(c, ' ' | '-' | '－' | '(' | ')' | '（' | '）')
                && chars
                    .get(j + 1)
                    .is_some_and(|n| ascii_digit(*n).is_some() || matches!(n, '(' | ')' | '（' | '）'))
            {
                j += 1;
            } else {
                break;
            }
        }
        if is_personal_number(&digits) {
            // Keep a leading "+86"-style prefix out of the decision but inside the removal.
            out.push_str(SCRUBBED_NUMBER);
        } else {
            out.extend(&chars[i..end]);
        }
        i = end.max(i + 1);
    }
    out
}

fn is_personal_number(d: &str) -> bool {
    let n = d.len();
    let b = d.as_bytes();
    let mobile = |s: &[u8]| s.len() == 11 && s[0] == b'1' && (b'3'..=b'9').contains(&s[1]);
    if mobile(b) {
        return true;
    }
    // +86 / 0086 prefix before a mobile number.
    if (n == 13 && d.starts_with("86") && mobile(&b[2..]))
        || (n == 15 && d.starts_with("0086") && mobile(&b[4..]))
    {
        return true;
    }
    if n == 18 && d.ends_with('X') {
        return true;
    }
    if (16..=19).contains(&n) {
        return true; // ID card (18) or bank card (16-19)
    }
    // Landline: 0 + 2-3 digit area code + 7-8 digit number = 10 to 12 digits.
    if (10..=12).contains(&n) && b[0] == b'0' && b.get(1).is_some_and(|c| *c != b'0') {
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: &str) {
        assert_eq!(scrub_personal_numbers(input), want, "{input}");
    }

    #[test]
    fn numbers_are_scrubbed() {
        check("电话13812345678请回电", "电话[号码已删除]请回电");
        check("打 138 1234 5678", "打 [号码已删除]");
        check("+86 13812345678", "+[号码已删除]");
        check("座机028-85551234", "座机[号码已删除]");
        check("座机(028)85551234", "座机[号码已删除]");
        check("身份证51010419900101123X", "身份证[号码已删除]");
        check("身份证510104199001011234号", "身份证[号码已删除]号");
        check("卡号6222 0212 3456 7890 123", "卡号[号码已删除]");
        check("卡号6222021234567890", "卡号[号码已删除]");
        check("１３８１２３４５６７８", "[号码已删除]");
    }

    #[test]
    fn dosages_and_dates_stay() {
        for t in [
            "50%辛硫磷乳油1 000倍液",
            "每亩用40-60克",
            "2024年3月15日",
            "菌立灭3号800～1 200倍液",
            "4%农抗120水剂200倍液",
            "温度25-30度",
        ] {
            check(t, t);
        }
    }
}
