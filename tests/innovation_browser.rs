#![allow(clippy::unwrap_used)]
//! 农村双创平台 (`/innovation`) in a real headless Chromium against the real `yizhan demo`, at
//! a village kiosk without sign-in, on a 390 px phone: the map holds the demo's eight platforms
//! as points on Sichuan, a filter (type 农业科技园区) reduces them to three on the map and in
//! the table, a real mouse click on a point opens that platform's page, and so does a row's
//! link; the page has no horizontal scroll at 390 px.
//!
//! Needs Debian's `chromium chromium-driver fonts-noto-cjk` (see packaging/deps.sh).

#[path = "support/process.rs"]
#[allow(dead_code)] // shared by the binary's end-to-end tests, each using part of it
mod process;
#[path = "support/webdriver.rs"]
#[allow(dead_code)] // shared with tests/browser.rs
mod webdriver;

use std::time::{Duration, Instant};

use process::{Proc, free_ports};
use serde_json::Value;
use webdriver::Browser;

/// A phone.
const VIEWPORT: (u32, u32) = (390, 844);
const WAIT: Duration = Duration::from_secs(90);

/// The map's points once drawn: `[{id, name, x, y}]`, x and y in the viewport's pixels.
fn points(b: &Browser) -> Vec<Value> {
    b.wait_for("the map drawn", WAIT, |b| {
        let v = b.execute(
            "var el = document.getElementById('innovation-map');
             if (!el) return 'no map element';
             var ready = el.getAttribute('data-ready');
             if (ready === 'error' || ready === 'unavailable') return 'error: ' + el.textContent;
             var c = window.echarts && echarts.getInstanceByDom(el);
             if (!c || ready !== '1') return null;
             el.scrollIntoView({block: 'center'});
             var r = el.getBoundingClientRect(), out = [];
             c.getOption().series.forEach(function (s, i) {
               s.data.forEach(function (d) {
                 var px = c.convertToPixel({seriesIndex: i}, d.value);
                 out.push({id: d.id, name: d.name, x: Math.round(r.left + px[0]), y: Math.round(r.top + px[1])});
               });
             });
             return out;",
            vec![],
        )?;
        match v {
            Value::Array(a) => Ok(Some(a)),
            Value::String(s) => panic!("the map failed: {s}\n{}", b.diagnostics()),
            _ => Ok(None),
        }
    })
}

#[test]
fn the_map_shows_the_platforms_a_filter_reduces_them_and_a_point_or_row_opens_one() {
    let dir = tempfile::Builder::new().prefix("yizhan-innovation-").tempdir().unwrap();
    let port = free_ports(4);
    let proc = Proc::spawn_in(&["demo", "--port", &port.to_string()], Some(dir.path()), "warn");
    let deadline = Instant::now() + WAIT;
    let mut kiosk = None;
    let mut seen = Vec::new();
    while kiosk.is_none() && Instant::now() < deadline {
        if let Ok(line) = proc.lines.recv_timeout(Duration::from_millis(200)) {
            if line.contains("kiosk kiosk-510131001001") {
                kiosk = line
                    .split("http://")
                    .nth(1)
                    .map(|r| format!("http://{}", r.trim().trim_end_matches('/')));
            }
            seen.push(line);
        }
    }
    let kiosk = kiosk.unwrap_or_else(|| panic!("no kiosk address:\n{}", seen.join("\n")));
    let b = Browser::start(VIEWPORT.0, VIEWPORT.1);

    // The platforms reach the kiosk by sync: wait until all eight are there.
    b.wait_for("the demo's platforms at the kiosk", WAIT, |b| {
        b.goto(&format!("{kiosk}/innovation"))?;
        Ok((b.find_all("tr[data-testid=platform]")?.len() >= 8).then_some(()))
    });
    let all = points(&b);
    assert_eq!(all.len(), 8, "{all:?}");
    let width = b.execute("return document.documentElement.scrollWidth", vec![]).unwrap();
    assert!(width.as_i64().unwrap() <= i64::from(VIEWPORT.0), "no horizontal scroll at 390 px: {width}");

    // A filter: 农业科技园区 only.
    b.click(&b.find("select[name=type] option[value=park]").unwrap()).unwrap();
    b.click(&b.find("button[data-testid=filter-submit]").unwrap()).unwrap();
    b.wait_for("the filtered page", WAIT, |b| Ok(b.current_url()?.contains("type=park").then_some(())));
    let parks = points(&b);
    assert_eq!(parks.len(), 3, "{parks:?}");
    assert_eq!(b.find_all("tr[data-testid=platform]").unwrap().len(), 3);
    assert!(parks.iter().all(|p| all.iter().any(|a| a["id"] == p["id"])));

    // A real click on a point opens its platform's page.
    let p = &parks[0];
    let (x, y) = (p["x"].as_i64().unwrap(), p["y"].as_i64().unwrap());
    assert!((0..i64::from(VIEWPORT.0)).contains(&x) && (0..i64::from(VIEWPORT.1)).contains(&y), "{p}");
    b.click_at(x, y).unwrap();
    let id = p["id"].as_str().unwrap().to_string();
    b.wait_for("the point's platform page", WAIT, |b| {
        Ok(b.current_url()?.ends_with(&format!("/items/{id}")).then_some(()))
    });
    let source = b.source().unwrap();
    assert!(source.contains(p["name"].as_str().unwrap()), "{source}");

    // And a row's link.
    b.goto(&format!("{kiosk}/innovation?type=park")).unwrap();
    let row = b.find("tr[data-testid=platform] td a").unwrap();
    let name = b.text(&row).unwrap();
    b.click(&row).unwrap();
    b.wait_for("the row's platform page", WAIT, |b| {
        Ok(b.current_url()?.contains("/items/pub-").then_some(()))
    });
    assert!(b.source().unwrap().contains(&name));
}
