//! The workload (documents recorded and edited, photos attached, partitions, backups and
//! restores) and the run: random steps, then healing.

use super::*;

impl World {
    // ---- workload -------------------------------------------------------------------------

    fn random_text(&mut self, chars: usize) -> String {
        (0..chars).map(|_| char::from_u32(self.rng.random_range(0x4E00..0x9FA5)).unwrap_or('字')).collect()
    }

    fn new_doc_id(&mut self, node: usize) -> String {
        self.doc_counter[node] += 1;
        format!("{}/{}", self.nodes[node].id, self.doc_counter[node])
    }

    /// Records new blobs at `node` (photos taken, a notice's picture): random content, a few KiB
    /// to a few hundred, each `(role, min bytes, max bytes)`.
    fn new_blobs(&mut self, node: usize, roles: &[(&str, usize, usize)]) -> Vec<BlobRef> {
        let mut refs = Vec::new();
        for &(role, min, max) in roles {
            // Incompressible bytes from the seeded RNG, stretched by BLAKE3 (optimised even in a
            // debug build, unlike the RNG).
            let mut content = vec![0u8; self.rng.random_range(min..=max)];
            let seed: u64 = self.rng.random();
            blake3::Hasher::new().update(&seed.to_le_bytes()).finalize_xof().fill(&mut content);
            let bytes = content.len() as u64;
            let hash = self.nodes[node].record_blob(content);
            self.blob_origin.insert(hash, (node, self.edits.len()));
            self.report.blobs_created += 1;
            self.report.blob_bytes_created += bytes;
            refs.push(BlobRef { hash, role: role.to_string(), bytes });
        }
        refs
    }

    /// What a new document is recorded with: a case often has photos (thumbnail and display
    /// copy, sometimes the original), a notice sometimes a picture.
    fn attachments_for(&mut self, node: usize, doc_type: &str) -> Vec<BlobRef> {
        const THUMB: (&str, usize, usize) = ("thumb", 1024, 6 * 1024);
        const DISPLAY: (&str, usize, usize) = ("display", 8 * 1024, 48 * 1024);
        const ORIGINAL: (&str, usize, usize) = ("original", 48 * 1024, 256 * 1024);
        match doc_type {
            "case" if self.rng.random_bool(0.6) => {
                if self.rng.random_bool(0.35) {
                    self.new_blobs(node, &[THUMB, DISPLAY, ORIGINAL])
                } else {
                    self.new_blobs(node, &[THUMB, DISPLAY])
                }
            }
            "notice" if self.rng.random_bool(0.3) => self.new_blobs(node, &[DISPLAY]),
            _ => Vec::new(),
        }
    }

    /// A kiosk adds a photo to a case of its village it holds.
    fn attach_some(&mut self, node: usize) {
        let own = self.nodes[node].scope.clone();
        let candidates: Vec<String> = self.nodes[node]
            .doc_scopes()
            .into_iter()
            .filter(|(_, scope)| scope.starts_with(&own))
            .map(|(id, _)| id)
            .collect();
        let Some(doc_id) = candidates.choose(&mut self.rng).cloned() else { return };
        let refs = self.new_blobs(node, &[("thumb", 1024, 6 * 1024), ("display", 8 * 1024, 48 * 1024)]);
        let hash = self.nodes[node].edit(&doc_id, &Edit::Attach(refs));
        trace!(self, "{} attaches a photo to {doc_id}", self.nodes[node].id);
        self.report.edits += 1;
        self.edits.push((doc_id, node, hash));
        self.notify(node);
    }

    /// `kind`: a kiosk's "case" or a hub's "notice" (both stored as cases; they differ in
    /// what is attached).
    fn create(&mut self, node: usize, kind: &str, scope: String) {
        self.clock.store(self.now as i64, Ordering::Relaxed);
        let id = self.new_doc_id(node);
        let legit = scope.starts_with(&self.nodes[node].scope);
        let title = self.random_text(6);
        let attachments = self.attachments_for(node, kind);
        let hash = self.nodes[node].create(&id, &scope, &title, &attachments);
        trace!(
            self,
            "{} creates {id} ({kind}, scope {scope}{})",
            self.nodes[node].id,
            if legit { "" } else { ", OUT OF SCOPE" }
        );
        self.report.docs_created += 1;
        if !legit {
            self.report.out_of_scope_created += 1;
        }
        let created_at = self.edits.len();
        self.docs.insert(id.clone(), DocInfo { scope, creator: node, created_at, legit, captions: 0 });
        self.edits.push((id, node, hash));
        self.notify(node);
    }

