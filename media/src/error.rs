//! The one error type of this crate, with a Chinese message for the officer at the kiosk.
//!
//! The `Display` text (English, with numbers and paths) is for logs; `user_message_zh` is what
//! the UI shows. The UI never shows `Display` because it can contain file paths and FFmpeg's
//! internal wording, neither of which helps a village information officer.

use std::path::PathBuf;

use ffmpeg_next as ffmpeg;

/// Everything that can go wrong while checking or converting a photo or a video.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum MediaError {
    /// The photo file is larger than `Limits::photo_bytes_max`; nothing was decoded.
    #[error("photo is {size_bytes} bytes; the limit is {limit_bytes} bytes")]
    PhotoTooLarge { size_bytes: u64, limit_bytes: u64 },

    /// The photo header declares more pixels than `Limits::photo_pixels_max` (or a side longer
    /// than [`crate::PHOTO_SIDE_PX_MAX`]); the pixels were never allocated.
    #[error("photo is {width}x{height} pixels; the limit is {limit_pixels} pixels")]
    PhotoTooManyPixels { width: u32, height: u32, limit_pixels: u64 },

    /// The photo is HEIC/HEIF (the iPhone default). The image crate cannot decode it and HEVC
    /// decoding is patent-encumbered, so the officer is told how to get a JPEG instead.
    #[error("photo is HEIC/HEIF (ftyp brand {brand:?}), which is not supported")]
    PhotoHeic { brand: String },

    /// The bytes are not JPEG, PNG or WebP. `detected` names what the magic bytes look like
    /// (for example "GIF", "TIFF", "AVIF"), or "unknown".
    #[error("photo format is not supported (looks like {detected})")]
    PhotoUnsupportedFormat { detected: String },

    /// The magic bytes say JPEG/PNG/WebP but the data does not decode (truncated, damaged).
    #[error("photo is corrupt or truncated: {detail}")]
    PhotoCorrupt { detail: String },

    /// Re-encoding the derived JPEG failed. This is not the user's fault (a bug or out of memory).
    #[error("could not encode the derived JPEG")]
    PhotoEncode(#[source] image::ImageError),

    /// Reading or writing a file failed (missing file, full disk, permissions).
    #[error("I/O error on {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// FFmpeg takes paths as UTF-8 C strings; a path that is not valid UTF-8 or contains a NUL
    /// cannot be passed to it (ffmpeg-next would panic on it, so we check first).
    #[error("path {path:?} is not valid UTF-8 or contains a NUL byte")]
    UnsupportedPath { path: PathBuf },

    /// The video file is larger than `Limits::video_bytes_max`; it was not opened.
    #[error("video file is {size_bytes} bytes; the limit is {limit_bytes} bytes")]
    VideoTooLarge { size_bytes: u64, limit_bytes: u64 },

    /// The container says the video is longer than `Limits::video_duration_ms_max`.
    #[error("video is {duration_ms} ms long; the limit is {limit_ms} ms")]
    VideoTooLong { duration_ms: u64, limit_ms: u64 },

    /// The video stream is wider or taller than [`crate::VIDEO_SIDE_PX_MAX`].
    #[error("video is {width}x{height}; the longest side allowed is {limit_px} px")]
    VideoTooManyPixels { width: u32, height: u32, limit_px: u32 },

    /// The file opened but has no video stream (for example an audio recording).
    #[error("{path} has no video stream")]
    VideoNoStream { path: PathBuf },

    /// The video codec has no decoder in this FFmpeg build.
    #[error("video codec {codec} cannot be decoded by this FFmpeg build")]
    VideoUnsupportedCodec { codec: String },

    /// The file cannot be opened as a video, or its video cannot be decoded.
    #[error("video {path} is corrupt or unreadable: {detail}")]
    VideoCorrupt {
        path: PathBuf,
        detail: String,
        #[source]
        source: Option<ffmpeg::Error>,
    },

    /// FFmpeg failed while converting a video that probed fine (encoder, filter, muxer).
    /// `stage` says which step, for the log.
    #[error("video processing failed while {stage}")]
    VideoProcessing {
        stage: &'static str,
        #[source]
        source: ffmpeg::Error,
    },

    /// The progress callback asked to stop; no output file was left behind.
    #[error("cancelled by the caller")]
    Cancelled,
}

const MIB: f64 = 1024.0 * 1024.0;

