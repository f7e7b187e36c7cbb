import { NavLink, Outlet } from "react-router";

const tab = ({ isActive }: { isActive: boolean }) =>
  `inline-flex min-h-11 items-center rounded-lg px-4 text-sm font-semibold ${
    isActive ? "bg-teal-800 text-white" : "text-stone-800 hover:bg-stone-200"
  }`;

export function AdminLayout() {
  return (
    <div>
      <p className="mb-1 text-sm font-semibold uppercase tracking-wide text-teal-900">Shop administration</p>
      <nav aria-label="Administration" className="mb-6 flex flex-wrap gap-2 border-b border-stone-200 pb-3">
        <NavLink to="/admin/books" className={tab}>
          Books
        </NavLink>
        <NavLink to="/admin/orders" className={tab}>
          Orders
        </NavLink>
        <NavLink to="/admin/users" className={tab}>
          Users
        </NavLink>
      </nav>
      <Outlet />
    </div>
  );
}
