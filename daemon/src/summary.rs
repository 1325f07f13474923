//! Checked generation: the model writes a short summary from facts and the client's own entries,
//! and only what the checks pass comes out. Flagged material never reaches the model (the crisis
//! check on facts, the crisis flag on entries); the answer is buffered a sentence at a time and
//! each sentence passes the output rules before anyone sees it. `Models.Generate` serves it, and
//! the session-prep packet's digest writes with it too.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::models::Generation;
use crate::models::GenerationError;
use crate::models::generation::{Event, Request as GenerationRequest};
use crate::models::generator::{Finish, Params};
use crate::safety::Detector;
use crate::safety::output::{OutputRules, Rule};
use crate::timeline::Timeline;

pub const MAX_FACTS: usize = 32;
pub const MAX_REFLECTIONS: usize = 16;
/// The longest fact or instruction, in bytes: a sentence or two, not an entry.
pub const MAX_FACT_BYTES: usize = 1024;
const DEFAULT_INSTRUCTION: &str = "In one or two short sentences, say what the client wrote about, \
     addressing them as \"you\". Use only the facts and entries given. Give no advice.";
const SYSTEM: &str = "You write short, plain summaries of a person's own journal entries for them. \
     You are not a therapist: never advise, diagnose or reassure.";

/// What to write from: facts (often addressed to the client), entries by id, what to write
/// (empty: a one- or two-sentence summary) and how to sample.
pub struct Ask {
    pub facts: Vec<String>,
    pub reflection_ids: Vec<String>,
    pub instruction: String,
    pub params: Params,
}

/// Why nothing is written.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("give at most {MAX_FACTS} facts and {MAX_REFLECTIONS} reflections")]
    TooMuch,
    #[error("a fact or the instruction is at most {MAX_FACT_BYTES} bytes")]
    TooLong,
    #[error("give at least one fact or reflection id to write from")]
    Nothing,
    #[error(
        "the instruction was flagged by the crisis check; flagged text is never given to the model"
    )]
    FlaggedInstruction,
    #[error("a fact was flagged by the crisis check; flagged text is never given to the model")]
    FlaggedFact,
    #[error(
        "reflection {0} was flagged by the crisis check; flagged entries are never given to the model"
    )]
    FlaggedReflection(String),
    #[error(transparent)]
    Timeline(#[from] crate::error::Error),
    #[error(transparent)]
    Generation(#[from] GenerationError),
}

/// What the writer reports, in order: `Started`, any `Sentence`s, then `Done` or `Failed`.
#[derive(Debug)]
pub enum Written {
    Started {
        prompt_tokens: usize,
    },
    /// A whole sentence the output rules passed.
    Sentence(String),
    Done {
        /// The kept sentences, joined.
        text: String,
        /// The rules that dropped a sentence, one entry per sentence dropped.
        dropped: Vec<Rule>,
        finish: Finish,
        prompt_tokens: usize,
        generated_tokens: usize,
    },
    Failed(GenerationError),
}

/// The parts checked generation needs, borrowed from whoever holds them.
pub struct Summariser<'a> {
    pub generation: &'a Generation,
    pub timeline: &'a Timeline,
    pub detector: &'a Arc<Detector>,
    pub rules: &'a Arc<OutputRules>,
}

