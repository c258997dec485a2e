//! The world's links: session calls, frames in flight, connecting and dropping (the faults),
//! blob fetch rounds, and the event loop that delivers what is due.

use super::*;

impl World {
    // ---- sessions -------------------------------------------------------------------------

    /// Runs one session call, then sends what it produced, checks its events and the
    /// replica's claims, and tells the node's other sessions if its store changed.
    fn call(&mut self, target: Target, op: Op<'_>) {
        let (link_idx, side) = match target {
            Target::Live { link, side } | Target::Zombie { link, side, .. } => (link, side),
        };
        let n = self.links[link_idx].node(side);
        let seq_before = self.nodes[n].seq();
        let peer_id = self.nodes[self.links[link_idx].node(1 - side)].id.clone();
        let now = self.now;
        let (result, frames, events) = {
            let mut replica = self.nodes[n].replica(&peer_id, now);
            let node = &mut replica;
            let ep = match target {
                Target::Live { link, side } => match self.links[link].live.as_mut() {
                    Some(eps) => &mut eps[side],
                    None => return,
                },
                Target::Zombie { link, epoch, side } => match self.zombies.get_mut(&(link, epoch, side)) {
                    Some(z) => &mut z.ep,
                    None => return,
                },
            };
            let result = match op {
                Op::Start => ep.session.start(node),
                Op::Bytes(b) => ep.session.handle_bytes(b, node),
                Op::Changed => ep.session.local_changed(node),
            };
            let frames: Vec<Vec<u8>> = std::iter::from_fn(|| ep.session.poll_transmit()).collect();
            let events: Vec<Event> = std::iter::from_fn(|| ep.session.poll_event()).collect();
            (result, frames, events)
        };
        let who = format!(
            "{} (session with {}{})",
            self.nodes[n].id,
            self.nodes[self.links[link_idx].node(1 - side)].id,
            if matches!(target, Target::Zombie { .. }) { ", half-open" } else { "" }
        );
        if let Err(e) = result {
            self.fail(format!("{who}: session error: {e}"));
        }
        for event in events {
            self.check_event(target, n, link_idx, side, &who, event);
        }
        if let Target::Live { link, side } = target {
            self.transmit(link, side, Lane::Session, frames);
        } else if !frames.is_empty() {
            trace!(self, "{who}: {} frame(s) into a dead connection", frames.len());
        }
        self.check_replica(n);
        if self.nodes[n].seq() != seq_before {
            self.notify(n);
        }
        // Documents first: a side starts fetching blobs once its session reported Synced.
        if let Target::Live { link, side } = target
            && self.links[link].live.as_ref().is_some_and(|e| e[side].synced)
            && !self.links[link].blob[side].synced_once
        {
            self.links[link].blob[side].synced_once = true;
            self.fetch_round(link, side);
        }
    }

    fn endpoint(&mut self, target: Target) -> Option<&mut Endpoint> {
        match target {
            Target::Live { link, side } => self.links[link].live.as_mut().map(|e| &mut e[side]),
            Target::Zombie { link, epoch, side } => {
                self.zombies.get_mut(&(link, epoch, side)).map(|z| &mut z.ep)
            }
        }
    }

