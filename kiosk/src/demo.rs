//! Demo cases, so a newcomer sees a populated kiosk (`yizhan kiosk --demo`).

use std::io::Cursor;

use crate::AppState;
use crate::error::AppError;
use crate::service::{self, EventInput};
use crate::upload::{CaseUpload, PhotoUpload};

struct DemoCase {
    industry: &'static str,
    subject: &'static str,
    description: &'static str,
    farmer: &'static str,
    phone: &'static str,
    /// Events after "created", in order.
    steps: &'static [&'static str],
    colour: [u8; 3],
}

const CASES: &[DemoCase] = &[
    DemoCase {
        industry: "fruit",
        subject: "柑橘",
        description: "柑橘叶片发黄，叶脉还是绿的，果园靠河边，最近雨水多。",
        farmer: "王德明",
        phone: "13812345678",
        steps: &[],
        colour: [196, 170, 60],
    },
    DemoCase {
        industry: "grain_oil",
        subject: "水稻",
        description: "水稻叶片上有梭形褐色病斑，中间灰白色，扩展很快。",
        farmer: "李秀英",
        phone: "13987654321",
        steps: &["escalated"],
        colour: [120, 150, 70],
    },
    DemoCase {
        industry: "pig",
        subject: "生猪",
        description: "三头育肥猪不吃食，体温 41 度，耳朵发紫。",
        farmer: "张国强",
        phone: "15011112222",
        steps: &["escalated"],
        colour: [200, 150, 150],
    },
    DemoCase {
        industry: "tea",
        subject: "茶树",
        description: "新梢上有很多小绿叶蝉，嫩叶卷曲发红。",
        farmer: "陈玉兰",
        phone: "",
        steps: &[],
        colour: [60, 140, 60],
    },
    DemoCase {
        industry: "vegetable",
        subject: "辣椒",
        description: "大棚辣椒果实上有水渍状斑点，后来腐烂长白毛。",
        farmer: "刘建华",
        phone: "18623456789",
        steps: &["escalated"],
        colour: [200, 40, 30],
    },
    DemoCase {
        industry: "medicinal_herb",
        subject: "川芎",
        description: "川芎根茎腐烂，地上部分萎蔫，连作第三年。",
        farmer: "赵明",
        phone: "",
        steps: &[],
        colour: [150, 120, 80],
    },
    DemoCase {
        industry: "cattle_sheep",
        subject: "山羊",
        description: "几只羊拉稀，精神不好，刚换了青贮饲料。",
        farmer: "黄志勇",
        phone: "13700001111",
        steps: &[],
        colour: [220, 220, 210],
    },
    DemoCase {
        industry: "fish",
        subject: "草鱼",
        description: "池塘草鱼浮头，鳃发白，有少量死鱼。",
        farmer: "周海",
        phone: "",
        steps: &["escalated"],
        colour: [70, 110, 150],
    },
];

/// A small synthetic "field photo" (a coloured leaf shape), encoded as JPEG.
fn demo_photo(colour: [u8; 3], seed: u32) -> Vec<u8> {
    let (w, h) = (640u32, 480u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let (dx, dy) = ((x as f32 - cx) / 260.0, (y as f32 - cy) / 150.0);
        let inside = dx * dx + dy * dy < 1.0;
        let spot = ((x * 7 + y * 13 + seed * 31) % 97) < 3;
        match (inside, spot) {
            (true, true) => image::Rgb([90, 60, 30]),
            (true, false) => image::Rgb(colour),
            _ => image::Rgb([235, 232, 220]),
        }
    });
    let mut out = Cursor::new(Vec::new());
    match image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg) {
        Ok(()) => out.into_inner(),
        Err(_) => Vec::new(),
    }
}

/// Records the demo cases if the kiosk has no cases yet. Returns how many were added.
pub async fn load_if_empty(state: &AppState) -> Result<usize, AppError> {
    let existing = state.store.call(|db| db.count_cases(&Default::default())).await?;
    if existing > 0 {
        return Ok(0);
    }
    // A town or village kiosk records its own place; a county (or wider) kiosk its first town.
    let town = match state.config.scope.level() {
        yizhan_core::RegionLevel::Town | yizhan_core::RegionLevel::Village => state.config.scope.to_string(),
        _ => {
            let county = state.config.scope.county().map_or_else(|| "510131".to_string(), |c| c.to_string());
            let towns = yizhan_core::regions().children(&county);
            towns.first().map_or_else(|| format!("{county}001"), |t| t.code.clone())
        }
    };
    // The demo's steps are taken as the demo officer of that place.
    let officer = yizhan_core::RegionCode::parse(&town).ok().map(|region| yizhan_core::Actor {
        person_id: "officer".into(),
        name: "演示信息员".into(),
        role: yizhan_core::Role::Officer,
        region,
    });
    for (i, d) in CASES.iter().enumerate() {
        let mut up = CaseUpload::default();
        up.case.industry = d.industry.into();
        up.case.subject = d.subject.into();
        up.case.description = d.description.into();
        up.case.farmer_name = d.farmer.into();
        up.case.farmer_phone = d.phone.into();
        up.case.officer = "演示信息员".into();
        up.case.region_code = town.clone();
        up.case.village_name = "示范村".into();
        up.photos.push(PhotoUpload { name: format!("demo-{i}.jpg"), bytes: demo_photo(d.colour, i as u32) });
        let id = service::record_case(state, up, officer.as_ref()).await?;
        for step in d.steps {
            let input = EventInput {
                kind: step.to_string(),
                text: String::new(),
                target: String::new(),
                value: 0,
                category: String::new(),
            };
            service::add_event(state, &id, input, officer.as_ref()).await?;
        }
    }
    Ok(CASES.len())
}
