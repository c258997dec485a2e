//! The triage benchmark's fixture: experts and cases generated with a fixed seed (the
//! vocabulary of Sichuan's trades, its divisions, each case's fate) and stored the way sync
//! applies a received batch, then `refresh_all` (see `benches/triage.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use yizhan_core::clock::{DAY_MS, HOUR_MS, MINUTE_MS};
use yizhan_core::{Attachment, CaseDoc, Event, EventKind, Industry, NewCase, NewPerson, Person, regions};
use yizhan_hub::service;
use yizhan_store::Db;

/// 2025-06-10 15:00 in Sichuan (07:00 UTC): a working afternoon.
pub const NOW_MS: i64 = 1_749_538_800_000;
const NODE_ID: &str = "bench-hub";
pub const SEED: u64 = 0x5EED_0005;
const PERSONS_PER_TX: usize = 1000;
/// Threads building case documents during setup.
const GEN_THREADS: usize = 2;

pub struct Scale {
    pub name: &'static str,
    pub centre: &'static str,
    pub open: usize,
    pub experts: usize,
    /// Finished cases (answered, closed, followed up), for the experts' records.
    pub finished: usize,
    /// Cases per transaction (one sync batch).
    pub batch: usize,
}

pub const COUNTY: Scale =
    Scale { name: "county", centre: "510104", open: 5_000, experts: 500, finished: 1_000, batch: 50 };
pub const PROVINCE: Scale =
    Scale { name: "province", centre: "51", open: 100_000, experts: 30_000, finished: 20_000, batch: 250 };

/// One industry's vocabulary: what farmers grow or keep, how they describe trouble, and what
/// experts list as specialities.
struct Trade {
    industry: Industry,
    /// Weight among cases and experts (grain, pigs and fruit dominate Sichuan's service).
    weight: u32,
    unit: &'static str,
    subjects: &'static [&'static str],
    symptoms: &'static [&'static str],
    specialities: &'static [&'static str],
}