    fn check_event(&mut self, target: Target, n: usize, link: usize, side: usize, who: &str, event: Event) {
        let peer = self.links[link].node(1 - side);
        let set_synced = |w: &mut World, v: bool| {
            if let Some(ep) = w.endpoint(target) {
                ep.synced = v;
            }
        };
        match &event {
            Event::Connected(_) | Event::PeerHoldsBlobs(_) => {}
            Event::Synced => set_synced(self, true),
            // Only a store restored from a backup goes back, and only then does a peer hold a
            // checkpoint of it that names history it lost.
            Event::WentBack { peer_checkpoint, upto_seq } => {
                if self.generation[n] == 0 {
                    self.fail(format!("{who}: went back from {peer_checkpoint} to {upto_seq} unrestored"));
                }
                self.report.rewinds += 1;
                trace!(self, "{who}: the peer's checkpoint {peer_checkpoint} is void, back to {upto_seq}");
            }
            Event::PeerWentBack { checkpoint, upto_seq } => {
                set_synced(self, false);
                if self.generation[peer] == 0 {
                    self.fail(format!("{who}: peer went back from {checkpoint} to {upto_seq} unrestored"));
                }
            }
            Event::Received { docs, rejected } => {
                set_synced(self, false);
                for r in rejected {
                    let info = self.docs.get(&r.doc_id);
                    // Only a kiosk's own out-of-scope creation may be refused, by its parent. A
                    // restored store lacks history its peers think it has: "missing history"
                    // is then the designed recovery (the sender resends the whole document).
                    let expected = (r.reason == RejectReason::OutOfScope
                        && info.is_some_and(|i| !i.legit && i.creator == peer)
                        && side == PARENT)
                        || (r.reason == RejectReason::MissingDeps && self.generation[n] > 0);
                    if !expected {
                        self.fail(format!(
                            "{who}: refused {} from {}: {:?} {}",
                            r.doc_id, self.nodes[peer].id, r.reason, r.detail
                        ));
                    }
                    self.report.refused += 1;
                }
                trace!(
                    self,
                    "{who}: received {docs:?} refused {:?}",
                    rejected.iter().map(|r| (&r.doc_id, r.reason)).collect::<Vec<_>>()
                );
            }
            Event::Delivered { docs } => {
                set_synced(self, false);
                trace!(self, "{who}: delivered {docs:?}");
            }
            Event::RefusedByPeer(refused) => {
                set_synced(self, false);
                for r in refused {
                    let ok = r.reason == RejectReason::OutOfScope
                        && self.docs.get(&r.doc_id).is_some_and(|i| !i.legit && i.creator == n);
                    if !ok {
                        self.fail(format!("{who}: peer refused {}: {:?} {}", r.doc_id, r.reason, r.detail));
                    }
                }
                trace!(
                    self,
                    "{who}: refused by peer {:?}",
                    refused.iter().map(|r| &r.doc_id).collect::<Vec<_>>()
                );
            }
            Event::TooLarge { doc_id, bytes } => {
                self.fail(format!("{who}: {doc_id} too large ({bytes} bytes)"))
            }
            Event::PeerError { code, message } => self.fail(format!("{who}: peer error {code}: {message}")),
        }
        if matches!(event, Event::Synced | Event::Connected(_)) {
            trace!(self, "{who}: {event:?}");
        }
    }

