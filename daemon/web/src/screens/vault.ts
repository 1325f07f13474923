// The vault's state in the header, with Lock and Unlock. Unlocking asks for the passphrase (the
// token alone never opens the vault).
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

export async function refreshVault(): Promise<VaultState> {
  try {
    const status = await api.daemon.status({});
    const words: Record<number, string> = {
      [VaultState.UNINITIALISED]: "No vault yet: run `interlude init`.",
      [VaultState.LOCKED]: "Locked: what you write is kept sealed until you unlock.",
      [VaultState.UNLOCKED]: "Unlocked.",
    };
    $("vault").textContent = words[status.vault] ?? "";
    $("lock").hidden = status.vault !== VaultState.UNLOCKED;
    $("unlock-form").hidden = status.vault !== VaultState.LOCKED;
    return status.vault;
  } catch (error) {
    problem(sentence(error));
    return VaultState.UNSPECIFIED;
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