const TRADES: [Trade; 13] = [
    Trade {
        industry: Industry::GrainOil,
        weight: 18,
        unit: "亩",
        subjects: &["水稻", "玉米", "小麦", "油菜", "大豆", "马铃薯"],
        symptoms: &[
            "叶片上出现褐色梭形病斑，穗颈发黑，怀疑是稻瘟病",
            "叶片发黄卷曲，茎秆上有虫孔，像是螟虫危害",
            "开花期遇上连续阴雨，菌核病发生较重",
            "叶面有黄色粉状孢子堆，条锈病比去年重",
            "苗期长势弱，叶色发黄，想了解测土配方施肥",
            "块茎腐烂，叶片出现水渍状黑斑，疑似晚疫病",
        ],
        specialities: &[
            "水稻栽培",
            "稻瘟病防治",
            "玉米栽培",
            "油菜栽培",
            "小麦病虫害",
            "大豆种植",
            "马铃薯晚疫病",
            "测土配方施肥",
            "稻田综合种养",
        ],
    },
    Trade {
        industry: Industry::Pig,
        weight: 12,
        unit: "头",
        subjects: &["生猪", "母猪", "仔猪", "育肥猪"],
        symptoms: &[
            "部分猪发烧不吃食，耳朵和腹部发紫，担心是猪瘟",
            "仔猪腹泻，拉黄白色稀粪，已经死了好几头",
            "母猪产后不吃食，奶水少，仔猪吃不饱",
            "猪场粪污处理不达标，环保要求限期整改",
            "咳嗽气喘，生长缓慢，饲料报酬低",
        ],
        specialities: &[
            "生猪疫病",
            "非洲猪瘟防控",
            "猪病诊断",
            "母猪繁育",
            "仔猪腹泻",
            "饲料营养",
            "猪场粪污处理",
        ],
    },
    Trade {
        industry: Industry::Tea,
        weight: 6,
        unit: "亩",
        subjects: &["茶树", "茶园", "绿茶"],
        symptoms: &[
            "新梢被小绿叶蝉危害，叶片卷曲发黄",
            "叶片出现褐色圆斑，怀疑是茶饼病",
            "想提高名优茶加工品质，杀青时间不好掌握",
            "修剪后发芽不整齐，春茶产量下降",
        ],
        specialities: &["茶树栽培", "茶叶加工", "茶园病虫害", "茶树修剪", "名优茶制作"],
    },
    Trade {
        industry: Industry::Vegetable,
        weight: 12,
        unit: "亩",
        subjects: &["辣椒", "白菜", "番茄", "黄瓜", "萝卜", "青菜", "莴笋"],
        symptoms: &[
            "叶片出现水渍状病斑，果实腐烂，疑似疫病",
            "叶片卷曲，果实开裂，产量下降",
            "大棚里霜霉病发生，叶背有灰黑色霉层",
            "根部长瘤，植株萎蔫，怀疑是根肿病",
            "育苗期间出现猝倒，成片死苗",
        ],
        specialities: &["蔬菜栽培", "设施蔬菜", "辣椒病害", "番茄病虫害", "蔬菜育苗", "根肿病防治"],
    },
    Trade {
        industry: Industry::LiquorMaterial,
        weight: 4,
        unit: "亩",
        subjects: &["糯高粱", "高粱", "酿酒小麦"],
        symptoms: &[
            "抽穗期叶片出现红褐色条斑",
            "蚜虫多，叶片发黏发黑",
            "想知道酒厂收购对品种和水分有什么要求",
            "大风后倒伏严重",
        ],
        specialities: &["酿酒高粱栽培", "糯高粱种植", "高粱病虫害", "酿酒专用粮"],
    },
    Trade {
        industry: Industry::Bamboo,
        weight: 3,
        unit: "亩",
        subjects: &["竹林", "竹笋", "雷竹", "慈竹"],
        symptoms: &[
            "竹林出现竹蝗，竹叶被吃光",
            "出笋少，想知道竹笋丰产要怎么施肥",
            "枝叶发黄枯死，疑似竹丛枝病",
            "竹材加工前怎么防霉防蛀",
        ],
        specialities: &["竹林培育", "竹笋丰产", "竹病虫害", "竹材加工"],
    },
    Trade {
        industry: Industry::Fruit,
        weight: 14,
        unit: "亩",
        subjects: &["柑橘", "猕猴桃", "柠檬", "桃树", "梨树", "李子", "葡萄"],
        symptoms: &[
            "叶片出现黄斑，果实表面有溃疡病斑",
            "枝干流出红褐色菌脓，怀疑是溃疡病",
            "果实长得小，落果严重",
            "叶片卷曲发红，疑似缩叶病",
            "不清楚果树修剪的时间和方法",
            "果粒出现褐色病斑，霜霉病严重",
        ],
        specialities: &[
            "柑橘病害",
            "柑橘栽培",
            "猕猴桃溃疡病",
            "果树修剪",
            "柠檬种植",
            "果园土壤管理",
            "桃树病虫害",
        ],
    },
    Trade {
        industry: Industry::MedicinalHerb,
        weight: 7,
        unit: "亩",
        subjects: &["川芎", "附子", "黄连", "天麻", "川贝母", "麦冬"],
        symptoms: &[
            "叶片发黄，根茎腐烂",
            "种下后出现烂麻，产量很低",
            "根部有白色菌丝，疑似白绢病",
            "苗期死苗多，出苗不齐",
            "块根膨大不好，想知道怎么施肥",
        ],
        specialities: &["中药材种植", "川芎栽培", "天麻种植", "药材病虫害", "中药材加工", "附子栽培"],
    },
    Trade {
        industry: Industry::CattleSheep,
        weight: 8,
        unit: "头",
        subjects: &["肉牛", "山羊", "牦牛", "绵羊"],
        symptoms: &[
            "嘴唇起疱结痂，疑似羊口疮",
            "拉稀消瘦，吃得少",
            "冬季掉膘严重，牧草不够",
            "母畜产后胎衣不下",
            "驱虫的时间和用药不知道怎么安排",
        ],
        specialities: &["牛羊疫病", "肉牛养殖", "山羊繁育", "牦牛养殖", "牧草种植", "反刍动物营养"],
    },
    Trade {
        industry: Industry::Fish,
        weight: 6,
        unit: "亩水面",
        subjects: &["草鱼", "鲤鱼", "鲫鱼", "大口黑鲈", "小龙虾", "稻田鱼"],
        symptoms: &[
            "池塘鱼浮头，早上死鱼较多",
            "出现烂鳃和肠炎，吃食减少",
            "稻田养鱼的放养密度不知道怎么定",
            "体表出血，鳍条腐烂",
            "蜕壳不遂，死亡较多",
        ],
        specialities: &["水产养殖", "鱼病防治", "池塘水质调控", "稻渔综合种养", "冷水鱼养殖"],
    },
    Trade {
        industry: Industry::Seed,
        weight: 4,
        unit: "亩",
        subjects: &["杂交水稻制种", "玉米制种", "种子"],
        symptoms: &[
            "父母本花期不遇，结实率低",
            "种子发芽率低，不知道是不是质量问题",
            "去雄不及时，担心纯度不达标",
            "想引进新品种，良种繁育要注意什么",
        ],
        specialities: &["杂交水稻制种", "种子质量检测", "良种繁育", "玉米制种", "品种选育"],
    },
    Trade {
        industry: Industry::Equipment,
        weight: 3,
        unit: "台",
        subjects: &["植保无人机", "插秧机", "拖拉机", "收割机"],
        symptoms: &[
            "喷洒不均匀，药液漂移到邻近地块",
            "漏插严重，秧苗插得不直",
            "启动困难，排气冒黑烟",
            "割台经常堵塞，损失率高",
        ],
        specialities: &["农机维修", "植保无人机", "农机操作", "智能农机", "插秧机使用"],
    },
    Trade {
        industry: Industry::DryingColdChain,
        weight: 3,
        unit: "吨",
        subjects: &["稻谷烘干", "冷库", "冷链运输"],
        symptoms: &[
            "烘干后爆腰率高，米质下降",
            "冷库温度波动大，果蔬保鲜效果差",
            "热风炉温度控制不稳，烘干不均匀",
            "运输途中猕猴桃软化腐烂",
        ],
        specialities: &["粮食烘干", "冷库管理", "果蔬保鲜", "冷链物流", "烘干设备维护"],
    },
];

