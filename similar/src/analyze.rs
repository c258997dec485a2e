//! Chinese text analysis: normalisation, segmentation with the agricultural vocabulary,
//! synonym folding, character bigrams, entities (crop, pest/disease) and the period of the
//! year a text names.

use crate::vocab::{JIEBA, LEXICON, month_range};

/// Characters that end a pest or disease name (枯叶蛾, 根朽病, 梅瘤蚜 ...). Used to recognise
/// names the vocabulary does not list.
const PROBLEM_SUFFIXES: &[char] = &[
    '病', '虫', '蛾', '螟', '蚜', '螨', '虱', '蚧', '蝽', '蝇', '蛆', '蝗', '蜂', '蛉', '蝉', '象', '瘟',
    '蚊', '蝶', '蛄', '螬', '蜱', '螺', '蝓', '甲', '蓟', '蠹',
];

/// Endings that turn a crop into its plant or field (苹果树, 桃园, 茶苗).
const CROP_SUFFIXES: &[char] = &['树', '苗', '园', '棵', '株', '秧', '田'];

/// Longest pest or disease name we build from pieces; longer spans are sentences, not names.
const PROBLEM_CHARS_MAX: usize = 10;

/// What one text says, in the forms the index and the ranking use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    /// Content words after synonym folding, plus one season-concept token (`季:冬`) per period
    /// the text names.
    pub words: Vec<String>,
    /// Character bigrams over runs of content words: the backoff for names jieba splits badly.
    pub grams: Vec<String>,
    /// Canonical crops and animals (土豆 -> 马铃薯).
    pub crops: Vec<String>,
    /// Pest and disease names, generic words (害虫, 病害) excluded.
    pub problems: Vec<String>,
    /// The dekads (旬) of the year the text names, see [`periods_in`]; 0 when it names none.
    pub period: u64,
    /// Industries of the crops named (`fruit`, `pig`, ...).
    pub industries: Vec<String>,
}

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}')
}

/// Full-width ASCII to half-width, ideographic space to space, ASCII lower case: the same
/// question typed on different input methods must give the same tokens.
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            _ => c,
        })
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn chinese_digit(c: char) -> Option<u8> {
    Some(match c {
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        '十' => 10,
        _ => return None,
    })
}

/// Months named by one group of numerals before 月: `3`, `12`, `十一`, `三四` (= 3 and 4).
fn group_months(group: &[char]) -> Vec<u8> {
    if group.is_empty() {
        return Vec::new();
    }
    if group.iter().all(char::is_ascii_digit) {
        let n: u32 =
            group.iter().fold(0, |n, c| n.saturating_mul(10).saturating_add(c.to_digit(10).unwrap_or(0)));
        return if (1..=12).contains(&n) { vec![n as u8] } else { Vec::new() };
    }
    match group {
        ['正'] => return vec![2], // lunar first month falls in February
        ['腊'] => return vec![1], // lunar twelfth month falls in January
        ['十'] => return vec![10],
        ['十', d] => {
            return match chinese_digit(*d) {
                Some(n @ 1..=2) => vec![10 + n],
                _ => Vec::new(),
            };
        }
        _ => {}
    }
    // 三四月, 九十月: each numeral is a month of its own.
    let months: Vec<u8> = group.iter().filter_map(|c| chinese_digit(*c)).collect();
    if months.len() == group.len() { months } else { Vec::new() }
}

/// Dekads (旬, ten-day thirds of a month) of the year: bit `3 * (month - 1) + part`, part 0 =
/// 上旬, 1 = 中旬, 2 = 下旬. A period is a set of dekads, so 6月上旬 and 6月中旬 differ while 6月
/// overlaps both.
pub const DEKADS: u32 = 36;
const ALL_DEKADS: u64 = (1 << DEKADS) - 1;

/// All dekads of the months in a 12-bit month mask.
pub fn month_dekads(months: u16) -> u64 {
    (0..12).filter(|m| months & (1 << m) != 0).fold(0u64, |d, m| d | 0b111 << (3 * m))
}

/// Months touched by a dekad mask.
pub fn dekad_months(dekads: u64) -> u16 {
    (0..12).filter(|m| dekads & (0b111 << (3 * m)) != 0).fold(0u16, |a, m| a | 1 << m)
}

