//! A month's statement lines from the figures the store holds and the standard in force.
//!
//! The figures are each consultation's contribution to the statistics (`stats_case`, the
//! source of the per-person rollups of migration 10): the expert who holds it, the officer who
//! recorded it, the service category and validity recorded at the follow-up call, its on-site
//! visits and their travel costs, whether it was closed. A consultation counts in the month it
//! was recorded (as every statistic), with what is known when the statement is prepared.
//!
//! The rule, per person and month:
//! - expert: each consultation followed up as valid pays the standard's amount for its service
//!   category (the default per valid service when the category is not priced apart); each
//!   on-site visit pays the visit amount (a visit is paid whether or not the service was later
//!   judged valid: the trip was made); travel is reimbursed per consultation up to
//!   `visits × cap per visit` (no cap when the cap is 0);
//! - officer: each consultation she recorded that was closed pays the officer amount, the
//!   month's sum capped at the monthly cap (no cap when it is 0).
//!
//! Rounding: none is needed. Standards are entered in 元 with at most two decimals and kept in
//! whole fen; every amount is a product or a minimum of whole fen, so lines and totals are
//! exact. Only the display divides by 100.

use std::collections::BTreeMap;

use yizhan_core::subsidy::{Line, ROLE_EXPERT, ROLE_OFFICER, Standard};

/// One consultation's figures (from its statistics contribution).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseFigures {
    /// The expert who holds it ("" = none).
    pub expert: String,
    /// The officer who recorded it ("" = unsigned).
    pub officer: String,
    /// The service category of the follow-up ("" = not followed up).
    pub category: String,
    pub valid: bool,
    pub onsite_visits: i64,
    pub travel_cost_fen: i64,
    pub closed: bool,
}

/// What a statement shows of a person: name and masked numbers (none when the county holds no
/// payee details for her).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payee {
    pub name: String,
    pub id_card_masked: String,
    pub bank_card_masked: String,
}

/// The lines for the month, experts first then officers, each by person id; a person with
/// nothing to be paid has no line. `people` gives names and masked numbers by person id (an
/// id missing there keeps its id as its name).
pub fn compute(standard: &Standard, cases: &[CaseFigures], people: &BTreeMap<String, Payee>) -> Vec<Line> {
    let mut experts: BTreeMap<&str, Line> = BTreeMap::new();
    let mut officers: BTreeMap<&str, Line> = BTreeMap::new();
    let blank = |id: &str, role: &str| {
        let p = people.get(id);
        Line {
            person_id: id.to_string(),
            name: p.map_or_else(|| id.to_string(), |p| p.name.clone()),
            role: role.to_string(),
            valid_services: 0,
            service_fen: 0,
            onsite_visits: 0,
            onsite_fen: 0,
            travel_recorded_fen: 0,
            travel_fen: 0,
            closed: 0,
            officer_fen: 0,
            total_fen: 0,
            id_card_masked: p.map(|p| p.id_card_masked.clone()).unwrap_or_default(),
            bank_card_masked: p.map(|p| p.bank_card_masked.clone()).unwrap_or_default(),
            excluded: String::new(),
        }
    };
    for c in cases {
        if !c.expert.is_empty() && (c.valid || c.onsite_visits > 0 || c.travel_cost_fen > 0) {
            let l = experts.entry(&c.expert).or_insert_with(|| blank(&c.expert, ROLE_EXPERT));
            if c.valid {
                l.valid_services += 1;
                l.service_fen += standard.service_fen(&c.category);
            }
            let visits = c.onsite_visits.max(0);
            let travel = c.travel_cost_fen.max(0);
            l.onsite_visits += visits;
            l.onsite_fen += visits * standard.onsite_fen;
            l.travel_recorded_fen += travel;
            l.travel_fen += if standard.travel_cap_per_visit_fen == 0 {
                travel
            } else {
                travel.min(visits * standard.travel_cap_per_visit_fen)
            };
        }
        if !c.officer.is_empty() && c.closed {
            let l = officers.entry(&c.officer).or_insert_with(|| blank(&c.officer, ROLE_OFFICER));
            l.closed += 1;
        }
    }
    for l in officers.values_mut() {
        let fen = l.closed * standard.officer_per_closed_fen;
        l.officer_fen =
            if standard.officer_month_cap_fen == 0 { fen } else { fen.min(standard.officer_month_cap_fen) };
    }
    let mut lines: Vec<Line> = experts.into_values().chain(officers.into_values()).collect();
    for l in &mut lines {
        l.total_fen = l.service_fen + l.onsite_fen + l.travel_fen + l.officer_fen;
    }
    lines.retain(|l| l.total_fen > 0 || l.valid_services > 0 || l.closed > 0);
    lines
}

/// Carries the exclusions of a statement's earlier lines over to freshly computed ones (same
/// person and role), so preparing a month again keeps the county's decisions.
pub fn keep_exclusions(fresh: &mut [Line], earlier: &[Line]) {
    for l in fresh {
        if let Some(old) = earlier.iter().find(|o| o.key() == l.key()) {
            l.excluded.clone_from(&old.excluded);
        }
    }
}

