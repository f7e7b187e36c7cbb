// The signed-in session. The access token lives only in memory; the refresh token is an
// HttpOnly cookie scoped to /api/v1/auth that the browser sends with POST /api/v1/auth/refresh.
//
// - `authFetch` adds the bearer token, refreshes it shortly before it expires, and on a 401
//   refreshes once and retries the request.
// - Refreshes are single-flight within a tab, serialised across tabs with the Web Locks API,
//   and shared with the other tabs over a BroadcastChannel: a refresh token works once, so two
//   tabs must never present the same one.
// - When a refresh is refused the session ends as "expired"; nothing else (the cart) is touched.
import type { Session, User } from "../api/types";

export type SessionState =
  | { status: "loading" }
  | { status: "anonymous"; expired: boolean }
  | { status: "authenticated"; user: User };

type Message = { type: "session"; session: Session; at: number } | { type: "ended"; expired: boolean };

interface ChannelLike {
  postMessage(message: Message): void;
  addEventListener(type: "message", listener: (event: MessageEvent<Message>) => void): void;
}

interface LocksLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export interface SessionDeps {
  fetch: (input: Request) => Promise<Response>;
  now?: () => number;
  channel?: ChannelLike | null;
  locks?: LocksLike | null;
  /** Refresh this long before the access token expires (ms). */
  margin?: number;
}

const REFRESH_PATH = "/api/v1/auth/refresh";
const LOGOUT_PATH = "/api/v1/auth/logout";

export interface SessionStore {
  getState: () => SessionState;
  subscribe: (listener: () => void) => () => void;
  /** The current access token, refreshed first when it is about to expire. */
  token: () => Promise<string | null>;
  /** The access token as it is now, without refreshing (for the Socket.IO handshake). */
  currentToken: () => string | null;
  /** Takes a new session from login, sign-up or refresh. */
  accept: (session: Session) => void;
  /** Asks for a new access token with the refresh cookie; null when the session is over. */
  refresh: () => Promise<string | null>;
  /** At start-up: resume a session from the refresh cookie, if there is one. */
  restore: () => Promise<void>;
  logout: () => Promise<void>;
  /** Ends the session locally, e.g. after a password change. */
  end: (expired: boolean) => void;
  updateUser: (user: User) => void;
  authFetch: (request: Request) => Promise<Response>;
}

export function createSession(deps: SessionDeps): SessionStore {
  const now = deps.now ?? (() => Date.now());
  const margin = deps.margin ?? 30_000;
  const channel = deps.channel ?? null;
  let state: SessionState = { status: "loading" };
  let accessToken: string | null = null;
  let expiresAt = 0;
  let generation = 0;
  let inflight: Promise<string | null> | null = null;
  const listeners = new Set<() => void>();

  function setState(next: SessionState) {
    state = next;
    for (const l of listeners) l();
  }

  function take(session: Session, at: number) {
    accessToken = session.access_token;
    expiresAt = at + session.expires_in * 1000;
    lifetime = session.expires_in * 1000;
    generation += 1;
    setState({ status: "authenticated", user: session.user });
  }

  function accept(session: Session) {
    const at = now();
    take(session, at);
    channel?.postMessage({ type: "session", session, at });
  }

  function end(expired: boolean, broadcast = true) {
    const wasSignedIn = accessToken !== null || state.status === "authenticated";
    accessToken = null;
    expiresAt = 0;
    generation += 1;
    setState({ status: "anonymous", expired: expired && wasSignedIn });
    if (broadcast) channel?.postMessage({ type: "ended", expired });
  }

  channel?.addEventListener("message", (event) => {
    const msg = event.data;
    if (msg.type === "session") take(msg.session, msg.at);
    else end(msg.expired, false);
  });

  let lifetime = Infinity;

  function fresh(): boolean {
    // Refresh `margin` before expiry, or after three quarters of a short-lived token's life.
    return accessToken !== null && expiresAt - now() > Math.min(margin, lifetime / 4);
  }

  async function doRefresh(seen: number): Promise<string | null> {
    // Another tab may have refreshed while this one waited for the lock.
    if (generation !== seen && fresh()) return accessToken;
    const response = await deps.fetch(
      new Request(new URL(REFRESH_PATH, baseUrl()), { method: "POST", credentials: "same-origin" }),
    );
    if (response.ok) {
      accept((await response.json()) as Session);
      return accessToken;
    }
    if (response.status === 401 || response.status === 403) {
      end(true);
      return null;
    }
    throw new Error(`refresh answered ${response.status}`);
  }

  function refresh(): Promise<string | null> {
    if (inflight) return inflight;
    const seen = generation;
    const run = () => doRefresh(seen);
    inflight = (deps.locks ? deps.locks.request("bookstore-refresh", run) : run()).finally(() => {
      inflight = null;
    });
    return inflight;
  }

  async function token(): Promise<string | null> {
    if (accessToken === null) return null;
    if (fresh()) return accessToken;
    try {
      return await refresh();
    } catch {
      return accessToken;
    }
  }

  async function restore() {
    try {
      const t = await refresh();
      if (t === null) setState({ status: "anonymous", expired: false });
    } catch {
      setState({ status: "anonymous", expired: false });
    }
  }

  async function logout() {
    try {
      await deps.fetch(new Request(new URL(LOGOUT_PATH, baseUrl()), { method: "POST", credentials: "same-origin" }));
    } finally {
      end(false);
    }
  }

  async function authFetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/api/v1/auth/")) return deps.fetch(request);
    const retry = request.clone();
    const sent = await token();
    if (sent !== null) request.headers.set("authorization", `Bearer ${sent}`);
    const response = await deps.fetch(request);
    if (response.status !== 401 || sent === null) return response;
    let renewed: string | null;
    try {
      renewed = accessToken !== sent && accessToken !== null ? accessToken : await refresh();
    } catch {
      return response;
    }
    if (renewed === null) return response;
    retry.headers.set("authorization", `Bearer ${renewed}`);
    return deps.fetch(retry);
  }

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    token,
    currentToken: () => accessToken,
    accept,
    refresh,
    restore,
    logout,
    end: (expired) => end(expired),
    updateUser(user) {
      if (state.status === "authenticated") setState({ status: "authenticated", user });
    },
    authFetch,
  };
}

export function baseUrl(): string {
  return typeof window === "undefined" ? "http://localhost" : window.location.origin;
}

function browserChannel(): ChannelLike | null {
  if (typeof BroadcastChannel === "undefined") return null;
  return new BroadcastChannel("bookstore-session");
}

function browserLocks(): LocksLike | null {
  if (typeof navigator === "undefined" || !("locks" in navigator)) return null;
  const locks = navigator.locks;
  return {
    // The lock's promise resolves to what the callback's promise resolves to.
    request: <T,>(name: string, callback: () => Promise<T>) => locks.request(name, callback) as unknown as Promise<T>,
  };
}

/** The app's one session. */
export const session: SessionStore = createSession({
  fetch: (request) => fetch(request),
  channel: browserChannel(),
  locks: browserLocks(),
});
