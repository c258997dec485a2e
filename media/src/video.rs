//! Video probing and posters, plus the FFmpeg plumbing shared with `proxy.rs`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ffmpeg::codec::packet::side_data::Type as SideDataType;
use ffmpeg::format::stream::Stream;
use ffmpeg::{Dictionary, Packet, Rational, Rescale, codec, filter, format, frame, media};
use ffmpeg_next as ffmpeg;
use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;

use crate::photo::scaled_size;
use crate::{DERIVED_JPEG_QUALITY, DISPLAY_LONG_SIDE_PX, Limits, MediaError, VIDEO_SIDE_PX_MAX};

/// Where the poster frame is taken, unless the clip is shorter than three times this: the first
/// frames of phone clips are often black or blurred while the camera settles.
const POSTER_TARGET_MS: u64 = 1000;

/// Most frames decoded while looking for the poster frame after seeking (a 10 s GOP at 60 fps).
const POSTER_FRAMES_DECODED_MAX: u32 = 600;

/// Most packets (audio included) read while looking for a poster or the first probe frame.
const SEARCH_PACKETS_READ_MAX: u32 = 10_000;

/// Consecutive damaged packets skipped before a file is declared corrupt. A demuxer resyncs past
/// a damaged packet; a long run of them means there is nothing left to resync to.
const INVALID_PACKETS_IN_A_ROW_MAX: u32 = 1000;

/// Demuxers we let FFmpeg use on uploaded files: what phones and cameras write. Playlists
/// (HLS, concat) are excluded because they make FFmpeg open other files or URLs named inside
/// the upload, a known way to read arbitrary files through FFmpeg. Names are matched against
/// FFmpeg's comma-separated demuxer names, so "mov" admits "mov,mp4,m4a,3gp,3g2,mj2".
const DEMUXER_WHITELIST: &str = "mov,matroska,avi,mpegts,flv,mpeg,asf,ogg";

/// Basic facts about a video, from its container and first frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoInfo {
    /// Duration declared by the container (or the video stream if the container has none).
    pub duration_ms: u64,
    /// Width of the video stream as stored, before `rotation_deg` is applied.
    pub width: u32,
    /// Height of the video stream as stored, before `rotation_deg` is applied.
    pub height: u32,
    /// FFmpeg's codec name, e.g. "h264", "hevc".
    pub video_codec: String,
    /// FFmpeg's codec name of the best audio stream, if there is one.
    pub audio_codec: Option<String>,
    /// Clockwise rotation (0, 90, 180 or 270) a player applies to show the video upright, from
    /// the stream's display matrix (phones record portrait clips as rotated landscape frames).
    pub rotation_deg: i32,
}

impl VideoInfo {
    /// `(width, height)` as a viewer sees it, after rotation.
    pub fn upright_size(&self) -> (u32, u32) {
        if self.rotation_deg % 180 == 0 { (self.width, self.height) } else { (self.height, self.width) }
    }
}

/// Initialises FFmpeg once per process. Later calls return the first call's outcome.
pub(crate) fn init() -> Result<(), MediaError> {
    static INIT: OnceLock<Result<(), ffmpeg::Error>> = OnceLock::new();
    let result = INIT.get_or_init(|| {
        let result = ffmpeg::init();
        // FFmpeg logs to stderr at "info" by default (every x264 setting, every damaged packet).
        // Our errors carry what matters; keep FFmpeg to real errors.
        ffmpeg::log::set_level(ffmpeg::log::Level::Error);
        result
    });
    (*result).map_err(|source| MediaError::VideoProcessing { stage: "initialising FFmpeg", source })
}

/// FFmpeg takes a URL, not a path: "concat:a|b" or "http://..." would be opened as such. The
/// `file:` prefix pins the file protocol. ffmpeg-next also panics on non-UTF-8 or NUL-containing
/// paths, so those are rejected here.
pub(crate) fn ffmpeg_url(path: &Path) -> Result<String, MediaError> {
    match path.to_str() {
        Some(s) if !s.contains('\0') && !s.is_empty() => Ok(format!("file:{s}")),
        _ => Err(MediaError::UnsupportedPath { path: path.to_path_buf() }),
    }
}

pub(crate) fn corrupt(path: &Path, detail: impl Into<String>, source: Option<ffmpeg::Error>) -> MediaError {
    MediaError::VideoCorrupt { path: path.to_path_buf(), detail: detail.into(), source }
}

