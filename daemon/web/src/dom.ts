// The few DOM helpers the screens share. Text always goes in as textContent, never as markup.

export function $(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found;
}

export function input(id: string): HTMLInputElement {
  return $(id) as HTMLInputElement;
}

export function textarea(id: string): HTMLTextAreaElement {
  return $(id) as HTMLTextAreaElement;
}

type Attributes = Record<string, string | boolean | number | undefined>;

/// An element with attributes (false and undefined leave one out) and children.
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === undefined) continue;
    made.setAttribute(name, value === true ? "" : String(value));
  }
  made.append(...children);
  return made;
}

export function button(label: string, onClick: () => void, attributes: Attributes = {}): HTMLButtonElement {
  const made = el("button", { type: "button", ...attributes }, label);
  made.addEventListener("click", onClick);
  return made;
}

/// A problem shown in the page's alert region; `null` clears it.
export function problem(words: string | null): void {
  const shown = $("problem");
  shown.textContent = words ?? "";
  shown.hidden = words === null;
}

/// Lines of a textarea, trimmed, without the empty ones.
export function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

let counter = 0;
/// A fresh id for a label's `for`.
export function freshId(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/// Moves focus to a screen's or a step's heading, so that a keyboard or screen-reader user
/// starts where the new content does.
export function focusHeading(heading: HTMLElement | null): void {
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus();
}

export function when(date: Date): string {
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
