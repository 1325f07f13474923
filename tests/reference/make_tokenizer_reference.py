#!/usr/bin/env python3
"""Token ids llama.cpp gives for the strings in tokenizer_strings.json, from the same GGUF the
daemon runs, written to tokenizer.json next to this script. tests/tests/generator.rs compares the
daemon's tokenizer (built from the GGUF metadata) against them.

Each string is tokenised twice: as client text (`special=False`: `<|im_start|>` typed by someone
stays text) and as template text (`special=True`: control tokens are control tokens).

    python3 -m venv /tmp/llamacpp-venv
    CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="-DLLAVA_BUILD=OFF" \
        /tmp/llamacpp-venv/bin/python -m pip install llama-cpp-python
    /tmp/llamacpp-venv/bin/python tests/reference/make_tokenizer_reference.py \
        <data dir>/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf
"""

import json
import pathlib
import sys

import llama_cpp

here = pathlib.Path(__file__).parent
gguf = sys.argv[1]
strings = json.loads((here / "tokenizer_strings.json").read_text())

llm = llama_cpp.Llama(model_path=gguf, vocab_only=True, verbose=False)


def ids(text, special):
    return llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)


cases = [
    {"text": s, "as_text": ids(s, False), "as_template": ids(s, True)} for s in strings
]
out = {
    "llama_cpp_python": llama_cpp.__version__,
    "gguf": pathlib.Path(gguf).name,
    "cases": cases,
}
(here / "tokenizer.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
print(f"wrote {len(cases)} cases to {here / 'tokenizer.json'}")