pub(crate) fn processing(stage: &'static str) -> impl FnOnce(ffmpeg::Error) -> MediaError {
    move |source| MediaError::VideoProcessing { stage, source }
}

/// Opens an uploaded video with the demuxer and protocol whitelists.
pub(crate) fn open_input(path: &Path) -> Result<format::context::Input, MediaError> {
    init()?;
    let url = ffmpeg_url(path)?;
    let mut options = Dictionary::new();
    options.set("protocol_whitelist", "file");
    options.set("format_whitelist", DEMUXER_WHITELIST);
    format::input_with_dictionary(&url, options).map_err(|e| {
        // A missing file is an I/O problem, not a corrupt video.
        match std::fs::metadata(path) {
            Err(io) => MediaError::Io { path: path.to_path_buf(), source: io },
            Ok(_) => corrupt(path, "FFmpeg cannot open the file as a video", Some(e)),
        }
    })
}

/// File size, checked against the limit before FFmpeg parses anything.
pub(crate) fn check_file_size(path: &Path, limits: &Limits) -> Result<u64, MediaError> {
    let metadata =
        std::fs::metadata(path).map_err(|source| MediaError::Io { path: path.to_path_buf(), source })?;
    let size_bytes = metadata.len();
    if size_bytes > limits.video_bytes_max {
        return Err(MediaError::VideoTooLarge { size_bytes, limit_bytes: limits.video_bytes_max });
    }
    Ok(size_bytes)
}

/// The video stream a player would pick, as an index (a `Stream` borrows the context).
pub(crate) fn best_video_stream(ictx: &format::context::Input, path: &Path) -> Result<usize, MediaError> {
    ictx.streams()
        .best(media::Type::Video)
        .map(|s| s.index())
        .ok_or_else(|| MediaError::VideoNoStream { path: path.to_path_buf() })
}

/// Duration in ms from the container, else from the stream; None if neither declares one.
pub(crate) fn duration_ms(ictx: &format::context::Input, stream: &Stream) -> Option<u64> {
    // Container duration is in AV_TIME_BASE (microseconds); AV_NOPTS_VALUE is i64::MIN.
    let container_us = ictx.duration();
    if container_us > 0 {
        return u64::try_from(container_us / 1000).ok();
    }
    let stream_duration = stream.duration();
    if stream_duration > 0 {
        let ms = stream_duration.rescale(stream.time_base(), Rational::new(1, 1000));
        return u64::try_from(ms).ok().filter(|&ms| ms > 0);
    }
    None
}

