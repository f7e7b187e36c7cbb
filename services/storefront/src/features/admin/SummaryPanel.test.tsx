import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Book } from "../../api/types";
import { session } from "../../lib/session";
import { admin, book, json, mockFetch, problem, renderRoutes, requestsOf, sessionBody, withDocument, withSummary, type Handler } from "../../testing/test-utils";
import { LiveProvider } from "../orders/live";
import { AdminEditBookPage } from "./AdminBookFormPage";

// The edit page as the admin sees it: GET answers whatever `current()` is, `other` the rest.
function shop(current: () => Book, other: Handler = () => problem(500, "internal")) {
  return mockFetch((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/api/v1/books/b1" && request.method === "GET") return json(current());
    if (path === "/api/v1/inventory/b1") return json({ book_id: "b1", available: 3 });
    return other(request);
  });
}

// Inside the app's live provider, whose socket never connects: a pending summary is polled for
// every 30 ms.
function renderEdit() {
  return renderRoutes(
    [
      {
        path: "/admin/books/:id",
        element: (
          <LiveProvider open={() => new Promise<never>(() => undefined)} pollInterval={20}>
            <AdminEditBookPage />
          </LiveProvider>
        ),
      },
    ],
    { path: "/admin/books/b1" },
  );
}

const documented = withDocument(book(), "text", 2_048);
const ready = withSummary(documented, {
  status: "ready",
  method: "extractive",
  text: "The light turned, and turned again, all night long.",
  updated_at: "2026-12-07T10:00:00Z",
});
const pending = withSummary(documented, { status: "pending", updated_at: "2026-12-07T10:05:00Z" });
const readyAgain = { ...ready, summary: { ...ready.summary, updated_at: "2026-12-07T10:05:01Z" } };
const bookGets = (fetch: ReturnType<typeof mockFetch>) =>
  requestsOf(fetch).filter((r) => new URL(r.url).pathname === "/api/v1/books/b1" && r.method === "GET").length;

describe("the summary panel", () => {
  beforeEach(() => session.accept(sessionBody("admin-token", 900, admin)));
  afterEach(() => session.end(false));

  it("shows a ready summary's text and how it was made", async () => {
    shop(() => ready);
    renderEdit();
    const panel = await screen.findByRole("region", { name: "Summary" });
    expect(within(panel).getByTestId("summary-status")).toHaveTextContent("Ready");
    expect(within(panel).getByText("The light turned, and turned again, all night long.")).toBeInTheDocument();
    expect(within(panel).getByText("Key sentences from the book (the built-in extractive summariser)")).toBeInTheDocument();
    expect(within(panel).getByRole("button", { name: "Ask for a new summary" })).toBeEnabled();
  });

  it("asks for a new summary: the 202's book shows it pending, and it becomes ready by itself", async () => {
    let server: Book = ready;
    const posts: Request[] = [];
    const fetch = shop(
      () => server,
      (request) => {
        expect(request.method).toBe("POST");
        expect(new URL(request.url).pathname).toBe("/api/v1/books/b1/summary");
        expect(request.headers.get("authorization")).toBe("Bearer admin-token");
        posts.push(request);
        server = pending;
        return json(pending, 202);
      },
    );
    const user = userEvent.setup();
    renderEdit();
    const panel = await screen.findByRole("region", { name: "Summary" });
    await user.click(within(panel).getByRole("button", { name: "Ask for a new summary" }));
    await waitFor(() => expect(within(panel).getByTestId("summary-status")).toHaveTextContent("Being written"));
    expect(within(panel).getByText(/A summary is being written…/)).toBeInTheDocument();
    expect(posts).toHaveLength(1);
    const before = bookGets(fetch);

    server = readyAgain;
    await waitFor(() => expect(within(panel).getByTestId("summary-status")).toHaveTextContent("Ready"));
    expect(bookGets(fetch)).toBeGreaterThan(before);
  });

  it("disables the button with a hint when the server answers 409 (no document)", async () => {
    shop(
      () => ready,
      () => problem(409, "conflict", { detail: "the book has no document to summarise; upload one first" }),
    );
    const user = userEvent.setup();
    renderEdit();
    const panel = await screen.findByRole("region", { name: "Summary" });
    const button = within(panel).getByRole("button", { name: "Ask for a new summary" });
    await user.click(button);
    await waitFor(() => expect(button).toBeDisabled());
    expect(button).toHaveAccessibleDescription("Upload a document first: the summary is made from the book’s document.");
    expect(within(panel).queryByRole("alert")).not.toBeInTheDocument();
  });

  it("disables the button with the hint for a book without a document", async () => {
    const fetch = shop(() => book());
    renderEdit();
    const panel = await screen.findByRole("region", { name: "Summary" });
    expect(within(panel).getByTestId("summary-status")).toHaveTextContent("None");
    expect(within(panel).getByText("No summary: the book has no document.")).toBeInTheDocument();
    const button = within(panel).getByRole("button", { name: "Ask for a new summary" });
    expect(button).toBeDisabled();
    expect(button).toHaveAccessibleDescription(/Upload a document first/);
    expect(requestsOf(fetch).some((r) => r.method === "POST")).toBe(false);
  });

  it("says why a summary failed", async () => {
    shop(() => withSummary(documented, { status: "failed", reason: "the document has no text" }));
    renderEdit();
    const panel = await screen.findByRole("region", { name: "Summary" });
    expect(within(panel).getByTestId("summary-status")).toHaveTextContent("Failed");
    expect(within(panel).getByText("The summary failed: the document has no text")).toBeInTheDocument();
    expect(within(panel).getByRole("button", { name: "Ask for a new summary" })).toBeEnabled();
  });

  it("shows a new document's summary pending after the upload, then ready without a reload", async () => {
    let server: Book = book();
    shop(
      () => server,
      (request) => {
        expect(new URL(request.url).pathname).toBe("/api/v1/books/b1/document");
        server = pending;
        return json(pending);
      },
    );
    const user = userEvent.setup();
    renderEdit();
    const panel = await screen.findByRole("region", { name: "Summary" });
    expect(within(panel).getByTestId("summary-status")).toHaveTextContent("None");
    const doc = screen.getByRole("region", { name: "Document" });
    await user.upload(within(doc).getByLabelText(/Document \(PDF, EPUB/), new File(["Chapter 1\n"], "book.txt", { type: "text/plain" }));
    await user.click(within(doc).getByRole("button", { name: "Upload document" }));
    await waitFor(() => expect(within(panel).getByTestId("summary-status")).toHaveTextContent("Being written"));
    server = readyAgain;
    expect(await within(panel).findByText("The light turned, and turned again, all night long.")).toBeInTheDocument();
    expect(within(panel).getByTestId("summary-status")).toHaveTextContent("Ready");
  });
});
