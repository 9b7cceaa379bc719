//! The push engine: desired parameters in, a plan and a per-parameter report out.
//!
//! 1. **Plan.** Read what is directly under the prefix once (GetParametersByPath, with
//!    decryption) and sort every name into create / update / unchanged / delete
//!    (`--prune` only) / conflict / extra. Unchanged values are never written again:
//!    every overwrite makes a new version and SSM keeps only 100.
//! 2. **Apply.** Write only what differs, with a bounded pool of workers, a client-side
//!    write rate limit and jittered exponential backoff; keep going after a failure and
//!    report every parameter.
//!
//! **Who changed a value.** When migrate writes a value it tags the parameter
//! `migrate:version=<the version it wrote>` (with the create call; after an overwrite
//! with AddTagsToResource, since SSM rejects Tags with Overwrite). A parameter whose
//! current version is not the one in its tag (or that has no tag) was changed outside
//! migrate: without `--overwrite` it is a conflict, shown and left alone, and `--prune`
//! does not delete it. The tag holds a version number, never anything derived from the
//! value. Tags are read only for parameters that would be overwritten or deleted.
//!
//! **Exactly once.** SDK retries are off; this module retries. A write that failed in
//! a way that may have been carried out (5xx, timeout, dropped connection) is checked
//! with GetParameter before it is sent again: if the value is there in a newer version
//! it is done. So a lost answer never makes a second version, and re-running after a
//! partial failure finds the finished parameters unchanged and writes only the rest.
//!
//! Must not: print (progress goes through [`Progress`], rendering is `report.rs`), touch
//! anything not directly under the prefix, or put a value into any message.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;

use super::read::read_prefix;
use super::retry::{GaveUp, RateLimiter, RetryPolicy, RetryStats, retry};
use super::scrub::Scrubber;
use super::store::{CurrentParameter, ErrorKind, ParameterStore, ParameterType, PutMode, PutRequest};
use crate::spec::parameter::{ParameterSpec, ParameterValue, TOOL_TAG_PREFIX, Tag, Tier, never_downgrade};

/// The tag migrate puts on every parameter it writes: `migrate:version=<version>`.
pub const VERSION_TAG: &str = "version";

/// DeleteParameters takes at most this many names.
const DELETE_BATCH: usize = 10;
/// DescribeParameters name filters take at most this many values.
const DESCRIBE_BATCH: usize = 50;

/// How to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Also overwrite (and with `prune`, delete) parameters changed outside migrate.
    pub overwrite: bool,
    /// Delete parameters directly under the prefix that are not desired.
    pub prune: bool,
    pub kms_key_id: Option<String>,
    /// User tags, set on create and re-applied on update.
    pub tags: Vec<Tag>,
    /// Parallel workers.
    pub concurrency: usize,
    /// PutParameter + DeleteParameters calls started per second, all workers together
    /// (0 = unlimited).
    pub writes_per_second: f64,
    pub retry: RetryPolicy,
}

impl Default for PushOptions {
    fn default() -> PushOptions {
        PushOptions {
            overwrite: false,
            prune: false,
            kms_key_id: None,
            tags: Vec::new(),
            concurrency: 3,
            // PutParameter's default quota is reported as 3 per second per account and
            // region, shared with every other caller (ssm.md §1.7).
            writes_per_second: 3.0,
            retry: RetryPolicy::default(),
        }
    }
}

/// What the plan does with one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Delete,
    /// Would be overwritten or deleted, but was changed outside migrate.
    Conflict,
    /// Exists under the prefix, not desired, and `--prune` was not given.
    Extra,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Delete => "delete",
            Action::Conflict => "conflict",
            Action::Extra => "extra",
        }
    }
}

/// One name in the plan.
#[derive(Debug, Clone)]
pub struct PlanItem {
    pub name: String,
    pub action: Action,
    pub desired: Option<ParameterSpec>,
    pub current: Option<CurrentParameter>,
    /// The tier to write (create and update).
    pub tier: Option<Tier>,
    /// Why (conflicts, extras) or what else happens (type change, tier kept).
    pub note: Option<String>,
}

impl PlanItem {
    /// Either side is a secret: never show either value.
    pub fn secure(&self) -> bool {
        self.desired.as_ref().is_some_and(ParameterSpec::secure)
            || self.current.as_ref().is_some_and(|c| c.kind == ParameterType::SecureString)
    }
}

/// What a push would do, sorted by name.
#[derive(Debug, Clone)]
pub struct Plan {
    pub prefix: String,
    pub items: Vec<PlanItem>,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.items.iter().filter(|i| i.action == action).count()
    }

    /// Names that need a write (create, update, delete).
    pub fn writes(&self) -> usize {
        self.items.iter().filter(|i| matches!(i.action, Action::Create | Action::Update | Action::Delete)).count()
    }
}

/// How one parameter ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Not written on purpose (conflict, extra).
    Skipped(String),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEntry {
    pub name: String,
    pub action: Action,
    /// Version written, or the current version if nothing was written.
    pub version: Option<i64>,
    pub outcome: Outcome,
}