impl Summariser<'_> {
    /// Checks what to write from and starts the model. Dropping the receiver cancels the
    /// generation.
    pub fn write(&self, ask: Ask) -> Result<mpsc::Receiver<Written>, SummaryError> {
        let user = self.user_message(&ask)?;
        let instruction = match ask.instruction.trim() {
            "" => DEFAULT_INSTRUCTION,
            given => self.checked_instruction(given)?,
        };
        let events = self.generation.submit(GenerationRequest {
            system: format!("{SYSTEM} {instruction}"),
            user,
            params: ask.params,
        })?;
        let (written, receiver) = mpsc::channel(16);
        tokio::spawn(forward_checked(
            events,
            written,
            self.rules.clone(),
            self.detector.clone(),
        ));
        Ok(receiver)
    }

    /// A caller's instruction goes to the model like a fact: bounded, and crisis-checked.
    fn checked_instruction<'a>(&self, instruction: &'a str) -> Result<&'a str, SummaryError> {
        if instruction.len() > MAX_FACT_BYTES {
            return Err(SummaryError::TooLong);
        }
        if self.rules.broken_rule(instruction, self.detector) == Some(Rule::Crisis) {
            return Err(SummaryError::FlaggedInstruction);
        }
        Ok(instruction)
    }

    /// The facts and the quoted entries, each checked: flagged text never reaches the model.
    fn user_message(&self, ask: &Ask) -> Result<String, SummaryError> {
        if ask.facts.len() > MAX_FACTS || ask.reflection_ids.len() > MAX_REFLECTIONS {
            return Err(SummaryError::TooMuch);
        }
        if ask.facts.iter().any(|f| f.len() > MAX_FACT_BYTES) {
            return Err(SummaryError::TooLong);
        }
        if ask.facts.iter().all(|f| f.trim().is_empty()) && ask.reflection_ids.is_empty() {
            return Err(SummaryError::Nothing);
        }
        let mut user = String::new();
        let facts: Vec<&str> = ask
            .facts
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .collect();
        // Facts often speak to the client ("you wrote …"): the output rules' crisis check reads
        // them in the first person too.
        let flagged = |f: &str| self.rules.broken_rule(f, self.detector) == Some(Rule::Crisis);
        if facts.iter().any(|f| flagged(f)) {
            return Err(SummaryError::FlaggedFact);
        }
        if !facts.is_empty() {
            user.push_str("Facts:\n");
            for fact in facts {
                user.push_str(&format!("- {fact}\n"));
            }
        }
        let mut quotes = Vec::new();
        for id in &ask.reflection_ids {
            let reflection = self.timeline.get_reflection(id)?;
            if reflection.crisis {
                return Err(SummaryError::FlaggedReflection(id.clone()));
            }
            quotes.push(crate::timeline::vectors::text_of(&reflection));
        }
        if !quotes.is_empty() {
            user.push_str("Entries, in the client's words:\n");
            for quote in quotes {
                user.push_str(&format!("- \"{}\"\n", quote.trim()));
            }
        }
        Ok(user)
    }
}

/// Relays the generator's events, holding text back until a sentence is complete and passing on
/// only the sentences the output rules pass. Returning drops `events`, which cancels the
/// generation: that happens as soon as the reader goes away.
async fn forward_checked(
    mut events: mpsc::Receiver<Event>,
    written: mpsc::Sender<Written>,
    rules: Arc<OutputRules>,
    detector: Arc<Detector>,
) {
    let mut pending = String::new();
    let mut kept: Vec<String> = Vec::new();
    let mut dropped: Vec<Rule> = Vec::new();
    let mut prompt_tokens = 0;
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = written.closed() => return,
        };
        let Some(event) = event else {
            let _ = written
                .send(Written::Failed(GenerationError::Stopped))
                .await;
            return;
        };
        let mut out = Vec::new();
        match event {
            Event::Started { prompt_tokens: n } => {
                prompt_tokens = n;
                out.push(Written::Started { prompt_tokens: n });
            }
            Event::Text(piece) => {
                pending.push_str(&piece);
                let complete = complete_sentences(&pending);
                if complete > 0 {
                    let vetted = rules.vet(&pending[..complete], &detector);
                    pending.drain(..complete);
                    dropped.extend(vetted.dropped);
                    for sentence in vetted.kept {
                        out.push(Written::Sentence(sentence.clone()));
                        kept.push(sentence);
                    }
                }
            }
            Event::Done(outcome) => {
                let vetted = rules.vet(&pending, &detector);
                dropped.extend(vetted.dropped);
                for sentence in vetted.kept {
                    out.push(Written::Sentence(sentence.clone()));
                    kept.push(sentence);
                }
                if !dropped.is_empty() {
                    tracing::info!(
                        dropped = dropped.len(),
                        "generated sentences dropped by the output rules"
                    );
                }
                out.push(Written::Done {
                    text: kept.join(" "),
                    dropped: std::mem::take(&mut dropped),
                    finish: outcome.finish,
                    prompt_tokens,
                    generated_tokens: outcome.generated_tokens,
                });
            }
            Event::Failed(err) => out.push(Written::Failed(err)),
        }
        let last = out
            .last()
            .is_some_and(|w| matches!(w, Written::Failed(_) | Written::Done { .. }));
        for item in out {
            if written.send(item).await.is_err() {
                return;
            }
        }
        if last {
            return;
        }
    }
}

/// How many bytes of `text` are whole sentences: up to the last `.`, `!` or `?` followed by
/// whitespace, or the last line break (the rule `OutputRules::vet` splits by).
fn complete_sentences(text: &str) -> usize {
    let mut end = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        if c == '\n' || (matches!(c, '.' | '!' | '?') && next.is_some_and(char::is_whitespace)) {
            end = at + c.len_utf8();
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::complete_sentences;

    #[test]
    fn only_finished_sentences_are_released() {
        assert_eq!(complete_sentences("You wrote about work"), 0);
        assert_eq!(complete_sentences("You wrote about work."), 0);
        assert_eq!(complete_sentences("You wrote about work. Then"), 21);
        assert_eq!(complete_sentences("3.5 hours\nand"), 10);
    }
}
