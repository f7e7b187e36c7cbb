import { useState, type SubmitEvent } from "react";
import { FORMATS, type GenreCount } from "../../api/types";
import { Button } from "../../components/ui";
import { FORMAT_LABELS } from "./BookCard";
import { isPriceText, type CatalogueFilters } from "./filters";

const radio = "size-4 accent-teal-800";
const legend = "text-sm font-semibold uppercase tracking-wide text-stone-700";
const option = "flex min-h-9 cursor-pointer items-center gap-2 rounded px-1 text-stone-900 hover:bg-stone-100";

export function FilterPanel({
  filters,
  genres,
  onChange,
}: {
  filters: CatalogueFilters;
  genres: GenreCount[];
  onChange: (change: Partial<CatalogueFilters>) => void;
}) {
  const shownGenres =
    filters.genre && !genres.some((g) => g.genre.toLowerCase() === filters.genre.toLowerCase())
      ? [...genres, { genre: filters.genre, count: 0 }]
      : genres;

  return (
    <div className="space-y-6">
      <fieldset>
        <legend className={legend}>Genre</legend>
        <div className="mt-2 space-y-0.5">
          <label className={option}>
            <input type="radio" name="genre" className={radio} checked={filters.genre === ""} onChange={() => onChange({ genre: "" })} />
            All genres
          </label>
          {shownGenres.map((g) => (
            <label key={g.genre} className={option}>
              <input
                type="radio"
                name="genre"
                className={radio}
                checked={filters.genre.toLowerCase() === g.genre.toLowerCase()}
                onChange={() => onChange({ genre: g.genre })}
              />
              <span className="flex-1">{g.genre}</span>
              <span className="text-sm text-stone-600" aria-label={`${g.count} books`}>
                {g.count}
              </span>
            </label>
          ))}
        </div>
      </fieldset>

      <fieldset>
        <legend className={legend}>Format</legend>
        <div className="mt-2 space-y-0.5">
          <label className={option}>
            <input type="radio" name="format" className={radio} checked={filters.format === ""} onChange={() => onChange({ format: "" })} />
            Any format
          </label>
          {FORMATS.map((f) => (
            <label key={f} className={option}>
              <input type="radio" name="format" className={radio} checked={filters.format === f} onChange={() => onChange({ format: f })} />
              {FORMAT_LABELS[f]}
            </label>
          ))}
        </div>
      </fieldset>

      <PriceRange
        key={`${filters.minPrice}-${filters.maxPrice}`}
        min={filters.minPrice}
        max={filters.maxPrice}
        onApply={(minPrice, maxPrice) => onChange({ minPrice, maxPrice })}
      />

      <fieldset>
        <legend className={legend}>Availability</legend>
        <label className={`${option} mt-2`}>
          <input
            type="checkbox"
            className={radio}
            checked={filters.inStock}
            onChange={(e) => onChange({ inStock: e.target.checked })}
          />
          In stock only
        </label>
      </fieldset>
    </div>
  );
}

function PriceRange({ min, max, onApply }: { min: string; max: string; onApply: (min: string, max: string) => void }) {
  const [lo, setLo] = useState(min);
  const [hi, setHi] = useState(max);
  const [error, setError] = useState("");
  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    const a = lo.trim();
    const b = hi.trim();
    if (!isPriceText(a) || !isPriceText(b)) {
      setError("Enter prices as numbers, such as 10 or 24.90.");
      return;
    }
    if (a && b && Number(b) < Number(a)) {
      setError("The highest price must not be below the lowest.");
      return;
    }
    setError("");
    onApply(a, b);
  };
  const input =
    "mt-1 block w-full min-h-11 rounded-lg border border-stone-300 bg-white px-3 py-2 text-stone-900 focus:border-teal-700 focus:outline-none focus:ring-2 focus:ring-teal-700/30";
  return (
    <form onSubmit={submit} noValidate>
      <fieldset>
        <legend className={legend}>Price</legend>
        <div className="mt-2 grid grid-cols-2 gap-2">
          <label className="text-sm text-stone-800">
            From
            <input
              inputMode="decimal"
              className={input}
              value={lo}
              onChange={(e) => setLo(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? "price-error" : undefined}
              placeholder="0"
            />
          </label>
          <label className="text-sm text-stone-800">
            To
            <input
              inputMode="decimal"
              className={input}
              value={hi}
              onChange={(e) => setHi(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? "price-error" : undefined}
              placeholder="Any"
            />
          </label>
        </div>
        {error && (
          <p id="price-error" className="mt-1 text-sm text-red-800">
            {error}
          </p>
        )}
        <Button type="submit" variant="secondary" className="mt-2 w-full">
          Apply price
        </Button>
      </fieldset>
    </form>
  );
}
