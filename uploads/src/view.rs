//! How a case's video shows on a kiosk page and on the hub's desk: the low-bitrate proxy with
//! its poster when this node holds it, the transcoding progress while this node makes it, or a
//! plain word that it is on its way when another node makes it.

use std::collections::HashSet;

use maud::{Markup, html};
use yizhan_core::{Attachment, CaseDoc};
use yizhan_store::{Job, JobState};

/// What a page needs to show a case's videos.
pub struct Videos<'a> {
    pub case: &'a CaseDoc,
    /// This node's jobs for the case (a video recorded elsewhere has none here).
    pub jobs: &'a [Job],
    /// Blob hashes of this case that this node holds.
    pub held: &'a HashSet<String>,
    /// Where the page polls the case's jobs (JSON with a `jobs` array) while transcoding.
    pub poll_url: String,
}

impl Videos<'_> {
    /// One video, given its `original` attachment (whose hash groups its proxy and poster).
    pub fn show(&self, original: &Attachment) -> Markup {
        video(self, original)
    }
}

/// The proxy or poster of a video, when the case references one.
fn derived<'a>(case: &'a CaseDoc, group: &str, role: &str) -> Option<&'a Attachment> {
    case.attachments.values().find(|a| a.group == group && a.role == role)
}

/// The player (or progress) and a link to the original.
fn video(v: &Videos<'_>, o: &Attachment) -> Markup {
    let proxy = derived(v.case, &o.hash, "proxy").filter(|a| v.held.contains(&a.hash));
    let poster = derived(v.case, &o.hash, "poster").filter(|a| v.held.contains(&a.hash));
    let job = v.jobs.iter().find(|j| j.blob_hash == o.hash);
    let minutes = o.duration_ms / 60_000;
    let seconds = (o.duration_ms / 1000) % 60;
    html! {
        div.video data-video=(o.hash) {
            @if let Some(proxy) = proxy {
                video controls preload="metadata" playsinline poster=[poster.map(|p| format!("/blobs/{}", p.hash))] data-testid="video-player" {
                    source src=(format!("/blobs/{}", proxy.hash)) type="video/mp4";
                }
            } @else if let Some(j) = job.filter(|j| j.state == JobState::Failed) {
                p.alert data-testid="video-failed" { "视频处理失败：" (j.error) }
            } @else if let Some(j) = job {
                @let pct = (j.progress * 100.0).round() as i64;
                div.progress.job data-job-poll=(&v.poll_url) data-testid="video-progress" {
                    div.bar style=(format!("width:{pct}%")) {}
                    span.label { (if j.state == JobState::Pending { "视频排队中 " } else { "视频转码中 " }) (pct) "%" }
                }
            } @else if derived(v.case, &o.hash, "proxy").is_some() {
                p.muted data-testid="video-waiting" { "视频正在同步到本机…" }
            } @else {
                p.muted data-testid="video-waiting" { "视频正在录入它的站点转码，完成后自动同步到本机" }
            }
            p.small {
                (format!("{minutes}:{seconds:02}")) " · "
                @if v.held.contains(&o.hash) {
                    a href=(format!("/blobs/{}", o.hash)) download=(o.name) { "下载原视频" }
                } @else { "原视频未同步到本机" }
                " (" (size_zh(o.bytes)) ")"
            }
        }
    }
}

/// A file size as people read it: KB under a megabyte, MB with one decimal under ten.
pub fn size_zh(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    match bytes {
        b if b < MB => format!("{} KB", b.div_ceil(1024)),
        b if b < 10 * MB => format!("{:.1} MB", b as f64 / MB as f64),
        b => format!("{} MB", b / MB),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use yizhan_core::{Attachment, CaseDoc, Event, EventKind, NewCase};
    use yizhan_store::{Job, JobState};

    use super::{Videos, size_zh};

    fn att(hash: &str, role: &str) -> Attachment {
        Attachment {
            hash: hash.into(),
            kind: "video".into(),
            role: role.into(),
            group: "v1".into(),
            mime: "video/mp4".into(),
            bytes: 3 * 1024 * 1024,
            width: 960,
            height: 540,
            duration_ms: 65_000,
            name: "spray.mp4".into(),
            added_at_ms: 1,
        }
    }

    fn case(roles: &[&str]) -> CaseDoc {
        let new = NewCase {
            region_code: "510131001".into(),
            village_name: "光明村".into(),
            industry: "fruit".into(),
            subject: "柑橘".into(),
            description: "叶片有病斑".into(),
            farmer_name: "何".into(),
            farmer_phone: String::new(),
            officer: "o".into(),
        };
        let (_, mut doc) =
            CaseDoc::create(&new, "c1", "k", Event::new("e", 1, "o", EventKind::Created)).unwrap();
        let atts = roles.iter().map(|r| att(if *r == "original" { "v1" } else { r }, r)).collect();
        CaseDoc::add_attachments(&mut doc, atts).unwrap()
    }

    fn render(c: &CaseDoc, jobs: &[Job], held: &[&str]) -> String {
        let held: HashSet<String> = held.iter().map(|h| h.to_string()).collect();
        let original = c.attachments.get("v1/original").unwrap();
        Videos { case: c, jobs, held: &held, poll_url: "/poll".into() }.show(original).into_string()
    }

    fn job(state: JobState, progress: f64) -> Job {
        Job {
            id: 1,
            kind: "video".into(),
            doc_id: "c1".into(),
            blob_hash: "v1".into(),
            state,
            progress,
            error: "无法解码".into(),
            attempts: 1,
        }
    }

    #[test]
    fn a_video_shows_what_this_node_can_offer() {
        // Transcoding here: progress, polled.
        let c = case(&["original"]);
        let html = render(&c, &[job(JobState::Running, 0.42)], &["v1"]);
        assert!(html.contains("视频转码中 42%") && html.contains("data-job-poll=\"/poll\""), "{html}");
        assert!(html.contains("下载原视频") && html.contains("1:05") && html.contains("3.0 MB"), "{html}");
        // Failed here: the reason.
        let html = render(&c, &[job(JobState::Failed, 0.1)], &["v1"]);
        assert!(html.contains("视频处理失败：无法解码"), "{html}");
        // Recorded elsewhere, not transcoded yet, original not here: no fake progress, no dead link.
        let html = render(&c, &[], &[]);
        assert!(html.contains("video-waiting") && !html.contains("video-progress"), "{html}");
        assert!(!html.contains("下载原视频") && html.contains("原视频未同步到本机"), "{html}");
        // Proxy made elsewhere but not here yet.
        let c = case(&["original", "proxy", "poster"]);
        let html = render(&c, &[], &[]);
        assert!(html.contains("视频正在同步到本机"), "{html}");
        // Proxy and poster here: the player.
        let html = render(&c, &[], &["proxy", "poster"]);
        assert!(
            html.contains("<video")
                && html.contains("/blobs/proxy")
                && html.contains("poster=\"/blobs/poster\""),
            "{html}"
        );
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size_zh(0), "0 KB");
        assert_eq!(size_zh(165_277), "162 KB");
        assert_eq!(size_zh(1024 * 1024), "1.0 MB");
        assert_eq!(size_zh(5 * 1024 * 1024 + 512 * 1024), "5.5 MB");
        assert_eq!(size_zh(300 * 1024 * 1024), "300 MB");
    }
}