const SURNAMES: &[&str] = &[
    "张", "王", "李", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
    "罗", "高", "林", "邓", "唐", "冯", "蒋", "曾", "彭", "谢", "袁", "苟", "向", "母", "蒲",
];
const GIVEN: &[&str] = &[
    "建国", "秀英", "德明", "桂芳", "志强", "明华", "玉兰", "国富", "光荣", "春梅", "文军", "小红", "永福",
    "淑芬", "海燕", "大勇", "世军", "红梅", "晓东", "丽", "平", "勇", "静", "涛", "家兴", "长春",
];
const VILLAGES: &[&str] = &[
    "红星村",
    "五一村",
    "和平村",
    "青龙村",
    "白果村",
    "桂花村",
    "新民村",
    "石桥村",
    "大院村",
    "龙泉村",
    "高桥村",
    "团结村",
    "双河村",
    "金竹村",
    "柏林村",
];
const TITLES: &[&str] = &[
    "研究员",
    "副研究员",
    "推广研究员",
    "高级农艺师",
    "农艺师",
    "助理农艺师",
    "高级畜牧师",
    "高级兽医师",
    "教授",
    "副教授",
    "高级工程师",
    "工程师",
];
const SINCE: &[&str] =
    &["已经一个星期了", "这几天越来越重", "打过两次药不见好", "去年也有，今年更严重", "刚发现"];
const ASK: &[&str] = &[
    "请专家指导怎么处理。",
    "想问是什么原因，该怎么防治？",
    "需不需要上门看一下？",
    "有没有成本低一点的办法？",
];
const ANSWERS: &[&str] = &[
    "根据照片判断，建议先清除病株，再按说明用药，间隔7天再用一次，注意轮换药剂。",
    "主要是管理问题：控制密度，改善通风排水，追施钾肥，一周后观察新叶。",
    "症状符合典型表现，请按附件方案处理，三天内反馈效果，如无好转安排上门。",
];
const CATEGORIES: &[&str] =
    &["技术指导", "病虫害防治", "疫病防控", "品种与种植", "政策咨询", "市场与销售", "其他"];

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// A random id in the kiosk's format (a v4 UUID), from the seeded generator.
fn uuid(rng: &mut StdRng) -> String {
    let a: u128 = rng.random();
    let h = format!("{a:032x}");
    format!("{}-{}-4{}-a{}-{}", &h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..])
}

