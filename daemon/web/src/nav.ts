// Which screen is showing. Help now is one of them and its button is outside the menu, so it is
// reachable from every screen, locked or not.
import { $, focusHeading, problem } from "./dom";

const opened = new Map<string, () => void>();

/// `load` runs each time the screen is shown.
export function onShow(screen: string, load: () => void): void {
  opened.set(screen, load);
}

export function show(screen: string): void {
  for (const section of document.querySelectorAll<HTMLElement>("main > section")) {
    section.hidden = section.id !== screen;
  }
  for (const button of document.querySelectorAll<HTMLButtonElement>("header button[data-screen]")) {
    if (button.dataset.screen === screen) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  problem(null);
  opened.get(screen)?.();
  focusHeading($(screen).querySelector("h2"));
}

export function current(): string {
  return document.querySelector<HTMLElement>("main > section:not([hidden])")?.id ?? "";
}

export function setUpNav(): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>("header button[data-screen]")) {
    button.addEventListener("click", () => show(button.dataset.screen ?? "capture"));
  }
}
