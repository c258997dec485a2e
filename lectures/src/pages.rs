//! The module's page bodies, the same at hubs and kiosks: the public list with the industry
//! filter and each lecture's cache state (kiosks), and a lecture's page with the video player
//! (the proxy) and the PDF in the browser's own viewer (an `<iframe>`: every browser the
//! stations use shows PDFs itself, so nothing renders pages on the node; a link opens or
//! downloads it where the viewer is missing).

use std::collections::BTreeMap;

use maud::{Markup, html};
use yizhan_core::Industry;
use yizhan_web::fmt;

use crate::{CacheState, Filter, Lecture};

/// Where a lecture's file is served: `<base>/<id>/file/<hash>`.
pub fn file_url(base: &str, id: &str, hash: &str) -> String {
    format!("{base}/{id}/file/{hash}")
}

fn size_zh(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes < MB {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        format!("{:.1} MB", bytes as f64 / MB as f64)
    }
}

fn state_tag(state: CacheState) -> Markup {
    let class = match state {
        CacheState::Cached => "tag cached",
        CacheState::Downloading { .. } => "tag downloading",
        CacheState::NotCached => "tag not-cached",
    };
    html! { span class=(class) data-testid="lecture-cache" { (state.label_zh()) } }
}

/// The public list at `base`; `states` holds each lecture's cache state where the node keeps
/// one (kiosks), by id; `views` the views counted here, by id.
pub fn list(
    base: &str,
    lectures: &[Lecture],
    filter: &Filter,
    states: &BTreeMap<String, CacheState>,
    views: &BTreeMap<String, u64>,
) -> Markup {
    html! {
        section.card.lectures data-testid="lectures-list" {
            h1 { "特派员讲堂" }
            p.muted { "专家与运管中心上传的培训视频与课件，经审核签发后公开。村级驿站在后台缓存本地产业的讲座，断网也能观看。" }
            form.filters method="get" action=(base) {
                label { "产业 "
                    select name="industry" {
                        option value="" selected[filter.industry.is_empty()] { "全部" }
                        @for i in Industry::ALL { option value=(i.code()) selected[filter.industry == i.code()] { (i.name_zh()) } }
                    }
                }
                button type="submit" { "筛选" }
            }
            @if lectures.is_empty() { p.muted { "暂无讲座" } }
            ul.listings {
                @for l in lectures {
                    li.listing data-testid="lecture" {
                        a href=(format!("{base}/{}", l.id)) { (l.title) }
                        @if let Some(s) = states.get(&l.id) { " " (state_tag(*s)) }
                        div.facts {
                            span { (fmt::industry_or(&l.industry, "其他")) }
                            span { "主讲：" (l.speaker) }
                            @if l.video_proxy.is_some() || l.video_original.is_some() { span { "视频" } }
                            @if l.pdf.is_some() { span { "课件 PDF" } }
                            @if let Some(v) = views.get(&l.id) { span data-testid="lecture-views" { "观看 " (v) " 次" } }
                            span.muted { (fmt::date(l.published_at_ms)) }
                        }
                    }
                }
            }
        }
    }
}

/// A lecture's page at `base`. `state` is its cache state where the node keeps one (kiosks;
/// `None` at hubs, which hold every file); `held` tells which of its files this node holds.
pub fn page(
    base: &str,
    l: &Lecture,
    state: Option<CacheState>,
    held: &dyn Fn(&str) -> bool,
    views: Option<u64>,
) -> Markup {
    let proxy = l.video_proxy.as_ref().filter(|f| held(&f.hash));
    let poster = l.poster.as_ref().filter(|f| held(&f.hash));
    let pdf = l.pdf.as_ref().filter(|f| held(&f.hash));
    html! {
        article.card.lecture data-testid="lecture-page" {
            h1 { (l.title) }
            @if let Some(s) = state { p { (state_tag(s)) } }
            dl.facts {
                dt { "产业" } dd { (fmt::industry_or(&l.industry, "其他")) }
                dt { "主讲人" } dd { (l.speaker) }
                dt { "知识产权归属" } dd { (l.ip_owner) }
                dt { "发布" } dd { (fmt::region(&l.centre)) " · " (fmt::date(l.published_at_ms)) " · 签发：" (l.signed_off_by) }
                @if let Some(v) = views { dt { "观看" } dd data-testid="lecture-views" { (v) " 次" } }
            }
            @if !l.description.is_empty() { p.body { (l.description) } }
            @if l.video_original.is_some() || l.video_proxy.is_some() {
                div.video {
                    @if let Some(p) = proxy {
                        video controls preload="metadata" playsinline poster=[poster.map(|f| file_url(base, &l.id, &f.hash))] data-testid="video-player" {
                            source src=(file_url(base, &l.id, &p.hash)) type="video/mp4";
                        }
                        p.small { "视频 " (size_zh(p.bytes)) }
                    } @else if l.video_proxy.is_none() {
                        p.muted data-testid="video-waiting" { "视频正在转码，完成后即可观看" }
                    } @else {
                        p.alert data-testid="lecture-needs-link" { "需联网观看：本讲座视频尚未缓存到本机" }
                    }
                }
            }
            @if let Some(f) = &l.pdf {
                div.pdf {
                    @if let Some(f) = pdf {
                        iframe.pdf src=(file_url(base, &l.id, &f.hash)) title="课件" data-testid="lecture-pdf" {}
                        p.small { a href=(file_url(base, &l.id, &f.hash)) target="_blank" { "打开课件 PDF" } " (" (size_zh(f.bytes)) ")" }
                    } @else {
                        p.alert data-testid="lecture-pdf-needs-link" { "需联网查看课件（" (size_zh(f.bytes)) "）：尚未缓存到本机" }
                    }
                }
            }
        }
    }
}
