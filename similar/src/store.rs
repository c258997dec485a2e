//! The index on disk: a directory with `index.bin` (a snapshot of everything, written to a
//! temporary file and renamed, so a crash leaves the old one) and `journal.jsonl` (cases added
//! or removed since the snapshot, one JSON object a line, replayed on open). Replaying is
//! idempotent, so a crash between writing the snapshot and emptying the journal is harmless.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::case::{ID_BYTES_MAX, KnowledgeCase};
use crate::error::StoreError;
use crate::index::{Group, Hot, Interner, Row, SimilarIndex};
use crate::postings::{Field, Postings};

const SNAPSHOT: &str = "index.bin";
const JOURNAL: &str = "journal.jsonl";
const MAGIC: &[u8; 8] = b"YZSIM\x00v1";
/// A journal line longer than this is damage, not a case (a case is at most ~100 KB of text).
const JOURNAL_LINE_BYTES_MAX: usize = 1 << 20;
/// Largest snapshot we agree to read (5 M cases at ~300 B each, with room).
const SNAPSHOT_BYTES_MAX: u64 = 8 << 30;

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum JournalOp {
    Put { case: KnowledgeCase },
    Del { id: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_owned(), source }
}

impl SimilarIndex {
    /// Opens (or creates) the index in `dir`: loads the snapshot and replays the journal.
    pub fn open(dir: &Path) -> Result<SimilarIndex, StoreError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let snap = dir.join(SNAPSHOT);
        let mut index = if snap.exists() { read_snapshot(&snap)? } else { SimilarIndex::new() };
        let journal = dir.join(JOURNAL);
        if journal.exists() {
            let file = File::open(&journal).map_err(io_err(&journal))?;
            let mut reader = BufReader::new(file);
            let mut line = Vec::new();
            loop {
                line.clear();
                let n = (&mut reader)
                    .take(JOURNAL_LINE_BYTES_MAX as u64 + 1)
                    .read_until(b'\n', &mut line)
                    .map_err(io_err(&journal))?;
                if n == 0 {
                    break;
                }
                // A torn last line (power cut while appending) has no newline: skip it.
                if line.last() != Some(&b'\n') {
                    break;
                }
                match serde_json::from_slice::<JournalOp>(&line) {
                    Ok(JournalOp::Put { case }) => index.insert_mem(case)?,
                    Ok(JournalOp::Del { id }) => {
                        index.remove_mem(&id);
                    }
                    Err(e) => {
                        return Err(StoreError::Format {
                            path: journal,
                            reason: format!("bad journal line: {e}"),
                        });
                    }
                }
            }
        }
        index.dir = Some(dir.to_owned());
        Ok(index)
    }

    /// Adds a case, or replaces the case with the same id (as knowledge arrives by sync). On
    /// an index opened from a directory the change is journaled (and fsynced) before it applies.
    pub fn upsert(&mut self, case: KnowledgeCase) -> Result<(), StoreError> {
        case.validate()?;
        // Scrub before the journal: no personal number may reach the disk, even briefly.
        let case = case.scrubbed();
        self.journal(&JournalOp::Put { case: case.clone() })?;
        self.insert_mem(case)?;
        Ok(())
    }

    /// Removes a case; `Ok(false)` when there was none with this id.
    pub fn remove(&mut self, id: &str) -> Result<bool, StoreError> {
        if !self.contains(id) {
            return Ok(false);
        }
        self.journal(&JournalOp::Del { id: id.to_owned() })?;
        Ok(self.remove_mem(id))
    }

    /// Adds many cases at once (an import): in memory, then one snapshot when on disk, rather
    /// than a journal line each. Cases that break the limits are counted and skipped.
    pub fn upsert_batch(
        &mut self,
        cases: impl IntoIterator<Item = KnowledgeCase>,
    ) -> Result<usize, StoreError> {
        let mut refused = 0;
        for case in cases {
            if self.insert_mem(case).is_err() {
                refused += 1;
            }
        }
        if self.dir.is_some() {
            self.checkpoint()?;
        }
        Ok(refused)
    }

    fn journal(&self, op: &JournalOp) -> Result<(), StoreError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let path = dir.join(JOURNAL);
        let mut line = serde_json::to_vec(op)
            .map_err(|e| StoreError::Format { path: path.clone(), reason: e.to_string() })?;
        line.push(b'\n');
        let mut f = OpenOptions::new().create(true).append(true).open(&path).map_err(io_err(&path))?;
        f.write_all(&line).map_err(io_err(&path))?;
        f.sync_data().map_err(io_err(&path))?;
        Ok(())
    }

    /// Drops removed cases from the posting lists (renumbering the rest).
    pub fn compact(&mut self) {
        if self.deleted == 0 && self.groups.iter().all(|g| g.live > 0) {
            return;
        }
        let row_map: Vec<Option<u32>> = {
            let mut next = 0u32;
            self.rows
                .iter()
                .map(|r| {
                    (!r.deleted).then(|| {
                        next += 1;
                        next - 1
                    })
                })
                .collect()
        };
        let group_map: Vec<Option<u32>> = {
            let mut next = 0u32;
            self.groups
                .iter()
                .map(|g| {
                    (g.live > 0).then(|| {
                        next += 1;
                        next - 1
                    })
                })
                .collect()
        };
        let rows: Vec<Row> = self
            .rows
            .iter()
            .filter(|r| !r.deleted)
            .map(|r| {
                let mut r = r.clone();
                r.group = group_map.get(r.group as usize).copied().flatten().unwrap_or(0);
                r
            })
            .collect();
        let groups: Vec<Group> = self.groups.iter().filter(|g| g.live > 0).cloned().collect();
        self.words = self.words.remap(&row_map, |r| rows.get(r as usize).map_or(0, |x| x.words_len));
        self.grams = self.grams.remap(&row_map, |r| rows.get(r as usize).map_or(0, |x| x.grams_len));
        self.answer_words =
            self.answer_words.remap(&group_map, |g| groups.get(g as usize).map_or(0, |x| x.answer_len));
        self.rows = rows;
        self.groups = groups;
        self.deleted = 0;
        self.rebuild_maps();
    }

    fn rebuild_maps(&mut self) {
        self.ids = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.deleted)
            .map(|(i, r)| (r.id.clone(), i as u32))
            .collect();
        self.answers = self.groups.iter().enumerate().map(|(i, g)| (g.answer.clone(), i as u32)).collect();
        self.hot = self.rows.iter().map(Hot::of).collect();
        (self.photo_hashes, self.photo_rows) = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.deleted)
            .flat_map(|(i, r)| r.photos.iter().map(move |&h| (h, i as u32)))
            .unzip();
        self.live = self.rows.iter().filter(|r| !r.deleted).count();
        self.deleted = self.rows.len() - self.live;
    }

    /// Compacts, writes a new snapshot and empties the journal.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        let dir = self.dir.clone().ok_or(StoreError::NotOnDisk)?;
        self.save_to(&dir)?;
        let journal = dir.join(JOURNAL);
        if journal.exists() {
            File::create(&journal).map_err(io_err(&journal))?.sync_all().map_err(io_err(&journal))?;
        }
        Ok(())
    }

    /// Writes a snapshot of this index into `dir` (created if needed). The index stays where
    /// it was; use [`SimilarIndex::open`] to work on the copy.
    pub fn save_to(&mut self, dir: &Path) -> Result<(), StoreError> {
        self.compact();
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(SNAPSHOT);
        let tmp = dir.join(format!("{SNAPSHOT}.tmp"));
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let body = encode(self);
        w.write_all(MAGIC).map_err(io_err(&tmp))?;
        w.write_all(&(body.len() as u64).to_le_bytes()).map_err(io_err(&tmp))?;
        w.write_all(&checksum(&body).to_le_bytes()).map_err(io_err(&tmp))?;
        w.write_all(&body).map_err(io_err(&tmp))?;
        let file =
            w.into_inner().map_err(|e| StoreError::Io { path: tmp.clone(), source: e.into_error() })?;
        file.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        Ok(())
    }

    /// Bytes of the index files in its directory (for the benchmark and the status page).
    pub fn disk_bytes(dir: &Path) -> u64 {
        [SNAPSHOT, JOURNAL].iter().filter_map(|f| fs::metadata(dir.join(f)).ok()).map(|m| m.len()).sum()
    }
}

