//! 特派员风采 at a county hub over HTTP, without sign-in: the list of the county's experts with
//! its filters, and an expert's page whose figures equal the per-expert rollups of the last 12
//! months (read here straight from the store), with no phone number; lectures and achievements
//! naming the expert.
#![allow(clippy::unwrap_used)]

use yizhan_core::item::{ItemDoc, NewItem};
use yizhan_core::published::PublishedDoc;
use yizhan_core::{CaseDoc, Event, EventKind, NewCase, NewPerson, RegionCode};
use yizhan_hub::Hub;
use yizhan_store::stats::PersonDim;
use yizhan_test_support::{Pki, start_hub};

const COUNTY: &str = "510131";

async fn get(hub: &Hub, path: &str) -> (reqwest::StatusCode, String) {
    let res = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{}{path}", hub.http_addr))
        .send()
        .await
        .unwrap();
    let s = res.status();
    (s, res.text().await.unwrap())
}

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis())
        .unwrap()
}

/// A case recorded `days_ago` in a village of the county and handled by `expert` with `events`.
async fn case(hub: &Hub, id: &str, expert: &str, days_ago: i64, events: &[(EventKind, i64)]) {
    let at_ms = now_ms() - days_ago * 86_400_000;
    let new = NewCase {
        region_code: "510131001001".into(),
        village_name: "光明村".into(),
        industry: "fruit".into(),
        subject: "柑橘".into(),
        description: "叶片有褐色病斑".into(),
        farmer_name: "何大姐".into(),
        officer: "officer-1".into(),
        ..NewCase::default()
    };
    let created = Event::new(format!("{id}-c"), at_ms, "officer-1", EventKind::Created);
    let (_, mut doc) = CaseDoc::create_by(&new, id, "kiosk-a", created, "officer-1").unwrap();
    for (n, (kind, value)) in events.iter().enumerate() {
        let mut e = Event::new(format!("{id}-{n}"), at_ms + 60_000 * (n as i64 + 1), "x", kind.clone());
        e.value = *value;
        if *kind == EventKind::Assigned {
            e.target = expert.into();
        }
        if *kind == EventKind::Answered {
            e.text = "喷药".into();
        }
        CaseDoc::append_event(&mut doc, e).unwrap();
    }
    let id = id.to_string();
    hub.store.call(move |db| db.create_doc(&id, "case", &mut doc)).await.unwrap();
}

