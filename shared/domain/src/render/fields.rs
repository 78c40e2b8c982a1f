//! Merge fields and missing ones: the context a step is rendered with, and
//! the objects a template sees — one namespace per source (`candidate`, `sender`,
//! `campaign`, `custom`) and a root that also shows custom fields at the top level. A
//! blank value is absent, so it is undefined to the template; every lookup without a value
//! is noted, so that the error names the field to blame.

use minijinja::value::{Enumerator, Object, ObjectExt, Value};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::non_blank;

/// Candidate merge fields (`candidate.*`); each may be absent from the JSON form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CandidateFields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    pub title: Option<String>,
    pub company: Option<String>,
    pub location: Option<String>,
}

/// Sender merge fields (`sender.*`); each may be absent from the JSON form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SenderFields {
    pub first_name: Option<String>,
    pub full_name: Option<String>,
    pub email: Option<String>,
}

/// Everything a step can merge for one recipient; each part may be absent from
/// the JSON form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RenderContext {
    pub candidate: CandidateFields,
    pub sender: SenderFields,
    pub campaign_name: Option<String>,
    /// Per-enrollment custom fields (and overrides), by name.
    pub custom: BTreeMap<String, String>,
}

/// The name of the last merge field looked up without a value. When the
/// engine then reports an undefined value, this is the field to blame: a
/// defaulted lookup (`x | default(…)`) is recorded too, but it does not fail,
/// and any later failing lookup overwrites it.
#[derive(Debug, Default)]
pub(super) struct MissingLog(Mutex<Option<String>>);

impl MissingLog {
    fn record(&self, name: String) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(name);
    }

    pub(super) fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// One merge-field namespace (`candidate`, `sender`, `campaign`, `custom`):
/// present values only, so a missing one is undefined, and recorded.
#[derive(Debug)]
pub(super) struct Namespace {
    name: &'static str,
    values: BTreeMap<String, String>,
    log: Arc<MissingLog>,
}

impl Object for Namespace {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str().map_or_else(|| key.to_string(), str::to_owned);
        match self.values.get(&key) {
            Some(value) => Some(Value::from(value.as_str())),
            None => {
                self.log.record(format!("{}.{key}", self.name));
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| Box::new(this.values.keys().map(|k| Value::from(k.as_str()))))
    }
}

/// The template's top-level scope: the namespaces, then custom fields as a
/// shorthand. Template functions (`range`, …) are looked up here first by the
/// engine, so they are neither shadowed by custom fields nor recorded.
#[derive(Debug)]
pub(super) struct Root {
    namespaces: BTreeMap<&'static str, Value>,
    custom: BTreeMap<String, String>,
    globals: BTreeSet<String>,
    log: Arc<MissingLog>,
}

impl Object for Root {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        if let Some(namespace) = self.namespaces.get(key) {
            return Some(namespace.clone());
        }
        if self.globals.contains(key) {
            return None;
        }
        match self.custom.get(key) {
            Some(value) => Some(Value::from(value.as_str())),
            None => {
                self.log.record(key.to_owned());
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| {
            Box::new(
                this.namespaces
                    .keys()
                    .map(|k| Value::from(*k))
                    .chain(this.custom.keys().map(|k| Value::from(k.as_str()))),
            )
        })
    }
}

impl Root {
    /// The top-level scope of a render for `ctx`: each namespace holds the
    /// non-blank values only, so that a blank one is missing, and notes in `log`
    /// every lookup without a value. `globals` are the environment's template functions.
    pub(super) fn of(
        ctx: &RenderContext,
        globals: BTreeSet<String>,
        log: &Arc<MissingLog>,
    ) -> Value {
        let namespace = |name: &'static str, pairs: &[(&str, &Option<String>)]| {
            let values = pairs
                .iter()
                .filter_map(|(k, v)| {
                    non_blank(v.as_deref()).map(|v| ((*k).to_owned(), v.to_owned()))
                })
                .collect();
            Value::from_object(Namespace {
                name,
                values,
                log: log.clone(),
            })
        };
        let c = &ctx.candidate;
        let s = &ctx.sender;
        let custom: BTreeMap<String, String> = ctx
            .custom
            .iter()
            .filter(|(_, v)| non_blank(Some(v)).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let namespaces = BTreeMap::from([
            (
                "candidate",
                namespace(
                    "candidate",
                    &[
                        ("first_name", &c.first_name),
                        ("last_name", &c.last_name),
                        ("full_name", &c.full_name),
                        ("title", &c.title),
                        ("company", &c.company),
                        ("location", &c.location),
                    ],
                ),
            ),
            (
                "sender",
                namespace(
                    "sender",
                    &[
                        ("first_name", &s.first_name),
                        ("full_name", &s.full_name),
                        ("email", &s.email),
                    ],
                ),
            ),
            (
                "campaign",
                namespace("campaign", &[("name", &ctx.campaign_name)]),
            ),
            (
                "custom",
                Value::from_object(Namespace {
                    name: "custom",
                    values: custom.clone(),
                    log: log.clone(),
                }),
            ),
        ]);
        Value::from_object(Root {
            namespaces,
            custom,
            globals,
            log: log.clone(),
        })
    }
}