    /// Schedules frames from `side` of `link` for delivery to the other side on `lane`.
    fn transmit(&mut self, link: usize, side: usize, lane: Lane, frames: Vec<Vec<u8>>) {
        let to = 1 - side;
        let li = lane.index();
        for frame in frames {
            let t = frame[0];
            *self.report.messages.entry(t).or_default() += 1;
            if lane == Lane::Session {
                self.report.session_messages += 1;
                self.report.bytes_sent += frame.len() as u64;
                self.links[link].round_msgs[side].push(t);
            } else {
                self.report.blob_wire_bytes += frame.len() as u64;
            }
            if lane != Lane::Session {
                if self.verbose {
                    let desc = match yizhan_sync_proto::blob::decode_frame(&frame, u32::MAX) {
                        Ok(Some((BlobMessage::Data(d), _))) => format!(
                            "blob data {} at {} +{}",
                            &yizhan_sync_proto::blob::to_hex(&d.hash)[..12],
                            d.offset,
                            d.len
                        ),
                        Ok(Some((m, _))) => format!("{m:?}"),
                        other => format!("{other:?}"),
                    };
                    let l = &self.links[link];
                    trace!(
                        self,
                        "{} -> {} ({lane:?}): {} bytes: {desc}",
                        self.nodes[l.node(side)].id,
                        self.nodes[l.node(to)].id,
                        frame.len()
                    );
                }
            } else if t == 0x02 {
                let mut dec = FrameDecoder::new(MESSAGE_BYTES_MAX);
                dec.push(&frame);
                if let Ok(Some(Message::Docs(d))) = dec.next_message() {
                    self.report.docs_sent += d.docs.len() as u64;
                    self.report.doc_data_bytes += d.docs.iter().map(|c| c.data.len() as u64).sum::<u64>();
                }
            }
            if self.verbose && lane == Lane::Session {
                let mut dec = FrameDecoder::new(MESSAGE_BYTES_MAX);
                dec.push(&frame);
                let desc = match dec.next_message() {
                    Ok(Some(Message::Docs(d))) => format!(
                        "docs batch {} upto {} head {} {:?}",
                        d.batch,
                        d.upto_seq,
                        d.feed_head,
                        d.docs.iter().map(|c| (c.doc_id.as_str(), c.data.len())).collect::<Vec<_>>()
                    ),
                    Ok(Some(m)) => format!("{m:?}"),
                    other => format!("{other:?}"),
                };
                let l = &self.links[link];
                trace!(
                    self,
                    "{} -> {}: {} bytes: {desc}",
                    self.nodes[l.node(side)].id,
                    self.nodes[l.node(to)].id,
                    frame.len()
                );
            }
            // A frame may leave in pieces at different times (it is still delivered in order).
            let pieces = if frame.len() > 8 && self.rng.random_bool(0.2) {
                let cut = self.rng.random_range(1..frame.len());
                vec![frame[..cut].to_vec(), frame[cut..].to_vec()]
            } else {
                vec![frame]
            };
            for piece in pieces {
                let l = &self.links[link];
                let (latency, jitter, bw) = (l.latency_ms, l.jitter_ms, l.bytes_per_ms);
                let at = (self.now + latency + self.rng.random_range(0..=jitter)).max(l.last_at[li][to])
                    + piece.len() as u64 / bw;
                let coalesce = l.last_key[li][to].filter(|k| k.0 == at && self.rng.random_bool(0.7));
                if let Some(key) = coalesce
                    && let Some(Ev::Deliver { bytes, lane: same, .. }) = self.queue.get_mut(&key)
                    && *same == lane
                {
                    bytes.extend_from_slice(&piece);
                    continue;
                }
                let epoch = self.links[link].epoch;
                let key = self.schedule(at, Ev::Deliver { link, epoch, to, lane, bytes: piece });
                let l = &mut self.links[link];
                l.last_at[li][to] = at;
                l.last_key[li][to] = Some(key);
                if lane == Lane::Session {
                    l.pending[to] += 1;
                } else {
                    l.blob_pending[to] += 1;
                }
            }
        }
    }

    pub(super) fn connect(&mut self, link: usize) {
        if self.links[link].is_up() {
            return;
        }
        let (c, p) = (self.links[link].child, self.links[link].parent);
        let child_session = Session::new(self.configs[c].clone(), self.nodes[p].id.clone());
        let parent_session = Session::new(self.configs[p].clone(), self.nodes[c].id.clone());
        let l = &mut self.links[link];
        l.epoch += 1;
        l.live = Some(Box::new([Endpoint::new(child_session), Endpoint::new(parent_session)]));
        l.last_at = [[self.now, self.now], [self.now, self.now]];
        l.last_key = [[None, None], [None, None]];
        l.pending = [0, 0];
        l.blob_pending = [0, 0];
        l.blob = Default::default();
        l.round_msgs = [Vec::new(), Vec::new()];
        self.report.sessions += 1;
        trace!(
            self,
            "link {} up: {} <-> {} (epoch {})",
            link,
            self.nodes[c].id,
            self.nodes[p].id,
            self.links[link].epoch
        );
        let first = if self.rng.random_bool(0.5) { CHILD } else { PARENT };
        for side in [first, 1 - first] {
            self.call(Target::Live { link, side }, Op::Start);
        }
    }

