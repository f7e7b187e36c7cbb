import { EMPTY_FILTERS, parseFilters, toApiQuery, toSearchParams, withFilter } from "./filters";

describe("catalogue filters and the URL", () => {
  it("round-trips every filter through the URL", () => {
    const filters = {
      q: "tolkien",
      genre: "Fantasy",
      format: "hardcover" as const,
      minPrice: "10",
      maxPrice: "30.50",
      inStock: true,
      sort: "price_asc" as const,
      page: 3,
    };
    const params = toSearchParams(filters);
    expect(params.toString()).toBe(
      "q=tolkien&genre=Fantasy&format=hardcover&min_price=10&max_price=30.50&in_stock=true&sort=price_asc&page=3",
    );
    expect(parseFilters(params)).toEqual(filters);
  });

  it("leaves defaults out of the URL", () => {
    expect(toSearchParams(EMPTY_FILTERS).toString()).toBe("");
  });

  it("drops values the API would refuse", () => {
    const parsed = parseFilters(
      new URLSearchParams("format=scroll&sort=cheapest&min_price=abc&max_price=5&page=0&in_stock=yes"),
    );
    expect(parsed).toEqual({ ...EMPTY_FILTERS, maxPrice: "5" });
    expect(parseFilters(new URLSearchParams("sort=relevance")).sort).toBe("");
    expect(parseFilters(new URLSearchParams("min_price=20&max_price=10")).maxPrice).toBe("");
  });

  it("starts again at page 1 when a filter changes, but not when the page does", () => {
    const onPage4 = { ...EMPTY_FILTERS, page: 4 };
    expect(withFilter(onPage4, { genre: "Mystery" }).page).toBe(1);
    expect(withFilter(onPage4, { page: 5 }).page).toBe(5);
  });

  it("builds the API query with the page size", () => {
    expect(toApiQuery({ ...EMPTY_FILTERS, q: "dune", inStock: true, page: 2 })).toEqual({
      limit: 24,
      q: "dune",
      in_stock: true,
      page: 2,
    });
  });
});
