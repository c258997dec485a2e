//! 产业信息 on a real hub (real SQLite, the hub's router, sign-in, the cross-site token): one
//! record uploaded through the pipeline's form and a file of records through the XLSX upload
//! (row-by-row Chinese errors, nothing created from a bad file); review and sign-off by
//! different people (the uploader cannot sign off her own record; a county cannot sign off a
//! province record); the public pages without sign-in (filters, search, the IP owner,
//! 相关信息 linking records that share entities).
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use yizhan_core::NewPerson;
use yizhan_core::publication::StepKind;
use yizhan_hub::Hub;
use yizhan_test_support::{Pki, start_hub};

const PASSWORD: &str = "industry-test-pw";
const CSRF: &str = "00112233445566778899aabbccddeeff";

async fn add_people(hub: &Hub, people: &[(&str, &str, &str)]) {
    for (id, role, region) in people {
        let np = NewPerson {
            id: (*id).into(),
            name: format!("名-{id}"),
            role: (*role).into(),
            region_code: (*region).into(),
            industries: if *role == "expert" { vec!["fruit".into()] } else { Vec::new() },
            ..Default::default()
        };
        hub.accounts.create_person(&np, Some(PASSWORD)).await.unwrap();
    }
}

fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(COOKIE, format!("{}={CSRF}", yizhan_web::CSRF_COOKIE).parse().unwrap());
    headers.insert(yizhan_web::CSRF_HEADER, CSRF.parse().unwrap());
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .default_headers(headers)
        .build()
        .unwrap()
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

async fn sign_in(hub: &Hub, id: &str) -> String {
    let base = format!("http://{}", hub.http_addr);
    let res = client()
        .post(format!("{base}/signin/password"))
        .header(ORIGIN, &base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[("id", id), ("password", PASSWORD), ("next", "/desk")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signing in {id}");
    let cookie = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    format!("{}; {}={CSRF}", cookie.split(';').next().unwrap(), yizhan_web::CSRF_COOKIE)
}

async fn get(hub: &Hub, cookie: Option<&str>, path: &str) -> (StatusCode, String) {
    let mut req =
        reqwest::Client::builder().no_proxy().build().unwrap().get(format!("http://{}{path}", hub.http_addr));
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap_or_default())
}

async fn post(hub: &Hub, cookie: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let base = format!("http://{}", hub.http_addr);
    let res = client()
        .post(format!("{base}{path}"))
        .header(COOKIE, cookie)
        .header(ORIGIN, &base)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(form))
        .send()
        .await
        .unwrap();
    let location = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status(), location)
}

