//! Index behaviour: distinct answers, leaving one case out, incremental updates, persistence,
//! periods and entities, limits.
#![allow(clippy::unwrap_used)]

use yizhan_similar::{KnowledgeCase, SearchError, SearchQuery, SimilarIndex, StoreError};

fn case(id: &str, question: &str, answer: &str) -> KnowledgeCase {
    KnowledgeCase {
        id: id.into(),
        question: question.into(),
        answer: answer.into(),
        industry: String::new(),
        crop: String::new(),
        season: None,
        region_code: String::new(),
        source: "test".into(),
        photo_hashes: vec![],
    }
}

fn sample() -> SimilarIndex {
    let mut ix = SimilarIndex::new();
    let cases = [
        ("w1", "冬季李树枯叶蛾怎么防治", "冬季刮除树皮、清理枯叶，杀灭越冬幼虫。"),
        ("w2", "李树冬天枯叶蛾要打药吗", "冬季刮除树皮、清理枯叶，杀灭越冬幼虫。"),
        ("w3", "寒冷季节李枯叶蛾如何预防", "冬季刮除树皮、清理枯叶，杀灭越冬幼虫。"),
        ("s1", "春季李树枯叶蛾怎么防治", "春季幼虫为害初期喷50%辛硫磷乳油1000倍液。"),
        ("s2", "3月份李树枯叶蛾打什么药", "春季幼虫为害初期喷50%辛硫磷乳油1000倍液。"),
        ("a1", "苹果树腐烂病怎么治", "刮除病斑，涂抹甲基硫菌灵糊剂。"),
        ("a2", "苹果腐烂病刮治后涂什么药", "刮除病斑，涂抹甲基硫菌灵糊剂。"),
        ("r1", "水稻稻瘟病怎么防治", "破口前喷三环唑。"),
        ("p1", "猪拉稀不吃食怎么办", "补液，用药前请兽医诊断。"),
    ];
    for (id, q, a) in cases {
        ix.upsert(case(id, q, a)).unwrap();
    }
    ix
}

fn ids(ix: &SimilarIndex, text: &str, k: usize) -> Vec<String> {
    ix.search(&SearchQuery::text(text), k).unwrap().into_iter().map(|h| h.id).collect()
}

#[test]
fn results_are_distinct_answers() {
    let ix = sample();
    let hits = ix.search(&SearchQuery::text("李树枯叶蛾怎么防治"), 10).unwrap();
    let mut answers: Vec<&str> = hits.iter().map(|h| h.answer.as_str()).collect();
    let n = answers.len();
    answers.sort();
    answers.dedup();
    assert_eq!(answers.len(), n, "{hits:?}");
    assert_eq!(ix.answers_len(), 5);
}

#[test]
fn the_period_of_the_question_picks_the_answer() {
    let ix = sample();
    for q in ["深冬时节李树枯叶蛾怎么办", "十二月李树枯叶蛾", "入冬以后李枯叶蛾咋防", "1-2月李树枯叶蛾"]
    {
        assert!(ids(&ix, q, 1)[0].starts_with('w'), "{q}: {:?}", ids(&ix, q, 3));
    }
    for q in ["开春了李树枯叶蛾怎么办", "4月份李树枯叶蛾", "春天李枯叶蛾打啥药"] {
        assert!(ids(&ix, q, 1)[0].starts_with('s'), "{q}: {:?}", ids(&ix, q, 3));
    }
}

#[test]
fn crop_and_problem_pick_the_answer() {
    let ix = sample();
    assert_eq!(ids(&ix, "苹果树上腐烂病", 1), ["a1"]);
    assert_eq!(ids(&ix, "稻子得了稻瘟病", 1), ["r1"]);
    assert_eq!(ids(&ix, "小猪拉稀", 1), ["p1"]);
}

