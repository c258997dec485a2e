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
use crate::region::RegionLevel::{self, City, County};
use crate::region::at_or_below;

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

    /// How much of a speciality the case's text mentions (0..=1). No allocation: it runs for
    /// every speciality of every expert of a province (30,000 experts) on each ranking.
    fn speciality_match(&self, speciality: &str) -> f64 {
        let mut chars = speciality.chars().filter(|c| !c.is_whitespace());
        let Some(mut prev) = chars.next() else { return 0.0 };
        let (mut pairs, mut hit) = (0u32, 0u32);
        for c in chars {
            pairs += 1;
            if self.grams.contains(&(prev, c)) {
                hit += 1;
            }
            prev = c;
        }
        if pairs == 0 { 0.0 } else { f64::from(hit) / f64::from(pairs) }
    }

    /// The expert's place in the ranking, or `None` when she may not be suggested at `centre`.
    fn rank_key(&self, centre: &str, p: &Person, rec: &ExpertRecord) -> Option<RankKey> {
        if !p.active || p.role() != Some(Role::Expert) || p.availability() == Availability::Away {
            return None;
        }
        let case_region = self.case.region_code.as_str();
        let r = p.region_code.as_str();
        // She serves the centre's region (or above it), and the case lies in hers.
        if !r.starts_with(centre) && !centre.starts_with(r) {
            return None;
        }
        if !case_region.starts_with(r) && at_or_below(r, County) && at_or_below(centre, County) {
            return None; // another county's expert at a county centre
        }
        let tier = match RegionLevel::of(r) {
            Some(level) if level >= County && case_region.starts_with(r) => 0,
            Some(level) if level >= County => 1,
            Some(City) => 2,
            _ => 3,
        };
        let industry_match = p.industries.contains(&self.case.industry);
        let spec: f64 = p.specialities.iter().map(|s| self.speciality_match(s)).sum();
        let mut score = 3.0 * spec.min(3.0);
        score -= 0.5 * f64::from(rec.open.min(20));
        if let Some(avg) = rec.rating_avg() {
            // Shrunk towards 4 stars until she has a few ratings.
            let n = f64::from(rec.ratings);
            let shrunk = (avg * n + 4.0 * 3.0) / (n + 3.0);
            score += shrunk - 4.0;
        }
        let total = rec.responses + rec.breaches;
        if total > 0 {
            score -= 2.0 * f64::from(rec.breaches) / f64::from(total);
        }
        if p.availability() == Availability::Busy {
            score -= 2.0;
        }
        Some(RankKey { industry_match, tier, score })
    }

    /// Scores one expert for the case at `centre` (a region code), with the reasons the triage
    /// page shows, or `None` when she may not be suggested there.
    pub fn score(&self, centre: &str, p: &Person, rec: &ExpertRecord) -> Option<Suggestion> {
        let RankKey { industry_match, tier, score } = self.rank_key(centre, p, rec)?;
        let hits: Vec<String> = p
            .specialities
            .iter()
            .filter(|s| self.speciality_match(s) >= SPECIALITY_HIT_MIN)
            .cloned()
            .collect();
        let mut reasons = vec![
            match tier {
                0 => "本县专家",
                1 => "本辖区其他县专家",
                2 => "市州专家",
                _ => "省级专家",
            }
            .to_string(),
        ];
        if industry_match {
            let name = crate::Industry::from_code(&self.case.industry).map(|i| i.name_zh()).unwrap_or("");
            reasons.push(format!("产业对口：{name}"));
        }
        if !hits.is_empty() {
            reasons.push(format!("专长：{}", hits.join("、")));
        }
        reasons.push(format!("在办 {} 件", rec.open));
        if let Some(avg) = rec.rating_avg() {
            reasons.push(format!("评分 {avg:.1}（{} 次）", rec.ratings));
        }
        if rec.breaches > 0 {
            reasons.push(format!("超时 {} 次", rec.breaches));
        }
        if p.availability() == Availability::Busy {
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

/// Where an expert stands, before any reason is written out.
#[derive(Debug, Clone, Copy)]
struct RankKey {
    industry_match: bool,
    tier: u8,
    score: f64,
}

/// Ranks experts for a case at a centre and keeps the best `limit`: experts of the case's
/// industry first, then by tier, then by score (ties by id). Every expert is scored
/// numerically; only the ones kept get their reasons written (a province ranks 30,000).
pub fn rank<'p>(
    case: &CaseDoc,
    centre: &str,
    experts: impl IntoIterator<Item = (&'p Person, &'p ExpertRecord)>,
    limit: usize,
) -> Vec<Suggestion> {
    if limit == 0 {
        return Vec::new();
    }
    let q = CaseQuery::new(case);
    let mut all: Vec<(RankKey, &Person, &ExpertRecord)> =
        experts.into_iter().filter_map(|(p, r)| q.rank_key(centre, p, r).map(|k| (k, p, r))).collect();
    let order = |a: &(RankKey, &Person, &ExpertRecord), b: &(RankKey, &Person, &ExpertRecord)| {
        (!a.0.industry_match, a.0.tier)
            .cmp(&(!b.0.industry_match, b.0.tier))
            .then(b.0.score.total_cmp(&a.0.score))
            .then_with(|| a.1.id.cmp(&b.1.id))
    };
    if all.len() > limit {
        all.select_nth_unstable_by(limit - 1, order);
        all.truncate(limit);
    }
    all.sort_by(order);
    all.into_iter().filter_map(|(_, p, r)| q.score(centre, p, r)).collect()
}

/// True when no expert of the centre's own level fits the case's industry: the page then
/// proposes escalating to the city or province.
pub fn suggest_escalation(centre: &str, suggestions: &[Suggestion]) -> bool {
    let own_tier_max = match RegionLevel::of(centre) {
        Some(level) if level >= County => 1,
        Some(City) => 2,
        _ => 3,
    };
    !suggestions.iter().any(|s| s.industry_match && s.tier <= own_tier_max)
}