/// Opens a decoder for a stream, with FFmpeg's automatic thread count.
pub(crate) fn open_video_decoder(stream: &Stream, path: &Path) -> Result<codec::decoder::Video, MediaError> {
    let parameters = stream.parameters();
    let codec_name = parameters.id().name().to_owned();
    let mut context = codec::context::Context::from_parameters(parameters)
        .map_err(|e| corrupt(path, "invalid video stream parameters", Some(e)))?;
    context.set_threading(codec::threading::Config {
        kind: codec::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    let mut decoder = context.decoder();
    // Frame timestamps then come out in the stream's time base.
    decoder.set_packet_time_base(stream.time_base());
    match decoder.video() {
        Ok(decoder) => Ok(decoder),
        Err(ffmpeg::Error::DecoderNotFound) => Err(MediaError::VideoUnsupportedCodec { codec: codec_name }),
        Err(e) => Err(corrupt(path, format!("cannot open the {codec_name} decoder"), Some(e))),
    }
}

/// Clockwise rotation that shows the stream upright: 0, 90, 180 or 270.
///
/// Read from the display-matrix side data the MP4/MOV demuxer attaches to the stream. The
/// matrix follows FFmpeg's convention (`av_display_rotation_get` gives the counter-clockwise
/// angle), so the clockwise angle is its negation, exactly as the `ffmpeg` CLI's autorotate
/// computes it. Angles are snapped to the nearest quarter turn. Mirroring (a negative
/// determinant, front cameras of a few phones) is not applied.
pub(crate) fn rotation_cw_deg(stream: &Stream) -> i32 {
    for side_data in stream.side_data() {
        if side_data.kind() != SideDataType::DisplayMatrix {
            continue;
        }
        if let Some(deg) = display_matrix_rotation_cw(side_data.data()) {
            return deg;
        }
    }
    // Older files or muxers: the legacy "rotate" tag, which is already clockwise.
    stream.metadata().get("rotate").and_then(|v| v.trim().parse::<i32>().ok()).map_or(0, snap_quarter_turn)
}

/// Parses a 3x3 display matrix (nine native-endian i32, 16.16 fixed point for a, b, c, d).
pub(crate) fn display_matrix_rotation_cw(data: &[u8]) -> Option<i32> {
    let value = |index: usize| -> Option<f64> {
        let bytes = data.get(index * 4..index * 4 + 4)?;
        let raw = i32::from_ne_bytes(<[u8; 4]>::try_from(bytes).ok()?);
        Some(f64::from(raw) / 65536.0)
    };
    let (m0, m1, m3, m4) = (value(0)?, value(1)?, value(3)?, value(4)?);
    let scale0 = m0.hypot(m3);
    let scale1 = m1.hypot(m4);
    if scale0 == 0.0 || scale1 == 0.0 {
        return None;
    }
    // av_display_rotation_get() = -atan2(m1/s1, m0/s0); clockwise is its negation.
    let cw = (m1 / scale1).atan2(m0 / scale0).to_degrees();
    if !cw.is_finite() {
        return None;
    }
    // |cw| <= 180, so the cast cannot overflow.
    Some(snap_quarter_turn(cw.round() as i32))
}

fn snap_quarter_turn(deg: i32) -> i32 {
    let deg = deg.rem_euclid(360);
    // Nearest multiple of 90, with 315..360 wrapping to 0.
    ((deg + 45) / 90 % 4) * 90
}

/// Display size of a stored frame: sample aspect ratio applied to the width, then rotated.
pub(crate) fn upright_display_size(
    width: u32,
    height: u32,
    sample_aspect: Rational,
    rotation_cw_deg: i32,
) -> (u32, u32) {
    let (num, den) = (sample_aspect.numerator(), sample_aspect.denominator());
    let display_width = if num > 0 && den > 0 && num != den {
        let w = u64::from(width) * u64::try_from(num).unwrap_or(1) / u64::try_from(den).unwrap_or(1);
        u32::try_from(w).unwrap_or(u32::MAX).clamp(1, VIDEO_SIDE_PX_MAX * 2)
    } else {
        width
    };
    if rotation_cw_deg % 180 == 0 { (display_width, height) } else { (height, display_width) }
}

/// FFmpeg filter that turns stored frames upright, with a trailing comma, or "".
pub(crate) fn rotation_filter(rotation_cw_deg: i32) -> &'static str {
    match rotation_cw_deg {
        90 => "transpose=clock,",
        180 => "hflip,vflip,",
        270 => "transpose=cclock,",
        _ => "",
    }
}

/// What the `buffer` source of a video filter graph is told about the incoming frames.
pub(crate) struct VideoSource {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) format: format::Pixel,
    pub(crate) sample_aspect: Rational,
    pub(crate) time_base: Rational,
}

impl VideoSource {
    fn of_frame(frame: &frame::Video, time_base: Rational) -> Self {
        VideoSource {
            width: frame.width(),
            height: frame.height(),
            format: frame.format(),
            sample_aspect: frame.aspect_ratio(),
            time_base,
        }
    }
}

/// A filter graph fed one decoded video stream: `buffer` -> `spec` -> `buffersink`.
pub(crate) fn video_graph(source: &VideoSource, spec: &str) -> Result<filter::Graph, MediaError> {
    let build = || -> Result<filter::Graph, ffmpeg::Error> {
        let mut graph = filter::Graph::new();
        let aspect = if source.sample_aspect.numerator() > 0 && source.sample_aspect.denominator() > 0 {
            source.sample_aspect
        } else {
            Rational::new(1, 1)
        };
        let time_base = if source.time_base.numerator() > 0 && source.time_base.denominator() > 0 {
            source.time_base
        } else {
            Rational::new(1, 90_000)
        };
        let pix_fmt: ffmpeg::ffi::AVPixelFormat = source.format.into();
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
            source.width,
            source.height,
            pix_fmt as i32,
            time_base.numerator(),
            time_base.denominator(),
            aspect.numerator(),
            aspect.denominator()
        );
        let buffer = filter::find("buffer").ok_or(ffmpeg::Error::FilterNotFound)?;
        let sink = filter::find("buffersink").ok_or(ffmpeg::Error::FilterNotFound)?;
        graph.add(&buffer, "in", &args)?;
        graph.add(&sink, "out", "")?;
        graph.output("in", 0)?.input("out", 0)?.parse(spec)?;
        graph.validate()?;
        Ok(graph)
    };
    build().map_err(processing("building the video filter graph"))
}

