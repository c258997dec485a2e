//! Find-similar: solved cases offered while typing, knowledge arriving by sync, and a case
//! solved by a similar case.

use std::time::Duration;

use serde_json::Value;

use crate::common::*;

fn knowledge(
    id: &str,
    question: &str,
    answer: &str,
    industry: &str,
    crop: &str,
) -> yizhan_similar::KnowledgeCase {
    yizhan_similar::KnowledgeCase {
        id: id.into(),
        question: question.into(),
        answer: answer.into(),
        industry: industry.into(),
        crop: crop.into(),
        season: None,
        region_code: "510131".into(),
        source: "test".into(),
        photo_hashes: vec![],
    }
}

#[tokio::test]
async fn similar_solved_cases_show_while_typing_and_can_close_a_case() {
    let k = start().await;
    {
        let mut idx = k.state.similar.write().unwrap();
        idx.upsert(knowledge(
            "kb-1",
            "柑橘叶片发黄，叶脉绿色怎么办",
            "缺铁黄化：叶面喷施螯合铁",
            "fruit",
            "柑橘",
        ))
        .unwrap();
        idx.upsert(knowledge("kb-2", "水稻叶片有梭形褐色病斑", "稻瘟病：用三环唑防治", "grain_oil", "水稻"))
            .unwrap();
    }
    let hits =
        get(&k, "/api/similar?q=%E6%9F%91%E6%A9%98%E5%8F%B6%E7%89%87%E5%8F%91%E9%BB%84&industry=fruit").await;
    assert_eq!(hits[0]["id"], "kb-1", "{hits}");
    assert!(hits[0]["answer"].as_str().unwrap().contains("螯合铁"));

    // "解决了" on the form: the case is recorded as solved by kb-1, with what was offered.
    let (code, body) = post(
        &k,
        fields("柑橘").text("solved_by", "kb-1").text("offered", "kb-1,kb-2").text("intent", "save"),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let case = get(&k, &format!("/api/cases/{}", body["id"].as_str().unwrap())).await;
    assert_eq!(case["status"], "solved_by_similar");
    let events = case["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["kind"] == "similar_offered" && e["target"] == "kb-1,kb-2"));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "solved_by_similar" && e["target"] == "kb-1" && e["applied"] == true)
    );

    // "提交专家" on the form sends it on (a signed-in officer's step).
    let cookie = sign_in(&k, "officer-1", "刘芳").await;
    let (code, body) = post_as(&k, &cookie, fields("水稻").text("intent", "escalate")).await;
    assert_eq!(code, 201);
    assert_eq!(
        get(&k, &format!("/api/cases/{}", body["id"].as_str().unwrap())).await["status"],
        "awaiting_triage"
    );

    // A solving case that does not exist is refused and nothing is stored.
    let before = status(&k).await["cases"].as_i64();
    let (code, _) = post(&k, fields("柑橘").text("solved_by", "kb-404")).await;
    assert_eq!(code, 422);
    assert_eq!(status(&k).await["cases"].as_i64(), before);

    // An open case's page offers similar cases with a "解决了" button.
    let (_, body) = post(&k, fields("柑橘")).await;
    let page = reqwest::get(format!("{}/cases/{}", k.url, body["id"].as_str().unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"case-similar\"") && page.contains("螯合铁") && page.contains("解决了")
    );
}

#[tokio::test]
async fn knowledge_arriving_by_sync_is_searchable() {
    let k = start().await;
    let kdoc = yizhan_core::KnowledgeDoc {
        doc_type: "knowledge".into(),
        schema: 1,
        id: "kb-x1".into(),
        case_id: "x1".into(),
        question: "茶树嫩叶卷曲发红，有小绿叶蝉".into(),
        answer: "小贯小绿叶蝉：及时分批采摘，喷施联苯菊酯".into(),
        industry: "tea".into(),
        crop: "茶树".into(),
        region_code: "510131".into(),
        photo_hashes: vec![],
        published_at_ms: 1,
        publisher: "hub-510131".into(),
        owner: "王春茶 · 高级农艺师".into(),
        approved_by: "staff".into(),
        withdrawals: Default::default(),
    };
    // As the sync replica would store it.
    k.state
        .store
        .call(move |db| {
            let mut doc = kdoc.to_doc().unwrap();
            db.create_doc("kb-x1", "knowledge", &mut doc)
        })
        .await
        .unwrap();
    let mut found = Value::Null;
    for _ in 0..100 {
        found = get(&k, "/api/similar?q=%E8%8C%B6%E6%A0%91%E5%8F%B6%E8%9D%89").await; // 茶树叶蝉
        if found.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found[0]["id"], "kb-x1", "{found}");
    // Knowledge is not a case: the case list does not show it.
    assert_eq!(status(&k).await["cases"], 0);
}

#[tokio::test]
async fn a_case_solved_by_a_similar_case_shows_the_answer_that_solved_it() {
    let k = start().await;
    let kdoc = yizhan_core::KnowledgeDoc {
        doc_type: "knowledge".into(),
        schema: 1,
        id: "kb-x1".into(),
        case_id: "x1".into(),
        question: "柑橘叶片发黄，叶脉绿色".into(),
        answer: "缺铁黄化：叶面喷施螯合铁".into(),
        industry: "fruit".into(),
        crop: "柑橘".into(),
        region_code: "510131".into(),
        photo_hashes: vec![],
        published_at_ms: 1,
        publisher: "hub-510131".into(),
        owner: "王春茶 · 高级农艺师".into(),
        approved_by: "staff".into(),
        withdrawals: Default::default(),
    };
    k.state
        .store
        .call(move |db| {
            let mut doc = kdoc.to_doc().unwrap();
            db.create_doc("kb-x1", "knowledge", &mut doc)
        })
        .await
        .unwrap();
    for _ in 0..100 {
        if k.state.similar.read().unwrap().contains("kb-x1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Recorded without a farmer (the officer's own question).
    let (code, body) =
        post(&k, fields("柑橘").text("farmer_name", "").text("farmer_phone", "").text("solved_by", "kb-x1"))
            .await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let html = page(&k, None, &format!("/cases/{id}")).await;
    let at = html.find("data-testid=\"solved-by\"").expect("the solving answer is shown");
    let section = &html[at..at + html[at..].find("</section>").unwrap()];
    assert!(section.contains("螯合铁") && section.contains("知识产权：王春茶 · 高级农艺师"), "{section}");
    assert!(!html.contains("<dt>农户</dt>"), "no empty 农户 row");
    assert!(html.contains("data-testid=\"close\""), "closing is valid for a solved case");
    let case = get(&k, &format!("/api/cases/{id}")).await;
    assert_eq!(case["solved_by"]["owner"], "王春茶 · 高级农艺师");
    assert!(case["solved_by"]["answer"].as_str().unwrap().contains("螯合铁"));
    // Once closed, 办结 is no longer offered, and the page says it is closed.
    let cookie = sign_in(&k, "officer-1", "刘芳").await;
    let res = client()
        .post(format!("{}/api/cases/{id}/events", k.url))
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"kind": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let html = page(&k, Some(&cookie), &format!("/cases/{id}")).await;
    assert!(!html.contains("data-testid=\"close\""), "no 办结 on a closed case");
    assert!(html.contains("服务已办结") && html.contains("data-testid=\"solved-by\""));
    assert!(!html.contains("请评价专家"), "no expert to rate");
}
