//! `yizhan demo`'s 特派员讲堂: three lectures through the real pipeline at the county hub
//! (drafted by a staff member, a video and/or a PDF added, transcoded by the hub's worker,
//! submitted, reviewed by a second person and signed off by a third), so they are published and
//! reach the kiosks, which pre-fetch those of their region's industries. The video is the media
//! crate's test fixture (a short 960×540 H.264/AAC clip); the PDFs are written here (a plain
//! text PDF; the course pages themselves are not the point of the demo).

use std::collections::BTreeMap;
use std::time::Duration;

use yizhan_core::publication::StepKind;
use yizhan_core::{Actor, RegionCode, Role};
use yizhan_hub::service::lectures::{self as svc, Files};
use yizhan_hub::service::publication::{self as pipeline, ItemInput};

const VIDEO: &[u8] = include_bytes!("../media/tests/fixtures/landscape_960x540_h264_aac.mp4");
/// How long the demo waits for the hub to transcode a lecture's video.
const TRANSCODE_WAIT: Duration = Duration::from_secs(180);

/// (title, industry, speaker, description, IP owner, video, PDF pages)
type Lecture =
    (&'static str, &'static str, &'static str, &'static str, &'static str, bool, &'static [&'static str]);

const LECTURES: [Lecture; 3] = [
    (
        "猕猴桃溃疡病冬季防控",
        "fruit",
        "王建国（四川农业大学 教授）",
        "讲解猕猴桃溃疡病的发病规律、冬季清园、伤口保护和春季喷药时机，配合现场演示。",
        "四川农业大学",
        true,
        &[
            "Kiwifruit canker: winter control",
            "1. Prune and burn infected canes",
            "2. Protect wounds",
            "3. Spray copper before sprouting",
        ],
    ),
    (
        "生猪非洲猪瘟生物安全",
        "pig",
        "刘红（蒲江县畜牧站 高级兽医师）",
        "规模猪场和散养户的生物安全要点：人员车辆消毒、分区管理、异常猪只报告。",
        "蒲江县农业农村局",
        false,
        &[
            "African swine fever: biosecurity",
            "Disinfect people and vehicles",
            "Zones: clean and dirty",
            "Report sick pigs at once",
        ],
    ),
    (
        "茶园春季管理",
        "tea",
        "陈芳（雅安市农科所 研究员）",
        "春茶采摘前的修剪、施肥和病虫害绿色防控。",
        "雅安市农业科学研究所",
        true,
        &[],
    ),
];

fn actor(id: &str, name: &str, role: Role, region: &str) -> anyhow::Result<Actor> {
    Ok(Actor { person_id: id.into(), name: name.into(), role, region: RegionCode::parse(region)? })
}

/// A small valid PDF with one page per line of text (ASCII, Helvetica).
pub fn text_pdf(pages: &[&str]) -> Vec<u8> {
    let n = pages.len().max(1);
    let mut objects: Vec<String> = Vec::new();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    for i in 0..n {
        let text = pages.get(i).copied().unwrap_or("Lecture").replace(['(', ')', '\\'], " ");
        let content = format!("BT /F1 28 Tf 60 500 Td ({text}) Tj ET");
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        objects.push(format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    out
}

/// Seeds the lectures once (a demo restarted on the same data finds them). Returns how many.
pub async fn seed(county: &yizhan_hub::Hub) -> anyhow::Result<usize> {
    let seeded = county
        .store
        .call(|db| Ok(db.all_publications()?.iter().any(|r| r.kind.starts_with(yizhan_lectures::PREFIX))))
        .await?;
    if seeded {
        return Ok(0);
    }
    let author = actor("staff", "张敏", Role::Staff, "510131")?;
    let reviewer = actor("reviewer", "李审核", Role::Staff, "510131")?;
    let signer = actor("admin", "蒲江县管理员", Role::Admin, "510131")?;
    let err =
        |title: &str, e: yizhan_hub::service::ServiceError| anyhow::anyhow!("{title}: {}", e.message_zh());
    let mut n = 0;
    for (title, industry, speaker, body, owner, video, pages) in LECTURES {
        let fields: BTreeMap<String, String> = [("industry", industry), ("speaker", speaker)]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let input = ItemInput {
            kind: yizhan_lectures::LECTURE.into(),
            title: title.into(),
            body: body.into(),
            fields,
            ip_owner: owner.into(),
        };
        let id = pipeline::create_item(county, &author, input).await.map_err(|e| err(title, e))?;
        let video = match video {
            true => Some(
                svc::video_upload(county, "lecture.mp4", VIDEO.to_vec()).await.map_err(|e| err(title, e))?,
            ),
            false => None,
        };
        let pdf = (!pages.is_empty()).then(|| ("课件.pdf".to_string(), text_pdf(pages)));
        let has_video = video.is_some();
        svc::add_files(county, &author, &id, Files { video, pdf }).await.map_err(|e| err(title, e))?;
        if has_video {
            wait_for_proxy(county, &id).await?;
        }
        for (who, step) in
            [(&author, StepKind::Submit), (&reviewer, StepKind::Review), (&signer, StepKind::SignOff)]
        {
            pipeline::take_step(county, who, &id, step, "").await.map_err(|e| err(title, e))?;
        }
        n += 1;
    }
    // Views at the county's lecture pages (the page's own recording path), so 观看 and the
    // statistics start non-zero; views at the kiosks add to them as people open lectures.
    let published = svc::published(county).await.map_err(|e| err("讲堂", e))?;
    for ((title, ..), views) in LECTURES.iter().zip(DEMO_VIEWS) {
        let Some(p) = published.iter().find(|p| p.title == *title) else { continue };
        for _ in 0..*views {
            svc::record_view(county, &p.id).await.map_err(|e| err(title, e))?;
        }
    }
    Ok(n)
}

/// Views of each demo lecture at the county (in [`LECTURES`]' order).
const DEMO_VIEWS: &[u32] = &[12, 7, 3];

/// Waits until the hub's worker has attached the video's proxy to the draft.
async fn wait_for_proxy(hub: &yizhan_hub::Hub, id: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    loop {
        let id2 = id.to_string();
        let done = hub
            .store
            .call(move |db| {
                Ok(db
                    .load_doc(&id2)?
                    .and_then(|d| yizhan_core::item::ItemDoc::from_doc(&d).ok())
                    .is_some_and(|i| i.attachments.values().any(|a| a.role == "proxy")))
            })
            .await?;
        if done {
            return Ok(());
        }
        if started.elapsed() > TRANSCODE_WAIT {
            anyhow::bail!("the lecture's video was not transcoded within {TRANSCODE_WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
