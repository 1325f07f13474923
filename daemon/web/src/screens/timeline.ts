// The timeline, newest first, with a find box that filters what is shown as you type, and
// search by meaning and words through Timeline.Search (what `interlude search` uses).
import { timestampDate } from "@bufbuild/protobuf/wkt";

import { api, sentence } from "../api";
import { $, el, input, problem, when } from "../dom";
import type { Reflection } from "../gen/interlude/v1/timeline_pb";
import { onShow } from "../nav";

let entries: Reflection[] = [];

export function setUpTimeline(): void {
  onShow("timeline", () => void load());
  input("filter").addEventListener("input", render);
  $("find-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void search();
  });
}

async function load(): Promise<void> {
  $("find-note").textContent = "";
  try {
    entries = (await api.timeline.listReflections({ limit: 200 })).reflections;
    render();
  } catch (error) {
    entries = [];
    render();
    problem(sentence(error));
  }
}

function line(entry: Reflection): string {
  const marks = [entry.bringToSession ? "bring to session" : "", entry.private ? "private" : ""].filter(Boolean);
  return [
    entry.moment ? when(timestampDate(entry.moment)) : "",
    ...entry.emotions.map((e) => `${e.name} ${e.intensity}`),
    ...entry.tags.map((t) => `#${t}`),
    ...marks,
  ]
    .filter(Boolean)
    .join(" · ");
}

function render(): void {
  const words = input("filter").value.trim().toLowerCase();
  const list = $("entries");
  list.replaceChildren();
  for (const entry of entries) {
    if (words && !`${entry.prompt} ${entry.text} ${entry.tags.join(" ")}`.toLowerCase().includes(words)) continue;
    list.append(
      el(
        "li",
        {},
        el("p", { class: "when" }, line(entry)),
        entry.prompt ? el("p", { class: "prompt" }, entry.prompt) : "",
        el("p", { class: "text" }, entry.text),
      ),
    );
  }
  if (!list.children.length) list.append(el("li", {}, words ? "Nothing you wrote matches." : "Nothing written yet."));
}

async function search(): Promise<void> {
  const query = input("filter").value.trim();
  if (!query) {
    void load();
    return;
  }
  try {
    const found = await api.timeline.search({ query, limit: 50 });
    $("find-note").textContent = found.wordsOnly ? `Words only. ${found.notice}` : "Closest in meaning and words first.";
    const list = $("entries");
    list.replaceChildren(
      ...found.results.map((r) =>
        el("li", {}, el("p", { class: "when" }, r.moment ? when(timestampDate(r.moment)) : ""), el("p", { class: "text" }, r.snippet)),
      ),
    );
    if (!found.results.length) list.append(el("li", {}, "Nothing you wrote matches."));
  } catch (error) {
    problem(sentence(error));
  }
}
