//! Cues in what users write: corrections, stated preferences, keyed facts.
//!
//! These are deliberately plain, documented phrase lists (English): the local engine
//! must be predictable. An LLM engine can replace them.

use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in pattern {pattern}: {e}"))
}

/// Longest user message read for cues; longer ones are task descriptions, not reactions.
pub const MAX_CUE_MESSAGE_CHARS: usize = 600;

static CORRECTION: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        ^\s*(?:no|nope|wrong|stop|wait|hold\ on)\b[\s,.!:;-]
      | \b(?:i\ said|i\ told\ you|i\ asked\ (?:you\ )?(?:to|for)|that'?s\ not\ what|that\ is\ not\ what
          |not\ what\ i\ (?:asked|wanted|meant)|you\ (?:forgot|missed|ignored)|why\ did\ you
          |you\ should(?:n't|\ not)\ have|please\ (?:undo|revert)|undo\ that|revert\ that)\b
      | \buse(?:\s+\S+){1,4}\s+instead\b
      | ^\s*instead\b
      | ^\s*(?:don'?t|do\ not|never)\b
    ")
});

/// Openings that start with "no" but answer a question, not the agent's action.
static NOT_CORRECTION: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        ^\s*no[\s,.!-]*(?:thanks|thank\ you|that'?s\ (?:all|it|fine)|that\ is\ (?:all|it)|worries|problem
          |need|more|other|further|i\ (?:think|don'?t\ have|do\ not\ have)|not\ (?:really|at\ the\ moment)|,?\ ?that'?s)\b
    ")
});

static PREFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        \bi(?:\ would|'d)?\ prefer\b
      | \bi'?d\ rather\b
      | \bplease\ (?:always|never|use|don'?t|do\ not)\b
      | \b(?:always|never)\ (?:use|run|do|add|write|send|put|call|book|ask|commit|push|format|include|reply|answer|start|end)\b
      | \bfrom\ now\ on\b
      | \bby\ default\b
      | \b(?:please\ )?make\ sure\ (?:you\ |that\ you\ )?(?:always|never)\b
    ")
});

static FACT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        \b(?P<owner>my|our|the)\s+(?P<subject>[a-z][a-z0-9\ _-]{1,40}?)
        \s+(?P<verb>is\ now|are\ now|has\ changed\ to|have\ changed\ to|changed\ to|was\ changed\ to|moved\ to|has\ moved\ to|is|are)
        \s+(?P<value>(?:[^.,;!?\n]|\.[^\s.,;!?])+)
    ")
});

/// Words that end a subject early: "my flight on monday is" is about the flight.
const SUBJECT_STOP: [&str; 6] = [" on ", " for ", " with ", " in ", " at ", " from "];

/// Returns whether a user message reads as a correction of what the agent just did.
pub fn is_correction(text: &str) -> bool {
    text.chars().count() <= MAX_CUE_MESSAGE_CHARS
        && CORRECTION.is_match(text)
        && !NOT_CORRECTION.is_match(text)
}

/// Returns the sentence of `text` that states a preference, if any (verbatim slice).
pub fn preference_sentence(text: &str) -> Option<&str> {
    if text.chars().count() > MAX_CUE_MESSAGE_CHARS {
        return None;
    }
    let found = PREFERENCE.find(text)?;
    Some(sentence_around(text, found.start(), found.end()))
}

/// A keyed fact: a statement that sets a value for a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactMatch<'a> {
    /// The subject, normalised (`plan`, `deploy branch`).
    pub key: String,
    /// The value as written.
    pub value: &'a str,
    /// "my …": about the user who said it.
    pub personal: bool,
    /// "is now", "changed to", "moved to": states a change.
    pub change: bool,
    /// The sentence, verbatim.
    pub sentence: &'a str,
}

/// Returns the keyed facts a message states.
pub fn facts(text: &str) -> Vec<FactMatch<'_>> {
    if text.chars().count() > MAX_CUE_MESSAGE_CHARS {
        return Vec::new();
    }
    let mut out = Vec::new();
    for caps in FACT.captures_iter(text) {
        let (Some(owner), Some(subject), Some(verb), Some(value), Some(whole)) = (
            caps.name("owner"),
            caps.name("subject"),
            caps.name("verb"),
            caps.name("value"),
            caps.get(0),
        ) else {
            continue;
        };
        let mut key = subject.as_str().to_lowercase();
        if let Some(cut) = SUBJECT_STOP.iter().filter_map(|w| key.find(w)).min() {
            key.truncate(cut);
        }
        let key = key.trim().to_owned();
        let value = value.as_str().trim();
        if key.is_empty()
            || value.is_empty()
            || value.chars().count() > 80
            || key.split_whitespace().count() > 4
        {
            continue;
        }
        let verb = verb.as_str().to_lowercase();
        out.push(FactMatch {
            key,
            value,
            personal: owner.as_str().eq_ignore_ascii_case("my"),
            change: verb != "is" && verb != "are",
            sentence: sentence_around(text, whole.start(), whole.end()),
        });
    }
    out
}

/// Returns the sentence containing `start..end`, trimmed (a verbatim slice).
pub fn sentence_around(text: &str, start: usize, end: usize) -> &str {
    let begin = text[..start]
        .rfind(['.', '!', '?', '\n'])
        .map_or(0, |i| i + 1);
    let finish = text[end..]
        .find(['.', '!', '?', '\n'])
        .map_or(text.len(), |i| end + i + 1);
    text[begin..finish].trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_are_reactions_not_any_negative() {
        assert!(is_correction("No, use pnpm instead."));
        assert!(is_correction("I said the staging cluster, not prod"));
        assert!(is_correction("don't touch the migrations"));
        assert!(is_correction("Why did you delete the test?"));
        assert!(!is_correction("Nothing else, thanks"));
        assert!(!is_correction("No, that's all for now. Thanks!"));
        assert!(!is_correction(
            "No worries, could you check the balance then?"
        ));
        assert!(!is_correction("Could you book the later flight instead?"));
        assert!(is_correction("Use the staging database instead."));
        assert!(!is_correction("Can you book the flight?"));
        assert!(
            !is_correction(&format!("no, {}", "x".repeat(700))),
            "long task text is not a reaction"
        );
    }

    #[test]
    fn preferences_are_found_with_their_sentence() {
        assert_eq!(
            preference_sentence("Great. I prefer aisle seats. Thanks"),
            Some("I prefer aisle seats.")
        );
        assert_eq!(
            preference_sentence("please always run mix format"),
            Some("please always run mix format")
        );
        assert_eq!(preference_sentence("book it"), None);
    }

    #[test]
    fn keyed_facts_have_subject_value_and_kind() {
        let found = facts("Our plan is now enterprise. My email is a@b.co");
        assert_eq!(found.len(), 2);
        assert_eq!(
            (
                found[0].key.as_str(),
                found[0].value,
                found[0].personal,
                found[0].change
            ),
            ("plan", "enterprise", false, true)
        );
        assert_eq!(
            (found[1].key.as_str(), found[1].value, found[1].personal),
            ("email", "a@b.co", true)
        );
        let trip = facts("my flight on monday is cancelled");
        assert_eq!(trip[0].key, "flight");
    }
}
