//! The declared workflow: which states exist, where each stage outcome leads,
//! what each state may wait on, the timers and the human-wait SLAs.
//!
//! Parsing and validation are pure (a `&str` in, a [`Workflow`] or a
//! [`WorkflowError`] naming the offending state out). Reading the file and
//! remembering versions in the store happen in the engine.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::core::stages::{Outcome, engine_waits, optional_outcomes_of, outcomes_of};
use crate::core::types::{State, WaitKind};

/// A workflow name plus version: what a case records when it opens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkflowRef {
    pub name: String,
    pub version: u32,
}

impl std::fmt::Display for WorkflowRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.name, self.version)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WorkflowError {
    #[error("workflow file is not valid TOML: {0}")]
    Syntax(String),
    #[error(
        "unknown state '{0}' (the engine knows intake, tier, verify, execute, qa, send, close, closed)"
    )]
    UnknownState(String),
    #[error("initial state '{0}' is not declared")]
    MissingInitial(String),
    #[error("state '{state}': transition '{outcome}' goes to '{target}', which is not declared")]
    TransitionToNowhere {
        state: String,
        outcome: String,
        target: String,
    },
    #[error("state '{state}': unknown outcome '{outcome}' (this stage produces: {known})")]
    UnknownOutcome {
        state: String,
        outcome: String,
        known: String,
    },
    #[error(
        "state '{state}': outcome '{outcome}' has no transition (add `{outcome} = \"<state>\"` under [states.{state}.on])"
    )]
    UnhandledOutcome { state: String, outcome: String },
    #[error("state '{state}' is unreachable from the initial state '{initial}'")]
    Unreachable { state: String, initial: String },
    #[error("state '{state}' waits on {wait} but has no way out (no transition and no timer)")]
    WaitWithoutExit { state: String, wait: String },
    #[error(
        "state '{state}': unknown wait '{wait}' (known: customer, operator, coach, tool, timer)"
    )]
    UnknownWait { state: String, wait: String },
    #[error("state '{state}' must declare the wait '{wait}': the engine waits there")]
    MissingWait { state: String, wait: String },
    #[error("state '{state}' is terminal but declares transitions or waits")]
    TerminalWithExits { state: String },
    #[error("state '{state}' is not terminal but has no way out")]
    DeadEnd { state: String },
    #[error("state 'closed' must be declared and terminal")]
    NoTerminal,
    #[error("timer '{timer}' has no target state")]
    TimerWithoutTarget { timer: String },
    #[error("timer '{timer}' targets '{target}', which is not declared")]
    TimerTargetUnknown { timer: String, target: String },
    #[error("timer '{timer}' is armed in '{state}', which is not declared")]
    TimerArmedInUnknown { timer: String, state: String },
    #[error("timer '{timer}' is armed in no state")]
    TimerNeverArmed { timer: String },
    #[error("timer '{timer}': bad duration '{value}': {reason}")]
    BadDuration {
        timer: String,
        value: String,
        reason: String,
    },
    #[error("timer '{timer}': unknown `until` '{value}' (known: outbound)")]
    BadUntil { timer: String, value: String },
    #[error("timer '{timer}': unknown `intent` '{value}'")]
    BadIntent { timer: String, value: String },
    #[error("migration from version {from}: it must come from an older version than {current}")]
    BadMigration { from: u32, current: u32 },
    #[error("migration from version {from}: state '{state}' is not known")]
    MigrationUnknownState { from: u32, state: String },
    #[error("workflow name must not be empty and version must be at least 1")]
    BadIdentity,
}

/// The file format, as written in `workflows/*.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct WorkflowFile {
    name: String,
    version: u32,
    initial: String,
    states: BTreeMap<String, StateFile>,
    #[serde(default)]
    timers: BTreeMap<String, TimerFile>,
    #[serde(default)]
    sla: SlaFile,
    #[serde(default)]
    migrations: Vec<MigrationFile>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
