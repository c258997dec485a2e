//! `yizhan demo`: a province hub, a county hub and two village kiosks on this machine, with
//! certificates made on the fly, so a newcomer can record a case and watch it travel, and with
//! a few solved cases the county centre has published as knowledge, so 找类似 finds something.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context;
use yizhan_identity::{Authority, NodeIdentity, Role, TrustRoots};

use crate::localhost;
use crate::nodes::{pki_dir, start_hub, start_kiosk};

const PROVINCE: &str = "province";
const COUNTY: &str = "hub-510131";
const COUNTY_SCOPE: &str = "510131"; // 蒲江县
const KIOSKS: [(&str, &str); 2] =
    [("kiosk-510131001001", "510131001001"), ("kiosk-510131002001", "510131002001")];

/// Every demo account's password (printed by `yizhan demo`).
pub const DEMO_PASSWORD: &str = "yizhan2026";

type DemoPerson = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// (id, name, role, region, industries, specialities)
const COUNTY_PEOPLE: [DemoPerson; 8] = [
    ("admin", "蒲江县管理员", "admin", COUNTY_SCOPE, &[], &[]),
    ("staff", "张敏", "staff", COUNTY_SCOPE, &[], &[]),
    ("expert-fruit", "李果", "expert", COUNTY_SCOPE, &["fruit"], &["柑橘病害", "猕猴桃栽培", "果树修剪"]),
    ("expert-tea", "王春茶", "expert", COUNTY_SCOPE, &["tea"], &["茶树病虫害", "茶叶加工"]),
    ("expert-veg", "陈蔬", "expert", COUNTY_SCOPE, &["vegetable", "grain_oil"], &["蔬菜病害", "水稻病虫害"]),
    ("expert-pig", "赵兽医", "expert", COUNTY_SCOPE, &["pig", "cattle_sheep"], &["生猪疫病", "母猪繁育"]),
    ("officer-1", "刘信息员", "officer", KIOSKS[0].1, &[], &[]),
    ("officer-2", "周信息员", "officer", KIOSKS[1].1, &[], &[]),
];

const PROVINCE_PEOPLE: [DemoPerson; 3] = [
    ("province-admin", "省管理员", "admin", "51", &[], &[]),
    ("province-staff", "黄运营", "staff", "51", &[], &[]),
    ("expert-province", "吴教授", "expert", "51", &["fruit", "vegetable", "tea"], &["果树病害", "植物病理"]),
];

/// Creates the demo's people on a hub (once; later starts find them).
async fn seed_people(hub: &yizhan_hub::Hub, people: &[DemoPerson]) -> anyhow::Result<()> {
    for (id, name, role, region, industries, specialities) in people {
        let np = yizhan_core::NewPerson {
            id: (*id).into(),
            name: (*name).into(),
            role: (*role).into(),
            region_code: (*region).into(),
            industries: industries.iter().map(|s| s.to_string()).collect(),
            specialities: specialities.iter().map(|s| s.to_string()).collect(),
            title: if *role == "expert" { "高级农艺师".into() } else { String::new() },
            ..Default::default()
        };
        match hub.accounts.create_person(&np, Some(DEMO_PASSWORD)).await {
            Ok(_) | Err(yizhan_accounts::AccountError::Exists(_)) => {}
            Err(e) => anyhow::bail!("creating demo person {id}: {e}"),
        }
    }
    Ok(())
}

/// A case the county centre has already served, for the demo's knowledge base.
struct SolvedCase {
    id: &'static str,
    /// Index into [`KIOSKS`] (the village it was recorded in) and into the officers.
    kiosk: usize,
    industry: &'static str,
    subject: &'static str,
    description: &'static str,
    expert: &'static str,
    answer: &'static str,
}

