//! The low-bitrate proxy: a small H.264/AAC MP4 that streams in a browser and syncs first.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ffmpeg::{
    ChannelLayout, Dictionary, Packet, Rational, Rescale, codec, encoder, filter, format, frame, media,
};
use ffmpeg_next as ffmpeg;

use crate::video::{
    VideoSource, best_video_stream, check_video_size, corrupt, duration_ms, ffmpeg_url, io_error, open_input,
    open_video_decoder, processing, read_packet, rotation_cw_deg, rotation_filter, upright_display_size,
    video_graph,
};
use crate::{
    MediaError, PROXY_AUDIO_BITRATE_BPS, PROXY_FPS_MAX, PROXY_HEIGHT_PX, PROXY_VIDEO_BUFSIZE_BITS,
    PROXY_VIDEO_MAXRATE_BPS, PROXY_WIDTH_PX_MAX,
};

/// libx264 preset: `veryfast` encodes a 5-minute 480p clip in roughly real time on the kiosk's
/// two cores; slower presets gain ~10 % in size, which the bitrate cap makes moot.
const X264_PRESET: &str = "veryfast";

/// Constant-quality target under the `maxrate` cap: simple scenes come out far below the cap.
const X264_CRF: &str = "26";

/// A keyframe every two seconds, so seeking in the browser stays quick.
const KEYFRAME_INTERVAL_S: u32 = 2;

/// A proxy may run this far past the duration its source declares before we call the source
/// corrupt. Declared durations are approximate (edit lists, a last frame's length), but a file
/// that claims 3 s and holds an hour must not keep the kiosk's CPU busy for an hour.
const DURATION_OVERRUN_MS_MAX: u64 = 10_000;

/// Highest plausible decoded frame rate (slow-motion phone clips record 240 fps). With the
/// declared duration it bounds the frames we decode, whatever the timestamps say.
const SOURCE_FPS_MAX: u64 = 250;

/// Facts about a finished proxy, read back from the written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyInfo {
    pub duration_ms: u64,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// Average over the whole file (audio, video and container).
    pub bitrate_bps: u64,
}

