//! The demo's subsidies (补贴发放): the province's standard (set by the province's
//! administrator), payee details for the county's experts and officers (fake numbers with valid
//! check digits, sealed at the county hub), and last month's statement of 蒲江县 prepared by the
//! county's staff from the demo history, submitted, and approved at the province by its staff,
//! all through the hub's service as the desk's pages do. Done once: a later start keeps what
//! people changed. The steps wait (bounded) for the standard to reach the county and for the
//! statement to reach the province over sync.

use std::time::Duration;

use yizhan_core::subsidy::{self, Standard, StatementDoc, Status};
use yizhan_core::{Actor, RegionCode, Role};
use yizhan_hub::service::subsidies::{self as svc, PayeeInput, StatementAction};

/// How long to wait for a document to cross the county–province link.
const SYNC_WAIT: Duration = Duration::from_secs(60);

/// Fake payees: GB 11643 check digits and Luhn sums are valid, the people are not real.
const PAYEES: [(&str, &str, &str, &str); 6] = [
    ("expert-fruit", "510131198506120031", "6228480012345678903", "中国农业银行蒲江支行"),
    ("expert-tea", "510131197809230049", "6217000012345678907", "中国建设银行蒲江支行"),
    ("expert-veg", "510131199211050050", "6230590012345678906", "四川农信蒲江县联社"),
    ("expert-pig", "510104199003070015", "6222021234567890128", "中国工商银行蒲江支行"),
    ("officer-1", "11010519491231002X", "4111111111111111", "四川农信蒲江县联社"),
    ("officer-2", "510131198802140029", "6217000012345678915", "中国建设银行蒲江支行"),
];

fn actor(id: &str, role: Role, region: &str) -> anyhow::Result<Actor> {
    Ok(Actor { person_id: id.into(), name: id.into(), role, region: RegionCode::parse(region)? })
}

fn zh(e: yizhan_hub::service::ServiceError) -> anyhow::Error {
    anyhow::anyhow!("demo subsidies: {}", e.message_zh())
}

async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let until = std::time::Instant::now() + SYNC_WAIT;
    while !f().await? {
        if std::time::Instant::now() > until {
            anyhow::bail!("demo subsidies: {what} did not happen within {SYNC_WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Seeds the standard, payees and last month's approved statement (once).
pub async fn seed(
    province: &yizhan_hub::Hub,
    county: &yizhan_hub::Hub,
    county_scope: &str,
) -> anyhow::Result<()> {
    let province_admin = actor("province-admin", Role::Admin, "51")?;
    let province_staff = actor("province-staff", Role::Staff, "51")?;
    let staff = actor("staff", Role::Staff, county_scope)?;
    if province.store.call(|db| db.doc_type(subsidy::STANDARD_ID)).await?.is_none() {
        let standard = Standard {
            effective_from: 202501,
            per_valid_fen: 5_000,
            per_category: vec![subsidy::CategoryAmount { category: "病虫害防治".into(), fen: 8_000 }],
            onsite_fen: 10_000,
            travel_cap_per_visit_fen: 20_000,
            officer_per_closed_fen: 200,
            officer_month_cap_fen: 30_000,
            set_by: String::new(),
            set_ms: 0,
        };
        svc::set_standard(province, &province_admin, standard).await.map_err(zh)?;
    }
    for (person_id, id_card, bank_card, bank_name) in PAYEES {
        let id = subsidy::PayeeDoc::id_for(person_id);
        if county.store.call(move |db| db.doc_type(&id)).await?.is_none() {
            let input = PayeeInput {
                person_id: person_id.into(),
                id_card: id_card.into(),
                bank_card: bank_card.into(),
                bank_name: bank_name.into(),
            };
            svc::set_payee(county, &staff, input).await.map_err(zh)?;
        }
    }
    let now = yizhan_core::stats::month_of_ms(county.store.config().clock.now_ms());
    let last = if now % 100 == 1 { now - 100 + 11 } else { now - 1 };
    let id = StatementDoc::id_for(county_scope, i64::from(last));
    let status = |hub: &yizhan_hub::Hub| {
        let (store, id) = (hub.store.clone(), id.clone());
        async move {
            let doc = store.call(move |db| db.load_doc(&id)).await?;
            Ok::<_, anyhow::Error>(
                doc.and_then(|d| StatementDoc::from_doc(&d).ok()).map(|s| subsidy::derive(&s.steps).status),
            )
        }
    };
    if status(county).await?.is_none() {
        wait_for("the standard reaching the county", async || {
            Ok(county.store.call(|db| db.doc_type(subsidy::STANDARD_ID)).await?.is_some())
        })
        .await?;
        let month = format!("{}-{:02}", last / 100, last % 100);
        svc::prepare(county, &staff, &month).await.map_err(zh)?;
        svc::act(county, &staff, &id, StatementAction::Submit).await.map_err(zh)?;
    }
    if status(county).await? == Some(Status::Submitted) {
        wait_for("the statement reaching the province", async || {
            Ok(status(province).await? == Some(Status::Submitted))
        })
        .await?;
        svc::act(province, &province_staff, &id, StatementAction::Approve).await.map_err(zh)?;
    }
    Ok(())
}