/// FNV-1a over 8-byte words: detects a truncated or damaged snapshot (not an attacker).
fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

struct Enc(Vec<u8>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn u32s(&mut self, v: &[u32]) {
        self.u32(v.len() as u32);
        v.iter().for_each(|&x| self.u32(x));
    }
}

fn encode_field(e: &mut Enc, f: &Field) {
    e.u32(f.docs);
    e.u64(f.total_len);
    e.u32(f.lists.len() as u32);
    // In term-id order so decoding rebuilds the same ids.
    let mut terms: Vec<(&str, u32)> = f.terms.iter().map(|(t, &id)| (&**t, id)).collect();
    terms.sort_by_key(|t| t.1);
    for (t, id) in terms {
        let p = &f.lists[id as usize];
        e.str(t);
        e.u32(p.df);
        e.u32(p.last);
        e.bytes(&p.bytes);
    }
}

fn encode_interner(e: &mut Enc, i: &Interner) {
    e.u32(i.names.len() as u32);
    i.names.iter().for_each(|n| e.str(n));
}

fn encode(ix: &SimilarIndex) -> Vec<u8> {
    let mut e = Enc(Vec::with_capacity(1 << 20));
    encode_interner(&mut e, &ix.strings);
    encode_interner(&mut e, &ix.entities);
    e.u32(ix.groups.len() as u32);
    for g in &ix.groups {
        e.str(&g.answer);
        e.u32(g.answer_len);
        e.u32(g.live);
    }
    e.u32(ix.rows.len() as u32);
    for r in &ix.rows {
        e.str(&r.id);
        e.str(&r.question);
        e.u32(r.group);
        e.u32(r.words_len);
        e.u32(r.grams_len);
        e.u64(r.period);
        e.u16(r.season.map_or(0, |s| u16::from(s) + 1));
        e.u32(r.industry);
        e.u32(r.crop);
        e.u32(r.region);
        e.u32(r.source);
        e.u32s(&r.crops);
        e.u32s(&r.problems);
        e.u32(r.photos.len() as u32);
        r.photos.iter().for_each(|&h| e.u64(h));
        e.u8(u8::from(r.deleted));
    }
    encode_field(&mut e, &ix.words);
    encode_field(&mut e, &ix.grams);
    encode_field(&mut e, &ix.answer_words);
    e.0
}