/// Transcodes to a low-bitrate proxy: MP4 with the `moov` box first (so it streams in a
/// browser), H.264 (libx264, yuv420p, `maxrate` [`PROXY_VIDEO_MAXRATE_BPS`]) at
/// [`PROXY_HEIGHT_PX`] high (keeping the aspect ratio, even dimensions, never upscaled, at most
/// [`PROXY_WIDTH_PX_MAX`] wide, at most [`PROXY_FPS_MAX`] fps), turned upright if the source has
/// a display-matrix rotation, and AAC audio ([`PROXY_AUDIO_BITRATE_BPS`], mono or stereo) when
/// the source has decodable audio. No metadata of the source (such as a phone's GPS location
/// tag) is copied.
///
/// `progress` is called with a non-decreasing fraction in `0.0..=1.0` for every decoded video
/// frame, and with exactly 1.0 once the proxy is complete; returning false stops the work,
/// deletes the partial file and returns [`MediaError::Cancelled`].
///
/// The proxy is written to a temporary file in `output`'s directory, flushed to disk and then
/// renamed over `output`, so neither a crash nor a power cut leaves a half-written proxy there.
///
/// Call [`crate::probe_video`] with the upload [`crate::Limits`] first: this function does not
/// check them again. It does bound its own work by the duration the source declares: a source
/// whose frames run far past it (or that holds more than 250 frames per declared second) is
/// rejected as corrupt instead of being encoded for hours.
pub fn transcode_proxy(
    input: &Path,
    output: &Path,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<ProxyInfo, MediaError> {
    let mut temp = TempFile::next_to(output)?;
    let url = ffmpeg_url(&temp.path)?;
    let mut ictx = open_input(input)?;
    let mut octx = format::output_as(&url, "mp4").map_err(|source| {
        // Opening for writing fails for directory/permission/disk reasons; name the file.
        MediaError::Io { path: temp.path.clone(), source: std::io::Error::other(source) }
    })?;
    // `avio_open` has created the file: from here on the guard must remove it.
    temp.created = true;

    let mut video = VideoLane::open(&ictx, &mut octx, input)?;
    let mut audio = AudioLane::open(&ictx, &mut octx)?;

    let mut header_options = Dictionary::new();
    // Rewrites the file at the end with `moov` before `mdat`, so a browser can start playing
    // before the whole proxy has arrived.
    header_options.set("movflags", "+faststart");
    octx.write_header_with(header_options).map_err(processing("writing the MP4 header"))?;
    // The muxer picks its own time bases in write_header; packets must be rescaled to them.
    video.ost_time_base = stream_time_base(&octx, video.ost_index)?;
    if let Some(audio) = audio.as_mut() {
        audio.ost_time_base = stream_time_base(&octx, audio.ost_index)?;
    }

    let mut tracker = ProgressTracker { callback: progress, last: 0.0 };
    loop {
        let Some(packet) = read_packet(&mut ictx, input)? else {
            break;
        };
        if packet.stream() == video.stream_index {
            video.decode(&packet, input, &mut octx, &mut tracker)?;
        } else if let Some(audio) = audio.as_mut().filter(|a| a.stream_index == packet.stream()) {
            audio.decode(&packet, input, &mut octx)?;
        }
    }
    video.finish(input, &mut octx, &mut tracker)?;
    if let Some(audio) = audio.as_mut() {
        audio.finish(input, &mut octx)?;
    }
    if video.frames_encoded == 0 {
        return Err(corrupt(input, "no video frame could be decoded", None));
    }
    octx.write_trailer().map_err(processing("writing the MP4 trailer"))?;
    // Closes the file (avio_close) before it is read back, synced and renamed.
    drop(octx);
    drop(ictx);

    let info = read_back(&temp.path)?;
    fs::File::open(&temp.path).and_then(|f| f.sync_all()).map_err(io_error(&temp.path))?;
    if !(tracker.callback)(1.0) {
        return Err(MediaError::Cancelled);
    }
    fs::rename(&temp.path, output).map_err(io_error(output))?;
    temp.created = false;
    sync_parent_dir(output);
    tracing::info!(?info, input = %input.display(), output = %output.display(), "video proxy written");
    Ok(info)
}

/// Calls the caller's progress callback with non-decreasing values.
struct ProgressTracker<'a> {
    callback: &'a mut dyn FnMut(f32) -> bool,
    last: f32,
}

impl ProgressTracker<'_> {
    fn report(&mut self, fraction: f32) -> Result<(), MediaError> {
        let fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
        self.last = self.last.max(fraction);
        if (self.callback)(self.last) { Ok(()) } else { Err(MediaError::Cancelled) }
    }
}

/// The temporary output file; removed on drop unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    created: bool,
}

impl TempFile {
    fn next_to(output: &Path) -> Result<TempFile, MediaError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let Some(file_name) = output.file_name().and_then(|n| n.to_str()) else {
            return Err(MediaError::UnsupportedPath { path: output.to_path_buf() });
        };
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Same directory as the output, so the final rename is atomic (same file system). The
        // leading dot hides it from directory listings the kiosk serves.
        let name = format!(".{file_name}.{}.{n}.partial", std::process::id());
        Ok(TempFile { path: output.with_file_name(name), created: false })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.created
            && let Err(e) = fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove partial proxy");
        }
    }
}

/// Makes the rename itself durable. Best effort: not every file system allows syncing a
/// directory, and the proxy is already complete under one name or the other.
fn sync_parent_dir(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Err(e) = fs::File::open(parent).and_then(|d| d.sync_all()) {
        tracing::debug!(error = %e, "could not sync the proxy's directory");
    }
}

