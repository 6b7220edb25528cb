//! Cues in what users write: corrections, stated preferences, keyed facts.
//!
//! These are deliberately plain, documented phrase lists: the local engine must be
//! predictable, and an LLM engine can replace them. Corrections and preferences are
//! recognised in English, French, German, Spanish and Portuguese. Each list holds the
//! phrases a native speaker uses to push back on what an agent just did ("non, pas
//! comme ça", "nein, das ist falsch", "no, eso no", "não, isso está errado") or to
//! state a standing wish ("je préfère…", "bitte immer…", "prefiero…", "prefiro…").
//!
//! Matching is accent-insensitive and case-insensitive: a message is folded (lowercase,
//! diacritics removed, `ß` → `ss`, curly apostrophes straightened) before the phrase
//! lists run, so "prefere", "préfère" and "PRÉFÈRE" read alike; what is returned is
//! always a verbatim slice of the original text. Keyed facts stay English.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::char::{decompose_canonical, is_combining_mark};

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in pattern {pattern}: {e}"))
}

/// Longest user message read for cues; longer ones are task descriptions, not reactions.
pub const MAX_CUE_MESSAGE_CHARS: usize = 600;

/// Text folded for matching, with the way back to the original's byte offsets.
struct Folded {
    text: String,
    /// For each byte of `text`, the offset of the original character it came from;
    /// one more entry for the end.
    origin: Vec<usize>,
}

/// Lowercases `text`, removes diacritics (canonical decomposition without combining
/// marks), maps `ß` to `ss` and typographic apostrophes to `'`.
fn fold(text: &str) -> Folded {
    let mut out = Folded {
        text: String::with_capacity(text.len()),
        origin: Vec::with_capacity(text.len() + 1),
    };
    let push = |out: &mut Folded, c: char, at: usize| {
        let before = out.text.len();
        out.text.push(c);
        out.origin
            .extend(std::iter::repeat_n(at, out.text.len() - before));
    };
    for (at, c) in text.char_indices() {
        match c {
            '’' | '‘' | 'ʼ' | '`' => push(&mut out, '\'', at),
            'ß' => {
                push(&mut out, 's', at);
                push(&mut out, 's', at);
            }
            _ => {
                for lower in c.to_lowercase() {
                    decompose_canonical(lower, |d| {
                        if !is_combining_mark(d) {
                            push(&mut out, d, at);
                        }
                    });
                }
            }
        }
    }
    out.origin.push(text.len());
    out
}

impl Folded {
    /// Maps a byte range of the folded text to the original's, widened to whole
    /// characters.
    fn original_range(&self, start: usize, end: usize, original: &str) -> (usize, usize) {
        let from = self.origin[start];
        let to = if end >= self.text.len() {
            original.len()
        } else {
            self.origin[end]
        };
        (from, to.max(from))
    }
}

/// Joins phrase patterns into one alternation, each phrase between word boundaries,
/// with any run of spaces inside a phrase matching any run of whitespace.
fn alternation(phrases: &[&str]) -> String {
    phrases
        .iter()
        .map(|p| format!(r"\b(?:{})\b", p.replace(' ', r"\s+")))
        .collect::<Vec<_>>()
        .join("|")
}

/// Openings (at the start of a message) that push back on the agent, per language.
/// Phrases are written folded: lowercase and without accents.
const CORRECTION_OPENERS: &[&str] = &[
    // English
    r"no|nope|wrong|stop|wait|hold on|instead|don'?t|do not|never",
    // French: "Non, …", "Mais non", "Attends", "Arrête", "Pas comme ça"
    r"non|mais non|attends|attendez|arrete|arretez|pas comme ca|pas ca|ne fais pas|ne faites pas",
    // German: "Nein, …", "Halt", "Stopp", "Warte", "So nicht", "Falsch"
    r"nein|halt|stopp|stop|warte|moment mal|so nicht|nicht so|falsch",
    // Spanish: "Espera", "Para", "Eso no", "Alto"
    r"espera|esperate|para ya|alto|eso no|asi no",
    // Portuguese: "Não, …", "Espera", "Pare", "Assim não"
    r"nao|espera|espere|pare|assim nao|isso nao",
];

