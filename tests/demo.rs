//! `yizhan demo` as a newcomer runs it: after the nodes start and sync settles, a kiosk's
//! find-similar (找类似) already finds the solved cases the county centre published, and its
//! 特派员讲堂 lists the county's lectures and pre-fetches the kiwifruit one, which plays from the
//! kiosk's copy. 产业信息 shows the industry records the county and the province published (both kinds, all
//! four databases), each with its IP owner and 相关信息. 特派员风采 at the kiosk shows the county's
//! two featured experts.
#![allow(clippy::unwrap_used)]

#[path = "support/process.rs"]
#[allow(dead_code)] // shared by the binary's end-to-end tests, each using part of it
mod process;

use std::time::{Duration, Instant};

use process::{Proc, free_ports};

#[test]
fn a_fresh_demo_kiosk_finds_the_countys_published_knowledge() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_ports(4);
    let demo = Proc::spawn_in(&["demo", "--port", &port.to_string()], Some(dir.path()), "warn");
    let lines = &demo.lines;
    // "  kiosk kiosk-510131001001 (…): http://127.0.0.1:P/"
    let mut seen = Vec::new();
    let started = Instant::now();
    let (mut kiosk, mut county) = (None, None);
    while kiosk.is_none() || county.is_none() {
        assert!(started.elapsed() < Duration::from_secs(60), "the demo never started:\n{}", seen.join("\n"));
        let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) else { continue };
        let url = || line.split("http://").nth(1).map(|u| u.trim().trim_end_matches('/').to_string());
        if line.contains("kiosk kiosk-510131001001") {
            kiosk = url();
        }
        if line.contains("county hub") {
            county = url();
        }
        seen.push(line);
    }
    let (kiosk, county) = (kiosk.unwrap(), county.unwrap());
    // The first kiosk's own demo case describes rice blast; the county has published its answer.
    let url = format!("http://{kiosk}/api/similar?q={}", "水稻叶片上有梭形褐色病斑，中间灰白色");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let found = reqwest::blocking::get(&url).ok().and_then(|r| r.json::<serde_json::Value>().ok());
        let text = found.as_ref().map(|v| v.to_string()).unwrap_or_default();
        if text.contains("稻瘟病") {
            assert!(!text.contains("示范农户"), "the farmer's name is scrubbed: {text}");
            break;
        }
        assert!(Instant::now() < deadline, "find-similar never found the demo knowledge: {text}");
        std::thread::sleep(Duration::from_millis(500));
    }

    // 供销对接 and 成果转化: the stations' and the county's listings, published through the
    // pipeline, at the kiosk without sign-in (the expired one only when asked); the board with
    // a picked bounty at the county, which holds its claims.
    let page = |url: String| reqwest::blocking::get(url).unwrap().text().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let list = page(format!("http://{kiosk}/supply"));
        if list.contains("丑柑 8000 斤") && list.contains("春见 50 吨") {
            assert!(list.contains("村级驿站信息员") && !list.contains("猕猴桃 2000 斤"), "{list}");
            break;
        }
        assert!(Instant::now() < deadline, "the demo's listings never reached the kiosk: {list}");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(page(format!("http://{kiosk}/supply?expired=1")).contains("猕猴桃 2000 斤"));
    let kiosk_board = page(format!("http://{kiosk}/achievements?kind=achievements.bounty"));
    let bounty =
        kiosk_board.split("href=\"/achievements/bounty/").nth(1).unwrap_or_else(|| panic!("{kiosk_board}"));
    let bounty = bounty.split('"').next().unwrap();
    assert!(page(format!("http://{kiosk}/achievements/bounty/{bounty}")).contains("bounty-board"));
    let board = page(format!("http://{county}/achievements"));
    assert!(
        board.contains("已揭榜") && board.contains("2 人抢单") && board.contains("柑橘黄龙病快速检测试剂盒"),
        "{board}"
    );

    // 产业信息: the county's 5 records and the province's 9 reach the kiosk as public documents.
    let get = |path: &str| {
        reqwest::blocking::get(format!("http://{kiosk}{path}"))
            .ok()
            .and_then(|r| r.text().ok())
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    let list = loop {
        let list = get("/industry");
        if list.matches("<li data-id=\"pub-").count() >= 14 {
            break list;
        }
        assert!(Instant::now() < deadline, "the demo's industry records never reached the kiosk: {list}");
        std::thread::sleep(Duration::from_millis(500));
    };
    for text in [
        "宏观产业资讯",
        "地方特色产业",
        "产业现状",
        "龙头企业",
        "技术依托单位",
        "发展趋势",
        "雅安藏茶产业现状",
        "蒲江县猕猴桃产业现状",
    ] {
        assert!(list.contains(text), "{text}: {list}");
    }
    let tea = get("/industry?industry=tea");
    assert!(tea.contains("雅安藏茶产业现状") && !tea.contains("眉山晚熟柑橘产业现状"), "{tea}");
    let at = list.find("蒲江县猕猴桃产业现状").unwrap();
    let href = list[..at].rsplit("href=\"").next().unwrap().split('"').next().unwrap().to_string();
    let page = get(&href);
    for text in [
        "知识产权归属",
        "蒲江县农业农村局",
        "相关信息",
        "四川农业大学猕猴桃团队服务全省产区",
        "签发：蒲江县管理员",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }

    // 农村双创平台: the province's eight platforms on the kiosk's map and list, filtered by type;
    // 蒲江's kiwifruit record suggests the nearest fruit platforms, 蒲江's own first.
    let deadline = Instant::now() + Duration::from_secs(90);
    let map = loop {
        let map = get("/innovation");
        if map.matches("data-testid=\"platform\"").count() >= 8 {
            break map;
        }
        assert!(Instant::now() < deadline, "the demo's platforms never reached the kiosk: {map}");
        std::thread::sleep(Duration::from_millis(500));
    };
    for text in
        ["星创天地", "众创空间", "科技企业孵化器", "农业科技园区", "国家级", "省级", "市级", "innovation-map"]
    {
        assert!(map.contains(text), "{text}: {map}");
    }
    let parks = get("/innovation?type=park");
    assert_eq!(parks.matches("data-testid=\"platform\"").count(), 3, "{parks}");
    let json: serde_json::Value = serde_json::from_str(&get("/api/innovation?city=5101")).unwrap();
    assert_eq!(json["platforms"].as_array().map(Vec::len), Some(2), "{json}");
    let nearest = page.split("data-testid=\"nearest\"").nth(1).unwrap_or_else(|| panic!("{page}"));
    assert!(nearest.contains("蒲江县猕猴桃星创天地"), "{page}");

    // 特派员风采 at the county hub, without sign-in: its experts, each with a page of figures.
    let fetch = |url: String| reqwest::blocking::get(url).unwrap().text().unwrap();
    let experts = fetch(format!("http://{county}/experts"));
    let first = experts.split("href=\"/experts/").nth(1).unwrap_or_else(|| panic!("{experts}"));
    let expert = fetch(format!("http://{county}/experts/{}", first.split('"').next().unwrap()));
    assert!(expert.contains("data-testid=\"answered\"") && expert.contains("特派员讲堂"), "{expert}");
    // The county's two featured experts come first there, and reach the kiosk's 特派员风采.
    let first_two: Vec<&str> = experts.split("data-featured=\"").skip(1).take(2).map(|s| &s[..4]).collect();
    assert_eq!(first_two, ["true", "true"], "{experts}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let shown = loop {
        let shown = fetch(format!("http://{kiosk}/experts"));
        if shown.contains("李果") && shown.contains("王春茶") {
            break shown;
        }
        assert!(Instant::now() < deadline, "the featured experts never reached the kiosk: {shown}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(shown.matches("data-testid=\"featured-expert\"").count(), 2, "{shown}");
    assert!(shown.contains("高级农艺师") && !shown.contains("陈蔬"), "{shown}");

    // 安全熔断: the province's sensitive-word list reached the kiosk (read from its database,
    // read-only beside the running kiosk: no page shows the words).
    let db = dir.path().join("kiosk-510131001001/yizhan.sqlite3");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let conn =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let held: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM docs WHERE id = 'sensitive-words' AND doc_type = 'sensitive_words'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if held == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sensitive-word list never reached the kiosk ({})",
            db.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // 补贴发放: last month's statement of 蒲江县, prepared at the county and approved at the
    // province, is approved at the county (the decision came back down), with masked numbers.
    let http =
        reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (csrf, token) = yizhan_web::client_cookie();
    let base = format!("http://{county}");
    let res = http
        .post(format!("{base}/signin/password"))
        .header(reqwest::header::ORIGIN, &base)
        .header(reqwest::header::COOKIE, &csrf)
        .header(yizhan_web::CSRF_HEADER, &token)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("id=staff&password=yizhan2026&next=%2Fdesk")
        .send()
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let session =
        res.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let desk = |path: &str| {
        http.get(format!("{base}{path}"))
            .header(reqwest::header::COOKIE, format!("{session}; {csrf}"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    let list = loop {
        let list = desk("/desk/subsidies");
        if list.contains("data-testid=\"approved-totals\"") {
            break list;
        }
        assert!(Instant::now() < deadline, "the demo's statement is never approved at the county: {list}");
        std::thread::sleep(Duration::from_millis(500));
    };
    let id = list.split("href=\"/desk/subsidies/subsidy-").nth(1).unwrap().split('"').next().unwrap();
    let statement = desk(&format!("/desk/subsidies/subsidy-{id}"));
    assert!(
        statement.contains("已批准")
            && statement.contains("data-person=")
            && statement.contains(" **** **** "),
        "{statement}"
    );
    for number in ["6228480012345678903", "6222021234567890128", "4111111111111111", "510104199003070015"] {
        assert!(!statement.contains(number), "{statement}");
    }
    let payees = desk("/desk/subsidies/payees");
    assert!(payees.contains("5101**********0031") && !payees.contains("510131198506120031"), "{payees}");

    // 特派员讲堂: the county's three lectures reach the kiosk; the kiwifruit one (fruit, an
    // industry of the county's published records) is pre-fetched and plays from the kiosk's copy.
    let deadline = Instant::now() + Duration::from_secs(120);
    let lectures = loop {
        let list = get("/lectures");
        if list.matches("data-testid=\"lecture\"").count() >= 3 {
            break list;
        }
        assert!(Instant::now() < deadline, "the demo's lectures never reached the kiosk: {list}");
        std::thread::sleep(Duration::from_millis(500));
    };
    for text in ["猕猴桃溃疡病冬季防控", "生猪非洲猪瘟生物安全", "茶园春季管理", "主讲：王建国"]
    {
        assert!(lectures.contains(text), "{text}: {lectures}");
    }
    let at = lectures.find("猕猴桃溃疡病冬季防控").unwrap();
    let href = lectures[..at].rsplit("href=\"").next().unwrap().split('"').next().unwrap().to_string();
    let lecture = loop {
        let lecture = get(&href);
        if lecture.contains("已缓存") {
            break lecture;
        }
        assert!(Instant::now() < deadline, "the kiwifruit lecture was never pre-fetched: {lecture}");
        std::thread::sleep(Duration::from_millis(500));
    };
    for text in [
        "data-testid=\"video-player\"",
        "data-testid=\"lecture-pdf\"",
        "四川农业大学",
        "签发：蒲江县管理员",
        // Each opening of the page is a view, counted at the kiosk.
        "data-testid=\"lecture-views\"",
    ] {
        assert!(lecture.contains(text), "{text}: {lecture}");
    }
    // The county's lecture list shows the demo's views (recorded at its pages; the second
    // lecture's 7, which no kiosk opened here).
    let list = fetch(format!("http://{county}/lectures"));
    assert!(list.contains("data-testid=\"lecture-views\"") && list.contains("观看 7 次"), "{list}");
}
