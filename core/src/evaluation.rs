//! Evaluations (激励保障): the annual performance of experts and officers, the annual
//! evaluation of city and county centres (优秀 / 良好 / 合格 / 不合格), the county monthly
//! ranking and the commendation list (通报表扬), all scored by one rule the province
//! configures (an `evaluation_rule` document, flowing down from the province).
//!
//! The scoring rule, applied to the counters of a centre's region or of a person's cases over
//! the period (`stats::Counts`, from the rollups):
//!
//! 1. Each measure is a rate 0..1: triage within 1 h (`triaged_in_time / triaged`), response
//!    within 3 h (`responded_in_time / responded`), follow-up within a week
//!    (`followed_up_in_time / followed_up`), valid services (`valid / followed_up`), rating
//!    (`(mean − 1) / 4` of the 1-5 ratings), closure (`closed / answered`), solved by a similar
//!    case (`solved_by_similar / cases`).
//! 2. Who is scored on what: a centre on triage, response, follow-up, validity, rating and
//!    closure; an expert on response, validity and rating; an officer on closure, validity and
//!    solved by a similar case.
//! 3. Score = 100 × Σ wᵢ·rateᵢ / Σ wᵢ over the measures that apply and were measured (a
//!    measure with no denominator drops out with its weight), minus `breach_penalty` points
//!    per breach per 100 services (for an expert, the response breaches of his cases), within
//!    0..100, rounded to one decimal.
//! 4. Grade: ≥ `excellent` 优秀, ≥ `good` 良好, ≥ `pass` 合格, else 不合格; with fewer than
//!    `min_services` services (cases counted) no grade is given (不参评).
//! 5. Commendations: those graded 优秀, best score first (services break ties), at most
//!    `commend_max` of each list.

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};
use serde::Serialize;

use crate::stats::Counts;

pub const DOC_TYPE: &str = "evaluation_rule";
/// The one rule, set by the province.
pub const RULE_ID: &str = "evaluation-rule";
pub const PROVINCE: &str = "51";
/// Bounds of a weight, of the points lost per breach per 100 services, of a list's length.
pub const WEIGHT_MAX: i64 = 100;
pub const PENALTY_MAX: i64 = 100;
pub const COMMEND_MAX: i64 = 200;
pub const MIN_SERVICES_MAX: i64 = 10_000;

/// The measures a score is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Triage,
    Response,
    Followup,
    Valid,
    Rating,
    Closure,
    Similar,
}

impl Measure {
    pub const ALL: [Measure; 7] = [
        Measure::Triage,
        Measure::Response,
        Measure::Followup,
        Measure::Valid,
        Measure::Rating,
        Measure::Closure,
        Measure::Similar,
    ];

    pub fn name_zh(self) -> &'static str {
        match self {
            Measure::Triage => "1小时分诊率",
            Measure::Response => "3小时响应率",
            Measure::Followup => "一周回访率",
            Measure::Valid => "有效服务率",
            Measure::Rating => "满意度（评分）",
            Measure::Closure => "办结率",
            Measure::Similar => "类似案例解决率",
        }
    }

    /// The measure as a rate 0..1 (`None`: nothing to measure).
    pub fn rate(self, c: &Counts) -> Option<f64> {
        let ratio = |n: i64, d: i64| (d > 0).then(|| (n as f64 / d as f64).clamp(0.0, 1.0));
        match self {
            Measure::Triage => ratio(c.triaged_in_time, c.triaged),
            Measure::Response => ratio(c.responded_in_time, c.responded),
            Measure::Followup => ratio(c.followed_up_in_time, c.followed_up),
            Measure::Valid => ratio(c.valid, c.followed_up),
            Measure::Rating => {
                (c.rated > 0).then(|| ((c.rating_sum as f64 / c.rated as f64 - 1.0) / 4.0).clamp(0.0, 1.0))
            }
            Measure::Closure => ratio(c.closed, c.answered),
            Measure::Similar => ratio(c.solved_by_similar, c.cases),
        }
    }
}

/// Who is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Centre,
    Expert,
    Officer,
}

