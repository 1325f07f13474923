//! The candle embedder agrees with sentence-transformers on the same weights: the reference
//! vectors in tests/reference/embeddings.json were made by tests/reference/make_embedding_reference.py.

#![allow(clippy::unwrap_used)]

use interlude_daemon::models::Embedder;
use interlude_daemon::models::embedder::cosine;
use interlude_e2e::install_models;

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

#[test]
fn embeddings_agree_with_sentence_transformers_alone_and_in_a_batch() {
    let data = tempfile::tempdir().unwrap();
    let Some(models) = install_models(data.path()) else {
        return;
    };
    let embedder = Embedder::load(&models.join("all-MiniLM-L6-v2")).unwrap();
    let reference: Reference =
        serde_json::from_str(include_str!("../../../tests/reference/embeddings.json")).unwrap();
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    let batch = embedder.embed(&texts).unwrap();
    let worst = batch
        .iter()
        .zip(&reference.vectors)
        .map(|(g, w)| cosine(g, w))
        .fold(1.0f32, f32::min);
    eprintln!("lowest cosine against sentence-transformers: {worst:.7}");
    for ((text, got), want) in texts.iter().zip(&batch).zip(&reference.vectors) {
        assert_eq!(got.len(), 384);
        let agreement = cosine(got, want);
        assert!(agreement >= 0.999, "cosine {agreement} for {text:?}");
        let alone = &embedder.embed(&[text]).unwrap()[0];
        assert!(
            cosine(alone, got) >= 0.99999,
            "alone and in a padded batch agree for {text:?}"
        );
    }
    let related = cosine(&batch[0], &batch[1]);
    let unrelated = cosine(&batch[0], &batch[5]);
    assert!(
        related > 0.4 && unrelated < 0.2,
        "related {related}, unrelated {unrelated}"
    );
}

#[test]
fn missing_model_files_are_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let err = Embedder::load(empty.path()).err().unwrap().to_string();
    assert!(
        err.contains("config.json") && err.contains("interlude models fetch"),
        "{err}"
    );
}

#[test]
fn many_texts_come_back_in_order_whatever_their_lengths() {
    let data = tempfile::tempdir().unwrap();
    let Some(models) = install_models(data.path()) else {
        return;
    };
    let embedder = Embedder::load(&models.join("all-MiniLM-L6-v2")).unwrap();
    let reference: Reference =
        serde_json::from_str(include_str!("../../../tests/reference/embeddings.json")).unwrap();
    // More than one forward pass (32 texts each), long and short mixed, so sorting matters.
    let texts: Vec<&str> = reference
        .sentences
        .iter()
        .map(String::as_str)
        .cycle()
        .take(70)
        .collect();
    let vectors = embedder.embed(&texts).unwrap();
    assert_eq!(vectors.len(), texts.len());
    for (i, got) in vectors.iter().enumerate() {
        let want = &reference.vectors[i % reference.vectors.len()];
        assert!(cosine(got, want) >= 0.999, "text {i} out of place");
    }
}