/// The result of a push, one entry per name, sorted by name.
#[derive(Debug, Clone)]
pub struct Report {
    pub prefix: String,
    pub entries: Vec<ReportEntry>,
    /// Calls retried after throttling, 5xx, timeouts, dropped connections, TooManyUpdates.
    pub retries: u64,
    /// Writes checked in the store before being resent.
    pub reconciled: u64,
}

impl Report {
    pub fn failed(&self) -> impl Iterator<Item = &ReportEntry> {
        self.entries.iter().filter(|e| matches!(e.outcome, Outcome::Failed(_)))
    }

    pub fn conflicts(&self) -> impl Iterator<Item = &ReportEntry> {
        self.entries.iter().filter(|e| e.action == Action::Conflict)
    }

    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action && e.outcome == Outcome::Ok).count()
    }
}

/// Receives results as they come in (progress bar, plain lines).
pub trait Progress: Send + Sync {
    fn begin(&self, writes: usize);
    fn advance(&self, entry: &ReportEntry);
    fn end(&self);
}

/// Shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: usize) {}
    fn advance(&self, _: &ReportEntry) {}
    fn end(&self) {}
}

/// Plans and applies pushes against one store.
pub struct Engine<S> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    store: S,
    opts: PushOptions,
    stats: RetryStats,
    writes: RateLimiter,
}

impl<S: ParameterStore> Engine<S> {
    pub fn new(store: S, opts: PushOptions) -> Engine<S> {
        let writes = RateLimiter::new(opts.writes_per_second);
        Engine { inner: Arc::new(Inner { store, opts, stats: RetryStats::default(), writes }) }
    }

    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// Compares `specs` (all under `prefix`, which ends with `/`) with the store.
    /// Reads only; a failed read fails the plan.
    pub async fn plan(&self, prefix: &str, specs: Vec<ParameterSpec>) -> Result<Plan, GaveUp> {
        let inner = &self.inner;
        let scrubber = Scrubber::new(specs.iter().filter(|s| s.secure()).map(|s| s.value.expose()));
        let scrubbed = |g: GaveUp| scrub_gave_up(&scrubber, g);
        let current =
            read_prefix(&inner.store, prefix, true, &inner.opts.retry, &inner.stats).await.map_err(scrubbed)?;
        let mut current: BTreeMap<String, CurrentParameter> =
            current.into_iter().map(|c| (c.name.clone(), c)).collect();
        let mut items = Vec::new();
        for mut spec in specs {
            let item = match current.remove(&spec.name) {
                None => PlanItem {
                    name: spec.name.clone(),
                    action: Action::Create,
                    tier: Some(spec.tier),
                    desired: Some(spec),
                    current: None,
                    note: None,
                },
                Some(cur) => {
                    let mut note = None;
                    if cur.kind == ParameterType::SecureString && !spec.secure() {
                        // Never weaken: a value stored as a secret stays one, even if the
                        // caller's classifier thinks it is plain.
                        spec.value = ParameterValue::secret(spec.value.expose());
                        note = Some("stays SecureString".to_string());
                    }
                    let action = if cur.holds(&spec.value) { Action::Unchanged } else { Action::Update };
                    let desired_kind = ParameterType::for_value(&spec.value);
                    if action == Action::Update && cur.kind != desired_kind {
                        note = Some(format!("type {} -> {desired_kind}", cur.kind));
                    }
                    PlanItem {
                        name: spec.name.clone(),
                        action,
                        tier: (action == Action::Update).then_some(spec.tier),
                        desired: Some(spec),
                        current: Some(cur),
                        note,
                    }
                }
            };
            items.push(item);
        }
        for (name, cur) in current {
            let (action, note) = if inner.opts.prune {
                (Action::Delete, None)
            } else {
                (Action::Extra, Some("not in the source; kept (--prune deletes it)".to_string()))
            };
            items.push(PlanItem { name, action, desired: None, current: Some(cur), tier: None, note });
        }
        items.sort_by(|a, b| a.name.cmp(&b.name));

        if !inner.opts.overwrite {
            self.mark_conflicts(&mut items).await.map_err(scrubbed)?;
        }
        self.keep_advanced(&mut items).await.map_err(scrubbed)?;
        Ok(Plan { prefix: prefix.to_string(), items })
    }