    pub(super) fn disconnect(&mut self, link: usize, why: &str) {
        self.disconnect_dead(link, why, None);
    }

    /// Drops the link; `dead` is a node whose process stopped (it keeps no half-open side).
    fn disconnect_dead(&mut self, link: usize, why: &str, dead: Option<usize>) {
        let Some(eps) = self.links[link].live.take() else { return };
        self.report.link_drops += 1;
        // Blob streams die with the connection; what their sinks verified stays.
        for f in [CHILD, PARENT] {
            self.end_stream(link, f);
        }
        let epoch = self.links[link].epoch;
        let pending = self.links[link].pending;
        let [child_ep, parent_ep] = *eps;
        for (side, ep) in [(CHILD, child_ep), (PARENT, parent_ep)] {
            // Half-open: this side has not noticed yet and still reads what was on its way.
            let alive = dead != Some(self.links[link].node(side));
            if alive && pending[side] > 0 && !self.healing && self.rng.random_bool(0.3) {
                self.report.zombies += 1;
                self.zombies.insert((link, epoch, side), Zombie { ep, pending: pending[side] });
            }
        }
        trace!(
            self,
            "link {} down ({why}): {} <-> {} (in flight: {:?})",
            link,
            self.nodes[self.links[link].child].id,
            self.nodes[self.links[link].parent].id,
            pending
        );
        self.schedule_reconnect(link);
    }

    /// The node's process stops: its connections drop (only its peers may keep a half-open
    /// side), and the changes it had not yet announced to its sessions die with it.
    pub(super) fn stop(&mut self, node: usize, why: &str) {
        let links: Vec<usize> = self.node_links[node].iter().map(|(l, _)| *l).collect();
        for l in links {
            self.disconnect_dead(l, why, Some(node));
        }
        let dead: Vec<(usize, u64, usize)> =
            self.zombies.keys().filter(|(l, _, s)| self.links[*l].node(*s) == node).copied().collect();
        for key in dead {
            self.zombies.remove(&key);
        }
    }

    pub(super) fn schedule_reconnect(&mut self, link: usize) {
        let l = &self.links[link];
        if self.healing || l.reconnecting || l.blocked > 0 || l.is_up() {
            return;
        }
        self.links[link].reconnecting = true;
        let at = self.now + self.rng.random_range(50..=4000);
        self.schedule(at, Ev::Reconnect { link });
    }

    // ---- blobs ----------------------------------------------------------------------------

    /// Side `f` of `link` looks for blobs it lacks that documents within what it accepts from
    /// the peer reference, and fetches them on a new stream (unless one is open or nothing is
    /// due; then it wakes when the next retry is).
    fn fetch_round(&mut self, link: usize, f: usize) {
        let l = &self.links[link];
        if !l.is_up() || !l.blob[f].synced_once || l.blob[f].stream.is_some() {
            return;
        }
        // Only from a peer that announced the blob protocol in its hello.
        let serves = l
            .live
            .as_ref()
            .and_then(|e| e[f].session.peer())
            .is_some_and(|p| p.capabilities.iter().any(|c| c == yizhan_sync_proto::blob::CAPABILITY));
        if !serves {
            return;
        }
        let (n, p) = (l.node(f), l.node(1 - f));
        let accept = self.nodes[n].policies[&self.nodes[p].id].accept_scope.clone();
        let now = self.now;
        let retry = &self.links[link].blob[f].retry;
        let list: VecDeque<BlobRef> = self.nodes[n]
            .missing_blobs(&accept)
            .into_iter()
            .filter(|r| !retry.blocked(&r.hash, now))
            .take(ROUND_BLOBS_MAX)
            .collect();
        if list.is_empty() {
            if let Some(due) = retry.next_due(now)
                && self.links[link].blob[f].wake_at.is_none_or(|w| w > due)
            {
                self.links[link].blob[f].wake_at = Some(due);
                let epoch = self.links[link].epoch;
                self.schedule(due, Ev::FetchWake { link, epoch, side: f });
            }
            return;
        }
        // The server cuts slices to fit the fetcher's message limit and about a second of the
        // link, as `net/src/blobs.rs` does under a send cap.
        let fetcher_max = self.configs[n].message_bytes_max.clamp(64 * 1024, MESSAGE_BYTES_MAX);
        let config = SenderConfig {
            slice_bytes: blobs::slice_bytes_for(
                fetcher_max,
                SLICE_BYTES_DEFAULT,
                self.links[link].bytes_per_ms * 1000,
            ),
            in_flight_bytes_max: self.blob_in_flight[p],
            ..SenderConfig::default()
        };
        let bl = &mut self.links[link].blob[f];
        bl.next_stream += 1;
        let id = bl.next_stream;
        trace!(
            self,
            "{} fetches {} blob(s) from {} (stream {id})",
            self.nodes[n].id,
            list.len(),
            self.nodes[p].id
        );
        self.links[link].blob[f].stream = Some(Stream::new(id, list, config, fetcher_max));
        self.more_wants(link, f);
    }

