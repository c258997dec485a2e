//! Notices on a real county hub (real store, real accounts with sealed phones): assigning a
//! case texts the expert once, with no farmer data; the expert's answer texts the case's
//! officer. The SMS network is the boundary: a recording sender stands in for it.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use yizhan_accounts::sms::{SmsFuture, SmsSender};
use yizhan_core::{Actor, CaseDoc, Event, EventKind, NewCase, NewPerson, Role};
use yizhan_hub::service::ActInput;
use yizhan_hub::service::cases::{Answer, act, answer};
use yizhan_hub::{HubTls, start_with_sms};
use yizhan_test_support::{Pki, eventually, net};

const COUNTY: &str = "510131";
const VILLAGE: &str = "510131001001";
const EXPERT_PHONE: &str = "13900001111";
const OFFICER_PHONE: &str = "13700002222";
const FARMER_PHONE: &str = "13512345678";

#[derive(Default)]
struct Recording(Mutex<Vec<(String, String)>>);

impl SmsSender for Recording {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> SmsFuture<'a> {
        Box::pin(async move {
            self.0.lock().unwrap().push((phone.to_string(), text.to_string()));
            Ok(())
        })
    }
}

impl Recording {
    fn sent(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

fn actor(id: &str, role: Role, region: &str) -> Actor {
    Actor {
        person_id: id.into(),
        name: id.into(),
        role,
        region: yizhan_core::RegionCode::parse(region).unwrap(),
    }
}

#[tokio::test]
async fn an_assignment_texts_the_expert_once_and_an_answer_texts_the_officer() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let county = Pki::hub(&pki.province, COUNTY);
    let t = pki.hub_tls(&county);
    let id = t.identity().unwrap();
    let mut n = net(id.node_id());
    n.parent_check = Some(t.parent_check().unwrap());
    let config = yizhan_hub::HubConfig {
        node_id: id.node_id().to_string(),
        scope: id.scope().to_string(),
        data_dir: dir.path().to_path_buf(),
        http_listen: "127.0.0.1:0".parse().unwrap(),
        sync_listen: "127.0.0.1:0".parse().unwrap(),
        parent: None,
        net: n,
    };
    let tls = HubTls {
        server: t.quic_server().unwrap(),
        client: Some(t.quic_client().unwrap()),
        authorize: t.child_authorizer().unwrap(),
        enroller: None,
        node: None,
    };
    let sms = Arc::new(Recording::default());
    let hub = start_with_sms(config, tls, sms.clone()).await.unwrap();
    for (pid, role, region, industries, phone) in [
        ("staff", "staff", COUNTY, vec![], ""),
        ("expert-pig", "expert", COUNTY, vec!["pig"], EXPERT_PHONE),
        ("officer-1", "officer", VILLAGE, vec![], OFFICER_PHONE),
    ] {
        let np = NewPerson {
            id: pid.into(),
            name: format!("名-{pid}"),
            role: role.into(),
            region_code: region.into(),
            industries: industries.into_iter().map(String::from).collect(),
            phone: phone.into(),
            ..Default::default()
        };
        hub.accounts.create_person(&np, Some("notices-test-pw")).await.unwrap();
    }
    // A case as the officer's kiosk sends it: created by officer-1, escalated to the county.
    let new = NewCase {
        region_code: VILLAGE.into(),
        village_name: "和平村".into(),
        industry: "pig".into(),
        subject: "生猪不吃食".into(),
        description: "三天不吃食".into(),
        farmer_name: "王大爷".into(),
        farmer_phone: FARMER_PHONE.into(),
        officer: "李信息员".into(),
    };
    hub.store
        .call(move |db| {
            let created = Event::new("c1-c", 1, "officer-1", EventKind::Created);
            let (_, mut doc) = CaseDoc::create_by(&new, "c1", "kiosk-a", created, "officer-1").unwrap();
            CaseDoc::append_event(&mut doc, Event::new("c1-e", 2, "officer-1", EventKind::Escalated))
                .unwrap();
            db.create_doc("c1", yizhan_core::case::DOC_TYPE, &mut doc)
        })
        .await
        .unwrap();

    let staff = actor("staff", Role::Staff, COUNTY);
    let input = ActInput { kind: "assigned".into(), target: "expert-pig".into(), ..Default::default() };
    act(&hub, &staff, "c1", input).await.unwrap();
    eventually("the expert's SMS", || {
        let sms = sms.clone();
        async move { !sms.sent().is_empty() }
    })
    .await;
    let sent = sms.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (phone, text) = &sent[0];
    assert_eq!(phone, EXPERT_PHONE);
    assert!(text.contains("生猪不吃食") && text.contains("请在3小时内答复"), "{text}");
    assert!(text.contains("蒲江县"), "the county is named: {text}");
    assert!(!text.contains("王大爷") && !text.contains(FARMER_PHONE), "no farmer data: {text}");

    // The same event queued again (a retry) is not sent again.
    let assigned_id = {
        let doc = hub.store.call(|db| db.load_doc("c1")).await.unwrap().unwrap();
        let case = CaseDoc::from_doc(&doc).unwrap();
        case.events.iter().find(|e| e.kind() == EventKind::Assigned).unwrap().id.clone()
    };
    yizhan_hub::notify::event_written(&hub, "c1", &assigned_id).await;

    let expert = actor("expert-pig", Role::Expert, COUNTY);
    let reply = Answer { text: "先量体温，隔离观察。".into(), photos: Vec::new(), video: None };
    answer(&hub, &expert, "c1", reply).await.unwrap();
    eventually("the officer's SMS", || {
        let sms = sms.clone();
        async move { sms.sent().len() >= 2 }
    })
    .await;
    let sent = sms.sent();
    assert_eq!(sent.len(), 2, "one SMS per event, none repeated: {sent:?}");
    assert_eq!(sent[1].0, OFFICER_PHONE);
    assert!(sent[1].1.contains("生猪不吃食") && sent[1].1.contains("答复"), "{}", sent[1].1);
}
