//! Canonical JSONL, OpenAI chat and Anthropic Messages: one session per record, or a
//! file that is one bare list of messages.
//!
//! Memory: a session record is held as one parsed JSON value while its messages are
//! converted and sent one at a time, so the bound is the largest record; a bare
//! message list is read a message at a time (twice: once to tell its dialect), so the
//! bound is the largest message, whatever the length of the session.

use dream_types::{SessionHead, SourceKind};

use super::FileContext;
use crate::emit::Emitter;
use crate::error::{InputError, InputErrorCode};
use crate::messages::{
    AnonymousIds, MessageConverter, ParsedSession, is_anthropic_message, parse_session_record,
};
use crate::record::parse_record;

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
        let record_id = || {
            value.get("id").and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
        };
        let mut record = match parse_session_record(&value, ctx.options.format, &mut anonymous) {
            Ok(record) => record,
            Err(err) => {
                let mut err = err.at(ctx.label, Some(info.line));
                if let Some(id) = record_id() {
                    err = err.in_session(id);
                }
                return emit.invalid(err);
            }
        };
        ctx.finish_head(&mut record.head, None);
        let id = record.head.source_session_id.clone();
        if !emit.begin(record.head.clone()) {
            return false;
        }
        match record.for_each_event(|event| emit.event(event)) {
            Ok(true) => emit.end(std::mem::take(&mut record.outcomes)),
            Ok(false) => false,
            // The session is open: this abandons it, and nothing of it is stored.
            Err(err) => emit.invalid(err.at(ctx.label, Some(info.line)).in_session(id)),
        }
    })
}

/// The file is a list of messages (a JSON array, or one message per line): one session
/// whose id is the file name.
///
/// Read twice, a message at a time: first for the dialect (the session's source kind
/// must be known before its first event), then to convert and send each message. A
/// bad message abandons the session (nothing of it is stored) and ends the file.
pub(super) fn read_message_list(
    ctx: &FileContext<'_>,
    emit: &mut Emitter<'_>,
) -> Result<(), InputError> {
    let source_kind = match ctx.options.format {
        Some(format) => format,
        None => message_list_dialect(ctx)?,
    };
    let mut head = SessionHead {
        source_kind: Some(source_kind),
        source_session_id: ctx.stem.clone(),
        ..SessionHead::default()
    };
    ctx.finish_head(&mut head, None);
    if !emit.begin(head) {
        return Ok(());
    }
    let mut converter = MessageConverter::default();
    let mut events = Vec::new();
    let mut number = 0_u64;
    ctx.for_each_record(emit, |emit, message, info| {
        number += 1;
        events.clear();
        if let Err(err) =
            converter.convert(&message, &format!("message {number}"), None, &mut events)
        {
            emit.invalid(
                err.at(ctx.label, Some(info.line))
                    .in_session(ctx.stem.clone()),
            );
            return false;
        }
        events.drain(..).all(|event| emit.event(event))
    })?;
    if emit.is_open() {
        emit.end(Vec::new());
    }
    Ok(())
}

/// Returns the dialect of a message list (Anthropic as soon as one message has an
/// Anthropic-only block), reading one message at a time. Bad records are left for
/// the second pass to report.
fn message_list_dialect(ctx: &FileContext<'_>) -> Result<SourceKind, InputError> {
    let mut records = ctx.records()?;
    let mut buf = Vec::new();
    loop {
        match records.next_record(&mut buf) {
            Ok(Some(info)) => {
                if parse_record(&buf, info, ctx.label).is_ok_and(|m| is_anthropic_message(&m)) {
                    return Ok(SourceKind::AnthropicMessages);
                }
            }
            Ok(None) => break,
            Err(err) if err.code == InputErrorCode::Io => return Err(err),
            Err(_) if ctx.layout == crate::record::Layout::Lines => {}
            Err(_) => break,
        }
    }
    Ok(SourceKind::OpenaiChat)
}