fn stream_time_base(octx: &format::context::Output, index: usize) -> Result<Rational, MediaError> {
    octx.stream(index)
        .map(|s| s.time_base())
        .ok_or(ffmpeg::Error::StreamNotFound)
        .map_err(processing("reading the output time base"))
}

/// Proxy frame size: the upright size scaled so its shorter side is `PROXY_HEIGHT_PX` (never
/// up; "480p" for a landscape clip and, for a portrait phone clip, 480 wide rather than a
/// postage stamp), the longer side at most `PROXY_WIDTH_PX_MAX`, both even (yuv420p needs
/// even sides), both at least 2. The scaled side is rounded to the nearest even number, like
/// FFmpeg's `scale=-2:480`.
pub(crate) fn proxy_size(upright_width: u32, upright_height: u32) -> (u32, u32) {
    if upright_height > upright_width {
        let (long, short) = landscape_proxy_size(upright_height, upright_width);
        return (short, long);
    }
    landscape_proxy_size(upright_width, upright_height)
}

fn landscape_proxy_size(upright_width: u32, upright_height: u32) -> (u32, u32) {
    let (w, h) = (u64::from(upright_width.max(1)), u64::from(upright_height.max(1)));
    let floor_even = |v: u64| -> u64 { (v & !1).max(2) };
    // Nearest even value of num / den.
    let round_even = |num: u64, den: u64| -> u64 { (2 * ((num + den) / (2 * den))).max(2) };
    let mut out_h = floor_even(h.min(u64::from(PROXY_HEIGHT_PX)));
    let mut out_w = round_even(w * out_h, h).min(floor_even(w));
    if out_w > u64::from(PROXY_WIDTH_PX_MAX) {
        out_w = u64::from(PROXY_WIDTH_PX_MAX);
        out_h = round_even(h * out_w, w).min(out_h);
    }
    let to_u32 = |v: u64| u32::try_from(v).unwrap_or(2);
    (to_u32(out_w), to_u32(out_h))
}

/// Drains an encoder into the muxer. `Again`/`Eof` just mean "nothing more for now".
fn write_encoded(
    encoder: &mut encoder::Encoder,
    encoder_time_base: Rational,
    ost_index: usize,
    ost_time_base: Rational,
    octx: &mut format::context::Output,
    stage: &'static str,
) -> Result<u64, MediaError> {
    let mut written = 0;
    loop {
        let mut packet = Packet::empty();
        match encoder.receive_packet(&mut packet) {
            Ok(()) => {
                packet.set_stream(ost_index);
                packet.rescale_ts(encoder_time_base, ost_time_base);
                packet.write_interleaved(octx).map_err(processing("writing the proxy"))?;
                written += 1;
            }
            Err(e) if is_again_or_eof(&e) => return Ok(written),
            Err(e) => return Err(processing(stage)(e)),
        }
    }
}

fn is_again_or_eof(e: &ffmpeg::Error) -> bool {
    matches!(e, ffmpeg::Error::Eof) || *e == ffmpeg::Error::Other { errno: ffmpeg::error::EAGAIN }
}

/// Feeds a packet to a decoder. A damaged packet is skipped (the decoder recovers at the next
/// keyframe, the same as a player would); anything else is fatal.
fn send_packet(
    decoder: &mut codec::decoder::Opened,
    packet: &Packet,
    input: &Path,
) -> Result<(), MediaError> {
    match decoder.send_packet(packet) {
        Ok(()) => Ok(()),
        Err(ffmpeg::Error::InvalidData) => {
            tracing::debug!("skipping a damaged packet");
            Ok(())
        }
        Err(e) => Err(corrupt(input, "decoding failed", Some(e))),
    }
}

