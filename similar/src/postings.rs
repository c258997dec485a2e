//! Compact posting lists: doc-id deltas as LEB128 varints, each followed by a one-byte term
//! frequency. Docs are only ever appended with increasing ids, so a list never needs rewriting
//! except when the index compacts away deleted cases.

use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub(crate) struct Postings {
    pub bytes: Vec<u8>,
    /// Last doc id written (the base of the next delta).
    pub last: u32,
    pub df: u32,
}

impl Postings {
    pub fn push(&mut self, doc: u32, tf: u32) {
        let delta = doc.wrapping_sub(self.last);
        let mut v = delta;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.bytes.push(byte);
                break;
            }
            self.bytes.push(byte | 0x80);
        }
        // Frequencies above 255 add nothing under BM25 saturation.
        self.bytes.push(tf.min(255) as u8);
        self.last = doc;
        self.df += 1;
    }

    pub fn iter(&self) -> PostingIter<'_> {
        PostingIter { bytes: &self.bytes, pos: 0, doc: 0 }
    }
}

/// Yields `(doc, tf)`; stops quietly at a truncated entry, so a damaged file cannot panic.
pub(crate) struct PostingIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    doc: u32,
}

impl Iterator for PostingIter<'_> {
    type Item = (u32, u32);

    #[inline]
    fn next(&mut self) -> Option<(u32, u32)> {
        let mut delta = 0u32;
        let mut shift = 0u32;
        loop {
            let b = *self.bytes.get(self.pos)?;
            self.pos += 1;
            delta |= u32::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 28 {
                return None;
            }
        }
        let tf = *self.bytes.get(self.pos)?;
        self.pos += 1;
        self.doc = self.doc.wrapping_add(delta);
        Some((self.doc, u32::from(tf)))
    }
}

/// One indexed field: term dictionary, posting lists, and the length sum for BM25's average.
#[derive(Debug, Default, Clone)]
pub(crate) struct Field {
    pub terms: HashMap<Box<str>, u32>,
    pub lists: Vec<Postings>,
    pub docs: u32,
    pub total_len: u64,
}

/// Distinct terms with their counts, in first-seen order (deterministic).
pub(crate) fn term_counts(tokens: &[String]) -> Vec<(&str, u32)> {
    let mut out: Vec<(&str, u32)> = Vec::new();
    for t in tokens {
        match out.iter_mut().find(|(s, _)| *s == t.as_str()) {
            Some((_, n)) => *n += 1,
            None => out.push((t.as_str(), 1)),
        }
    }
    out
}

impl Field {
    /// Adds one doc (ids must increase); returns its length in tokens.
    pub fn add(&mut self, doc: u32, tokens: &[String]) -> u32 {
        for (term, tf) in term_counts(tokens) {
            let id = match self.terms.get(term) {
                Some(&id) => id,
                None => {
                    let id = self.lists.len() as u32;
                    self.terms.insert(term.into(), id);
                    self.lists.push(Postings::default());
                    id
                }
            };
            self.lists[id as usize].push(doc, tf);
        }
        let len = tokens.len() as u32;
        self.docs += 1;
        self.total_len += u64::from(len);
        len
    }

    pub fn get(&self, term: &str) -> Option<&Postings> {
        self.terms.get(term).and_then(|&id| self.lists.get(id as usize))
    }

    pub fn avg_len(&self) -> f32 {
        if self.docs == 0 { 1.0 } else { (self.total_len as f32 / self.docs as f32).max(1.0) }
    }

    /// The same field with doc ids renumbered by `map` (`None` = dropped).
    pub fn remap(&self, map: &[Option<u32>], lens: impl Fn(u32) -> u32) -> Field {
        let mut out = Field::default();
        for (term, &id) in &self.terms {
            let Some(list) = self.lists.get(id as usize) else { continue };
            let mut p = Postings::default();
            for (doc, tf) in list.iter() {
                if let Some(Some(new)) = map.get(doc as usize) {
                    p.push(*new, tf);
                }
            }
            if p.df > 0 {
                out.terms.insert(term.clone(), out.lists.len() as u32);
                out.lists.push(p);
            }
        }
        for new in map.iter().flatten() {
            out.docs += 1;
            out.total_len += u64::from(lens(*new));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut p = Postings::default();
        let docs = [(0, 1), (1, 3), (200, 1), (70_000, 255), (4_000_000, 2)];
        for (d, tf) in docs {
            p.push(d, tf);
        }
        assert_eq!(p.iter().collect::<Vec<_>>(), docs);
        p.bytes.pop(); // truncated: stops, no panic
        assert_eq!(p.iter().count(), 4);
    }
}
