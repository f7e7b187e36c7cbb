// The catalogue's view (search, facets, sort, page) lives in the URL, so that a link or the
// back button restores it. These functions convert between the URL and the API's query.
import type { BookListQuery, Format } from "../../api/types";
import { FORMATS } from "../../api/types";

export const PAGE_SIZE = 24;

export const SORTS = ["relevance", "title", "price_asc", "price_desc", "newest"] as const;
export type Sort = (typeof SORTS)[number];

export const SORT_LABELS: Record<Sort, string> = {
  relevance: "Best match",
  title: "Title, A to Z",
  price_asc: "Price, low to high",
  price_desc: "Price, high to low",
  newest: "Newest first",
};

export interface CatalogueFilters {
  q: string;
  genre: string;
  format: Format | "";
  minPrice: string;
  maxPrice: string;
  inStock: boolean;
  sort: Sort | "";
  page: number;
}

export const EMPTY_FILTERS: CatalogueFilters = {
  q: "",
  genre: "",
  format: "",
  minPrice: "",
  maxPrice: "",
  inStock: false,
  sort: "",
  page: 1,
};

const PRICE = /^\d{1,7}(\.\d{1,2})?$/;

function isFormat(value: string): value is Format {
  return (FORMATS as readonly string[]).includes(value);
}

function isSort(value: string): value is Sort {
  return (SORTS as readonly string[]).includes(value);
}

/** Reads the view from the URL, dropping values the API would refuse. */
export function parseFilters(params: URLSearchParams): CatalogueFilters {
  const q = (params.get("q") ?? "").trim().slice(0, 200);
  const format = params.get("format") ?? "";
  const sort = params.get("sort") ?? "";
  const min = params.get("min_price") ?? "";
  const max = params.get("max_price") ?? "";
  const page = Number(params.get("page") ?? "1");
  const filters: CatalogueFilters = {
    q,
    genre: (params.get("genre") ?? "").trim().slice(0, 100),
    format: isFormat(format) ? format : "",
    minPrice: PRICE.test(min) ? min : "",
    maxPrice: PRICE.test(max) ? max : "",
    inStock: params.get("in_stock") === "true",
    sort: isSort(sort) && !(sort === "relevance" && q === "") ? sort : "",
    page: Number.isInteger(page) && page >= 1 && page <= 10000 ? page : 1,
  };
  if (filters.minPrice && filters.maxPrice && Number(filters.maxPrice) < Number(filters.minPrice)) {
    filters.maxPrice = "";
  }
  return filters;
}

/** Writes the view into URL parameters; defaults are left out so links stay short. */
export function toSearchParams(filters: CatalogueFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (filters.q) p.set("q", filters.q);
  if (filters.genre) p.set("genre", filters.genre);
  if (filters.format) p.set("format", filters.format);
  if (filters.minPrice) p.set("min_price", filters.minPrice);
  if (filters.maxPrice) p.set("max_price", filters.maxPrice);
  if (filters.inStock) p.set("in_stock", "true");
  if (filters.sort && !(filters.sort === "relevance" && !filters.q)) p.set("sort", filters.sort);
  if (filters.page > 1) p.set("page", String(filters.page));
  return p;
}

/** The API query for a view. */
export function toApiQuery(filters: CatalogueFilters): BookListQuery {
  const query: BookListQuery = { limit: PAGE_SIZE };
  if (filters.q) query.q = filters.q;
  if (filters.genre) query.genre = filters.genre;
  if (filters.format) query.format = filters.format;
  if (filters.minPrice) query.min_price = filters.minPrice;
  if (filters.maxPrice) query.max_price = filters.maxPrice;
  if (filters.inStock) query.in_stock = true;
  if (filters.sort) query.sort = filters.sort;
  if (filters.page > 1) query.page = filters.page;
  return query;
}

/** A change of any filter starts again at page 1; a change of page keeps the rest. */
export function withFilter(filters: CatalogueFilters, change: Partial<CatalogueFilters>): CatalogueFilters {
  const next = { ...filters, ...change };
  if (!("page" in change)) next.page = 1;
  if (next.sort === "relevance" && !next.q) next.sort = "";
  return next;
}

export function activeFilterCount(filters: CatalogueFilters): number {
  return [filters.genre, filters.format, filters.minPrice, filters.maxPrice, filters.inStock].filter(Boolean).length;
}

export function isPriceText(value: string): boolean {
  return value === "" || PRICE.test(value);
}