/// Video: decoder -> (fps, transpose, scale, yuv420p) filter graph -> libx264 -> muxer.
struct VideoLane {
    stream_index: usize,
    stream_time_base: Rational,
    start_pts: i64,
    duration_ms: u64,
    decoder: codec::decoder::Video,
    /// Built from the first decoded frame, whose pixel format is the one that counts.
    graph: Option<filter::Graph>,
    filter_spec: String,
    encoder: encoder::Video,
    encoder_time_base: Rational,
    last_pts: Option<i64>,
    ost_index: usize,
    ost_time_base: Rational,
    frames_decoded: u64,
    /// Bound on `frames_decoded`, from the declared duration and `SOURCE_FPS_MAX`.
    frames_decoded_max: u64,
    /// Bound on a frame's time from the start, from the declared duration.
    elapsed_ms_max: u64,
    frames_encoded: u64,
}

impl VideoLane {
    fn open(
        ictx: &format::context::Input,
        octx: &mut format::context::Output,
        input: &Path,
    ) -> Result<VideoLane, MediaError> {
        let stream_index = best_video_stream(ictx, input)?;
        let stream =
            ictx.stream(stream_index).ok_or_else(|| corrupt(input, "video stream vanished", None))?;
        let decoder = open_video_decoder(&stream, input)?;
        check_video_size(decoder.width(), decoder.height(), input)?;
        let rotation = rotation_cw_deg(&stream);
        let (upright_w, upright_h) =
            upright_display_size(decoder.width(), decoder.height(), decoder.aspect_ratio(), rotation);
        let (width, height) = proxy_size(upright_w, upright_h);

        let source_fps = stream.avg_frame_rate();
        let source_fps_f = if source_fps.denominator() > 0 && source_fps.numerator() > 0 {
            f64::from(source_fps)
        } else {
            0.0
        };
        // Halve 50/60 fps phone clips; keep 24/25/30 and variable rates as they are.
        let cap_fps = source_fps_f > f64::from(PROXY_FPS_MAX) + 0.5;
        let (frame_rate, encoder_time_base) = if cap_fps {
            let rate = i32::try_from(PROXY_FPS_MAX).unwrap_or(30);
            (Rational::new(rate, 1), Rational::new(1, rate))
        } else if source_fps_f > 0.0 {
            (source_fps, stream.time_base())
        } else {
            (Rational::new(30, 1), stream.time_base())
        };
        let filter_spec = format!(
            "{}{}scale={width}:{height}:flags=bicubic,setsar=1,format=yuv420p",
            if cap_fps { format!("fps={PROXY_FPS_MAX},") } else { String::new() },
            rotation_filter(rotation)
        );

        let codec = encoder::find_by_name("libx264")
            .ok_or(ffmpeg::Error::EncoderNotFound)
            .map_err(processing("finding the libx264 encoder"))?;
        let global_header = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);
        let ost_index = octx.add_stream(codec).map_err(processing("adding the video stream"))?.index();
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(processing("creating the video encoder"))?;
        enc.set_width(width);
        enc.set_height(height);
        enc.set_format(format::Pixel::YUV420P);
        enc.set_time_base(encoder_time_base);
        enc.set_frame_rate(Some(frame_rate));
        enc.set_aspect_ratio(Rational::new(1, 1));
        let gop = (f64::from(frame_rate).round().max(1.0) as u32).saturating_mul(KEYFRAME_INTERVAL_S);
        enc.set_gop(gop);
        if global_header {
            enc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut options = Dictionary::new();
        options.set("preset", X264_PRESET);
        options.set("crf", X264_CRF);
        options.set("maxrate", &PROXY_VIDEO_MAXRATE_BPS.to_string());
        options.set("bufsize", &PROXY_VIDEO_BUFSIZE_BITS.to_string());
        let encoder = enc.open_as_with(codec, options).map_err(processing("opening libx264"))?;
        let mut ost = octx
            .stream_mut(ost_index)
            .ok_or(ffmpeg::Error::StreamNotFound)
            .map_err(processing("adding the video stream"))?;
        ost.set_parameters(&encoder);
        ost.set_time_base(encoder_time_base);

        let start = stream.start_time();
        // probe_video rejects files without a duration; so does the proxy, since the duration
        // is what bounds the work below.
        let duration_ms = duration_ms(ictx, &stream)
            .ok_or_else(|| corrupt(input, "the file declares no duration", None))?;
        let bound_ms = duration_ms.saturating_add(duration_ms / 2).saturating_add(DURATION_OVERRUN_MS_MAX);
        Ok(VideoLane {
            stream_index,
            stream_time_base: stream.time_base(),
            start_pts: if start == i64::MIN { 0 } else { start },
            duration_ms,
            decoder,
            graph: None,
            filter_spec,
            encoder,
            encoder_time_base,
            last_pts: None,
            ost_index,
            ost_time_base: encoder_time_base,
            frames_decoded: 0,
            frames_decoded_max: bound_ms.saturating_mul(SOURCE_FPS_MAX) / 1000,
            elapsed_ms_max: bound_ms,
            frames_encoded: 0,
        })
    }

