//! Find-similar benchmark over a synthetic knowledge base (templates x vocabulary, seeded RNG).
//!
//! cargo run -p yizhan-similar --release --example similar_bench -- build N DIR
//!     generate N cases, build the index in memory, save it to DIR, then time searches
//! cargo run -p yizhan-similar --release --example similar_bench -- query DIR [QUERIES]
//!     the kiosk's view: open DIR (snapshot load), then time searches
//!
//! Prints build time, index size on disk, peak memory (VmHWM) and p50/p99 search latency.

use std::path::Path;
use std::time::Instant;

use yizhan_similar::{KnowledgeCase, SearchQuery, SimilarIndex};

const CROPS: &str = include_str!("../../assets/vocab/crops.txt");
const PESTS: &str = include_str!("../../assets/vocab/pests.txt");
const DISEASES: &str = include_str!("../../assets/vocab/diseases.txt");
const CHEMICALS: &str = include_str!("../../assets/vocab/chemicals.txt");
const SYMPTOMS: &str = include_str!("../../assets/vocab/symptoms.txt");

/// splitmix64: deterministic across platforms and crate versions.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

fn terms(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('@'))
        .flat_map(|l| l.split_whitespace())
        .map(|t| t.split('=').next().unwrap_or(t).to_owned())
        .collect()
}

const PERIODS: &[&str] = &[
    "",
    "",
    "",
    "春季",
    "夏季",
    "秋季",
    "冬季",
    "早春",
    "初夏",
    "夏末",
    "中秋",
    "深秋",
    "入冬",
    "寒冷季节",
    "3月份",
    "4月上旬",
    "5月中旬",
    "6月下旬",
    "7-8月",
    "九十月份",
    "十二月",
    "开花前",
    "谢花后",
    "幼果期",
    "采收后",
];
const QUESTIONS: &[&str] = &[
    "{P}{C}{X}怎么防治？",
    "{C}得了{X}，{P}要打什么药？",
    "{P}是不是{X}的高发期？需要喷什么药？",
    "{C}叶片{S}，是不是{X}？该怎么办",
    "进入{P}，{C}会不会容易得{X}？我该提前做什么？",
    "{X}在{P}怎么预防，{C}上用什么药好",
    "我家{C}{S}，{P}发现好多{X}，咋整",
    "{P}{C}{X}严重，有没有好办法",
    "{C}{X}用{H}效果怎么样",
    "请问{C}的{X}{P}该注意什么",
];
const ANSWERS: &[&str] = &[
    "{P}农业防治：清除病残体，合理密植，加强通风透光。药剂防治：发病初期选用{H}{N}倍液，或{H2}{M}倍液喷雾，每隔7～10天喷1次，连续2～3次。",
    "{P}物理防治：悬挂黄板或杀虫灯诱杀成虫。药剂防治：用{H}{N}倍液喷雾，注意轮换用药，安全间隔期不少于14天。",
    "{P}冬季结合修剪，剪除带虫枝条，刮除老翘皮，集中烧毁。生长期用{H}{N}倍液或{H2}{M}倍液防治。",
    "{P}选用抗病品种，种子用{H}浸种。发病后及时拔除病株，穴施石灰消毒，并喷{H2}{M}倍液保护。",
];

struct Topic {
    crop: String,
    problem: String,
    period: &'static str,
    answer: String,
}

struct Gen {
    crops: Vec<String>,
    problems: Vec<String>,
    chems: Vec<String>,
    symptoms: Vec<String>,
}

impl Gen {
    fn new() -> Gen {
        Gen {
            crops: terms(CROPS),
            problems: terms(PESTS).into_iter().chain(terms(DISEASES)).collect(),
            chems: terms(CHEMICALS),
            symptoms: terms(SYMPTOMS),
        }
    }

    fn topic(&self, rng: &mut Rng) -> Topic {
        let crop = rng.pick(&self.crops).clone();
        let problem = rng.pick(&self.problems).clone();
        let period = *rng.pick(PERIODS);
        let answer = rng
            .pick(ANSWERS)
            .replace("{P}", if period.is_empty() { "" } else { period })
            .replace("{H2}", rng.pick(&self.chems).as_str())
            .replace("{H}", rng.pick(&self.chems).as_str())
            .replace("{N}", &format!("{}", 500 + 100 * rng.below(20)))
            .replace("{M}", &format!("{}", 1000 + 500 * rng.below(6)));
        Topic { crop, problem, period, answer }
    }

