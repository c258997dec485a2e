//! What the officer is told about sync (issue 13): records the county hub has not applied,
//! photos and videos it does not hold yet with their bytes and the time they need at the rate
//! the link has been measured to deliver, and whether everything has arrived. The header and
//! the JSON API (`/api/status`) show the same [`SyncSummary`].
//!
//! Architecture invariant: "已全部同步" and "已同步" are shown only when the county hub holds
//! every document and every blob this kiosk references, as it told the kiosk (`Held`
//! messages); a blob whose arrival the kiosk has not been told of counts as still to send.

use serde::Serialize;
use yizhan_net::{LinkState, SyncStatus};
use yizhan_store::held::UploadBacklog;
use yizhan_web::fmt;

use crate::AppState;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SyncSummary {
    /// Documents with changes the county hub has not acknowledged yet.
    pub unsynced_docs: i64,
    /// Photos and videos whose original the county hub does not hold yet.
    pub photos_to_send: u64,
    pub videos_to_send: u64,
    /// Every blob (copies and originals) the county hub does not hold yet, and their bytes.
    pub blobs_to_send: u64,
    pub bytes_to_send: u64,
    /// Of those, the thumbnails, display copies, video posters and proxies: the county needs
    /// them to triage.
    pub needed_blobs_to_send: u64,
    /// Bytes per second the county hub acknowledged lately (`None` until measured).
    pub measured_bytes_per_s: Option<u64>,
    /// `bytes_to_send` at the measured rate, in seconds (`None` without a measurement).
    pub estimate_s: Option<u64>,
    /// True only when the county hub holds every document and blob of this kiosk.
    pub all_synced: bool,
}

impl SyncSummary {
    pub fn new(unsynced_docs: i64, backlog: UploadBacklog, sync: &SyncStatus) -> SyncSummary {
        let rate = sync.blob_ack_bytes_per_s.filter(|r| *r > 0);
        SyncSummary {
            unsynced_docs,
            photos_to_send: backlog.photos,
            videos_to_send: backlog.videos,
            blobs_to_send: backlog.blobs,
            bytes_to_send: backlog.bytes,
            needed_blobs_to_send: backlog.needed_blobs,
            measured_bytes_per_s: rate,
            estimate_s: rate.map(|r| backlog.bytes.div_ceil(r)),
            all_synced: unsynced_docs == 0 && backlog.is_empty(),
        }
    }

    /// The header's words: "已全部同步", or what is still to send.
    pub fn text_zh(&self) -> String {
        if self.all_synced {
            return "已全部同步".into();
        }
        let mut parts = Vec::new();
        if self.unsynced_docs > 0 {
            parts.push(format!("未同步 {} 条", self.unsynced_docs));
        }
        if self.blobs_to_send > 0 {
            let mut what = Vec::new();
            if self.photos_to_send > 0 {
                what.push(format!("{} 张照片", self.photos_to_send));
            }
            if self.videos_to_send > 0 {
                what.push(format!("{} 段视频", self.videos_to_send));
            }
            let mut text = format!("待传 {}", what.join("、"));
            if what.is_empty() {
                text = "待传".into();
            }
            text.push_str(&format!(" {}", bytes_zh(self.bytes_to_send)));
            if let Some(s) = self.estimate_s {
                text.push_str(&format!("，约 {}", duration_zh(s)));
            }
            parts.push(text);
        }
        parts.join(" · ")
    }