#[test]
fn leaving_one_case_out_keeps_its_answer_reachable() {
    let ix = sample();
    let hits = ix.search_excluding(&SearchQuery::text("苹果树腐烂病怎么治"), 5, Some("a1")).unwrap();
    assert_eq!(hits[0].id, "a2");
    assert!(hits.iter().all(|h| h.id != "a1"));
}

#[test]
fn incremental_add_replace_remove() {
    let mut ix = sample();
    ix.upsert(case("n1", "茶树茶饼病怎么防治", "发病初期喷多抗霉素。")).unwrap();
    assert_eq!(ids(&ix, "茶饼病", 1), ["n1"]);
    // Replace: same id, new text.
    ix.upsert(case("n1", "柑橘黄龙病怎么办", "挖除病树，防治木虱。")).unwrap();
    assert_eq!(ix.len(), 10);
    assert!(ids(&ix, "茶饼病", 5).iter().all(|id| id != "n1"));
    assert_eq!(ids(&ix, "柑橘黄龙病", 1), ["n1"]);
    assert!(ix.remove("n1").unwrap());
    assert!(!ix.remove("n1").unwrap());
    assert!(ids(&ix, "柑橘黄龙病", 5).iter().all(|id| id != "n1"));
    assert_eq!(ix.len(), 9);
}

#[test]
fn persists_through_journal_and_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let queries = ["冬季李树枯叶蛾", "苹果腐烂病", "猪拉稀", "春天李枯叶蛾"];
    let before: Vec<Vec<String>>;
    {
        let mut ix = SimilarIndex::open(dir.path()).unwrap();
        for c in sample().cases() {
            ix.upsert(c).unwrap(); // journaled one by one
        }
        ix.remove("p1").unwrap();
        before = queries.iter().map(|q| ids(&ix, q, 5)).collect();
    }
    // Reopen from the journal alone.
    let mut ix = SimilarIndex::open(dir.path()).unwrap();
    assert_eq!(ix.len(), 8);
    assert_eq!(queries.iter().map(|q| ids(&ix, q, 5)).collect::<Vec<_>>(), before);
    ix.checkpoint().unwrap();
    assert_eq!(std::fs::metadata(dir.path().join("journal.jsonl")).unwrap().len(), 0);
    drop(ix);
    // Reopen from the snapshot (compacted: the removed case is gone).
    let mut ix = SimilarIndex::open(dir.path()).unwrap();
    assert_eq!(ix.len(), 8);
    assert!(ix.get("p1").is_none());
    assert_eq!(queries.iter().map(|q| ids(&ix, q, 5)).collect::<Vec<_>>(), before);
    // Snapshot plus a journal on top.
    ix.upsert(case("n2", "茶树茶饼病怎么防治", "发病初期喷多抗霉素。")).unwrap();
    drop(ix);
    let ix = SimilarIndex::open(dir.path()).unwrap();
    assert_eq!(ids(&ix, "茶饼病", 1), ["n2"]);
    assert_eq!(ix.get("a1").unwrap().answer, "刮除病斑，涂抹甲基硫菌灵糊剂。");
}

#[test]
fn a_torn_journal_line_is_ignored_and_a_damaged_snapshot_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut ix = SimilarIndex::open(dir.path()).unwrap();
    ix.upsert(case("x1", "梨黑星病", "喷戊唑醇。")).unwrap();
    drop(ix);
    let journal = dir.path().join("journal.jsonl");
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes.extend_from_slice(b"{\"op\":\"put\",\"case\":{\"id\":\"x2\""); // power cut mid-line
    std::fs::write(&journal, &bytes).unwrap();
    let mut ix = SimilarIndex::open(dir.path()).unwrap();
    assert_eq!(ix.len(), 1);
    ix.checkpoint().unwrap();
    drop(ix);
    let snap = dir.path().join("index.bin");
    let bytes = std::fs::read(&snap).unwrap();
    for cut in [0, 10, 30, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&snap, &bytes[..cut]).unwrap();
        assert!(matches!(SimilarIndex::open(dir.path()), Err(StoreError::Format { .. })), "cut at {cut}");
    }
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    std::fs::write(&snap, &flipped).unwrap();
    assert!(matches!(SimilarIndex::open(dir.path()), Err(StoreError::Format { .. })));
}