    fn question(&self, t: &Topic, rng: &mut Rng) -> String {
        rng.pick(QUESTIONS)
            .replace("{P}", t.period)
            .replace("{C}", if rng.below(5) == 0 { "" } else { &t.crop })
            .replace("{X}", &t.problem)
            .replace("{S}", rng.pick(&self.symptoms).as_str())
            .replace("{H}", rng.pick(&self.chems).as_str())
    }
}

fn vm_hwm_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Queries the officer might type: full questions of random topics (new text, not copies),
/// every tenth a long description of three sentences.
fn queries(synth: &Gen, n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let t = synth.topic(&mut rng);
            if i % 10 == 9 {
                format!(
                    "{}{}{}",
                    synth.question(&t, &mut rng),
                    synth.question(&t, &mut rng),
                    synth.question(&t, &mut rng)
                )
            } else {
                synth.question(&t, &mut rng)
            }
        })
        .collect()
}

fn time_searches(ix: &SimilarIndex, qs: &[String]) {
    // Warm up caches and the thread-local accumulators.
    for q in qs.iter().take(20) {
        let _ = ix.search(&SearchQuery::text(q.clone()), 5);
    }
    let mut ms: Vec<f64> = Vec::with_capacity(qs.len());
    let mut found = 0usize;
    for q in qs {
        let t = Instant::now();
        let hits = ix.search(&SearchQuery::text(q.clone()), 5).unwrap_or_default();
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        found += usize::from(!hits.is_empty());
    }
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    println!("queries: {} (with results: {found})", ms.len());
    println!("search_p50_ms: {:.2}", pct(0.5));
    println!("search_p99_ms: {:.2}", pct(0.99));
    println!("search_max_ms: {:.2}", pct(1.0));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let synth = Gen::new();
    match args.first().map(String::as_str) {
        Some("build") => {
            let n: usize = args.get(1).ok_or("build N DIR")?.parse()?;
            let dir = Path::new(args.get(2).ok_or("build N DIR")?);
            let mut rng = Rng(42);
            let topics: Vec<Topic> = (0..(n / 8).max(1)).map(|_| synth.topic(&mut rng)).collect();
            let t = Instant::now();
            let mut ix = SimilarIndex::new();
            let cases = (0..n).map(|i| {
                let topic = &topics[rng.below(topics.len())];
                KnowledgeCase {
                    id: format!("syn-{i}"),
                    question: synth.question(topic, &mut rng),
                    answer: topic.answer.clone(),
                    industry: String::new(),
                    crop: topic.crop.clone(),
                    season: None,
                    region_code: format!("5101{:02}", rng.below(20)),
                    source: "synthetic".into(),
                    photo_hashes: if i % 4 == 0 {
                        vec![rng.next(), rng.next(), rng.next(), rng.next()]
                    } else {
                        vec![]
                    },
                }
            });
            let refused = ix.upsert_batch(cases)?;
            let build_s = t.elapsed().as_secs_f64();
            println!("cases: {} (refused {refused}), distinct answers: {}", ix.len(), ix.answers_len());
            println!("build_s: {build_s:.1}");
            println!("vm_hwm_after_build_mib: {:.0}", vm_hwm_mib());
            let t = Instant::now();
            ix.save_to(dir)?;
            println!("save_s: {:.1}", t.elapsed().as_secs_f64());
            println!("disk_mib: {:.0}", SimilarIndex::disk_bytes(dir) as f64 / 1048576.0);
            time_searches(&ix, &queries(&synth, 2000, 7));
            println!("vm_hwm_mib: {:.0}", vm_hwm_mib());
        }
        Some("query") => {
            let dir = Path::new(args.get(1).ok_or("query DIR")?);
            let n: usize = args.get(2).map_or(Ok(2000), |s| s.parse())?;
            let t = Instant::now();
            let ix = SimilarIndex::open(dir)?;
            println!("open_s: {:.1} ({} cases)", t.elapsed().as_secs_f64(), ix.len());
            println!("vm_hwm_after_open_mib: {:.0}", vm_hwm_mib());
            time_searches(&ix, &queries(&synth, n, 11));
            // A photo query scans every stored photo hash.
            let t = Instant::now();
            let q =
                SearchQuery {
                    text: "叶片发黄".into(), photo_hashes: vec![1, 2, 3, 4], ..Default::default()
                };
            ix.search(&q, 5)?;
            println!("photo_search_ms: {:.2}", t.elapsed().as_secs_f64() * 1e3);
            println!("vm_hwm_mib: {:.0}", vm_hwm_mib());
        }
        _ => return Err("usage: similar_bench build N DIR | query DIR [QUERIES]".into()),
    }
    Ok(())
}
