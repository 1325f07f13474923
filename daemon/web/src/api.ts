// The daemon that served this page, through Connect-ES's gRPC-Web transport and the clients buf
// generated from proto/proto. The token arrives in the URL fragment (a browser never sends a
// fragment to a server), is kept in this tab's sessionStorage and leaves the address bar at once.
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import type { DescService } from "@bufbuild/protobuf";

import { CheckIns } from "./gen/interlude/v1/checkins_pb";
import { Daemon } from "./gen/interlude/v1/daemon_pb";
import { Practice } from "./gen/interlude/v1/practice_pb";
import { Prep } from "./gen/interlude/v1/prep_pb";
import { Safety } from "./gen/interlude/v1/safety_pb";
import { Timeline } from "./gen/interlude/v1/timeline_pb";
import { Vocabulary } from "./gen/interlude/v1/vocabulary_pb";

const TOKEN_KEY = "interlude-token";

/// The token from the link `interlude web` opened, or the one this tab already keeps.
export function takeToken(): string | null {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("token");
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

let token = "";

const bearer: Interceptor = (next) => async (request) => {
  request.header.set("authorization", `Bearer ${token}`);
  return next(request);
};

const transport = createGrpcWebTransport({
  baseUrl: location.origin,
  interceptors: [bearer],
});

function client<T extends DescService>(service: T): Client<T> {
  return createClient(service, transport);
}

export const api = {
  daemon: client(Daemon),
  timeline: client(Timeline),
  safety: client(Safety),
  checkins: client(CheckIns),
  practice: client(Practice),
  vocabulary: client(Vocabulary),
  prep: client(Prep),
};

export function useToken(given: string): void {
  token = given;
}

/// The daemon's own sentence (it writes them for people), with what to do where the page knows
/// better than the daemon.
export function sentence(error: unknown): string {
  const failure = ConnectError.from(error);
  const words = failure.rawMessage || failure.message;
  if (failure.code === Code.Unauthenticated) {
    return `${words} Run \`interlude web\` again for a fresh link.`;
  }
  if (failure.code === Code.FailedPrecondition && /locked/i.test(words)) {
    return "The vault is locked: unlock it above to see this.";
  }
  if (failure.code === Code.Unavailable) {
    return "The daemon does not answer. Is interluded still running?";
  }
  return words;
}

export function isLocked(error: unknown): boolean {
  const failure = ConnectError.from(error);
  return failure.code === Code.FailedPrecondition && /locked/i.test(failure.rawMessage);
}
