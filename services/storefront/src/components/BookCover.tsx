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

export function BookCover({
  book,
  size = "md",
}: {
  book: Pick<Book, "id" | "title" | "authors" | "cover_url">;
  size?: "sm" | "md" | "lg";
}) {
  const frame = "aspect-[2/3] w-full overflow-hidden rounded-md shadow-md ring-1 ring-black/10";
  if (book.cover_url) {
    return <img src={book.cover_url} alt="" className={`${frame} object-cover`} loading="lazy" />;
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