    fn decode(
        &mut self,
        packet: &Packet,
        input: &Path,
        octx: &mut format::context::Output,
        progress: &mut ProgressTracker,
    ) -> Result<(), MediaError> {
        send_packet(&mut self.decoder, packet, input)?;
        self.drain_decoder(input, octx, progress)
    }

    fn drain_decoder(
        &mut self,
        input: &Path,
        octx: &mut format::context::Output,
        progress: &mut ProgressTracker,
    ) -> Result<(), MediaError> {
        loop {
            let mut decoded = frame::Video::empty();
            match self.decoder.receive_frame(&mut decoded) {
                Ok(()) => {}
                Err(e) if is_again_or_eof(&e) => return Ok(()),
                Err(ffmpeg::Error::InvalidData) => continue,
                Err(e) => return Err(corrupt(input, "decoding video failed", Some(e))),
            }
            let pts = decoded.timestamp();
            decoded.set_pts(pts);
            self.frames_decoded += 1;
            if self.frames_decoded > self.frames_decoded_max {
                return Err(corrupt(
                    input,
                    format!(
                        "more than {} frames in a video declared {} ms long",
                        self.frames_decoded_max, self.duration_ms
                    ),
                    None,
                ));
            }
            if let Some(pts) = pts {
                let elapsed_ms =
                    pts.saturating_sub(self.start_pts).rescale(self.stream_time_base, Rational::new(1, 1000));
                if u64::try_from(elapsed_ms).is_ok_and(|ms| ms > self.elapsed_ms_max) {
                    return Err(corrupt(
                        input,
                        format!("video runs past {elapsed_ms} ms but declares {} ms", self.duration_ms),
                        None,
                    ));
                }
                // Precision loss is irrelevant for a progress bar.
                let fraction = elapsed_ms as f64 / self.duration_ms.max(1) as f64;
                progress.report(fraction as f32)?;
            }
            if self.graph.is_none() {
                let source = VideoSource {
                    width: decoded.width(),
                    height: decoded.height(),
                    format: decoded.format(),
                    sample_aspect: decoded.aspect_ratio(),
                    time_base: self.stream_time_base,
                };
                self.graph = Some(video_graph(&source, &self.filter_spec)?);
            }
            if let Some(graph) = self.graph.as_mut() {
                graph
                    .get("in")
                    .ok_or(ffmpeg::Error::FilterNotFound)
                    .and_then(|mut s| s.source().add(&decoded))
                    .map_err(processing("filtering video"))?;
            }
            self.drain_graph(octx)?;
        }
    }

