//! Data-driven checks with real places of Sichuan (coordinates from public maps, to about 1 km).

use super::*;

/// 成都 天府广场, 蒲江县城, 雅安 雨城区, 西昌, 康定, 广元, 攀枝花, 宜宾.
const CHENGDU: (f64, f64) = (104.0657, 30.6574);
const PUJIANG: (f64, f64) = (103.5063, 30.1965);
const YAAN: (f64, f64) = (103.0010, 29.9877);
const XICHANG: (f64, f64) = (102.2643, 27.8945);
const KANGDING: (f64, f64) = (101.9649, 30.0498);
const GUANGYUAN: (f64, f64) = (105.8436, 32.4354);
const PANZHIHUA: (f64, f64) = (101.7187, 26.5823);
const YIBIN: (f64, f64) = (104.6431, 28.7518);

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn good() -> Vec<(&'static str, &'static str)> {
    vec![
        ("platform_type", "xingchuang"),
        ("level", "national"),
        ("region", "510131"),
        ("longitude", "103.5063"),
        ("latitude", "30.1965"),
        ("industries", "tea,fruit"),
        ("operator", "蒲江县农业农村局"),
        ("org_phone", "028-88551234"),
    ]
}

/// `check(centre, replace, expected)`: the good fields with `replace` applied give a problem
/// containing `expected`, or none for "".
fn check(centre: &str, replace: &[(&'static str, &'static str)], expected: &str) {
    let mut f = good();
    for (k, v) in replace {
        f.retain(|(key, _)| key != k);
        f.push((k, v));
    }
    let problems = check_fields(&fields(&f), centre);
    if expected.is_empty() {
        assert!(problems.is_empty(), "{replace:?}: {problems:?}");
    } else {
        assert!(problems.iter().any(|p| p.contains(expected)), "{replace:?}: {problems:?}");
    }
}

#[test]
fn fields_are_checked() {
    check("510131", &[], "");
    check("51", &[], "");
    check("5101", &[("region", "510131001")], "");
    check("510131", &[("platform_type", "factory")], "平台类型须为");
    check("510131", &[("level", "county")], "级别须为");
    check("510131", &[("region", "510104")], "辖区内");
    check("510131", &[("region", "51")], "不是四川省");
    check("51", &[("region", "999999")], "不是四川省");
    // Outside Sichuan: 重庆, 拉萨, 西安, and a swapped pair.
    check("510131", &[("longitude", "106.5516"), ("latitude", "29.5630")], "不在四川省范围内");
    check("510131", &[("longitude", "91.1322"), ("latitude", "29.6604")], "不在四川省范围内");
    check("510131", &[("longitude", "108.9398"), ("latitude", "34.3416")], "不在四川省范围内");
    check("510131", &[("longitude", "30.1965"), ("latitude", "103.5063")], "不在四川省范围内");
    // Inside Sichuan but not in 蒲江县: 广元, and 邛崃 next door.
    check("51", &[("longitude", "105.8436"), ("latitude", "32.4354")], "蒲江县）内");
    check("51", &[("longitude", "103.4612"), ("latitude", "30.4102")], "不在所在地区");
    // A city's platform anywhere in the city.
    check("51", &[("region", "5101"), ("longitude", "104.0657"), ("latitude", "30.6574")], "");
    check("51", &[("region", "5134"), ("longitude", "104.0657"), ("latitude", "30.6574")], "不在所在地区");
    check("510131", &[("longitude", "东经103度")], "须为数字");
    check("510131", &[("latitude", "NaN")], "须为数字");
    check("510131", &[("industries", "tea,coffee")], "coffee");
    check("510131", &[("industries", " , ")], "至少");
}

/// The spherical law of cosines: an independent formula for the same great-circle distance.
fn cosines_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.1.to_radians(), b.1.to_radians());
    let c = p1.sin() * p2.sin() + p1.cos() * p2.cos() * (b.0 - a.0).to_radians().cos();
    6371.0088 * c.clamp(-1.0, 1.0).acos()
}

