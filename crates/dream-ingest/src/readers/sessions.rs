//! Canonical JSONL, OpenAI chat and Anthropic Messages: one session per record, or a
//! file that is one bare list of messages.

use dream_types::{SessionHead, SourceKind};
use serde_json::Value;

use super::FileContext;
use crate::emit::Emitter;
use crate::error::InputError;
use crate::messages::{
    AnonymousIds, MessageConverter, ParsedSession, dialect, parse_session_record,
};

/// Emits one parsed session.
pub(super) fn emit_session(emit: &mut Emitter<'_>, session: ParsedSession) -> bool {
    if !emit.begin(session.head) {
        return false;
    }
    for event in session.events {
        if !emit.event(event) {
            return false;
        }
    }
    emit.end(session.outcomes)
}

/// Each record is a session object with `messages`.
pub(super) fn read_session_records(
    ctx: &FileContext<'_>,
    emit: &mut Emitter<'_>,
) -> Result<(), InputError> {
    let mut anonymous = AnonymousIds::default();
    ctx.for_each_record(emit, |emit, value, info| {
        match parse_session_record(&value, ctx.options.format, &mut anonymous) {
            Ok(mut session) => {
                ctx.finish_head(&mut session.head, None);
                emit_session(emit, session)
            }
            Err(err) => {
                let mut err = err.at(ctx.label, Some(info.line));
                if let Some(id) = value.get("id").and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.as_u64().map(|n| n.to_string()))
                }) {
                    err = err.in_session(id);
                }
                emit.invalid(err)
            }
        }
    })
}

/// The file is a list of messages (a JSON array, or one message per line): one session
/// whose id is the file name. Held in memory whole, as one record would be.
pub(super) fn read_message_list(
    ctx: &FileContext<'_>,
    emit: &mut Emitter<'_>,
) -> Result<(), InputError> {
    let mut messages: Vec<(Value, u64)> = Vec::new();
    let mut failed = None;
    ctx.for_each_record(emit, |_, value, info| {
        messages.push((value, info.line));
        true
    })?;
    let values: Vec<Value> = messages.iter().map(|(v, _)| v.clone()).collect();
    let source_kind = ctx.options.format.unwrap_or_else(|| dialect(&values));
    let mut converter = MessageConverter::default();
    let mut events = Vec::with_capacity(values.len());
    for (i, (message, line)) in messages.iter().enumerate() {
        if let Err(err) =
            converter.convert(message, &format!("message {}", i + 1), None, &mut events)
        {
            failed = Some(err.at(ctx.label, Some(*line)).in_session(ctx.stem.clone()));
            break;
        }
    }
    if let Some(err) = failed {
        emit.invalid(err);
        return Ok(());
    }
    let mut head = SessionHead {
        source_kind: Some(match source_kind {
            SourceKind::Canonical => SourceKind::Canonical,
            other => other,
        }),
        source_session_id: ctx.stem.clone(),
        ..SessionHead::default()
    };
    ctx.finish_head(&mut head, None);
    emit_session(
        emit,
        ParsedSession {
            head,
            events,
            outcomes: Vec::new(),
        },
    );
    Ok(())
}