    fn drain_graph(&mut self, octx: &mut format::context::Output) -> Result<(), MediaError> {
        let Some(graph) = self.graph.as_mut() else {
            return Ok(());
        };
        let mut sink =
            graph.get("out").ok_or(ffmpeg::Error::FilterNotFound).map_err(processing("filtering video"))?;
        let sink_time_base = sink.sink().time_base();
        loop {
            let mut filtered = frame::Video::empty();
            match sink.sink().frame(&mut filtered) {
                Ok(()) => {}
                Err(e) if is_again_or_eof(&e) => return Ok(()),
                Err(e) => return Err(processing("filtering video")(e)),
            }
            // The muxer rejects non-increasing timestamps; a source with duplicate or missing
            // ones (damaged files, some screen recorders) gets them nudged forward instead.
            let pts = filtered.pts().map(|p| p.rescale(sink_time_base, self.encoder_time_base));
            let pts = match (pts, self.last_pts) {
                (Some(p), Some(last)) if p <= last => last.saturating_add(1),
                (Some(p), _) => p,
                (None, Some(last)) => last.saturating_add(1),
                (None, None) => 0,
            };
            self.last_pts = Some(pts);
            filtered.set_pts(Some(pts));
            // Let x264 place keyframes; the decoder's frame types mean nothing here.
            filtered.set_kind(ffmpeg::picture::Type::None);
            self.encoder.send_frame(&filtered).map_err(processing("encoding video"))?;
            self.frames_encoded += 1;
            write_encoded(
                &mut self.encoder,
                self.encoder_time_base,
                self.ost_index,
                self.ost_time_base,
                octx,
                "encoding video",
            )?;
        }
    }

    fn finish(
        &mut self,
        input: &Path,
        octx: &mut format::context::Output,
        progress: &mut ProgressTracker,
    ) -> Result<(), MediaError> {
        // send_eof only fails if EOF was already sent; draining is what matters.
        let _ = self.decoder.send_eof();
        self.drain_decoder(input, octx, progress)?;
        if let Some(graph) = self.graph.as_mut() {
            graph
                .get("in")
                .ok_or(ffmpeg::Error::FilterNotFound)
                .and_then(|mut s| s.source().flush())
                .map_err(processing("flushing the video filters"))?;
        }
        self.drain_graph(octx)?;
        self.encoder.send_eof().map_err(processing("flushing the video encoder"))?;
        write_encoded(
            &mut self.encoder,
            self.encoder_time_base,
            self.ost_index,
            self.ost_time_base,
            octx,
            "flushing the video encoder",
        )?;
        Ok(())
    }
}

/// Audio: decoder -> (resample, downmix to mono/stereo, fixed 1024-sample frames) -> AAC.
struct AudioLane {
    stream_index: usize,
    stream_time_base: Rational,
    decoder: codec::decoder::Audio,
    graph: Option<filter::Graph>,
    filter_spec: String,
    encoder: encoder::Audio,
    encoder_time_base: Rational,
    ost_index: usize,
    ost_time_base: Rational,
}

