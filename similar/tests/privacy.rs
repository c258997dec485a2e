//! Personal data never enters the knowledge base.
#![allow(clippy::unwrap_used)]

use yizhan_similar::{KnowledgeCase, SearchQuery, SimilarIndex, SolvedCaseFields};

const NAME: &str = "王建国";
const PHONE: &str = "13912345678";
const ID_CARD: &str = "51010419800101123X";
const BANK: &str = "6222021234567890123";
const LANDLINE: &str = "028-85551234";

fn solved() -> KnowledgeCase {
    let question = format!(
        "{NAME}家的李树冬季长了枯叶蛾，电话{PHONE}，座机{LANDLINE}，身份证{ID_CARD}，补贴打到卡{BANK}，怎么防治？"
    );
    KnowledgeCase::from_solved(&SolvedCaseFields {
        id: "case-1",
        question: &question,
        answer: &format!("冬季刮除树皮、清理枯叶。有问题再打{PHONE}找{NAME}。"),
        industry: "fruit",
        crop: "李",
        region_code: "510104",
        source: "case",
        farmer_name: NAME,
        farmer_phone: PHONE,
        ..Default::default()
    })
    .unwrap()
}

fn assert_clean(text: &str) {
    for secret in [NAME, PHONE, ID_CARD, BANK, "85551234", "13912345678"] {
        assert!(!text.contains(secret), "{secret} leaked into {text}");
    }
}

#[test]
fn from_solved_removes_name_phone_and_numbers() {
    let case = solved();
    assert_clean(&case.question);
    assert_clean(&case.answer);
    assert_clean(&serde_json::to_string(&case).unwrap());
    // The problem itself survives.
    assert!(case.question.contains("李树冬季长了枯叶蛾"));
    assert!(case.question.contains("[号码已删除]") && case.question.contains("[姓名已删除]"));
}

#[test]
fn index_files_hold_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = SimilarIndex::open(dir.path()).unwrap();
    index.upsert(solved()).unwrap();
    // A knowledge file that skipped from_solved: the index scrubs numbers again on insert.
    let raw = KnowledgeCase {
        id: "raw-1".into(),
        question: format!("苹果树腐烂病，回电{PHONE}，卡号{BANK}"),
        answer: format!("刮除病斑后涂药。身份证{ID_CARD}"),
        ..solved()
    };
    index.upsert(raw).unwrap();
    assert_clean(&index.get("raw-1").unwrap().question);
    assert_clean(&index.get("raw-1").unwrap().answer);
    let journal = std::fs::read(dir.path().join("journal.jsonl")).unwrap();
    assert_clean(&String::from_utf8_lossy(&journal));
    index.checkpoint().unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert_clean(&String::from_utf8_lossy(&bytes));
    }
    let hits = index.search(&SearchQuery::text("李树枯叶蛾"), 5).unwrap();
    assert!(!hits.is_empty());
    for h in hits {
        assert_clean(&h.question);
        assert_clean(&h.answer);
    }
}
