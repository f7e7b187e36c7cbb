import { fireEvent, render, screen } from "@testing-library/react";
import { book, withCover } from "../testing/test-utils";
import { BookCover, coverSource } from "./BookCover";

describe("the book cover", () => {
  const covered = withCover(book());

  it("uses the thumbnail in grids and cart lines, lazily and without alt text", () => {
    const { container } = render(
      <>
        <BookCover book={covered} />
        <BookCover book={covered} size="sm" />
      </>,
    );
    const images = container.querySelectorAll("img");
    expect(images).toHaveLength(2);
    for (const img of images) {
      expect(img).toHaveAttribute("src", "/api/v1/books/b1/cover?size=small&v=v1");
      expect(img).toHaveAttribute("alt", "");
      expect(img).toHaveAttribute("loading", "lazy");
      expect(img).toHaveAttribute("width", "300");
      expect(img).toHaveAttribute("height", "450");
    }
  });

  it("uses the large cover on the book's page, named and loaded at once", () => {
    render(<BookCover book={covered} size="lg" alt="Cover of The Hobbit" />);
    const img = screen.getByRole("img", { name: "Cover of The Hobbit" });
    expect(img).toHaveAttribute("src", "/api/v1/books/b1/cover?size=large&v=v1");
    expect(img).toHaveAttribute("loading", "eager");
    expect(img).toHaveAttribute("width", "600");
    expect(img).toHaveClass("aspect-[2/3]");
  });

  it("falls back from one size to the other, and to the made-up cover without either", () => {
    expect(coverSource({ cover_url: "/large", cover_thumbnail_url: null }, "md")).toBe("/large");
    expect(coverSource({ cover_url: null, cover_thumbnail_url: "/small" }, "lg")).toBe("/small");
    expect(coverSource({ cover_url: null, cover_thumbnail_url: null }, "lg")).toBeNull();
    const { container } = render(<BookCover book={book()} />);
    expect(container.querySelector("img")).toBeNull();
    expect(container.firstElementChild).toHaveAttribute("aria-hidden", "true");
    expect(container).toHaveTextContent("The Hobbit");
  });

  it("shows the made-up cover when the image cannot be loaded", () => {
    const { container } = render(<BookCover book={covered} />);
    const img = container.querySelector("img");
    if (!img) throw new Error("no image");
    fireEvent.error(img);
    expect(container.querySelector("img")).toBeNull();
    expect(container).toHaveTextContent("J. R. R. Tolkien");
  });
});
