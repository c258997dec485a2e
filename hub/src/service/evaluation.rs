//! Evaluations (激励保障) at a hub, scored by `core::evaluation` under the province's rule
//! from the rollups (never a scan of the cases): the annual evaluation of the city and county
//! centres within a region, the county monthly ranking, the annual performance of the
//! region's experts and officers (the rollups' person rows), the commendation lists; the
//! export as XLSX (audited, like every export); the province's administrators configure the
//! rule. Read by centre staff who may read the region's statistics.

use yizhan_core::evaluation::{self, Evaluation, EvaluationRule, Subject};
use yizhan_core::stats::{GroupBy, Period, Query, month_label, month_of_ms};
use yizhan_core::{Actor, CentreAction, RegionLevel, regions};
use yizhan_store::stats::PersonDim;

use super::ServiceError;
use super::stats::StatsParams;
use crate::Hub;

/// What the page asks.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct EvaluationParams {
    pub region: Option<String>,
    /// The year evaluated (default: this year).
    pub year: Option<String>,
    /// The month of the county ranking, `YYYY-MM` (default: last month).
    pub month: Option<String>,
}

/// One page of evaluations.
#[derive(Debug, Clone)]
pub struct EvaluationView {
    pub region: String,
    pub region_name: String,
    pub year: u32,
    /// The month of the county ranking (`YYYYMM`).
    pub month: u32,
    pub rule: EvaluationRule,
    /// Annual evaluation of the city centres (the province only).
    pub cities: Vec<Evaluation>,
    /// Annual evaluation of the county centres within the region.
    pub counties: Vec<Evaluation>,
    /// The counties within the region ranked on the month.
    pub county_ranking: Vec<Evaluation>,
    pub experts: Vec<Evaluation>,
    pub officers: Vec<Evaluation>,
    pub may_configure: bool,
}

fn parse_year(s: Option<&str>, now_month: u32) -> Result<u32, ServiceError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(now_month / 100),
        Some(y) => y
            .parse::<u32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
            .ok_or_else(|| ServiceError::Invalid("年份应为 2000 至 2100".into())),
    }
}

/// The evaluations of a region (the province, a city or a county) for a year.
pub async fn evaluations(
    hub: &Hub,
    actor: &Actor,
    p: &EvaluationParams,
) -> Result<EvaluationView, ServiceError> {
    let q = super::stats::query(hub, actor, &StatsParams { region: p.region.clone(), ..Default::default() })?;
    if q.region.level() > RegionLevel::County {
        return Err(ServiceError::Invalid("考评按运营中心进行：请选择全省、市州或县市区".into()));
    }
    let now_month = month_of_ms(hub.store.config().clock.now_ms());
    let year = parse_year(p.year.as_deref(), now_month)?;
    let last_month = if now_month % 100 == 1 { (now_month / 100 - 1) * 100 + 12 } else { now_month - 1 };
    let month = match p.month.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(m) => yizhan_core::stats::parse_month(m).map_err(|e| ServiceError::Invalid(e.message_zh()))?,
        None => last_month,
    };
    let invalid = |e: yizhan_core::stats::StatsError| ServiceError::Invalid(e.message_zh());
    let year_period = Period::new(year * 100 + 1, year * 100 + 12).map_err(invalid)?;
    let month_period = Period::new(month, month).map_err(invalid)?;
    let may_configure = super::require(hub, actor, CentreAction::ConfigureEvaluation).is_ok();
    let region = q.region.clone();
    hub.store
        .call(move |db| {
            let rule = db.evaluation_rule()?;
            let code = region.as_str().to_string();
            let name = |c: &str| regions().get(c).map(|r| r.name.clone()).unwrap_or_else(|| c.to_string());
            // Every centre of a level within the region, zeros for those without cases.
            let centres =
                |level: RegionLevel, period: Period| -> Result<Vec<Evaluation>, yizhan_store::StoreError> {
                    let own = region.level();
                    let rows: Vec<(String, yizhan_core::stats::Counts)> = if own == level {
                        let r = db.stats_report(&Query { region: region.clone(), period, by: None })?;
                        vec![(code.clone(), r.totals.counts)]
                    } else {
                        let by = if level == RegionLevel::City { GroupBy::City } else { GroupBy::County };
                        let r = db.stats_report(&Query { region: region.clone(), period, by: Some(by) })?;
                        let mut places: Vec<String> = Vec::new();
                        for c in regions().children(&code) {
                            if RegionLevel::of(&c.code) == Some(level) {
                                places.push(c.code.clone());
                            } else {
                                places.extend(regions().children(&c.code).iter().map(|g| g.code.clone()));
                            }
                        }
                        places
                            .into_iter()
                            .map(|p| {
                                let c = r
                                    .groups
                                    .iter()
                                    .find(|g| g.key == p)
                                    .map(|g| g.figures.counts)
                                    .unwrap_or_default();
                                (p, c)
                            })
                            .collect()
                    };
                    let rows = rows.into_iter().map(|(k, c)| (k.clone(), name(&k), c)).collect();
                    Ok(evaluation::evaluate(&rule, Subject::Centre, rows))
                };
            let cities = if region.level() == RegionLevel::Province {
                centres(RegionLevel::City, year_period)?
            } else {
                Vec::new()
            };
            let counties = centres(RegionLevel::County, year_period)?;
            let county_ranking = centres(RegionLevel::County, month_period)?;
            let people =
                |dim: PersonDim, subject: Subject| -> Result<Vec<Evaluation>, yizhan_store::StoreError> {
                    let rows = db.stats_by_person(&region, year_period, dim)?;
                    let ids: Vec<String> = rows.iter().map(|(k, _)| k.clone()).collect();
                    let names = db.person_names(&ids)?;
                    let rows = rows
                        .into_iter()
                        .map(|(k, c)| (k.clone(), names.get(&k).cloned().unwrap_or_else(|| k.clone()), c))
                        .collect();
                    Ok(evaluation::evaluate(&rule, subject, rows))
                };
            Ok(EvaluationView {
                region_name: yizhan_core::stats::region_name(&code),
                region: code,
                year,
                month,
                experts: people(PersonDim::Expert, Subject::Expert)?,
                officers: people(PersonDim::Officer, Subject::Officer)?,
                rule,
                cities,
                counties,
                county_ranking,
                may_configure,
            })
        })
        .await
        .map_err(ServiceError::from)
}