/// A published item of `kind` with `fields` (made as a hub makes it from a signed-off item).
async fn published(hub: &Hub, id: &str, kind: &str, title: &str, fields: &[(&str, &str)]) {
    let new = NewItem {
        kind: kind.into(),
        centre: COUNTY.into(),
        title: title.into(),
        body: "正文".into(),
        ip_owner: "蒲江县农业农村局".into(),
        author: "staff".into(),
        fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    };
    let item = ItemDoc::create(&new, id, 1).unwrap().0;
    let kind = yizhan_core::item::Kind {
        name: Box::leak(kind.to_string().into_boxed_str()),
        name_zh: "测试",
        rules: yizhan_achievements::RULES,
        fields: &[],
        check: |_| Vec::new(),
    };
    let p = PublishedDoc::of_item(&item, &kind, "hub", 2);
    let mut doc = p.to_doc().unwrap();
    let pid = PublishedDoc::id_for(id);
    hub.store.call(move |db| db.create_doc(&pid, yizhan_core::published::DOC_TYPE, &mut doc)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experts_page_shows_the_rollups_of_the_last_year_and_no_phone() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let hub = start_hub(dir.path(), &pki.hub_tls(&Pki::hub(&pki.province, COUNTY)), None).await;
    for (id, name, industries, phone) in [
        ("expert-fruit", "王果树", vec!["fruit"], "13812345678"),
        ("expert-tea", "李茶叶", vec!["tea"], "13912345678"),
    ] {
        let np = NewPerson {
            id: id.into(),
            name: name.into(),
            role: "expert".into(),
            region_code: COUNTY.into(),
            industries: industries.into_iter().map(String::from).collect(),
            title: "高级农艺师".into(),
            phone: phone.into(),
            ..Default::default()
        };
        hub.accounts.create_person(&np, Some("showcase-test-pw")).await.unwrap();
    }
    use EventKind::*;
    let rated = |r| vec![(Escalated, 0), (Assigned, 0), (Answered, 0), (Closed, 0), (Rated, r)];
    case(&hub, "a", "expert-fruit", 10, &rated(5)).await;
    case(&hub, "b", "expert-fruit", 40, &rated(4)).await;
    case(&hub, "c", "expert-fruit", 60, &[(Escalated, 0), (Assigned, 0), (Answered, 0)]).await;
    case(&hub, "d", "expert-fruit", 80, &[(Escalated, 0), (Assigned, 0), (Breach, 0)]).await;
    // Older than a year: not counted.
    case(&hub, "old", "expert-fruit", 400, &rated(1)).await;

    // The rollups, read straight from the store over the same 12 months.
    let period = yizhan_hub::showcase::last_year(now_ms());
    let county = RegionCode::parse(COUNTY).unwrap();
    let rows =
        hub.store.call(move |db| db.stats_by_person(&county, period, PersonDim::Expert)).await.unwrap();
    let counts = rows.iter().find(|(k, _)| k == "expert-fruit").map(|(_, c)| *c).unwrap();
    assert_eq!(counts.answered, 3, "{counts:?}");

    let (s, page) = get(&hub, "/experts").await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert!(page.contains("王果树") && page.contains("李茶叶") && page.contains("高级农艺师"), "{page}");
    let (_, page) = get(&hub, "/experts?industry=tea").await;
    assert!(page.contains("李茶叶") && !page.contains("王果树"), "{page}");
    let (_, page) = get(&hub, "/experts?level=city").await;
    assert!(!page.contains("李茶叶") && !page.contains("王果树"), "{page}");

    published(&hub, "ach-1", "achievements.achievement", "柑橘黄龙病快速检测", &[("holder", "王果树团队")])
        .await;
    published(&hub, "ach-2", "achievements.achievement", "别人的成果", &[("holder", "某研究所")]).await;
    published(&hub, "lec-1", "lectures.lecture", "柑橘春季修剪讲座", &[("speaker", "expert-fruit")]).await;
    let (s, page) = get(&hub, "/experts/expert-fruit").await;
    assert_eq!(s, reqwest::StatusCode::OK, "{page}");
    let value = |key: &str| {
        let at = page.find(&format!("data-testid=\"{key}\">")).unwrap_or_else(|| panic!("{key}: {page}"));
        page[at..].split('>').nth(1).unwrap().split('<').next().unwrap().to_string()
    };
    assert_eq!(value("answered"), counts.answered.to_string());
    assert_eq!(value("onsite"), counts.onsite_visits.to_string());
    let in_time = counts.responded_in_time as f64 * 100.0 / counts.responded as f64;
    assert_eq!(value("in-time"), format!("{in_time:.1}%"));
    let rating = counts.rating_sum as f64 / counts.rated as f64;
    assert_eq!(value("rating"), format!("{rating:.2}"));
    assert_eq!(value("rating"), "4.50", "the case older than a year (rated 1) is not counted");
    assert!(!page.contains("1381") && !page.contains("5678"), "no phone number: {page}");
    assert!(page.contains("柑橘黄龙病快速检测") && !page.contains("别人的成果"), "{page}");
    assert!(page.contains("柑橘春季修剪讲座"), "{page}");
    let (_, tea) = get(&hub, "/experts/expert-tea").await;
    assert!(tea.contains("no-lectures") && tea.contains("no-achievements"), "{tea}");
    assert_eq!(get(&hub, "/experts/nobody").await.0, reqwest::StatusCode::NOT_FOUND);
}
