import { createContext, useContext, useSyncExternalStore } from "react";
import { session, type SessionState, type SessionStore } from "../../lib/session";

export const SessionContext = createContext<SessionStore>(session);

export function useSessionStore(): SessionStore {
  return useContext(SessionContext);
}

export function useSession(): SessionState {
  const store = useSessionStore();
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}

/** Where to go after logging in: only paths inside the app. */
export function safeNext(next: string | null): string {
  if (!next?.startsWith("/") || next.startsWith("//")) return "/";
  return next;
}
