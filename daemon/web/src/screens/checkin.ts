// A waiting check-in: its question, an answer with an optional feeling, or "not now" (it lapses
// and nothing is recorded). Nothing here counts what was missed.
import { create } from "@bufbuild/protobuf";

import { api, sentence } from "../api";
import { $, button, el, focusHeading, freshId, problem } from "../dom";
import type { PendingCheckIn } from "../gen/interlude/v1/checkins_pb";
import { EmotionSchema } from "../gen/interlude/v1/timeline_pb";
import { onShow } from "../nav";
import { showSafety } from "./help";

export function setUpCheckIn(): void {
  onShow("checkin", () => {
    $("checkin-saved").textContent = "";
    void load();
  });
}

async function load(): Promise<void> {
  const body = $("checkin-body");
  body.replaceChildren();
  try {
    const listed = await api.checkins.listPending({});
    const waiting = listed.pending[0];
    if (!waiting) {
      body.append(el("p", {}, "Nothing is waiting for you. You can always write on the Write screen."));
      return;
    }
    body.append(form(waiting));
  } catch (error) {
    problem(sentence(error));
  }
}

function form(waiting: PendingCheckIn): HTMLFormElement {
  const answerId = freshId("checkin-text");
  const feelingId = freshId("checkin-feeling");
  const strengthId = freshId("checkin-strength");
  const answer = el("textarea", { id: answerId, rows: 5, required: true });
  const feeling = el("input", { id: feelingId, autocomplete: "off" });
  const strength = el("input", { id: strengthId, type: "range", min: 0, max: 100, value: 50 });
  const made = el(
    "form",
    { id: "checkin-form" },
    el("h3", { id: "checkin-prompt" }, waiting.prompt),
    el("label", { for: answerId }, "Your answer"),
    answer,
    el("label", { for: feelingId }, "A feeling (optional)"),
    feeling,
    el("label", { for: strengthId }, "How strong, 0 to 100"),
    strength,
    el("button", { type: "submit" }, "Save"),
    button("Not now", () => void dismiss(waiting.id)),
  );
  made.addEventListener("submit", (event) => {
    event.preventDefault();
    void respond(waiting.id, answer.value, feeling.value.trim(), Number(strength.value));
  });
  return made;
}

async function respond(id: string, text: string, feeling: string, intensity: number): Promise<void> {
  try {
    const added = await api.checkins.respond({
      checkinId: id,
      text,
      emotions: feeling ? [create(EmotionSchema, { name: feeling, intensity })] : [],
    });
    if (added.safety) {
      showSafety(added.safety);
      return;
    }
    done(added.sealed ? "Saved, sealed until you unlock." : "Saved. Thank you for checking in.");
  } catch (error) {
    problem(sentence(error));
  }
}

async function dismiss(id: string): Promise<void> {
  try {
    await api.checkins.dismiss({ checkinId: id });
    done("Not now, then. Nothing was recorded.");
  } catch (error) {
    problem(sentence(error));
  }
}

function done(words: string): void {
  $("checkin-body").replaceChildren();
  $("checkin-saved").textContent = words;
  focusHeading($("checkin-title"));
}
