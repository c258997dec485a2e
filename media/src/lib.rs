//! `yizhan-media`: checks and converts the photos and videos an information officer records at a
//! village kiosk.
//!
//! Everything here is synchronous and CPU-bound; the kiosk calls it from a blocking thread
//! (`tokio::task::spawn_blocking`), never from an async task.
//!
//! - Photos ([`process_photo`]): the format is sniffed from magic bytes (JPEG, PNG, WebP; HEIC is
//!   recognised so the officer can be told what to do), limits are checked before any pixel is
//!   allocated, EXIF orientation is applied, and two derived JPEGs are produced (display and
//!   thumbnail) that carry no metadata at all, so a farmer's GPS position never leaves the kiosk
//!   inside a derived copy. The original itself is kept without its metadata too
//!   ([`strip_metadata`]: a lossless segment/chunk filter, no re-encoding).
//! - Videos ([`probe_video`], [`make_poster`], [`transcode_proxy`]): FFmpeg through
//!   `ffmpeg-next`. The proxy is a small H.264/AAC MP4 that plays in any browser and is sent to
//!   the hub long before the original.
//!
//! Architecture invariant: no function in this crate panics on user data, and every amount of
//! work it does is bounded by a limit named in this file or in [`Limits`].

mod error;
mod photo;
mod proxy;
mod strip;
mod video;

pub use error::MediaError;
pub use photo::{PhotoFormat, ProcessedPhoto, process_photo};
pub use proxy::{ProxyInfo, transcode_proxy};
pub use strip::strip_metadata;
pub use video::{VideoInfo, make_poster, probe_video};

/// Longest side of the display copy of a photo and of a video poster. Large enough for the kiosk
/// screen and a hub expert's monitor; small enough (~150-300 KB) to sync over a weak 4G link.
pub const DISPLAY_LONG_SIDE_PX: u32 = 1280;

/// Longest side of a photo thumbnail. Lists and the desk show thumbnails at 120 x 90 and
/// 160 x 120 CSS pixels, so 240 is sharp at 1.5-2 device pixels per CSS pixel; it is what the
/// county sees first over a slow link (issue 13: a 640 x 480 photo's thumbnail at 320 px and
/// quality 82 was 13.0 KB, at 240 px and quality 70 6.8 KB).
pub const THUMB_LONG_SIDE_PX: u32 = 240;

/// JPEG quality of thumbnails: small pictures hide the artefacts that quality buys away.
pub const THUMB_JPEG_QUALITY: u8 = 70;

/// JPEG quality of every derived image: visually clean for crop disease photos at a third of the
/// size of quality 95.
pub const DERIVED_JPEG_QUALITY: u8 = 82;

/// Longest side of a photo we agree to decode, whatever the pixel limit says. JPEG cannot exceed
/// 65 535 anyway; this stops a 1 x 50 000 000 PNG strip that passes the pixel limit.
pub const PHOTO_SIDE_PX_MAX: u32 = 65_535;

/// Longest side of a video we agree to decode (8K). Phones record at most 4K today.
pub const VIDEO_SIDE_PX_MAX: u32 = 8192;

/// Target height of the video proxy (before the "never upscale" rule).
pub const PROXY_HEIGHT_PX: u32 = 480;

/// Widest proxy we produce; only matters for panoramic clips wider than 8:3.
pub const PROXY_WIDTH_PX_MAX: u32 = 1280;

/// Highest frame rate of the proxy; 60 fps phone clips are halved so the bitrate goes to detail.
pub const PROXY_FPS_MAX: u32 = 30;

/// libx264 VBV cap of the proxy video (`maxrate`), in bits per second.
pub const PROXY_VIDEO_MAXRATE_BPS: u64 = 650_000;

/// libx264 VBV buffer of the proxy video (`bufsize`), two seconds at `maxrate`.
pub const PROXY_VIDEO_BUFSIZE_BITS: u64 = 1_300_000;

/// AAC bitrate of the proxy audio, in bits per second. Speech and field sounds only.
pub const PROXY_AUDIO_BITRATE_BPS: u64 = 64_000;

/// Limits on what an officer may upload. Every limit is checked before the expensive work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest photo file accepted, checked before decoding.
    pub photo_bytes_max: u64,
    /// Largest photo accepted, in pixels (width x height from the header, checked before the
    /// pixels are allocated). 50 MP covers every phone camera in use in 2025 except 108/200 MP
    /// modes, which also save a 12 MP version by default.
    pub photo_pixels_max: u64,
    /// Largest video file accepted, checked before FFmpeg opens it.
    pub video_bytes_max: u64,
    /// Longest video accepted, from the container's declared duration.
    pub video_duration_ms_max: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            photo_bytes_max: 25 * 1024 * 1024,
            photo_pixels_max: 50_000_000,
            video_bytes_max: 300 * 1024 * 1024,
            video_duration_ms_max: 5 * 60 * 1000,
        }
    }
}