/// The evaluations as an XLSX workbook (audited as an export): one sheet per list.
pub async fn export(
    hub: &Hub,
    actor: &Actor,
    p: &EvaluationParams,
) -> Result<(String, Vec<u8>), ServiceError> {
    use yizhan_records::{Cell, Sheet};
    let v = evaluations(hub, actor, p).await?;
    let sheet = |name: String, subject: Subject, list: &[Evaluation]| {
        let mut header = vec!["名次".to_string(), "名称".into(), "服务次数".into()];
        header.extend(subject.measures().iter().map(|m| m.name_zh().to_string()));
        header.extend(["超时".to_string(), "得分".into(), "等级".into()]);
        let rows = list
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut row = vec![
                    Cell::Number(i as f64 + 1.0),
                    Cell::Text(e.name.clone()),
                    Cell::Number(e.services as f64),
                ];
                row.extend(e.rates.iter().map(|(_, r)| r.map_or(Cell::Empty, Cell::Percent)));
                row.push(Cell::Number(e.breaches as f64));
                row.push(Cell::Score(e.score));
                row.push(Cell::Text(e.grade.map_or("不参评", |g| g.name_zh()).into()));
                row
            })
            .collect();
        Sheet { name, header, rows }
    };
    let mut sheets = Vec::new();
    if !v.cities.is_empty() {
        sheets.push(sheet(format!("{}年市州中心考评", v.year), Subject::Centre, &v.cities));
    }
    sheets.push(sheet(format!("{}年县级中心考评", v.year), Subject::Centre, &v.counties));
    sheets.push(sheet(format!("{}县级月度排名", month_label(v.month)), Subject::Centre, &v.county_ranking));
    sheets.push(sheet(format!("{}年专家绩效", v.year), Subject::Expert, &v.experts));
    sheets.push(sheet(format!("{}年信息员绩效", v.year), Subject::Officer, &v.officers));
    let mut commended = Vec::new();
    for (what, list) in
        [("市州中心", &v.cities), ("县级中心", &v.counties), ("专家", &v.experts), ("信息员", &v.officers)]
    {
        for e in evaluation::commendations(&v.rule, list) {
            commended.push(vec![Cell::Text(what.into()), Cell::Text(e.name.clone()), Cell::Score(e.score)]);
        }
    }
    sheets.push(Sheet {
        name: format!("{}年通报表扬", v.year),
        header: vec!["类别".into(), "名称".into(), "得分".into()],
        rows: commended,
    });
    let bytes = yizhan_records::tables_xlsx(&sheets).map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    let (who, region, detail) =
        (actor.person_id.clone(), actor.region.to_string(), format!("考评 {} {}年", v.region, v.year));
    hub.store.call(move |db| db.record_audit(&who, &region, super::admin::AUDIT_EXPORT, &detail)).await?;
    Ok((format!("kaoping-{}-{}.xlsx", v.region, v.year), bytes))
}

/// Replaces the province's scoring rule (the province's administrators, at the province hub).
pub async fn set_rule(hub: &Hub, actor: &Actor, mut rule: EvaluationRule) -> Result<(), ServiceError> {
    super::require(hub, actor, CentreAction::ConfigureEvaluation)?;
    rule.doc_type = evaluation::DOC_TYPE.into();
    rule.id = evaluation::RULE_ID.into();
    rule.region_code = evaluation::PROVINCE.into();
    rule.set_by = actor.person_id.clone();
    rule.validate().map_err(|e| ServiceError::Invalid(e.message_zh()))?;
    hub.store
        .call(move |db| {
            rule.set_ms = db.config().clock.now_ms();
            let written = if db.doc_type(evaluation::RULE_ID)?.is_some() {
                db.update_doc(evaluation::RULE_ID, |doc| EvaluationRule::update(doc, &rule))?
            } else {
                match rule.to_doc() {
                    Ok(mut doc) => {
                        db.create_doc(evaluation::RULE_ID, evaluation::DOC_TYPE, &mut doc).map(|_| Ok(()))?
                    }
                    Err(e) => Err(e),
                }
            };
            Ok(written)
        })
        .await?
        .map_err(|e| ServiceError::Invalid(e.message_zh()))
}