fn name(rng: &mut StdRng) -> String {
    format!("{}{}", SURNAMES.choose(rng).unwrap(), GIVEN.choose(rng).unwrap())
}

fn trade(rng: &mut StdRng) -> &'static Trade {
    let total: u32 = TRADES.iter().map(|t| t.weight).sum();
    let mut x = rng.random_range(0..total);
    for t in &TRADES {
        if x < t.weight {
            return t;
        }
        x -= t.weight;
    }
    &TRADES[0]
}

/// Sichuan's divisions: the province's cities, counties and, per county, its towns.
struct Divisions {
    cities: Vec<String>,
    counties: Vec<String>,
    towns: HashMap<String, Vec<String>>,
}

impl Divisions {
    fn load() -> Divisions {
        let db = regions();
        let cities: Vec<String> = db.children("51").iter().map(|r| r.code.clone()).collect();
        let counties: Vec<String> =
            cities.iter().flat_map(|c| db.children(c)).map(|r| r.code.clone()).collect();
        let towns = counties
            .iter()
            .map(|c| (c.clone(), db.children(c).iter().map(|r| r.code.clone()).collect()))
            .collect();
        assert_eq!((cities.len(), counties.len()), (21, 183), "the embedded division table changed");
        Divisions { cities, counties, towns }
    }

    /// A village of `county` (a town of the table and a village number), or the town when
    /// the table has no towns for the county.
    fn village(&self, county: &str, rng: &mut StdRng) -> String {
        match self.towns.get(county).and_then(|t| t.choose(rng)) {
            Some(town) => format!("{town}{:03}", rng.random_range(1..=28)),
            None => county.to_string(),
        }
    }
}

/// An expert as the case generator sees her.
struct Expert {
    id: String,
    region: String,
    assignable: bool,
}

fn make_experts(scale: &Scale, div: &Divisions, rng: &mut StdRng) -> Vec<(Person, Expert)> {
    let mut out = Vec::with_capacity(scale.experts);
    for i in 0..scale.experts {
        let r: f64 = rng.random();
        let region = match scale.centre.len() {
            6 if r < 0.7 => scale.centre.to_string(),
            6 if r < 0.9 => scale.centre[..4].to_string(),
            6 => "51".to_string(),
            _ if r < 0.8 => div.counties.choose(rng).unwrap().clone(),
            _ if r < 0.95 => div.cities.choose(rng).unwrap().clone(),
            _ => "51".to_string(),
        };
        let first = trade(rng);
        let mut trades = vec![first];
        if rng.random_bool(0.3) {
            let second = trade(rng);
            if second.industry != first.industry {
                trades.push(second);
            }
        }
        let pool: Vec<&str> = trades.iter().flat_map(|t| t.specialities.iter().copied()).collect();
        let n = rng.random_range(1..=4).min(pool.len());
        let specialities: Vec<String> = pool.choose_multiple(rng, n).map(|s| s.to_string()).collect();
        let availability = match rng.random_range(0..100) {
            0..85 => "available",
            85..95 => "busy",
            _ => "away",
        };
        let new = NewPerson {
            id: format!("zj{i:06}"),
            name: name(rng),
            role: "expert".into(),
            region_code: region.clone(),
            industries: trades.iter().map(|t| t.industry.code().to_string()).collect(),
            specialities,
            availability: availability.into(),
            title: TITLES.choose(rng).unwrap().to_string(),
            phone: format!("13{:09}", rng.random_range(0..1_000_000_000u32)),
        };
        let (mut person, _phone) = new.build(NOW_MS - 90 * DAY_MS).unwrap();
        // A few left the service: still in the directory, never suggested.
        person.active = rng.random_range(0..100) >= 2;
        let assignable = person.active && availability != "away";
        out.push((person, Expert { id: new.id.clone(), region, assignable }));
    }
    out
}

