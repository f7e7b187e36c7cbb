import { Link } from "react-router";
import { buttonClass } from "../components/ui";

export function NotFoundPage() {
  return (
    <div className="mx-auto max-w-lg py-16 text-center">
      <p className="text-sm font-semibold uppercase tracking-wide text-teal-900">404</p>
      <h1 tabIndex={-1} className="mt-2 font-serif text-3xl font-bold text-stone-900 focus:outline-none">
        This page is not on our shelves
      </h1>
      <p className="mt-3 text-stone-700">The address may be mistyped, or the page has moved.</p>
      <Link to="/" className={`${buttonClass("primary")} mt-6`}>
        Back to the catalogue
      </Link>
    </div>
  );
}