#[test]
fn distances_between_real_places() {
    // Straight-line distances, rounded to the km.
    for (a, b, km) in [
        (CHENGDU, PUJIANG, 74.0),
        (CHENGDU, YAAN, 126.0),
        (CHENGDU, XICHANG, 353.0),
        (CHENGDU, GUANGYUAN, 260.0),
        (CHENGDU, PANZHIHUA, 508.0),
        (YIBIN, KANGDING, 297.0),
    ] {
        let d = haversine_km(a, b);
        assert!((d - km).abs() < 1.0, "{a:?} {b:?}: {d} km, expected about {km}");
        assert!((d - cosines_km(a, b)).abs() < 0.01, "{a:?} {b:?}");
        assert!((haversine_km(b, a) - d).abs() < 1e-9);
    }
    assert_eq!(haversine_km(CHENGDU, CHENGDU), 0.0);
}

#[test]
fn centroids_come_from_the_maps() {
    let chengdu_city = centroid("5101").unwrap();
    assert!(haversine_km(chengdu_city, CHENGDU) < 5.0, "{chengdu_city:?}");
    // A town and a village take their county's centre (蒲江县).
    let pujiang = centroid("510131").unwrap();
    assert!(haversine_km(pujiang, PUJIANG) < 10.0, "{pujiang:?}");
    assert_eq!(centroid("510131001"), Some(pujiang));
    assert_eq!(centroid("510131001001"), Some(pujiang));
    assert_eq!(centroid("51"), None);
    assert_eq!(centroid("9901"), None);
    assert_eq!(centroid(""), None);
}

fn platform(name: &str, at: (f64, f64), industries: &[&str]) -> Platform {
    Platform {
        id: format!("pub-{name}"),
        name: name.into(),
        platform_type: "park".into(),
        type_zh: "农业科技园区".into(),
        level: "provincial".into(),
        level_zh: "省级".into(),
        region: "5101".into(),
        region_name: String::new(),
        longitude: at.0,
        latitude: at.1,
        industries: industries.iter().map(|s| s.to_string()).collect(),
        industries_zh: Vec::new(),
        operator: String::new(),
        org_phone: String::new(),
        description: String::new(),
        centre: "51".into(),
        published_at_ms: 0,
    }
}

/// `rank(from, industry, expected names in order)` over one fixed set of platforms.
fn rank(from: (f64, f64), industry: &str, expected: &[&str]) {
    let all = [
        platform("蒲江", PUJIANG, &["tea", "fruit"]),
        platform("雅安", YAAN, &["tea"]),
        platform("康定", KANGDING, &["tea", "cattle_sheep"]),
        platform("宜宾", YIBIN, &["tea", "liquor_material"]),
        platform("广元", GUANGYUAN, &["fruit"]),
        platform("西昌", XICHANG, &["fruit", "vegetable"]),
    ];
    let got: Vec<&str> = nearest(&all, industry, from).iter().map(|(p, _)| p.name.as_str()).collect();
    assert_eq!(got, expected, "from {from:?} for {industry}");
    let km: Vec<f64> = nearest(&all, industry, from).iter().map(|(_, k)| *k).collect();
    assert!(km.windows(2).all(|w| w[0] <= w[1]), "{km:?}");
}

#[test]
fn nearest_platforms_serve_the_industry_and_rank_by_distance() {
    rank(CHENGDU, "tea", &["蒲江", "雅安", "康定"]);
    rank(YIBIN, "tea", &["宜宾", "蒲江", "雅安"]);
    // 康定 is beyond the mountains but 宜宾 is nearer in a straight line (376 against 386 km).
    rank(PANZHIHUA, "tea", &["宜宾", "康定", "雅安"]);
    rank(CHENGDU, "fruit", &["蒲江", "广元", "西昌"]);
    rank(PANZHIHUA, "vegetable", &["西昌"]);
    rank(CHENGDU, "pig", &[]);
}

#[test]
fn industries_and_degrees_parse() {
    assert_eq!(parse_industries("tea、fruit，tea").unwrap(), vec![Industry::Tea, Industry::Fruit]);
    assert!(parse_industries("").is_err());
    assert_eq!(parse_degrees(" 103.5 "), Some(103.5));
    for bad in ["", "1e3", "inf", "103,5", "１０３"] {
        assert_eq!(parse_degrees(bad), None, "{bad}");
    }
}
