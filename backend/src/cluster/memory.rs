//! The in-process [`Backend`]: what one replica alone coordinates with, and what unit tests
//! hand to several simulated replicas at once (under paused time: every expiry is judged with
//! `tokio::time::Instant`). It behaves as the Redis backend does — expiries, holders, terms,
//! windows, stream ids — and can be told to stop answering, as an unreachable Redis does.

use super::{Backend, Claim, StreamEntry};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// An in-process backend.
#[derive(Debug)]
pub struct Memory {
    state: Mutex<State>,
    up: AtomicBool,
    went_down: AtomicU64,
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            up: AtomicBool::new(true),
            went_down: AtomicU64::new(0),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    values: HashMap<String, Value>,
    terms: HashMap<String, u64>,
    streams: HashMap<String, Stream>,
    next_id: u64,
    /// Writes since expired entries were last swept.
    writes: u32,
}

#[derive(Debug)]
struct Value {
    data: Vec<u8>,
    written: Instant,
    expires: Instant,
}

#[derive(Debug)]
struct Stream {
    entries: VecDeque<(u64, Vec<u8>)>,
    expires: Instant,
}

/// Writes between sweeps of expired entries (an entry nobody reads again is not kept).
const SWEEP_EVERY: u32 = 1024;

impl State {
    /// Counts a write; every [`SWEEP_EVERY`] writes, drops what has expired.
    fn wrote(&mut self, now: Instant) {
        self.writes += 1;
        if self.writes >= SWEEP_EVERY {
            self.writes = 0;
            self.values.retain(|_, v| v.expires > now);
            self.streams.retain(|_, s| s.expires > now);
        }
    }

    /// The live value of `key` (an expired one is gone).
    fn value(&mut self, key: &str, now: Instant) -> Option<&mut Value> {
        if self.values.get(key).is_some_and(|v| v.expires <= now) {
            self.values.remove(key);
        }
        self.values.get_mut(key)
    }

    fn stream(&mut self, key: &str, now: Instant) -> Option<&mut Stream> {
        if self.streams.get(key).is_some_and(|s| s.expires <= now) {
            self.streams.remove(key);
        }
        self.streams.get_mut(key)
    }
}

impl Memory {
    /// Makes the backend answer (`true`) or fail every command as an unreachable Redis does.
    pub fn set_up(&self, up: bool) {
        let was = self.up.swap(up, Ordering::Relaxed);
        if was && !up {
            self.went_down.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The state, when answering.
    fn state(&self) -> Option<std::sync::MutexGuard<'_, State>> {
        self.up
            .load(Ordering::Relaxed)
            .then(|| self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A stream id as Redis writes them (`<ms>-<seq>`), for entry `n`.
fn stream_id(n: u64) -> String {
    format!("0-{n}")
}

/// The entry number of a stream id; `0-0` (and anything unreadable) is before the first.
fn stream_seq(id: &str) -> u64 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[async_trait::async_trait]
impl Backend for Memory {
    fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn went_down(&self) -> u64 {
        self.went_down.load(Ordering::Relaxed)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Option<()> {
        let now = Instant::now();
        let mut state = self.state()?;
        state.wrote(now);
        state.values.insert(
            key.to_owned(),
            Value {
                data: value.to_vec(),
                written: now,
                expires: now + ttl,
            },
        );
        Some(())
    }

    async fn get_aged(&self, key: &str, _ttl: Duration) -> Option<(Vec<u8>, Duration)> {
        let now = Instant::now();
        let mut state = self.state()?;
        let v = state.value(key, now)?;
        Some((v.data.clone(), now - v.written))
    }

    async fn acquire(&self, key: &str, holder: &str, ttl: Duration, fenced: bool) -> Option<Claim> {
        let now = Instant::now();
        let mut state = self.state()?;
        let mine = state.value(key, now).map(|v| v.data == holder.as_bytes());
        match mine {
            Some(false) => return Some(Claim::Taken),
            Some(true) => {
                let v = state.values.get_mut(key)?;
                v.expires = now + ttl;
            }
            None => {
                state.wrote(now);
                state.values.insert(
                    key.to_owned(),
                    Value {
                        data: holder.as_bytes().to_vec(),
                        written: now,
                        expires: now + ttl,
                    },
                );
                if fenced {
                    *state.terms.entry(key.to_owned()).or_default() += 1;
                }
            }
        }
        let term = if fenced {
            state.terms.get(key).copied().unwrap_or(1)
        } else {
            1
        };
        Some(Claim::Held(term))
    }

    async fn release(&self, key: &str, holder: &str) -> Option<()> {
        let now = Instant::now();
        let mut state = self.state()?;
        if state
            .value(key, now)
            .is_some_and(|v| v.data == holder.as_bytes())
        {
            state.values.remove(key);
        }
        Some(())
    }

    async fn hit(&self, key: &str, window: Duration) -> Option<(u64, Duration)> {
        let now = Instant::now();
        let mut state = self.state()?;
        if state.value(key, now).is_none() {
            state.wrote(now);
            state.values.insert(
                key.to_owned(),
                Value {
                    data: b"0".to_vec(),
                    written: now,
                    expires: now + window,
                },
            );
        }
        let v = state.values.get_mut(key)?;
        let n = std::str::from_utf8(&v.data)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        v.data = n.to_string().into_bytes();
        Some((n, v.expires - now))
    }

    async fn append(&self, key: &str, data: &[u8], keep: usize, ttl: Duration) -> Option<()> {
        let now = Instant::now();
        let mut state = self.state()?;
        state.wrote(now);
        state.next_id += 1;
        let id = state.next_id;
        if state.stream(key, now).is_none() {
            state.streams.insert(
                key.to_owned(),
                Stream {
                    entries: VecDeque::new(),
                    expires: now,
                },
            );
        }
        let stream = state.streams.get_mut(key)?;
        stream.entries.push_back((id, data.to_vec()));
        while stream.entries.len() > keep.max(1) {
            stream.entries.pop_front();
        }
        stream.expires = now + ttl;
        Some(())
    }

    async fn read_after(&self, key: &str, after: &str, count: usize) -> Option<Vec<StreamEntry>> {
        let now = Instant::now();
        let after = stream_seq(after);
        let mut state = self.state()?;
        Some(state.stream(key, now).map_or_else(Vec::new, |s| {
            s.entries
                .iter()
                .filter(|(id, _)| *id > after)
                .take(count)
                .map(|(id, d)| (stream_id(*id), d.clone()))
                .collect()
        }))
    }

    async fn newest(&self, key: &str, count: usize) -> Option<Vec<StreamEntry>> {
        let now = Instant::now();
        let mut state = self.state()?;
        Some(state.stream(key, now).map_or_else(Vec::new, |s| {
            s.entries
                .iter()
                .rev()
                .take(count)
                .map(|(id, d)| (stream_id(*id), d.clone()))
                .collect()
        }))
    }
}
