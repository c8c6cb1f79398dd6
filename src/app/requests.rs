//! The translation-thread jobs (translations, judgements, checkpoint scoring) the app has asked
//! the worker for and not heard back about, keyed by request
//! id: every answer (result, progress, failure) is routed through this one registry to the view
//! that asked, and an answer nobody waits for any more is dropped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Who asked for a translation, with what the answer needs to land in the right place.
#[derive(Clone, Debug, PartialEq)]
pub enum Requester {
    /// The Sketch tab's drawing, sent at this instant (for the round-trip latency).
    Sketch {
        /// When the request was sent.
        sent: Instant,
    },
    /// The Translate tab's loaded images; the outputs land only on these same images.
    TranslateTab {
        /// The paths of the images sent, in order.
        inputs: Vec<PathBuf>,
    },
    /// A folder translated straight to disk.
    FolderJob {
        /// Files done so far.
        done: usize,
        /// Files in all (0 until the worker has listed them).
        total: usize,
    },
    /// One cell of the Translate tab's inference-modes grid.
    ModeCell {
        /// The image translated.
        path: PathBuf,
        /// Its place in the grid.
        cell: usize,
    },
    /// The Translate tab's outputs judged by the discriminator; the maps land only on these.
    Judge {
        /// The paths of the judged images, in order.
        inputs: Vec<PathBuf>,
    },
    /// The Checkpoints tab's scoring of a run (answered by several events; ended by the last).
    Gallery,
}

/// The pending requests, and the ids for new ones.
#[derive(Debug)]
pub struct PendingRequests {
    next_id: u64,
    pending: BTreeMap<u64, Requester>,
    /// The latest tile progress of a large image: (request, tiles done, tiles in all).
    tiles: Option<(u64, usize, usize)>,
}

impl Default for PendingRequests {
    fn default() -> Self {
        Self {
            next_id: 1,
            pending: BTreeMap::new(),
            tiles: None,
        }
    }
}

impl PendingRequests {
    /// An id no request of this app has used.
    pub fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Records request `id`, which reached the worker.
    pub fn sent(&mut self, id: u64, requester: Requester) {
        self.pending.insert(id, requester);
    }

    /// The requester of `id`, which the answer ends; `None` when nobody waits for it.
    pub fn answered(&mut self, id: u64) -> Option<Requester> {
        self.pending.remove(&id)
    }

    /// Progress through the tiles of a large image of request `id`.
    pub fn tile_progress(&mut self, id: u64, done: usize, total: usize) {
        if self.pending.contains_key(&id) {
            self.tiles = Some((id, done, total));
        }
    }

    /// Tiles done and in all of the large image being translated, while its request is
    /// pending.
    pub fn tiles(&self) -> Option<(usize, usize)> {
        self.tiles
            .filter(|(id, _, _)| self.pending.contains_key(id))
            .map(|(_, done, total)| (done, total))
    }

    /// Progress of a folder job.
    pub fn progress(&mut self, id: u64, done_now: usize, total_now: usize) {
        if let Some(Requester::FolderJob { done, total }) = self.pending.get_mut(&id) {
            (*done, *total) = (done_now, total_now);
        }
    }

    /// Forgets the Translate tab's requests about its loaded images (new images supersede them).
    pub fn supersede_translate_tab(&mut self) {
        self.supersede(|requester| {
            matches!(
                requester,
                Requester::TranslateTab { .. }
                    | Requester::Judge { .. }
                    | Requester::ModeCell { .. }
            )
        });
    }

    /// Whether request `id` is still waited for (a job answered in several events).
    pub fn is_waiting(&self, id: u64) -> bool {
        self.pending.contains_key(&id)
    }

    /// Forgets the requests `superseded` picks (a newer one of theirs was sent).
    pub fn supersede(&mut self, superseded: impl Fn(&Requester) -> bool) {
        self.pending.retain(|_, requester| !superseded(requester));
    }

    /// Forgets every request (the worker that had them is gone).
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Whether the sketch is being translated.
    pub fn sketch_in_flight(&self) -> bool {
        self.any(|requester| matches!(requester, Requester::Sketch { .. }))
    }

    /// Whether the Translate tab's loaded images are being translated.
    pub fn translating_loaded_images(&self) -> bool {
        self.any(|requester| matches!(requester, Requester::TranslateTab { .. }))
    }

    /// Whether the Translate tab's outputs are being judged.
    pub fn judging(&self) -> bool {
        self.any(|requester| matches!(requester, Requester::Judge { .. }))
    }

    /// Whether cells of the inference-modes grid are on their way.
    pub fn comparing_modes(&self) -> bool {
        self.any(|requester| matches!(requester, Requester::ModeCell { .. }))
    }

    /// Whether a run's checkpoints are being scored.
    pub fn scoring_gallery(&self) -> bool {
        self.any(|requester| matches!(requester, Requester::Gallery))
    }

    /// Done and total files of the folder job in flight, if there is one.
    pub fn folder_job(&self) -> Option<(usize, usize)> {
        self.pending.values().find_map(|requester| match requester {
            Requester::FolderJob { done, total } => Some((*done, *total)),
            _ => None,
        })
    }

    fn any(&self, test: impl Fn(&Requester) -> bool) -> bool {
        self.pending.values().any(test)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_goes_to_its_requester_once() {
        let mut requests = PendingRequests::default();
        let (sketch, folder) = (requests.new_id(), requests.new_id());
        assert_ne!(sketch, folder);
        requests.sent(
            sketch,
            Requester::Sketch {
                sent: Instant::now(),
            },
        );
        requests.sent(folder, Requester::FolderJob { done: 0, total: 0 });
        requests.progress(folder, 2, 5);
        assert_eq!(requests.folder_job(), Some((2, 5)));
        assert!(requests.sketch_in_flight());
        assert!(matches!(
            requests.answered(sketch),
            Some(Requester::Sketch { .. })
        ));
        assert_eq!(requests.answered(sketch), None);
        assert!(!requests.sketch_in_flight());
        assert_eq!(requests.folder_job(), Some((2, 5)));
    }

    #[test]
    fn new_images_supersede_only_the_translate_tab_request() {
        let mut requests = PendingRequests::default();
        let (tab, folder) = (requests.new_id(), requests.new_id());
        requests.sent(tab, Requester::TranslateTab { inputs: vec![] });
        requests.sent(folder, Requester::FolderJob { done: 0, total: 3 });
        requests.supersede_translate_tab();
        assert!(!requests.translating_loaded_images());
        assert_eq!(requests.answered(tab), None);
        assert!(requests.answered(folder).is_some());
    }
}
