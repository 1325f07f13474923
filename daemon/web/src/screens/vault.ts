// The vault's state in the header, with Lock and Unlock. Unlocking asks for the passphrase (the
// token alone never opens the vault). The header follows the vault through the daemon's event
// stream (CheckIns.Watch), so an idle lock or `interlude lock` shows without a reload.
import { api, sentence } from "../api";
import { $, input, problem } from "../dom";
import { VaultState } from "../gen/interlude/v1/daemon_pb";
import { current, show } from "../nav";

export function setUpVault(): void {
  $("lock").addEventListener("click", () => void lock());
  $("unlock-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void unlock();
  });
}

let shown = VaultState.UNSPECIFIED;

function showState(state: VaultState): void {
  const words: Record<number, string> = {
    [VaultState.UNINITIALISED]: "No vault yet: run `interlude init`.",
    [VaultState.LOCKED]: "Locked: what you write is kept sealed until you unlock.",
    [VaultState.UNLOCKED]: "Unlocked.",
  };
  $("vault").textContent = words[state] ?? "";
  $("lock").hidden = state !== VaultState.UNLOCKED;
  $("unlock-form").hidden = state !== VaultState.LOCKED;
  shown = state;
}

export async function refreshVault(): Promise<VaultState> {
  try {
    const status = await api.daemon.status({});
    showState(status.vault);
    return status.vault;
  } catch (error) {
    problem(sentence(error));
    return VaultState.UNSPECIFIED;
  }
}

/// Follows the vault's state for as long as the page is open; after the stream ends (the daemon
/// restarting) it tries again a little later.
export async function followVault(): Promise<void> {
  for (;;) {
    try {
      for await (const event of api.checkins.watch({})) {
        if (event.kind.case === "vault" && event.kind.value !== shown) {
          const wasLocked = shown === VaultState.LOCKED;
          showState(event.kind.value);
          // Unlocked elsewhere (the CLI) while this screen said it was locked: show it again.
          // Never otherwise: a screen is not redrawn under someone typing.
          if (wasLocked && event.kind.value === VaultState.UNLOCKED && !$("problem").hidden) show(current());
        }
      }
    } catch {
      // The stream ended (the daemon stopping, the token expired): calls on the screen say so.
    }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}

async function lock(): Promise<void> {
  try {
    await api.daemon.lock({});
    await refreshVault();
    show(current());
    input("passphrase").focus();
  } catch (error) {
    problem(sentence(error));
  }
}

async function unlock(): Promise<void> {
  const field = input("passphrase");
  try {
    await api.daemon.unlock({ secret: { case: "passphrase", value: field.value } });
    field.value = "";
    await refreshVault();
    show(current());
  } catch (error) {
    field.value = "";
    problem(sentence(error));
    field.focus();
  }
}