    /// Keeps `WANTS_MAX` wants outstanding on side `f`'s stream; ends the stream (and starts the
    /// next round) when everything was answered.
    fn more_wants(&mut self, link: usize, f: usize) {
        let n = self.links[link].node(f);
        let now = self.now;
        let Some(mut stream) = self.links[link].blob[f].stream.take() else { return };
        let mut frames = Vec::new();
        while stream.outstanding.len() < WANTS_MAX
            && let Some(info) = stream.queue.pop_front()
        {
            if self.nodes[n].side.blobs.contains_key(&info.hash) {
                continue; // received meanwhile on another connection
            }
            if !self.partials_in_use.insert((n, info.hash)) {
                // Another transfer holds the partial blob: try again soon.
                self.links[link].blob[f].retry.defer(&info.hash, 1000, now);
                continue;
            }
            let verified = self.nodes[n].side.partials.get(&info.hash).map_or(0, |p| p.len() as u64);
            if verified > 0 {
                self.report.blob_resumes += 1;
            }
            let msg = blobs::want(&mut stream, info, verified);
            frames.push(msg.encode(CONTROL_FRAME_BYTES_MAX).unwrap());
        }
        let id = stream.id;
        let done = stream.outstanding.is_empty() && stream.queue.is_empty();
        if !done {
            self.links[link].blob[f].stream = Some(stream);
        }
        self.transmit(link, f, Lane::Blob { fetcher: f, stream: id }, frames);
        if done {
            self.fetch_round(link, f);
        }
    }

    /// The stream of fetching side `f` ends (its connection dropped): the partial blobs it was
    /// writing are free again.
    fn end_stream(&mut self, link: usize, f: usize) {
        let n = self.links[link].node(f);
        if let Some(stream) = self.links[link].blob[f].stream.take() {
            for w in &stream.outstanding {
                self.partials_in_use.remove(&(n, *w.receiver.hash()));
            }
        }
    }

