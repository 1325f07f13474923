// Exercises: every exercise of the plugins in effect, any of them run here. A hard moment
// (`now`): the client's first anchor in their own words (or a calm neutral line), then at most
// a choice between the three shortest exercises written for an activated state, then the first
// question — as `interlude now` does in the terminal.
import { api, sentence } from "../api";
import { $, button, el, problem } from "../dom";
import { type ExerciseSummary, ExerciseState } from "../gen/interlude/v1/practice_pb";
import { TermKind } from "../gen/interlude/v1/vocabulary_pb";
import { onShow, show } from "../nav";
import { runExercise } from "./runner";

/// The same words as the CLI's (interlude_proto::lines::NOW_FALLBACK).
const NEUTRAL_LINE = "A pause, before anything else. What is here, right now?";
const NOW_CHOICES = 3;

export function setUpPractice(): void {
  onShow("exercises", () => void listAll());
  onShow("now", () => void hardMoment());
}

async function start(container: HTMLElement, chosen: ExerciseSummary): Promise<void> {
  try {
    runExercise(container, await api.practice.start({ pluginId: chosen.pluginId, exerciseId: chosen.exerciseId }));
  } catch (error) {
    problem(sentence(error));
  }
}

function choices(exercises: ExerciseSummary[], pick: (e: ExerciseSummary) => void): HTMLElement {
  return el(
    "ul",
    { class: "choices" },
    ...exercises.map((e) =>
      el("li", {}, button(`${e.title} · ${e.minutes} min`, () => pick(e), { "data-exercise": `${e.pluginId}/${e.exerciseId}` })),
    ),
  );
}

async function listAll(): Promise<void> {
  const body = $("exercises-body");
  body.replaceChildren();
  try {
    const { exercises } = await api.practice.listExercises({});
    if (!exercises.length) {
      body.append(el("p", {}, "No exercises: no plugin with exercises is enabled."));
      return;
    }
    const byPlugin = new Map<string, ExerciseSummary[]>();
    for (const e of exercises) byPlugin.set(e.pluginName || e.pluginId, [...(byPlugin.get(e.pluginName || e.pluginId) ?? []), e]);
    for (const [plugin, list] of byPlugin) {
      body.append(el("h3", {}, plugin));
      body.append(
        el(
          "ul",
          { class: "choices" },
          ...list.map((e) =>
            el(
              "li",
              {},
              button(`${e.title} · ${e.minutes} min`, () => void start(body, e), { "data-exercise": `${e.pluginId}/${e.exerciseId}` }),
              e.summary ? el("p", { class: "note" }, e.summary) : "",
            ),
          ),
        ),
      );
    }
  } catch (error) {
    problem(sentence(error));
  }
}

/// The first anchor, in the client's words; the neutral line without one or while locked.
async function anchor(): Promise<string[]> {
  try {
    const { terms } = await api.vocabulary.listTerms({ kind: TermKind.ANCHOR });
    const first = terms[0];
    if (first) return [first.word, first.note.trim()].filter(Boolean);
  } catch {
    // Locked, or no read scope: the neutral line, as the CLI does.
  }
  return [NEUTRAL_LINE];
}

async function hardMoment(): Promise<void> {
  const body = $("now-body");
  body.replaceChildren();
  const [words, exercises] = await Promise.all([
    anchor(),
    api.practice.listExercises({ state: ExerciseState.ACTIVATED }).then(
      (r) => r.exercises,
      (error: unknown) => {
        problem(sentence(error));
        return [] as ExerciseSummary[];
      },
    ),
  ]);
  body.append(el("div", { id: "anchor", class: "anchor" }, ...words.map((w) => el("p", {}, w))));
  const activated = exercises
    .filter((e) => e.state === ExerciseState.ACTIVATED)
    .sort((a, b) => a.minutes - b.minutes || a.title.localeCompare(b.title));
  if (!activated.length) {
    body.append(el("p", {}, "When you are ready, write what is here."), button("Write it down", () => show("capture")));
    return;
  }
  // One thing at a time: the choice gives way to the exercise's first question.
  const offer = el("div", { id: "now-offer" });
  const run = el("div", { id: "now-run" });
  const pick = (e: ExerciseSummary) => {
    offer.remove();
    void start(run, e);
  };
  const offered = activated.slice(0, NOW_CHOICES);
  offer.append(el("p", {}, "When you are ready, one of these:"), choices(offered, pick));
  if (activated.length > offered.length) {
    const more = button("More for a hard moment", () => {
      const rest = choices(activated.slice(NOW_CHOICES), pick);
      more.replaceWith(rest);
      rest.querySelector("button")?.focus();
    });
    offer.append(more);
  }
  body.append(offer, run);
}