    /// Updates and deletes of parameters not last written by migrate become conflicts.
    async fn mark_conflicts(&self, items: &mut [PlanItem]) -> Result<(), GaveUp> {
        let candidates: Vec<(usize, String)> = items
            .iter()
            .enumerate()
            .filter(|(_, i)| matches!(i.action, Action::Update | Action::Delete))
            .map(|(n, i)| (n, i.name.clone()))
            .collect();
        let inner = self.inner.clone();
        let tags = run_pool(
            candidates.clone(),
            inner.opts.concurrency,
            move |(_, name)| {
                let inner = inner.clone();
                async move {
                    let r = retry(&inner.opts.retry, &inner.stats, None, || inner.store.list_tags(&name)).await;
                    match r {
                        Ok(tags) => Ok(Some(tags)),
                        Err(g) if g.error.kind == ErrorKind::NotFound => Ok(None),
                        Err(g) => Err(g),
                    }
                }
            },
            |_| {},
        )
        .await;
        for ((n, _), tags) in candidates.into_iter().zip(tags) {
            let Some(tags) = tags else {
                return Err(internal("a worker stopped while reading tags"));
            };
            let item = &mut items[n];
            let Some(cur) = &item.current else { continue };
            let written = tags?.and_then(|tags| tags.into_iter().find(|t| t.key == version_tag_key()).map(|t| t.value));
            if written.as_deref() == Some(cur.version.to_string().as_str()) {
                continue;
            }
            let why = match &written {
                Some(v) => {
                    format!("changed outside migrate (migrate wrote version {v}, it is now version {})", cur.version)
                }
                None => "not written by migrate (no migrate:version tag)".to_string(),
            };
            let remedy = match item.action {
                Action::Delete => "kept; --overwrite with --prune deletes it",
                _ => "left alone; --overwrite replaces it",
            };
            item.note = Some(format!("{why}; {remedy}"));
            item.action = Action::Conflict;
        }
        Ok(())
    }

    /// SSM cannot move an Advanced parameter back to Standard: updates of Advanced
    /// parameters stay Advanced. GetParametersByPath does not return tiers, so the
    /// tiers of the parameters about to be updated are read with DescribeParameters.
    async fn keep_advanced(&self, items: &mut [PlanItem]) -> Result<(), GaveUp> {
        let inner = &self.inner;
        let names: Vec<String> = items
            .iter()
            .filter(|i| i.action == Action::Update && i.tier != Some(Tier::Advanced))
            .map(|i| i.name.clone())
            .collect();
        let mut tiers = BTreeMap::new();
        for chunk in names.chunks(DESCRIBE_BATCH) {
            let found = retry(&inner.opts.retry, &inner.stats, None, || inner.store.tiers(chunk)).await?;
            tiers.extend(found);
        }
        for item in items.iter_mut().filter(|i| i.action == Action::Update) {
            let (Some(desired), Some(current)) = (item.tier, tiers.get(&item.name).copied()) else { continue };
            let tier = never_downgrade(desired, Some(current));
            if tier != desired {
                let note = "stays Advanced (SSM cannot move a parameter back to Standard)";
                item.note = Some(match item.note.take() {
                    Some(n) => format!("{n}; {note}"),
                    None => note.to_string(),
                });
                item.tier = Some(tier);
            }
        }
        Ok(())
    }

    /// Carries out `plan`: writes creates and updates, deletes in batches of 10, and
    /// reports every name. Never stops at the first failure.
    pub async fn apply(&self, plan: Plan, progress: &dyn Progress) -> Report {
        let scrubber = Arc::new(Scrubber::new(plan.items.iter().flat_map(|i| {
            let desired = i.desired.as_ref().filter(|d| d.secure()).map(|d| d.value.expose());
            let current =
                i.current.as_ref().filter(|c| c.kind == ParameterType::SecureString).map(|c| c.value.expose());
            desired.into_iter().chain(current)
        })));
        let mut entries = Vec::new();
        let mut jobs = Vec::new();
        let mut deletes = Vec::new();
        for item in plan.items {
            let version = item.current.as_ref().map(|c| c.version);
            match item.action {
                Action::Create | Action::Update => jobs.push(Job::Write(Box::new(item))),
                Action::Delete => deletes.push(item),
                Action::Unchanged => entries.push(entry(&item.name, Action::Unchanged, version, Outcome::Ok)),
                Action::Conflict | Action::Extra => {
                    let why = item.note.clone().unwrap_or_default();
                    entries.push(entry(&item.name, item.action, version, Outcome::Skipped(why)));
                }
            }
        }
        for chunk in deletes.chunks(DELETE_BATCH) {
            jobs.push(Job::Delete(chunk.to_vec()));
        }
        let planned: Vec<Vec<(String, Action)>> = jobs.iter().map(Job::names).collect();
        progress.begin(planned.iter().map(Vec::len).sum());
        let inner = self.inner.clone();
        let results = run_pool(
            jobs,
            self.inner.opts.concurrency,
            move |job| {
                let inner = inner.clone();
                let scrubber = scrubber.clone();
                async move { inner.run(job, &scrubber).await }
            },
            |done: &Vec<ReportEntry>| done.iter().for_each(|e| progress.advance(e)),
        )
        .await;
        for (names, result) in planned.into_iter().zip(results) {
            match result {
                Some(done) => entries.extend(done),
                None => {
                    for (name, action) in names {
                        let e = entry(&name, action, None, Outcome::Failed("internal error: a worker stopped".into()));
                        progress.advance(&e);
                        entries.push(e);
                    }
                }
            }
        }
        progress.end();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Report {
            prefix: plan.prefix,
            entries,
            retries: self.inner.stats.retries(),
            reconciled: self.inner.stats.reconciled(),
        }
    }
}

