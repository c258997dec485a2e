//! Loading automerge bytes that come from outside this process: changes a peer sends, and
//! snapshots and change chunks read back from disk (which a failing disk can damage).
//!
//! automerge 0.12 panics on some malformed input instead of returning an error (fuzzing found
//! one within a minute: `fuzz/regressions/doc_changes/`; upstream knows such cases, e.g.
//! automerge issue #476). Input from the network or the disk must never panic a node, so every
//! such load goes through here: a panic becomes an error and the half-loaded document is
//! dropped by the caller.

use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::AutoCommit;

/// Why bytes could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("malformed document data: {0}")]
    Malformed(String),
    /// automerge panicked on the bytes (a bug in automerge, reached by malformed input).
    #[error("malformed document data (the decoder failed on it)")]
    DecoderPanicked,
}

/// automerge's chunk magic bytes.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The chunk types Yizhan's nodes write: documents (`save`), changes (`save_after`) and
/// compressed changes. automerge 0.12 also reads "bundle" chunks (type 3), which no node
/// writes; every pathological input fuzzing found so far (a panic, a 1 s / 1 GB decode from
/// 161 bytes, a 4 GiB allocation from 1 KB) was a bundle, so they are refused unread.
const CHUNK_TYPES_ACCEPTED: [u8; 3] = [0, 1, 2];

/// Checks the chunk framing before automerge decodes anything: every chunk starts with the
/// magic bytes, is of an accepted type and fits in the data; nothing trails the last one.
pub fn check_chunks(data: &[u8]) -> Result<(), LoadError> {
    let bad = |why: &str| Err(LoadError::Malformed(why.to_string()));
    let mut rest = data;
    while !rest.is_empty() {
        let Some((head, after)) = rest.split_first_chunk::<9>() else { return bad("truncated chunk header") };
        if head[..4] != MAGIC {
            return bad("not an automerge chunk");
        }
        if !CHUNK_TYPES_ACCEPTED.contains(&head[8]) {
            return Err(LoadError::Malformed(format!("chunk type {} is not accepted", head[8])));
        }
        // The data length, unsigned LEB128 (at most 10 bytes for a u64).
        let (mut len, mut used) = (0u64, 0usize);
        loop {
            let Some(&byte) = after.get(used) else { return bad("truncated chunk length") };
            if used == 9 && byte > 1 {
                return bad("chunk length overflows");
            }
            len |= u64::from(byte & 0x7f) << (7 * used);
            used += 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let body = &after[used..];
        let Some(len) = usize::try_from(len).ok().filter(|l| *l <= body.len()) else {
            return bad("chunk longer than the data");
        };
        rest = &body[len..];
    }
    Ok(())
}

/// Loads changes into `doc`. On an error `doc` may hold part of them: drop it.
pub fn load_incremental(doc: &mut AutoCommit, data: &[u8]) -> Result<usize, LoadError> {
    check_chunks(data)?;
    match catch_unwind(AssertUnwindSafe(|| doc.load_incremental(data))) {
        Ok(Ok(n)) => Ok(n),
        Ok(Err(e)) => Err(LoadError::Malformed(e.to_string())),
        Err(_) => Err(LoadError::DecoderPanicked),
    }
}

/// Loads a whole document (a snapshot).
pub fn load(data: &[u8]) -> Result<AutoCommit, LoadError> {
    check_chunks(data)?;
    match catch_unwind(|| AutoCommit::load(data)) {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(e)) => Err(LoadError::Malformed(e.to_string())),
        Err(_) => Err(LoadError::DecoderPanicked),
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::{LoadError, check_chunks, load, load_incremental};

    #[test]
    fn what_nodes_write_loads_and_bundles_and_broken_framing_do_not() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "subject", "柑橘").unwrap();
        let heads = doc.get_heads();
        let snapshot = doc.save();
        doc.put(ROOT, "description", "黄叶".repeat(200)).unwrap();
        let changes = doc.save_after(&heads);
        let mut both = snapshot.clone();
        both.extend(&changes);
        for ok in [&snapshot, &changes, &both] {
            check_chunks(ok).unwrap();
        }
        let mut loaded = load(&snapshot).unwrap();
        load_incremental(&mut loaded, &changes).unwrap();
        assert_eq!(loaded.get_heads(), doc.get_heads());
        assert!(check_chunks(&[]).is_ok(), "nothing to load is fine");

        let malformed = |data: &[u8]| matches!(check_chunks(data), Err(LoadError::Malformed(_)));
        let mut bundle = changes.clone();
        bundle[8] = 3;
        assert!(malformed(&bundle), "bundle chunks are refused");
        let mut unknown = changes.clone();
        unknown[8] = 7;
        assert!(malformed(&unknown));
        let mut magic = changes.clone();
        magic[0] ^= 1;
        assert!(malformed(&magic));
        assert!(malformed(&changes[..changes.len() - 1]), "truncated");
        let mut trailing = changes.clone();
        trailing.push(0);
        assert!(malformed(&trailing), "trailing bytes");
        assert!(malformed(&changes[..5]), "a header cut short");
        let mut huge = changes[..9].to_vec();
        huge.extend([0xff; 9]);
        huge.push(0x7f);
        assert!(malformed(&huge), "a length past u64");
        assert!(load_incremental(&mut AutoCommit::new(), &bundle).is_err());
    }
}
