//! Sign-in, the officer's identity on what she records, and a case's events and their wording.

use serde_json::Value;
use yizhan_core::RegionCode;

use crate::common::*;

#[tokio::test]
async fn events_follow_the_service_loop_and_refuse_invalid_steps() {
    let k = start().await;
    let (_, body) = post(&k, fields("水稻")).await;
    let id = body["id"].as_str().unwrap();
    let client = reqwest::Client::builder().default_headers(csrf_headers()).build().unwrap();
    let send = |ev: Value| {
        let client = client.clone();
        let url = format!("{}/api/cases/{id}/events", k.url);
        async move {
            let res = client.post(url).json(&ev).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    // Sending it to an expert needs a signed-in officer; with nobody signed in it is refused.
    let (code, body) = send(serde_json::json!({"kind": "escalated", "actor": "李信息员"})).await;
    assert_eq!(code, 401, "{body}");
    assert!(body["message"].as_str().unwrap().contains("登录"), "{body}");
    let cookie = sign_in(&k, "officer-1", "刘芳").await;
    let res = client
        .post(format!("{}/api/cases/{id}/events", k.url))
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"kind": "escalated"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let case: Value = res.json().await.unwrap();
    assert_eq!(case["status"], "awaiting_triage");
    assert_eq!(
        (case["events"][1]["actor"].as_str(), case["events"][1]["actor_name"].as_str()),
        (Some("officer-1"), Some("刘芳"))
    );
    // Escalating twice or an expert's action from the kiosk: refused. Closing and rating need
    // a signed-in officer (401 without one).
    for (ev, expected) in [
        (serde_json::json!({"kind": "escalated", "actor": "李信息员"}), 401),
        (serde_json::json!({"kind": "closed", "actor": "李信息员"}), 401),
        (serde_json::json!({"kind": "assigned", "actor": "李信息员", "target": "x"}), 422),
        (serde_json::json!({"kind": "rated", "actor": "李信息员", "value": 9}), 401),
    ] {
        let (code, body) = send(ev.clone()).await;
        assert_eq!(code, expected, "{ev}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let case = get(&k, &format!("/api/cases/{id}")).await;
    assert_eq!(case["events"].as_array().unwrap().len(), 2, "refused events change nothing");
    let missing = client.get(format!("{}/api/cases/no-such-case", k.url)).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn the_signed_in_officer_is_recorded_by_id_and_name_and_escalating_needs_her() {
    let k = start().await;
    // With nobody signed in, "提交专家" on the form is refused, in Chinese, and nothing is stored.
    let (code, body) = post(&k, fields("柑橘").text("intent", "escalate")).await;
    assert_eq!(code, 401, "{body}");
    assert!(body["message"].as_str().unwrap().contains("登录"), "{body}");
    let res = client()
        .post(format!("{}/cases", k.url))
        .multipart(fields("柑橘").text("intent", "escalate"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"form-error\"") && html.contains("请先用信息员账号登录"), "{html}");
    assert_nothing_stored(&k).await;
    // The form names the officer; there is no field to type one in.
    let anonymous_form = page(&k, None, "/cases/new").await;
    assert!(!anonymous_form.contains("name=\"officer\""));
    assert!(anonymous_form.contains("未登录") && anonymous_form.contains("/signin?next=/cases/new"));
    assert!(!anonymous_form.contains("value=\"escalate\""), "no 提交专家 without sign-in");
    let cookie = sign_in(&k, "officer-1", "刘芳").await;
    let form = page(&k, Some(&cookie), "/cases/new").await;
    assert!(
        !form.contains("name=\"officer\"") && form.contains("刘芳") && form.contains("value=\"escalate\"")
    );

    // Signed in: her id and her name are recorded, whatever the request says the officer is.
    let (code, body) =
        post_as(&k, &cookie, fields("柑橘").text("officer", "冒名顶替").text("intent", "escalate")).await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let case = get(&k, &format!("/api/cases/{id}")).await;
    assert_eq!((case["officer"].as_str(), case["officer_id"].as_str()), (Some("刘芳"), Some("officer-1")));
    assert_eq!(case["officer_signed_in"], true);
    assert_eq!(case["status"], "awaiting_triage");
    for e in case["events"].as_array().unwrap() {
        assert_eq!((e["actor"].as_str(), e["actor_name"].as_str()), (Some("officer-1"), Some("刘芳")), "{e}");
    }
    let list = get(&k, "/api/cases").await;
    assert_eq!(
        (list[0]["officer"].as_str(), list[0]["officer_signed_in"].as_bool()),
        (Some("刘芳"), Some(true))
    );

    // The county assigns and the expert answers (events as they arrive by sync); the officer
    // closes. Every step in the timeline names a person or a centre, never an account id.
    append(
        &k,
        &id,
        event("e-asg", "staff-7", yizhan_core::EventKind::Assigned, "expert-fruit", "李果 · 高级农艺师"),
    )
    .await;
    append(&k, &id, event("e-ans", "expert-fruit", yizhan_core::EventKind::Answered, "", "喷施氢氧化铜"))
        .await;
    let res = client()
        .post(format!("{}/api/cases/{id}/events", k.url))
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"kind": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let html = page(&k, None, &format!("/cases/{id}")).await;
    let tl = timeline(&html);
    assert!(
        tl.contains("办结") && tl.contains("刘芳") && tl.contains("李果") && tl.contains("县运管中心"),
        "{tl}"
    );
    for account in ["officer-1", "expert-fruit", "staff-7"] {
        assert!(!tl.contains(account), "the timeline shows the account id {account}: {tl}");
    }
    assert!(!html.contains("data-testid=\"unsigned\""), "a signed-in officer's case is not marked 未登录");
}

#[tokio::test]
async fn with_nobody_signed_in_add_event_refuses_what_a_signed_in_officer_would_be_refused() {
    let k = start().await;
    // A case of a town outside this kiosk's region (510131), as another node recorded it.
    let new = yizhan_core::NewCase { region_code: "510104017".into(), ..Default::default() };
    let new = yizhan_core::NewCase {
        industry: "fruit".into(),
        subject: "柑橘".into(),
        description: "叶片发黄".into(),
        officer: "x".into(),
        ..new
    };
    let (_, mut doc) = yizhan_core::CaseDoc::create(
        &new,
        "elsewhere",
        "kiosk-b",
        yizhan_core::Event::new("c0", 1, "x", yizhan_core::EventKind::Created),
    )
    .unwrap();
    k.state.store.call(move |db| db.create_doc("elsewhere", "case", &mut doc)).await.unwrap();
    let input = |kind: &str| yizhan_kiosk::service::EventInput {
        kind: kind.into(),
        text: String::new(),
        target: "kb-1".into(),
        value: 0,
        category: String::new(),
    };
    // An officer of this kiosk's region may not act on it; nor may nobody.
    let officer = yizhan_core::Actor {
        person_id: "officer-1".into(),
        name: "刘芳".into(),
        role: yizhan_core::Role::Officer,
        region: RegionCode::parse("510131").unwrap(),
    };
    for who in [Some(&officer), None] {
        for kind in ["solved_by_similar", "similar_offered"] {
            let e =
                yizhan_kiosk::service::add_event(&k.state, "elsewhere", input(kind), who).await.unwrap_err();
            assert!(
                matches!(e, yizhan_kiosk::error::AppError::Forbidden(yizhan_core::Denied::OutOfRegion)),
                "{kind} by {who:?}: {e}"
            );
        }
    }
    // Steps that need a person are refused outright with nobody signed in.
    for kind in ["escalated", "closed", "rated"] {
        let e = yizhan_kiosk::service::add_event(&k.state, "elsewhere", input(kind), None).await.unwrap_err();
        assert!(matches!(e, yizhan_kiosk::error::AppError::SignInRequired), "{kind}: {e}");
    }
    let doc = k.state.store.call(|db| db.load_doc("elsewhere")).await.unwrap().unwrap();
    assert_eq!(yizhan_core::CaseDoc::from_doc(&doc).unwrap().events.len(), 1, "nothing appended");
    // On a case of its own region, nobody may still record what the form records.
    let (_, body) = post(&k, fields("柑橘")).await;
    let id = body["id"].as_str().unwrap();
    let st = yizhan_kiosk::service::add_event(&k.state, id, input("similar_offered"), None).await.unwrap();
    assert_eq!(st.status, yizhan_core::Status::Open);
}

#[tokio::test]
async fn every_status_has_its_own_wording_and_only_valid_steps_are_offered() {
    use yizhan_core::EventKind as K;
    let k = start().await;
    let (_, body) = post(&k, fields("柑橘")).await;
    let id = body["id"].as_str().unwrap().to_string();
    let mut rating = event("e7", "officer-1", K::Rated, "", "");
    rating.value = 5;
    let mut follow = event("e8", "staff-7", K::FollowedUp, "", "");
    follow.value = 1;
    follow.category = "病虫害防治".into();
    let steps: Vec<(Option<yizhan_core::Event>, &str, &str, &[&str])> = vec![
        (None, "待处理", "尚未提交专家", &["提交专家"]),
        (Some(event("e1", "officer-1", K::Escalated, "", "")), "待分诊", "等待分派专家", &[]),
        (
            Some(event("e2", "staff-7", K::Assigned, "expert-fruit", "李果")),
            "待专家答复",
            "等待专家答复",
            &[],
        ),
        (Some(event("e3", "expert-fruit", K::OnSiteRequested, "", "")), "上门服务中", "上门", &[]),
        (
            Some(event("e4", "expert-fruit", K::Answered, "", "喷药")),
            "专家已答复",
            "问题解决后请办结",
            &["办结"],
        ),
        (Some(event("e5", "officer-1", K::Closed, "", "")), "已办结", "请评价专家", &["提交评价"]),
        (Some(rating), "已办结", "县运管中心将电话回访", &[]),
        (Some(follow), "已回访", "已回访", &[]),
    ];
    for (ev, status, note, offered) in steps {
        if let Some(ev) = ev {
            append(&k, &id, ev).await;
        }
        let html = page(&k, None, &format!("/cases/{id}")).await;
        assert!(html.contains(&format!("data-testid=\"status\">{status}<")), "{status}");
        let note_at = html.find("data-testid=\"status-note\"").unwrap();
        let note_html = &html[note_at..note_at + html[note_at..].find("</p>").unwrap()];
        assert!(note_html.contains(note), "{status}: {note_html}");
        assert!(!html.contains("等待县运管中心和专家处理"), "{status}");
        for (button, testid) in [("提交专家", "escalate"), ("办结", "close"), ("提交评价", "rate")]
        {
            let shown = html.contains(&format!("data-testid=\"{testid}\""));
            assert_eq!(shown, offered.contains(&button), "{status}: {button}");
        }
        let list = page(&k, None, "/cases").await;
        assert!(list.contains(&format!(">{status}<")), "the list shows {status}");
    }
}

#[tokio::test]
async fn the_village_statistics_page_shows_the_kiosks_own_figures_to_a_signed_in_officer() {
    let k = start().await;
    // Nobody signed in: sent to sign in, no figures.
    let res = client().get(format!("{}/stats", k.url)).send().await.unwrap();
    assert!(res.url().path().starts_with("/signin"), "{}", res.url());
    assert!(!res.text().await.unwrap().contains("village-stats"));
    let cookie = sign_in(&k, "officer-stats", "统计信息员").await;
    for subject in ["柑橘", "脐橙"] {
        let (code, body) = post_as(&k, &cookie, fields(subject)).await;
        assert_eq!(code, 201, "{body}");
    }
    let list = get(&k, "/api/cases").await;
    let id = list[0]["id"].as_str().unwrap().to_string();
    append(&k, &id, event("st-1", "officer-stats", yizhan_core::EventKind::SolvedBySimilar, "k1", "")).await;
    append(&k, &id, event("st-2", "officer-stats", yizhan_core::EventKind::Closed, "", "")).await;
    let html = page(&k, Some(&cookie), "/stats").await;
    assert!(html.contains("本村统计"), "{html}");
    let figures = &html[html.find("data-testid=\"village-stats\"").unwrap()..];
    assert!(figures.contains("<b>2</b> 件"), "two cases recorded: {figures}");
    assert!(figures.contains("1 件（50%）"), "one solved by a similar case: {figures}");
    assert!(html.contains(r#"href="/stats""#), "in the navigation");
    assert!(!html.contains("王大爷") && !html.contains("13812345678"), "no person's data");
    // By industry: one line for 川果 with both cases.
    let html = page(&k, Some(&cookie), "/stats?by=industry").await;
    assert!(html.contains("川果") && html.contains("登记 2"), "{html}");
    // A bad month is a Chinese message, not a failure.
    let html = page(&k, Some(&cookie), "/stats?from=2026-13").await;
    assert!(html.contains("月份格式应为"), "{html}");
}
