import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Book } from "../../api/types";
import { session } from "../../lib/session";
import {
  admin,
  book,
  json,
  mockFetch,
  problem,
  renderRoutes,
  requestsOf,
  sessionBody,
  withCover,
  withDocument,
  type Handler,
} from "../../testing/test-utils";
import { AdminEditBookPage } from "./AdminBookFormPage";

// The page as the admin sees it, with `upload` answering whatever is not the book or its stock.
function shop(initial: Book, upload: Handler) {
  let current = initial;
  const fetch = mockFetch(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/api/v1/books/b1" && request.method === "GET") return json(current);
    if (path === "/api/v1/inventory/b1") return json({ book_id: "b1", available: 3 });
    const answer = await upload(request);
    if (request.method === "PUT" && path.startsWith("/api/v1/books/b1/") && answer.status === 200) {
      current = (await answer.clone().json()) as Book;
    }
    return answer;
  });
  return {
    fetch,
    setBook: (b: Book) => {
      current = b;
    },
  };
}

function renderEdit() {
  return renderRoutes([{ path: "/admin/books/:id", element: <AdminEditBookPage /> }], { path: "/admin/books/b1" });
}

const png = (bytes = 64) => new File([new Uint8Array(bytes)], "cover.png", { type: "image/png" });
const text = () => new File(["Chapter 1\nIt was a dark and stormy night.\n"], "book.txt", { type: "text/plain" });

async function isMultipartWithFile(request: Request) {
  expect(request.headers.get("content-type")).toMatch(/^multipart\/form-data; boundary=/);
  expect(await request.clone().text()).toContain('name="file"');
}