/// Phrases anywhere in a message that push back on the agent, per language.
const CORRECTION_PHRASES: &[&str] = &[
    // English
    r"i said|i told you|i asked (?:you )?(?:to|for)|that'?s not what|that is not what",
    r"not what i (?:asked|wanted|meant)|you (?:forgot|missed|ignored)|why did you",
    r"you should(?:n't| not) have|please (?:undo|revert)|undo that|revert that",
    r"use(?: \S+){1,4} instead",
    // French
    r"pas comme ca|(?:ce n'est|c'est|c'etait|ce n'etait) pas (?:ce que|ca que|comme ca que) (?:j'ai|je t'ai|je vous ai|je voulais|j'avais)",
    r"je (?:t'ai|vous ai) (?:dit|demande)|j'ai (?:dit|demande) (?:de|d'|que)",
    r"(?:c'est|c'etait) (?:faux|incorrect|une erreur)|(?:ce n'est pas|c'est pas|ce n'etait pas) (?:juste|bon|correct|ca)",
    r"(?:tu as|t'as|vous avez)(?: \S+)? oublie|pourquoi (?:as-tu|tu as|t'as|avez-vous|vous avez)",
    r"tu n'aurais pas du|vous n'auriez pas du|annule (?:ca|cela|ce changement|tout)|reviens en arriere|defais",
    r"(?:utilise|utilisez|prends|prenez|mets|mettez)(?: \S+){1,4} (?:a la place|plutot)|(?:prends|prenez|utilise|utilisez|mets|mettez) plutot|au lieu de",
    // German
    r"das (?:ist|war) (?:falsch|nicht richtig|nicht korrekt|verkehrt|nicht das was ich)|das stimmt (?:so )?nicht",
    r"(?:das|so) (?:war|ist|habe ich) (?:doch )?nicht (?:gemeint|gewollt|gesagt|verlangt)",
    r"das habe ich nicht (?:gesagt|gemeint|gewollt|verlangt)|ich (?:habe|hab) (?:dir )?(?:doch )?(?:gesagt|gebeten)",
    r"du hast(?: \S+){0,2} vergessen|warum hast du|wieso hast du",
    r"mach (?:das|es|alles) (?:bitte )?(?:ruckgangig|rueckgaengig)|du (?:hattest|hast) (?:das )?nicht",
    r"(?:nimm|verwende|benutze|nutze)(?: \S+){1,4} (?:stattdessen|lieber)|statt dessen|stattdessen",
    // Spanish
    r"eso no|(?:no es|eso no es) (?:lo que|eso lo que|asi como) (?:te )?(?:pedi|dije|queria)",
    r"(?:ya )?te (?:dije|pedi|habia dicho) (?:que|de)|(?:eso |esto )?esta mal|(?:es|eso es) incorrecto",
    r"(?:te )?olvidaste|por que (?:hiciste|has hecho|borraste|cambiaste|quitaste)",
    r"deshaz (?:eso|esto|el cambio|lo que)|revierte|no deberias haber",
    r"(?:usa|utiliza|pon)(?: \S+){1,4} en (?:su lugar|vez)|en lugar de|en vez de",
    // Portuguese
    r"(?:isso|isto) (?:esta|ta) errado|esta errado|(?:nao|num) (?:e|foi) (?:isso|o) que eu (?:pedi|queria|disse)",
    r"eu (?:te )?disse (?:para|pra|que)|(?:ja )?te disse|(?:voce )?esqueceu|por que (?:voce )?(?:fez|apagou|mudou|removeu)",
    r"desfaca|desfaz isso|reverta|(?:voce )?nao deveria ter",
    r"(?:use|usa|utilize)(?: \S+){1,4} (?:em vez disso|no lugar)|em vez de|ao inves de",
];

