//! Runs the find-similar evaluation protocol (and the plain-BM25 baseline) on a JSONL file.
//!
//! cargo run -p yizhan-similar --release --example similar_eval -- FILE.jsonl
//!     [--split all|0|1] [--set name=value,...] [--sweep name=v1,v2,...] [--baseline] [--misses N]
//!
//! `--split 0` / `--split 1` evaluates one half of the clusters (split by problem id), to tune
//! on one half and check on the other.

use std::path::PathBuf;

use yizhan_similar::eval::{BaselineDoc, evaluate_baseline};
use yizhan_similar::{Evaluation, RankParams, Split};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut dataset: Option<PathBuf> = None;
    let mut split = Split::All;
    let mut params = RankParams::default();
    let mut sweep: Option<(String, Vec<f32>)> = None;
    let mut baseline = false;
    let mut misses = 0usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--split" => {
                split = match args.next().as_deref() {
                    Some("0") => Split::Half(0),
                    Some("1") => Split::Half(1),
                    _ => Split::All,
                }
            }
            "--set" => {
                for kv in args.next().unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
                    let (k, v) = kv.split_once('=').ok_or("--set name=value")?;
                    if !params.set(k, v.parse()?) {
                        return Err(format!("unknown parameter {k}").into());
                    }
                }
            }
            "--sweep" => {
                let spec = args.next().unwrap_or_default();
                let (k, vs) = spec.split_once('=').ok_or("--sweep name=v1,v2")?;
                sweep = Some((k.to_owned(), vs.split(',').map(str::parse).collect::<Result<_, _>>()?));
            }
            "--baseline" => baseline = true,
            "--misses" => misses = args.next().and_then(|n| n.parse().ok()).unwrap_or(20),
            _ => dataset = Some(PathBuf::from(a)),
        }
    }
    let dataset = dataset.ok_or("usage: similar_eval FILE.jsonl [options]")?;
    println!("vocabulary_terms: {}", yizhan_similar::vocabulary_size());
    if baseline {
        for (doc, dedup) in [
            (BaselineDoc::QuestionAndAnswer, false),
            (BaselineDoc::Question, false),
            (BaselineDoc::QuestionAndAnswer, true),
        ] {
            println!("== baseline {doc:?} dedup={dedup} split={split:?}");
            println!("{}", evaluate_baseline(&dataset, split, doc, dedup)?);
        }
    }
    let mut ev = Evaluation::load(&dataset, split)?;
    match sweep {
        Some((name, values)) => {
            for v in values {
                let mut p = params.clone();
                p.set(&name, v);
                let r = ev.run(&p);
                println!(
                    "{name}={v}: r@1 {:.3} r@5 {:.3} mrr {:.3} p99 {:.2}ms",
                    r.recall_at_1, r.recall_at_5, r.mrr_at_10, r.latency_p99_ms
                );
            }
        }
        None => {
            println!("== similar split={split:?} {params:?}");
            println!("{}", ev.run(&params));
        }
    }
    if misses > 0 {
        for (c, q, first) in ev.misses(5).into_iter().take(misses) {
            println!("MISS {c}: {q}  ==> {first}");
        }
    }
    Ok(())
}