impl AudioLane {
    /// None if the source has no audio, or audio FFmpeg cannot decode: a silent proxy is still
    /// useful to the expert, so that is logged rather than failed.
    fn open(
        ictx: &format::context::Input,
        octx: &mut format::context::Output,
    ) -> Result<Option<AudioLane>, MediaError> {
        let Some(stream) = ictx.streams().best(media::Type::Audio) else {
            return Ok(None);
        };
        let decoder = codec::context::Context::from_parameters(stream.parameters()).and_then(|c| {
            let mut decoder = c.decoder();
            decoder.set_packet_time_base(stream.time_base());
            decoder.audio()
        });
        let decoder = match decoder {
            Ok(d) if d.rate() > 0 && d.channels() > 0 => d,
            Ok(_) => {
                tracing::warn!("audio stream has no sample rate or channels; proxy will be silent");
                return Ok(None);
            }
            Err(e) => {
                tracing::warn!(error = %e, codec = stream.parameters().id().name(), "cannot decode the audio; proxy will be silent");
                return Ok(None);
            }
        };
        // Only the two rates every browser's AAC decoder handles; 8 kHz voice recordings and
        // 96 kHz camera audio are resampled.
        let rate: i32 = if decoder.rate() == 44_100 { 44_100 } else { 48_000 };
        let (layout, layout_name) = if decoder.channels() == 1 {
            (ChannelLayout::MONO, "mono")
        } else {
            (ChannelLayout::STEREO, "stereo")
        };
        let filter_spec = format!(
            "aresample={rate},aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts={layout_name}"
        );

        let codec = encoder::find(codec::Id::AAC)
            .ok_or(ffmpeg::Error::EncoderNotFound)
            .map_err(processing("finding the AAC encoder"))?;
        let global_header = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);
        let ost_index = octx.add_stream(codec).map_err(processing("adding the audio stream"))?.index();
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(processing("creating the audio encoder"))?;
        let encoder_time_base = Rational::new(1, rate);
        enc.set_rate(rate);
        // With FFmpeg 5.1 the legacy layout mask is enough: avcodec_open2 derives the channel
        // count and the new-style layout from it.
        enc.set_channel_layout(layout);
        enc.set_format(format::Sample::F32(format::sample::Type::Planar));
        enc.set_bit_rate(usize::try_from(PROXY_AUDIO_BITRATE_BPS).unwrap_or(64_000));
        enc.set_time_base(encoder_time_base);
        if global_header {
            enc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let encoder = enc.open_as(codec).map_err(processing("opening the AAC encoder"))?;
        let mut ost = octx
            .stream_mut(ost_index)
            .ok_or(ffmpeg::Error::StreamNotFound)
            .map_err(processing("adding the audio stream"))?;
        ost.set_parameters(&encoder);
        ost.set_time_base(encoder_time_base);

        Ok(Some(AudioLane {
            stream_index: stream.index(),
            stream_time_base: stream.time_base(),
            decoder,
            graph: None,
            filter_spec,
            encoder,
            encoder_time_base,
            ost_index,
            ost_time_base: encoder_time_base,
        }))
    }

    fn decode(
        &mut self,
        packet: &Packet,
        input: &Path,
        octx: &mut format::context::Output,
    ) -> Result<(), MediaError> {
        send_packet(&mut self.decoder, packet, input)?;
        self.drain_decoder(input, octx)
    }

    fn drain_decoder(&mut self, input: &Path, octx: &mut format::context::Output) -> Result<(), MediaError> {
        loop {
            let mut decoded = frame::Audio::empty();
            match self.decoder.receive_frame(&mut decoded) {
                Ok(()) => {}
                Err(e) if is_again_or_eof(&e) => return Ok(()),
                Err(ffmpeg::Error::InvalidData) => continue,
                Err(e) => return Err(corrupt(input, "decoding audio failed", Some(e))),
            }
            let pts = decoded.timestamp();
            decoded.set_pts(pts);
            if self.graph.is_none() {
                self.graph = Some(self.build_graph(&decoded)?);
            }
            if let Some(graph) = self.graph.as_mut() {
                graph
                    .get("in")
                    .ok_or(ffmpeg::Error::FilterNotFound)
                    .and_then(|mut s| s.source().add(&decoded))
                    .map_err(processing("filtering audio"))?;
            }
            self.drain_graph(octx)?;
        }
    }

    /// The `abuffer` source must describe the frames exactly (FFmpeg 5.1 rejects a channel
    /// layout that differs from the frames'), so it is built from the first decoded frame.
    fn build_graph(&self, first: &frame::Audio) -> Result<filter::Graph, MediaError> {
        let build = || -> Result<filter::Graph, ffmpeg::Error> {
            let mut graph = filter::Graph::new();
            let layout_bits = first.channel_layout().bits();
            let layout = if layout_bits != 0 {
                format!("channel_layout=0x{layout_bits:x}")
            } else {
                format!("channels={}", first.channels())
            };
            let args = format!(
                "time_base={}/{}:sample_rate={}:sample_fmt={}:{layout}",
                self.stream_time_base.numerator(),
                self.stream_time_base.denominator(),
                first.rate(),
                first.format().name(),
            );
            let abuffer = filter::find("abuffer").ok_or(ffmpeg::Error::FilterNotFound)?;
            let sink = filter::find("abuffersink").ok_or(ffmpeg::Error::FilterNotFound)?;
            graph.add(&abuffer, "in", &args)?;
            graph.add(&sink, "out", "")?;
            graph.output("in", 0)?.input("out", 0)?.parse(&self.filter_spec)?;
            graph.validate()?;
            // AAC takes exactly frame_size (1024) samples per frame, except the last.
            if let Some(mut out) = graph.get("out") {
                out.sink().set_frame_size(self.encoder.frame_size());
            }
            Ok(graph)
        };
        build().map_err(processing("building the audio filter graph"))
    }

