//! The invariants: replicas' claims during the run, and what must hold once the world healed.

use super::*;

impl World {
    // ---- invariants -----------------------------------------------------------------------

    /// Whether node `p`'s history during its incarnation `incarnation` is all still in its
    /// store: the incarnation is in its list and was not cut short by a restore. What a peer
    /// recorded of `p` under such an incarnation must be true.
    fn intact(&self, p: usize, incarnation: u64) -> bool {
        let list = self.nodes[p].incarnations();
        list.iter()
            .position(|i| i.0 == incarnation)
            .is_some_and(|k| list.get(k + 1).is_none_or(|next| !self.restore_incarnations.contains(&next.0)))
    }

    /// After every session call: what the replica claims of its peers is true.
    pub(super) fn check_replica(&mut self, n: usize) {
        let claims = std::mem::take(&mut self.nodes[n].claims);
        for (peer_id, incarnation, seq) in claims {
            let p = self.index[&peer_id];
            if !self.intact(p, incarnation) {
                // Recorded by a session with an incarnation of the peer whose end a restore
                // cut off: not a claim about the peer's store as it is now.
                continue;
            }
            if seq > self.nodes[n].seq() {
                self.fail(format!(
                    "{}: claims {} holds its feed up to {seq}, past its head {}",
                    self.nodes[n].id,
                    peer_id,
                    self.nodes[n].seq()
                ));
            }
            let key = (n, peer_id.clone());
            let from = self.verified.get(&key).copied().unwrap_or(0);
            if seq <= from {
                continue;
            }
            // Entries up to `from` were verified before and have not changed since (a change
            // moves an entry past the head). The peer only ever gains.
            let send_scope = self.nodes[n].policies[&peer_id].send_scope.clone();
            let scopes = self.nodes[n].doc_scopes();
            for (_, doc_id) in self.nodes[n].feed_range(from, seq) {
                let info = self.docs.get(&doc_id);
                if info.is_some_and(|i| !i.legit) || !scopes[&doc_id].starts_with(&send_scope) {
                    continue;
                }
                let heads = self.nodes[n].heads(&doc_id).unwrap_or_default();
                if !self.nodes[p].holds(&doc_id, &heads) {
                    self.fail(format!(
                        "{} believes {} holds its feed up to {seq}, but {} lacks {doc_id} at its heads",
                        self.nodes[n].id, peer_id, peer_id
                    ));
                }
            }
            self.verified.insert(key, seq);
        }
        // A document stored from a peer lies within this node's scope.
        let applied = std::mem::take(&mut self.nodes[n].applied);
        let scopes = if applied.is_empty() { BTreeMap::new() } else { self.nodes[n].doc_scopes() };
        for doc_id in applied {
            let scope = &scopes[&doc_id];
            if !scope.starts_with(&self.nodes[n].scope) || self.docs.get(&doc_id).is_none_or(|i| !i.legit) {
                self.fail(format!("{} stored {doc_id} of scope {scope}", self.nodes[n].id));
            }
        }
        // A checkpoint of an intact incarnation never passes the peer's feed head.
        for (peer_id, cp) in &self.nodes[n].recv() {
            let p = self.index[peer_id];
            if cp.seq > self.nodes[p].seq() && self.intact(p, cp.incarnation) {
                self.fail(format!(
                    "{} holds checkpoint {cp:?} of {peer_id}, whose head is {}",
                    self.nodes[n].id,
                    self.nodes[p].seq()
                ));
            }
        }
    }

