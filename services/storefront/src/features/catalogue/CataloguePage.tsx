import { useState } from "react";
import { useSearchParams } from "react-router";
import { Pager } from "../../components/Pager";
import { SearchForm } from "../../components/SearchForm";
import { Button, EmptyState, ErrorState, LoadingState, TextLink } from "../../components/ui";
import { useBooks } from "./api";
import { BookCard } from "./BookCard";
import { FilterPanel } from "./FilterPanel";
import {
  activeFilterCount,
  PAGE_SIZE,
  parseFilters,
  SORT_LABELS,
  SORTS,
  toApiQuery,
  toSearchParams,
  withFilter,
  type CatalogueFilters,
  type Sort,
} from "./filters";

export function CataloguePage() {
  const [params, setParams] = useSearchParams();
  const filters = parseFilters(params);
  const books = useBooks(toApiQuery(filters));
  const apply = (change: Partial<CatalogueFilters>) => setParams(toSearchParams(withFilter(filters, change)));
  const active = activeFilterCount(filters);
  const genres = books.data?.facets.genres ?? [];
  const [filtersOpen, setFiltersOpen] = useState(false);

  return (
    <div>
      <div className="mb-6 flex flex-col gap-4 lg:flex-row lg:items-end lg:justify-between">
        <div>
          <h1 tabIndex={-1} className="font-serif text-3xl font-bold text-stone-900 focus:outline-none">
            {filters.q ? `Results for “${filters.q}”` : "Find your next book"}
          </h1>
          {/* The line keeps its height while the count loads, so nothing below it moves. */}
          <p className="mt-1 min-h-6 text-stone-700" aria-live="polite">
            {books.data ? `${books.data.total} ${books.data.total === 1 ? "book" : "books"}` : " "}
          </p>
        </div>
        <SearchForm
          key={filters.q}
          id="catalogue-search"
          label="Search by title, author or ISBN"
          placeholder="Title, author or ISBN"
          className="lg:max-w-md"
          initial={filters.q}
          onSearch={(q) => apply({ q, sort: q ? "relevance" : "" })}
        />
      </div>

      <div className="grid gap-6 lg:grid-cols-[15rem_1fr]">
        <aside aria-label="Filters">
          <button
            type="button"
            className="flex min-h-11 w-full items-center justify-between rounded-xl border border-stone-200 bg-white px-4 font-semibold text-stone-900 lg:hidden"
            aria-expanded={filtersOpen}
            aria-controls="filter-panel"
            onClick={() => setFiltersOpen(!filtersOpen)}
          >
            Filters{active > 0 ? ` (${active})` : ""}
            <span aria-hidden="true" className={filtersOpen ? "rotate-180" : ""}>
              ▾
            </span>
          </button>
          <div
            id="filter-panel"
            className={`${filtersOpen ? "mt-2 block" : "hidden"} rounded-xl border border-stone-200 bg-white p-4 lg:mt-0 lg:block`}
          >
            <FilterPanel filters={filters} genres={genres} onChange={apply} />
          </div>
          {active > 0 && (
            <Button variant="ghost" className="mt-2 w-full" onClick={() => setParams(toSearchParams(withFilter(filters, { genre: "", format: "", minPrice: "", maxPrice: "", inStock: false })))}>
              Clear filters
            </Button>
          )}
        </aside>

        <section aria-label="Books">
          <div className="mb-4 flex justify-end">
            <label className="flex items-center gap-2 text-sm text-stone-800">
              Sort by
              <select
                className="min-h-11 rounded-lg border border-stone-300 bg-white px-3 py-2 text-stone-900 focus:border-teal-700 focus:outline-none focus:ring-2 focus:ring-teal-700/30"
                value={filters.sort || (filters.q ? "relevance" : "title")}
                onChange={(e) => apply({ sort: e.target.value as Sort })}
              >
                {SORTS.filter((s) => s !== "relevance" || filters.q).map((s) => (
                  <option key={s} value={s}>
                    {SORT_LABELS[s]}
                  </option>
                ))}
              </select>
            </label>
          </div>
          {books.isPending ? (
            // As tall as the screen, as the grid will be: the footer stays out of view instead
            // of jumping down when the books arrive.
            <div className="min-h-screen">
              <LoadingState label="Loading books" />
            </div>
          ) : books.isError ? (
            <ErrorState title="We could not load the catalogue" error={books.error} onRetry={() => void books.refetch()} />
          ) : books.data.items.length === 0 ? (
            <EmptyState title="No books match">
              <p>
                Try other words or fewer filters. <TextLink to="/">Show every book</TextLink>
              </p>
            </EmptyState>
          ) : (
            <>
              <ul
                className={`grid grid-cols-2 gap-3 sm:grid-cols-3 sm:gap-4 xl:grid-cols-4 ${books.isPlaceholderData ? "opacity-60" : ""}`}
                aria-busy={books.isPlaceholderData}
              >
                {books.data.items.map((b) => (
                  <BookCard key={b.id} book={b} />
                ))}
              </ul>
              <Pager
                page={filters.page}
                total={books.data.total}
                pageSize={PAGE_SIZE}
                hrefFor={(page) => `?${toSearchParams(withFilter(filters, { page })).toString()}`}
                label="Catalogue pages"
              />
            </>
          )}
        </section>
      </div>
    </div>
  );
}