/// Solved cases the demo starts with, so 找类似 at a kiosk finds something (two of them answer
/// the kind of problem the first kiosk's demo cases describe).
const SOLVED: [SolvedCase; 4] = [
    SolvedCase {
        id: "demo-solved-citrus-chlorosis",
        kiosk: 0,
        industry: "fruit",
        subject: "柑橘",
        description: "柑橘新叶发黄，叶脉还是绿的，老叶正常，园子地势低、土壤偏碱。",
        expert: "expert-fruit",
        answer: "这是柑橘缺铁黄化。叶面喷施螯合铁（如 EDDHA-Fe）0.1%–0.2%，10 天一次，连喷 2–3 \
                 次；雨季注意开沟排水，增施有机肥，少施石灰等碱性肥料。",
    },
    SolvedCase {
        id: "demo-solved-rice-blast",
        kiosk: 0,
        industry: "grain_oil",
        subject: "水稻",
        description: "水稻叶片上出现梭形病斑，边缘褐色、中间灰白色，阴雨天扩展很快。",
        expert: "expert-veg",
        answer: "这是稻瘟病（叶瘟）。发病初期用三环唑或稻瘟灵喷雾，7 天左右再喷一次；破口期预防穗颈瘟；\
                 控制氮肥，浅水勤灌，病稻草不要还田。",
    },
    SolvedCase {
        id: "demo-solved-tea-leafhopper",
        kiosk: 1,
        industry: "tea",
        subject: "茶树",
        description: "茶树嫩叶背面有很多小绿虫，叶片卷曲发黄，芽梢长得慢。",
        expert: "expert-tea",
        answer: "这是茶小绿叶蝉为害。及时分批采摘带走虫卵，清除茶园杂草，挂黄板诱杀；虫多时用联苯菊酯\
                 或茶皂素喷雾，过了安全间隔期再采茶。",
    },
    SolvedCase {
        id: "demo-solved-piglet-diarrhoea",
        kiosk: 1,
        industry: "pig",
        subject: "生猪",
        description: "保育猪拉稀，粪便黄色水样，有的呕吐，吃得少。",
        expert: "expert-pig",
        answer: "疑似病毒性腹泻。立即隔离病猪，保温并保持圈舍干燥，口服补液盐防脱水；圈舍和用具用火碱\
                 或过氧乙酸消毒；请兽医采样确诊，不要自行滥用抗生素。",
    },
];

fn demo_actor(id: &str, role: yizhan_core::Role, region: &str) -> anyhow::Result<yizhan_core::Actor> {
    let name = COUNTY_PEOPLE.iter().find(|p| p.0 == id).map_or(id, |p| p.1);
    Ok(yizhan_core::Actor {
        person_id: id.into(),
        name: name.into(),
        role,
        region: yizhan_core::RegionCode::parse(region)?,
    })
}

/// Records the demo's solved cases at the county hub, each through the service's steps as the
/// desk and the kiosk take them (escalated, assigned, answered, closed, rated), then signed off
/// for publication (`knowledge_approved`) as staff do on the desk: the county's publisher turns
/// them into knowledge, which syncs down to the kiosks' find-similar. Once: a later start finds
/// them.
pub async fn seed_knowledge(county: &yizhan_hub::Hub) -> anyhow::Result<usize> {
    use yizhan_core::Role as R;
    use yizhan_hub::service::{self, ActInput};
    let staff = demo_actor("staff", R::Staff, COUNTY_SCOPE)?;
    let mut added = 0;
    for (i, c) in SOLVED.iter().enumerate() {
        let (officer_id, village) = (if c.kiosk == 0 { "officer-1" } else { "officer-2" }, KIOSKS[c.kiosk].1);
        let officer = demo_actor(officer_id, R::Officer, village)?;
        let expert = demo_actor(c.expert, R::Expert, COUNTY_SCOPE)?;
        let new = yizhan_core::NewCase {
            region_code: village.into(),
            village_name: "示范村".into(),
            industry: c.industry.into(),
            subject: c.subject.into(),
            description: c.description.into(),
            farmer_name: format!("示范农户{}", i + 1),
            farmer_phone: String::new(),
            officer: officer_id.into(),
        };
        let id = c.id.to_string();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let steps: Vec<(yizhan_core::Actor, ActInput)> = vec![
            (officer.clone(), ActInput { kind: "escalated".into(), ..Default::default() }),
            (
                staff.clone(),
                ActInput { kind: "assigned".into(), target: c.expert.into(), ..Default::default() },
            ),
            (expert, ActInput { kind: "answered".into(), text: c.answer.into(), ..Default::default() }),
            (officer.clone(), ActInput { kind: "closed".into(), ..Default::default() }),
            (
                officer,
                ActInput {
                    kind: "rated".into(),
                    value: 5,
                    text: "答复管用，问题解决了。".into(),
                    ..Default::default()
                },
            ),
            (
                staff.clone(),
                ActInput {
                    kind: "knowledge_approved".into(),
                    text: "演示数据：审核通过".into(),
                    ..Default::default()
                },
            ),
        ];
        let origin = KIOSKS[c.kiosk].0;
        let done = county
            .store
            .call(move |db| {
                if db.load_doc(&id)?.is_some() {
                    return Ok(Ok(false));
                }
                let created = yizhan_core::Event::new(
                    format!("{id}-created"),
                    now_ms,
                    &new.officer,
                    yizhan_core::EventKind::Created,
                );
                let (_, doc) = match yizhan_core::CaseDoc::create(&new, &id, origin, created) {
                    Ok(d) => d,
                    Err(e) => return Ok(Err(format!("case {id}: {e}"))),
                };
                db.create_docs_with(vec![(id.clone(), yizhan_core::case::DOC_TYPE, doc)], Vec::new(), &[])?;
                for (actor, input) in steps {
                    let kind = input.kind.clone();
                    if let Err(e) = service::act(db, &actor, &id, input, format!("{id}-{kind}")) {
                        return Ok(Err(format!("case {id}, step {kind}: {e}")));
                    }
                }
                Ok(Ok(true))
            })
            .await?
            .map_err(anyhow::Error::msg)?;
        added += usize::from(done);
    }
    county.directory.invalidate();
    Ok(added)
}

