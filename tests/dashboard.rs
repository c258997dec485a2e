#![allow(clippy::unwrap_used)]
//! The visualisation centre (`/dashboard`) in a real headless Chromium against the real
//! `yizhan demo` (a province hub and a county hub with a year of synthetic history): province
//! staff sign in, the map is drawn (the ECharts instance in the page holds Sichuan's 21 cities,
//! each with a value, the demo's counties' cities above zero), a real mouse click on a city
//! opens its counties; a county's staff cannot see another county's figures, neither on the
//! page nor at `/api/stats`.
//!
//! Needs Debian's `chromium chromium-driver fonts-noto-cjk` (see packaging/deps.sh).

#[path = "support/process.rs"]
#[allow(dead_code)] // shared by the binary's end-to-end tests, each using part of it
mod process;
#[path = "support/webdriver.rs"]
#[allow(dead_code)] // shared with tests/browser.rs
mod webdriver;

use std::path::Path;
use std::time::{Duration, Instant};

use process::{Proc, free_ports};
use serde_json::{Value, json};
use webdriver::{Browser, WdResult};

const PASSWORD: &str = "yizhan2026";
/// A 10-inch tablet in landscape.
const VIEWPORT: (u32, u32) = (1280, 800);
const WAIT: Duration = Duration::from_secs(60);

struct Demo {
    _proc: Proc,
    province: String,
    county: String,
    _dir: tempfile::TempDir,
}

fn start_demo() -> Demo {
    let dir = tempfile::Builder::new().prefix("yizhan-dash-").tempdir().unwrap();
    let port = free_ports(4);
    let proc = Proc::spawn_in(&["demo", "--port", &port.to_string()], Some(dir.path()), "warn");
    let url_in = |line: &str| {
        line.split("http://").nth(1).map(|r| format!("http://{}", r.trim().trim_end_matches('/')))
    };
    let (mut province, mut county) = (None, None);
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while (province.is_none() || county.is_none()) && Instant::now() < deadline {
        if let Ok(line) = proc.lines.recv_timeout(Duration::from_millis(200)) {
            if line.contains("province hub") {
                province = url_in(&line);
            }
            if line.contains("county hub") {
                county = url_in(&line);
            }
            seen.push(line);
        }
    }
    let (Some(province), Some(county)) = (province, county) else {
        panic!("the demo did not print its addresses; output:\n{}", seen.join("\n"));
    };
    Demo { _proc: proc, province, county, _dir: dir }
}

fn set_text(b: &Browser, css: &str, text: &str) -> WdResult<()> {
    let el = b.find(css)?;
    b.clear(&el)?;
    b.send_keys(&el, text)
}

fn sign_in(b: &Browser, base: &str, id: &str, next: &str) {
    b.goto(&format!("{base}/signin?next={next}")).unwrap();
    (|| -> WdResult<()> {
        set_text(b, "form[action^='/signin/password?'] input[name=id]", id)?;
        set_text(b, "form[action^='/signin/password?'] input[name=password]", PASSWORD)?;
        b.click(&b.find("form[action^='/signin/password?'] button[type=submit]")?)
    })()
    .unwrap_or_else(|e| panic!("signing in {id}: {e}\n{}", b.diagnostics()));
    b.wait_for(&format!("{id} signed in at {base}{next}"), WAIT, |b| {
        Ok(b.current_url()?.starts_with(&format!("{base}{next}")).then_some(()))
    });
}

/// The map chart's series data, once the page's script has drawn it: `[{name, code, value}]`.
fn map_data(b: &Browser) -> Vec<Value> {
    b.wait_for("the map drawn", WAIT, |b| {
        let v = b.execute(
            "var el = document.getElementById('dash-map');
             if (!el) return 'no map element';
             if (el.getAttribute('data-ready') === 'error') return 'error: ' + el.textContent;
             var c = window.echarts && echarts.getInstanceByDom(el);
             if (!c || el.getAttribute('data-ready') !== '1') return null;
             return c.getOption().series[0].data.map(function (d) {
               return {name: d.name, code: d.code, value: d.value};
             });",
            vec![],
        )?;
        match v {
            Value::Array(a) => Ok(Some(a)),
            Value::String(s) => panic!("the map failed: {s}\n{}", b.diagnostics()),
            _ => Ok(None),
        }
    })
}