    fn random_edit(&mut self, doc_id: &str) -> Edit {
        let r = self.rng.random_range(0..100);
        const KEYS: [&str; 5] = ["status", "expert", "diagnosis", "crop", "priority"];
        match r {
            0..40 => {
                let key = *KEYS.choose(&mut self.rng).unwrap();
                let n = self.rng.random_range(2..12);
                Edit::Put { key, value: self.random_text(n) }
            }
            40..65 => {
                let n = self.rng.random_range(4..40);
                Edit::AppendNote(self.random_text(n))
            }
            65..85 => Edit::CountView,
            85..97 => Edit::Delete { key: KEYS.choose(&mut self.rng).unwrap() },
            _ => {
                let info = self.docs.get_mut(doc_id);
                match info {
                    Some(i) if i.captions < CAPTIONS_PER_DOC_MAX => {
                        i.captions += 1;
                        let n = self.rng.random_range(200..1200);
                        Edit::Put { key: "caption", value: self.random_text(n) }
                    }
                    _ => Edit::CountView,
                }
            }
        }
    }

    fn edit_some(&mut self, node: usize, within: &str) {
        let candidates: Vec<String> = self.nodes[node]
            .doc_scopes()
            .into_iter()
            .filter(|(_, scope)| scope.starts_with(within))
            .map(|(id, _)| id)
            .collect();
        let Some(doc_id) = candidates.choose(&mut self.rng).cloned() else { return };
        let edit = self.random_edit(&doc_id);
        let hash = self.nodes[node].edit(&doc_id, &edit);
        trace!(self, "{} edits {doc_id}: {:?}", self.nodes[node].id, edit_summary(&edit));
        self.report.edits += 1;
        self.edits.push((doc_id, node, hash));
        self.notify(node);
    }

    fn workload_step(&mut self) {
        let tier = self.rng.random_range(0..100);
        if tier < 70 {
            let county = self.rng.random_range(0..COUNTIES.len());
            let k = self.rng.random_range(0..KIOSKS_PER_COUNTY);
            let node = county_hub(county) + 1 + k;
            let own = self.nodes[node].scope.clone();
            let r = self.rng.random_range(0..100);
            if r < 3 {
                // Outside its scope: another village, of this county or another.
                let c = *COUNTIES.choose(&mut self.rng).unwrap();
                let v = self.rng.random_range(0..VILLAGES_PER_COUNTY + 1);
                let mut scope = village_scope(c, v);
                if scope == own {
                    scope = village_scope(c, VILLAGES_PER_COUNTY + 2);
                }
                self.create(node, "case", scope);
            } else if r < 18 || self.nodes[node].doc_scopes().is_empty() {
                self.create(node, "case", own);
            } else if r < 21 {
                self.attach_some(node);
            } else if r < 32 {
                self.edit_some(node, ""); // may edit its own out-of-scope documents too
            } else {
                self.edit_some(node, &own);
            }
        } else if tier < 90 {
            let county = self.rng.random_range(0..COUNTIES.len());
            let node = county_hub(county);
            let own = self.nodes[node].scope.clone();
            if self.rng.random_bool(0.06) || self.nodes[node].doc_scopes().is_empty() {
                let scope = if self.rng.random_bool(0.5) {
                    own
                } else {
                    village_scope(&own, self.rng.random_range(0..VILLAGES_PER_COUNTY))
                };
                self.create(node, "notice", scope);
            } else {
                self.edit_some(node, &own);
            }
        } else if tier < 95 {
            // A city hub: notices for its region, one of its counties or a village there.
            let city = self.rng.random_range(0..CITIES.len());
            let node = city_hub(city);
            let own = self.nodes[node].scope.clone();
            if self.rng.random_bool(0.1) || self.nodes[node].doc_scopes().is_empty() {
                let counties: Vec<&str> = COUNTIES.iter().copied().filter(|c| c.starts_with(&own)).collect();
                let c = *counties.choose(&mut self.rng).unwrap();
                let scope = match self.rng.random_range(0..3) {
                    0 => own,
                    1 => c.to_string(),
                    _ => village_scope(c, self.rng.random_range(0..VILLAGES_PER_COUNTY)),
                };
                self.create(node, "notice", scope);
            } else {
                self.edit_some(node, &own);
            }
        } else if self.rng.random_bool(0.15) || self.nodes[0].doc_scopes().is_empty() {
            let c = *COUNTIES.choose(&mut self.rng).unwrap();
            let scope = match self.rng.random_range(0..3) {
                0 => "51".to_string(),
                1 => c.to_string(),
                _ => village_scope(c, self.rng.random_range(0..VILLAGES_PER_COUNTY)),
            };
            self.create(0, "notice", scope);
        } else {
            self.edit_some(0, "");
        }
    }