/// Loads the CA kept in `dir/pki`, or makes it with `make` on first run.
fn authority(
    dir: &std::path::Path,
    make: impl FnOnce() -> anyhow::Result<Authority>,
) -> anyhow::Result<Authority> {
    let pki = pki_dir(dir);
    if pki.join("ca.key").exists() {
        return Authority::load(&pki, SystemTime::now())
            .with_context(|| format!("loading {}", pki.display()));
    }
    let a = make()?;
    a.save(&pki)?;
    Ok(a)
}

pub async fn run(base: PathBuf, port: u16) -> anyhow::Result<()> {
    let now = SystemTime::now();
    let province_dir = base.join("province");
    let county_dir = base.join("county-510131");
    let province_ca = authority(&province_dir, || Ok(Authority::init(PROVINCE, "51", now)?))?;
    authority(&county_dir, || Ok(province_ca.create_child_hub(COUNTY, COUNTY_SCOPE, now)?))?;
    let county_ca = Authority::load(&pki_dir(&county_dir), now)?;

    let province = start_hub(province_dir, localhost(port + 3), localhost(0), None, dev_sms()).await?;
    let county = start_hub(
        county_dir,
        localhost(port + 2),
        localhost(0),
        Some((province.sync_addr, PROVINCE.to_string())),
        dev_sms(),
    )
    .await?;

    seed_people(&county, &COUNTY_PEOPLE).await?;
    seed_people(&province, &PROVINCE_PEOPLE).await?;
    let solved = seed_knowledge(&county).await?;
    if solved > 0 {
        tracing::info!(cases = solved, "recorded the demo's solved cases for the knowledge base");
    }
    let industry = crate::demo_industry::seed(&province, &county).await?;
    if industry > 0 {
        tracing::info!(records = industry, "published the demo's industry information");
    }
    crate::demo_showcase::seed(&province).await?;
    let now_ms =
        now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    crate::demo_market::seed(&province, &county, COUNTY_SCOPE, &KIOSKS, now_ms).await?;
    crate::demo_lectures::seed(&county).await?;
    let started = std::time::Instant::now();
    let history = crate::demo_history::seed(&province, &county, COUNTY_SCOPE, now_ms).await?;
    crate::demo_targets::seed(&province, &county, COUNTY_SCOPE).await?;
    crate::demo_featured::seed(&county, COUNTY_SCOPE).await?;
    crate::demo_breaker::seed(&province).await?;
    crate::demo_subsidies::seed(&province, &county, COUNTY_SCOPE).await?;
    if history > 0 {
        tracing::info!(
            cases = history,
            ms = started.elapsed().as_millis() as u64,
            "wrote the demo's year of history"
        );
    }

    let mut kiosk_urls = Vec::new();
    let mut kiosks = Vec::new();
    for (i, (node_id, village)) in KIOSKS.iter().enumerate() {
        let dir = base.join(node_id);
        let pki = pki_dir(&dir);
        let roots: TrustRoots = county_ca.roots().clone();
        let creds = match yizhan_identity::NodeCredentials::load(&pki) {
            Ok(creds) => creds,
            Err(_) => {
                let creds =
                    county_ca.issue_credentials(&NodeIdentity::new(node_id, Role::Kiosk, village)?, now)?;
                creds.save(&pki)?;
                roots.save(&pki)?;
                creds
            }
        };
        let tls = yizhan_net::NodeTls {
            creds: std::sync::Arc::new(creds),
            revocation: std::sync::Arc::new(yizhan_identity::RevocationState::new(roots.clone())),
            roots,
            clock: yizhan_identity::system_clock(),
        };
        let uplink = Some((county.sync_addr, COUNTY.to_string(), tls));
        let (state, listener) =
            start_kiosk(dir, localhost(port + i as u16), village, None, i == 0, uplink, dev_sms()).await?;
        kiosk_urls.push((node_id.to_string(), village.to_string(), listener.local_addr()?));
        kiosks.push(state.clone());
        tokio::spawn(async move {
            if let Err(e) = yizhan_kiosk::serve(state, listener).await {
                tracing::error!(error = %e, "kiosk stopped");
            }
        });
    }

    println!("驿站 demo running (data in {}):", base.display());
    for (id, village, addr) in &kiosk_urls {
        println!("  kiosk {id} ({}): http://{addr}/", yizhan_core::regions().path_name(village));
    }
    println!("  county hub {COUNTY} (蒲江县): http://{}/", county.http_addr);
    println!("  province hub {PROVINCE}: http://{}/", province.http_addr);
    println!(
        "  demo accounts (password {DEMO_PASSWORD}), sign in at /desk on the hubs and /signin on the kiosks:"
    );
    for (id, name, role, region, ..) in COUNTY_PEOPLE.iter().chain(PROVINCE_PEOPLE.iter()) {
        let place = match yizhan_core::regions().path_name(region) {
            p if p.is_empty() => {
                yizhan_core::regions().get(region).map(|r| r.name.clone()).unwrap_or_default()
            }
            p => p,
        };
        println!("    {id:<16} {name} ({role}, {place})");
    }
    for (id, name, role, region) in crate::demo_industry::people() {
        println!(
            "    {id:<16} {name} ({role}, {})",
            yizhan_core::regions().get(region).map_or("", |r| r.name.as_str())
        );
    }
    println!(
        "产业信息: published industry records (both kinds, all four databases) at /industry on the hubs and kiosks; \
         upload more at /desk/industry/import (staff), review (reviewer) and sign off (admin) on the county hub."
    );
    println!(
        "特派员讲堂: lectures (video and PDF) at /lectures on the hubs and kiosks; kiosks pre-fetch those of their region's industries."
    );
    println!(
        "供销对接 and 成果转化: farmers' offers and requests at /supply (a signed-in officer adds them at a kiosk: 为农户登记供求信息), \
         achievements, technology demands and the bounty board at /achievements (experts claim 抢单 on the county hub)."
    );
    println!(
        "The county has published {} solved cases as knowledge: 找类似 on a kiosk finds them once synced.",
        SOLVED.len()
    );
    println!(
        "统计 (statistics) with a year of demo history in eight counties: /desk/stats on the province hub \
         (province-staff) or the county hub (staff)."
    );
    println!(
        "可视化中心 (map, trends, funnel, targets): /dashboard on either hub; 指标 /desk/targets (set by \
         province-admin and the county's admin); 考评 /desk/evaluation (the county's experts and officers)."
    );
    println!(
        "补贴发放: /desk/subsidies on the county hub (staff prepares a month, admin exports the payment list with \
         full numbers) and on the province hub (province-staff approves); the standard at /desk/subsidies/standard \
         (province-admin). Last month's statement of 蒲江县 is prepared and approved; payees' numbers are fake."
    );
    println!(
        "Record a case on a kiosk, then watch it arrive on the county and province pages. Ctrl-C stops."
    );
    crate::nodes::shutdown_signal().await;
    for k in &kiosks {
        k.close().await;
    }
    county.close().await;
    province.close().await;
    Ok(())
}

/// The demo sends no SMS: codes and notices go to the log.
fn dev_sms() -> std::sync::Arc<dyn yizhan_accounts::SmsSender> {
    std::sync::Arc::new(yizhan_accounts::DevLogSender)
}