/// Reads packets and skips damaged ones, within `INVALID_PACKETS_IN_A_ROW_MAX`.
/// `Ok(None)` is the end of the file.
pub(crate) fn read_packet(
    ictx: &mut format::context::Input,
    path: &Path,
) -> Result<Option<Packet>, MediaError> {
    let mut invalid_in_a_row = 0;
    loop {
        let mut packet = Packet::empty();
        match packet.read(ictx) {
            Ok(()) => return Ok(Some(packet)),
            Err(ffmpeg::Error::Eof) => return Ok(None),
            Err(ffmpeg::Error::InvalidData) if invalid_in_a_row < INVALID_PACKETS_IN_A_ROW_MAX => {
                invalid_in_a_row += 1;
            }
            Err(e) => return Err(corrupt(path, "reading packets failed", Some(e))),
        }
    }
}

/// Checks an uploaded video against the limits and returns its basic facts.
///
/// Checks, cheapest first: file size (before FFmpeg opens the file), container, video stream,
/// declared duration, resolution, and finally that the first video frame actually decodes, so
/// a file that only *looks* like a video is rejected at upload and not at transcode time.
pub fn probe_video(path: &Path, limits: &Limits) -> Result<VideoInfo, MediaError> {
    check_file_size(path, limits)?;
    let mut ictx = open_input(path)?;
    let stream_index = best_video_stream(&ictx, path)?;
    let (duration, rotation_deg, mut decoder, audio_codec) = {
        let stream = ictx.stream(stream_index).ok_or_else(|| corrupt(path, "video stream vanished", None))?;
        let duration = duration_ms(&ictx, &stream)
            .ok_or_else(|| corrupt(path, "the file declares no duration", None))?;
        if duration > limits.video_duration_ms_max {
            return Err(MediaError::VideoTooLong {
                duration_ms: duration,
                limit_ms: limits.video_duration_ms_max,
            });
        }
        let decoder = open_video_decoder(&stream, path)?;
        let audio_codec =
            ictx.streams().best(media::Type::Audio).map(|s| s.parameters().id().name().to_owned());
        (duration, rotation_cw_deg(&stream), decoder, audio_codec)
    };
    let (width, height) = (decoder.width(), decoder.height());
    check_video_size(width, height, path)?;
    let video_codec = decoder.id().name().to_owned();

    // The first decodable frame proves the stream is real.
    let mut frame = frame::Video::empty();
    let mut packets_read = 0;
    let decoded = loop {
        if decoder.receive_frame(&mut frame).is_ok() {
            break true;
        }
        if packets_read >= SEARCH_PACKETS_READ_MAX {
            break false;
        }
        match read_packet(&mut ictx, path)? {
            Some(packet) => {
                packets_read += 1;
                if packet.stream() == stream_index {
                    // A damaged packet is not fatal here; the decoder gets the next one.
                    let _ = decoder.send_packet(&packet);
                }
            }
            None => {
                let _ = decoder.send_eof();
                break decoder.receive_frame(&mut frame).is_ok();
            }
        }
    };
    if !decoded {
        return Err(corrupt(path, "no video frame could be decoded", None));
    }

    let info = VideoInfo { duration_ms: duration, width, height, video_codec, audio_codec, rotation_deg };
    tracing::debug!(?info, path = %path.display(), "probed video");
    Ok(info)
}

pub(crate) fn check_video_size(width: u32, height: u32, path: &Path) -> Result<(), MediaError> {
    if width == 0 || height == 0 {
        return Err(corrupt(path, format!("video stream is {width}x{height}"), None));
    }
    if width > VIDEO_SIDE_PX_MAX || height > VIDEO_SIDE_PX_MAX {
        return Err(MediaError::VideoTooManyPixels { width, height, limit_px: VIDEO_SIDE_PX_MAX });
    }
    Ok(())
}

