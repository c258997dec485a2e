//! The page shell of every node: the document head (viewport, the cross-site token, the one
//! stylesheet and the scripts), the header with the brand, the navigation of the platform's
//! 4+1 modules as the node registers them for the viewer, the signed-in person with a sign-out
//! button, and the error page. Nodes give content and links; no node writes a shell.

use maud::{DOCTYPE, Markup, html};

/// The platform's five modules ("4+1"), in the order the navigation shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    /// 专家服务: cases, triage, experts' answers.
    ExpertService,
    /// 产业信息: industry information.
    IndustryInfo,
    /// 供销对接: supply and sales.
    SupplySales,
    /// 成果转化: achievements, demands, bounties, lectures.
    Achievements,
    /// 管理中心: people, settings, statistics, audit, sync state.
    Management,
}

impl Module {
    pub const ALL: [Module; 5] = [
        Module::ExpertService,
        Module::IndustryInfo,
        Module::SupplySales,
        Module::Achievements,
        Module::Management,
    ];

    pub fn name_zh(self) -> &'static str {
        match self {
            Module::ExpertService => "专家服务",
            Module::IndustryInfo => "产业信息",
            Module::SupplySales => "供销对接",
            Module::Achievements => "成果转化",
            Module::Management => "管理中心",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Module::ExpertService => "expert",
            Module::IndustryInfo => "industry",
            Module::SupplySales => "supply",
            Module::Achievements => "achievements",
            Module::Management => "management",
        }
    }
}

/// A page a node serves, registered under its module. A node lists only the pages it serves
/// and the viewer may open; a module without pages is not shown.
#[derive(Debug, Clone)]
pub struct NavLink {
    pub module: Module,
    pub href: String,
    pub label: String,
    /// The page's main call to action (shown highlighted).
    pub primary: bool,
}

impl NavLink {
    pub fn new(module: Module, href: &str, label: &str) -> NavLink {
        NavLink { module, href: href.into(), label: label.into(), primary: false }
    }

    pub fn primary(mut self) -> NavLink {
        self.primary = true;
        self
    }
}

/// The signed-in person, as the header names her: "李芳（工作人员 · 成都市 蒲江县）".
#[derive(Debug, Clone)]
pub struct Viewer {
    pub name: String,
    pub role_zh: String,
    pub region_zh: String,
}

/// What every page of one site (a kiosk, a hub's desk, sign-in) shares.
#[derive(Debug, Clone)]
pub struct Shell {
    /// The page family, the `<body>` class the stylesheet keys on: "kiosk", "desk",
    /// "signin", "status".
    pub family: &'static str,
    /// The site's name after each page title ("驿站", "运营工作台").
    pub site: String,
    pub brand: String,
    /// A line beside the brand ("村级科技服务"); hidden on phones.
    pub brand_sub: Option<String>,
    pub home: String,
    pub nav: Vec<NavLink>,
    pub viewer: Option<Viewer>,
    /// A link to the viewer's account page ("账号").
    pub account_link: bool,
    /// Node-specific status in the header (the kiosk's sync state).
    pub status: Option<Markup>,
    /// Scripts besides `/static/app.js`.
    pub scripts: Vec<&'static str>,
    /// Reload the page every this many seconds (status pages).
    pub refresh_s: Option<u32>,
}

impl Shell {
    pub fn new(family: &'static str, site: &str, home: &str) -> Shell {
        Shell {
            family,
            site: site.into(),
            brand: site.into(),
            brand_sub: None,
            home: home.into(),
            nav: Vec::new(),
            viewer: None,
            account_link: false,
            status: None,
            scripts: Vec::new(),
            refresh_s: None,
        }
    }

    /// A whole page: `title` (the site's name is appended) around `body`.
    pub fn render(&self, title: &str, body: Markup) -> Markup {
        html! {
            (DOCTYPE)
            html lang="zh-CN" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    @if let Some(s) = self.refresh_s { meta http-equiv="refresh" content=(s); }
                    title { (title) " · " (self.site) }
                    (crate::csrf_meta())
                    link rel="stylesheet" href="/static/app.css";
                    script src="/static/app.js" defer {}
                    @for s in &self.scripts { script src=(s) defer {} }
                }
                body class=(self.family) {
                    header.top {
                        a.brand href=(self.home) { (self.brand) @if let Some(s) = &self.brand_sub { span.sub { (s) } } }
                        @if !self.nav.is_empty() { (self.navigation()) }
                        @if let Some(s) = &self.status { (s) }
                        @if let Some(v) = &self.viewer {
                            span.who data-testid="who" { (v.name) "（" (v.role_zh) " · " (v.region_zh) "）" }
                        }
                        @if self.account_link { a.account href="/account" { "账号" } }
                        @if self.viewer.is_some() {
                            form.inline.signout method="post" action=(crate::action("/signout")) { button type="submit" { "退出" } }
                        }
                    }
                    main { (body) }
                }
            }
        }
    }

    /// The modules that have pages, in the platform's order, each with its pages.
    fn navigation(&self) -> Markup {
        html! {
            nav {
                @for m in Module::ALL {
                    @let links: Vec<&NavLink> = self.nav.iter().filter(|l| l.module == m).collect();
                    @if !links.is_empty() {
                        span.module data-module=(m.code()) title=(m.name_zh()) {
                            @for l in links {
                                a href=(l.href) class=[l.primary.then_some("primary")] { (l.label) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The error page: what went wrong in Chinese, a way back and the site's home.
    pub fn error_page(&self, message: &str, home_label: &str) -> Markup {
        self.render(
            "无法完成操作",
            html! {
                section.card.error {
                    h1 { "无法完成操作" }
                    p.msg data-testid="error" { (message) }
                    p { a.button href=(self.home) data-back { "返回上一页" } " " a.button href=(self.home) { (home_label) } }
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn navigation_shows_only_registered_modules_in_order() {
        let mut shell = Shell::new("desk", "运营工作台", "/desk");
        shell.nav = vec![
            NavLink::new(Module::Management, "/desk/people", "人员"),
            NavLink::new(Module::ExpertService, "/desk", "分诊队列"),
        ];
        let page = shell.render("t", html! {}).into_string();
        let expert = page.find("data-module=\"expert\"").unwrap_or(usize::MAX);
        let management = page.find("data-module=\"management\"").unwrap_or(0);
        assert!(expert < management, "{page}");
        assert!(!page.contains("data-module=\"industry\""));
        assert!(page.contains("<!DOCTYPE html>") && page.contains("/static/app.css"));
        assert!(!page.contains("退出"), "nobody signed in");
    }
}
