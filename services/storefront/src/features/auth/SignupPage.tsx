import { useState, type SubmitEvent } from "react";
import { Navigate, useSearchParams } from "react-router";
import { Button, FormError, PageHeader, TextField, TextLink } from "../../components/ui";
import { fieldErrors, problemOf } from "../../lib/problem";
import { useSignup } from "./api";
import { safeNext, useSession } from "./use-session";

export function SignupPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const state = useSession();
  const signup = useSignup();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");

  if (state.status === "authenticated") return <Navigate to={next} replace />;

  const errors = fieldErrors(problemOf(signup.error));
  const onSubmit = (e: SubmitEvent) => {
    e.preventDefault();
    signup.mutate({ email: email.trim(), password, ...(name.trim() ? { display_name: name.trim() } : {}) });
  };

  return (
    <div className="mx-auto max-w-md">
      <PageHeader title="Create an account" />
      <form onSubmit={onSubmit} className="space-y-4 rounded-xl border border-stone-200 bg-white p-6 shadow-sm" noValidate>
        <FormError error={signup.error} />
        <TextField
          label="Your name"
          autoComplete="name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={errors.display_name}
        />
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
          autoComplete="new-password"
          required
          hint="10 to 128 characters; not a common password or your email."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
        />
        <Button type="submit" className="w-full" disabled={signup.isPending}>
          {signup.isPending ? "Creating your account…" : "Create account"}
        </Button>
        <p className="text-sm text-stone-700">
          Already have an account? <TextLink to={`/login${next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}`}>Log in</TextLink>
        </p>
      </form>
    </div>
  );
}