impl MediaError {
    /// A message in simplified Chinese for the information officer: what happened and what to do.
    /// It never contains paths or FFmpeg's wording.
    pub fn user_message_zh(&self) -> String {
        match self {
            MediaError::PhotoTooLarge { size_bytes, limit_bytes } => format!(
                "照片文件太大（{}），最大允许 {}。请在手机上把照片压缩或调小尺寸后再上传。",
                format_mib(*size_bytes),
                format_mib(*limit_bytes)
            ),
            MediaError::PhotoTooManyPixels { width, height, limit_pixels } => format!(
                "照片尺寸太大（{width}×{height} 像素），最多允许 {} 万像素。请把照片调小尺寸后再上传。",
                limit_pixels / 10_000
            ),
            MediaError::PhotoHeic { .. } => "这张照片是 HEIC 格式（苹果手机默认格式），系统暂时无法打开。\
                 请改用 JPEG 格式：在 iPhone 上打开 设置 > 相机 > 格式，选择“兼容性最佳”后重新拍摄；\
                 已经拍好的照片，可以先通过微信发送或“导出”为 JPEG，再上传。"
                .to_owned(),
            MediaError::PhotoUnsupportedFormat { detected } => {
                if detected == "unknown" {
                    "无法识别这个文件的格式，它可能不是照片。请上传 JPEG、PNG 或 WebP 格式的照片。".to_owned()
                } else {
                    format!("不支持这种图片格式（{detected}）。请上传 JPEG、PNG 或 WebP 格式的照片。")
                }
            }
            MediaError::PhotoCorrupt { .. } => {
                "照片文件已损坏或没有传完整，无法打开。请重新拍摄，或重新从手机传一次。".to_owned()
            }
            MediaError::PhotoEncode(_) => {
                "照片处理失败。请稍后重试；如果一直失败，请联系县运管中心技术支持。".to_owned()
            }
            MediaError::Io { .. } => {
                "读写文件失败，可能是存储空间不足或存储设备出了问题。请检查后重试。".to_owned()
            }
            MediaError::UnsupportedPath { .. } => {
                "文件名或文件夹名里有系统无法处理的字符。请把文件改成简单的名字后重试。".to_owned()
            }
            MediaError::VideoTooLarge { size_bytes, limit_bytes } => format!(
                "视频文件太大（{}），最大允许 {}。请剪短视频或用较低的清晰度重新拍摄后再上传。",
                format_mib(*size_bytes),
                format_mib(*limit_bytes)
            ),
            MediaError::VideoTooLong { duration_ms, limit_ms } => format!(
                "视频过长（{}）：最长 {}。请剪短后再上传，或分成几段上传。",
                format_duration_zh(*duration_ms),
                format_duration_zh(*limit_ms)
            ),
            MediaError::VideoTooManyPixels { limit_px, .. } => format!(
                "视频分辨率太高（最长边最多 {limit_px} 像素）。请在手机相机设置里选择 1080p 或 720p 后重新拍摄。"
            ),
            MediaError::VideoNoStream { .. } => {
                "这个文件里没有视频画面（可能是录音文件），不能作为视频上传。".to_owned()
            }
            MediaError::VideoUnsupportedCodec { codec } => {
                format!("不支持这种视频编码（{codec}）。请上传手机相机直接拍摄的 MP4 或 MOV 视频。")
            }
            MediaError::VideoCorrupt { .. } => {
                "无法打开这个视频：文件可能已损坏、没有传完整，或不是常见的视频格式。\
                 请重新从手机传一次，或上传手机相机拍摄的 MP4/MOV 视频。"
                    .to_owned()
            }
            MediaError::VideoProcessing { .. } => {
                "视频处理失败。请稍后重试；如果一直失败，请联系县运管中心技术支持。".to_owned()
            }
            MediaError::Cancelled => "已取消视频处理。".to_owned(),
        }
    }
}

/// "12.3 MB" for sizes; officers know "MB", and 1 MiB vs 1 MB does not matter to them.
fn format_mib(bytes: u64) -> String {
    // u64 -> f64 loses precision only above 2^53 bytes, far beyond any file we accept.
    let mib = bytes as f64 / MIB;
    if mib >= 10.0 || mib.fract() == 0.0 { format!("{mib:.0} MB") } else { format!("{mib:.1} MB") }
}

/// "5 分钟", "4 分 30 秒", "45 秒".
pub(crate) fn format_duration_zh(ms: u64) -> String {
    let seconds_total = ms.div_ceil(1000);
    let minutes = seconds_total / 60;
    let seconds = seconds_total % 60;
    match (minutes, seconds) {
        (0, s) => format!("{s} 秒"),
        (m, 0) => format!("{m} 分钟"),
        (m, s) => format!("{m} 分 {s} 秒"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration_zh(300_000), "5 分钟");
        assert_eq!(format_duration_zh(270_000), "4 分 30 秒");
        assert_eq!(format_duration_zh(45_000), "45 秒");
        assert_eq!(format_duration_zh(300_400), "5 分 1 秒");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(format_mib(25 * 1024 * 1024), "25 MB");
        assert_eq!(format_mib(1024 * 1024 * 3 / 2), "1.5 MB");
    }

    #[test]
    fn limit_messages_name_the_limit() {
        let e = MediaError::VideoTooLong { duration_ms: 400_000, limit_ms: 300_000 };
        assert!(e.user_message_zh().contains("视频过长"));
        assert!(e.user_message_zh().contains("最长 5 分钟"));
    }
}
