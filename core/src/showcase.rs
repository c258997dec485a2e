//! 特派员风采's featured (推荐) experts: one `showcase` document per centre (province, city or
//! county), id `showcase-<region>`, listing the experts that centre's staff picked, each with the
//! public figures the hub's showcase page already shows (name, title, region, industries, the
//! last year's service counters, lectures' titles). It is written by the centre's own hub only
//! and flows down (a county's to its kiosks; the province's to every hub and kiosk), so a kiosk
//! shows its county's, city's and province's featured experts offline. Nothing personal: no
//! phone number (masked or not), no specialities beyond what the public page shows.
//!
//! No photo: the people directory holds none, so pages draw a placeholder (the name's first
//! character).

use automerge::AutoCommit;
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile};

use crate::region::{RegionCode, RegionLevel};

pub const DOC_TYPE: &str = "showcase";
/// Featured experts one centre may list.
pub const FEATURED_MAX: usize = 24;
/// Lectures' titles kept per expert.
pub const LECTURES_MAX: usize = 10;
/// Industries kept per expert.
pub const INDUSTRIES_MAX: usize = 20;
/// Characters of any one text (a name, a title, a lecture's title, an id).
pub const TEXT_MAX: usize = 200;

/// One featured expert's public figures, computed at the centre's hub when it writes the list.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct FeaturedExpert {
    pub id: String,
    pub name: String,
    /// 职称.
    pub title: String,
    /// The expert's region (her level follows from it).
    pub region_code: String,
    /// Industry codes.
    pub industries: Vec<String>,
    /// Service counters over the last 12 months, from the centre's rollups.
    pub answered: i64,
    pub responded: i64,
    pub responded_in_time: i64,
    pub rated: i64,
    pub rating_sum: i64,
    pub onsite_visits: i64,
    /// Titles of her published lectures (at most [`LECTURES_MAX`]).
    pub lectures: Vec<String>,
}

impl FeaturedExpert {
    /// Share of responses within 3 h, in percent.
    pub fn in_time_percent(&self) -> Option<f64> {
        (self.responded > 0).then(|| self.responded_in_time as f64 * 100.0 / self.responded as f64)
    }

    pub fn mean_rating(&self) -> Option<f64> {
        (self.rated > 0).then(|| self.rating_sum as f64 / self.rated as f64)
    }

    pub fn level(&self) -> Option<RegionLevel> {
        RegionLevel::of(&self.region_code)
    }
}

/// A centre's featured experts.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate)]
pub struct ShowcaseDoc {
    pub doc_type: String,
    /// `showcase-<region>`.
    pub id: String,
    /// The centre's region: province, city or county.
    pub region_code: String,
    /// In the order the centre shows them.
    pub experts: Vec<FeaturedExpert>,
    /// Who last changed the list (a person id) and when, on the hub's clock.
    pub updated_by: String,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShowcaseError {
    #[error("malformed showcase document: {0}")]
    Malformed(String),
    #[error("featured experts are picked by the province, a city or a county")]
    Level,
    #[error("expert {0} lies outside the centre's region")]
    OutOfRegion(String),
    #[error("more than {FEATURED_MAX} featured experts")]
    TooMany,
}

impl ShowcaseError {
    pub fn message_zh(&self) -> String {
        match self {
            ShowcaseError::Malformed(_) => "推荐专家数据格式不正确".into(),
            ShowcaseError::Level => "推荐专家只能由省、市州或县市区运营中心设置".into(),
            ShowcaseError::OutOfRegion(_) => "只能推荐本地区的专家".into(),
            ShowcaseError::TooMany => format!("每个运营中心最多推荐 {FEATURED_MAX} 位专家"),
        }
    }
}

fn text_ok(s: &str) -> bool {
    s.chars().count() <= TEXT_MAX && !s.chars().any(char::is_control)
}

impl ShowcaseDoc {
    pub fn id_for(region: &str) -> String {
        format!("showcase-{region}")
    }

    /// An empty list for `region`.
    pub fn new(region: &str, updated_by: &str, updated_ms: i64) -> ShowcaseDoc {
        ShowcaseDoc {
            doc_type: DOC_TYPE.into(),
            id: ShowcaseDoc::id_for(region),
            region_code: region.into(),
            experts: Vec::new(),
            updated_by: updated_by.into(),
            updated_ms,
        }
    }

    pub fn is_featured(&self, expert: &str) -> bool {
        self.experts.iter().any(|e| e.id == expert)
    }