#[test]
fn limits_are_errors() {
    let ix = sample();
    let q = SearchQuery::text("李树");
    assert_eq!(ix.search(&q, 0), Err(SearchError::BadResultCount { max: 50 }));
    assert_eq!(ix.search(&q, 51), Err(SearchError::BadResultCount { max: 50 }));
    assert!(ix.search(&q, 50).is_ok());
    let long = SearchQuery::text("李".repeat(2001));
    assert_eq!(ix.search(&long, 5), Err(SearchError::QueryTooLong { max_chars: 2000 }));
    let photos = SearchQuery { photo_hashes: vec![0; 17], ..Default::default() };
    assert_eq!(ix.search(&photos, 5), Err(SearchError::TooManyPhotos { max: 16 }));
    let mut ix = ix;
    assert!(ix.upsert(case("", "q", "a")).is_err());
    assert!(ix.upsert(case("e", "  ", "a")).is_err());
    assert!(ix.upsert(case("e", &"长".repeat(4001), "a")).is_err());
    // Empty and punctuation-only queries find nothing, without error.
    assert!(ix.search(&SearchQuery::text(""), 5).unwrap().is_empty());
    assert!(ix.search(&SearchQuery::text("？？！，"), 5).unwrap().is_empty());
}

#[test]
fn soft_boosts_break_ties() {
    let mut ix = SimilarIndex::new();
    let mut a = case("far", "辣椒疫病怎么防治", "答案甲");
    a.region_code = "511502".into();
    a.industry = "vegetable".into();
    let mut b = case("near", "辣椒疫病怎么防治", "答案乙");
    b.region_code = "510104".into();
    b.industry = "vegetable".into();
    ix.upsert(a).unwrap();
    ix.upsert(b).unwrap();
    let q =
        SearchQuery {
            text: "辣椒疫病".into(), region_code: Some("510104017".into()), ..Default::default()
        };
    assert_eq!(ix.search(&q, 2).unwrap()[0].id, "near");
    let q =
        SearchQuery {
            text: "辣椒疫病".into(), region_code: Some("511502001".into()), ..Default::default()
        };
    assert_eq!(ix.search(&q, 2).unwrap()[0].id, "far");
}

#[test]
fn import_reads_the_evaluation_format() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kb.jsonl");
    std::fs::write(
        &file,
        "{\"query\": \"李树冬季枯叶蛾\", \"cluster\": \"1_1\", \"answer\": \"刮树皮\", \"season\": 2}\n\n\
         {\"query\": \"电话13812345678 苹果腐烂病\", \"cluster\": \"2_1\", \"answer\": \"刮病斑\", \"season\": 3}\n",
    )
    .unwrap();
    let mut ix = SimilarIndex::open(&dir.path().join("index")).unwrap();
    let report = yizhan_similar::import_jsonl(&file, &mut ix).unwrap();
    assert_eq!((report.added, report.refused), (2, 0));
    assert_eq!(ix.get("kb:1").unwrap().season, Some(2));
    assert!(!ix.get("kb:2").unwrap().question.contains("13812345678"));
    // Importing again replaces rather than duplicates; the import checkpointed to disk.
    yizhan_similar::import_jsonl(&file, &mut ix).unwrap();
    assert_eq!(ix.len(), 2);
    drop(ix);
    assert_eq!(SimilarIndex::open(&dir.path().join("index")).unwrap().len(), 2);
    std::fs::write(&file, "{\"query\": \"x\"}\n").unwrap();
    assert!(yizhan_similar::import_jsonl(&file, &mut SimilarIndex::new()).is_err());
}
