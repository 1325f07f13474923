// The safety plan, read and edited in the client's own words: one box per step, one item a
// line. Saving replaces the whole plan (Safety.SetPlan).
import { create } from "@bufbuild/protobuf";

import { api, sentence } from "../api";
import { $, el, lines, problem } from "../dom";
import { type SafetyPlan, SafetyPlanSchema } from "../gen/interlude/v1/safety_pb";
import { onShow } from "../nav";
import { PLAN_STEPS } from "./help";

export function setUpPlan(): void {
  onShow("plan", () => void load());
  $("plan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void save();
  });
}

async function load(): Promise<void> {
  $("plan-saved").textContent = "";
  $("plan-form").replaceChildren();
  try {
    render(await api.safety.getPlan({}));
  } catch (error) {
    problem(sentence(error));
  }
}

function render(plan: SafetyPlan): void {
  const form = $("plan-form");
  form.replaceChildren(
    el("p", { class: "note" }, "One item a line."),
    ...PLAN_STEPS.map(([field, title], n) => {
      const box = el("textarea", { id: `plan-${field}`, rows: 3 });
      box.value = (plan[field] as string[]).join("\n");
      return el("div", {}, el("label", { for: box.id }, `${n + 1}. ${title}`), box);
    }),
    el(
      "label",
      { for: "plan-locked-copy" },
      el("input", { type: "checkbox", id: "plan-locked-copy", checked: plan.readableWhileLocked }),
      " Keep a readable copy of this plan (only the plan, unencrypted) so that help now shows it while the vault is locked",
    ),
    el("button", { type: "submit" }, "Save the plan"),
  );
}

async function save(): Promise<void> {
  const plan = create(SafetyPlanSchema, {});
  for (const [field] of PLAN_STEPS) {
    (plan[field] as string[]) = lines((document.getElementById(`plan-${field}`) as HTMLTextAreaElement).value);
  }
  const lockedCopy = (document.getElementById("plan-locked-copy") as HTMLInputElement).checked;
  try {
    let saved = await api.safety.setPlan(plan);
    if (saved.readableWhileLocked !== lockedCopy) saved = await api.safety.setLockedCopy({ enabled: lockedCopy });
    render(saved);
    $("plan-saved").textContent = "Saved.";
  } catch (error) {
    problem(sentence(error));
  }
}