struct StateFile {
    #[serde(default)]
    on: BTreeMap<String, String>,
    #[serde(default)]
    waits: Vec<String>,
    #[serde(default)]
    terminal: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TimerFile {
    after: String,
    #[serde(default)]
    armed_in: Vec<String>,
    target: Option<String>,
    until: Option<String>,
    /// Armed only while the case's turn carries this intent.
    intent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SlaFile {
    #[serde(default = "default_operator_sla")]
    operator: String,
    #[serde(default = "default_coach_sla")]
    coach: String,
}

impl Default for SlaFile {
    fn default() -> Self {
        SlaFile {
            operator: default_operator_sla(),
            coach: default_coach_sla(),
        }
    }
}

fn default_operator_sla() -> String {
    "30m".into()
}

fn default_coach_sla() -> String {
    "8h".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct MigrationFile {
    from_version: u32,
    #[serde(default)]
    states: BTreeMap<String, String>,
}

/// One declared state.
#[derive(Debug, Clone, PartialEq)]
pub struct StateDef {
    pub on: BTreeMap<Outcome, State>,
    pub waits: BTreeSet<WaitKindOrd>,
    pub terminal: bool,
}

/// `WaitKind` with an order, so it can sit in a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WaitKindOrd(u8);

impl From<WaitKind> for WaitKindOrd {
    fn from(k: WaitKind) -> Self {
        WaitKindOrd(k as u8)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimerDef {
    pub name: String,
    pub after_ms: i64,
    pub armed_in: BTreeSet<State>,
    pub target: State,
    /// Disarmed by the case's first outbound message (the first-response SLA).
    pub until_outbound: bool,
    /// Armed only while the case's current turn carries this intent (the
    /// privacy request's deadline); such a timer is an SLA, and its firing
    /// is a breach.
    pub intent: Option<crate::policy::intent::Intent>,
}

impl TimerDef {
    /// Whether the timer's firing breaches an SLA (tagged on the case).
    pub fn is_sla(&self) -> bool {
        self.until_outbound || self.intent.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    pub from_version: u32,
    pub states: HashMap<State, State>,
}

/// A validated workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub name: String,
    pub version: u32,
    pub initial: State,
    states: BTreeMap<State, StateDef>,
    timers: Vec<TimerDef>,
    pub operator_sla_ms: i64,
    pub coach_sla_ms: i64,
    migrations: Vec<Migration>,
    /// The source text, kept so the store can remember this version.
    pub source: String,
}

impl Workflow {
    /// Parses and validates a workflow; the error names what is wrong and where.
    pub fn parse(source: &str) -> Result<Workflow, WorkflowError> {
        let file: WorkflowFile =
            toml::from_str(source).map_err(|e| WorkflowError::Syntax(e.to_string()))?;
        build(file, source)
    }

    pub fn reference(&self) -> WorkflowRef {
        WorkflowRef {
            name: self.name.clone(),
            version: self.version,
        }
    }

    pub fn state(&self, s: State) -> Option<&StateDef> {
        self.states.get(&s)
    }

    /// Where `outcome` leads from `from`, if declared.
    pub fn next(&self, from: State, outcome: Outcome) -> Option<State> {
        self.states.get(&from)?.on.get(&outcome).copied()
    }

    pub fn may_wait(&self, state: State, kind: WaitKind) -> bool {
        self.states
            .get(&state)
            .is_some_and(|d| d.waits.contains(&kind.into()))
    }

    pub fn timers(&self) -> &[TimerDef] {
        &self.timers
    }

    pub fn timer(&self, name: &str) -> Option<&TimerDef> {
        self.timers.iter().find(|t| t.name == name)
    }

    /// The migration that moves cases from `version` to this one, if declared.
    pub fn migration_from(&self, version: u32) -> Option<&Migration> {
        self.migrations.iter().find(|m| m.from_version == version)
    }

    /// True when two definitions mean the same (comments and layout aside).
    pub fn same_definition(&self, other: &Workflow) -> bool {
        self.name == other.name
            && self.version == other.version
            && self.initial == other.initial
            && self.states == other.states
            && self.timers == other.timers
            && self.operator_sla_ms == other.operator_sla_ms
            && self.coach_sla_ms == other.coach_sla_ms
            && self.migrations == other.migrations
    }
}

fn parse_state(name: &str) -> Result<State, WorkflowError> {
    State::parse(name).ok_or_else(|| WorkflowError::UnknownState(name.to_string()))
}

fn parse_duration(timer: &str, value: &str) -> Result<i64, WorkflowError> {
    humantime::parse_duration(value)
        .map(|d| d.as_millis() as i64)
        .map_err(|e| WorkflowError::BadDuration {
            timer: timer.to_string(),
            value: value.to_string(),
            reason: e.to_string(),
        })
}

fn build(file: WorkflowFile, source: &str) -> Result<Workflow, WorkflowError> {
    if file.name.trim().is_empty() || file.version == 0 {
        return Err(WorkflowError::BadIdentity);
    }
    let states = build_states(&file)?;
    let initial = parse_state(&file.initial)?;
    if !states.contains_key(&initial) {
        return Err(WorkflowError::MissingInitial(file.initial.clone()));
    }
    match states.get(&State::Closed) {
        Some(def) if def.terminal => {}
        _ => return Err(WorkflowError::NoTerminal),
    }
    let timers = build_timers(&file, &states)?;
    check_exits(&states, &timers)?;
    check_reachable(initial, &states, &timers)?;
    let migrations = build_migrations(&file)?;
    Ok(Workflow {
        name: file.name,
        version: file.version,
        initial,
        states,
        timers,
        operator_sla_ms: parse_duration("sla.operator", &file.sla.operator)?,
        coach_sla_ms: parse_duration("sla.coach", &file.sla.coach)?,
        migrations,
        source: source.to_string(),
    })
}

fn build_states(file: &WorkflowFile) -> Result<BTreeMap<State, StateDef>, WorkflowError> {
    let mut states = BTreeMap::new();
    for name in file.states.keys() {
        parse_state(name)?;
    }
    for (name, def) in &file.states {
        let state = parse_state(name)?;
        if def.terminal && (!def.on.is_empty() || !def.waits.is_empty()) {
            return Err(WorkflowError::TerminalWithExits {
                state: name.clone(),
            });
        }
        let produced = outcomes_of(state);
        let optional = optional_outcomes_of(state);
        let mut on = BTreeMap::new();
        for (outcome_name, target_name) in &def.on {
            let outcome = Outcome::parse(outcome_name)
                .filter(|o| produced.contains(o) || optional.contains(o))
                .ok_or_else(|| WorkflowError::UnknownOutcome {
                    state: name.clone(),
                    outcome: outcome_name.clone(),
                    known: produced
                        .iter()
                        .chain(optional)
                        .map(|o| o.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            let target = State::parse(target_name)
                .filter(|t| file.states.contains_key(t.as_str()))
                .ok_or_else(|| WorkflowError::TransitionToNowhere {
                    state: name.clone(),
                    outcome: outcome_name.clone(),
                    target: target_name.clone(),
                })?;
            on.insert(outcome, target);
        }
        if !def.terminal
            && let Some(missing) = produced.iter().find(|o| !on.contains_key(o))
        {
            return Err(WorkflowError::UnhandledOutcome {
                state: name.clone(),
                outcome: missing.as_str().to_string(),
            });
        }
        let mut waits = BTreeSet::new();
        for w in &def.waits {
            let kind = WaitKind::parse(w).ok_or_else(|| WorkflowError::UnknownWait {
                state: name.clone(),
                wait: w.clone(),
            })?;
            waits.insert(WaitKindOrd::from(kind));
        }
        if !def.terminal
            && let Some(kind) = engine_waits(state)
                .iter()
                .find(|k| !waits.contains(&WaitKindOrd::from(**k)))
        {
            return Err(WorkflowError::MissingWait {
                state: name.clone(),
                wait: kind.as_str().to_string(),
            });
        }
        states.insert(
            state,
            StateDef {
                on,
                waits,
                terminal: def.terminal,
            },
        );
    }
    Ok(states)
}

fn build_timers(
    file: &WorkflowFile,
    states: &BTreeMap<State, StateDef>,
) -> Result<Vec<TimerDef>, WorkflowError> {
    let mut timers = Vec::new();
    for (name, t) in &file.timers {
        let target_name = t
            .target
            .as_ref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| WorkflowError::TimerWithoutTarget {
                timer: name.clone(),
            })?;
        let target = State::parse(target_name)
            .filter(|s| states.contains_key(s))
            .ok_or_else(|| WorkflowError::TimerTargetUnknown {
                timer: name.clone(),
                target: target_name.clone(),
            })?;
        if t.armed_in.is_empty() {
            return Err(WorkflowError::TimerNeverArmed {
                timer: name.clone(),
            });
        }
        let mut armed_in = BTreeSet::new();
        for s in &t.armed_in {
            let state = State::parse(s)
                .filter(|st| states.contains_key(st))
                .ok_or_else(|| WorkflowError::TimerArmedInUnknown {
                    timer: name.clone(),
                    state: s.clone(),
                })?;
            armed_in.insert(state);
        }
        let until_outbound = match t.until.as_deref() {
            None => false,
            Some("outbound") => true,
            Some(other) => {
                return Err(WorkflowError::BadUntil {
                    timer: name.clone(),
                    value: other.to_string(),
                });
            }
        };
        let intent = match t.intent.as_deref() {
            None => None,
            Some(i) => Some(crate::policy::intent::Intent::parse(i).ok_or_else(|| {
                WorkflowError::BadIntent {
                    timer: name.clone(),
                    value: i.to_string(),
                }
            })?),
        };
        timers.push(TimerDef {
            name: name.clone(),
            after_ms: parse_duration(name, &t.after)?,
            armed_in,
            target,
            until_outbound,
            intent,
        });
    }
    Ok(timers)
}

fn check_exits(
    states: &BTreeMap<State, StateDef>,
    timers: &[TimerDef],
) -> Result<(), WorkflowError> {
    for (state, def) in states {
        if def.terminal {
            continue;
        }
        let timed = timers.iter().any(|t| t.armed_in.contains(state));
        if def.on.is_empty() && !timed {
            if let Some(w) = def.waits.iter().next() {
                let kind = [
                    WaitKind::Customer,
                    WaitKind::Operator,
                    WaitKind::Coach,
                    WaitKind::Tool,
                    WaitKind::Timer,
                ]
                .into_iter()
                .find(|k| WaitKindOrd::from(*k) == *w)
                .map(|k| k.as_str())
                .unwrap_or("something");
                return Err(WorkflowError::WaitWithoutExit {
                    state: state.as_str().to_string(),
                    wait: kind.to_string(),
                });
            }
            return Err(WorkflowError::DeadEnd {
                state: state.as_str().to_string(),
            });
        }
    }
    Ok(())
}

fn check_reachable(
    initial: State,
    states: &BTreeMap<State, StateDef>,
    timers: &[TimerDef],
) -> Result<(), WorkflowError> {
    let mut seen = BTreeSet::from([initial]);
    let mut queue = VecDeque::from([initial]);
    while let Some(s) = queue.pop_front() {
        let mut next: Vec<State> = states[&s].on.values().copied().collect();
        next.extend(
            timers
                .iter()
                .filter(|t| t.armed_in.contains(&s))
                .map(|t| t.target),
        );
        for n in next {
            if seen.insert(n) {
                queue.push_back(n);
            }
        }
    }
    match states.keys().find(|s| !seen.contains(s)) {
        Some(s) => Err(WorkflowError::Unreachable {
            state: s.as_str().to_string(),
            initial: initial.as_str().to_string(),
        }),
        None => Ok(()),
    }
}

fn build_migrations(file: &WorkflowFile) -> Result<Vec<Migration>, WorkflowError> {
    file.migrations
        .iter()
        .map(|m| {
            if m.from_version >= file.version {
                return Err(WorkflowError::BadMigration {
                    from: m.from_version,
                    current: file.version,
                });
            }
            let mut states = HashMap::new();
            for (from, to) in &m.states {
                let unknown = |s: &String| WorkflowError::MigrationUnknownState {
                    from: m.from_version,
                    state: s.clone(),
                };
                let f = State::parse(from).ok_or_else(|| unknown(from))?;
                let t = State::parse(to)
                    .filter(|t| file.states.contains_key(t.as_str()))
                    .ok_or_else(|| unknown(to))?;
                states.insert(f, t);
            }
            Ok(Migration {
                from_version: m.from_version,
                states,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