/// Dekads `a..=b` (0-based), wrapping over the new year.
fn dekad_range(a: u32, b: u32) -> u64 {
    let mut mask = 0u64;
    let mut d = a % DEKADS;
    for _ in 0..DEKADS {
        mask |= 1 << d;
        if d == b % DEKADS {
            break;
        }
        d = (d + 1) % DEKADS;
    }
    mask
}

fn is_connector(c: char) -> bool {
    matches!(c, '-' | '—' | '–' | '~' | '～' | '到' | '至')
}

/// The dekads a text names with numbers: `3月`, `三月份`, `3-4月`, `5、6月`, `九十月份`, `腊月`,
/// `6月上旬`, `8月中下旬`, `6月下旬至7月上旬`. Not `3个月` (a duration) nor `月季` (a rose).
pub fn periods_in(text: &str) -> u64 {
    let chars: Vec<char> = text.chars().collect();
    let mut mask = 0u64;
    // (first dekad, last dekad, index just after it) of the previous date, for "A至B" ranges.
    let mut prev_point: Option<(u32, u32, usize)> = None;
    for (i, &c) in chars.iter().enumerate() {
        if c != '月' || matches!(chars.get(i + 1), Some('季' | '亮' | '饼' | '光' | '球')) {
            continue;
        }
        // The run of numerals and separators right before 月, at most 12 characters.
        let mut start = i;
        while start > 0 && i - start < 12 {
            let p = chars[start - 1];
            if p.is_ascii_digit()
                || chinese_digit(p).is_some()
                || is_connector(p)
                || matches!(p, '正' | '腊' | '、' | ',' | '，' | '和' | '或' | ' ')
            {
                start -= 1;
            } else {
                break;
            }
        }
        let run = &chars[start..i];
        let mut months: u16 = 0;
        let mut seq: Vec<u8> = Vec::new();
        let mut range_pending = false;
        let mut group: Vec<char> = Vec::new();
        let mut flush = |group: &mut Vec<char>, range_pending: &mut bool, seq: &mut Vec<u8>| {
            for m in group_months(group) {
                match (*range_pending, seq.last()) {
                    (true, Some(&p)) => months |= month_range(p, m).unwrap_or(0),
                    _ => months |= 1 << (m - 1),
                }
                *range_pending = false;
                seq.push(m);
            }
            group.clear();
        };
        for &ch in run {
            if is_connector(ch) {
                flush(&mut group, &mut range_pending, &mut seq);
                range_pending = !seq.is_empty();
            } else if matches!(ch, '、' | ',' | '，' | '和' | '或' | ' ') {
                flush(&mut group, &mut range_pending, &mut seq);
                range_pending = false;
            } else {
                // An ASCII digit right after a Chinese numeral (or the reverse) starts a new group.
                if group.last().is_some_and(|l: &char| l.is_ascii_digit() != ch.is_ascii_digit()) {
                    flush(&mut group, &mut range_pending, &mut seq);
                }
                group.push(ch);
            }
        }
        flush(&mut group, &mut range_pending, &mut seq);
        let (Some(&first), Some(&last)) = (seq.first(), seq.last()) else { continue };
        // After 月: 份, then a dekad: 上旬 中旬 下旬 上中旬 中下旬 初 中 底 末.
        let mut j = i + 1;
        if chars.get(j) == Some(&'份') {
            j += 1;
        }
        let after: String = chars.iter().skip(j).take(3).collect();
        let (parts, used): (&[u32], usize) = if after.starts_with("上中旬") {
            (&[0, 1], 3)
        } else if after.starts_with("中下旬") {
            (&[1, 2], 3)
        } else if after.starts_with("上旬") || after.starts_with('初') {
            (&[0], if after.starts_with("上旬") { 2 } else { 1 })
        } else if after.starts_with("中旬") {
            (&[1], 2)
        } else if after.starts_with("下旬") {
            (&[2], 2)
        } else if after.starts_with('底') || after.starts_with('末') {
            (&[2], 1)
        } else if after.starts_with('中') {
            (&[1], 1)
        } else {
            (&[0, 1, 2], 0)
        };
        let first_d = 3 * u32::from(first - 1) + if seq.len() == 1 { parts[0] } else { 0 };
        let last_d = 3 * u32::from(last - 1) + parts[parts.len() - 1];
        let point = if seq.len() == 1 {
            parts.iter().fold(0u64, |d, p| d | 1 << (3 * u32::from(first - 1) + p))
        } else {
            // 3-4月上旬: from the start of March to the first dekad of April.
            (month_dekads(months) & !(0b111 << (3 * u32::from(last - 1))))
                | dekad_range(last_d - parts[parts.len() - 1], last_d)
        };
        mask |= point;
        // "6月下旬至7月上旬": a connector between two dates joins them into one range.
        if let Some((pf, _, pend)) = prev_point
            && run.iter().position(|c| !c.is_whitespace()).is_some_and(|k| is_connector(run[k]))
            && pend == start
        {
            mask |= dekad_range(pf, last_d);
        }
        prev_point = Some((first_d, last_d, j + used));
    }
    mask & ALL_DEKADS
}