/// A synchronous GET from the page (with its cookies): `[status, body]`.
fn page_get(b: &Browser, url: &str) -> (i64, Value) {
    let v = b
        .execute(
            "var x = new XMLHttpRequest(); x.open('GET', arguments[0], false); x.send();
             return [x.status, x.responseText];",
            vec![json!(url)],
        )
        .unwrap();
    let status = v[0].as_i64().unwrap();
    let body = serde_json::from_str(v[1].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (status, body)
}

fn screenshot(b: &Browser, name: &str) {
    let bin = Path::new(env!("CARGO_BIN_EXE_yizhan"));
    let dir = bin.parent().and_then(Path::parent).unwrap_or(Path::new("target")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    b.execute("window.scrollTo(0, 0)", vec![]).unwrap();
    if let Ok(png) = b.screenshot_full_page().or_else(|_| b.screenshot()) {
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

#[test]
fn province_staff_see_the_map_and_drill_into_a_city_and_a_county_sees_only_its_own() {
    let demo = start_demo();
    let b = Browser::start(VIEWPORT.0, VIEWPORT.1);

    // Province staff: the province's map, 21 cities, each with a value.
    sign_in(&b, &demo.province, "province-staff", "/dashboard");
    let cities = map_data(&b);
    let expected: Vec<String> =
        yizhan_core::regions().children("51").iter().map(|r| r.code.clone()).collect();
    assert_eq!(expected.len(), 21, "Sichuan has 21 cities in the regions table");
    let mut codes: Vec<String> = cities.iter().map(|d| d["code"].as_str().unwrap().to_string()).collect();
    codes.sort();
    assert_eq!(codes, expected, "the map holds every city of the regions table");
    assert!(cities.iter().all(|d| d["value"].is_number()), "every city has a value: {cities:?}");
    let value_of = |data: &[Value], code: &str| {
        data.iter().find(|d| d["code"] == code).and_then(|d| d["value"].as_f64()).unwrap()
    };
    // The demo's history covers 成都, 绵阳, 南充, 宜宾 and 凉山, and the page's figures are
    // those of /api/stats.
    for city in ["5101", "5107", "5113", "5115", "5134"] {
        assert!(value_of(&cities, city) > 0.0, "{city} has cases: {cities:?}");
    }
    assert_eq!(value_of(&cities, "5106"), 0.0, "德阳 has no demo history");
    let url: String = b
        .execute("return document.getElementById('dash-map').getAttribute('data-api')", vec![])
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let (status, api) = page_get(&b, &url);
    assert_eq!(status, 200, "{api}");
    let chengdu_api = api["groups"].as_array().unwrap().iter().find(|g| g["key"] == "5101").unwrap();
    assert_eq!(chengdu_api["counts"]["cases"].as_f64().unwrap(), value_of(&cities, "5101"));
    // Every chart was drawn (none reports an error) and the numbers are in the page as tables.
    b.wait_for("every chart drawn", WAIT, |b| {
        let v = b.execute(
            "return Array.from(document.querySelectorAll('.chart')).map(function (e) {
               return e.id + ':' + e.getAttribute('data-ready'); })",
            vec![],
        )?;
        let all: Vec<String> =
            v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
        assert!(!all.iter().any(|s| s.ends_with(":error")), "a chart failed: {all:?}\n{}", b.diagnostics());
        Ok((all.len() >= 5 && all.iter().all(|s| s.ends_with(":1"))).then_some(()))
    });
    let source = b.source().unwrap();
    assert!(source.contains("成都市") && source.contains("凉山彝族自治州"), "the table lists the cities");
    // The target gauges: the plan's six 2025 goals the demo's province administrator set.
    let gauges = b
        .execute(
            "return echarts.getInstanceByDom(document.getElementById('dash-targets')).getOption().series
               .map(function (s) { return s.data[0].name; })",
            vec![],
        )
        .unwrap();
    assert_eq!(gauges.as_array().map(Vec::len), Some(6), "{gauges}");
    let (status, t) = page_get(&b, "/api/targets?region=51");
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["set_for"], "51");
    let consultations =
        t["progress"].as_array().unwrap().iter().find(|p| p["metric"] == "consultations").unwrap();
    assert_eq!(consultations["goal"], 1_000_000);
    // Cumulative: at least the twelve months the map shows (cases still syncing up only add).
    let (all, year) =
        (consultations["current"].as_i64().unwrap(), api["totals"]["counts"]["cases"].as_i64().unwrap());
    assert!(year > 0 && all >= year, "cumulative {all} < the year's {year}");
    assert!(
        consultations["per_day"].as_f64().unwrap() > 0.0 && consultations["reached_on"].is_string(),
        "{consultations}"
    );
    screenshot(&b, "dashboard-province");

    // A real click on 成都 (at its label point, converted to the chart's pixels) opens its counties.
    let point = b
        .execute(
            "var el = document.getElementById('dash-map');
             el.scrollIntoView({block: 'center'});
             var c = echarts.getInstanceByDom(el);
             var p = c.convertToPixel({seriesIndex: 0}, [104.0657, 30.6595]);
             var r = el.getBoundingClientRect();
             return [Math.round(r.left + p[0]), Math.round(r.top + p[1])];",
            vec![],
        )
        .unwrap();
    let (x, y) = (point[0].as_i64().unwrap(), point[1].as_i64().unwrap());
    b.click_at(x, y).unwrap();
    b.wait_for("成都's dashboard", WAIT, |b| Ok(b.current_url()?.contains("region=5101").then_some(())));
    let counties = map_data(&b);
    let chengdu: Vec<String> =
        yizhan_core::regions().children("5101").iter().map(|r| r.code.clone()).collect();
    let mut codes: Vec<String> = counties.iter().map(|d| d["code"].as_str().unwrap().to_string()).collect();
    codes.sort();
    assert_eq!(codes, chengdu, "成都's counties");
    assert!(value_of(&counties, "510131") > 0.0, "蒲江县 has the demo's cases: {counties:?}");
    assert!(b.text(&b.find("[data-testid=dash-crumbs]").unwrap()).unwrap().contains("成都市"));
    screenshot(&b, "dashboard-city");

    // A county's page: its towns as a table, no map.
    b.goto(&format!("{}/dashboard?region=510131", demo.province)).unwrap();
    assert!(b.find("#dash-map").is_err(), "no map below the city level");
    let towns = b.text(&b.find("[data-testid=dash-map-table]").unwrap()).unwrap();
    let first_town = &yizhan_core::regions().children("510131")[0].name;
    assert!(towns.contains(first_town.as_str()), "the county's towns: {towns}");

    drop(b);

    // County staff of 蒲江县: their own county, never 锦江区's figures.
    let b = Browser::start(VIEWPORT.0, VIEWPORT.1);
    sign_in(&b, &demo.county, "staff", "/dashboard");
    assert!(b.find("[data-testid=dashboard]").is_ok(), "{}", b.diagnostics());
    let (status, body) = page_get(&b, "/api/stats?region=510131&by=town");
    assert_eq!(status, 200, "their own county: {body}");
    let (status, body) = page_get(&b, "/api/stats?region=510104&by=town");
    assert_eq!(status, 403, "another county at /api/stats: {body}");
    assert_eq!(body["error"], "forbidden");
    assert!(body.get("totals").is_none(), "no figures in a refusal: {body}");
    b.goto(&format!("{}/dashboard?region=510104", demo.county)).unwrap();
    let text = b.execute("return document.body.innerText", vec![]).unwrap();
    let text = text.as_str().unwrap();
    assert!(b.find("[data-testid=dashboard]").is_err() && b.find("[data-testid=error]").is_ok(), "{text}");
    assert!(!text.contains("锦官驿街道"), "no town of 锦江区 shown: {text}");
    let (status, _) = page_get(&b, "/api/stats?region=51&by=city");
    assert_eq!(status, 403, "nor the province");
    let (status, _) = page_get(&b, "/api/targets?region=510104");
    assert_eq!(status, 403, "nor another county's targets");

    // 考评 at the county: the demo's experts and officers are scored from its history.
    b.goto(&format!("{}/desk/evaluation", demo.county)).unwrap();
    let experts = b.text(&b.find("[data-testid=eval-experts]").unwrap()).unwrap();
    assert!(experts.contains("李果") && experts.contains("王春茶"), "{experts}");
    let officers = b.text(&b.find("[data-testid=eval-officers]").unwrap()).unwrap();
    assert!(officers.contains("刘信息员"), "{officers}");
    screenshot(&b, "evaluation-county");
}
