import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { Session } from "../../api/types";
import { orderKeys, userKeys } from "../../api/keys";
import { api, unwrap } from "../../lib/api-client";
import { forgetPushedStatuses } from "../orders/api";
import { useSessionStore } from "./use-session";

export interface Credentials {
  email: string;
  password: string;
}

export function useLogin() {
  const store = useSessionStore();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: Credentials): Promise<Session> => unwrap(await api.POST("/api/v1/auth/login", { body })),
    onSuccess: (data) => {
      qc.removeQueries({ queryKey: orderKeys.all });
      qc.removeQueries({ queryKey: userKeys.all });
      store.accept(data);
    },
  });
}

export function useSignup() {
  const store = useSessionStore();
  return useMutation({
    mutationFn: async (body: Credentials & { display_name?: string }): Promise<Session> =>
      unwrap(await api.POST("/api/v1/auth/register", { body })),
    onSuccess: (data) => store.accept(data),
  });
}

export function useLogout() {
  const store = useSessionStore();
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => store.logout(),
    onSettled: () => {
      forgetPushedStatuses();
      qc.removeQueries({ queryKey: orderKeys.all });
      qc.removeQueries({ queryKey: userKeys.all });
    },
  });
}