/// Season concepts a period word stands for: the season named by its characters, else the
/// seasons holding most of its months.
fn season_concepts(word: &str, months: u16) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (ch, token) in [('春', "季:春"), ('夏', "季:夏"), ('秋', "季:秋"), ('冬', "季:冬")] {
        if word.contains(ch) {
            out.push(token);
        }
    }
    if !out.is_empty() {
        return out;
    }
    // Meteorological seasons: spring 3-5, summer 6-8, autumn 9-11, winter 12-2.
    let seasons = [
        ("季:春", 0b0000_0001_1100u16),
        ("季:夏", 0b0000_1110_0000),
        ("季:秋", 0b0111_0000_0000),
        ("季:冬", 0b1000_0000_0011),
    ];
    let counts: Vec<u32> = seasons.iter().map(|(_, m)| (m & months).count_ones()).collect();
    let best = counts.iter().copied().max().unwrap_or(0);
    if best == 0 {
        return out;
    }
    seasons.iter().zip(counts).filter(|(_, n)| *n == best).map(|((t, _), _)| *t).collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Punctuation, space, digits: ends a run of content words.
    Boundary,
    Stop,
    Content,
}

struct Tok<'a> {
    raw: &'a str,
    folded: String,
    kind: Kind,
}

fn crop_of(token: &str) -> Option<&'static crate::vocab::CropInfo> {
    if let Some(info) = LEXICON.crops.get(token) {
        return Some(info);
    }
    let mut chars = token.chars();
    let last = chars.next_back()?;
    let rest = chars.as_str();
    if CROP_SUFFIXES.contains(&last) && !rest.is_empty() { LEXICON.crops.get(rest) } else { None }
}

fn is_period(token: &str) -> bool {
    LEXICON.periods.contains_key(token)
}

/// A token that can be the front part of a pest or disease name (the 蓝目 of 蓝目天蛾).
fn name_part(t: &Tok<'_>) -> bool {
    t.kind == Kind::Content
        && t.raw.chars().all(is_cjk)
        && t.raw.chars().count() <= 3
        && crop_of(t.raw).is_none()
        && !is_period(t.raw)
        && !LEXICON.fold.contains_key(t.raw)
        && !LEXICON.fold_targets.contains(t.raw)
}

fn ends_with_problem_suffix(s: &str) -> bool {
    s.chars().next_back().is_some_and(|c| PROBLEM_SUFFIXES.contains(&c))
}