/// A JPEG poster: the frame about one second in (or a third of the way into a short clip, or
/// the first decodable frame), upright, longest side <= [`DISPLAY_LONG_SIDE_PX`].
///
/// Call [`probe_video`] first: this function does not check the upload limits.
pub fn make_poster(path: &Path) -> Result<Vec<u8>, MediaError> {
    let mut ictx = open_input(path)?;
    let stream_index = best_video_stream(&ictx, path)?;
    let (time_base, start_pts, duration, rotation) = {
        let stream = ictx.stream(stream_index).ok_or_else(|| corrupt(path, "video stream vanished", None))?;
        let start = stream.start_time();
        // AV_NOPTS_VALUE (i64::MIN) means "unknown", i.e. 0.
        let start = if start == i64::MIN { 0 } else { start };
        (stream.time_base(), start, duration_ms(&ictx, &stream).unwrap_or(0), rotation_cw_deg(&stream))
    };
    let target_ms = POSTER_TARGET_MS.min(duration / 3);
    let target_ms_i64 = i64::try_from(target_ms).unwrap_or(0);

    let frame = if target_ms > 0 {
        // Seek to the keyframe at or before the target, then decode forward to it.
        let target_us = target_ms_i64.saturating_mul(1000);
        match ictx.seek(target_us, ..target_us) {
            Ok(()) => {
                let target_pts =
                    start_pts.saturating_add(target_ms_i64.rescale(Rational::new(1, 1000), time_base));
                find_frame(&mut ictx, stream_index, path, Some(target_pts))?
            }
            Err(e) => {
                tracing::debug!(error = %e, "poster seek failed; using the first frame");
                None
            }
        }
    } else {
        None
    };
    let frame = match frame {
        Some(frame) => frame,
        None => {
            // No seek, a failed seek, or nothing decodable after it: start over from the top.
            let mut ictx = open_input(path)?;
            find_frame(&mut ictx, stream_index, path, None)?
                .ok_or_else(|| corrupt(path, "no video frame could be decoded", None))?
        }
    };
    frame_to_jpeg(&frame, rotation, time_base)
}

/// Decodes forward to the first frame at or after `target_pts` (the first frame at all if
/// None). At the end of the stream, or after `POSTER_FRAMES_DECODED_MAX` frames, the last
/// decoded frame is used.
fn find_frame(
    ictx: &mut format::context::Input,
    stream_index: usize,
    path: &Path,
    target_pts: Option<i64>,
) -> Result<Option<frame::Video>, MediaError> {
    let mut decoder = {
        let stream = ictx.stream(stream_index).ok_or_else(|| corrupt(path, "video stream vanished", None))?;
        open_video_decoder(&stream, path)?
    };
    check_video_size(decoder.width(), decoder.height(), path)?;
    let mut last: Option<frame::Video> = None;
    let mut frames_decoded = 0;
    let mut packets_read = 0;
    let mut at_eof = false;
    loop {
        let mut frame = frame::Video::empty();
        if decoder.receive_frame(&mut frame).is_ok() {
            frames_decoded += 1;
            let reached = match (target_pts, frame.timestamp()) {
                (None, _) | (Some(_), None) => true,
                (Some(target), Some(pts)) => pts >= target,
            };
            last = Some(frame);
            if reached || frames_decoded >= POSTER_FRAMES_DECODED_MAX {
                break;
            }
            continue;
        }
        if at_eof || packets_read >= SEARCH_PACKETS_READ_MAX {
            break;
        }
        match read_packet(ictx, path)? {
            Some(packet) => {
                packets_read += 1;
                if packet.stream() == stream_index {
                    let _ = decoder.send_packet(&packet);
                }
            }
            None => {
                let _ = decoder.send_eof();
                at_eof = true;
            }
        }
    }
    Ok(last)
}

