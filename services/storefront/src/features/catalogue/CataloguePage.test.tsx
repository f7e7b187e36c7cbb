import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { book, json, mockFetch, renderAt, requestsOf } from "../../testing/test-utils";
import { CataloguePage } from "./CataloguePage";

function catalogue() {
  return mockFetch((request) => {
    const url = new URL(request.url);
    expect(url.pathname).toBe("/api/v1/books");
    return json({
      items: [book(), book({ id: "b2", title: "Dune", genre: "Sci-Fi", in_stock: false, available: 0 })],
      page: Number(url.searchParams.get("page") ?? "1"),
      limit: 24,
      total: 50,
      next_page: 2,
      facets: { genres: [{ genre: "Fantasy", count: 7 }, { genre: "Mystery", count: 16 }] },
    });
  });
}

describe("the catalogue page", () => {
  it("reads its filters from the URL and asks the API for them", async () => {
    const fetch = catalogue();
    renderAt(<CataloguePage />, { path: "/?genre=Fantasy&in_stock=true&sort=price_desc&page=2" });
    expect(await screen.findByRole("heading", { name: "The Hobbit" })).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: /Fantasy/ })).toBeChecked();
    expect(screen.getByRole("checkbox", { name: "In stock only" })).toBeChecked();
    expect(screen.getByLabelText("Sort by")).toHaveValue("price_desc");
    const url = new URL(requestsOf(fetch)[0]?.url ?? "");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      genre: "Fantasy",
      in_stock: "true",
      sort: "price_desc",
      page: "2",
      limit: "24",
    });
    expect(screen.getByText("Page 2 of 3")).toBeInTheDocument();
  });

  it("puts a changed filter into the URL and starts again at page 1", async () => {
    catalogue();
    const user = userEvent.setup();
    renderAt(<CataloguePage />, { path: "/?page=2" });
    await user.click(await screen.findByRole("radio", { name: /Mystery/ }));
    await waitFor(() => expect(screen.getByRole("status", { name: "Current address" })).toHaveTextContent("/?genre=Mystery"));
    await user.selectOptions(screen.getByLabelText("Sort by"), "price_asc");
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Current address" })).toHaveTextContent("/?genre=Mystery&sort=price_asc"),
    );
  });

  it("searches with the words typed, sorted by relevance", async () => {
    catalogue();
    const user = userEvent.setup();
    renderAt(<CataloguePage />);
    await user.type(await screen.findByRole("searchbox", { name: "Search by title, author or ISBN" }), "dune{Enter}");
    await waitFor(() => expect(screen.getByRole("status", { name: "Current address" })).toHaveTextContent("/?q=dune&sort=relevance"));
  });

  it("says so when nothing matches, and when the API fails", async () => {
    mockFetch(() => json({ items: [], page: 1, limit: 24, total: 0, next_page: null, facets: { genres: [] } }));
    renderAt(<CataloguePage />, { path: "/?q=zzz" });
    expect(await screen.findByRole("heading", { name: "No books match" })).toBeInTheDocument();
  });

  it("shows an error in words when the catalogue cannot be loaded", async () => {
    mockFetch(() => Promise.reject(new TypeError("Failed to fetch")));
    renderAt(<CataloguePage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Cannot reach the shop");
  });
});