/// Where a generated case stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    AwaitingTriage,
    AwaitingAnswer,
    OnSite,
    /// Escalated up to the city: held by a county hub, waiting elsewhere.
    AtCity,
    Answered,
    Closed,
    FollowedUp,
}

impl Fate {
    fn is_open(self) -> bool {
        matches!(self, Fate::AwaitingTriage | Fate::AwaitingAnswer | Fate::OnSite | Fate::AtCity)
    }
}

struct Planned {
    arrival_ms: i64,
    fate: Fate,
}

fn plan(scale: &Scale, rng: &mut StdRng) -> Vec<Planned> {
    let mut out = Vec::with_capacity(scale.open + scale.finished);
    let county = scale.centre.len() == 6;
    for _ in 0..scale.open {
        // Most of the backlog is recent: ages exponential with a 2-day mean, at most 14 days.
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        let age = ((-u.ln() * 2.0 * DAY_MS as f64) as i64).clamp(MINUTE_MS, 14 * DAY_MS);
        let fate = match rng.random_range(0..100) {
            0..5 if county => Fate::AtCity,
            0..50 => Fate::AwaitingTriage,
            50..90 => Fate::AwaitingAnswer,
            _ => Fate::OnSite,
        };
        out.push(Planned { arrival_ms: NOW_MS - age, fate });
    }
    for _ in 0..scale.finished {
        let age = rng.random_range(2 * DAY_MS..30 * DAY_MS);
        let fate = match rng.random_range(0..100) {
            0..25 => Fate::Answered,
            25..70 => Fate::Closed,
            _ => Fate::FollowedUp,
        };
        out.push(Planned { arrival_ms: NOW_MS - age, fate });
    }
    out.sort_by_key(|p| p.arrival_ms);
    out
}

struct ExpertPicker<'a> {
    experts: &'a [Expert],
    by_industry: HashMap<String, Vec<usize>>,
}

impl ExpertPicker<'_> {
    /// An expert of the industry: often one of the case's own county, city or province.
    fn pick(&self, industry: &str, case_region: &str, rng: &mut StdRng) -> String {
        let pool = &self.by_industry[industry];
        let local = rng.random_bool(0.6);
        for _ in 0..30 {
            let e = &self.experts[*pool.choose(rng).unwrap()];
            if e.assignable && (!local || case_region.starts_with(&e.region)) {
                return e.id.clone();
            }
        }
        self.experts[*pool.choose(rng).unwrap()].id.clone()
    }
}

fn event(rng: &mut StdRng, at_ms: i64, actor: &str, kind: EventKind) -> Event {
    Event::new(uuid(rng), at_ms, actor, kind)
}