/// Analyses one text. Pure and deterministic; cost grows linearly with the text.
pub fn analyze(text: &str) -> Analysis {
    let norm = normalize(text);
    let mut out = Analysis { period: periods_in(&norm), ..Default::default() };
    let toks: Vec<Tok<'_>> = JIEBA
        .cut(&norm, true)
        .into_iter()
        .map(|t| {
            let raw = t.word;
            let folded = LEXICON.fold.get(raw).cloned().unwrap_or_else(|| raw.to_owned());
            let kind = if raw.chars().any(is_cjk) {
                if LEXICON.stopwords.contains(raw) || LEXICON.stopwords.contains(&folded) {
                    Kind::Stop
                } else {
                    Kind::Content
                }
            } else if raw.chars().any(|c| c.is_ascii_alphabetic()) {
                Kind::Content
            } else {
                Kind::Boundary
            };
            Tok { raw, folded, kind }
        })
        .collect();

    // Words, period concepts and crops.
    for t in &toks {
        if t.kind != Kind::Content {
            continue;
        }
        out.words.push(t.folded.clone());
        if let Some(&m) = LEXICON.periods.get(t.raw) {
            out.period |= month_dekads(m);
            for c in season_concepts(t.raw, m) {
                out.words.push(c.to_owned());
            }
        }
        if let Some(info) = crop_of(t.raw) {
            push_unique(&mut out.crops, &info.canonical);
            if let Some(ind) = &info.industry {
                push_unique(&mut out.industries, ind);
            }
        }
    }
    // Month numbers that no period word covered still give their season concept.
    let word_months: u16 = toks.iter().filter_map(|t| LEXICON.periods.get(t.raw)).fold(0, |a, m| a | m);
    let number_months = dekad_months(out.period) & !word_months;
    if number_months != 0 {
        for c in season_concepts("", number_months) {
            out.words.push(c.to_owned());
        }
    }

    // Bigrams over runs of content words (stop words and punctuation break a run).
    let mut run = String::new();
    let flush_run = |run: &mut String, grams: &mut Vec<String>| {
        let chars: Vec<char> = run.chars().collect();
        for w in chars.windows(2) {
            grams.push(w.iter().collect());
        }
        run.clear();
    };
    for t in &toks {
        if t.kind == Kind::Content && t.raw.chars().all(is_cjk) {
            run.push_str(t.raw);
        } else {
            flush_run(&mut run, &mut out.grams);
        }
    }
    flush_run(&mut run, &mut out.grams);

    // Pest and disease names: a listed name or a name-ending token, extended to the left over
    // name parts (李 in 李枯叶蛾 is a crop and stays out; 蓝目 in 蓝目天蛾 goes in).
    for (i, t) in toks.iter().enumerate() {
        if t.kind != Kind::Content {
            continue;
        }
        let listed = LEXICON.problems.contains(t.raw);
        let single_suffix = t.raw.chars().count() == 1 && ends_with_problem_suffix(t.raw);
        let unknown_name =
            t.raw.chars().count() >= 2 && ends_with_problem_suffix(t.raw) && !JIEBA.has_word(t.raw);
        if !(listed || single_suffix || unknown_name) {
            continue;
        }
        let mut start = i;
        let mut chars = t.raw.chars().count();
        while start > 0 && i - start < 3 {
            let p = &toks[start - 1];
            let n = p.raw.chars().count();
            if !name_part(p) || chars + n > PROBLEM_CHARS_MAX || LEXICON.problems.contains(p.raw) {
                break;
            }
            start -= 1;
            chars += n;
        }
        let name: String = toks[start..=i].iter().map(|t| t.raw).collect();
        if name.chars().count() < 2 || LEXICON.generic_problems.contains(name.as_str()) {
            continue;
        }
        // A listed name that starts with a crop says the crop too (梨木虱 -> 梨).
        for (b, _) in name.char_indices().skip(1) {
            let (head, tail) = name.split_at(b);
            if tail.chars().count() >= 2
                && let Some(info) = LEXICON.crops.get(head)
            {
                push_unique(&mut out.crops, &info.canonical);
                break;
            }
        }
        push_unique(&mut out.problems, &name);
    }
    out
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

/// How alike two pest or disease names are, 0..=1: 1 when one contains the other (枯叶蛾 and
/// 李枯叶蛾), else the Dice coefficient of their character bigrams.
pub fn name_similarity(a: &str, b: &str) -> f32 {
    if a == b || (a.chars().count() >= 2 && b.contains(a)) || (b.chars().count() >= 2 && a.contains(b)) {
        return 1.0;
    }
    let ga: Vec<(char, char)> = bigrams(a);
    let gb: Vec<(char, char)> = bigrams(b);
    if ga.is_empty() || gb.is_empty() {
        return 0.0;
    }
    let common = ga.iter().filter(|g| gb.contains(g)).count();
    2.0 * common as f32 / (ga.len() + gb.len()) as f32
}

fn bigrams(s: &str) -> Vec<(char, char)> {
    let c: Vec<char> = s.chars().collect();
    c.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Similarity of two periods (dekad masks), 0..=1: Jaccard overlap, or a quarter for periods
/// less than a month apart (夏末 = August is closer to 初秋 than to 早春).
pub fn period_similarity(a: u64, b: u64) -> f32 {
    if a == 0 || b == 0 {
        return 0.0;
    }
    if a & b != 0 {
        return (a & b).count_ones() as f32 / (a | b).count_ones() as f32;
    }
    // Rotate the 36-dekad ring by up to three dekads either way.
    let rot = |m: u64, k: u32| ((m << k) | (m >> (DEKADS - k))) & ALL_DEKADS;
    let near = (1..=3).fold(a, |g, k| g | rot(a, k) | rot(a, DEKADS - k));
    if near & b != 0 { 0.25 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_months(text: &str, months: &[u8]) {
        let want = months.iter().fold(0u16, |m, x| m | 1 << (x - 1));
        assert_eq!(periods_in(&normalize(text)), month_dekads(want), "{text}");
    }

    fn dekad(month: u32, part: u32) -> u64 {
        1 << (3 * (month - 1) + part)
    }

    #[test]
    fn dekads_and_ranges() {
        let p = |t: &str| periods_in(&normalize(t));
        assert_eq!(p("6月上旬"), dekad(6, 0));
        assert_eq!(p("8月中下旬"), dekad(8, 1) | dekad(8, 2));
        assert_eq!(p("6月下旬至7月上旬"), dekad(6, 2) | dekad(7, 0));
        assert_eq!(
            p("5月上旬至6月中旬"),
            dekad(5, 0) | dekad(5, 1) | dekad(5, 2) | dekad(6, 0) | dekad(6, 1)
        );
        assert_eq!(p("10月底"), dekad(10, 2));
        assert!(period_similarity(dekad(6, 0), dekad(6, 1)) > 0.0);
        assert!(period_similarity(dekad(6, 0), dekad(6, 0)) > period_similarity(dekad(6, 0), dekad(6, 1)));
    }

    #[test]
    fn months_from_numbers() {
        check_months("3月份李树怎么管", &[3]);
        check_months("３—４月", &[3, 4]);
        check_months("3-4月打什么药", &[3, 4]);
        check_months("5、6月", &[5, 6]);
        check_months("十二月", &[12]);
        check_months("九十月份", &[9, 10]);
        check_months("三四月", &[3, 4]);
        check_months("腊月里", &[1]);
        check_months("过了3个月", &[]);
        check_months("月季黑斑病", &[]);
        check_months("11-2月", &[11, 12, 1, 2]);
    }

    #[test]
    fn winter_words_share_a_concept() {
        for text in [
            "冬季李树怎么修剪",
            "冬天李树怎么修剪",
            "寒冷季节李树怎么修剪",
            "深冬时节李树",
            "入冬前后李树",
            "十二月李树",
            "1-2月李树",
        ] {
            let a = analyze(text);
            assert!(a.words.iter().any(|w| w == "季:冬"), "{text}: {:?}", a.words);
            assert!(dekad_months(a.period) & 0b1000_0000_0011 != 0, "{text}");
        }
        assert!(!analyze("冬瓜霜霉病").words.iter().any(|w| w == "季:冬"));
    }

    #[test]
    fn folding_and_entities() {
        let a = analyze("李树枯叶蛾怎么防控？需要打药吗");
        assert_eq!(a.crops, vec!["李".to_owned()]);
        assert_eq!(a.problems, vec!["枯叶蛾".to_owned()]);
        assert!(a.words.contains(&"防治".to_owned()), "{:?}", a.words);
        assert!(a.industries.contains(&"fruit".to_owned()));
        let b = analyze("西红柿晚疫病");
        assert_eq!(b.crops, vec!["番茄".to_owned()]);
        assert_eq!(b.problems, vec!["晚疫病".to_owned()]);
        assert!(analyze("有什么害虫").problems.is_empty());
    }

    #[test]
    fn similarity_measures() {
        assert_eq!(name_similarity("枯叶蛾", "李枯叶蛾"), 1.0);
        assert!(name_similarity("梨小食心虫", "桃小食心虫") > 0.5);
        assert_eq!(name_similarity("稻瘟病", "蚜虫"), 0.0);
        let m = |x: u16| month_dekads(1 << (x - 1));
        assert_eq!(period_similarity(m(9), m(9)), 1.0);
        assert!(period_similarity(m(8), m(9)) > 0.0); // Aug vs Sep: neighbours
        assert_eq!(period_similarity(m(2), m(9)), 0.0); // Feb vs Sep
    }
}
