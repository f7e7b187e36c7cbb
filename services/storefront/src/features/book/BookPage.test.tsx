import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";
import type { User } from "../../api/types";
import { createSession, session } from "../../lib/session";
import { admin, book, json, mockFetch, problem, renderRoutes, requestsOf, sessionBody, user, withCover, withDocument, withSummary, type Handler } from "../../testing/test-utils";
import { SessionContext } from "../auth/use-session";
import { LiveProvider } from "../orders/live";
import { BookPage } from "./BookPage";

function signedIn(who: User = user) {
  const store = createSession({ fetch: (r) => globalThis.fetch(r) });
  store.accept(sessionBody("t1", 900, who));
  return store;
}

function anonymous() {
  const store = createSession({ fetch: (r) => globalThis.fetch(r) });
  store.end(false);
  return store;
}

const pendingOrder = {
  id: "o9",
  user_id: "u1",
  status: "pending",
  reason: null,
  lines: [{ book_id: "b1", title: "The Hobbit", unit_price: "12.50", quantity: 1, line_total: "12.50" }],
  total: "12.50",
  created_at: "2026-12-06T10:00:00Z",
  updated_at: "2026-12-06T10:00:00Z",
};

/** The book page; with `pollInterval`, inside the app's live provider (its socket never connects), polling that fast. */
function renderBook(store = signedIn(), { pollInterval }: { pollInterval?: number } = {}) {
  const page =
    pollInterval === undefined ? (
      <BookPage />
    ) : (
      <LiveProvider open={() => new Promise<never>(() => undefined)} pollInterval={pollInterval}>
        <BookPage />
      </LiveProvider>
    );
  return renderRoutes([
    {
      path: "/books/:id",
      element: <SessionContext.Provider value={store}>{page}</SessionContext.Provider>,
    },
  ], { path: "/books/b1" });
}

