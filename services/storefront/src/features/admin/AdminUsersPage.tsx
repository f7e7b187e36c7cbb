import { useSearchParams } from "react-router";
import type { Role, User, UserListQuery } from "../../api/types";
import { Pager, pageHrefs } from "../../components/Pager";
import { SearchForm } from "../../components/SearchForm";
import { Button, EmptyState, ErrorState, FormError, LoadingState, PageHeader } from "../../components/ui";
import { useSession } from "../auth/use-session";
import { useUpdateUser, useUsers } from "./api";

const PAGE_SIZE = 25;

export function AdminUsersPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const query: UserListQuery = { limit: PAGE_SIZE, page, ...(q ? { q } : {}) };
  const users = useUsers(query);
  const update = useUpdateUser();
  const state = useSession();
  const me = state.status === "authenticated" ? state.user.id : "";
  const search = (text: string) => setParams(text ? new URLSearchParams({ q: text }) : new URLSearchParams());

  return (
    <div>
      <PageHeader title="Users" />
      <SearchForm
        key={q}
        id="admin-user-search"
        label="Search by email"
        placeholder="Part of an email address"
        className="mb-4 max-w-md"
        buttonVariant="secondary"
        initial={q}
        onSearch={search}
      />
      <FormError error={update.error} />
      {users.isPending ? (
        <LoadingState label="Loading users" />
      ) : users.isError ? (
        <ErrorState error={users.error} onRetry={() => void users.refetch()} />
      ) : users.data.items.length === 0 ? (
        <EmptyState title="No users found" />
      ) : (
        <>
          <ul className="space-y-3 sm:hidden" aria-label="Accounts">
            {users.data.items.map((u) => {
              const self = u.id === me;
              return (
                <li key={u.id} className="rounded-xl border border-stone-200 bg-white p-4 shadow-sm">
                  <div className="font-medium text-stone-900">{u.display_name || u.email}</div>
                  <div className="break-all text-sm text-stone-700">{u.email}</div>
                  <p className={`mt-1 text-sm font-medium ${u.active ? "text-emerald-800" : "text-red-800"}`}>
                    {u.active ? "Active" : "Deactivated"}
                  </p>
                  <div className="mt-2 flex flex-wrap items-center gap-2">
                    <label className="sr-only" htmlFor={`role-card-${u.id}`}>
                      Role of {u.email}
                    </label>
                    <RoleSelect id={`role-card-${u.id}`} user={u} disabled={self || update.isPending} onChange={(role) => update.mutate({ id: u.id, role })} />
                    {self ? (
                      <span className="text-sm text-stone-600">You</span>
                    ) : (
                      <ActiveToggle user={u} disabled={update.isPending} onToggle={() => update.mutate({ id: u.id, active: !u.active })} />
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
          <div className="hidden overflow-x-auto rounded-xl border border-stone-200 bg-white shadow-sm sm:block">
            <table className="w-full min-w-[40rem] text-left text-sm">
              <caption className="sr-only">Accounts</caption>
              <thead className="bg-stone-100 text-stone-800">
                <tr>
                  <th scope="col" className="px-4 py-3 font-semibold">User</th>
                  <th scope="col" className="px-4 py-3 font-semibold">Role</th>
                  <th scope="col" className="px-4 py-3 font-semibold">Status</th>
                  <th scope="col" className="px-4 py-3 text-right font-semibold">Actions</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-stone-200">
                {users.data.items.map((u) => {
                  const self = u.id === me;
                  return (
                    <tr key={u.id}>
                      <td className="px-4 py-3">
                        <div className="font-medium text-stone-900">{u.display_name || u.email}</div>
                        <div className="text-stone-700">{u.email}</div>
                      </td>
                      <td className="px-4 py-3">
                        <label className="sr-only" htmlFor={`role-${u.id}`}>
                          Role of {u.email}
                        </label>
                        <RoleSelect id={`role-${u.id}`} user={u} disabled={self || update.isPending} onChange={(role) => update.mutate({ id: u.id, role })} />
                      </td>
                      <td className={`px-4 py-3 font-medium ${u.active ? "text-emerald-800" : "text-red-800"}`}>
                        {u.active ? "Active" : "Deactivated"}
                      </td>
                      <td className="px-4 py-3 text-right">
                        {self ? (
                          <span className="text-stone-600">You</span>
                        ) : (
                          <ActiveToggle user={u} disabled={update.isPending} onToggle={() => update.mutate({ id: u.id, active: !u.active })} />
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager
            page={page}
            total={users.data.total}
            pageSize={PAGE_SIZE}
            label="User pages"
            hrefFor={pageHrefs(params)}
          />
        </>
      )}
    </div>
  );
}

/** The role of an account, changed as soon as another is chosen. */
function RoleSelect({ id, user, disabled, onChange }: { id: string; user: User; disabled: boolean; onChange: (role: Role) => void }) {
  return (
    <select
      id={id}
      value={user.role}
      disabled={disabled}
      onChange={(e) => onChange(e.target.value as Role)}
      className="min-h-11 rounded-lg border border-stone-300 bg-white px-2 py-1 disabled:bg-stone-100"
    >
      <option value="customer">Customer</option>
      <option value="admin">Admin</option>
    </select>
  );
}

/** Deactivates an active account, or reactivates a deactivated one. */
function ActiveToggle({ user, disabled, onToggle }: { user: User; disabled: boolean; onToggle: () => void }) {
  const action = user.active ? "Deactivate" : "Reactivate";
  return (
    <Button variant={user.active ? "ghost" : "secondary"} disabled={disabled} onClick={onToggle} aria-label={`${action} ${user.email}`}>
      {action}
    </Button>
  );
}
