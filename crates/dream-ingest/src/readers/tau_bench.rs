//! tau-bench trajectories (`historical_trajectories/*.json`, sierra-research/tau-bench):
//! a JSON array (or JSONL) of `{"task_id", "trial", "reward", "info", "traj"}` records.
//! `traj` is OpenAI chat; `reward` becomes an outcome; `info.task.user_id` is the user.

use std::collections::BTreeMap;

use dream_types::{Outcome, SessionHead, SourceKind};
use serde_json::Value;

use super::FileContext;
use super::sessions::emit_session;
use crate::emit::Emitter;
use crate::error::{FieldError, InputError};
use crate::json::Obj;
use crate::messages::{MessageConverter, ParsedSession};

pub(super) fn read(ctx: &FileContext<'_>, emit: &mut Emitter<'_>) -> Result<(), InputError> {
    ctx.for_each_record(emit, |emit, value, info| match parse(ctx, &value) {
        Ok(mut session) => {
            ctx.finish_head(&mut session.head, Some(&ctx.stem));
            emit_session(emit, session)
        }
        Err((err, id)) => {
            let mut err = err.at(ctx.label, Some(info.line));
            if let Some(id) = id {
                err = err.in_session(id);
            }
            emit.invalid(err)
        }
    })
}

fn parse(
    ctx: &FileContext<'_>,
    record: &Value,
) -> Result<ParsedSession, (FieldError, Option<String>)> {
    let obj = Obj::new(record, "").map_err(|e| (e, None))?;
    let task_id = obj.opt_scalar("task_id").map_err(|e| (e, None))?;
    let trial = obj.opt_scalar("trial").map_err(|e| (e, None))?;
    // tau-bench records carry no id: task and trial identify a run within a file.
    let source_session_id = format!(
        "{}/task-{}/trial-{}",
        ctx.stem,
        task_id.as_deref().unwrap_or("?"),
        trial.as_deref().unwrap_or("?")
    );
    let id = Some(source_session_id.clone());
    let fail = |e: FieldError| (e, id.clone());

    let traj = obj.array("traj").map_err(fail)?;
    let info = obj.opt_obj("info").map_err(fail)?;
    let info_value = info.map(|m| Value::Object(m.clone()));
    let info_obj = info_value
        .as_ref()
        .map(|v| Obj::new(v, "info"))
        .transpose()
        .map_err(fail)?;
    let task_value = info_obj
        .map(|i| i.opt_obj("task"))
        .transpose()
        .map_err(fail)?
        .flatten()
        .map(|m| Value::Object(m.clone()));
    let user = match &task_value {
        Some(task) => Obj::new(task, "info.task")
            .and_then(|t| t.opt_scalar("user_id"))
            .map_err(fail)?,
        None => None,
    };

    let mut metadata = BTreeMap::new();
    if let Some(task_id) = task_id {
        metadata.insert("task_id".to_owned(), task_id);
    }
    if let Some(trial) = trial {
        metadata.insert("trial".to_owned(), trial);
    }

    let mut outcomes = Vec::new();
    if let Some(reward) = obj.opt_f64("reward").map_err(fail)? {
        outcomes.push(Outcome::reward(reward));
    }
    // Sub-scores (`r_actions`, `r_outputs`) in info.reward_info.info, when numeric.
    if let Some(sub) = info_obj
        .and_then(|i| i.get("reward_info"))
        .and_then(|r| r.get("info"))
        .and_then(Value::as_object)
    {
        for (name, value) in sub {
            if let Some(value) = value.as_f64() {
                outcomes.push(Outcome {
                    name: name.clone(),
                    result: None,
                    value: Some(value),
                    explanation: None,
                });
            }
        }
    }

    let mut converter = MessageConverter::default();
    let mut events = Vec::with_capacity(traj.len());
    for (i, message) in traj.iter().enumerate() {
        converter
            .convert(message, &format!("traj[{i}]"), None, &mut events)
            .map_err(fail)?;
    }
    Ok(ParsedSession {
        head: SessionHead {
            source_kind: Some(SourceKind::TauBench),
            source_session_id,
            user,
            metadata,
            ..SessionHead::default()
        },
        events,
        outcomes,
    })
}