impl Subject {
    pub fn measures(self) -> &'static [Measure] {
        match self {
            Subject::Centre => &[
                Measure::Triage,
                Measure::Response,
                Measure::Followup,
                Measure::Valid,
                Measure::Rating,
                Measure::Closure,
            ],
            Subject::Expert => &[Measure::Response, Measure::Valid, Measure::Rating],
            Subject::Officer => &[Measure::Closure, Measure::Valid, Measure::Similar],
        }
    }

    /// The breaches counted against the subject.
    pub fn breaches(self, c: &Counts) -> i64 {
        match self {
            Subject::Centre => c.breaches,
            Subject::Expert => c.breach_response,
            Subject::Officer => 0,
        }
    }
}

/// The province's scoring rule.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct EvaluationRule {
    pub doc_type: String,
    pub id: String,
    pub region_code: String,
    pub w_triage: i64,
    pub w_response: i64,
    pub w_followup: i64,
    pub w_valid: i64,
    pub w_rating: i64,
    pub w_closure: i64,
    pub w_similar: i64,
    /// Points lost per breach per 100 services.
    pub breach_penalty: i64,
    pub excellent: i64,
    pub good: i64,
    pub pass: i64,
    /// Fewer services than this: no grade (不参评).
    pub min_services: i64,
    /// The longest commendation list.
    pub commend_max: i64,
    pub set_by: String,
    pub set_ms: i64,
}

impl Default for EvaluationRule {
    /// The rule in force until the province sets one.
    fn default() -> EvaluationRule {
        EvaluationRule {
            doc_type: DOC_TYPE.into(),
            id: RULE_ID.into(),
            region_code: PROVINCE.into(),
            w_triage: 20,
            w_response: 25,
            w_followup: 15,
            w_valid: 20,
            w_rating: 10,
            w_closure: 10,
            w_similar: 10,
            breach_penalty: 1,
            excellent: 90,
            good: 80,
            pass: 60,
            min_services: 5,
            commend_max: 10,
            set_by: String::new(),
            set_ms: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("malformed evaluation rule: {0}")]
    Malformed(String),
    #[error("a weight lies outside 0..={WEIGHT_MAX}")]
    Weight,
    #[error("the grade thresholds must satisfy 0 <= pass <= good <= excellent <= 100")]
    Thresholds,
    #[error("a bound lies outside its range")]
    Bound,
}

impl RuleError {
    pub fn message_zh(&self) -> String {
        match self {
            RuleError::Malformed(_) => "评价规则格式不正确".into(),
            RuleError::Weight => format!("权重应为 0 至 {WEIGHT_MAX} 的整数"),
            RuleError::Thresholds => "分数线应满足 0 ≤ 合格 ≤ 良好 ≤ 优秀 ≤ 100".into(),
            RuleError::Bound => format!(
                "超时扣分应为 0 至 {PENALTY_MAX}，最少服务次数 0 至 {MIN_SERVICES_MAX}，表扬名单 0 至 {COMMEND_MAX}"
            ),
        }
    }
}

impl EvaluationRule {
    pub fn weight(&self, m: Measure) -> i64 {
        match m {
            Measure::Triage => self.w_triage,
            Measure::Response => self.w_response,
            Measure::Followup => self.w_followup,
            Measure::Valid => self.w_valid,
            Measure::Rating => self.w_rating,
            Measure::Closure => self.w_closure,
            Measure::Similar => self.w_similar,
        }
    }

    pub fn set_weight(&mut self, m: Measure, w: i64) {
        let slot = match m {
            Measure::Triage => &mut self.w_triage,
            Measure::Response => &mut self.w_response,
            Measure::Followup => &mut self.w_followup,
            Measure::Valid => &mut self.w_valid,
            Measure::Rating => &mut self.w_rating,
            Measure::Closure => &mut self.w_closure,
            Measure::Similar => &mut self.w_similar,
        };
        *slot = w;
    }