/// One case document, with the events of its fate; every event happened before `arrival_ms`.
fn make_case(
    scale: &Scale,
    div: &Divisions,
    picker: &ExpertPicker<'_>,
    p: &Planned,
    rng: &mut StdRng,
) -> (String, CaseDoc, AutoCommit) {
    let county = if scale.centre.len() == 6 {
        scale.centre.to_string()
    } else {
        div.counties.choose(rng).unwrap().clone()
    };
    let region = div.village(&county, rng);
    let t = trade(rng);
    let subject = *t.subjects.choose(rng).unwrap();
    let village = *VILLAGES.choose(rng).unwrap();
    let farmer = name(rng);
    let description = format!(
        "{village}{farmer}家{}{}{subject}，{}，{}。{}",
        rng.random_range(2..60),
        t.unit,
        t.symptoms.choose(rng).unwrap(),
        SINCE.choose(rng).unwrap(),
        ASK.choose(rng).unwrap(),
    );
    let officer = format!("xxy{}", &region[..region.len().min(12)]);
    let new = NewCase {
        region_code: region.clone(),
        village_name: village.into(),
        industry: t.industry.code().into(),
        subject: subject.into(),
        description,
        farmer_name: farmer,
        farmer_phone: String::new(),
        officer: officer.clone(),
    };
    // Recorded at the kiosk minutes to days before the hub saw the state it arrives in.
    let span = if scale.centre.len() == 6 {
        rng.random_range(10 * MINUTE_MS..4 * HOUR_MS)
    } else {
        rng.random_range(2 * HOUR_MS..72 * HOUR_MS)
    };
    let created_ms = p.arrival_ms - span;
    let id = uuid(rng);
    let created = event(rng, created_ms, &officer, EventKind::Created);
    let (_, mut doc) =
        CaseDoc::create(&new, &id, &format!("kiosk-{}", &region[..9.min(region.len())]), created).unwrap();

    let mut photos = Vec::new();
    for _ in 0..[0, 1, 1, 2, 2, 3].choose(rng).copied().unwrap() {
        let group = blake3::hash(&rng.random::<[u8; 32]>()).to_hex().to_string();
        for (role, bytes, w, h) in [
            ("original", 2_400_000, 4000, 3000),
            ("display", 180_000, 1600, 1200),
            ("thumb", 9_000, 320, 240),
        ] {
            let hash = if role == "original" {
                group.clone()
            } else {
                blake3::hash(&rng.random::<[u8; 32]>()).to_hex().to_string()
            };
            photos.push(Attachment {
                hash,
                kind: "photo".into(),
                role: role.into(),
                group: group.clone(),
                mime: "image/jpeg".into(),
                bytes: bytes + rng.random_range(0..bytes / 4),
                width: w,
                height: h,
                duration_ms: 0,
                name: format!("IMG_{:04}.jpg", rng.random_range(0..10_000)),
                added_at_ms: created_ms,
            });
        }
    }
    if !photos.is_empty() {
        CaseDoc::add_attachments(&mut doc, photos).unwrap();
    }

    let county_staff = format!("staff{county}");
    let mut steps: Vec<Event> = vec![event(rng, 0, &officer, EventKind::Escalated)];
    if p.fate == Fate::AtCity || scale.centre.len() < 6 {
        let mut up = event(rng, 0, &county_staff, EventKind::EscalatedUp);
        up.target = county[..4].to_string();
        steps.push(up);
    }
    if scale.centre.len() < 6 {
        let mut up = event(rng, 0, &format!("staff{}", &county[..4]), EventKind::EscalatedUp);
        up.target = "51".into();
        steps.push(up);
    }
    let centre_staff = format!("staff{}", scale.centre);
    if !matches!(p.fate, Fate::AwaitingTriage | Fate::AtCity) {
        let expert = picker.pick(t.industry.code(), &region, rng);
        let mut assigned = event(rng, 0, &centre_staff, EventKind::Assigned);
        assigned.target = expert.clone();
        steps.push(assigned);
        if p.fate == Fate::OnSite {
            steps.push(event(rng, 0, &expert, EventKind::OnSiteRequested));
        }
        if matches!(p.fate, Fate::Answered | Fate::Closed | Fate::FollowedUp) {
            let mut answered = event(rng, 0, &expert, EventKind::Answered);
            answered.text = ANSWERS.choose(rng).unwrap().to_string();
            steps.push(answered);
        }
        if matches!(p.fate, Fate::Closed | Fate::FollowedUp) {
            steps.push(event(rng, 0, &officer, EventKind::Closed));
            if rng.random_bool(0.7) {
                let mut rated = event(rng, 0, &officer, EventKind::Rated);
                rated.value = *[3, 4, 4, 5, 5, 5].choose(rng).unwrap();
                steps.push(rated);
            }
        }
        if p.fate == Fate::FollowedUp {
            let mut f = event(rng, 0, &county_staff, EventKind::FollowedUp);
            f.value = i64::from(rng.random_bool(0.9));
            f.category = CATEGORIES.choose(rng).unwrap().to_string();
            steps.push(f);
        }
    }
    let n = steps.len() as i64;
    for (i, mut ev) in steps.into_iter().enumerate() {
        ev.at_ms = created_ms + span * (i as i64 + 1) / (n + 1);
        CaseDoc::append_event(&mut doc, ev).unwrap();
    }
    let case = CaseDoc::from_doc(&doc).unwrap();
    (id, case, doc)
}

pub struct Setup {
    pub experts_s: f64,
    pub cases_s: f64,
    /// Of `cases_s`, in `create_docs_with` (the rest builds the documents).
    pub cases_insert_s: f64,
    pub refresh_s: f64,
    pub sqlite_bytes: u64,
    pub wal_bytes: u64,
    /// Open cases waiting at the centre (the ranking picks among them).
    pub at_centre: Vec<String>,
}

