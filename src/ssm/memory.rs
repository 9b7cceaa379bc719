//! An in-memory Parameter Store for the engine's unit tests: versions, tags, tiers,
//! SSM's Tags+Overwrite rule, and scripted faults (fail before or after carrying a
//! call out, to imitate throttling and lost answers).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use super::store::{
    CurrentParameter, DeleteOutcome, ErrorKind, ListPage, ParameterStore, ParameterType, PutMode, PutOutcome,
    PutRequest, StoreError, StoreResult,
};
use crate::spec::parameter::{Tag, Tier};

/// A scripted failure for the next call of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fail without doing anything.
    Before(ErrorKind),
    /// Do the call, then fail as if the answer was lost.
    After(ErrorKind),
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub kind: ParameterType,
    pub value: String,
    pub version: i64,
    pub tier: Tier,
    pub tags: BTreeMap<String, String>,
}

#[derive(Default)]
struct State {
    params: BTreeMap<String, Stored>,
    faults: BTreeMap<&'static str, VecDeque<Fault>>,
    calls: BTreeMap<&'static str, usize>,
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// Page size of `list_page` (SSM: at most 10).
    pub page_size: usize,
    /// Extra text put into put errors, to test that messages are scrubbed.
    pub echo_value_in_errors: bool,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore { page_size: 3, ..MemoryStore::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Queues faults for the next calls of `op` ("put", "get", "list", "add_tags",
    /// "list_tags", "tiers", "delete").
    pub fn inject(&self, op: &'static str, faults: &[Fault]) {
        self.lock().faults.entry(op).or_default().extend(faults.iter().copied());
    }

    pub fn calls(&self, op: &'static str) -> usize {
        self.lock().calls.get(op).copied().unwrap_or(0)
    }

    pub fn param(&self, name: &str) -> Option<Stored> {
        self.lock().params.get(name).cloned()
    }

    /// Writes as another tool would: new version, tags untouched.
    pub fn external_put(&self, name: &str, kind: ParameterType, value: &str, tier: Tier) {
        let mut st = self.lock();
        let p = st.params.entry(name.to_string()).or_insert_with(|| Stored {
            kind,
            value: String::new(),
            version: 0,
            tier,
            tags: BTreeMap::new(),
        });
        p.kind = kind;
        p.value = value.to_string();
        p.version += 1;
        p.tier = p.tier.max(tier);
    }

    fn begin(&self, op: &'static str) -> Option<Fault> {
        let mut st = self.lock();
        *st.calls.entry(op).or_default() += 1;
        st.faults.get_mut(op).and_then(VecDeque::pop_front)
    }

    fn run<T>(&self, op: &'static str, call: impl FnOnce(&mut State) -> StoreResult<T>) -> StoreResult<T> {
        let fault = self.begin(op);
        if let Some(Fault::Before(kind)) = fault {
            return Err(StoreError::new(kind, Some("Injected"), format!("before {op}")));
        }
        let result = call(&mut self.lock());
        if let Some(Fault::After(kind)) = fault {
            return Err(StoreError::new(kind, Some("Injected"), format!("after {op}")));
        }
        result
    }
}

fn current(name: &str, p: &Stored) -> CurrentParameter {
    CurrentParameter::new(name.to_string(), p.kind, p.value.clone(), p.version)
}

impl ParameterStore for MemoryStore {
    async fn list_page(
        &self,
        path: &str,
        recursive: bool,
        _decrypt: bool,
        token: Option<String>,
    ) -> StoreResult<ListPage> {
        let size = self.page_size.max(1);
        self.run("list", |st| {
            let under = format!("{path}/");
            let all: Vec<CurrentParameter> = st
                .params
                .iter()
                .filter(|(n, _)| n.strip_prefix(&under).is_some_and(|rest| recursive || !rest.contains('/')))
                .map(|(n, p)| current(n, p))
                .collect();
            let start: usize = token.as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
            let end = (start + size).min(all.len());
            let next_token = (end < all.len()).then(|| end.to_string());
            Ok(ListPage { parameters: all.get(start..end).unwrap_or_default().to_vec(), next_token })
        })
    }

    async fn get(&self, name: &str) -> StoreResult<Option<CurrentParameter>> {
        self.run("get", |st| Ok(st.params.get(name).map(|p| current(name, p))))
    }

    async fn put(&self, r: &PutRequest) -> StoreResult<PutOutcome> {
        let echo = self.echo_value_in_errors;
        self.run("put", |st| {
            if echo {
                let msg = format!("1 validation error detected: Value '{}' at 'value' failed", r.value.expose());
                return Err(StoreError::new(ErrorKind::Rejected, Some("ValidationException"), msg));
            }
            let kind = r.kind();
            match (&r.mode, st.params.get_mut(&r.name)) {
                (PutMode::Create { .. }, Some(_)) => {
                    Err(StoreError::new(ErrorKind::AlreadyExists, Some("ParameterAlreadyExists"), "exists"))
                }
                (PutMode::Create { tags }, None) => {
                    let tags = tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
                    let p = Stored { kind, value: r.value.expose().to_string(), version: 1, tier: r.tier, tags };
                    st.params.insert(r.name.clone(), p);
                    Ok(PutOutcome { version: 1, tier: Some(r.tier) })
                }
                (PutMode::Overwrite, Some(p)) => {
                    if p.tier == Tier::Advanced && r.tier == Tier::Standard {
                        return Err(StoreError::new(ErrorKind::Rejected, Some("ValidationException"), "downgrade"));
                    }
                    p.kind = kind;
                    p.value = r.value.expose().to_string();
                    p.version += 1;
                    p.tier = r.tier;
                    Ok(PutOutcome { version: p.version, tier: Some(p.tier) })
                }
                (PutMode::Overwrite, None) => {
                    let value = r.value.expose().to_string();
                    let p = Stored { kind, value, version: 1, tier: r.tier, tags: BTreeMap::new() };
                    st.params.insert(r.name.clone(), p);
                    Ok(PutOutcome { version: 1, tier: Some(r.tier) })
                }
            }
        })
    }

    async fn add_tags(&self, name: &str, tags: &[Tag]) -> StoreResult<()> {
        self.run("add_tags", |st| match st.params.get_mut(name) {
            Some(p) => {
                p.tags.extend(tags.iter().map(|t| (t.key.clone(), t.value.clone())));
                Ok(())
            }
            None => Err(StoreError::new(ErrorKind::NotFound, Some("InvalidResourceId"), "no such parameter")),
        })
    }

    async fn list_tags(&self, name: &str) -> StoreResult<Vec<Tag>> {
        self.run("list_tags", |st| match st.params.get(name) {
            Some(p) => Ok(p.tags.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect()),
            None => Err(StoreError::new(ErrorKind::NotFound, Some("InvalidResourceId"), "no such parameter")),
        })
    }

    async fn tiers(&self, names: &[String]) -> StoreResult<Vec<(String, Tier)>> {
        self.run("tiers", |st| Ok(names.iter().filter_map(|n| st.params.get(n).map(|p| (n.clone(), p.tier))).collect()))
    }

    async fn delete(&self, names: &[String]) -> StoreResult<DeleteOutcome> {
        self.run("delete", |st| {
            let mut out = DeleteOutcome::default();
            for n in names {
                if st.params.remove(n).is_some() {
                    out.deleted.push(n.clone());
                } else {
                    out.missing.push(n.clone());
                }
            }
            Ok(out)
        })
    }
}