    fn drain_graph(&mut self, octx: &mut format::context::Output) -> Result<(), MediaError> {
        let Some(graph) = self.graph.as_mut() else {
            return Ok(());
        };
        let mut sink =
            graph.get("out").ok_or(ffmpeg::Error::FilterNotFound).map_err(processing("filtering audio"))?;
        let sink_time_base = sink.sink().time_base();
        loop {
            let mut filtered = frame::Audio::empty();
            match sink.sink().frame(&mut filtered) {
                Ok(()) => {}
                Err(e) if is_again_or_eof(&e) => return Ok(()),
                Err(e) => return Err(processing("filtering audio")(e)),
            }
            let pts = filtered.pts().map(|p| p.rescale(sink_time_base, self.encoder_time_base));
            filtered.set_pts(pts);
            self.encoder.send_frame(&filtered).map_err(processing("encoding audio"))?;
            write_encoded(
                &mut self.encoder,
                self.encoder_time_base,
                self.ost_index,
                self.ost_time_base,
                octx,
                "encoding audio",
            )?;
        }
    }

    fn finish(&mut self, input: &Path, octx: &mut format::context::Output) -> Result<(), MediaError> {
        let _ = self.decoder.send_eof();
        self.drain_decoder(input, octx)?;
        if let Some(graph) = self.graph.as_mut() {
            graph
                .get("in")
                .ok_or(ffmpeg::Error::FilterNotFound)
                .and_then(|mut s| s.source().flush())
                .map_err(processing("flushing the audio filters"))?;
        }
        self.drain_graph(octx)?;
        self.encoder.send_eof().map_err(processing("flushing the audio encoder"))?;
        write_encoded(
            &mut self.encoder,
            self.encoder_time_base,
            self.ost_index,
            self.ost_time_base,
            octx,
            "flushing the audio encoder",
        )?;
        Ok(())
    }
}

/// Reads the finished proxy back, so `ProxyInfo` describes the file and not our intentions.
fn read_back(path: &Path) -> Result<ProxyInfo, MediaError> {
    let bytes = fs::metadata(path).map_err(io_error(path))?.len();
    let ictx = open_input(path)?;
    let stream_index = best_video_stream(&ictx, path)?;
    let stream = ictx.stream(stream_index).ok_or_else(|| corrupt(path, "proxy has no video stream", None))?;
    let duration =
        duration_ms(&ictx, &stream).ok_or_else(|| corrupt(path, "proxy declares no duration", None))?;
    let decoder = open_video_decoder(&stream, path)?;
    let bitrate_bps = bytes.saturating_mul(8).saturating_mul(1000) / duration.max(1);
    Ok(ProxyInfo {
        duration_ms: duration,
        width: decoder.width(),
        height: decoder.height(),
        bytes,
        bitrate_bps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_sizes() {
        assert_eq!(proxy_size(1920, 1080), (854, 480));
        assert_eq!(proxy_size(960, 540), (854, 480));
        // Portrait phone clip, upright.
        assert_eq!(proxy_size(1080, 1920), (480, 854));
        // Never upscale; odd sides become even.
        assert_eq!(proxy_size(320, 180), (320, 180));
        assert_eq!(proxy_size(181, 321), (180, 320));
        assert_eq!(proxy_size(1000, 4000), (320, 1280));
        // Panorama: width capped, height follows.
        assert_eq!(proxy_size(4000, 1000), (1280, 320));
        assert_eq!(proxy_size(0, 0), (2, 2));
    }
}