describe("the book page", () => {
  it("disables the buy button while the reader's order for this book is pending", async () => {
    mockFetch((request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/orders/pending") {
        expect(url.searchParams.get("book_id")).toBe("b1");
        return json(pendingOrder);
      }
      return json(book());
    });
    renderBook();
    const buy = await screen.findByRole("button", { name: "Order is being processed" });
    expect(buy).toBeDisabled();
    expect(screen.getByRole("link", { name: "Follow your order" })).toHaveAttribute("href", "/orders/o9");
  });

  it("buys one copy and then says the order is being processed", async () => {
    let placed = false;
    mockFetch((request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/orders/pending") return placed ? json(pendingOrder) : problem(404, "not_found");
      if (url.pathname === "/api/v1/orders" && request.method === "POST") {
        placed = true;
        expect(request.headers.get("idempotency-key")).toBeTruthy();
        return json(pendingOrder, 202);
      }
      return json(book());
    });
    const user = userEvent.setup();
    renderBook();
    await user.click(await screen.findByRole("button", { name: "Buy now" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Order is being processed" })).toBeDisabled());
  });

  it("says when the book does not exist", async () => {
    mockFetch((request) => (new URL(request.url).pathname === "/api/v1/books/b1" ? problem(404, "not_found") : json({})));
    renderBook();
    expect(await screen.findByRole("heading", { name: "Book not found" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Summary" })).not.toBeInTheDocument();
  });
});

describe("the book's summary", () => {
  const withText = (b: ReturnType<typeof book>, text: string, rest: Parameters<typeof withSummary>[1]) =>
    withSummary(withDocument(b, "text", 2_048), { ...rest, text });

  // The book as `answer` has it each time it is asked for; no pending order.
  function shop(answer: () => ReturnType<typeof book>) {
    return mockFetch((request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/orders/pending" || url.pathname === "/api/v1/orders/bought") return problem(404, "not_found");
      return json(answer());
    });
  }
  const bookCalls = (fetch: ReturnType<typeof mockFetch>) =>
    requestsOf(fetch).filter((r) => new URL(r.url).pathname === "/api/v1/books/b1").length;
  const day = new Date("2026-12-07T10:00:00Z").toLocaleDateString(undefined, { dateStyle: "medium" });

  it("shows a model's summary as plain text, paragraphs kept, saying which model wrote it and when", async () => {
    shop(() =>
      withText(book(), "Bilbo leaves the Shire.\n\nHe comes back <b>rich</b> & changed.", {
        status: "ready",
        method: "model",
        model: "gpt-4o-mini",
      }),
    );
    renderBook(anonymous());
    const section = await screen.findByRole("region", { name: "Summary" });
    const paragraphs = within(section).getAllByText(/Bilbo|He comes back/);
    expect(paragraphs.map((p) => p.textContent)).toEqual(["Bilbo leaves the Shire.", "He comes back <b>rich</b> & changed."]);
    // Text from the API stays text: no element was made of it.
    expect(section.querySelector("b")).toBeNull();
    const date = within(section).getByText(day);
    expect(date).toHaveAttribute("datetime", "2026-12-07T10:00:00Z");
    expect(date.parentElement).toHaveTextContent(`Summarised by gpt-4o-mini · ${day}`);
  });

  it("says an extractive summary is the book's key sentences", async () => {
    shop(() => withText(book(), "In a hole in the ground there lived a hobbit.", { status: "ready", method: "extractive" }));
    renderBook(anonymous());
    const section = await screen.findByRole("region", { name: "Summary" });
    expect(within(section).getByText("In a hole in the ground there lived a hobbit.")).toBeInTheDocument();
    expect(within(section).getByText(day).parentElement).toHaveTextContent(`Key sentences from the book · ${day}`);
  });

  it("says a summary is being written, asks for the book again until it is ready, then stops", async () => {
    let calls = 0;
    const fetch = shop(() => {
      calls += 1;
      return calls < 3
        ? withSummary(withDocument(book(), "text", 2_048), { status: "pending" })
        : withText(book(), "Bilbo goes there and back again.", { status: "ready", method: "extractive" });
    });
    renderBook(anonymous(), { pollInterval: 20 });
    const section = await screen.findByRole("region", { name: "Summary" });
    expect(within(section).getByText("A summary is being written…")).toBeInTheDocument();
    expect(await within(section).findByText("Bilbo goes there and back again.")).toBeInTheDocument();
    expect(within(section).queryByText("A summary is being written…")).not.toBeInTheDocument();
    const settled = bookCalls(fetch);
    expect(settled).toBe(3);
    await new Promise((r) => setTimeout(r, 150));
    expect(bookCalls(fetch)).toBe(settled);
  });

  it("shows nothing for a book without a summary", async () => {
    shop(() => book());
    renderBook(signedIn(admin));
    expect(await screen.findByRole("heading", { level: 1, name: "The Hobbit" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Summary" })).not.toBeInTheDocument();
  });

  it("tells an admin why a summary failed, and a customer nothing", async () => {
    const failed = withSummary(withDocument(book(), "text", 2_048), { status: "failed", reason: "the document has no text" });
    shop(() => failed);
    const { unmount } = renderBook(signedIn(user));
    expect(await screen.findByRole("button", { name: "Buy now" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Summary" })).not.toBeInTheDocument();
    expect(screen.queryByText(/failed/)).not.toBeInTheDocument();
    unmount();

    renderBook(signedIn(admin));
    const section = await screen.findByRole("region", { name: "Summary" });
    expect(within(section).getByText("The summary failed: the document has no text")).toBeInTheDocument();
    expect(within(section).getByRole("link", { name: /Ask for a new summary/ })).toHaveAttribute("href", "/admin/books/b1");
  });
});

describe("the book's cover and document", () => {
  const completedOrder = { ...pendingOrder, id: "o7", status: "completed" };
  const pdf = withDocument(book(), "pdf", 1_234_567);

  // The page learns who is signed in from the store it is given; the API client sends the token
  // of the app's own session, which the test that checks the token signs in.
  function shop(b: ReturnType<typeof book>, bought: Handler, document: Handler = () => problem(500, "internal")) {
    return mockFetch((request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/orders/pending") return problem(404, "not_found");
      if (url.pathname === "/api/v1/orders/bought") return bought(request);
      if (url.pathname === "/api/v1/books/b1/document") return document(request);
      return json(b);
    });
  }

  let saved: { blob: Blob | null; names: string[] };
  beforeEach(() => {
    saved = { blob: null, names: [] };
    vi.spyOn(URL, "createObjectURL").mockImplementation((blob) => {
      saved.blob = blob as Blob;
      return "blob:saved";
    });
    vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => undefined);
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      saved.names.push(this.download);
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    session.end(false);
  });

  it("shows the large cover, named after the book", async () => {
    shop(withCover(book()), () => problem(404, "not_found"));
    renderBook(anonymous());
    const img = await screen.findByRole("img", { name: "Cover of The Hobbit" });
    expect(img).toHaveAttribute("src", "/api/v1/books/b1/cover?size=large&v=v1");
  });

  it("gives a buyer a Download button that fetches the document with the token and saves it under the server's name", async () => {
    session.accept(sessionBody("reader-token"));
    const fetch = shop(
      pdf,
      (request) => {
        expect(new URL(request.url).searchParams.get("book_id")).toBe("b1");
        return json(completedOrder);
      },
      (request) => {
        expect(request.headers.get("authorization")).toBe("Bearer reader-token");
        return new Response("%PDF-1.7 the book", {
          headers: {
            "content-type": "application/pdf",
            "content-disposition": `attachment; filename="The Hobbit.pdf"; filename*=UTF-8''The%20Hobbit%20%E2%80%93%20or%20There%20and%20Back.pdf`,
          },
        });
      },
    );
    const userE = userEvent.setup();
    renderBook();
    await userE.click(await screen.findByRole("button", { name: "Download (PDF, 1.2 MB)" }));
    await waitFor(() => expect(saved.names).toEqual(["The Hobbit – or There and Back.pdf"]));
    expect(await saved.blob?.text()).toBe("%PDF-1.7 the book");
    expect(requestsOf(fetch).filter((r) => new URL(r.url).pathname === "/api/v1/books/b1/document")).toHaveLength(1);
  });

  it("falls back to the title when the answer names no file, and says why a refused download failed", async () => {
    let refuse = false;
    shop(withDocument(book(), "epub", 3_000_000), () => json(completedOrder), () =>
      refuse ? problem(403, "forbidden") : new Response("PK epub", { headers: { "content-type": "application/epub+zip" } }),
    );
    const userE = userEvent.setup();
    renderBook();
    const button = await screen.findByRole("button", { name: "Download (EPUB, 3 MB)" });
    await userE.click(button);
    await waitFor(() => expect(saved.names).toEqual(["The Hobbit.epub"]));
    refuse = true;
    await userE.click(button);
    expect(await screen.findByRole("alert")).toHaveTextContent("Only readers whose order for this book is completed can download it.");
    expect(button).toHaveAccessibleDescription(/Only readers whose order/);
  });

  it("tells a reader who has not bought the book when it becomes downloadable, without a button", async () => {
    shop(pdf, () => problem(404, "not_found"));
    renderBook();
    expect(await screen.findByText("The e-book (PDF, 1.2 MB) becomes downloadable once your order is completed.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Download/ })).not.toBeInTheDocument();
  });

  it("gives an admin the button without asking whether they bought it", async () => {
    const fetch = shop(pdf, () => problem(404, "not_found"));
    renderBook(signedIn(admin));
    expect(await screen.findByRole("button", { name: "Download (PDF, 1.2 MB)" })).toBeInTheDocument();
    expect(requestsOf(fetch).some((r) => new URL(r.url).pathname === "/api/v1/orders/bought")).toBe(false);
  });

  it("shows nothing extra to someone not signed in, or for a book without a document", async () => {
    const fetch = shop(pdf, () => json(completedOrder));
    const { unmount } = renderBook(anonymous());
    expect(await screen.findByRole("heading", { level: 1, name: "The Hobbit" })).toBeInTheDocument();
    expect(screen.queryByText(/downloadable/)).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Download/ })).not.toBeInTheDocument();
    unmount();

    const second = shop(book(), () => json(completedOrder));
    renderBook();
    expect(await screen.findByRole("button", { name: "Buy now" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Download/ })).not.toBeInTheDocument();
    for (const mock of [fetch, second]) {
      expect(requestsOf(mock).some((r) => new URL(r.url).pathname === "/api/v1/orders/bought")).toBe(false);
    }
  });
});
