#!/usr/bin/env python3
"""Fine-tunes the crisis check's classifier: the top layers of all-MiniLM-L6-v2 and a linear head
over the C-SSRS categories, on the labelled sentences in data/*.jsonl.

The bottom layers stay the base model's, so the daemon runs them once and only the top layers
and the head come from this file's output. Deterministic: a fixed seed, one thread order,
`torch.use_deterministic_algorithms`.

    python3 -m venv venv && venv/bin/pip install -r requirements.txt
    venv/bin/python train.py --base /path/to/all-MiniLM-L6-v2   # the dir with config.json

Writes classifier.safetensors (top layers + head, float16), reference.json (probabilities for a
few texts, which the daemon's tests compare against) and prints the figures on the frozen split.
"""

import argparse
import hashlib
import json
import math
import pathlib
import random
import re
import tomllib

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer
from transformers import BertModel

HERE = pathlib.Path(__file__).resolve().parent

# The C-SSRS categories, in the order of the head's outputs; the daemon reads this order from
# the file's metadata.
LABELS = [
    "none",
    "wish_to_be_dead",
    "suicidal_thoughts",
    "method",
    "self_harm",
    "intent",
    "plan",
    "preparatory",
    "attempt",
    "warning_sign",
    "other_person",
]
MAX_TOKENS = 256
# The head sees the unit-length sentence vector times this (folded into its weights on export).
SCALE = 20.0
SEED = 20261204


def frozen_split(record):
    """About one record in ten, chosen by a hash of its pair id (or text), never trained on:
    both halves of a matched pair fall on the same side."""
    key = record.get("pair") or record["text"]
    return hashlib.sha256(key.encode()).digest()[0] < 26


# Words that keep a sentence of an ordinary entry out of the short examples below: cut from its
# entry, such a sentence could read as risk ("Counted the tablets." from a pill-box entry).
RISKY = re.compile(
    r"die|dead|death|kill|suicid|harm|hurt|cut|burn|pill|tablet|overdos|rope|gun|bridge|end it|"
    r"goodbye|note|gone|life|live|alive|exist|wake|jump|drown|blade|razor|poison|insulin|morphine",
    re.IGNORECASE,
)


def sentences_of(records):
    """The sentences of multi-sentence ordinary entries, as short ordinary examples: the written
    entries' risk lines are shorter on average than their ordinary ones, and without these the
    model learned length as a cue (short ordinary entries were flagged)."""
    out = []
    for r in records:
        if r["label"] != "none":
            continue
        parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", r["text"]) if p.strip()]
        if len(parts) < 2:
            continue
        out.extend(
            {"text": p, "label": "none", "pair": r.get("pair", "")}
            for p in parts
            if len(p.split()) >= 3 and not RISKY.search(p)
        )
    return out


def buried_copies(records, share, rng):
    """Copies of a `share` of `records` (every label) in the middle of two to eight ordinary
    sentences, labelled as the original: a client's risk is often one sentence of a long entry
    about their day, and a model trained on short texts reads such an entry as ordinary (the
    mean of its words is)."""
    filler = [s["text"] for s in sentences_of(records)]
    out = []
    for r in records:
        if rng.random() >= share:
            continue
        before, after = rng.randint(1, 4), rng.randint(1, 4)
        words = rng.sample(filler, before + after)
        text = " ".join(words[:before] + [r["text"]] + words[before:])
        out.append({**r, "text": text})
    return out


