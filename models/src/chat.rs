//! Chat templates. GGUF files carry theirs as Jinja; rather than run Jinja we recognise the
//! families we know from the template text and otherwise use ChatML, which is what SmolLM2 and
//! most small instruction models are trained on.

use super::tokenizer::GgufTokenizer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// `<|im_start|>role\n…<|im_end|>\n`
    ChatMl,
    /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`
    Llama3,
}

impl Template {
    /// The template `tokenizer.chat_template` describes, when we recognise it.
    pub fn from_metadata(jinja: Option<&str>) -> Template {
        match jinja {
            Some(t) if t.contains("<|start_header_id|>") => Template::Llama3,
            Some(t) if t.contains("<|im_start|>") => Template::ChatMl,
            Some(_) => {
                tracing::warn!("the generator's chat template is not one we know; using ChatML");
                Template::ChatMl
            }
            None => Template::ChatMl,
        }
    }

    /// The prompt ids for one system and one user message, ready for the assistant's answer. The
    /// messages are encoded as plain text: whatever they contain cannot become a control token.
    pub fn prompt(
        self,
        tokenizer: &GgufTokenizer,
        system: &str,
        user: &str,
    ) -> Result<Vec<u32>, String> {
        let mut ids = Vec::new();
        if tokenizer.add_bos
            && let Some(bos) = tokenizer.bos
        {
            ids.push(bos);
        }
        let (open, close, assistant) = match self {
            Template::ChatMl => (
                "<|im_start|>{role}\n",
                "<|im_end|>\n",
                "<|im_start|>assistant\n",
            ),
            Template::Llama3 => (
                "<|start_header_id|>{role}<|end_header_id|>\n\n",
                "<|eot_id|>",
                "<|start_header_id|>assistant<|end_header_id|>\n\n",
            ),
        };
        for (role, text) in [("system", system), ("user", user)] {
            ids.extend(tokenizer.encode_template(&open.replace("{role}", role))?);
            ids.extend(tokenizer.encode_text(text)?);
            ids.extend(tokenizer.encode_template(close)?);
        }
        ids.extend(tokenizer.encode_template(assistant)?);
        Ok(ids)
    }

    /// Tokens that end the assistant's turn.
    pub fn end_of_turn(self, tokenizer: &GgufTokenizer) -> Vec<u32> {
        let token = match self {
            Template::ChatMl => "<|im_end|>",
            Template::Llama3 => "<|eot_id|>",
        };
        tokenizer
            .special(token)
            .into_iter()
            .chain(tokenizer.eos)
            .collect()
    }
}
