import { useState } from "react";
import type { Book } from "../../api/types";
import { Button } from "../../components/ui";
import { cart } from "./cart-store";

export function AddToCartButton({ book, className = "", quantity = 1 }: { book: Book; className?: string; quantity?: number }) {
  const [added, setAdded] = useState(false);
  return (
    <>
      <Button
        variant="secondary"
        className={className}
        disabled={!book.in_stock}
        aria-label={`Add ${book.title} to cart`}
        onClick={() => {
          cart.add(
            { bookId: book.id, title: book.title, authors: book.authors, format: book.format, price: book.price },
            quantity,
          );
          setAdded(true);
        }}
      >
        {book.in_stock ? "Add to cart" : "Out of stock"}
      </Button>
      <span role="status" className="sr-only">
        {added ? `${book.title} added to your cart` : ""}
      </span>
    </>
  );
}