pub fn setup(scale: &Scale, db: &mut Db, clock: &AtomicI64, rng: &mut StdRng) -> Setup {
    let div = Divisions::load();

    let t0 = Instant::now();
    clock.store(NOW_MS - 90 * DAY_MS, Ordering::Relaxed);
    let generated = make_experts(scale, &div, rng);
    for chunk in generated.chunks(PERSONS_PER_TX) {
        let docs: Vec<_> = chunk
            .iter()
            .map(|(p, _)| (Person::doc_id(&p.id), yizhan_core::people::DOC_TYPE, p.to_doc().unwrap()))
            .collect();
        db.create_docs_with(docs, Vec::new(), &[]).unwrap();
    }
    let experts_s = t0.elapsed().as_secs_f64();
    let experts: Vec<Expert> = generated.into_iter().map(|(_, e)| e).collect();
    let mut by_industry: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in experts.iter().enumerate() {
        let p = db.person(&e.id).unwrap().unwrap();
        for ind in &p.industries {
            by_industry.entry(ind.clone()).or_default().push(i);
        }
    }
    for t in &TRADES {
        assert!(by_industry.contains_key(t.industry.code()), "no expert of {}", t.industry.code());
    }
    let picker = ExpertPicker { experts: &experts, by_industry };

    let t0 = Instant::now();
    let planned = plan(scale, rng);
    let batches: Vec<&[Planned]> = planned.chunks(scale.batch).collect();
    let mut at_centre = Vec::new();
    let mut done = 0;
    let mut insert = Duration::ZERO;
    // Building the documents (automerge) costs more than storing them: two threads build
    // batches (each case from its own seeded generator, so the data does not depend on the
    // threads) while this one stores them in order.
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<(String, bool, AutoCommit)>)>(4);
        for k in 0..GEN_THREADS {
            let (tx, batches, div, picker) = (tx.clone(), &batches, &div, &picker);
            s.spawn(move || {
                for b in (k..batches.len()).step_by(GEN_THREADS) {
                    let docs = batches[b]
                        .iter()
                        .enumerate()
                        .map(|(i, p)| {
                            let n = (b * scale.batch + i) as u64;
                            let mut rng = StdRng::seed_from_u64(SEED ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                            let (id, case, doc) = make_case(scale, div, picker, p, &mut rng);
                            let here = p.fate.is_open() && case.state().centre == scale.centre;
                            (id, here, doc)
                        })
                        .collect();
                    if tx.send((b, docs)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = std::collections::BTreeMap::new();
        let mut next = 0;
        for (b, docs) in rx {
            pending.insert(b, docs);
            while let Some(docs) = pending.remove(&next) {
                let mut batch = Vec::with_capacity(docs.len());
                for (id, here, doc) in docs {
                    if here {
                        at_centre.push(id.clone());
                    }
                    batch.push((id, yizhan_core::case::DOC_TYPE, doc));
                }
                // The hub sees the batch when it arrives: its clock is the batch's last arrival.
                clock.store(batches[next].last().unwrap().arrival_ms, Ordering::Relaxed);
                let t = Instant::now();
                db.create_docs_with(batch, Vec::new(), &[]).unwrap();
                insert += t.elapsed();
                done += batches[next].len();
                next += 1;
                if next % 40 == 0 {
                    eprintln!("  ... {done}/{} cases, {:.0} s", planned.len(), t0.elapsed().as_secs_f64());
                }
            }
        }
    });
    let cases_s = t0.elapsed().as_secs_f64();
    let cases_insert_s = insert.as_secs_f64();

    clock.store(NOW_MS, Ordering::Relaxed);
    let t0 = Instant::now();
    service::refresh_all(db, scale.centre, NODE_ID).unwrap();
    let refresh_s = t0.elapsed().as_secs_f64();

    let path = db.database_path();
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    Setup {
        experts_s,
        cases_s,
        cases_insert_s,
        refresh_s,
        sqlite_bytes: file_bytes(&path),
        wal_bytes: file_bytes(&wal),
        at_centre,
    }
}
