//! The bodies of the fuzz targets: every decoder that reads the network or the disk. Shared by
//! the coverage-guided targets in `fuzz/fuzz_targets/` (cargo fuzz, libFuzzer) and by the
//! ordinary test `tests/fuzz_regressions.rs`, which replays every input kept under
//! `fuzz/regressions/<target>/` (crashers once found, and seeds that reach deep paths).
//!
//! A target passes when it returns: errors are fine, panics and hangs are bugs.

use automerge::AutoCommit;

/// The largest message either protocol accepts (as a node configures it).
const MESSAGE_MAX: u32 = yizhan_sync_proto::MESSAGE_BYTES_MAX;

/// Sync frames from a peer, in one push (framing, every message type, unknown optional types).
pub fn sync_frames(data: &[u8]) {
    let mut d = yizhan_sync_proto::FrameDecoder::new(MESSAGE_MAX);
    d.push(data);
    while let Ok(Some(_)) = d.next_message() {}
}

/// Blob frames from a peer, one after another.
pub fn blob_frames(data: &[u8]) {
    let mut rest = data;
    while let Ok(Some((_, used))) = yizhan_sync_proto::blob::decode_frame(rest, MESSAGE_MAX) {
        match rest.get(used..) {
            Some(r) if used > 0 => rest = r,
            _ => break,
        }
    }
}

/// Document changes from a peer (the `data` of a `DocChange`), loaded as a hub does before it
/// validates them: into a new document, then read as every document type.
pub fn doc_changes(data: &[u8]) {
    let mut doc = AutoCommit::new();
    if yizhan_core::untrusted::load_incremental(&mut doc, data).is_err() {
        return;
    }
    let _ = doc.get_missing_deps(&[]);
    let _ = yizhan_core::CaseDoc::from_doc(&doc);
    let _ = yizhan_core::KnowledgeDoc::from_doc(&doc);
    let _ = yizhan_core::Person::from_doc(&doc);
    let _ = yizhan_core::people::Credential::from_doc(&doc);
    let _ = yizhan_core::private::CasePrivate::from_doc(&doc);
    let _ = yizhan_core::revocation::RevocationDoc::from_doc(&doc);
    let _ = yizhan_core::seal_key::SealKeyDoc::from_doc(&doc);
    let _ = doc.save();
}

/// A people spreadsheet an administrator uploads, read as CSV and as XLSX.
pub fn people_import(data: &[u8]) {
    let _ = yizhan_records::parse_people(data, "people.csv");
    let _ = yizhan_records::parse_people(data, "people.xlsx");
}

/// The find-similar snapshot body read from disk (past its header and checksum).
pub fn similar_snapshot(data: &[u8]) {
    let _ = yizhan_similar::decode_snapshot_body(data);
}

/// Certificates a TLS peer presents (parsed before it is authenticated) and signed revocation
/// lists (they sync down as documents): up to four length-prefixed (u16, little endian) DER
/// certificates, verified as a chain against a province root; the whole input as a list.
pub fn tls_identity(data: &[u8]) {
    use std::sync::OnceLock;
    static ROOT: OnceLock<(yizhan_identity::TrustRoots, std::time::SystemTime)> = OnceLock::new();
    let (roots, now) = ROOT.get_or_init(|| {
        let now = std::time::SystemTime::now();
        let province = yizhan_identity::Authority::init("province", "51", now).expect("a province CA");
        (province.roots().clone(), now)
    });
    let mut certs = Vec::new();
    let mut rest = data;
    while certs.len() < 4 {
        let Some((len, after)) = rest.split_first_chunk::<2>() else { break };
        let len = usize::from(u16::from_le_bytes(*len)).min(after.len());
        certs.push(rustls_pki_types::CertificateDer::from(after[..len].to_vec()));
        rest = &after[len..];
    }
    if let Some((leaf, intermediates)) = certs.split_first() {
        let unix = now.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let _ = yizhan_identity::verify_chain(roots, leaf, intermediates, unix);
        let _ = yizhan_identity::peer_identity(&certs);
    }
    let _ = yizhan_identity::RevocationState::new(roots.clone()).apply(data, *now);
}

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by name, as the regression test walks them.
pub const TARGETS: [(&str, Target); 6] = [
    ("sync_frames", sync_frames),
    ("blob_frames", blob_frames),
    ("doc_changes", doc_changes),
    ("people_import", people_import),
    ("similar_snapshot", similar_snapshot),
    ("tls_identity", tls_identity),
];