fn frame_to_jpeg(frame: &frame::Video, rotation: i32, time_base: Rational) -> Result<Vec<u8>, MediaError> {
    let (upright_w, upright_h) =
        upright_display_size(frame.width(), frame.height(), frame.aspect_ratio(), rotation);
    let (out_w, out_h) = if upright_w.max(upright_h) > DISPLAY_LONG_SIDE_PX {
        scaled_size(upright_w, upright_h, DISPLAY_LONG_SIDE_PX)
    } else {
        (upright_w, upright_h)
    };
    // The scale filter reads the frame's colour matrix (BT.601/709) and range, which a bare
    // swscale call would ignore, so posters of HD clips keep their colours.
    let spec =
        format!("{}scale={out_w}:{out_h}:flags=bicubic,setsar=1,format=rgb24", rotation_filter(rotation));
    let mut graph = video_graph(&VideoSource::of_frame(frame, time_base), &spec)?;
    let mut rgb_frame = frame::Video::empty();
    {
        let mut source = graph
            .get("in")
            .ok_or(ffmpeg::Error::FilterNotFound)
            .map_err(processing("finding the poster filter source"))?;
        source.source().add(frame).map_err(processing("filtering the poster frame"))?;
        source.source().flush().map_err(processing("filtering the poster frame"))?;
    }
    graph
        .get("out")
        .ok_or(ffmpeg::Error::FilterNotFound)
        .and_then(|mut sink| sink.sink().frame(&mut rgb_frame))
        .map_err(processing("filtering the poster frame"))?;

    // ffmpeg-next's stride()/data() panic on a missing plane; a sink frame always has one, but
    // this is checked rather than trusted.
    if rgb_frame.planes() == 0 {
        return Err(processing("filtering the poster frame")(ffmpeg::Error::Bug));
    }
    let (width, height) = (rgb_frame.width(), rgb_frame.height());
    let row_bytes = usize::try_from(width).unwrap_or(usize::MAX).saturating_mul(3);
    let stride = rgb_frame.stride(0);
    let data = rgb_frame.data(0);
    let mut pixels = Vec::with_capacity(row_bytes.saturating_mul(usize::try_from(height).unwrap_or(0)));
    for row in 0..usize::try_from(height).unwrap_or(0) {
        let start = row.saturating_mul(stride);
        let line = data
            .get(start..start.saturating_add(row_bytes))
            .ok_or(ffmpeg::Error::Bug)
            .map_err(processing("copying the poster pixels"))?;
        pixels.extend_from_slice(line);
    }
    let image = RgbImage::from_raw(width, height, pixels)
        .ok_or(ffmpeg::Error::Bug)
        .map_err(processing("copying the poster pixels"))?;
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, DERIVED_JPEG_QUALITY)
        .encode_image(&image)
        .map_err(MediaError::PhotoEncode)?;
    Ok(out)
}

/// The path of a file, for errors that are about the file rather than FFmpeg.
pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> MediaError {
    let path: PathBuf = path.to_path_buf();
    move |source| MediaError::Io { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(values: [i32; 9]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn display_matrix_rotation() {
        let one = 1 << 16;
        // Identity.
        assert_eq!(display_matrix_rotation_cw(&matrix([one, 0, 0, 0, one, 0, 0, 0, 1 << 30])), Some(0));
        // iPhone portrait: ffprobe reports "rotation of -90", players turn it 90 clockwise.
        assert_eq!(display_matrix_rotation_cw(&matrix([0, one, 0, -one, 0, 0, 0, 0, 1 << 30])), Some(90));
        assert_eq!(display_matrix_rotation_cw(&matrix([0, -one, 0, one, 0, 0, 0, 0, 1 << 30])), Some(270));
        assert_eq!(display_matrix_rotation_cw(&matrix([-one, 0, 0, 0, -one, 0, 0, 0, 1 << 30])), Some(180));
        assert_eq!(display_matrix_rotation_cw(&[0; 8]), None);
        assert_eq!(display_matrix_rotation_cw(&matrix([0; 9])), None);
    }

    #[test]
    fn quarter_turns() {
        assert_eq!(snap_quarter_turn(-90), 270);
        assert_eq!(snap_quarter_turn(359), 0);
        assert_eq!(snap_quarter_turn(44), 0);
        assert_eq!(snap_quarter_turn(46), 90);
        // i32::MIN is 232 (mod 360): no overflow, nearest quarter turn.
        assert_eq!(snap_quarter_turn(i32::MIN), 270);
    }

    #[test]
    fn urls_pin_the_file_protocol() {
        assert_eq!(ffmpeg_url(Path::new("/a/b.mp4")).ok(), Some("file:/a/b.mp4".into()));
        assert_eq!(ffmpeg_url(Path::new("concat:/a|/b")).ok(), Some("file:concat:/a|/b".into()));
        assert!(ffmpeg_url(Path::new("a\0b")).is_err());
    }
}