    pub fn validate(&self) -> Result<(), ShowcaseError> {
        let bad = |m: String| Err(ShowcaseError::Malformed(m));
        if self.doc_type != DOC_TYPE {
            return bad(format!("doc_type is {:?}", self.doc_type));
        }
        let centre =
            RegionCode::parse(&self.region_code).map_err(|e| ShowcaseError::Malformed(e.to_string()))?;
        if self.id != ShowcaseDoc::id_for(&self.region_code) {
            return bad(format!("id {:?} does not match its region", self.id));
        }
        if centre.level() > RegionLevel::County {
            return Err(ShowcaseError::Level);
        }
        if self.experts.len() > FEATURED_MAX {
            return Err(ShowcaseError::TooMany);
        }
        if !text_ok(&self.updated_by) {
            return bad("updated_by".into());
        }
        for (i, e) in self.experts.iter().enumerate() {
            if e.id.is_empty() || self.experts[..i].iter().any(|o| o.id == e.id) {
                return bad(format!("expert id {:?} empty or repeated", e.id));
            }
            let region =
                RegionCode::parse(&e.region_code).map_err(|x| ShowcaseError::Malformed(x.to_string()))?;
            if !centre.contains(&region) {
                return Err(ShowcaseError::OutOfRegion(e.id.clone()));
            }
            if e.industries.len() > INDUSTRIES_MAX || e.lectures.len() > LECTURES_MAX {
                return bad(format!("expert {}: too many industries or lectures", e.id));
            }
            let texts = [&e.id, &e.name, &e.title].into_iter().chain(&e.industries).chain(&e.lectures);
            if texts.clone().any(|t| !text_ok(t)) {
                return bad(format!("expert {}: a text is too long or holds control characters", e.id));
            }
            let counts =
                [e.answered, e.responded, e.responded_in_time, e.rated, e.rating_sum, e.onsite_visits];
            if counts.iter().any(|c| *c < 0)
                || e.responded_in_time > e.responded
                || e.rating_sum > e.rated * 5
            {
                return bad(format!("expert {}: inconsistent figures", e.id));
            }
        }
        Ok(())
    }

    pub fn to_doc(&self) -> Result<AutoCommit, ShowcaseError> {
        self.validate()?;
        let mut doc = AutoCommit::new();
        reconcile(&mut doc, self).map_err(|e| ShowcaseError::Malformed(e.to_string()))?;
        Ok(doc)
    }

    pub fn from_doc(doc: &AutoCommit) -> Result<ShowcaseDoc, ShowcaseError> {
        let s: ShowcaseDoc = hydrate(doc).map_err(|e| ShowcaseError::Malformed(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Replaces the list in an existing document.
    pub fn update(doc: &mut AutoCommit, next: &ShowcaseDoc) -> Result<(), ShowcaseError> {
        next.validate()?;
        reconcile(doc, next).map_err(|e| ShowcaseError::Malformed(e.to_string()))
    }
}

/// The ids of the showcases that apply to a place in `region`: its county's, city's and the
/// province's (nearest first); none for a region that does not parse.
pub fn ids_for(region: &str) -> Vec<String> {
    [RegionLevel::County, RegionLevel::City, RegionLevel::Province]
        .into_iter()
        .filter_map(|l| crate::region::ancestor_at(region, l))
        .map(ShowcaseDoc::id_for)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expert(id: &str, region: &str) -> FeaturedExpert {
        FeaturedExpert {
            id: id.into(),
            name: "李果树".into(),
            title: "高级农艺师".into(),
            region_code: region.into(),
            industries: vec!["fruit".into()],
            answered: 3,
            responded: 3,
            responded_in_time: 2,
            rated: 2,
            rating_sum: 9,
            onsite_visits: 1,
            lectures: vec!["猕猴桃溃疡病防控".into()],
        }
    }

    #[test]
    fn a_county_list_round_trips_and_refuses_outsiders() {
        let mut s = ShowcaseDoc::new("510131", "c-staff", 1);
        s.experts.push(expert("e1", "510131"));
        let back = ShowcaseDoc::from_doc(&s.to_doc().unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.experts[0].mean_rating(), Some(4.5));
        s.experts.push(expert("e2", "510183"));
        assert_eq!(s.validate(), Err(ShowcaseError::OutOfRegion("e2".into())));
        s.experts[1].region_code = "510131".into();
        s.experts[1].id = "e1".into();
        assert!(matches!(s.validate(), Err(ShowcaseError::Malformed(_))));
    }

    #[test]
    fn limits_and_levels() {
        assert_eq!(ShowcaseDoc::new("510131001", "x", 0).validate(), Err(ShowcaseError::Level));
        let mut s = ShowcaseDoc::new("51", "x", 0);
        s.experts = (0..=FEATURED_MAX).map(|i| expert(&format!("e{i}"), "510131")).collect();
        assert_eq!(s.validate(), Err(ShowcaseError::TooMany));
        let mut s = ShowcaseDoc::new("51", "x", 0);
        let mut e = expert("e", "5101");
        e.responded_in_time = 9;
        s.experts.push(e);
        assert!(s.validate().is_err());
        assert!(ShowcaseDoc::from_doc(&AutoCommit::new()).is_err());
    }

    #[test]
    fn a_village_sees_its_county_city_and_province() {
        assert_eq!(ids_for("510131001001"), ["showcase-510131", "showcase-5101", "showcase-51"]);
        assert!(ids_for("x").is_empty());
    }
}
