import { useState } from "react";
import type { Book } from "../api/types";

// A cover for books without one: a cloth-bound look in one of a few colours, picked from the
// book's title so that a book always gets the same one.
const PALETTES = [
  "from-teal-800 to-teal-950 text-amber-50",
  "from-rose-800 to-rose-950 text-rose-50",
  "from-indigo-800 to-indigo-950 text-indigo-50",
  "from-amber-700 to-amber-900 text-amber-50",
  "from-emerald-800 to-emerald-950 text-emerald-50",
  "from-slate-700 to-slate-900 text-slate-50",
  "from-fuchsia-800 to-fuchsia-950 text-fuchsia-50",
  "from-sky-800 to-sky-950 text-sky-50",
] as const;

function paletteFor(key: string): string {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return PALETTES[h % PALETTES.length] ?? PALETTES[0];
}

type CoverFields = Pick<Book, "id" | "title" | "authors" | "cover_url" | "cover_thumbnail_url">;
type CoverSize = "sm" | "md" | "lg";

/**
 * The image for a size: the 300 px thumbnail in grids, cards and cart lines, the 600 px cover on
 * the book's page (each falling back to the other); null when the book has no cover.
 */
export function coverSource(book: Pick<CoverFields, "cover_url" | "cover_thumbnail_url">, size: CoverSize): string | null {
  const large = book.cover_url ?? null;
  const small = book.cover_thumbnail_url ?? null;
  return size === "lg" ? (large ?? small) : (small ?? large);
}

/**
 * A book's cover, in a 2:3 frame whatever the image's shape, so nothing moves when it loads.
 * `alt` is empty by default: next to the title (cards, cart lines) the cover adds nothing to
 * read; the book's page names it.
 */
export function BookCover({ book, size = "md", alt = "" }: { book: CoverFields; size?: CoverSize; alt?: string }) {
  const frame = "aspect-[2/3] w-full overflow-hidden rounded-md shadow-md ring-1 ring-black/10";
  const src = coverSource(book, size);
  // A cover that fails to load (the store is down) gives way to the made-up one.
  const [failed, setFailed] = useState<string | null>(null);
  if (src && failed !== src) {
    const large = size === "lg";
    return (
      <img
        src={src}
        alt={alt}
        width={large ? 600 : 300}
        height={large ? 900 : 450}
        loading={large ? "eager" : "lazy"}
        decoding="async"
        onError={() => setFailed(src)}
        className={`${frame} bg-stone-100 object-cover`}
      />
    );
  }
  if (size === "sm") {
    return (
      <div aria-hidden="true" className={`${frame} relative bg-gradient-to-br ${paletteFor(book.title)}`}>
        <div className="absolute inset-y-0 left-1 w-px bg-white/25" />
        <div className="absolute inset-1.5 flex items-center justify-center rounded-sm border border-white/30">
          <span className="font-serif text-2xl font-semibold">{book.title.trim().charAt(0)}</span>
        </div>
      </div>
    );
  }
  const big = size === "lg";
  return (
    <div aria-hidden="true" className={`${frame} relative bg-gradient-to-br ${paletteFor(book.title)}`}>
      <div className="absolute inset-y-0 left-2 w-px bg-white/25" />
      <div className="absolute inset-x-3 top-3 bottom-3 flex flex-col justify-between rounded-sm border border-white/30 p-3">
        <p className={`font-serif font-semibold leading-tight line-clamp-5 ${big ? "text-2xl" : "text-sm sm:text-base"}`}>
          {book.title}
        </p>
        <div>
          <div className="mb-2 h-px w-8 bg-current opacity-60" />
          <p className={`line-clamp-2 opacity-90 ${big ? "text-base" : "text-xs"}`}>{book.authors.join(", ")}</p>
        </div>
      </div>
    </div>
  );
}