fn version_tag_key() -> String {
    format!("{TOOL_TAG_PREFIX}{VERSION_TAG}")
}

fn entry(name: &str, action: Action, version: Option<i64>, outcome: Outcome) -> ReportEntry {
    ReportEntry { name: name.to_string(), action, version, outcome }
}

fn internal(message: &str) -> GaveUp {
    GaveUp { error: super::store::StoreError::new(ErrorKind::Rejected, None, message), attempts: 1 }
}

fn scrub_gave_up(scrubber: &Scrubber, mut g: GaveUp) -> GaveUp {
    g.error.message = scrubber.scrub(&g.error.message);
    g
}

enum Job {
    Write(Box<PlanItem>),
    Delete(Vec<PlanItem>),
}

impl Job {
    fn names(&self) -> Vec<(String, Action)> {
        match self {
            Job::Write(i) => vec![(i.name.clone(), i.action)],
            Job::Delete(items) => items.iter().map(|i| (i.name.clone(), i.action)).collect(),
        }
    }
}

/// How a single write went wrong.
enum WriteFailure {
    /// Someone else changed or created the parameter during the push.
    Conflict {
        version: Option<i64>,
        why: String,
    },
    Failed(String),
}

/// How a checked PutParameter went wrong.
enum PutFailure {
    /// Create: the name exists with another value.
    Exists(CurrentParameter),
    /// Update: a newer version with another value (or the parameter vanished).
    Changed(Option<CurrentParameter>),
    Failed(GaveUp),
}

/// What a GetParameter says about a write that may have been carried out.
enum Landing {
    Landed(i64),
    NotYet,
    Other(Option<CurrentParameter>),
}

/// Did `request` land? `base` is the version the update started from (None: create).
fn landing(current: Option<CurrentParameter>, request: &PutRequest, base: Option<i64>) -> Landing {
    match (current, base) {
        (None, None) => Landing::NotYet,
        (None, Some(_)) => Landing::Other(None),
        (Some(c), None) if c.holds(&request.value) => Landing::Landed(c.version),
        (Some(c), Some(b)) if c.version == b => Landing::NotYet,
        (Some(c), Some(b)) if c.version > b && c.holds(&request.value) => Landing::Landed(c.version),
        (Some(c), _) => Landing::Other(Some(c)),
    }
}

impl<S: ParameterStore> Inner<S> {
    async fn run(&self, job: Job, scrubber: &Scrubber) -> Vec<ReportEntry> {
        match job {
            Job::Write(item) => vec![self.write(*item, scrubber).await],
            Job::Delete(items) => self.delete(items, scrubber).await,
        }
    }

    async fn write(&self, item: PlanItem, scrubber: &Scrubber) -> ReportEntry {
        let Some(spec) = &item.desired else {
            return entry(&item.name, item.action, None, Outcome::Failed("internal error: nothing to write".into()));
        };
        let tier = item.tier.unwrap_or(spec.tier);
        let result = match (item.action, &item.current) {
            (Action::Update, Some(cur)) => self.update(spec, tier, cur.version).await,
            _ => self.create(spec, tier).await,
        };
        match result {
            Ok(version) => entry(&item.name, item.action, Some(version), Outcome::Ok),
            Err(WriteFailure::Conflict { version, why }) => {
                entry(&item.name, Action::Conflict, version, Outcome::Skipped(why))
            }
            Err(WriteFailure::Failed(why)) => {
                entry(&item.name, item.action, None, Outcome::Failed(scrubber.scrub(&why)))
            }
        }
    }

    fn request(&self, spec: &ParameterSpec, tier: Tier, mode: PutMode) -> PutRequest {
        PutRequest {
            name: spec.name.clone(),
            value: spec.value.clone(),
            mode,
            key_id: self.opts.kms_key_id.clone().filter(|_| spec.secure()),
            tier,
            description: spec.description.clone(),
        }
    }

    async fn create(&self, spec: &ParameterSpec, tier: Tier) -> Result<i64, WriteFailure> {
        let mut tags = self.opts.tags.clone();
        tags.push(Tag::tool(VERSION_TAG, "1"));
        let request = self.request(spec, tier, PutMode::Create { tags });
        match self.put_checked(&request, None).await {
            Ok(version) => Ok(version),
            Err(PutFailure::Exists(cur) | PutFailure::Changed(Some(cur))) => {
                if self.opts.overwrite {
                    self.update(spec, tier, cur.version).await
                } else {
                    let why = "created outside migrate while this push ran; left alone (--overwrite replaces it)";
                    Err(WriteFailure::Conflict { version: Some(cur.version), why: why.into() })
                }
            }
            Err(PutFailure::Changed(None)) => {
                Err(WriteFailure::Failed("the parameter vanished during the write".into()))
            }
            Err(PutFailure::Failed(g)) => Err(WriteFailure::Failed(g.to_string())),
        }
    }

