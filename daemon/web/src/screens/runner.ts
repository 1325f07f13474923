// An exercise run, one question at a time, in `container`: the step's question and its answer
// field by kind (see practice.proto for each kind's value format), Back, Skip for what is not
// required, Stop (keep a draft or not), and at the end Save as a reflection of kind exercise.
import { api, sentence } from "../api";
import { button, el, focusHeading, freshId, problem } from "../dom";
import { type RunView, type Step, StepKind } from "../gen/interlude/v1/practice_pb";
import { showSafety } from "./help";

/// The answer field of a step, and how to read its value.
type Field = { node: HTMLElement; value: () => string };

export function runExercise(container: HTMLElement, view: RunView): void {
  container.replaceChildren();
  if (view.atEnd || !view.step) {
    container.append(ending(container, view));
  } else {
    container.append(question(container, view, view.step));
  }
  focusHeading(container.querySelector("h3"));
}

function question(container: HTMLElement, view: RunView, step: Step): HTMLElement {
  const field = answerField(step);
  const where = step.itemCount
    ? `Question ${step.itemNumber} of ${step.itemCount}`
    : `Step ${view.position} of ${view.stepCount}`;
  const form = el(
    "form",
    { class: "step", "data-step": step.id, "data-kind": StepKind[step.kind] },
    el("p", { class: "where" }, `${view.title} · ${where}`),
    el("h3", { class: step.instruction ? "instruction" : "prompt" }, step.prompt),
  );
  if (step.shows) {
    form.append(el("blockquote", { "aria-label": `Your earlier answer: ${step.shows.prompt}` }, step.shows.value));
  }
  form.append(field.node);
  form.append(el("button", { type: "submit" }, "Next"));
  if (view.canGoBack) form.append(button("Back", () => void move(container, api.practice.back({ runId: view.runId }))));
  if (!step.required) {
    form.append(button("Skip", () => void move(container, api.practice.skip({ runId: view.runId, stepId: step.id }))));
  }
  form.append(stopping(container, view));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = field.value();
    if (!value.trim() && step.required) {
      problem("This one needs an answer before moving on.");
      return;
    }
    if (!value.trim()) {
      void move(container, api.practice.skip({ runId: view.runId, stepId: step.id }));
      return;
    }
    void move(container, api.practice.answer({ runId: view.runId, stepId: step.id, value }));
  });
  return form;
}

async function move(container: HTMLElement, next: Promise<RunView>): Promise<void> {
  try {
    problem(null);
    runExercise(container, await next);
  } catch (error) {
    problem(sentence(error));
  }
}

function answerField(step: Step): Field {
  const id = freshId("answer");
  const label = (words: string) => el("label", { for: id }, words);
  const kept = step.currentAnswer;
  switch (step.kind) {
    case StepKind.CHOICE:
    case StepKind.MULTI_CHOICE: {
      const several = step.kind === StepKind.MULTI_CHOICE;
      const chosen = new Set(kept.split("\n"));
      const boxes = step.options.map((option, n) =>
        el("input", { type: several ? "checkbox" : "radio", name: id, id: `${id}-${n}`, value: option, checked: chosen.has(option) }),
      );
      const set = el(
        "fieldset",
        {},
        el("legend", {}, several ? "Choose any that fit" : "Choose one"),
        ...boxes.map((box, n) => el("label", { for: box.id }, box, ` ${step.options[n]}`)),
      );
      return { node: set, value: () => boxes.filter((b) => b.checked).map((b) => b.value).join("\n") };
    }
    case StepKind.SCALE: {
      const [low, high] = [Number(step.min), Number(step.max)];
      const shown = el("output", { for: id }, kept || String(low));
      const range = el("input", { id, type: "range", min: low, max: high, value: kept || low });
      range.addEventListener("input", () => {
        shown.textContent = range.value;
      });
      const ends = step.labels.length === 2 ? ` (${low} ${step.labels[0]}, ${high} ${step.labels[1]})` : "";
      return {
        node: el("div", {}, el("label", { for: id }, `From ${low} to ${high}${ends}: `, shown), range),
        value: () => range.value,
      };
    }
    case StepKind.VOCABULARY: {
      const listId = `${id}-words`;
      const field = el("input", { id, list: listId, autocomplete: "off", value: kept });
      const words = el("datalist", { id: listId }, ...step.options.map((o) => el("option", { value: o })));
      return { node: el("div", {}, label(`One word (${step.vocabularyKind})`), field, words), value: () => field.value.trim() };
    }
    case StepKind.EMOTION:
      return area(id, kept, label("Feelings, one per line with how strong 0 to 100, like anxious:70"), 3);
    case StepKind.LIST:
      return area(id, kept, label("One per line"), 5);
    case StepKind.TIMER:
      return timer(id, step, kept);
    default: {
      const field = area(id, kept, label(step.kind === StepKind.BODY ? "Where, what it feels like, how strong" : "Your answer"), 5);
      if (step.suggestions.length) {
        const area = field.node.querySelector("textarea") as HTMLTextAreaElement;
        field.node.append(
          el("p", {}, "Or pick one of your recent answers:"),
          el("ul", { class: "suggestions" }, ...step.suggestions.map((s) => el("li", {}, button(s, () => { area.value = s; area.focus(); })))),
        );
      }
      return field;
    }
  }
}

