import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type SubmitEvent } from "react";
import { useNavigate } from "react-router";
import { orderKeys } from "../../api/keys";
import type { UpdateMe, User } from "../../api/types";
import { Alert, Button, FormError, PageHeader, TextField } from "../../components/ui";
import { api, unwrap } from "../../lib/api-client";
import { fieldErrors, problemOf } from "../../lib/problem";
import { useLogout } from "../auth/api";
import { useSession, useSessionStore } from "../auth/use-session";

function useUpdateMe() {
  return useMutation({
    mutationFn: async (body: UpdateMe): Promise<User> => unwrap(await api.PATCH("/api/v1/users/me", { body })),
  });
}

export function ProfilePage() {
  const state = useSession();
  if (state.status !== "authenticated") return null;
  return (
    <div className="mx-auto max-w-xl">
      <PageHeader title="Your profile" />
      <p className="-mt-3 mb-6 text-stone-700">
        Signed in as <strong>{state.user.email}</strong>
        {state.user.role === "admin" ? " (staff)" : ""}
      </p>
      <div className="space-y-6">
        <NameForm user={state.user} />
        <PasswordForm />
        <LogOut />
      </div>
    </div>
  );
}

function NameForm({ user }: { user: User }) {
  const store = useSessionStore();
  const update = useUpdateMe();
  const [name, setName] = useState(user.display_name);
  const errors = fieldErrors(problemOf(update.error));
  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    update.mutate({ display_name: name.trim() }, { onSuccess: (u) => store.updateUser(u) });
  };
  return (
    <form onSubmit={submit} noValidate className="space-y-4 rounded-xl border border-stone-200 bg-white p-6 shadow-sm">
      <h2 className="text-lg font-semibold text-stone-900">Display name</h2>
      {update.isSuccess && <Alert tone="success">Your name was saved.</Alert>}
      <FormError error={update.error} />
      <TextField label="Display name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.display_name} />
      <Button type="submit" disabled={update.isPending}>
        {update.isPending ? "Saving…" : "Save name"}
      </Button>
    </form>
  );
}

function PasswordForm() {
  const store = useSessionStore();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const update = useUpdateMe();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [mismatch, setMismatch] = useState(false);
  const errors = fieldErrors(problemOf(update.error));
  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    if (next !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    update.mutate(
      { current_password: current, new_password: next },
      {
        onSuccess: () => {
          // A password change ends every session of the account, this one included.
          qc.removeQueries({ queryKey: orderKeys.all });
          store.end(false);
          void navigate("/login", { state: { notice: "Your password was changed. Log in with the new one." } });
        },
      },
    );
  };
  return (
    <form onSubmit={submit} noValidate className="space-y-4 rounded-xl border border-stone-200 bg-white p-6 shadow-sm">
      <h2 className="text-lg font-semibold text-stone-900">Change password</h2>
      <p className="text-sm text-stone-700">Changing your password signs you out everywhere.</p>
      <FormError error={update.error} />
      <TextField
        label="Current password"
        type="password"
        autoComplete="current-password"
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
        error={errors.current_password}
      />
      <TextField
        label="New password"
        type="password"
        autoComplete="new-password"
        hint="10 to 128 characters; not a common password or your email."
        value={next}
        onChange={(e) => setNext(e.target.value)}
        error={errors.new_password}
      />
      <TextField
        label="Repeat the new password"
        type="password"
        autoComplete="new-password"
        value={confirm}
        onChange={(e) => setConfirm(e.target.value)}
        error={mismatch ? "The two new passwords are not the same." : undefined}
      />
      <Button type="submit" disabled={update.isPending}>
        {update.isPending ? "Changing…" : "Change password"}
      </Button>
    </form>
  );
}

function LogOut() {
  const logout = useLogout();
  return (
    <section aria-labelledby="logout-heading" className="rounded-xl border border-stone-200 bg-white p-6 shadow-sm">
      <h2 id="logout-heading" className="text-lg font-semibold text-stone-900">
        Leaving?
      </h2>
      <p className="mt-1 text-sm text-stone-700">Your cart stays on this device.</p>
      <Button variant="secondary" className="mt-3" disabled={logout.isPending} onClick={() => logout.mutate()}>
        Log out of this device
      </Button>
    </section>
  );
}