    async fn update(&self, spec: &ParameterSpec, tier: Tier, base: i64) -> Result<i64, WriteFailure> {
        let request = self.request(spec, tier, PutMode::Overwrite);
        let version = match self.put_checked(&request, Some(base)).await {
            Ok(v) => v,
            Err(PutFailure::Changed(cur)) => {
                let why = "changed or deleted outside migrate while this push ran; left alone";
                return Err(WriteFailure::Conflict { version: cur.map(|c| c.version), why: why.into() });
            }
            Err(PutFailure::Exists(_)) => return Err(WriteFailure::Failed("unexpected ParameterAlreadyExists".into())),
            Err(PutFailure::Failed(g)) => return Err(WriteFailure::Failed(g.to_string())),
        };
        // Tags cannot go with Overwrite: re-apply the user's tags and record the version.
        let mut tags = self.opts.tags.clone();
        tags.push(Tag::tool(VERSION_TAG, version.to_string()));
        retry(&self.opts.retry, &self.stats, None, || self.store.add_tags(&spec.name, &tags)).await.map_err(|g| {
            WriteFailure::Failed(format!(
                "version {version} was written, but tagging it failed: {g}; until it is tagged, migrate treats it as \
                 changed outside migrate"
            ))
        })?;
        Ok(version)
    }

    /// PutParameter with retries; before resending a write that may have been carried
    /// out, checks whether it was (see the module docs).
    async fn put_checked(&self, request: &PutRequest, base: Option<i64>) -> Result<i64, PutFailure> {
        let policy = &self.opts.retry;
        let max = policy.max_attempts.max(1);
        let mut attempt = 1;
        let mut check = false;
        loop {
            let error = 'attempt: {
                if check {
                    self.stats.note_reconcile();
                    match self.store.get(&request.name).await {
                        Err(e) => break 'attempt e,
                        Ok(cur) => match landing(cur, request, base) {
                            Landing::Landed(v) => return Ok(v),
                            Landing::Other(cur) => return Err(PutFailure::Changed(cur)),
                            // Not there: send it (again). `check` is reset by the answer below.
                            Landing::NotYet => {}
                        },
                    }
                }
                self.writes.wait().await;
                match self.store.put(request).await {
                    Ok(out) => return Ok(out.version),
                    Err(e) if e.kind == ErrorKind::AlreadyExists && base.is_none() => {
                        let cur = retry(policy, &self.stats, None, || self.store.get(&request.name))
                            .await
                            .map_err(PutFailure::Failed)?;
                        return match cur {
                            Some(c) if c.holds(&request.value) => Ok(c.version),
                            Some(c) => Err(PutFailure::Exists(c)),
                            None => Err(PutFailure::Changed(None)),
                        };
                    }
                    Err(e) => {
                        check = e.may_have_applied();
                        e
                    }
                }
            };
            if error.retryable() && attempt < max {
                self.stats.note_retry();
                tokio::time::sleep(policy.delay(attempt)).await;
                attempt += 1;
                continue;
            }
            // Out of attempts: one last look, so the report does not call a write that
            // landed a failure.
            if check
                && let Ok(cur) = self.store.get(&request.name).await
                && let Landing::Landed(v) = landing(cur, request, base)
            {
                return Ok(v);
            }
            return Err(PutFailure::Failed(GaveUp { error, attempts: attempt }));
        }
    }

    async fn delete(&self, items: Vec<PlanItem>, scrubber: &Scrubber) -> Vec<ReportEntry> {
        let names: Vec<String> = items.iter().map(|i| i.name.clone()).collect();
        let result = retry(&self.opts.retry, &self.stats, Some(&self.writes), || self.store.delete(&names)).await;
        items
            .iter()
            .map(|item| {
                let version = item.current.as_ref().map(|c| c.version);
                let outcome = match &result {
                    // Missing: gone already (an earlier attempt whose answer was lost).
                    Ok(out) if out.deleted.contains(&item.name) || out.missing.contains(&item.name) => Outcome::Ok,
                    Ok(_) => Outcome::Failed("not in the DeleteParameters answer".into()),
                    Err(g) => Outcome::Failed(scrubber.scrub(&g.to_string())),
                };
                entry(&item.name, Action::Delete, version, outcome)
            })
            .collect()
    }
}

