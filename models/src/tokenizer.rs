//! The generator's tokenizer, built from the GGUF metadata the way llama.cpp reads it (candle's own
//! GGUF builder gives wrong ids for SmolLM2: it adds a prefix space and misreads key names).
//!
//! `gpt2`-type vocabularies only: BPE from `tokenizer.ggml.tokens` + `tokenizer.ggml.merges`,
//! pre-tokenised by the pre-tokenizer `tokenizer.ggml.pre` names (digits one by one for `smollm`),
//! then byte-level without a prefix space. Control tokens are special: they are only ever produced
//! by [`GgufTokenizer::encode_template`] splitting a template at them, never by client text.

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

/// llama.cpp's token type for control tokens (`LLAMA_TOKEN_TYPE_CONTROL`).
const CONTROL: i64 = 3;
/// … and for user-defined tokens, which llama.cpp also matches in templates.
const USER_DEFINED: i64 = 4;

pub struct GgufTokenizer {
    inner: Tokenizer,
    /// Control and user-defined tokens, longest first (so that a prefix never wins).
    specials: Vec<(String, u32)>,
    pub eos: Option<u32>,
    pub bos: Option<u32>,
    pub add_bos: bool,
}

fn get<'a>(ct: &'a Content, key: &str) -> Result<&'a Value, String> {
    ct.metadata
        .get(key)
        .ok_or_else(|| format!("the GGUF has no `{key}`"))
}

fn strings(ct: &Content, key: &str) -> Result<Vec<String>, String> {
    get(ct, key)?
        .to_vec()
        .map_err(|_| format!("`{key}` is not a list"))?
        .iter()
        .map(|v| {
            v.to_string()
                .cloned()
                .map_err(|_| format!("`{key}` holds a non-string"))
        })
        .collect()
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::U8(x) => Some(i64::from(*x)),
        Value::I8(x) => Some(i64::from(*x)),
        Value::U16(x) => Some(i64::from(*x)),
        Value::I16(x) => Some(i64::from(*x)),
        Value::U32(x) => Some(i64::from(*x)),
        Value::I32(x) => Some(i64::from(*x)),
        Value::U64(x) => i64::try_from(*x).ok(),
        Value::I64(x) => Some(*x),
        _ => None,
    }
}

fn token_id(ct: &Content, key: &str) -> Option<u32> {
    ct.metadata
        .get(key)
        .and_then(integer)
        .and_then(|v| u32::try_from(v).ok())
}

impl GgufTokenizer {
    /// The tokenizer of the GGUF at `path`, without loading the weights.
    pub fn from_file(path: &std::path::Path) -> Result<GgufTokenizer, String> {
        let mut file =
            std::io::BufReader::new(std::fs::File::open(path).map_err(|e| e.to_string())?);
        let content = Content::read(&mut file).map_err(|e| e.to_string())?;
        GgufTokenizer::from_gguf(&content)
    }

    pub fn from_gguf(ct: &Content) -> Result<GgufTokenizer, String> {
        let model = get(ct, "tokenizer.ggml.model")?
            .to_string()
            .map_err(|e| e.to_string())?;
        if model != "gpt2" {
            return Err(format!(
                "its tokenizer is of type `{model}`; only byte-level BPE (`gpt2`) models are supported"
            ));
        }
        let pre = ct
            .metadata
            .get("tokenizer.ggml.pre")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        let tokens = strings(ct, "tokenizer.ggml.tokens")?;
        let merges = strings(ct, "tokenizer.ggml.merges")?
            .into_iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| format!("a merge without a space: `{m}`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let types: Vec<i64> = match ct.metadata.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|e| e.to_string())?
                .iter()
                .map(|t| integer(t).unwrap_or(1))
                .collect(),
            None => Vec::new(),
        };
        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(id, t)| (t.clone(), id as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| e.to_string())?;
        let mut inner = Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(pre_tokenizer(&pre)?));
        inner.with_decoder(Some(ByteLevelDecoder::default()));

        let mut specials: Vec<(String, u32)> = tokens
            .iter()
            .enumerate()
            .filter(|(id, _)| matches!(types.get(*id), Some(&CONTROL) | Some(&USER_DEFINED)))
            .map(|(id, t)| (t.clone(), id as u32))
            .collect();
        let added: Vec<AddedToken> = specials
            .iter()
            .map(|(t, _)| AddedToken::from(t.clone(), true))
            .collect();
        inner.add_special_tokens(added).map_err(|e| e.to_string())?;
        // Special tokens in client text stay text: only the template makes control tokens.
        inner.set_encode_special_tokens(true);
        specials.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));

        Ok(GgufTokenizer {
            inner,
            specials,
            eos: token_id(ct, "tokenizer.ggml.eos_token_id"),
            bos: token_id(ct, "tokenizer.ggml.bos_token_id"),
            add_bos: ct
                .metadata
                .get("tokenizer.ggml.add_bos_token")
                .and_then(|v| v.to_bool().ok())
                .unwrap_or(false),
        })
    }

    /// Ids of `text` as plain text: `<|im_start|>` typed by the client is just characters.
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>, String> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        self.inner
            .encode_fast(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| e.to_string())
    }

    /// Ids of template text, where control tokens (`<|im_start|>`) are control tokens. Never pass
    /// client text here: llama.cpp's `parse_special = true`.
    pub fn encode_template(&self, text: &str) -> Result<Vec<u32>, String> {
        let mut ids = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let next = self
                .specials
                .iter()
                .filter_map(|(t, id)| rest.find(t.as_str()).map(|at| (at, t.len(), *id)))
                // Earliest match; at the same place the longest (the list is longest first).
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, len, id)) => {
                    ids.extend(self.encode_text(&rest[..at])?);
                    ids.push(id);
                    rest = &rest[at + len..];
                }
                None => {
                    ids.extend(self.encode_text(rest)?);
                    rest = "";
                }
            }
        }
        Ok(ids)
    }

    /// The id of a control token such as `<|im_end|>`.
    pub fn special(&self, token: &str) -> Option<u32> {
        self.specials
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, id)| *id)
    }

    /// Text of `ids`, control tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String, String> {
        self.inner.decode(ids, true).map_err(|e| e.to_string())
    }
}

/// What `tokenizer.ggml.pre` asks for before the byte-level split. Unknown names fall back to
/// plain GPT-2 splitting, which is right for most `gpt2`-type vocabularies.
fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper, String> {
    let byte_level = ByteLevel::new(false, true, true);
    Ok(match pre {
        // SmolLM's tokenizer.json: Digits(individual) then ByteLevel(no prefix space).
        "smollm" | "starcoder" | "refact" => {
            Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into()
        }
        _ => byte_level.into(),
    })
}
