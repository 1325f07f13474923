// Interlude's web app: one page, a screen at a time, speaking gRPC-Web (Connect-ES) to the
// daemon that served it. Calm on purpose: no badges, no counts, no streaks.
import { takeToken, useToken } from "./api";
import { problem } from "./dom";
import { setUpNav, show } from "./nav";
import { setUpCapture } from "./screens/capture";
import { setUpCheckIn } from "./screens/checkin";
import { setUpHelp } from "./screens/help";
import { setUpPlan } from "./screens/plan";
import { setUpPractice } from "./screens/practice";
import { setUpPrep } from "./screens/prep";
import { setUpTimeline } from "./screens/timeline";
import { followVault, refreshVault, setUpVault } from "./screens/vault";

document.addEventListener("DOMContentLoaded", () => {
  setUpNav();
  setUpCapture();
  setUpCheckIn();
  setUpHelp();
  setUpPlan();
  setUpPractice();
  setUpPrep();
  setUpTimeline();
  setUpVault();
  const token = takeToken();
  if (!token) {
    problem("This page needs the link `interlude web` opens (it carries a token for this tab).");
    return;
  }
  useToken(token);
  show("capture");
  void refreshVault().then(() => followVault());
});