    /// The link in a few words: never "已同步" while something is still to send.
    pub fn link_zh(&self, s: &SyncStatus) -> (String, &'static str) {
        match &s.link {
            LinkState::Disabled => ("未连接县运管中心（离线使用）".into(), "off"),
            LinkState::Connecting => ("正在连接县运管中心…".into(), "busy"),
            LinkState::Syncing => {
                let mut text = format!("同步中：已发 {} 条，已收 {} 条", s.docs_sent, s.docs_received);
                if let Some(p) = &s.blob_sending {
                    let pct = (p.done_bytes * 100).checked_div(p.total_bytes).unwrap_or(0);
                    text.push_str(&format!("，正在上传照片/视频 {pct}%"));
                }
                (text, "busy")
            }
            LinkState::Synced if self.unsynced_docs > 0 => ("已连接，有记录未同步".into(), "busy"),
            LinkState::Synced if self.needed_blobs_to_send > 0 => {
                ("资料已到县中心，照片/视频上传中".into(), "busy")
            }
            LinkState::Synced if !self.all_synced => ("资料已到县中心，原图上传中".into(), "busy"),
            LinkState::Synced => {
                (format!("已同步 {}", s.last_synced_at_ms.map(fmt::time_full).unwrap_or_default()), "ok")
            }
            LinkState::Offline { retry_at_ms, .. } => {
                (format!("网络不通，{} 重试", fmt::time_full(*retry_at_ms)), "err")
            }
        }
    }
}

/// The summary as it stands.
pub async fn summary(state: &AppState) -> Result<SyncSummary, yizhan_store::StoreError> {
    let (unsynced, backlog) =
        state.store.call(|db| Ok((db.stats()?.unsynced_docs, db.upload_backlog()?))).await?;
    Ok(SyncSummary::new(unsynced, backlog, &state.sync.get()))
}

/// Bytes as the officer reads them: "850 KB", "3.4 MB".
pub fn bytes_zh(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        format!("{:.1} MB", bytes as f64 / 1_048_576.0)
    }
}

/// A duration as the officer reads it: "40 秒", "3 分钟", "1 小时 20 分钟".
pub fn duration_zh(s: u64) -> String {
    if s < 60 {
        format!("{} 秒", s.max(1))
    } else if s < 3600 {
        format!("{} 分钟", s.div_ceil(60))
    } else {
        let m = s.div_ceil(60);
        format!("{} 小时 {} 分钟", m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(link: LinkState, rate: Option<u64>) -> SyncStatus {
        let mut s = yizhan_net::SyncStatusHandle::new("hub").get();
        s.link = link;
        s.blob_ack_bytes_per_s = rate;
        s
    }

    fn check(unsynced: i64, backlog: UploadBacklog, rate: Option<u64>, text: &str, link: &str) {
        let s = status(LinkState::Synced, rate);
        let summary = SyncSummary::new(unsynced, backlog, &s);
        assert_eq!(summary.text_zh(), text);
        assert!(summary.link_zh(&s).0.starts_with(link), "{:?}", summary.link_zh(&s));
    }

    #[test]
    fn never_all_synced_while_something_is_to_send() {
        let none = UploadBacklog::default();
        check(0, none, None, "已全部同步", "已同步");
        let photos = UploadBacklog {
            photos: 3,
            videos: 1,
            blobs: 7,
            bytes: 2 * 1024 * 1024,
            needed_blobs: 2,
            needed_bytes: 40_000,
        };
        check(0, photos, Some(125_000), "待传 3 张照片、1 段视频 2.0 MB，约 17 秒", "资料已到县中心，照片");
        check(2, photos, None, "未同步 2 条 · 待传 3 张照片、1 段视频 2.0 MB", "已连接，有记录未同步");
        let originals = UploadBacklog { needed_blobs: 0, needed_bytes: 0, ..photos };
        check(
            0,
            originals,
            Some(1_000),
            "待传 3 张照片、1 段视频 2.0 MB，约 35 分钟",
            "资料已到县中心，原图",
        );
        let thumb = UploadBacklog { blobs: 1, bytes: 5000, needed_blobs: 1, needed_bytes: 5000, ..none };
        check(0, thumb, None, "待传 5 KB", "资料已到县中心，照片");
        check(1, none, None, "未同步 1 条", "已连接，有记录未同步");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_zh(0), "1 秒");
        assert_eq!(duration_zh(59), "59 秒");
        assert_eq!(duration_zh(61), "2 分钟");
        assert_eq!(duration_zh(4800), "1 小时 20 分钟");
    }
}
