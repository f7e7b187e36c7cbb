import { Link } from "react-router";
import { buttonClass } from "./ui";

/** Previous / next links for a paged list; `hrefFor` builds each page's URL. */
/** The links of a pager over a list whose view is the URL's query: the same query, another page. */
export function pageHrefs(params: URLSearchParams): (page: number) => string {
  return (page) => {
    const next = new URLSearchParams(params);
    next.set("page", String(page));
    return `?${next.toString()}`;
  };
}

export function Pager({
  page,
  total,
  pageSize,
  hrefFor,
  label = "Pages",
}: {
  page: number;
  total: number;
  pageSize: number;
  hrefFor: (page: number) => string;
  label?: string;
}) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (pages <= 1) return null;
  return (
    <nav aria-label={label} className="mt-8 flex items-center justify-between gap-3">
      {page > 1 ? (
        <Link to={hrefFor(page - 1)} className={buttonClass("secondary")} rel="prev">
          ← Previous
        </Link>
      ) : (
        <span />
      )}
      <p className="text-sm text-stone-700">
        Page {page} of {pages}
      </p>
      {page < pages ? (
        <Link to={hrefFor(page + 1)} className={buttonClass("secondary")} rel="next">
          Next →
        </Link>
      ) : (
        <span />
      )}
    </nav>
  );
}