    pub(super) fn check_final(&mut self) {
        // A document created after a backup its creator was restored from, that had not left
        // it, is legitimately gone.
        let vanished: BTreeSet<String> = self
            .docs
            .iter()
            .filter(|(id, i)| {
                self.maybe_lost.contains(&i.created_at) && !self.nodes.iter().any(|n| n.has_doc(id))
            })
            .map(|(id, _)| id.clone())
            .collect();
        // Every node holds exactly the documents of its scope (and its own out-of-scope ones).
        for n in 0..self.nodes.len() {
            let scope = self.nodes[n].scope.clone();
            let expected: BTreeSet<&String> = self
                .docs
                .iter()
                .filter(|(id, _)| !vanished.contains(*id))
                .filter(|(_, i)| if i.legit { i.scope.starts_with(&scope) } else { i.creator == n })
                .map(|(id, _)| id)
                .collect();
            let held_docs = self.nodes[n].doc_scopes();
            let held: BTreeSet<&String> = held_docs.keys().collect();
            if expected != held {
                let missing: Vec<_> = expected.difference(&held).collect();
                let extra: Vec<_> = held.difference(&expected).collect();
                self.fail(format!(
                    "{} (scope {scope}) lacks {missing:?} and holds extra {extra:?}",
                    self.nodes[n].id
                ));
            }
            self.report.docs_held[tier(&scope)] += held.len();
        }
        // Identical everywhere: same heads, same content.
        let doc_ids: Vec<String> = self.docs.keys().filter(|id| !vanished.contains(*id)).cloned().collect();
        for doc_id in &doc_ids {
            let holders: Vec<usize> =
                (0..self.nodes.len()).filter(|&n| self.nodes[n].has_doc(doc_id)).collect();
            let first = holders[0];
            let heads = self.nodes[first].heads(doc_id).unwrap_or_default();
            let value = self.nodes[first].hydrate(doc_id);
            for &h in &holders[1..] {
                let other_heads = self.nodes[h].heads(doc_id).unwrap_or_default();
                if other_heads != heads {
                    self.fail(format!(
                        "{doc_id}: {} and {} hold different heads",
                        self.nodes[first].id, self.nodes[h].id
                    ));
                }
                let other = self.nodes[h].hydrate(doc_id);
                if other != value {
                    self.fail(format!(
                        "{doc_id}: {} and {} hold different content",
                        self.nodes[first].id, self.nodes[h].id
                    ));
                }
            }
        }
        self.check_blobs();
        let mut fp = Fnv::default();
        for node in &mut self.nodes {
            fp.write(node.id.as_bytes());
            fp.write(&node.seq().to_le_bytes());
            let ids: Vec<String> = node.doc_scopes().into_keys().collect();
            for id in ids {
                fp.write(id.as_bytes());
                for h in node.heads(&id).unwrap_or_default() {
                    fp.write(&h.0);
                }
            }
            for hash in node.side.blobs.keys() {
                fp.write(hash);
            }
        }
        self.report.fingerprint = fp.0;
        self.report.received_new = self.nodes.iter().map(|n| n.received_new).sum();
        self.report.received_nothing_new = self.nodes.iter().map(|n| n.received_nothing_new).sum();
        // No edit was lost.
        for (i, (doc_id, node, hash)) in std::mem::take(&mut self.edits).into_iter().enumerate() {
            if self.maybe_lost.contains(&i) {
                continue;
            }
            let holder = if self.docs[&doc_id].legit { 0 } else { node };
            if !self.nodes[holder].holds(&doc_id, &[hash]) {
                self.fail(format!("an edit of {doc_id} made at {} is lost", self.nodes[node].id));
            }
        }
        for l in 0..self.links.len() {
            let (c, p) = (self.links[l].child, self.links[l].parent);
            // Every session ended reporting Synced.
            let synced = self.links[l].live.as_ref().map(|e| [e[0].synced, e[1].synced]);
            if synced != Some([true, true]) {
                self.fail(format!(
                    "session {} <-> {} not synced at the end: {synced:?}",
                    self.nodes[c].id, self.nodes[p].id
                ));
            }
            // Each side has applied the other's whole feed, as it is now.
            for (a, b) in [(c, p), (p, c)] {
                let cp = self.nodes[a].recv().get(&self.nodes[b].id).copied().unwrap_or_default();
                // Recorded while the peer's head lay within that incarnation as it has it now.
                let end = self.nodes[b].incarnation_end(cp.incarnation);
                let stands = cp.seq == 0 || end.is_some_and(|e| cp.seq <= cp.head && cp.head <= e);
                if cp.seq != self.nodes[b].seq() || !stands {
                    self.fail(format!(
                        "{} holds checkpoint {cp:?} of {}, whose head is {} (its incarnation ends at {end:?})",
                        self.nodes[a].id, self.nodes[b].id, self.nodes[b].seq()
                    ));
                }
            }
        }
        // What each node records its peers hold is true, unless recorded under an incarnation
        // of the peer that a restore cut off (then it is no proof, only where changes start).
        for n in 0..self.nodes.len() {
            let shared = self.nodes[n].shared();
            for ((peer, doc_id), (heads, incarnation)) in shared {
                let p = self.index[&peer];
                if self.intact(p, incarnation) && !self.nodes[p].holds(&doc_id, &heads) {
                    self.fail(format!(
                        "{} records {peer} holds {doc_id} at heads {peer} lacks",
                        self.nodes[n].id
                    ));
                }
            }
        }
        // What a node would show as "not yet synced" to its parent is the truth: exactly its
        // own out-of-scope documents, which the parent refused (store's UNSYNCED_SINCE and
        // REFUSED_BY_PARENT).
        for l in 0..self.links.len() {
            let (c, p) = (self.links[l].child, self.links[l].parent);
            let parent_id = self.nodes[p].id.clone();
            let sent = self.nodes[c].sent_seq(&parent_id);
            let mut shown: BTreeSet<String> = BTreeSet::new();
            for doc_id in self.nodes[c].doc_scopes().into_keys() {
                let pending = self.nodes[c].feed_seq(&doc_id).unwrap_or(0) > sent;
                let refused = self.nodes[c].refused_by(&parent_id, &doc_id);
                if pending || refused {
                    shown.insert(doc_id.clone());
                }
            }
            // (An out-of-scope document lost with a restore is nowhere, and shown nowhere.)
            let truth: BTreeSet<String> = self
                .docs
                .iter()
                .filter(|(id, i)| !i.legit && i.creator == c && self.nodes[c].has_doc(id))
                .map(|(id, _)| id.clone())
                .collect();
            let wrongly_synced: Vec<_> = truth.difference(&shown).cloned().collect();
            let wrongly_pending: Vec<_> = shown.difference(&truth).cloned().collect();
            if !wrongly_synced.is_empty() {
                let msg = format!(
                    "{}: {wrongly_synced:?} refused by {parent_id} but shown as synced (the refusal was never \
                     recorded)",
                    self.nodes[c].id
                );
                self.soft(Soft::RefusalLost, msg);
            }
            if !wrongly_pending.is_empty() {
                let msg = format!(
                    "{}: {wrongly_pending:?} held by {parent_id} but shown as not yet synced (sent_seq {sent}, \
                     feed head {}, session synced)",
                    self.nodes[c].id,
                    self.nodes[c].seq()
                );
                self.soft(Soft::SentSeqLags, msg);
            }
        }
    }

