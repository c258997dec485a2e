//! Video probing, posters and proxies against the small fixtures in tests/fixtures (see the
//! README there for how they were made).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;
use image::RgbImage;
use yizhan_media::{Limits, MediaError, VideoInfo, make_poster, probe_video, transcode_proxy};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

const LANDSCAPE: &str = "landscape_960x540_h264_aac.mp4";
/// Stored 320x180, left half red, right half blue, display matrix "rotate 90° clockwise":
/// upright it is 180x320 with red on top, like a phone held upright.
const PORTRAIT: &str = "portrait_rot90cw_320x180.mp4";

fn probe(name: &str) -> VideoInfo {
    probe_video(&fixture(name), &Limits::default()).unwrap()
}

fn expect_error(result: Result<impl std::fmt::Debug, MediaError>) -> MediaError {
    let error = result.unwrap_err();
    let message = error.user_message_zh();
    assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{message}");
    error
}

fn decode_jpeg(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).unwrap().to_rgb8()
}

fn assert_colour_at(image: &RgbImage, fx: f32, fy: f32, expected: [u8; 3], what: &str) {
    let x = ((image.width() as f32 * fx) as u32).min(image.width() - 1);
    let y = ((image.height() as f32 * fy) as u32).min(image.height() - 1);
    let actual = image.get_pixel(x, y).0;
    let close = actual.iter().zip(expected).all(|(&a, e)| (i16::from(a) - i16::from(e)).abs() < 60);
    assert!(close, "{what}: pixel at ({x},{y}) is {actual:?}, expected about {expected:?}");
}

#[test]
fn probes_a_landscape_clip() {
    let info = probe(LANDSCAPE);
    assert_eq!((info.width, info.height), (960, 540));
    assert!((2900..=3100).contains(&info.duration_ms), "{info:?}");
    assert_eq!(info.video_codec, "h264");
    assert_eq!(info.audio_codec.as_deref(), Some("aac"));
    assert_eq!(info.rotation_deg, 0);
    assert_eq!(info.upright_size(), (960, 540));
}

#[test]
fn probes_the_rotation_of_a_portrait_phone_clip() {
    let info = probe(PORTRAIT);
    assert_eq!((info.width, info.height), (320, 180));
    assert_eq!(info.rotation_deg, 90);
    assert_eq!(info.upright_size(), (180, 320));
    assert_eq!(info.audio_codec.as_deref(), Some("aac"));
}

#[test]
fn duration_limit_is_enforced() {
    let limits = Limits { video_duration_ms_max: 2000, ..Limits::default() };
    let error = expect_error(probe_video(&fixture(LANDSCAPE), &limits));
    assert!(
        matches!(error, MediaError::VideoTooLong { limit_ms: 2000, duration_ms } if duration_ms >= 2900),
        "{error:?}"
    );
    let message = error.user_message_zh();
    assert!(message.contains("视频过长"), "{message}");
    assert!(message.contains("最长 2 秒"), "{message}");
    let default_message =
        MediaError::VideoTooLong { duration_ms: 400_000, limit_ms: Limits::default().video_duration_ms_max }
            .user_message_zh();
    assert!(default_message.contains("最长 5 分钟"), "{default_message}");
}

#[test]
fn size_limit_is_enforced_before_opening() {
    let limits = Limits { video_bytes_max: 10_000, ..Limits::default() };
    let error = expect_error(probe_video(&fixture(LANDSCAPE), &limits));
    assert!(matches!(error, MediaError::VideoTooLarge { limit_bytes: 10_000, .. }), "{error:?}");
    assert!(error.user_message_zh().contains("太大"));
}

