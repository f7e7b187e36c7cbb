import { useState, type SubmitEvent } from "react";
import { Navigate, useLocation, useSearchParams } from "react-router";
import { Alert, Button, FormError, PageHeader, TextField, TextLink } from "../../components/ui";
import { fieldErrors, problemOf } from "../../lib/problem";
import { useLogin } from "./api";
import { safeNext, useSession } from "./use-session";

export function LoginPage() {
  const [params] = useSearchParams();
  const location = useLocation();
  const notice = (location.state as { notice?: string } | null)?.notice;
  const next = safeNext(params.get("next"));
  const state = useSession();
  const login = useLogin();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");

  if (state.status === "authenticated") return <Navigate to={next} replace />;

  const errors = fieldErrors(problemOf(login.error));
  const onSubmit = (e: SubmitEvent) => {
    e.preventDefault();
    login.mutate({ email: email.trim(), password });
  };

  return (
    <div className="mx-auto max-w-md">
      <PageHeader title="Log in" />
      <form onSubmit={onSubmit} className="space-y-4 rounded-xl border border-stone-200 bg-white p-6 shadow-sm" noValidate>
        {notice && <Alert tone="info">{notice}</Alert>}
        {state.status === "anonymous" && state.expired && !notice && (
          <Alert tone="info">Your session has ended. Log in again; your cart is kept.</Alert>
        )}
        <FormError error={login.error} />
        <TextField
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.email}
        />
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
        />
        <Button type="submit" className="w-full" disabled={login.isPending}>
          {login.isPending ? "Logging in…" : "Log in"}
        </Button>
        <p className="text-sm text-stone-700">
          New here? <TextLink to={`/signup${next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}`}>Create an account</TextLink>
        </p>
      </form>
    </div>
  );
}
