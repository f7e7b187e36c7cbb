import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import type { Role } from "../../api/types";
import { EmptyState, LoadingState, TextLink } from "../../components/ui";
import { useSession } from "./use-session";

/** Renders its children for a signed-in user (with `role`, if given); otherwise sends to log in. */
export function RequireAuth({ role, children }: { role?: Role; children: ReactNode }) {
  const state = useSession();
  const location = useLocation();
  if (state.status === "loading") return <LoadingState label="Checking your session" />;
  if (state.status === "anonymous") {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  if (role && state.user.role !== role) {
    return (
      <EmptyState title="This page is for the shop's staff">
        <p>
          Your account cannot open it. <TextLink to="/">Back to the catalogue</TextLink>
        </p>
      </EmptyState>
    );
  }
  return <>{children}</>;
}