function area(id: string, kept: string, label: HTMLElement, rows: number): Field {
  const field = el("textarea", { id, rows });
  field.value = kept;
  return { node: el("div", {}, label, field), value: () => field.value };
}

/// A timer the client starts; the answer says how long they stayed with it. Never started, it
/// answers nothing (Next then skips it, or asks for it when it is required).
function timer(id: string, step: Step, kept: string): Field {
  const shown = el("p", { role: "status", id }, `${step.seconds} seconds, when you are ready.`);
  let stayed = kept ? -1 : 0;
  let ticking = 0;
  const start = button("Start the timer", () => {
    if (ticking) return;
    stayed = 0;
    ticking = window.setInterval(() => {
      stayed += 1;
      if (stayed >= step.seconds) {
        window.clearInterval(ticking);
        shown.textContent = "Time. Move on when you are ready.";
      } else if ((step.seconds - stayed) % 10 === 0) {
        shown.textContent = `${step.seconds - stayed} seconds left.`;
      }
    }, 1000);
  });
  return {
    node: el("div", {}, shown, start),
    value: () => {
      window.clearInterval(ticking);
      if (stayed < 0) return kept;
      return ticking ? `stayed ${Math.min(stayed, step.seconds)} of ${step.seconds} seconds` : "";
    },
  };
}

function stopping(container: HTMLElement, view: RunView): HTMLElement {
  return el(
    "div",
    { class: "stop" },
    button("Stop and keep a draft", () => void abandon(container, view, true)),
    button("Stop, save nothing", () => void abandon(container, view, false)),
  );
}

async function abandon(container: HTMLElement, view: RunView, keepDraft: boolean): Promise<void> {
  try {
    const closed = await api.practice.abandon({ runId: view.runId, keepDraft });
    finished(container, closed.draft ? "Stopped. What you wrote is kept as a draft." : "Stopped. Nothing was saved.");
  } catch (error) {
    problem(sentence(error));
  }
}

function ending(container: HTMLElement, view: RunView): HTMLElement {
  const bring = el("input", { type: "checkbox", id: freshId("bring") });
  const secret = el("input", { type: "checkbox", id: freshId("private") });
  const form = el(
    "form",
    { class: "step", "data-step": "end" },
    el("h3", {}, `${view.title}: that was the last step`),
    el("label", { for: bring.id }, bring, " Bring to my next session"),
    el("label", { for: secret.id }, secret, " Private: never exported"),
    el("button", { type: "submit" }, "Save"),
  );
  if (view.canGoBack) form.append(button("Back", () => void move(container, api.practice.back({ runId: view.runId }))));
  form.append(stopping(container, view));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void finish(container, view, bring.checked, secret.checked);
  });
  return form;
}

async function finish(container: HTMLElement, view: RunView, bringToSession: boolean, secret: boolean): Promise<void> {
  try {
    const saved = await api.practice.finish({ runId: view.runId, bringToSession, private: secret });
    if (saved.safety) {
      showSafety(saved.safety);
      return;
    }
    finished(container, saved.sealed ? "Saved, sealed until you unlock." : "Saved.");
  } catch (error) {
    problem(sentence(error));
  }
}

function finished(container: HTMLElement, words: string): void {
  container.replaceChildren(el("h3", { class: "finished" }, words));
  focusHeading(container.querySelector("h3"));
}