def load_data():
    records = []
    for path in sorted((HERE / "data").glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if record["label"] not in LABELS:
                raise SystemExit(f"{path.name}:{n}: unknown label {record['label']!r}")
            records.append(record)
    seen, unique = set(), []
    for r in records:
        if r["text"] not in seen:
            seen.add(r["text"])
            unique.append(r)
    return unique


class Classifier(torch.nn.Module):
    """The base model with its bottom layers frozen: their output is computed once per text
    (`bottom`), and training runs only the top layers and the head (`top`)."""

    def __init__(self, base, top_layers):
        super().__init__()
        self.bert = BertModel.from_pretrained(base, add_pooling_layer=False, attn_implementation="eager")
        self.first = self.bert.config.num_hidden_layers - top_layers
        self.head = torch.nn.Linear(self.bert.config.hidden_size, len(LABELS))
        for name, p in self.bert.named_parameters():
            p.requires_grad = name.startswith("encoder.layer.") and int(name.split(".")[2]) >= self.first

    @staticmethod
    def additive(mask):
        return (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min

    def bottom(self, ids, mask):
        hidden = self.bert.embeddings(input_ids=ids, token_type_ids=torch.zeros_like(ids))
        for layer in self.bert.encoder.layer[: self.first]:
            hidden = layer(hidden, attention_mask=self.additive(mask))
        return hidden

    def top(self, hidden, mask):
        for layer in self.bert.encoder.layer[self.first :]:
            hidden = layer(hidden, attention_mask=self.additive(mask))
        m = mask.unsqueeze(-1).float()
        mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        unit = torch.nn.functional.normalize(mean, dim=-1, eps=1e-12)
        return self.head(unit * SCALE)


def pad(rows, width, dtype):
    out = torch.zeros((len(rows), width) + tuple(rows[0].shape[1:]), dtype=dtype)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def cache_bottom(model, encoded):
    """The frozen layers' output per text, unpadded (attention is masked, so padding never
    changes a text's own rows)."""
    model.eval()
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    states = [None] * len(encoded)
    with torch.no_grad():
        for start in range(0, len(order), 64):
            chunk = order[start : start + 64]
            width = max(len(encoded[i]) for i in chunk)
            ids = pad([torch.tensor(encoded[i]) for i in chunk], width, torch.long)
            mask = pad([torch.ones(len(encoded[i]), dtype=torch.long) for i in chunk], width, torch.long)
            hidden = model.bottom(ids, mask)
            for row, i in enumerate(chunk):
                states[i] = hidden[row, : len(encoded[i])].clone()
    return states


def batches(states, labels, size, shuffle, rng):
    """Batches of texts of similar length (little padding), in random order when training."""
    order = sorted(range(len(states)), key=lambda i: (len(states[i]), i))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    if shuffle:
        rng.shuffle(groups)
    for chunk in groups:
        width = max(len(states[j]) for j in chunk)
        hidden = pad([states[j] for j in chunk], width, torch.float32)
        mask = pad([torch.ones(len(states[j]), dtype=torch.long) for j in chunk], width, torch.long)
        yield chunk, hidden, mask, torch.tensor([labels[j] for j in chunk])


def predict(model, states):
    model.eval()
    out = np.zeros((len(states), len(LABELS)), dtype=np.float32)
    with torch.no_grad():
        for chunk, hidden, mask, _ in batches(states, [0] * len(states), 64, False, None):
            out[chunk] = torch.softmax(model.top(hidden, mask), dim=-1).numpy()
    return out


TIER = {
    "none": "none",
    "wish_to_be_dead": "ideation",
    "suicidal_thoughts": "ideation",
    "method": "ideation",
    "self_harm": "ideation",
    "intent": "acute",
    "plan": "acute",
    "preparatory": "acute",
    "attempt": "acute",
    "warning_sign": "indirect",
    "other_person": "indirect",
}


def report(probs, labels, threshold):
    """Recall per tier (any alarm counts: every tier shows the plan) and false alarms."""
    risk = 1.0 - probs[:, 0]
    lines = []
    for tier in ["acute", "ideation", "indirect"]:
        idx = [i for i, l in enumerate(labels) if TIER[LABELS[l]] == tier]
        hit = sum(risk[i] >= threshold for i in idx)
        lines.append(f"{tier} {hit}/{len(idx)}")
    none = [i for i, l in enumerate(labels) if l == 0]
    fp = sum(risk[i] >= threshold for i in none)
    lines.append(f"false alarms {fp}/{len(none)}")
    return ", ".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="all-MiniLM-L6-v2 directory")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--top-layers", type=int, default=2, help="layers fine-tuned (from the top)")
    parser.add_argument("--lr", type=float, default=2e-4, help="learning rate of the fine-tuned layers")
    parser.add_argument("--short-ordinary", action="store_true", help="add the sentences of ordinary entries (sentences_of)")
    parser.add_argument(
        "--casual-copies",
        type=float,
        default=0.0,
        help="share of training texts also added lowercased without punctuation, as many clients write",
    )
    parser.add_argument(
        "--buried-copies",
        type=float,
        default=0.0,
        help="share of training texts also added in the middle of ordinary sentences (buried)",
    )
    parser.add_argument("--out", default=str(HERE / "classifier.safetensors"))
    parser.add_argument("--eval", nargs="*", default=[], help="evaluation batches (TOML) to report on")
    args = parser.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)

    records = load_data()
    train = [r for r in records if not frozen_split(r)]
    if args.short_ordinary:
        known = {r["text"] for r in records}
        extra = [r for r in sentences_of(train) if r["text"] not in known]
        train.extend({r["text"]: r for r in extra}.values())
    casual = random.Random(SEED + 1)
    for r in list(train):
        if casual.random() < args.casual_copies:
            text = "".join(c for c in r["text"].lower() if c.isalnum() or c.isspace() or c == "'")
            if text != r["text"]:
                train.append({**r, "text": text})
    if args.buried_copies:
        train.extend(buried_copies(train, args.buried_copies, random.Random(SEED + 2)))
    held = [r for r in records if frozen_split(r)]
    print(f"{len(records)} unique records: {len(train)} training texts (with additions), {len(held)} in the frozen split")

    tokenizer = Tokenizer.from_file(str(pathlib.Path(args.base) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    encode = lambda rs: [tokenizer.encode(r["text"]).ids for r in rs]
    train_x, held_x = encode(train), encode(held)
    train_y = [LABELS.index(r["label"]) for r in train]
    held_y = [LABELS.index(r["label"]) for r in held]

    model = Classifier(args.base, args.top_layers)
    train_x, held_x = cache_bottom(model, train_x), cache_bottom(model, held_x)
    print("frozen layers computed")
    trained = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [
            {"params": [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("bert.")], "lr": args.lr},
            {"params": model.head.parameters(), "lr": 3e-3},
        ],
        weight_decay=0.01,
    )
    steps = args.epochs * math.ceil(len(train_x) / 32)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * max(0.0, (steps - s) / steps)
    )
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    rng = random.Random(SEED)
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for _, hidden, mask, y in batches(train_x, train_y, 32, True, rng):
            loss = loss_fn(model.top(hidden, mask), y)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimiser.step()
            schedule.step()
            total += loss.item() * len(y)
        probs = predict(model, held_x)
        print(f"epoch {epoch + 1}: loss {total / len(train_x):.4f}; frozen split at 0.5: {report(probs, held_y, 0.5)}")

    # Export the trained layers and the head as float16, then measure what the daemon will run.
    first = model.first
    tensors = {
        name: p.detach().to(torch.float16).contiguous()
        for name, p in model.bert.named_parameters()
        if name.startswith("encoder.layer.") and int(name.split(".")[2]) >= first
    }
    tensors["classifier.weight"] = (model.head.weight.detach() * SCALE).to(torch.float16).contiguous()
    tensors["classifier.bias"] = model.head.bias.detach().to(torch.float16).contiguous()
    metadata = {"labels": ",".join(LABELS), "first_layer": str(first), "base": "all-MiniLM-L6-v2"}
    save_file(tensors, args.out, metadata=metadata)
    with torch.no_grad():
        for name, p in model.bert.named_parameters():
            if name in tensors:
                p.copy_(tensors[name].float())
        model.head.weight.copy_(tensors["classifier.weight"].float() / SCALE)
        model.head.bias.copy_(tensors["classifier.bias"].float())
    probs = predict(model, held_x)
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        print(f"frozen split, float16 weights, risk >= {threshold}: {report(probs, held_y, threshold)}")
    # The frozen split again, each text buried among ordinary sentences of the frozen split.
    buried = buried_copies(held, 1.0, random.Random(SEED + 3))
    probs = predict(model, cache_bottom(model, encode(buried)))
    print(f"frozen split, buried, risk >= 0.5: {report(probs, held_y, 0.5)}")

    for path in args.eval:
        cases = tomllib.loads(pathlib.Path(path).read_text(encoding="utf-8"))["cases"]
        states = cache_bottom(model, [tokenizer.encode(c["text"]).ids for c in cases])
        stand_in = {"acute": "intent", "ideation": "wish_to_be_dead", "indirect": "warning_sign", "none": "none"}
        labels = [LABELS.index(c.get("category") or stand_in[c["expect"]]) if c["expect"] != "none" else 0 for c in cases]
        probs = predict(model, states)
        for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
            print(f"{pathlib.Path(path).name}, classifier alone, risk >= {threshold}: {report(probs, labels, threshold)}")

    reference_texts = [r["text"] for r in held[:24]]
    reference = predict(model, cache_bottom(model, [tokenizer.encode(t).ids for t in reference_texts]))
    # Beside the weights: the daemon's test compares its forward with these.
    pathlib.Path(args.out).with_name("reference.json").write_text(
        json.dumps(
            [{"text": t, "probabilities": [round(float(x), 6) for x in p]} for t, p in zip(reference_texts, reference)],
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )
    digest = hashlib.sha256(pathlib.Path(args.out).read_bytes()).hexdigest()
    print(f"wrote {args.out} (sha256 {digest})")


if __name__ == "__main__":
    main()