describe("the cover and document panels", () => {
  beforeEach(() => session.accept(sessionBody("admin-token", 900, admin)));
  afterEach(() => session.end(false));

  it("uploads a cover as multipart through the API client and shows it at once, keeping the details being typed", async () => {
    const { fetch } = shop(book(), async (request) => {
      expect(request.method).toBe("PUT");
      expect(new URL(request.url).pathname).toBe("/api/v1/books/b1/cover");
      expect(request.headers.get("authorization")).toBe("Bearer admin-token");
      await isMultipartWithFile(request);
      return json(withCover(book({ updated_at: "2026-12-07T10:00:00Z" })));
    });
    const user = userEvent.setup();
    renderEdit();
    const cover = await screen.findByRole("region", { name: "Cover" });
    expect(within(cover).getByText(/No cover yet/)).toBeInTheDocument();

    const title = screen.getByLabelText("Title");
    await user.clear(title);
    await user.type(title, "The Hobbit, revised");
    await user.upload(within(cover).getByLabelText(/Cover image \(JPEG, PNG or WebP, at most 5 MiB\)/), png());
    await user.click(within(cover).getByRole("button", { name: "Upload cover" }));

    const img = await within(cover).findByRole("img", { name: "Current cover of The Hobbit" });
    expect(img).toHaveAttribute("src", "/api/v1/books/b1/cover?size=small&v=v1");
    expect(within(cover).getByText("Cover saved.")).toBeInTheDocument();
    expect(within(cover).getByRole("button", { name: "Replace cover" })).toBeEnabled();
    expect(within(cover).getByLabelText(/Cover image/)).toHaveValue("");
    // The new book went into the cache: no second request for it, and the draft is still there.
    expect(requestsOf(fetch).filter((r) => new URL(r.url).pathname === "/api/v1/books/b1")).toHaveLength(1);
    expect(screen.getByLabelText("Title")).toHaveValue("The Hobbit, revised");
  });

  it("refreshes an expired token and sends the upload again, still multipart", async () => {
    const puts: Request[] = [];
    shop(book(), async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/auth/refresh") return json(sessionBody("fresh-token", 900, admin));
      puts.push(request.clone());
      await isMultipartWithFile(request);
      if (request.headers.get("authorization") !== "Bearer fresh-token") return problem(401, "invalid_token");
      return json(withCover(book()));
    });
    const user = userEvent.setup();
    renderEdit();
    const cover = await screen.findByRole("region", { name: "Cover" });
    await user.upload(within(cover).getByLabelText(/Cover image/), png());
    await user.click(within(cover).getByRole("button", { name: "Upload cover" }));
    expect(await within(cover).findByText("Cover saved.")).toBeInTheDocument();
    expect(puts.map((r) => r.headers.get("authorization"))).toEqual(["Bearer admin-token", "Bearer fresh-token"]);
  });

  it.each([
    [
      415,
      { code: "unsupported_media_type", detail: "the file is not a JPEG, PNG or WebP image (judged by its content)" },
      "The file is not a JPEG, PNG or WebP image (judged by its content).",
    ],
    [413, { code: "payload_too_large", detail: "the cover is larger than 5 MiB" }, "The cover is larger than 5 MiB."],
    [
      422,
      { code: "validation_failed", errors: { file: ["the file looks like a PNG image but cannot be decoded: truncated"] } },
      "The file looks like a PNG image but cannot be decoded: truncated.",
    ],
  ])("shows a %i refusal in words next to the file field", async (status, body, message) => {
    shop(book(), () => problem(status, body.code, body));
    const user = userEvent.setup();
    renderEdit();
    const cover = await screen.findByRole("region", { name: "Cover" });
    const input = within(cover).getByLabelText(/Cover image/);
    await user.upload(input, png());
    await user.click(within(cover).getByRole("button", { name: "Upload cover" }));
    await waitFor(() => expect(input).toHaveAttribute("aria-invalid", "true"));
    expect(input).toHaveAccessibleDescription(expect.stringContaining(message));
    // What the field takes stays in view next to the problem.
    expect(input).toHaveAccessibleDescription(expect.stringContaining("At most 6000 × 6000 pixels"));
    expect(within(cover).getByText(/No cover yet/)).toBeInTheDocument();
    // Choosing another file clears the problem.
    await user.upload(input, png());
    expect(input).not.toHaveAttribute("aria-invalid");
  });

  it("refuses a file over the limit, or no file, before sending anything", async () => {
    const { fetch } = shop(book(), () => problem(500, "internal"));
    const user = userEvent.setup();
    renderEdit();
    const cover = await screen.findByRole("region", { name: "Cover" });
    const input = within(cover).getByLabelText(/Cover image/);
    await user.click(within(cover).getByRole("button", { name: "Upload cover" }));
    expect(input).toHaveAccessibleDescription(expect.stringContaining("Choose a file for the cover first."));
    await user.upload(input, png(5 * 1024 * 1024 + 1));
    await user.click(within(cover).getByRole("button", { name: "Upload cover" }));
    expect(input).toHaveAccessibleDescription(expect.stringContaining("This file is 5.2 MB; a cover can be at most 5 MiB."));
    expect(requestsOf(fetch).filter((r) => r.method === "PUT")).toHaveLength(0);
  });

  it("uploads a document and shows its kind and size; a refused text says where it stopped being UTF-8", async () => {
    let attempt = 0;
    shop(book(), async (request) => {
      expect(new URL(request.url).pathname).toBe("/api/v1/books/b1/document");
      await isMultipartWithFile(request);
      attempt += 1;
      if (attempt === 1) {
        return problem(422, "validation_failed", { errors: { file: ["the text is not UTF-8 text from byte 12 on"] } });
      }
      return json(withDocument(book(), "text", 2_048));
    });
    const user = userEvent.setup();
    renderEdit();
    const doc = await screen.findByRole("region", { name: "Document" });
    expect(within(doc).getByText("No document yet.")).toBeInTheDocument();
    const input = within(doc).getByLabelText(/Document \(PDF, EPUB or plain UTF-8 text, at most 50 MiB\)/);
    await user.upload(input, text());
    await user.click(within(doc).getByRole("button", { name: "Upload document" }));
    await waitFor(() => expect(input).toHaveAccessibleDescription(expect.stringContaining("The text is not UTF-8 text from byte 12 on.")));

    await user.upload(input, text());
    await user.click(within(doc).getByRole("button", { name: "Upload document" }));
    expect(await within(doc).findByText("plain text, 2 kB")).toBeInTheDocument();
    expect(within(doc).getByRole("button", { name: "Download (plain text, 2 kB)" })).toBeInTheDocument();
    expect(within(doc).getByRole("button", { name: "Replace document" })).toBeInTheDocument();
  });

  it("removes the cover only after a confirmation", async () => {
    const { fetch, setBook } = shop(withCover(book()), (request) => {
      expect(request.method).toBe("DELETE");
      expect(new URL(request.url).pathname).toBe("/api/v1/books/b1/cover");
      setBook(book());
      return new Response(null, { status: 204 });
    });
    const user = userEvent.setup();
    renderEdit();
    const cover = await screen.findByRole("region", { name: "Cover" });
    expect(within(cover).getByRole("img", { name: "Current cover of The Hobbit" })).toBeInTheDocument();

    await user.click(within(cover).getByRole("button", { name: "Remove cover" }));
    expect(within(cover).getByText(/Remove the cover\?/)).toBeInTheDocument();
    expect(within(cover).getByRole("button", { name: "Keep it" })).toHaveFocus();
    await user.click(within(cover).getByRole("button", { name: "Keep it" }));
    expect(within(cover).getByRole("button", { name: "Remove cover" })).toHaveFocus();
    expect(requestsOf(fetch).filter((r) => r.method === "DELETE")).toHaveLength(0);

    await user.click(within(cover).getByRole("button", { name: "Remove cover" }));
    await user.click(within(cover).getByRole("button", { name: "Yes, remove the cover" }));
    expect(await within(cover).findByText("Cover removed.")).toBeInTheDocument();
    expect(within(cover).getByText(/No cover yet/)).toBeInTheDocument();
    expect(within(cover).queryByRole("img")).toBeNull();
    expect(within(cover).getByLabelText(/Cover image/)).toHaveFocus();
  });
});