/// Reader over the snapshot body; every read is bounds-checked and every count is checked
/// against the bytes left, so a damaged file gives an error, never a panic or a huge allocation.
struct Dec<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len()).ok_or("truncated")?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let mut a = [0u8; 2];
        a.copy_from_slice(self.take(2)?);
        Ok(u16::from_le_bytes(a))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    /// A count of items each at least `min_item_bytes` long.
    fn count(&mut self, min_item_bytes: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_bytes.max(1)) > self.b.len() - self.pos {
            return Err(format!("count {n} exceeds the file"));
        }
        Ok(n)
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.count(1)?;
        self.take(n)
    }
    fn str(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|e| e.to_string())
    }
    fn u32s(&mut self) -> Result<Box<[u32]>, String> {
        let n = self.count(4)?;
        (0..n).map(|_| self.u32()).collect()
    }
}

fn decode_field(d: &mut Dec<'_>) -> Result<Field, String> {
    let mut f = Field { docs: d.u32()?, total_len: d.u64()?, ..Default::default() };
    let n = d.count(16)?;
    f.lists.reserve(n);
    f.terms.reserve(n);
    for id in 0..n {
        let term: Box<str> = d.str()?.into();
        let df = d.u32()?;
        let last = d.u32()?;
        let bytes = d.bytes()?.to_vec();
        f.terms.insert(term, id as u32);
        f.lists.push(Postings { bytes, last, df });
    }
    Ok(f)
}