    pub fn validate(&self) -> Result<(), RuleError> {
        if self.doc_type != DOC_TYPE || self.id != RULE_ID || self.region_code != PROVINCE {
            return Err(RuleError::Malformed("the rule is the province's one document".into()));
        }
        if Measure::ALL.iter().any(|m| !(0..=WEIGHT_MAX).contains(&self.weight(*m))) {
            return Err(RuleError::Weight);
        }
        if !(0 <= self.pass && self.pass <= self.good && self.good <= self.excellent && self.excellent <= 100)
        {
            return Err(RuleError::Thresholds);
        }
        if !(0..=PENALTY_MAX).contains(&self.breach_penalty)
            || !(0..=MIN_SERVICES_MAX).contains(&self.min_services)
            || !(0..=COMMEND_MAX).contains(&self.commend_max)
        {
            return Err(RuleError::Bound);
        }
        Ok(())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, RuleError> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| RuleError::Malformed(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<EvaluationRule, RuleError> {
        let r: EvaluationRule = hydrate(doc).map_err(|e| RuleError::Malformed(e.to_string()))?;
        r.validate()?;
        Ok(r)
    }

    pub fn update(doc: &mut AutoCommit, next: &EvaluationRule) -> Result<(), RuleError> {
        next.validate()?;
        reconcile(doc, next).map_err(|e| RuleError::Malformed(e.to_string()))
    }

    /// The grade of a score (`None`: too few services to be graded).
    pub fn grade(&self, score: f64, services: i64) -> Option<Grade> {
        if services < self.min_services {
            return None;
        }
        Some(if score >= self.excellent as f64 {
            Grade::Excellent
        } else if score >= self.good as f64 {
            Grade::Good
        } else if score >= self.pass as f64 {
            Grade::Pass
        } else {
            Grade::Fail
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    Excellent,
    Good,
    Pass,
    Fail,
}

impl Grade {
    pub fn name_zh(self) -> &'static str {
        match self {
            Grade::Excellent => "优秀",
            Grade::Good => "良好",
            Grade::Pass => "合格",
            Grade::Fail => "不合格",
        }
    }
}

/// One scored centre or person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// A region code or a person id.
    pub key: String,
    pub name: String,
    pub services: i64,
    /// Each applicable measure's rate (`None`: not measured).
    pub rates: Vec<(Measure, Option<f64>)>,
    pub breaches: i64,
    pub score: f64,
    pub grade: Option<Grade>,
}

/// The score of counters under the rule, for a subject (see the module's documentation).
pub fn score(rule: &EvaluationRule, subject: Subject, c: &Counts) -> f64 {
    let (mut sum, mut weights) = (0.0, 0i64);
    for m in subject.measures() {
        let w = rule.weight(*m);
        if let (Some(r), true) = (m.rate(c), w > 0) {
            sum += w as f64 * r;
            weights += w;
        }
    }
    let base = if weights > 0 { 100.0 * sum / weights as f64 } else { 0.0 };
    let penalty = if c.cases > 0 {
        rule.breach_penalty as f64 * subject.breaches(c) as f64 * 100.0 / c.cases as f64
    } else {
        0.0
    };
    ((base - penalty).clamp(0.0, 100.0) * 10.0).round() / 10.0
}

/// Scores every row (`key`, name, counters) and ranks them: best score first, then more
/// services, then key.
pub fn evaluate(
    rule: &EvaluationRule,
    subject: Subject,
    rows: Vec<(String, String, Counts)>,
) -> Vec<Evaluation> {
    let mut out: Vec<Evaluation> = rows
        .into_iter()
        .map(|(key, name, c)| {
            let s = score(rule, subject, &c);
            Evaluation {
                key,
                name,
                services: c.cases,
                rates: subject.measures().iter().map(|m| (*m, m.rate(&c))).collect(),
                breaches: subject.breaches(&c),
                score: s,
                grade: rule.grade(s, c.cases),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.services.cmp(&a.services))
            .then(a.key.cmp(&b.key))
    });
    out
}

/// The commendation list (通报表扬) of ranked evaluations: those graded 优秀, at most
/// `commend_max`.
pub fn commendations<'a>(rule: &EvaluationRule, ranked: &'a [Evaluation]) -> Vec<&'a Evaluation> {
    ranked
        .iter()
        .filter(|e| e.grade == Some(Grade::Excellent))
        .take(usize::try_from(rule.commend_max).unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(cases: i64, in_time: i64, valid: i64, rating_sum: i64, breaches: i64) -> Counts {
        Counts {
            cases,
            triaged: cases,
            triaged_in_time: in_time,
            responded: cases,
            responded_in_time: in_time,
            answered: cases,
            closed: cases,
            followed_up: cases,
            followed_up_in_time: cases,
            valid,
            rated: cases,
            rating_sum,
            breaches,
            breach_response: breaches,
            ..Counts::default()
        }
    }

    #[test]
    fn a_perfect_centre_scores_100_and_breaches_cost_points() {
        let rule = EvaluationRule::default();
        assert_eq!(score(&rule, Subject::Centre, &counts(10, 10, 10, 50, 0)), 100.0);
        // One breach in 10 services: 10 breaches per 100 services, 1 point each.
        assert_eq!(score(&rule, Subject::Centre, &counts(10, 10, 10, 50, 1)), 90.0);
        let mut strict = rule.clone();
        strict.breach_penalty = 5;
        assert_eq!(score(&strict, Subject::Centre, &counts(10, 10, 10, 50, 1)), 50.0);
        assert_eq!(score(&strict, Subject::Centre, &counts(10, 10, 10, 50, 3)), 0.0, "never below 0");
        // Half in time (triage and response, weights 20 + 25 of 100): 100 − 22.5.
        assert_eq!(score(&rule, Subject::Centre, &counts(10, 5, 10, 50, 0)), 77.5);
        // Ratings of 3 on average: (3 − 1) / 4 = 0.5 of the rating's 10 points.
        assert_eq!(score(&rule, Subject::Centre, &counts(10, 10, 10, 30, 0)), 95.0);
        assert_eq!(score(&rule, Subject::Centre, &Counts::default()), 0.0, "nothing measured");
    }

    #[test]
    fn measures_without_a_denominator_drop_out() {
        let rule = EvaluationRule::default();
        // An expert with answers in time but no follow-up or rating yet: response alone counts.
        let c = Counts { cases: 4, responded: 4, responded_in_time: 3, ..Counts::default() };
        assert_eq!(score(&rule, Subject::Expert, &c), 75.0);
        // An officer: closure 2 of 4 answered (10), similar 1 of 4 (10), no follow-up.
        let c = Counts { cases: 4, answered: 4, closed: 2, solved_by_similar: 1, ..Counts::default() };
        assert_eq!(score(&rule, Subject::Officer, &c), 37.5);
        let mut zero = rule.clone();
        zero.w_response = 0;
        let c = Counts { cases: 4, responded: 4, responded_in_time: 3, ..Counts::default() };
        assert_eq!(score(&zero, Subject::Expert, &c), 0.0, "a weight of 0 takes the measure out");
    }

    #[test]
    fn grades_rank_and_commend() {
        let rule = EvaluationRule::default();
        assert_eq!(rule.grade(90.0, 5), Some(Grade::Excellent));
        assert_eq!(rule.grade(89.9, 5), Some(Grade::Good));
        assert_eq!(rule.grade(60.0, 5), Some(Grade::Pass));
        assert_eq!(rule.grade(59.9, 5), Some(Grade::Fail));
        assert_eq!(rule.grade(100.0, 4), None, "too few services");
        let rows = vec![
            ("510131".to_string(), "蒲江县".to_string(), counts(10, 10, 10, 50, 0)),
            ("510104".to_string(), "锦江区".to_string(), counts(20, 10, 10, 50, 0)),
            ("510129".to_string(), "大邑县".to_string(), counts(30, 30, 30, 150, 0)),
            ("510105".to_string(), "青羊区".to_string(), counts(2, 2, 2, 10, 0)),
        ];
        let ranked = evaluate(&rule, Subject::Centre, rows);
        let keys: Vec<&str> = ranked.iter().map(|e| e.key.as_str()).collect();
        // Equal scores: more services first.
        assert_eq!(keys, ["510129", "510131", "510105", "510104"]);
        assert_eq!(ranked[2].grade, None, "青羊区 has 2 services: not graded");
        let commended: Vec<&str> = commendations(&rule, &ranked).iter().map(|e| e.key.as_str()).collect();
        assert_eq!(commended, ["510129", "510131"]);
        let mut one = rule.clone();
        one.commend_max = 1;
        assert_eq!(commendations(&one, &ranked).len(), 1);
    }

    #[test]
    fn rules_validate_and_round_trip() {
        let rule = EvaluationRule::default();
        let doc = rule.to_doc().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(EvaluationRule::from_doc(&doc), Ok(rule.clone()));
        let mut bad = rule.clone();
        bad.good = 95;
        assert_eq!(bad.validate(), Err(RuleError::Thresholds));
        let mut bad = rule.clone();
        bad.set_weight(Measure::Valid, 101);
        assert_eq!(bad.validate(), Err(RuleError::Weight));
        let mut bad = rule.clone();
        bad.region_code = "5101".into();
        assert!(matches!(bad.validate(), Err(RuleError::Malformed(_))));
        assert!(EvaluationRule::from_doc(&AutoCommit::new()).is_err());
    }
}