#[test]
fn truncated_and_garbage_files_are_corrupt() {
    let error = expect_error(probe_video(&fixture("truncated.mp4"), &Limits::default()));
    assert!(matches!(error, MediaError::VideoCorrupt { .. }), "{error:?}");
    assert!(matches!(make_poster(&fixture("truncated.mp4")), Err(MediaError::VideoCorrupt { .. })));

    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.mp4");
    fs::write(&garbage, (0..50_000u32).map(|i| (i * 31 % 253) as u8).collect::<Vec<_>>()).unwrap();
    let error = expect_error(probe_video(&garbage, &Limits::default()));
    assert!(matches!(error, MediaError::VideoCorrupt { .. }), "{error:?}");

    let empty = dir.path().join("empty.mp4");
    fs::write(&empty, b"").unwrap();
    let error = expect_error(probe_video(&empty, &Limits::default()));
    assert!(matches!(error, MediaError::VideoCorrupt { .. }), "{error:?}");
}

#[test]
fn a_file_with_only_audio_has_no_video_stream() {
    let error = expect_error(probe_video(&fixture("audio_only.m4a"), &Limits::default()));
    assert!(matches!(error, MediaError::VideoNoStream { .. }), "{error:?}");
}

#[test]
fn a_missing_file_is_an_io_error() {
    let error = expect_error(probe_video(Path::new("/nonexistent/yizhan/clip.mp4"), &Limits::default()));
    assert!(matches!(error, MediaError::Io { .. }), "{error:?}");
}

#[test]
fn protocol_like_names_are_files() {
    // FFmpeg would treat "concat:a|b" as a protocol; we must open a file of that name.
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("concat:x|y.mp4");
    fs::copy(fixture(LANDSCAPE), &odd).unwrap();
    let info = probe_video(&odd, &Limits::default()).unwrap();
    assert_eq!(info.width, 960);
}

#[test]
fn poster_of_a_landscape_clip() {
    let jpeg = make_poster(&fixture(LANDSCAPE)).unwrap();
    let image = decode_jpeg(&jpeg);
    // 960x540 fits in 1280 and is not upscaled.
    assert_eq!(image.dimensions(), (960, 540));
    // testsrc2 is colourful, never a black frame.
    let mean: u64 =
        image.pixels().map(|p| u64::from(p.0[0]) + u64::from(p.0[1]) + u64::from(p.0[2])).sum::<u64>()
            / u64::from(image.width() * image.height());
    assert!(mean > 60, "poster looks black: mean {mean}");
}

#[test]
fn poster_of_a_rotated_clip_is_upright() {
    let jpeg = make_poster(&fixture(PORTRAIT)).unwrap();
    let image = decode_jpeg(&jpeg);
    assert_eq!(image.dimensions(), (180, 320));
    assert_colour_at(&image, 0.5, 0.2, [255, 0, 0], "top");
    assert_colour_at(&image, 0.5, 0.8, [0, 0, 255], "bottom");
}

/// Top-level MP4 box names, in file order.
fn mp4_boxes(bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut pos = 0usize;
    while pos + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        names.push(String::from_utf8_lossy(&bytes[pos + 4..pos + 8]).into_owned());
        if size < 8 {
            break;
        }
        pos += size;
    }
    names
}

/// Codec, pixel format and size of the first video stream, straight from FFmpeg.
fn video_stream_facts(path: &Path) -> (String, ffmpeg::format::Pixel, u32, u32) {
    ffmpeg::init().unwrap();
    let ictx = ffmpeg::format::input(path).unwrap();
    let stream = ictx.streams().best(ffmpeg::media::Type::Video).unwrap();
    let decoder = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .unwrap()
        .decoder()
        .video()
        .unwrap();
    (decoder.id().name().to_owned(), decoder.format(), decoder.width(), decoder.height())
}

struct Run {
    info: yizhan_media::ProxyInfo,
    calls: Vec<f32>,
    output: PathBuf,
    _dir: tempfile::TempDir,
}

fn transcode(name: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("proxy.mp4");
    let mut calls = Vec::new();
    let info = transcode_proxy(&fixture(name), &output, &mut |f| {
        calls.push(f);
        true
    })
    .unwrap();
    // Only the proxy is left: no temporary file.
    let entries: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("proxy.mp4")]);
    Run { info, calls, output, _dir: dir }
}

