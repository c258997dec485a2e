//! Expert suggestions for triage (推荐专家): county-level experts first, matching industry
//! and speciality, weighed by current load, rating and response history.
//!
//! Order: experts of the case's industry before all others; then by tier (the case's own
//! county, another county of the centre, the case's city, the province); then by score.
//! Experts marked away (外出) or inactive are not suggested.

use std::collections::HashSet;

use serde::Serialize;

use crate::case::CaseDoc;
use crate::people::{Availability, Person, Role};

/// A speciality counts as mentioned when at least this share of its character pairs occurs in
/// the case's text ("柑橘病害" in a text about 柑橘: one pair of three).
pub const SPECIALITY_HIT_MIN: f64 = 0.33;

/// What the hub knows of an expert's record, from its projections.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExpertRecord {
    /// Cases assigned to her and not yet answered.
    pub open: u32,
    pub ratings: u32,
    pub rating_sum: u32,
    /// Assignments she responded to, and response-clock breaches.
    pub responses: u32,
    pub breaches: u32,
}

impl ExpertRecord {
    pub fn rating_avg(&self) -> Option<f64> {
        (self.ratings > 0).then(|| f64::from(self.rating_sum) / f64::from(self.ratings))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub person_id: String,
    pub name: String,
    pub industry_match: bool,
    /// 0 the case's county, 1 another county of the centre, 2 the case's city, 3 the province.
    pub tier: u8,
    pub score: f64,
    /// The expert's specialities found in the case's text.
    pub speciality_hits: Vec<String>,
    /// Why she is suggested, for the triage page.
    pub reasons_zh: Vec<String>,
}

fn bigrams(text: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// The case's text prepared once for ranking many experts.
pub struct CaseQuery<'a> {
    case: &'a CaseDoc,
    grams: HashSet<(char, char)>,
}

impl<'a> CaseQuery<'a> {
    pub fn new(case: &'a CaseDoc) -> CaseQuery<'a> {
        CaseQuery { case, grams: bigrams(&format!("{} {}", case.subject, case.description)) }
    }

    /// How much of a speciality the case's text mentions (0..=1).
    fn speciality_match(&self, speciality: &str) -> f64 {
        let chars: Vec<char> = speciality.chars().filter(|c| !c.is_whitespace()).collect();
        if chars.len() < 2 {
            return 0.0;
        }
        let grams: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
        let hit = grams.iter().filter(|g| self.grams.contains(g)).count();
        hit as f64 / grams.len() as f64
    }

    /// Scores one expert for the case at `centre` (a region code), or `None` when she may not
    /// be suggested there.
    pub fn score(&self, centre: &str, p: &Person, rec: &ExpertRecord) -> Option<Suggestion> {
        if !p.active || p.role() != Some(Role::Expert) || p.availability() == Availability::Away {
            return None;
        }
        let case_region = self.case.region_code.as_str();
        let r = p.region_code.as_str();
        // She serves the centre's region (or above it), and the case lies in hers.
        if !r.starts_with(centre) && !centre.starts_with(r) {
            return None;
        }
        if !case_region.starts_with(r) && r.len() >= 6 && centre.len() >= 6 {
            return None; // another county's expert at a county centre
        }
        let tier = match r.len() {
            n if n >= 6 && case_region.starts_with(r) => 0,
            n if n >= 6 => 1,
            4 => 2,
            _ => 3,
        };
        let industry_match = p.industries.contains(&self.case.industry);
        let mut hits = Vec::new();
        let mut spec = 0.0f64;
        for s in &p.specialities {
            let m = self.speciality_match(s);
            if m >= SPECIALITY_HIT_MIN {
                hits.push(s.clone());
            }
            spec += m;
        }
        let mut score = 3.0 * spec.min(3.0);
        let mut reasons = Vec::new();
        reasons.push(
            match tier {
                0 => "本县专家",
                1 => "本辖区其他县专家",
                2 => "市州专家",
                _ => "省级专家",
            }
            .to_string(),
        );
        if industry_match {
            let name = crate::Industry::from_code(&self.case.industry).map(|i| i.name_zh()).unwrap_or("");
            reasons.push(format!("产业对口：{name}"));
        }
        if !hits.is_empty() {
            reasons.push(format!("专长：{}", hits.join("、")));
        }
        score -= 0.5 * f64::from(rec.open.min(20));
        reasons.push(format!("在办 {} 件", rec.open));
        if let Some(avg) = rec.rating_avg() {
            // Shrunk towards 4 stars until she has a few ratings.
            let n = f64::from(rec.ratings);
            let shrunk = (avg * n + 4.0 * 3.0) / (n + 3.0);
            score += shrunk - 4.0;
            reasons.push(format!("评分 {avg:.1}（{} 次）", rec.ratings));
        }
        let total = rec.responses + rec.breaches;
        if total > 0 {
            let breach_rate = f64::from(rec.breaches) / f64::from(total);
            score -= 2.0 * breach_rate;
            if rec.breaches > 0 {
                reasons.push(format!("超时 {} 次", rec.breaches));
            }
        }
        if p.availability() == Availability::Busy {
            score -= 2.0;
            reasons.push("忙碌".into());
        }
        Some(Suggestion {
            person_id: p.id.clone(),
            name: p.name.clone(),
            industry_match,
            tier,
            score,
            speciality_hits: hits,
            reasons_zh: reasons,
        })
    }
}

/// Ranks experts for a case at a centre and keeps the best `limit`.
pub fn rank<'p>(
    case: &CaseDoc,
    centre: &str,
    experts: impl IntoIterator<Item = (&'p Person, &'p ExpertRecord)>,
    limit: usize,
) -> Vec<Suggestion> {
    let q = CaseQuery::new(case);
    let mut all: Vec<Suggestion> = experts.into_iter().filter_map(|(p, r)| q.score(centre, p, r)).collect();
    let key = |s: &Suggestion| (!s.industry_match, s.tier);
    all.sort_by(|a, b| {
        key(a).cmp(&key(b)).then(b.score.total_cmp(&a.score)).then_with(|| a.person_id.cmp(&b.person_id))
    });
    all.truncate(limit);
    all
}

/// True when no expert of the centre's own level fits the case's industry: the page then
/// proposes escalating to the city or province.
pub fn suggest_escalation(centre: &str, suggestions: &[Suggestion]) -> bool {
    let own_tier_max = if centre.len() >= 6 {
        1
    } else if centre.len() == 4 {
        2
    } else {
        3
    };
    !suggestions.iter().any(|s| s.industry_match && s.tier <= own_tier_max)
}