    fn partition(&mut self) {
        let kind = self.rng.random_range(0..4);
        let county = self.rng.random_range(0..COUNTIES.len());
        let hub = county_hub(county);
        let city = city_hub(self.rng.random_range(0..CITIES.len()));
        let links: Vec<usize> = match kind {
            // The county hub is cut off from everyone (power cut at the hub).
            0 => self.node_links[hub].iter().map(|(l, _)| *l).collect(),
            // The county's villages lose their uplinks (the county's mobile network is down).
            1 => self.node_links[hub].iter().filter(|(_, s)| *s == PARENT).map(|(l, _)| *l).collect(),
            // The province is unreachable.
            2 if self.rng.random_bool(0.5) => self.node_links[0].iter().map(|(l, _)| *l).collect(),
            // A city hub is cut off from its counties and the province.
            2 => self.node_links[city].iter().map(|(l, _)| *l).collect(),
            // A random third of all links.
            _ => (0..self.links.len()).filter(|_| self.rng.random_bool(0.33)).collect(),
        };
        let duration = self.rng.random_range(1_000..=30_000);
        trace!(self, "partition (kind {kind}) of {} links for {duration} ms", links.len());
        self.report.partitions += 1;
        for &l in &links {
            self.links[l].blocked += 1;
            self.disconnect(l, "partition");
        }
        let generation = self.partition_generation;
        self.schedule(self.now + duration, Ev::PartitionEnd { links, generation });
    }

    fn backup_or_restore(&mut self) {
        let with_backup: Vec<usize> = self.backups.keys().copied().collect();
        if with_backup.is_empty() || self.rng.random_bool(0.55) {
            let node = self.rng.random_range(0..self.nodes.len());
            trace!(self, "{} backs up its store (feed head {})", self.nodes[node].id, self.nodes[node].seq());
            let store = self.nodes[node].backup();
            self.backups.insert(node, Backup { store, edits_len: self.edits.len() });
            return;
        }
        let node = *with_backup.choose(&mut self.rng).unwrap();
        let Some(backup) = self.backups.remove(&node) else { return };
        self.report.restores += 1;
        self.generation[node] += 1;
        trace!(
            self,
            "{} RESTORED from a backup: feed head {} -> {}",
            self.nodes[node].id,
            self.nodes[node].seq(),
            backup.store.seq
        );
        self.stop(node, "store restored");
        let incarnation = self.rng.random_range(1..=u64::MAX);
        self.restore_incarnations.insert(incarnation);
        self.nodes[node].restore(&backup.store, self.generation[node], incarnation);
        for i in backup.edits_len..self.edits.len() {
            if self.edits[i].1 == node {
                self.maybe_lost.insert(i);
            }
        }
        // Its feed changed under the verified ranges, and its peers' claims about it may not
        // hold any more.
        let id = self.nodes[node].id.clone();
        self.verified.retain(|(n, p), _| *n != node && *p != id);
        self.notify_pending[node] = false;
    }