    /// Bytes of blob stream `id` (fetched by side `fetcher`) arrive at side `to`.
    fn blob_bytes(&mut self, link: usize, to: usize, fetcher: usize, id: u64, bytes: &[u8]) {
        let Some(mut stream) = self.links[link].blob[fetcher].stream.take() else {
            self.report.bytes_lost += bytes.len() as u64;
            return;
        };
        if stream.id != id {
            self.links[link].blob[fetcher].stream = Some(stream);
            self.report.bytes_lost += bytes.len() as u64;
            return;
        }
        let lane = Lane::Blob { fetcher, stream: id };
        let node = self.links[link].node(to);
        let who = format!(
            "{} (blob stream {id} with {})",
            self.nodes[node].id,
            self.nodes[self.links[link].node(1 - to)].id
        );
        let mut frames = Vec::new();
        if to == fetcher {
            stream.at_fetcher.extend_from_slice(bytes);
            let msgs = blobs::take_frames(&mut stream.at_fetcher, MESSAGE_BYTES_MAX)
                .unwrap_or_else(|e| self.fail(format!("{who}: {e}")));
            let mut completed = Vec::new();
            for msg in msgs {
                let hash = *msg.hash();
                let partial = self.nodes[node].side.partials.entry(hash).or_default();
                match blobs::fetched(&mut stream, &msg, partial) {
                    Ok(Fetched::Ack(ack)) => frames.push(ack.encode(CONTROL_FRAME_BYTES_MAX).unwrap()),
                    Ok(Fetched::Complete(ack, info)) => {
                        frames.push(ack.encode(CONTROL_FRAME_BYTES_MAX).unwrap());
                        completed.push(info);
                    }
                    Ok(Fetched::Missing(hash)) => {
                        self.report.blob_missing += 1;
                        self.partials_in_use.remove(&(node, hash));
                        self.links[link].blob[fetcher].retry.fail(&hash, self.now);
                    }
                    Err(e) => self.fail(format!("{who}: {e}")),
                }
            }
            for info in completed {
                self.partials_in_use.remove(&(node, info.hash));
                let content = self.nodes[node].side.partials.remove(&info.hash).unwrap_or_default();
                if let Err(e) = self.nodes[node].finish_blob(&info, content) {
                    self.fail(format!("{who}: {e}"));
                }
                self.links[link].blob[fetcher].retry.clear(&info.hash);
                self.report.blobs_received += 1;
                self.report.blob_received_bytes += info.bytes;
                trace!(
                    self,
                    "{who}: received blob {} ({} {} bytes)",
                    &yizhan_sync_proto::blob::to_hex(&info.hash)[..12],
                    info.role,
                    info.bytes
                );
            }
            self.links[link].blob[fetcher].stream = Some(stream);
            self.transmit(link, to, lane, frames);
            self.more_wants(link, fetcher);
        } else {
            stream.at_server.extend_from_slice(bytes);
            let msgs = blobs::take_frames(&mut stream.at_server, CONTROL_FRAME_BYTES_MAX)
                .unwrap_or_else(|e| self.fail(format!("{who}: {e}")));
            for msg in msgs {
                match stream.server.handle_message(msg) {
                    Ok(true) => {}
                    Ok(false) => self.fail(format!("{who}: the fetcher sent data")),
                    Err(e) => self.fail(format!("{who}: {e}")),
                }
            }
            let peer_id = self.nodes[self.links[link].node(fetcher)].id.clone();
            let send_scope = self.nodes[node].policies[&peer_id].send_scope.clone();
            let server_node = &self.nodes[node];
            let allowed = |h: &BlobHash| server_node.blob_allowed(h, &send_scope);
            let mut provider = Provider { blobs: &server_node.side.blobs, allowed: &allowed };
            loop {
                match stream.server.poll_transmit(&mut provider) {
                    Ok(Some(msg)) => {
                        if let BlobMessage::Data(d) = &msg {
                            self.report.blob_content_sent += u64::from(d.len);
                        }
                        match msg.encode(stream.fetcher_max) {
                            Ok(frame) => frames.push(frame),
                            Err(e) => self.fail(format!("{who}: {e}")),
                        }
                    }
                    Ok(None) => break,
                    Err(e) => self.fail(format!("{who}: cannot serve: {e}")),
                }
            }
            self.links[link].blob[fetcher].stream = Some(stream);
            self.transmit(link, to, lane, frames);
        }
    }