fn assert_progress_is_sane(calls: &[f32]) {
    assert!(calls.len() > 10, "progress called {} times", calls.len());
    assert!(calls.windows(2).all(|w| w[0] <= w[1]), "not monotonic: {calls:?}");
    assert!(calls.iter().all(|f| (0.0..=1.0).contains(f)));
    assert_eq!(*calls.last().unwrap(), 1.0);
    // The per-frame values themselves get near the end before the final 1.0.
    assert!(calls[calls.len() - 2] > 0.9, "{calls:?}");
}

#[test]
fn proxy_of_a_landscape_clip() {
    let run = transcode(LANDSCAPE);
    let info = &run.info;
    assert_eq!((info.width, info.height), (854, 480), "{info:?}");
    assert!((2700..=3300).contains(&info.duration_ms), "duration {} ms vs 3000 ms source", info.duration_ms);
    assert!(info.bitrate_bps < 1_000_000, "{info:?}");
    assert!(info.bitrate_bps > 50_000, "suspiciously small: {info:?}");
    assert_eq!(info.bytes, fs::metadata(&run.output).unwrap().len());
    assert_progress_is_sane(&run.calls);

    let probed = probe_video(&run.output, &Limits::default()).unwrap();
    assert_eq!(probed.video_codec, "h264");
    assert_eq!(probed.audio_codec.as_deref(), Some("aac"));
    assert_eq!(probed.rotation_deg, 0);
    let (codec, pixel, width, height) = video_stream_facts(&run.output);
    assert_eq!(codec, "h264");
    assert_eq!(pixel, ffmpeg::format::Pixel::YUV420P);
    assert_eq!((width, height), (854, 480));

    // faststart: the index comes before the media data.
    let boxes = mp4_boxes(&fs::read(&run.output).unwrap());
    let moov = boxes.iter().position(|b| b == "moov").unwrap();
    let mdat = boxes.iter().position(|b| b == "mdat").unwrap();
    assert!(moov < mdat, "{boxes:?}");
}

#[test]
fn proxy_of_a_rotated_small_clip_is_upright_and_not_upscaled() {
    let run = transcode(PORTRAIT);
    assert_eq!((run.info.width, run.info.height), (180, 320), "{:?}", run.info);
    assert!((2700..=3300).contains(&run.info.duration_ms), "{:?}", run.info);
    assert_progress_is_sane(&run.calls);
    let probed = probe_video(&run.output, &Limits::default()).unwrap();
    // The rotation is in the pixels now, not in a display matrix.
    assert_eq!(probed.rotation_deg, 0);
    assert_eq!(probed.audio_codec.as_deref(), Some("aac"));
    let image = decode_jpeg(&make_poster(&run.output).unwrap());
    assert_eq!(image.dimensions(), (180, 320));
    assert_colour_at(&image, 0.5, 0.2, [255, 0, 0], "top");
    assert_colour_at(&image, 0.5, 0.8, [0, 0, 255], "bottom");
}