    fn random_step(&mut self) {
        if self.restore_mode && self.rng.random_bool(0.02) {
            self.backup_or_restore();
            return;
        }
        let r = self.rng.random_range(0..1000);
        match r {
            // Edits are where automerge spends its time (unoptimised in a debug build): a
            // moderate rate keeps hundreds of seeds cheap while documents are still edited
            // concurrently at several tiers.
            0..130 => self.workload_step(),
            350..400 => {
                // Mostly cut links with bytes in flight: that is where sessions can go wrong.
                let up: Vec<usize> = (0..self.links.len()).filter(|&l| self.links[l].is_up()).collect();
                let busy: Vec<usize> =
                    up.iter().copied().filter(|&l| self.links[l].pending != [0, 0]).collect();
                let pool = if !busy.is_empty() && self.rng.random_bool(0.8) { busy } else { up };
                if let Some(&l) = pool.choose(&mut self.rng) {
                    self.disconnect(l, "dropped");
                }
            }
            400..410 => {
                // A node restarts: every connection it had is gone; its store persists and is
                // opened again (a new incarnation).
                let node = self.rng.random_range(0..self.nodes.len());
                trace!(self, "{} restarts", self.nodes[node].id);
                self.report.restarts += 1;
                self.stop(node, "restart");
                let incarnation = self.rng.random_range(1..=u64::MAX);
                self.nodes[node].reopen(incarnation);
            }
            410..425 => self.partition(),
            _ => {
                let dt = self.rng.random_range(1..=250);
                self.advance(self.now + dt);
            }
        }
    }

    // ---- the run --------------------------------------------------------------------------

    pub fn run(mut self) -> Report {
        let steps = self.rng.random_range(300..=800);
        self.report.steps = steps;
        trace!(
            self,
            "seed {}: {steps} steps, {} nodes, {} links",
            self.seed,
            self.nodes.len(),
            self.links.len()
        );
        for l in 0..self.links.len() {
            if self.rng.random_bool(0.7) {
                self.connect(l);
            } else {
                self.schedule_reconnect(l);
            }
        }
        for _ in 0..steps {
            self.random_step();
        }
        self.heal();
        self.check_final();
        self.second_round();
        self.report.sim_ms = self.now;
        self.report
    }

    /// Every partition ends, every link comes up and stays up; run until no bytes move.
    pub(super) fn heal(&mut self) {
        trace!(self, "---- healing ----");
        let start = self.now;
        self.healing = true;
        self.partition_generation += 1;
        // Pending reconnects and partition ends are moot: every link comes up now.
        self.queue.retain(|_, e| matches!(e, Ev::Deliver { .. } | Ev::Notify { .. } | Ev::FetchWake { .. }));
        for l in 0..self.links.len() {
            self.links[l].blocked = 0;
            self.links[l].reconnecting = false;
            self.connect(l);
        }
        let mut events = 0u64;
        loop {
            // Only blob retries left, none of which can fetch anything (the blobs are held
            // nowhere its peer could send them from: lost with a restore): quiescent. A real
            // node keeps asking, at most every five minutes.
            if self.queue.values().all(|e| matches!(e, Ev::FetchWake { .. }))
                && !self.queue.values().any(|e| match e {
                    Ev::FetchWake { link, epoch, side } => {
                        *epoch == self.links[*link].epoch && self.retry_useful(*link, *side)
                    }
                    _ => false,
                })
            {
                self.queue.clear();
                for l in &mut self.links {
                    for b in &mut l.blob {
                        b.wake_at = None;
                    }
                }
            }
            let Some(((at, _), ev)) = self.queue.pop_first() else { break };
            self.now = self.now.max(at);
            events += 1;
            if events > HEAL_EVENTS_MAX {
                self.fail(format!("no convergence: still busy after {HEAL_EVENTS_MAX} events of healing"));
            }
            self.process(ev);
        }
        self.report.heal_ms = self.now - start;
        self.report.heal_events = events;
        trace!(self, "quiescent after {events} events, {} ms", self.now - start);
        if !self.zombies.is_empty() {
            self.fail(format!("{} half-open sessions left with nothing in flight", self.zombies.len()));
        }
    }
}
