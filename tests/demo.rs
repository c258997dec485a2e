//! `yizhan demo` as a newcomer runs it: after the nodes start and sync settles, a kiosk's
//! find-similar (找类似) already finds the solved cases the county centre published, and its
//! 特派员讲堂 lists the county's lectures and pre-fetches the kiwifruit one, which plays from the
//! kiosk's copy. 产业信息 shows the industry records the county and the province published (both kinds, all
//! four databases), each with its IP owner and 相关信息.
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
    for text in
        ["data-testid=\"video-player\"", "data-testid=\"lecture-pdf\"", "四川农业大学", "签发：蒲江县管理员"]
    {
        assert!(lecture.contains(text), "{text}: {lecture}");
    }
}
