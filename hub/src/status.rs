//! The hub's public pages: its home (what the centre is, its counts and its sync state, no
//! person's data; signed-in staff and experts go on to the desk) and the sync state of its
//! links (`/status`).

use axum::extract::State;
use maud::{Markup, html};
use yizhan_core::Actor;
use yizhan_net::LinkState;
use yizhan_web::{Shell, fmt};

use crate::{Hub, HubView};

/// The shell of the hub's public pages: the centre's name as the brand; the desk's navigation
/// for whoever is signed in.
fn public_shell(centre: &str, actor: Option<&Actor>, refresh_s: Option<u32>) -> Shell {
    let mut shell = crate::desk::shell(actor);
    shell.site = centre.to_string();
    shell.brand = centre.to_string();
    shell.home = "/".into();
    shell.refresh_s = refresh_s;
    shell
}

fn fmt_ms(ms: Option<i64>) -> String {
    ms.map_or_else(|| "从未".to_string(), fmt::time_seconds)
}

fn link_zh(link: &LinkState) -> (String, &'static str) {
    match link {
        LinkState::Disabled => ("未配置".into(), "off"),
        LinkState::Connecting => ("连接中".into(), "busy"),
        LinkState::Syncing => ("同步中".into(), "busy"),
        LinkState::Synced => ("已同步".into(), "ok"),
        LinkState::Offline { error, .. } => (format!("离线：{error}"), "err"),
    }
}

/// The centre's name in the UI: the region's name and 运管中心 (蒲江县运管中心).
pub fn centre_name_zh(scope: &str) -> String {
    let name = yizhan_core::regions().get(scope).map(|r| r.name.clone()).unwrap_or_default();
    format!("{name}运管中心")
}

/// The hub's home: staff, administrators and experts who are signed in work at the desk;
/// anyone else sees what the centre is, its counts and its sync state (no person's data).
pub(crate) async fn home(
    State(hub): State<Hub>,
    signed_in: Option<yizhan_accounts::SignedIn>,
) -> Result<axum::response::Response, axum::http::StatusCode> {
    use axum::response::IntoResponse;
    if let Some(yizhan_accounts::SignedIn(actor)) = &signed_in
        && (actor.is_centre() || actor.role == yizhan_core::Role::Expert)
    {
        return Ok(axum::response::Redirect::to("/desk").into_response());
    }
    let v = hub.view().await.map_err(|e| {
        tracing::error!(error = %e, "hub view");
        axum::http::StatusCode::INTERNAL_SERVER_ERROR
    })?;
    let centre = centre_name_zh(&v.scope);
    let synced = v.children.iter().filter(|c| matches!(c.link.link, LinkState::Synced)).count();
    let shell = public_shell(&centre, signed_in.as_ref().map(|s| &s.0), None);
    Ok(shell.render("首页", html! {
                h1 { (centre) }
                p { (v.scope_name) }
                p { a.button href="/desk" data-testid="desk-link" { "工作人员和专家登录 → 运营工作台" } }
                h2 { "概况" }
                (counts(&v))
                p { "下级驿站和中心 " (v.children.len()) " 个，已同步 " (synced) " 个 · "
                    a href="/status" data-testid="status-link" { "查看同步状态" } }
    })
    .into_response())
}

/// Case counts by status (no case's content).
fn counts(v: &HubView) -> Markup {
    html! {
        p { "案例共 " b data-testid="hub-cases" { (v.cases) } " 个"
            @for s in &v.cases_by_status { " · " (s.name_zh) " " (s.cases) } }
    }
}

/// The sync state of this centre's links, for staff and anyone checking the network.
pub(crate) async fn page(
    State(hub): State<Hub>,
    signed_in: Option<yizhan_accounts::SignedIn>,
) -> Result<Markup, axum::http::StatusCode> {
    let v = hub.view().await.map_err(|e| {
        tracing::error!(error = %e, "hub view");
        axum::http::StatusCode::INTERNAL_SERVER_ERROR
    })?;
    let centre = centre_name_zh(&v.scope);
    let shell = public_shell(&centre, signed_in.as_ref().map(|s| &s.0), Some(5));
    Ok(shell.render("同步状态", html! {
                h1 { (centre) "同步状态" }
                p { a href="/desk" data-testid="desk-link" { "运营工作台" } " · " a href="/" { "首页" } }
                p { (v.scope_name) "（区划代码 " (v.scope) "） · 节点编号 " (v.node_id) }
                (counts(&v))
                @if let Some(p) = &v.parent {
                    @let (text, class) = link_zh(&p.link);
                    p data-testid="parent" { "上级中心（节点编号 " (p.peer) "）：" span class=(class) { (text) } " · 最近同步 " (fmt_ms(p.last_synced_at_ms)) }
                } @else {
                    p data-testid="parent" { "上级中心：无（本中心为最高一级）" }
                }
                h2 { "下级驿站和中心（" (v.children.len()) "）" }
                @if v.children.is_empty() { p { "暂无下级连接" } }
                @else {
                table data-testid="children" {
                    thead { tr { th { "地区" } th { "节点编号" } th { "状态" } th { "最近联系" } th { "待发文档" } th { "本次收/发文档" } th { "待收文件" } th { "本次收文件" } } }
                    tbody {
                        @for c in &v.children {
                            @let (text, class) = link_zh(&c.link.link);
                            tr {
                                td { (fmt::region(&c.scope)) }
                                td { (c.node_id) }
                                td class=(class) { (text) }
                                td { (fmt_ms(c.last_contact_ms)) }
                                td { (c.backlog_docs) }
                                td { (c.link.docs_received) " / " (c.link.docs_sent) }
                                td { (c.link.blobs_waiting) " 个（" (format!("{:.1}", c.link.blob_bytes_waiting as f64 / 1_048_576.0)) " MB）" }
                                td { (c.link.blobs_received) " 个" }
                            }
                        }
                    }
                }
                }
    }))
}