static CORRECTION: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^\s*[¿¡]?(?:{})(?:[\s,.!:;-]|$)|{}",
        CORRECTION_OPENERS.join("|").replace(' ', r"\s+"),
        alternation(CORRECTION_PHRASES)
    ))
});

/// Openings that start with "no" (or its translation) but answer a question, not the
/// agent's action: "no thanks", "non merci", "nein danke", "no gracias", "não,
/// obrigado", and Spanish or Portuguese sentences that merely begin with a negation
/// ("No tengo el número", "Não sei").
const NOT_CORRECTION_AFTER_NO: &[&str] = &[
    r"thanks|thank you|that'?s (?:all|it|fine)|that is (?:all|it)|worries|problem",
    r"need|more|other|further|i (?:think|don'?t have|do not have)|not (?:really|at the moment)|,? ?that'?s",
    r"merci|c'est tout|ca ira|rien d'autre|pas (?:besoin|pour l'instant)|je ne (?:sais|pense)",
    r"danke|das war'?s|das ist alles|nichts (?:mehr|weiter)|ich (?:weiss|glaube) nicht",
    r"gracias|eso es todo|nada mas|esta bien|(?:tengo|tenemos|se|puedo|necesito|hay|recuerdo|estoy|conozco|lo se|me acuerdo)",
    r"obrigad[oa]|(?:e )?so isso|esta bom|tudo bem|(?:tenho|temos|sei|posso|preciso|lembro|estou|conheco|me lembro)",
];

static NOT_CORRECTION: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^\s*(?:no|non|nein|nao)[\s,.!-]*(?:{})\b",
        NOT_CORRECTION_AFTER_NO.join("|").replace(' ', r"\s+")
    ))
});

/// Phrases that state a standing preference, per language (folded).
const PREFERENCE_PHRASES: &[&str] = &[
    // English
    r"i(?: would|'d)? prefer|i'?d rather|please (?:always|never|use|don'?t|do not)",
    r"(?:always|never) (?:use|run|do|add|write|send|put|call|book|ask|commit|push|format|include|reply|answer|start|end)",
    r"from now on|by default|(?:please )?make sure (?:you |that you )?(?:always|never)",
    // French
    r"je prefere|je prefererais|j'aime mieux|j'aimerais mieux|j'aimerais que tu",
    r"(?:merci de|s'il te plait|s'il vous plait|stp|svp),? (?:toujours|jamais|ne jamais|n'\S+ jamais|ne \S+ jamais)",
    r"(?:utilise|utilisez|fais|faites|mets|mettez|ecris|ecrivez|lance|lancez|reponds|repondez|ajoute|ajoutez|envoie|envoyez|reserve|reservez|demande|demandez|verifie|verifiez)(?:-moi)? toujours",
    r"toujours (?:utiliser|faire|mettre|ecrire|lancer|repondre|ajouter|envoyer|reserver|demander|verifier|confirmer)",
    r"(?:ne |n')(?:utilise|utilisez|fais|faites|mets|mettez|ecris|lance|pousse|poussez|envoie|reserve|supprime|touche|touchez|modifie|commite)\S*(?: \S+)? jamais",
    r"ne jamais (?:utiliser|faire|mettre|ecrire|lancer|pousser|envoyer|reserver|supprimer|toucher|modifier)",
    r"a partir de maintenant|desormais|dorenavant|par defaut",
    // German
    r"ich bevorzuge|ich (?:mochte|moechte|hatte|haette|hab|habe) (?:es )?lieber|mir ist (?:es )?lieber",
    r"bitte (?:immer|stets|nie|niemals|grundsatzlich|grundsaetzlich)",
    r"(?:verwende|verwendet|benutze|benutzt|nutze|nimm|mach|schreib|schreibe|fuhre|fuehre|antworte|buche|frag|frage|pruf|pruefe|prufe)(?: bitte)? (?:immer|stets|nie|niemals)",
    r"(?:immer|stets|nie|niemals)(?: \S+){0,3} (?:verwenden|benutzen|nutzen|nehmen|machen|schreiben|ausfuhren|ausfuehren|antworten|buchen|fragen|prufen|pruefen)",
    r"ab jetzt|von nun an|ab sofort|kunftig|kuenftig|in zukunft|standardmassig|standardmaessig",
    // Spanish
    r"prefiero|preferiria|me gustaria mas",
    r"(?:por favor,? )?(?:siempre|nunca) (?:usa|uses|utiliza|utilices|haz|hagas|pon|pongas|escribe|escribas|ejecuta|ejecutes|responde|respondas|reserva|reserves|pregunta|preguntes|agrega|anade|envia|verifica|verifiques|comprueba|confirma|confirmes)",
    r"(?:usa|utiliza|haz|pon|escribe|ejecuta|responde|reserva|pregunta|verifica|comprueba|confirma|envia)(?:me)? siempre",
    r"no (?:uses|utilices|hagas|pongas|ejecutes|envies) nunca|a partir de ahora|de ahora en adelante|de aqui en adelante|por defecto",
    // Portuguese
    r"prefiro|preferiria|eu gostaria mais",
    r"(?:por favor,? )?(?:sempre|nunca) (?:use|usa|utilize|faca|faz|ponha|coloque|escreva|rode|execute|responda|reserve|pergunte|adicione|envie|verifique|confira|confirme)",
    r"(?:use|usa|utilize|faca|rode|execute|responda|reserve|verifique|confira|confirme|envie)(?:-me)? sempre",
    r"nao (?:use|usa|utilize|faca|rode|execute|envie) nunca|a partir de agora|daqui (?:pra|para) frente|de agora em diante|por padrao",
];

static PREFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        // A sentence that opens with "sempre" / "siempre" states a habit to keep.
        r"{}|(?:^|[.!?\n]\s*)(?:por favor,?\s+)?(?:sempre|siempre)\s+\w",
        alternation(PREFERENCE_PHRASES)
    ))
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

/// Returns whether a user message reads as a correction of what the agent just did,
/// in any of the supported languages.
pub fn is_correction(text: &str) -> bool {
    if text.chars().count() > MAX_CUE_MESSAGE_CHARS {
        return false;
    }
    let folded = fold(text);
    CORRECTION.is_match(&folded.text) && !NOT_CORRECTION.is_match(&folded.text)
}

/// Returns the sentence of `text` that states a preference, if any (verbatim slice),
/// in any of the supported languages.
pub fn preference_sentence(text: &str) -> Option<&str> {
    if text.chars().count() > MAX_CUE_MESSAGE_CHARS {
        return None;
    }
    let folded = fold(text);
    let found = PREFERENCE.find(&folded.text)?;
    // The sentence-opening alternative starts at the previous sentence's end.
    let start = found.start()
        + folded.text[found.start()..found.end()]
            .find(|c: char| c.is_alphanumeric())
            .unwrap_or(0);
    let (start, end) = folded.original_range(start, found.end(), text);
    Some(sentence_around(text, start, end))
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
    fn corrections_in_french_german_spanish_and_portuguese() {
        let corrections = [
            // French
            "Non, ce n'est pas du tout ce que je t'ai demandé.",
            "Mais non ! Pas comme ça, reprends depuis le début.",
            "C'est faux, la réunion est jeudi.",
            "Tu as encore oublié les tests.",
            "Pourquoi as-tu supprimé ce fichier ?",
            "Prends plutôt la branche de staging, pas celle-ci.",
            // German
            "Nein, das ist so falsch.",
            "Das stimmt nicht, der Flug geht am Freitag.",
            "Ich habe dir doch gesagt, dass wir pnpm nehmen.",
            "Warum hast du die Migration gelöscht?",
            "Mach das bitte rückgängig.",
            "Nimm stattdessen den Staging-Server.",
            // Spanish
            "No, eso no es lo que te pedí.",
            "Eso está mal, el vuelo sale el martes.",
            "Ya te dije que no tocaras la base de datos.",
            "¿Por qué borraste la prueba?",
            "Usa la tarjeta de regalo en vez de la de crédito.",
            // Portuguese
            "Não, isso está totalmente errado.",
            "Não foi isso que eu pedi.",
            "Eu te disse para não mexer nas migrações.",
            "Você esqueceu de rodar os testes.",
            "Use o cartão de presente em vez disso.",
        ];
        for text in corrections {
            assert!(is_correction(text), "a correction: {text}");
        }
        let not_corrections = [
            "Non merci, ce sera tout.",
            "Nein danke, das war's.",
            "No gracias, eso es todo.",
            "No tengo el número de reserva a mano.",
            "Não, obrigado, é só isso.",
            "Não sei o número do voo.",
            "Je voudrais réserver un vol pour Lyon.",
            "Ich möchte einen Flug nach Berlin buchen.",
            "Quiero cancelar mi reserva.",
            "Gostaria de mudar o meu voo.",
        ];
        for text in not_corrections {
            assert!(!is_correction(text), "not a correction: {text}");
        }
    }

    #[test]
    fn preferences_in_french_german_spanish_and_portuguese_with_their_sentence() {
        let preferences = [
            (
                "Merci. Je préfère les places côté hublot. À bientôt",
                "Je préfère les places côté hublot.",
            ),
            (
                "Pour les commits, j'aime mieux des messages courts.",
                "Pour les commits, j'aime mieux des messages courts.",
            ),
            (
                "N'utilise jamais npm dans ce dépôt.",
                "N'utilise jamais npm dans ce dépôt.",
            ),
            (
                "Dorénavant, réponds en français.",
                "Dorénavant, réponds en français.",
            ),
            (
                "Bitte immer zuerst die Tests laufen lassen.",
                "Bitte immer zuerst die Tests laufen lassen.",
            ),
            (
                "Ich hätte lieber einen Gangplatz.",
                "Ich hätte lieber einen Gangplatz.",
            ),
            (
                "Verwende stets pnpm statt npm.",
                "Verwende stets pnpm statt npm.",
            ),
            (
                "Ab jetzt nur noch auf Deutsch antworten.",
                "Ab jetzt nur noch auf Deutsch antworten.",
            ),
            (
                "Gracias. Prefiero volar por la mañana.",
                "Prefiero volar por la mañana.",
            ),
            (
                "Por favor, siempre confirma el número de pedido.",
                "Por favor, siempre confirma el número de pedido.",
            ),
            (
                "De ahora en adelante, escribe los commits en inglés.",
                "De ahora en adelante, escribe los commits en inglés.",
            ),
            (
                "Prefiro assento no corredor.",
                "Prefiro assento no corredor.",
            ),
            (
                "Ok. Sempre confirme o número do pedido antes.",
                "Sempre confirme o número do pedido antes.",
            ),
            (
                "A partir de agora, rode o formatador antes do commit.",
                "A partir de agora, rode o formatador antes do commit.",
            ),
            ("Merci, JE PREFERE le train.", "Merci, JE PREFERE le train."),
        ];
        for (text, sentence) in preferences {
            assert_eq!(preference_sentence(text), Some(sentence), "{text}");
        }
        for text in [
            "Je n'ai jamais pris ce vol.",
            "Ich habe das nie gesagt, oder?",
            "Nunca he volado con ustedes.",
            "Quero reservar um voo.",
        ] {
            assert_eq!(preference_sentence(text), None, "not a preference: {text}");
        }
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
