//! Typed access to JSON fields with errors that name the field and what was found.

use serde_json::{Map, Value};

use dream_types::Timestamp;

use crate::error::{FieldError, InputErrorCode};

/// Returns a short name of a JSON value's type, for error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object and the path that leads to it (`messages[2]`), for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: &'a str,
}

impl<'a> Obj<'a> {
    /// Wraps `value`, which must be an object.
    pub fn new(value: &'a Value, path: &'a str) -> Result<Self, FieldError> {
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(FieldError::invalid(format!(
                "{} must be an object, found {}",
                if path.is_empty() { "the record" } else { path },
                type_name(other)
            ))),
        }
    }

    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            format!("field `{key}`")
        } else {
            format!("field `{}.{key}`", self.path)
        }
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) -> FieldError {
        FieldError::invalid(format!(
            "{} must be {expected}, found {}",
            self.field(key),
            type_name(found)
        ))
    }

    /// Returns the raw value, treating `null` as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Returns a required string field.
    pub fn str(&self, key: &str) -> Result<&'a str, FieldError> {
        match self.get(key) {
            None => Err(FieldError::invalid(format!(
                "missing required {}",
                self.field(key)
            ))),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    /// Returns an optional string field.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    /// Returns an optional field that may be a string or a number, as text
    /// (ids are written both ways: `"task_id": 3`).
    pub fn opt_scalar(&self, key: &str) -> Result<Option<String>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.wrong(key, "a string or a number", other)),
        }
    }

    /// Returns an optional number field.
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a finite number", &Value::Null)),
            Some(other) => Err(self.wrong(key, "a number", other)),
        }
    }

    /// Returns an optional boolean field.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong(key, "true or false", other)),
        }
    }

    /// Returns a required array field.
    pub fn array(&self, key: &str) -> Result<&'a Vec<Value>, FieldError> {
        match self.get(key) {
            None => Err(FieldError::invalid(format!(
                "missing required {}",
                self.field(key)
            ))),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.wrong(key, "an array", other)),
        }
    }

    /// Returns an optional array field.
    pub fn opt_array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.wrong(key, "an array", other)),
        }
    }

    /// Returns an optional object field.
    pub fn opt_obj(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(self.wrong(key, "an object", other)),
        }
    }

    /// Returns an optional timestamp field (RFC 3339 string or Unix time).
    pub fn opt_time(&self, key: &str) -> Result<Option<Timestamp>, FieldError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => Timestamp::from_json(value)
                .map(Some)
                .map_err(|_| FieldError {
                    code: InputErrorCode::InvalidTimestamp,
                    message: format!(
                        "{} is not a timestamp: {value}; expected RFC 3339 such as \
                     2026-02-11T20:36:45Z or Unix seconds",
                        self.field(key)
                    ),
                }),
        }
    }

    /// Returns an optional map of strings; numbers and booleans are written as text.
    pub fn opt_string_map(
        &self,
        key: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, FieldError> {
        let mut out = std::collections::BTreeMap::new();
        if let Some(map) = self.opt_obj(key)? {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => continue,
                    other => {
                        return Err(FieldError::invalid(format!(
                            "{}.{k} must be a string, found {}",
                            self.field(key),
                            type_name(other)
                        )));
                    }
                };
                out.insert(k.clone(), text);
            }
        }
        Ok(out)
    }
}

/// Describes a serde_json parse error for people: what went wrong, and for EOF errors
/// that the JSON is truncated.
pub(crate) fn describe_json_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = err.to_string();
    // serde_json appends " at line L column C"; the caller reports the line itself.
    let what = match what.rfind(" at line ") {
        Some(pos) => what[..pos].to_owned(),
        None => what,
    };
    match err.classify() {
        Category::Eof => format!(
            "truncated JSON: the record ends before it is complete ({what}, column {})",
            err.column()
        ),
        Category::Syntax => format!("invalid JSON: {what} at column {}", err.column()),
        Category::Data => format!("invalid JSON value: {what}"),
        Category::Io => format!("read error: {what}"),
    }
}
