import { Suspense, useEffect, useRef } from "react";
import { Link, NavLink, Outlet, useLocation } from "react-router";
import { LoadingState } from "../components/ui";
import { useLogout } from "../features/auth/api";
import { useSession } from "../features/auth/use-session";
import { countItems, useCart } from "../features/cart/cart-store";

const navClass = ({ isActive }: { isActive: boolean }) =>
  `inline-flex min-h-11 shrink-0 items-center rounded-lg px-2.5 text-sm font-semibold sm:px-3 ${
    isActive ? "bg-teal-900 text-white" : "text-teal-50 hover:bg-teal-800"
  }`;

function useFocusOnNavigate() {
  const { pathname } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo(0, 0);
    const main = document.getElementById("main");
    if (!main) return;
    // Move focus to the new page's heading so screen readers announce it; a page that loads
    // its data first gets its heading a moment later, so wait for it (unless the user has moved
    // on inside the page meanwhile).
    const focusHeading = () => {
      const h1 = main.querySelector<HTMLElement>("h1");
      if (!h1) return false;
      const active = document.activeElement;
      if (active === null || active === document.body || active === main || !main.contains(active)) h1.focus();
      return true;
    };
    if (focusHeading()) return;
    main.focus();
    const observer = new MutationObserver(() => {
      if (focusHeading()) observer.disconnect();
    });
    observer.observe(main, { childList: true, subtree: true });
    const timer = setTimeout(() => observer.disconnect(), 5000);
    return () => {
      observer.disconnect();
      clearTimeout(timer);
    };
  }, [pathname]);
}

export function Layout() {
  const state = useSession();
  const items = useCart();
  const count = countItems(items);
  const logout = useLogout();
  const location = useLocation();
  useFocusOnNavigate();

  return (
    <div className="flex min-h-screen flex-col bg-stone-50 text-stone-900">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-4 focus:py-2 focus:text-teal-900">
        Skip to content
      </a>
      <header className="bg-teal-950 text-white shadow">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3 sm:px-6">
          <Link to="/" className="mr-auto flex min-h-11 items-center gap-2 font-serif text-xl font-bold tracking-tight">
            <svg aria-hidden="true" viewBox="0 0 32 32" className="size-7">
              <rect width="32" height="32" rx="6" className="fill-amber-100" />
              <path d="M8 8h7a3 3 0 0 1 3 3v13a2 2 0 0 0-2-2H8zM24 8h-3a3 3 0 0 0-3 3v13a2 2 0 0 1 2-2h4z" className="fill-teal-900" />
            </svg>
            Bookstore
          </Link>
          <nav aria-label="Main" className="-mx-1 flex w-full flex-wrap items-center gap-0.5 sm:mx-0 sm:w-auto sm:gap-1">
            <NavLink to="/" end className={navClass}>
              Catalogue
            </NavLink>
            {state.status === "authenticated" && (
              <NavLink to="/orders" className={navClass}>
                Orders
              </NavLink>
            )}
            {state.status === "authenticated" && state.user.role === "admin" && (
              <NavLink to="/admin" className={navClass}>
                Admin
              </NavLink>
            )}
            <NavLink to="/cart" className={navClass} aria-label={`Cart, ${count} ${count === 1 ? "book" : "books"}`}>
              Cart
              <span aria-hidden="true" className="ml-1.5 inline-flex min-w-6 justify-center rounded-full bg-amber-300 px-1.5 text-xs font-bold text-stone-950">
                {count}
              </span>
            </NavLink>
            {state.status === "authenticated" ? (
              <>
                <NavLink to="/profile" className={navClass}>
                  <span className="sm:hidden">Profile</span>
                  <span className="hidden max-w-40 truncate sm:inline">{state.user.display_name || "Profile"}</span>
                  <span className="sr-only"> (profile)</span>
                </NavLink>
                <button
                  type="button"
                  onClick={() => logout.mutate()}
                  className="hidden min-h-11 shrink-0 items-center rounded-lg px-3 text-sm font-semibold text-teal-50 hover:bg-teal-800 sm:inline-flex"
                >
                  Log out
                </button>
              </>
            ) : state.status === "anonymous" ? (
              <>
                <NavLink to={`/login${location.pathname !== "/" && location.pathname !== "/login" ? `?next=${encodeURIComponent(location.pathname + location.search)}` : ""}`} className={navClass}>
                  Log in
                </NavLink>
                <NavLink to="/signup" className={navClass}>
                  Sign up
                </NavLink>
              </>
            ) : null}
          </nav>
        </div>
      </header>
      {state.status === "anonymous" && state.expired && location.pathname !== "/login" && (
        <div role="alert" className="border-b border-amber-300 bg-amber-50">
          <p className="mx-auto max-w-7xl px-4 py-2 text-sm text-amber-950 sm:px-6">
            Your session has ended. Your cart is kept.{" "}
            <Link
              to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`}
              className="font-semibold underline underline-offset-2"
            >
              Log in again
            </Link>
          </p>
        </div>
      )}
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-7xl flex-1 px-4 py-6 focus:outline-none sm:px-6 sm:py-8">
        <Suspense fallback={<LoadingState />}>
          <Outlet />
        </Suspense>
      </main>
      <footer className="border-t border-stone-200 bg-white">
        <div className="mx-auto max-w-7xl px-4 py-6 text-sm text-stone-700 sm:px-6">
          Bookstore · Books to browse, buy and follow ·{" "}
          <a href="/api/v1/docs" className="underline underline-offset-2">
            API
          </a>
        </div>
      </footer>
    </div>
  );
}
