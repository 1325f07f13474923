// Quick capture: text, a feeling with its intensity, tags, bring to session, private.
import { create } from "@bufbuild/protobuf";

import { api, sentence } from "../api";
import { $, input, problem, textarea } from "../dom";
import { EmotionSchema } from "../gen/interlude/v1/timeline_pb";
import { showSafety } from "./help";

export function setUpCapture(): void {
  const intensity = input("intensity");
  intensity.addEventListener("input", () => {
    $("intensity-shown").textContent = intensity.value;
  });
  $("capture-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void save();
  });
}

async function save(): Promise<void> {
  const feeling = input("emotion").value.trim();
  try {
    const added = await api.timeline.addReflection({
      text: textarea("text").value,
      emotions: feeling ? [create(EmotionSchema, { name: feeling, intensity: Number(input("intensity").value) })] : [],
      tags: input("tags").value.split(",").map((t) => t.trim()).filter(Boolean),
      bringToSession: input("bring").checked,
      private: input("private").checked,
    });
    ($("capture-form") as HTMLFormElement).reset();
    $("intensity-shown").textContent = "50";
    $("saved").textContent = added.sealed ? "Saved, sealed until you unlock." : "Saved.";
    if (added.safety) showSafety(added.safety);
  } catch (error) {
    problem(sentence(error));
  }
}
