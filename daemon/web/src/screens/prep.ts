// Session prep: make a draft (its digest sentences arrive as they are written), review it
// (what stays in, questions, notes, whether entries from hard moments go in), see what the
// therapist will get, and export it encrypted to the therapist's age keys. The draft travels as
// the JSON of docs/prep-packet.schema.json; only the fields the review needs are read here.
import { Code, ConnectError } from "@connectrpc/connect";

import { api, sentence } from "../api";
import { $, button, el, focusHeading, freshId, lines, problem } from "../dom";
import { type Draft, PacketFormat } from "../gen/interlude/v1/prep_pb";
import { onShow } from "../nav";

type Json = Record<string, unknown>;
type Quote = { id?: string; text?: string };

export function setUpPrep(): void {
  onShow("prep", () => void load());
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const strings = (value: unknown): string[] => list(value).filter((v): v is string => typeof v === "string");
const object = (value: unknown): Json => (value && typeof value === "object" ? (value as Json) : {});

function preview(text: string): string {
  const one = text.split(/\s+/).join(" ").trim();
  return one.length > 90 ? `${one.slice(0, 90)}…` : one;
}

async function load(): Promise<void> {
  const body = $("prep-body");
  body.replaceChildren(building());
  try {
    body.append(review(await api.prep.getDraft({ id: "" })));
  } catch (error) {
    // The daemon says "there is no draft yet" as INVALID_ARGUMENT (the CLI's wording follows).
    const failure = ConnectError.from(error);
    if (failure.code === Code.NotFound || /no draft yet/.test(failure.rawMessage)) {
      body.append(el("p", { id: "prep-none" }, "No draft yet. Make one when you want to get ready for a session."));
    } else {
      problem(sentence(error));
    }
  }
}

function building(): HTMLElement {
  const plain = el("input", { type: "checkbox", id: "prep-no-digest" });
  const written = el("ul", { id: "prep-digest", "aria-live": "polite" });
  const part = el(
    "div",
    { class: "build" },
    el("label", { for: plain.id }, plain, " Without the written summary (only your own words and the patterns)"),
    button("Make a new draft", () => void build(plain.checked, written), { id: "prep-build" }),
    written,
  );
  return part;
}

async function build(noDigest: boolean, written: HTMLElement): Promise<void> {
  written.replaceChildren();
  problem(null);
  try {
    for await (const event of api.prep.build({ noDigest })) {
      if (event.event.case === "sentence") written.append(el("li", {}, event.event.value.text));
      if (event.event.case === "draft") {
        const body = $("prep-body");
        body.querySelector(".review")?.remove();
        body.querySelector("#prep-none")?.remove();
        body.append(review(event.event.value));
        focusHeading(body.querySelector(".review h3"));
      }
    }
  } catch (error) {
    problem(sentence(error));
  }
}

/// Every entry the draft quotes, by id (as the CLI's review lists them).
function entries(patterns: Json): Map<string, string> {
  const found = new Map<string, string>();
  const quotes = (value: unknown) => {
    for (const q of list(value) as Quote[]) if (q.id && q.text) found.set(q.id, preview(q.text));
  };
  quotes(patterns.brought);
  quotes(patterns.helpful);
  for (const t of list(patterns.themes)) quotes(object(t).quotes);
  for (const s of list(patterns.sections)) quotes(object(object(s).body).matches);
  for (const i of list(patterns.insights)) quotes(object(i).came_back);
  return found;
}

function keepBox(id: string, words: string, kept: boolean): HTMLElement {
  const box = el("input", { type: "checkbox", id: freshId("keep"), "data-id": id, checked: kept });
  return el("li", {}, el("label", { for: box.id }, box, ` ${words}`));
}

function review(draft: Draft): HTMLElement {
  const packet = object(JSON.parse(draft.json));
  const patterns = object(packet.patterns);
  const current = object(packet.review);
  const excluded = new Set(strings(current.excluded));
  const group = (title: string, items: [string, string][]) =>
    items.length
      ? el("fieldset", {}, el("legend", {}, title), el("ul", { class: "keep" }, ...items.map(([id, words]) => keepBox(id, words, !excluded.has(id)))))
      : "";
  const themes = list(patterns.themes).map(object).map((t): [string, string] => [String(t.id), strings(t.label).join(" · ")]);
  const sections = list(patterns.sections).map(object).map((s): [string, string] => [String(s.id), `${String(s.plugin ?? "")}: ${String(s.title ?? "")}`]);
  const quoted = [...entries(patterns)];
  const flagged = list(patterns.flagged).length;
  const includeFlagged = el("input", { type: "checkbox", id: "prep-flagged", checked: current.include_flagged === true });
  const questions = el("textarea", { id: "prep-questions", rows: 3 });
  questions.value = strings(current.questions).join("\n");
  const notes = el("textarea", { id: "prep-notes", rows: 3 });
  notes.value = strings(current.notes).join("\n");
  const shown = el("pre", { id: "prep-preview", tabindex: 0, "aria-label": "What your therapist will get" });

  const form = el(
    "form",
    { class: "review", id: "prep-review", "data-draft": draft.id },
    el("h3", {}, "Review your draft"),
    el("p", { class: "note" }, "A tick keeps it in; untick what you would rather leave out."),
    group("Themes", themes),
    group("Sections", sections),
    group("Entries", quoted),
    flagged
      ? el("label", { for: includeFlagged.id }, includeFlagged, " Include the entries from hard moments (left out unless you tick this)")
      : "",
    el("label", { for: questions.id }, "Questions I want to ask, one a line"),
    questions,
    el("label", { for: notes.id }, "Notes, one a line"),
    notes,
    el("button", { type: "submit" }, "Save my review"),
    el("p", { id: "prep-saved", role: "status" }),
    el("h3", {}, "What your therapist will get"),
    shown,
    exporting(draft.id),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const unticked = [...form.querySelectorAll<HTMLInputElement>("ul.keep input")].filter((b) => !b.checked).map((b) => b.dataset.id ?? "");
    void api.prep
      .review({
        draftId: draft.id,
        excluded: unticked,
        questions: lines(questions.value),
        notes: lines(notes.value),
        includeFlagged: includeFlagged.checked,
      })
      .then(
        () => {
          $("prep-saved").textContent = "Review saved.";
          return render(draft.id, shown);
        },
        (error: unknown) => problem(sentence(error)),
      );
  });
  void render(draft.id, shown);
  return form;
}

