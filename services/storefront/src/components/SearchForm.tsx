import { useState, type SubmitEvent } from "react";
import { Button } from "./ui";

/** A search box with its (visually hidden) label and a Search button; `onSearch` gets the
 *  trimmed text. Keyed by the caller on the current query, so it restores when the URL changes. */
export function SearchForm({
  id,
  label,
  placeholder,
  initial,
  onSearch,
  className = "",
  buttonVariant = "primary",
}: {
  id: string;
  label: string;
  placeholder: string;
  initial: string;
  onSearch: (q: string) => void;
  className?: string;
  buttonVariant?: "primary" | "secondary";
}) {
  const [text, setText] = useState(initial);
  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    onSearch(text.trim());
  };
  return (
    <form role="search" onSubmit={submit} className={`flex w-full gap-2 ${className}`}>
      <label htmlFor={id} className="sr-only">
        {label}
      </label>
      <input
        id={id}
        type="search"
        value={text}
        maxLength={200}
        onChange={(e) => setText(e.target.value)}
        placeholder={placeholder}
        className="min-h-11 w-full rounded-lg border border-stone-300 bg-white px-3 py-2 text-stone-900 placeholder:text-stone-500 focus:border-teal-700 focus:outline-none focus:ring-2 focus:ring-teal-700/30"
      />
      <Button type="submit" variant={buttonVariant}>
        Search
      </Button>
    </form>
  );
}