#[test]
fn cancelling_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("proxy.mp4");
    let mut calls = 0;
    let result = transcode_proxy(&fixture(LANDSCAPE), &output, &mut |_| {
        calls += 1;
        calls < 5
    });
    assert!(matches!(result, Err(MediaError::Cancelled)), "{result:?}");
    assert_eq!(calls, 5);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn cancelling_at_the_final_call_leaves_no_file_either() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("proxy.mp4");
    let result = transcode_proxy(&fixture(PORTRAIT), &output, &mut |f| f < 1.0);
    assert!(matches!(result, Err(MediaError::Cancelled)), "{result:?}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn proxy_of_a_corrupt_file_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("proxy.mp4");
    let error = expect_error(transcode_proxy(&fixture("truncated.mp4"), &output, &mut |_| true));
    assert!(matches!(error, MediaError::VideoCorrupt { .. }), "{error:?}");
    let error = expect_error(transcode_proxy(&fixture("audio_only.m4a"), &output, &mut |_| true));
    assert!(matches!(error, MediaError::VideoNoStream { .. }), "{error:?}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn proxy_replaces_an_existing_output_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("proxy.mp4");
    fs::write(&output, b"old").unwrap();
    // A cancelled run leaves the old file untouched.
    let result = transcode_proxy(&fixture(PORTRAIT), &output, &mut |_| false);
    assert!(matches!(result, Err(MediaError::Cancelled)));
    assert_eq!(fs::read(&output).unwrap(), b"old");
    // A finished run replaces it.
    transcode_proxy(&fixture(PORTRAIT), &output, &mut |_| true).unwrap();
    assert!(fs::metadata(&output).unwrap().len() > 1000);
}

/// Sample rate and channel count of the first audio stream, straight from FFmpeg.
fn audio_stream_facts(path: &Path) -> (String, u32, u16) {
    ffmpeg::init().unwrap();
    let ictx = ffmpeg::format::input(path).unwrap();
    let stream = ictx.streams().best(ffmpeg::media::Type::Audio).unwrap();
    let decoder = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .unwrap()
        .decoder()
        .audio()
        .unwrap();
    (decoder.id().name().to_owned(), decoder.rate(), decoder.channels())
}

#[test]
fn proxy_of_an_old_camera_style_file() {
    // Matroska, MPEG-4 Part 2 video, 8 kHz mono PCM: a different demuxer, decoder and an
    // audio rate browsers may not take in AAC.
    let name = "mkv_mpeg4_pcm8k_mono_320x240.mkv";
    let info = probe(name);
    assert_eq!((info.width, info.height), (320, 240));
    assert_eq!(info.video_codec, "mpeg4");
    assert_eq!(info.audio_codec.as_deref(), Some("pcm_s16le"));
    let run = transcode(name);
    assert_eq!((run.info.width, run.info.height), (320, 240));
    assert!((1800..=2200).contains(&run.info.duration_ms), "{:?}", run.info);
    assert_progress_is_sane(&run.calls);
    assert_eq!(audio_stream_facts(&run.output), ("aac".to_owned(), 48_000, 1));
    assert_eq!(audio_stream_facts(&fixture(LANDSCAPE)).1, 48_000);
    assert_eq!(audio_stream_facts(&transcode(LANDSCAPE).output).2, 2);
}

/// Cut and corrupted copies of a real clip: every call returns (Ok or Err), none panics, and
/// a failed proxy leaves nothing behind.
#[test]
fn damaged_videos_never_panic() {
    let original = fs::read(fixture(PORTRAIT)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut cases: Vec<Vec<u8>> = [40, 200, 1000, 5000, original.len() / 2, original.len() - 100]
        .iter()
        .map(|&cut| original[..cut].to_vec())
        .collect();
    for _ in 0..12 {
        let mut damaged = original.clone();
        for _ in 0..20 {
            let at = (next() % damaged.len() as u64) as usize;
            damaged[at] = next() as u8;
        }
        cases.push(damaged);
    }
    for (i, case) in cases.iter().enumerate() {
        let input = dir.path().join(format!("case-{i}.mp4"));
        fs::write(&input, case).unwrap();
        let _ = probe_video(&input, &Limits::default());
        let _ = make_poster(&input);
        let out_dir = dir.path().join(format!("out-{i}"));
        fs::create_dir(&out_dir).unwrap();
        let output = out_dir.join("proxy.mp4");
        match transcode_proxy(&input, &output, &mut |_| true) {
            Ok(_) => assert!(output.exists()),
            Err(_) => assert_eq!(fs::read_dir(&out_dir).unwrap().count(), 0, "case {i} left files"),
        }
    }
}