    /// Whether a pending retry could fetch anything: the peer holds, and may send, a blob the
    /// fetching side still lacks.
    pub(super) fn retry_useful(&self, link: usize, f: usize) -> bool {
        let l = &self.links[link];
        if !l.is_up() {
            return false;
        }
        let (n, p) = (l.node(f), l.node(1 - f));
        let accept = &self.nodes[n].policies[&self.nodes[p].id].accept_scope;
        let send = &self.nodes[p].policies[&self.nodes[n].id].send_scope;
        self.nodes[n].missing_blobs(accept).iter().any(|r| {
            self.nodes[p].side.blobs.contains_key(&r.hash) && self.nodes[p].blob_allowed(&r.hash, send)
        })
    }

    // ---- events ---------------------------------------------------------------------------

    pub(super) fn process(&mut self, ev: Ev) {
        self.clock.store(self.now as i64, Ordering::Relaxed);
        match ev {
            Ev::Deliver { link, epoch, to, lane: Lane::Blob { fetcher, stream }, bytes } => {
                let l = &mut self.links[link];
                if l.epoch == epoch && l.is_up() {
                    l.blob_pending[to] -= 1;
                    self.blob_bytes(link, to, fetcher, stream, &bytes);
                } else {
                    self.report.bytes_lost += bytes.len() as u64;
                }
            }
            Ev::FetchWake { link, epoch, side } => {
                if self.links[link].epoch == epoch && self.links[link].is_up() {
                    self.links[link].blob[side].wake_at = None;
                    self.fetch_round(link, side);
                }
            }
            Ev::Deliver { link, epoch, to, lane: Lane::Session, bytes } => {
                let l = &mut self.links[link];
                let target = if l.epoch == epoch && l.is_up() {
                    l.pending[to] -= 1;
                    Target::Live { link, side: to }
                } else if let Some(z) = self.zombies.get_mut(&(link, epoch, to)) {
                    z.pending -= 1;
                    Target::Zombie { link, epoch, side: to }
                } else {
                    self.report.bytes_lost += bytes.len() as u64;
                    return;
                };
                for range in fragments(&bytes, &mut self.rng) {
                    self.call(target, Op::Bytes(&bytes[range]));
                }
                if let Target::Zombie { link, epoch, side } = target
                    && self.zombies.get(&(link, epoch, side)).is_some_and(|z| z.pending == 0)
                {
                    self.zombies.remove(&(link, epoch, side));
                }
            }
            Ev::Notify { node } => {
                self.notify_pending[node] = false;
                let mut targets: Vec<Target> = self.node_links[node]
                    .iter()
                    .filter(|(l, _)| self.links[*l].is_up())
                    .map(|&(link, side)| Target::Live { link, side })
                    .collect();
                targets.extend(
                    self.zombies
                        .keys()
                        .filter(|(l, _, s)| self.links[*l].node(*s) == node)
                        .map(|&(link, epoch, side)| Target::Zombie { link, epoch, side }),
                );
                for t in targets {
                    self.call(t, Op::Changed);
                }
                // New documents may reference blobs: another fetch round.
                let live: Vec<(usize, usize)> =
                    self.node_links[node].iter().copied().filter(|(l, _)| self.links[*l].is_up()).collect();
                for (link, side) in live {
                    self.fetch_round(link, side);
                }
            }
            Ev::Reconnect { link } => {
                self.links[link].reconnecting = false;
                if self.links[link].blocked == 0 {
                    self.connect(link);
                }
            }
            Ev::PartitionEnd { links, generation } => {
                if generation != self.partition_generation {
                    return; // healing cleared every partition already
                }
                for l in links {
                    self.links[l].blocked -= 1;
                    self.schedule_reconnect(l);
                }
            }
        }
    }

    /// Processes everything due up to `until`, then sets the clock there.
    pub(super) fn advance(&mut self, until: u64) {
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > until {
                break;
            }
            let ((at, _), ev) = entry.remove_entry();
            self.now = self.now.max(at);
            self.process(ev);
        }
        self.now = self.now.max(until);
    }
}