fn decode_interner(d: &mut Dec<'_>) -> Result<Interner, String> {
    let n = d.count(4)?;
    let mut i = Interner::default();
    for _ in 0..n {
        i.intern(d.str()?);
    }
    if i.names.len() != n {
        return Err("duplicate interned string".into());
    }
    Ok(i)
}

fn decode(body: &[u8]) -> Result<SimilarIndex, String> {
    let mut d = Dec { b: body, pos: 0 };
    let mut ix = SimilarIndex {
        strings: decode_interner(&mut d)?,
        entities: decode_interner(&mut d)?,
        ..Default::default()
    };
    let n_groups = d.count(12)?;
    for _ in 0..n_groups {
        let answer: Box<str> = d.str()?.into();
        ix.groups.push(Group { answer, answer_len: d.u32()?, live: d.u32()? });
    }
    let n_rows = d.count(40)?;
    ix.rows.reserve(n_rows);
    let n_strings = ix.strings.names.len() as u32;
    let n_entities = ix.entities.names.len() as u32;
    for _ in 0..n_rows {
        let id: Box<str> = d.str()?.into();
        if id.is_empty() || id.len() > ID_BYTES_MAX {
            return Err("bad case id".into());
        }
        let question: Box<str> = d.str()?.into();
        let group = d.u32()?;
        let words_len = d.u32()?;
        let grams_len = d.u32()?;
        let period = d.u64()?;
        let season = match d.u16()? {
            0 => None,
            s => Some(u8::try_from(s - 1).map_err(|_| "bad season")?),
        };
        let (industry, crop, region, source) = (d.u32()?, d.u32()?, d.u32()?, d.u32()?);
        let crops = d.u32s()?;
        let problems = d.u32s()?;
        let n_photos = d.count(8)?;
        let photos: Box<[u64]> = (0..n_photos).map(|_| d.u64()).collect::<Result<_, _>>()?;
        let deleted = d.u8()? != 0;
        if group as usize >= n_groups
            || [industry, crop, region, source].iter().any(|&s| s >= n_strings)
            || crops.iter().chain(problems.iter()).any(|&e| e >= n_entities)
        {
            return Err("row refers to a missing group or string".into());
        }
        ix.rows.push(Row {
            id,
            question,
            group,
            words_len,
            grams_len,
            period,
            season,
            industry,
            crop,
            region,
            source,
            crops,
            problems,
            photos,
            deleted,
        });
    }
    ix.words = decode_field(&mut d)?;
    ix.grams = decode_field(&mut d)?;
    ix.answer_words = decode_field(&mut d)?;
    if d.pos != body.len() {
        return Err("trailing bytes".into());
    }
    ix.rebuild_maps();
    Ok(ix)
}

/// Decodes a snapshot body as [`SimilarIndex::open`] does after checking the header and the
/// checksum. For fuzzing the decoder (a checksum would keep random input away from it).
#[doc(hidden)]
pub fn decode_snapshot_body(body: &[u8]) -> Result<SimilarIndex, String> {
    decode(body)
}

fn read_snapshot(path: &Path) -> Result<SimilarIndex, StoreError> {
    let format = |reason: String| StoreError::Format { path: PathBuf::from(path), reason };
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut head = [0u8; 24];
    f.read_exact(&mut head).map_err(|_| format("shorter than its header".into()))?;
    if &head[..8] != MAGIC {
        return Err(format("wrong magic".into()));
    }
    let len = u64::from_le_bytes(head[8..16].try_into().unwrap_or_default());
    let sum = u64::from_le_bytes(head[16..24].try_into().unwrap_or_default());
    let actual = fs::metadata(path).map_err(io_err(path))?.len();
    if len > SNAPSHOT_BYTES_MAX || len + 24 != actual {
        return Err(format(format!("body of {len} bytes in a file of {actual}")));
    }
    let mut body = Vec::with_capacity(len as usize);
    f.read_to_end(&mut body).map_err(io_err(path))?;
    if checksum(&body) != sum {
        return Err(format("checksum mismatch".into()));
    }
    decode(&body).map_err(format)
}