async fn upload(hub: &Hub, cookie: &str, name: &str, bytes: Vec<u8>) -> (StatusCode, String) {
    let base = format!("http://{}", hub.http_addr);
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    let res = client()
        .post(format!("{base}/desk/industry/import"))
        .header(COOKIE, cookie)
        .header(ORIGIN, &base)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn step(hub: &Hub, cookie: &str, id: &str, step: StepKind) -> StatusCode {
    post(hub, cookie, &format!("/desk/items/{id}/step"), &[("step", step.code()), ("note", "")]).await.0
}

async fn stage(hub: &Hub, cookie: &str, id: &str) -> String {
    let (s, page) = get(hub, Some(cookie), &format!("/desk/items/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let at = page.find("data-stage=\"").unwrap() + "data-stage=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

async fn item_bytes(hub: &Hub, id: &str) -> Vec<u8> {
    let id = id.to_string();
    hub.store.call(move |db| Ok(db.load_doc(&id)?.unwrap().save())).await.unwrap()
}

const PUJIANG_BODY: &str = "蒲江县猕猴桃种植面积约10万亩，以红心猕猴桃为主。依托四川农业大学和蒲江县猕猴桃研究所开展溃疡病绿色防控，\
四川蒲江猕猴桃产业发展有限公司建设冷链仓储。";

/// One record through the pipeline's form (the desk's item form, with the kind's fields).
async fn create(
    hub: &Hub,
    cookie: &str,
    kind: &str,
    title: &str,
    body: &str,
    fields: &[(&str, &str)],
) -> String {
    let (s, page) = get(hub, Some(cookie), &format!("/desk/items/new?kind={kind}")).await;
    assert_eq!(s, StatusCode::OK);
    for label in [
        "所属数据库",
        "地区",
        "产业",
        "作物或品种",
        "相关企业",
        "技术依托单位",
        "来源",
        "日期",
        "知识产权归属",
    ] {
        assert!(page.contains(label), "the form has {label}");
    }
    let mut form = vec![("kind", kind), ("title", title), ("body", body), ("ip_owner", "蒲江县农业农村局")];
    let keyed: Vec<(String, &str)> = fields.iter().map(|(k, v)| (format!("f.{k}"), *v)).collect();
    form.extend(keyed.iter().map(|(k, v)| (k.as_str(), *v)));
    let (s, location) = post(hub, cookie, "/desk/items", &form).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    location.strip_prefix("/desk/items/").unwrap().to_string()
}

fn pujiang_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("database", "产业现状"),
        ("region", "510131"),
        ("industry", "川果"),
        ("crops", "猕猴桃"),
        ("source", "蒲江县农业农村局"),
        ("date", "2026-04-20"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uploader_cannot_sign_off_and_a_county_cannot_sign_off_a_province_record() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let hub = start_hub(dir.path(), &pki.hub_tls(&pki.province), None).await;
    add_people(
        &hub,
        &[
            ("uploader", "staff", "510131"),
            ("reviewer", "staff", "510131"),
            ("signer", "admin", "510131"),
            ("p-uploader", "staff", "51"),
            ("p-reviewer", "staff", "51"),
            ("p-signer", "admin", "51"),
        ],
    )
    .await;
    let uploader = sign_in(&hub, "uploader").await;
    let reviewer = sign_in(&hub, "reviewer").await;
    let signer = sign_in(&hub, "signer").await;
    let id =
        create(&hub, &uploader, "industry.local", "蒲江县猕猴桃产业现状", PUJIANG_BODY, &pujiang_fields())
            .await;
    assert_eq!(step(&hub, &uploader, &id, StepKind::Submit).await, StatusCode::SEE_OTHER);
    assert_eq!(stage(&hub, &uploader, &id).await, "checked", "the kind's checks passed");
    assert_eq!(step(&hub, &reviewer, &id, StepKind::Review).await, StatusCode::SEE_OTHER);
    // The uploader may not sign off her own record: refused, nothing written, not offered.
    let before = item_bytes(&hub, &id).await;
    assert_eq!(step(&hub, &uploader, &id, StepKind::SignOff).await, StatusCode::FORBIDDEN);
    assert_eq!(item_bytes(&hub, &id).await, before);
    let (_, queue) = get(&hub, Some(&uploader), "/desk/review").await;
    assert!(!queue.contains(&format!("data-id=\"{id}\"")), "not in the uploader's queue");
    assert_eq!(step(&hub, &signer, &id, StepKind::SignOff).await, StatusCode::SEE_OTHER);
    assert_eq!(stage(&hub, &signer, &id).await, "published");

    // A province record: a county's centre staff cannot sign it off, the province can.
    let p_uploader = sign_in(&hub, "p-uploader").await;
    let p_reviewer = sign_in(&hub, "p-reviewer").await;
    let p_signer = sign_in(&hub, "p-signer").await;
    let pid = create(
        &hub,
        &p_uploader,
        "industry.news",
        "四川农业大学猕猴桃团队服务全省产区",
        "四川农业大学园艺学院猕猴桃团队在蒲江、都江堰、苍溪建立示范园，推广溃疡病综合防控技术。",
        &[
            ("database", "技术依托单位"),
            ("region", "51"),
            ("industry", "fruit"),
            ("institutions", "四川农业大学"),
            ("source", "四川省农业农村厅"),
            ("date", "2026-05"),
        ],
    )
    .await;
    assert_eq!(step(&hub, &p_uploader, &pid, StepKind::Submit).await, StatusCode::SEE_OTHER);
    assert_eq!(
        step(&hub, &reviewer, &pid, StepKind::Review).await,
        StatusCode::FORBIDDEN,
        "a county reviews no province record"
    );
    assert_eq!(step(&hub, &p_reviewer, &pid, StepKind::Review).await, StatusCode::SEE_OTHER);
    let before = item_bytes(&hub, &pid).await;
    assert_eq!(step(&hub, &signer, &pid, StepKind::SignOff).await, StatusCode::FORBIDDEN);
    assert_eq!(item_bytes(&hub, &pid).await, before, "a refused sign-off writes nothing");
    let (_, queue) = get(&hub, Some(&signer), "/desk/review").await;
    assert!(!queue.contains(&format!("data-id=\"{pid}\"")));
    assert_eq!(step(&hub, &p_uploader, &pid, StepKind::SignOff).await, StatusCode::FORBIDDEN);
    assert_eq!(step(&hub, &p_signer, &pid, StepKind::SignOff).await, StatusCode::SEE_OTHER);

    // Public, without sign-in: the list, filters, search, the page with its IP owner and
    // 相关信息 (the two records share 四川农业大学, 猕猴桃 and 蒲江县).
    let (s, list) = get(&hub, None, "/industry").await;
    assert_eq!(s, StatusCode::OK);
    let public = format!("pub-{id}");
    let p_public = format!("pub-{pid}");
    assert!(list.contains(&public) && list.contains(&p_public), "{list}");
    assert!(list.contains("产业信息"), "the module in the navigation");
    let (_, fruit) = get(&hub, None, "/industry?industry=fruit&db=status").await;
    assert!(fruit.contains(&public) && !fruit.contains(&p_public), "{fruit}");
    let (_, tea) = get(&hub, None, "/industry?industry=tea").await;
    assert!(!tea.contains(&public), "{tea}");
    let (_, found) = get(&hub, None, "/industry?q=%E5%86%B7%E9%93%BE").await; // 冷链
    assert!(found.contains(&public) && !found.contains(&p_public));
    let (_, chengdu) = get(&hub, None, "/industry?region=5101&kind=local").await;
    assert!(chengdu.contains(&public), "蒲江县 is in 成都市: {chengdu}");
    let (s, page) = get(&hub, None, &format!("/industry/{public}")).await;
    assert_eq!(s, StatusCode::OK);
    for text in [
        "蒲江县猕猴桃产业现状",
        "知识产权归属",
        "蒲江县农业农村局",
        "成都市 蒲江县",
        "川果",
        "相关信息",
        "签发：名-signer",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }
    let related = &page[page.find("data-testid=\"related\"").unwrap()..];
    assert!(related.contains(&p_public) && related.contains("四川农业大学"), "{related}");
    // Withdrawn: gone from the public pages.
    assert_eq!(step(&hub, &signer, &id, StepKind::Withdraw).await, StatusCode::SEE_OTHER);
    assert_eq!(get(&hub, None, &format!("/industry/{public}")).await.0, StatusCode::NOT_FOUND);
    assert!(!get(&hub, None, "/industry").await.1.contains(&public));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_failing_the_kinds_checks_stays_with_its_uploader() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let hub = start_hub(dir.path(), &pki.hub_tls(&Pki::hub(&pki.province, "510131")), None).await;
    add_people(&hub, &[("uploader", "staff", "510131")]).await;
    let uploader = sign_in(&hub, "uploader").await;
    let id = create(
        &hub,
        &uploader,
        "industry.local",
        "龙头企业",
        "全省柑橘加工企业名录。",
        &[
            ("database", "龙头企业"),
            ("region", "51"),
            ("industry", "苹果"),
            ("source", "x"),
            ("date", "2026-02-30"),
        ],
    )
    .await;
    assert_eq!(step(&hub, &uploader, &id, StepKind::Submit).await, StatusCode::SEE_OTHER);
    assert_eq!(stage(&hub, &uploader, &id).await, "check_failed");
    let (_, page) = get(&hub, Some(&uploader), &format!("/desk/items/{id}")).await;
    for problem in ["不在“10+3”产业之中", "日期“2026-02-30”无法识别", "须填写相关企业", "不是全省"]
    {
        assert!(page.contains(problem), "{problem}: {page}");
    }
}

/// A workbook with the template's header and `rows` under it.
fn workbook(rows: &[[&str; 12]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    let header = [
        "类别",
        "所属数据库",
        "标题",
        "地区",
        "产业",
        "作物或品种",
        "相关企业",
        "技术依托单位",
        "来源",
        "日期",
        "正文",
        "知识产权归属",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_of_records_becomes_drafts_only_when_every_row_is_right() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let hub = start_hub(dir.path(), &pki.hub_tls(&Pki::hub(&pki.province, "510131")), None).await;
    add_people(&hub, &[("uploader", "staff", "510131"), ("expert", "expert", "510131")]).await;
    let uploader = sign_in(&hub, "uploader").await;
    // The template downloads, and reads back as one good record.
    let base = format!("http://{}", hub.http_addr);
    let res = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{base}/desk/industry/template.xlsx"))
        .header(COOKIE, &uploader)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let template = res.bytes().await.unwrap().to_vec();
    let parsed = yizhan_industry::xlsx::parse(&template, "t.xlsx", "510131").unwrap();
    assert_eq!((parsed.rows.len(), parsed.errors.len()), (1, 0), "{:?}", parsed.errors);

    let good1 = [
        "地方特色产业",
        "产业现状",
        "蒲江县猕猴桃产业现状",
        "成都市/蒲江县",
        "川果",
        "猕猴桃",
        "",
        "四川农业大学",
        "蒲江县农业农村局",
        "2026-04-20",
        PUJIANG_BODY,
        "蒲江县农业农村局",
    ];
    let good2 = [
        "宏观产业资讯",
        "发展趋势",
        "雅安藏茶边销趋势",
        "5118",
        "川茶",
        "藏茶",
        "雅安市友谊茶叶有限公司",
        "",
        "雅安市农业农村局",
        "2026/03/01",
        "藏茶边销量稳中有升。",
        "雅安市农业农村局",
    ];
    let bad_region = [
        "地方特色产业",
        "产业现状",
        "某地",
        "火星市",
        "川果",
        "",
        "",
        "",
        "x",
        "2026-01-01",
        "正文",
        "某单位",
    ];
    let bad_many = [
        "宏观产业资讯",
        "新闻",
        "联系人",
        "51",
        "川茶",
        "",
        "",
        "",
        "x",
        "明天",
        "请联系 138 1234 5678",
        "某单位",
    ];
    let (s, page) =
        upload(&hub, &uploader, "records.xlsx", workbook(&[good1, bad_region, good2, bad_many])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    for text in
        ["没有创建任何条目", "无法识别地区“火星市”", "所属数据库应为", "日期“明天”无法识别", "疑似个人号码"]
    {
        assert!(page.contains(text), "{text}: {page}");
    }
    assert!(page.contains("<td>3</td>") && page.contains("<td>5</td>"), "rows as Excel numbers them: {page}");
    assert!(!page.contains("<td>2</td>") && !page.contains("<td>4</td>"), "good rows are not listed: {page}");
    assert!(hub.store.call(|db| db.all_publications()).await.unwrap().is_empty(), "nothing created");
    // Not a workbook; no rows: refused, nothing created.
    let (s, page) = upload(&hub, &uploader, "x.xlsx", b"not a workbook".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("文件已损坏"), "{page}");
    // An expert is not a centre: refused before the file is read.
    let expert = sign_in(&hub, "expert").await;
    assert_eq!(upload(&hub, &expert, "records.xlsx", workbook(&[good1])).await.0, StatusCode::FORBIDDEN);
    assert!(hub.store.call(|db| db.all_publications()).await.unwrap().is_empty());

    // Fixed: every row a draft of the uploader's centre, fields normalised.
    let (s, page) = upload(&hub, &uploader, "records.xlsx", workbook(&[good1, good2])).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("data-testid=\"imported\">2<"), "{page}");
    let rows = hub.store.call(|db| db.all_publications()).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.stage == "draft" && r.centre == "510131"));
    for r in &rows {
        let id = r.doc_id.clone();
        let doc = hub.store.call(move |db| db.load_doc(&id)).await.unwrap().unwrap();
        let item = yizhan_core::item::ItemDoc::from_doc(&doc).unwrap();
        if item.title == "蒲江县猕猴桃产业现状" {
            assert_eq!(item.fields["region"], "510131", "the written region resolved to its code");
            assert_eq!(item.fields["industry"], "fruit");
        } else {
            assert_eq!(item.fields["date"], "2026-03-01");
            assert_eq!(item.kind, "industry.news");
        }
        // Each goes on through the pipeline: the uploader submits, the checks pass.
        assert_eq!(step(&hub, &uploader, &r.doc_id, StepKind::Submit).await, StatusCode::SEE_OTHER);
        assert_eq!(stage(&hub, &uploader, &r.doc_id).await, "checked");
    }
}
