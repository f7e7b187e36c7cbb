// Live updates: one Socket.IO connection per signed-in session. Pushed order status changes
// update the query cache; for admins, a settled book summary has the book asked for again. When
// the socket cannot connect, the pages that wait for a change poll instead.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { orderKeys } from "../../api/keys";
import type { Order } from "../../api/types";
import {
  isStatusChange,
  isSummarySettled,
  openSocket,
  RESYNC_EVENT,
  STATUS_EVENT,
  SUMMARY_EVENT,
  type LiveSocket,
} from "../../lib/socket";
import { isNotFound } from "../../lib/problem";
import type { SessionStore } from "../../lib/session";
import { useSession, useSessionStore } from "../auth/use-session";
import { catchUpOnSummaries, summarySettled } from "../book/summary";
import { applyStatusChange, fetchOrder, FINAL, newest } from "./api";

interface Live {
  connected: boolean;
  /** How often pages poll while the socket is not connected (ms). */
  pollInterval: number;
}

const LiveContext = createContext<Live>({ connected: false, pollInterval: 2000 });

export function useLive(): Live {
  return useContext(LiveContext);
}

type Opener = (currentToken: () => string | null) => Promise<LiveSocket>;

const MAX_REFUSALS = 3;

export function LiveProvider({
  children,
  open = openSocket,
  pollInterval = 2000,
}: {
  children: ReactNode;
  open?: Opener;
  pollInterval?: number;
}) {
  const state = useSession();
  const store = useSessionStore();
  const qc = useQueryClient();
  const [connected, setConnected] = useState(false);
  const userId = state.status === "authenticated" ? state.user.id : null;
  const isAdmin = state.status === "authenticated" && state.user.role === "admin";

  useEffect(() => {
    if (userId === null) return;
    let socket: LiveSocket | null = null;
    let stopped = false;
    let refusals = 0;

    const reconnectWithFreshToken = (s: LiveSocket) => {
      void renew(store).then((ok) => {
        if (ok && !stopped) s.connect();
      });
    };

    // Changes made while pushes could not reach us are not pushed later: catch up over REST.
    const catchUp = () => {
      void qc.invalidateQueries({ queryKey: orderKeys.all });
      if (isAdmin) catchUpOnSummaries(qc);
    };
    const onConnect = () => {
      refusals = 0;
      setConnected(true);
      catchUp();
    };
    const onDisconnect = (reason: unknown) => {
      setConnected(false);
      // The server ends sockets whose token expired; the client does not reconnect by itself.
      if (reason === "io server disconnect" && socket) reconnectWithFreshToken(socket);
    };
    const onConnectError = () => {
      setConnected(false);
      // A refused handshake (bad or expired token) is not retried by the client: renew and retry
      // a few times, then leave it to polling.
      if (socket && socket.active !== true && refusals < MAX_REFUSALS) {
        refusals += 1;
        reconnectWithFreshToken(socket);
      }
    };
    const onChange = (payload: unknown) => {
      if (isStatusChange(payload)) applyStatusChange(qc, payload);
    };
    // Only admins' sockets are sent settled summaries; others do not listen for them.
    const onSummary = (payload: unknown) => {
      if (isSummarySettled(payload)) summarySettled(qc, payload);
    };

    void open(() => store.currentToken())
      .then((s) => {
        if (stopped) {
          s.disconnect();
          return;
        }
        socket = s;
        s.on("connect", onConnect);
        s.on("disconnect", onDisconnect);
        s.on("connect_error", onConnectError);
        s.on(STATUS_EVENT, onChange);
        s.on(RESYNC_EVENT, catchUp);
        if (isAdmin) s.on(SUMMARY_EVENT, onSummary);
        if (s.connected) onConnect();
      })
      .catch(() => setConnected(false));

    return () => {
      stopped = true;
      setConnected(false);
      if (socket) {
        socket.off("connect", onConnect);
        socket.off("disconnect", onDisconnect);
        socket.off("connect_error", onConnectError);
        socket.off(STATUS_EVENT, onChange);
        socket.off(RESYNC_EVENT, catchUp);
        socket.off(SUMMARY_EVENT, onSummary);
        socket.disconnect();
      }
    };
  }, [userId, isAdmin, open, store, qc]);

  return <LiveContext.Provider value={{ connected, pollInterval }}>{children}</LiveContext.Provider>;
}

async function renew(store: SessionStore): Promise<boolean> {
  try {
    return (await store.refresh()) !== null;
  } catch {
    return false;
  }
}

/** One order, kept current by the socket, or by polling while the socket is down. */
export function useLiveOrder(id: string) {
  const { connected, pollInterval } = useLive();
  const qc = useQueryClient();
  return useQuery({
    queryKey: orderKeys.detail(id),
    queryFn: async () => {
      const fetched = await fetchOrder(id);
      return newest(qc.getQueryData<Order>(orderKeys.detail(id)), fetched);
    },
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      if (!status || FINAL.includes(status)) return false;
      // With the socket up, a pending order is still checked now and then, in case a push was lost.
      if (connected) return status === "pending" ? pollInterval * 5 : false;
      return status === "pending" ? pollInterval : pollInterval * 5;
    },
    retry: (count, error) => !isNotFound(error) && count < 2,
  });
}
