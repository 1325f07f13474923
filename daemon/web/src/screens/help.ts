// Help now: the client's safety plan, numbered as the sequence it is, and the crisis lines. It
// needs any valid token and works while the vault is locked (the plan shows then only if the
// client keeps a readable-while-locked copy).
import { api, sentence } from "../api";
import { $, el, problem } from "../dom";
import type { SafetyPayload, SafetyPlan } from "../gen/interlude/v1/safety_pb";
import { onShow, show } from "../nav";

/// The plan's steps in the order they are tried.
export const PLAN_STEPS: [keyof SafetyPlan & string, string][] = [
  ["warningSigns", "Warning signs"],
  ["copingStrategies", "Things I can do on my own"],
  ["distractions", "People and places that take my mind off things"],
  ["peopleToAsk", "People I can ask for help"],
  ["professionals", "Professionals and services"],
  ["urgentCare", "Urgent care, and how to get there"],
  ["safeEnvironment", "Making my surroundings safe"],
  ["reasonsForLiving", "My reasons for living"],
];

export function setUpHelp(): void {
  onShow("helpnow", () => void load());
}

async function load(): Promise<void> {
  try {
    render(await api.safety.helpNow({}));
  } catch (error) {
    problem(sentence(error));
  }
}

/// A payload the crisis check raised for something just written: shown before anything else.
export function showSafety(payload: SafetyPayload): void {
  show("helpnow");
  render(payload);
}

function render(payload: SafetyPayload): void {
  const body = $("help-body");
  body.replaceChildren();
  if (payload.message) body.append(el("p", { class: "calm" }, payload.message));
  const plan = payload.plan;
  if (plan) {
    const steps = el("ol", { class: "plan-steps" });
    for (const [field, title] of PLAN_STEPS) {
      const items = plan[field] as string[];
      if (!items.length) continue;
      steps.append(el("li", {}, el("h3", {}, title), el("ul", {}, ...items.map((i) => el("li", {}, i)))));
    }
    if (steps.children.length) body.append(steps);
  }
  if (payload.lines.length) {
    body.append(el("h3", {}, payload.region ? `Crisis lines (${payload.region})` : "Crisis lines"));
    body.append(
      el("ul", {}, ...payload.lines.map((line) => el("li", {}, [line.name, line.contact, line.hours].filter(Boolean).join(" · ")))),
    );
    if (payload.regionNote) body.append(el("p", { class: "note" }, payload.regionNote));
  }
}