/// Runs `work` over `inputs` with at most `concurrency` at a time, calling
/// `on_result` (on this task) as each finishes. Results come back in input order;
/// `None` where a worker died before answering.
async fn run_pool<T, R, F, Fut>(
    inputs: Vec<T>,
    concurrency: usize,
    work: F,
    mut on_result: impl FnMut(&R),
) -> Vec<Option<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let n = inputs.len();
    let queue = Arc::new(std::sync::Mutex::new(inputs.into_iter().enumerate().collect::<VecDeque<_>>()));
    let work = Arc::new(work);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let (queue, work, tx) = (queue.clone(), work.clone(), tx.clone());
        workers.spawn(async move {
            loop {
                let next = match queue.lock() {
                    Ok(mut q) => q.pop_front(),
                    Err(_) => None,
                };
                let Some((i, input)) = next else { break };
                if tx.send((i, work(input).await)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut results: Vec<Option<R>> = (0..n).map(|_| None).collect();
    while let Some((i, r)) = rx.recv().await {
        on_result(&r);
        results[i] = Some(r);
    }
    while workers.join_next().await.is_some() {}
    results
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ssm::memory::{Fault, MemoryStore};
    use crate::ssm::store::ErrorKind;

    const PREFIX: &str = "/shop/dev/web/";

    fn fast() -> PushOptions {
        PushOptions {
            concurrency: 3,
            writes_per_second: 0.0,
            retry: RetryPolicy {
                max_attempts: 6,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(4),
            },
            tags: vec![Tag::new("team", "web").unwrap()],
            ..PushOptions::default()
        }
    }

    fn spec(key: &str, value: ParameterValue) -> ParameterSpec {
        ParameterSpec {
            key: key.into(),
            name: format!("{PREFIX}{key}"),
            value,
            tier: Tier::Standard,
            description: None,
            origin: None,
        }
    }

    fn desired(pairs: &[(&str, &str)]) -> Vec<ParameterSpec> {
        pairs
            .iter()
            .map(|(k, v)| {
                let value = if k.contains("PASSWORD") { ParameterValue::secret(*v) } else { ParameterValue::plain(*v) };
                spec(k, value)
            })
            .collect()
    }

    async fn push(engine: &Engine<MemoryStore>, specs: Vec<ParameterSpec>) -> Report {
        let plan = engine.plan(PREFIX, specs).await.unwrap();
        engine.apply(plan, &NoProgress).await
    }

    fn versions(store: &MemoryStore, keys: &[&str]) -> Vec<i64> {
        keys.iter().map(|k| store.param(&format!("{PREFIX}{k}")).map_or(0, |p| p.version)).collect()
    }

    fn actions(report: &Report) -> Vec<(String, Action, Outcome)> {
        report
            .entries
            .iter()
            .map(|e| (e.name.trim_start_matches(PREFIX).to_string(), e.action, e.outcome.clone()))
            .collect()
    }

    #[tokio::test]
    async fn first_push_creates_with_tags_second_push_writes_nothing() {
        let engine = Engine::new(MemoryStore::new(), fast());
        let want = desired(&[("A", "1"), ("B", "2"), ("DB_PASSWORD", "hunter2"), ("C", "3"), ("D", "4")]);
        let report = push(&engine, want.clone()).await;
        assert!(report.entries.iter().all(|e| e.action == Action::Create && e.outcome == Outcome::Ok));
        assert_eq!(versions(engine.store(), &["A", "B", "C", "D", "DB_PASSWORD"]), [1, 1, 1, 1, 1]);
        let pw = engine.store().param(&format!("{PREFIX}DB_PASSWORD")).unwrap();
        assert_eq!(pw.kind, ParameterType::SecureString);
        assert_eq!(pw.tags.get("team").map(String::as_str), Some("web"));
        assert_eq!(pw.tags.get("migrate:version").map(String::as_str), Some("1"));
        let puts = engine.store().calls("put");
        assert_eq!(puts, 5);

        let report = push(&engine, want).await;
        assert!(report.entries.iter().all(|e| e.action == Action::Unchanged && e.version == Some(1)));
        assert_eq!(engine.store().calls("put"), puts, "unchanged values are not written again");
        assert_eq!(engine.store().calls("add_tags"), 0);
    }

    #[tokio::test]
    async fn a_changed_value_is_updated_and_retagged_others_stay() {
        let engine = Engine::new(MemoryStore::new(), fast());
        push(&engine, desired(&[("A", "1"), ("B", "2")])).await;
        let report = push(&engine, desired(&[("A", "1"), ("B", "22")])).await;
        assert_eq!(
            actions(&report),
            [("A".into(), Action::Unchanged, Outcome::Ok), ("B".into(), Action::Update, Outcome::Ok)]
        );
        assert_eq!(versions(engine.store(), &["A", "B"]), [1, 2]);
        let b = engine.store().param(&format!("{PREFIX}B")).unwrap();
        assert_eq!((b.value.as_str(), b.tags.get("migrate:version").map(String::as_str)), ("22", Some("2")));
        assert_eq!(b.tags.get("team").map(String::as_str), Some("web"));
    }

    #[tokio::test]
    async fn values_changed_outside_migrate_are_conflicts_unless_overwrite() {
        let engine = Engine::new(MemoryStore::new(), fast());
        push(&engine, desired(&[("A", "1"), ("B", "2")])).await;
        engine.store().external_put(&format!("{PREFIX}B"), ParameterType::String, "console edit", Tier::Standard);
        engine.store().external_put(&format!("{PREFIX}HAND"), ParameterType::String, "by hand", Tier::Standard);
        let want = desired(&[("A", "1"), ("B", "2"), ("HAND", "mine")]);
        let report = push(&engine, want.clone()).await;
        let got = actions(&report);
        assert_eq!(got[0], ("A".into(), Action::Unchanged, Outcome::Ok));
        assert_eq!(got[1].1, Action::Conflict);
        assert!(matches!(&got[1].2, Outcome::Skipped(w) if w.contains("migrate wrote version 1, it is now version 2")));
        assert!(matches!(&got[2].2, Outcome::Skipped(w) if w.contains("not written by migrate")));
        assert_eq!(engine.store().param(&format!("{PREFIX}B")).unwrap().value, "console edit");
        assert_eq!(versions(engine.store(), &["B", "HAND"]), [2, 1]);

        let engine = Engine::new(take(engine), PushOptions { overwrite: true, ..fast() });
        let report = push(&engine, want).await;
        assert_eq!(report.count(Action::Update), 2);
        assert_eq!(engine.store().param(&format!("{PREFIX}B")).unwrap().value, "2");
        assert_eq!(versions(engine.store(), &["B", "HAND"]), [3, 2]);
    }

    fn take(engine: Engine<MemoryStore>) -> MemoryStore {
        match Arc::try_unwrap(engine.inner) {
            Ok(inner) => inner.store,
            Err(_) => panic!("engine still shared"),
        }
    }

    #[tokio::test]
    async fn prune_deletes_only_what_migrate_wrote_directly_under_the_prefix() {
        let engine = Engine::new(MemoryStore::new(), fast());
        push(&engine, desired(&[("A", "1"), ("OLD", "x")])).await;
        let store = engine.store();
        store.external_put(&format!("{PREFIX}HAND"), ParameterType::String, "h", Tier::Standard);
        store.external_put(&format!("{PREFIX}deeper/X"), ParameterType::String, "d", Tier::Standard);
        store.external_put("/shop/dev/other/Y", ParameterType::String, "o", Tier::Standard);

        // Without --prune: extras are reported and kept.
        let report = push(&engine, desired(&[("A", "1")])).await;
        assert_eq!(report.entries.iter().filter(|e| e.action == Action::Extra).count(), 2);
        assert_eq!(engine.store().calls("delete"), 0);

        let engine = Engine::new(take(engine), PushOptions { prune: true, ..fast() });
        let report = push(&engine, desired(&[("A", "1")])).await;
        let got = actions(&report);
        assert_eq!(got[0], ("A".into(), Action::Unchanged, Outcome::Ok));
        assert_eq!(got[1].1, Action::Conflict, "{got:?}");
        assert_eq!(got[2], ("OLD".into(), Action::Delete, Outcome::Ok));
        let store = engine.store();
        assert!(store.param(&format!("{PREFIX}OLD")).is_none());
        assert!(store.param(&format!("{PREFIX}HAND")).is_some());
        assert!(store.param(&format!("{PREFIX}deeper/X")).is_some());
        assert!(store.param("/shop/dev/other/Y").is_some());
    }

    #[tokio::test]
    async fn dry_run_is_the_plan_alone() {
        let engine = Engine::new(MemoryStore::new(), fast());
        let plan = engine.plan(PREFIX, desired(&[("A", "1")])).await.unwrap();
        assert_eq!(plan.count(Action::Create), 1);
        assert_eq!(engine.store().calls("put"), 0);
        assert!(engine.store().param(&format!("{PREFIX}A")).is_none());
    }

    #[tokio::test]
    async fn advanced_parameters_stay_advanced() {
        let engine = Engine::new(MemoryStore::new(), fast());
        push(&engine, desired(&[("BIG", "1")])).await;
        engine.store().external_put(&format!("{PREFIX}BIG"), ParameterType::String, "1", Tier::Advanced);
        // The external write made it version 2 without a tag: overwrite to take it back.
        let engine = Engine::new(take(engine), PushOptions { overwrite: true, ..fast() });
        let plan = engine.plan(PREFIX, desired(&[("BIG", "small now")])).await.unwrap();
        assert_eq!(plan.items[0].tier, Some(Tier::Advanced));
        assert!(plan.items[0].note.as_deref().is_some_and(|n| n.contains("stays Advanced")));
        let report = engine.apply(plan, &NoProgress).await;
        assert_eq!(report.entries[0].outcome, Outcome::Ok, "{report:?}");
        assert_eq!(engine.store().param(&format!("{PREFIX}BIG")).unwrap().tier, Tier::Advanced);
    }

    #[tokio::test]
    async fn secure_strings_stay_secure() {
        let engine = Engine::new(MemoryStore::new(), fast());
        push(&engine, desired(&[("DB_PASSWORD", "pw")])).await;
        // The same value, now classified as plain (e.g. pulled and pushed back).
        let plan = engine.plan(PREFIX, vec![spec("DB_PASSWORD", ParameterValue::plain("pw"))]).await.unwrap();
        assert_eq!(plan.items[0].action, Action::Unchanged);
        let plan = engine.plan(PREFIX, vec![spec("DB_PASSWORD", ParameterValue::plain("pw2"))]).await.unwrap();
        assert_eq!(plan.items[0].action, Action::Update);
        engine.apply(plan, &NoProgress).await;
        assert_eq!(engine.store().param(&format!("{PREFIX}DB_PASSWORD")).unwrap().kind, ParameterType::SecureString);
    }

    #[tokio::test]
    async fn faults_are_retried_and_every_value_is_stored_exactly_once() {
        let store = MemoryStore::new();
        use ErrorKind::*;
        store.inject("list", &[Fault::Before(Throttled)]);
        store.inject(
            "put",
            &[
                Fault::Before(Throttled),
                Fault::After(Server),
                Fault::Before(TooManyUpdates),
                Fault::After(Connection),
                Fault::After(Timeout),
                Fault::Before(Connection),
            ],
        );
        store.inject("get", &[Fault::Before(Throttled)]);
        let engine = Engine::new(store, fast());
        let keys = ["A", "B", "C", "D", "E", "F", "G", "H"];
        let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (*k, "v1")).collect();
        let report = push(&engine, desired(&pairs)).await;
        assert!(report.failed().next().is_none(), "{report:?}");
        assert_eq!(versions(engine.store(), &keys), [1; 8]);
        assert!(report.retries >= 7, "{}", report.retries);
        assert!(report.reconciled >= 3, "{}", report.reconciled);

        // Updates: a lost answer must not make a second version.
        engine.store().inject("put", &[Fault::After(Server), Fault::After(Connection)]);
        engine.store().inject("add_tags", &[Fault::Before(Throttled)]);
        let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (*k, "v2")).collect();
        let report = push(&engine, desired(&pairs)).await;
        assert!(report.failed().next().is_none(), "{report:?}");
        assert_eq!(versions(engine.store(), &keys), [2; 8]);
        for k in keys {
            let p = engine.store().param(&format!("{PREFIX}{k}")).unwrap();
            assert_eq!((p.value.as_str(), p.tags.get("migrate:version").map(String::as_str)), ("v2", Some("2")));
        }
    }

    #[tokio::test]
    async fn a_lost_create_answer_is_found_not_duplicated() {
        let store = MemoryStore::new();
        store.inject("put", &[Fault::After(ErrorKind::Connection)]);
        let engine = Engine::new(store, fast());
        let report = push(&engine, desired(&[("A", "1")])).await;
        assert_eq!(actions(&report), [("A".into(), Action::Create, Outcome::Ok)]);
        assert_eq!(engine.store().calls("put"), 1, "checked with GetParameter, not sent again");
        assert_eq!(report.entries[0].version, Some(1));
    }

    #[tokio::test]
    async fn giving_up_names_each_failure_and_a_rerun_completes_the_rest() {
        let store = MemoryStore::new();
        let engine = Engine::new(store, PushOptions { concurrency: 1, ..fast() });
        engine.store().inject("put", &[Fault::Before(ErrorKind::Throttled); 6]);
        let pairs = [("A", "1"), ("B", "2"), ("C", "3")];
        let report = push(&engine, desired(&pairs)).await;
        let failed: Vec<&str> = report.failed().map(|e| e.name.as_str()).collect();
        assert_eq!(failed, [format!("{PREFIX}A")]);
        let Outcome::Failed(why) = &report.entries[0].outcome else { panic!() };
        assert!(why.contains("gave up after 6 attempts"), "{why}");
        assert_eq!(versions(engine.store(), &["A", "B", "C"]), [0, 1, 1]);

        let report = push(&engine, desired(&pairs)).await;
        assert!(report.failed().next().is_none());
        assert_eq!(report.count(Action::Create), 1);
        assert_eq!(report.count(Action::Unchanged), 2);
        assert_eq!(versions(engine.store(), &["A", "B", "C"]), [1, 1, 1]);
    }

    #[tokio::test]
    async fn rejected_writes_fail_at_once_and_messages_are_scrubbed() {
        let mut store = MemoryStore::new();
        store.echo_value_in_errors = true;
        let engine = Engine::new(store, fast());
        let report = push(&engine, desired(&[("DB_PASSWORD", "hunter2-very-secret")])).await;
        let Outcome::Failed(why) = &report.entries[0].outcome else { panic!("{report:?}") };
        assert!(why.starts_with("ValidationException"), "{why}");
        assert!(!why.contains("hunter2"), "{why}");
        assert_eq!(engine.store().calls("put"), 1, "validation errors are not retried");
    }

    #[tokio::test]
    async fn many_parameters_page_and_batch() {
        let store = MemoryStore::new();
        let engine = Engine::new(store, PushOptions { prune: true, concurrency: 8, ..fast() });
        let keys: Vec<String> = (0..57).map(|i| format!("K{i:03}")).collect();
        let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
        push(&engine, desired(&pairs)).await;
        let report = push(&engine, desired(&pairs[..3])).await;
        assert_eq!(report.count(Action::Delete), 54);
        assert_eq!(engine.store().calls("delete"), 6, "batches of at most 10");
        // The first push lists an empty prefix (1 page), the second 57 names in pages of 3.
        assert_eq!(engine.store().calls("list"), 1 + 19);
    }
}