#[cfg(test)]
mod tests {
    use yizhan_core::subsidy::CategoryAmount;

    use super::*;

    fn standard() -> Standard {
        Standard {
            effective_from: 202601,
            per_valid_fen: 5_000,
            per_category: vec![CategoryAmount { category: "病虫害防治".into(), fen: 8_000 }],
            onsite_fen: 10_000,
            travel_cap_per_visit_fen: 15_000,
            officer_per_closed_fen: 500,
            officer_month_cap_fen: 1_200,
            set_by: "p".into(),
            set_ms: 0,
        }
    }

    fn case(
        expert: &str,
        officer: &str,
        category: &str,
        valid: bool,
        visits: i64,
        travel: i64,
        closed: bool,
    ) -> CaseFigures {
        CaseFigures {
            expert: expert.into(),
            officer: officer.into(),
            category: category.into(),
            valid,
            onsite_visits: visits,
            travel_cost_fen: travel,
            closed,
        }
    }

    /// `expected`: one string per line, `role person: field=value ...` for the amounts.
    fn check(s: &Standard, cases: &[CaseFigures], expected: &[&str]) {
        let lines = compute(s, cases, &BTreeMap::new());
        let got: Vec<String> = lines
            .iter()
            .map(|l| {
                format!(
                    "{} {}: valid={} service={} visits={} onsite={} travel={}/{} closed={} officer={} total={}",
                    l.role,
                    l.person_id,
                    l.valid_services,
                    l.service_fen,
                    l.onsite_visits,
                    l.onsite_fen,
                    l.travel_fen,
                    l.travel_recorded_fen,
                    l.closed,
                    l.officer_fen,
                    l.total_fen
                )
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn valid_services_by_category_visits_and_travel_capped_per_visit() {
        check(
            &standard(),
            &[
                case("e1", "o1", "技术指导", true, 0, 0, true),
                case("e1", "o1", "病虫害防治", true, 1, 20_000, true),
                // Invalid: no service amount, the visit and its travel are paid.
                case("e1", "o2", "其他", false, 1, 9_000, true),
                // Not closed: the officer gets nothing for it.
                case("e2", "o2", "技术指导", true, 2, 25_000, false),
            ],
            &[
                "expert e1: valid=2 service=13000 visits=2 onsite=20000 travel=24000/29000 closed=0 officer=0 total=57000",
                "expert e2: valid=1 service=5000 visits=2 onsite=20000 travel=25000/25000 closed=0 officer=0 total=50000",
                "officer o1: valid=0 service=0 visits=0 onsite=0 travel=0/0 closed=2 officer=1000 total=1000",
                "officer o2: valid=0 service=0 visits=0 onsite=0 travel=0/0 closed=1 officer=500 total=500",
            ],
        );
    }

    #[test]
    fn the_officer_cap_and_no_caps() {
        let closed = vec![case("", "o1", "", false, 0, 0, true); 3];
        check(
            &standard(),
            &closed,
            &["officer o1: valid=0 service=0 visits=0 onsite=0 travel=0/0 closed=3 officer=1200 total=1200"],
        );
        let uncapped = Standard { officer_month_cap_fen: 0, travel_cap_per_visit_fen: 0, ..standard() };
        check(
            &uncapped,
            &closed,
            &["officer o1: valid=0 service=0 visits=0 onsite=0 travel=0/0 closed=3 officer=1500 total=1500"],
        );
        check(
            &uncapped,
            &[case("e1", "", "技术指导", false, 1, 99_999, false)],
            &[
                "expert e1: valid=0 service=0 visits=1 onsite=10000 travel=99999/99999 closed=0 officer=0 total=109999",
            ],
        );
    }

    #[test]
    fn nothing_to_pay_gives_no_line() {
        check(
            &standard(),
            &[case("e1", "", "", false, 0, 0, false), case("", "", "", true, 0, 0, true)],
            &[],
        );
        let zero = Standard { per_valid_fen: 0, per_category: vec![], ..standard() };
        // A valid service at a zero rate still shows (the count matters to the reviewer).
        check(
            &zero,
            &[case("e1", "", "其他", true, 0, 0, false)],
            &["expert e1: valid=1 service=0 visits=0 onsite=0 travel=0/0 closed=0 officer=0 total=0"],
        );
    }

    #[test]
    fn exclusions_survive_a_new_preparation() {
        let s = standard();
        let mut earlier = compute(&s, &[case("e1", "o1", "其他", true, 0, 0, true)], &BTreeMap::new());
        earlier[0].excluded = "重复登记".into();
        let mut fresh = compute(&s, &[case("e1", "o1", "其他", true, 1, 0, true)], &BTreeMap::new());
        keep_exclusions(&mut fresh, &earlier);
        assert_eq!(fresh[0].excluded, "重复登记");
        assert_eq!(fresh[1].excluded, "");
        assert_eq!(fresh[0].paid_fen(), 0);
    }
}