    /// Every blob a document held at a node references is there, complete and verified against
    /// its hash (the whole content hashed again, and the outboard it serves from rebuilt), unless
    /// it is an original and the node does not fetch originals, or it is held nowhere because a
    /// restore took it from the node that recorded it before it left; and no node holds a blob
    /// that none of its documents references.
    fn check_blobs(&mut self) {
        let held_anywhere: BTreeSet<BlobHash> =
            self.nodes.iter().flat_map(|n| n.side.blobs.keys().copied()).collect();
        for n in 0..self.nodes.len() {
            let node = &self.nodes[n];
            let held_docs = node.doc_scopes();
            let mut referenced: BTreeMap<BlobHash, BlobRef> = BTreeMap::new();
            for (doc_id, refs) in &node.side.doc_blobs {
                if held_docs.contains_key(doc_id) {
                    for r in refs {
                        referenced.entry(r.hash).or_insert_with(|| r.clone());
                    }
                }
            }
            for (hash, r) in &referenced {
                let (creator, attached_at) = self.blob_origin[hash];
                if r.role == "original" && !node.fetch_originals && creator != n {
                    continue;
                }
                let hex = yizhan_sync_proto::blob::to_hex(hash);
                let Some(blob) = node.side.blobs.get(hash) else {
                    if !held_anywhere.contains(hash) && self.maybe_lost.contains(&attached_at) {
                        continue; // recorded after a backup its node was restored from, never sent
                    }
                    let holders: Vec<&str> = self
                        .nodes
                        .iter()
                        .filter(|o| o.side.blobs.contains_key(hash))
                        .map(|o| o.id.as_str())
                        .collect();
                    self.fail(format!(
                        "{} lacks blob {hex} ({} of {} bytes; {} verified in its partial blob), held by {holders:?}",
                        node.id,
                        r.role,
                        r.bytes,
                        node.side.partials.get(hash).map_or(0, Vec::len)
                    ));
                };
                let (again, outboard) = yizhan_sync_proto::blob::outboard(&blob.content);
                if again != *hash
                    || *blake3::hash(&blob.content).as_bytes() != *hash
                    || blob.content.len() as u64 != r.bytes
                    || outboard != *blob.outboard
                {
                    self.fail(format!("{} holds blob {hex} with content that does not verify", node.id));
                }
            }
            if let Some(extra) = node.side.blobs.keys().find(|h| !referenced.contains_key(*h)) {
                self.fail(format!(
                    "{} holds blob {} that none of its documents references",
                    node.id,
                    yizhan_sync_proto::blob::to_hex(extra)
                ));
            }
            self.report.blobs_held[tier(&node.scope)] += node.side.blobs.len();
        }
    }

    /// A second full round of sessions after healing: two hellos per link and nothing else.
    pub(super) fn second_round(&mut self) {
        trace!(self, "---- second round ----");
        let heads: Vec<u64> = self.nodes.iter().map(|n| n.seq()).collect();
        let (msgs0, bytes0, all0) =
            (self.report.session_messages, self.report.bytes_sent, self.report.messages_total());
        for l in 0..self.links.len() {
            self.disconnect(l, "second round");
        }
        self.report.link_drops -= self.links.len() as u32;
        for l in 0..self.links.len() {
            self.connect(l);
        }
        self.heal();
        for l in 0..self.links.len() {
            let link = &self.links[l];
            let ok = link.round_msgs.iter().all(|m| m.as_slice() == [0x01]);
            let synced = link.live.as_ref().is_some_and(|e| e[0].synced && e[1].synced);
            if !ok || !synced {
                self.fail(format!(
                    "second round {} <-> {}: messages {:?}, synced {synced}",
                    self.nodes[link.child].id, self.nodes[link.parent].id, link.round_msgs
                ));
            }
        }
        if self.nodes.iter().map(|n| n.seq()).collect::<Vec<_>>() != heads {
            self.fail("the second round changed a store");
        }
        self.report.round2_messages = self.report.session_messages - msgs0;
        self.report.round2_bytes = self.report.bytes_sent - bytes0;
        self.report.round2_blob_messages = self.report.messages_total() - all0 - self.report.round2_messages;
    }
}
