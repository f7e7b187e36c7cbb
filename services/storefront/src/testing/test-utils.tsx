// Helpers for component tests: the app's providers around a component, and a fake API.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { createMemoryRouter, RouterProvider, useLocation, type RouteObject } from "react-router";
import { vi } from "vitest";
import type { Book, Session, Summary, User } from "../api/types";

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}

export function problem(status: number, code: string, extra: Record<string, unknown> = {}): Response {
  return json({ type: `urn:bookstore:problem:${code}`, title: code, status, code, ...extra }, status);
}

export type Handler = (request: Request) => Response | Promise<Response>;

/** Replaces `fetch` with `handler`; returns the mock to inspect the requests. */
export function mockFetch(handler: Handler) {
  const mock = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    return Promise.resolve(handler(request));
  });
  vi.stubGlobal("fetch", mock);
  return mock;
}

export function requestsOf(mock: ReturnType<typeof mockFetch>): Request[] {
  return mock.mock.calls.map(([input]) => input as Request);
}

export function newQueryClient() {
  return new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity }, mutations: { retry: false } } });
}

/** Shows the current URL, so tests can assert what the app put there. */
export function LocationProbe() {
  const location = useLocation();
  return <output aria-label="Current address">{location.pathname + location.search}</output>;
}

export function renderRoutes(routes: RouteObject[], { path = "/", client = newQueryClient() } = {}) {
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  const utils = render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return { ...utils, router, client };
}

export function renderAt(element: ReactElement, { path = "/", route = "*", client = newQueryClient() } = {}) {
  return renderRoutes(
    [
      {
        path: route,
        element: (
          <>
            {element}
            <LocationProbe />
          </>
        ),
      },
    ],
    { path, client },
  );
}

export const user: User = {
  id: "u1",
  email: "ada@example.com",
  display_name: "Ada",
  role: "customer",
  active: true,
  created_at: "2026-12-01T00:00:00Z",
};

export const admin: User = { ...user, id: "u0", email: "admin@bookstore.local", display_name: "Admin", role: "admin" };

export function sessionBody(token: string, expiresIn = 900, who: User = user): Session {
  return { access_token: token, token_type: "Bearer", expires_in: expiresIn, user: who };
}

/** A book with a cover (both sizes, versioned URLs as the API makes them). */
export function withCover(b: Book, version = "v1"): Book {
  return {
    ...b,
    cover_url: `/api/v1/books/${b.id}/cover?size=large&v=${version}`,
    cover_thumbnail_url: `/api/v1/books/${b.id}/cover?size=small&v=${version}`,
  };
}

export const DOCUMENT_SHA256 = "b8fc1b5f7cfca4f5d2a1e0c9b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4";

/** A book with a document of `kind` and `bytes` (its summary as it was, unless given). */
export function withDocument(
  b: Book,
  kind: NonNullable<Book["document_kind"]> = "pdf",
  bytes = 1_234_567,
  sha256 = DOCUMENT_SHA256,
): Book {
  return { ...b, document_url: `/api/v1/books/${b.id}/document`, document_kind: kind, document_bytes: bytes, document_sha256: sha256 };
}

/** No summary: what a book without a document has. */
export const NO_SUMMARY: Summary = {
  status: "none",
  text: null,
  method: null,
  model: null,
  reason: null,
  document_sha256: null,
  updated_at: null,
};

/** A book with a summary of its document (`status` and the rest as given; the document's hash by default). */
export function withSummary(b: Book, summary: Partial<Summary> & Pick<Summary, "status">): Book {
  return {
    ...b,
    summary: {
      ...NO_SUMMARY,
      document_sha256: b.document_sha256 ?? DOCUMENT_SHA256,
      updated_at: "2026-12-07T10:00:00Z",
      ...summary,
    },
  };
}

export function book(overrides: Partial<Book> = {}): Book {
  return {
    id: "b1",
    isbn: "9780000000001",
    title: "The Hobbit",
    authors: ["J. R. R. Tolkien"],
    publisher: "Allen & Unwin",
    format: "paperback",
    genre: "Fantasy",
    price: "12.50",
    description: "",
    cover_url: null,
    cover_thumbnail_url: null,
    document_url: null,
    document_kind: null,
    document_bytes: null,
    document_sha256: null,
    summary: NO_SUMMARY,
    available: 5,
    in_stock: true,
    created_at: "2026-12-01T00:00:00Z",
    updated_at: "2026-12-01T00:00:00Z",
    ...overrides,
  };
}