async function render(draftId: string, shown: HTMLElement): Promise<void> {
  try {
    const rendered = await api.prep.render({ draftId, format: PacketFormat.MARKDOWN });
    shown.textContent = new TextDecoder().decode(rendered.content);
  } catch (error) {
    problem(sentence(error));
  }
}

function exporting(draftId: string): HTMLElement {
  const keys = el("textarea", { id: "prep-recipients", rows: 2, autocomplete: "off", spellcheck: "false" });
  const format = el(
    "select",
    { id: "prep-format" },
    el("option", { value: String(PacketFormat.HTML) }, "A web page (HTML)"),
    el("option", { value: String(PacketFormat.MARKDOWN) }, "Plain text (Markdown)"),
    el("option", { value: String(PacketFormat.JSON) }, "Data (JSON)"),
  );
  const done = el("p", { id: "prep-exported", role: "status" });
  const go = button("Export for my therapist", () => {
    void api.prep.export({ draftId, format: Number(format.value) as PacketFormat, recipients: lines(keys.value) }).then(
      (sealed) => {
        const link = el("a", { href: URL.createObjectURL(new Blob([sealed.content as BlobPart], { type: "application/octet-stream" })), download: `session-prep-${draftId}.age` }, "Download the encrypted packet");
        done.replaceChildren("Exported, encrypted to those keys. ", link);
        link.focus();
      },
      (error: unknown) => problem(sentence(error)),
    );
  }, { id: "prep-export" });
  return el(
    "fieldset",
    { class: "export" },
    el("legend", {}, "Export, encrypted for your therapist"),
    el("label", { for: keys.id }, "Your therapist's age keys (age1…), one a line"),
    keys,
    el("label", { for: format.id }, "As"),
    format,
    go,
    done,
  );
}
