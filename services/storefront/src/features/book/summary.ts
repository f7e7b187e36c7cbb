// A book's summary (docs/summaries.md): the words the pages use for it, how often a pending one
// is asked for again, and how a settled summary pushed to admins reaches the query cache.
import type { QueryClient } from "@tanstack/react-query";
import { bookKeys } from "../../api/keys";
import type { Book, Summary } from "../../api/types";
import type { SummarySettled } from "../../lib/socket";

/** How the summary was made: "Summarised by gpt-4o-mini", "Key sentences from the book". */
export function summaryMethod(summary: Summary): string | null {
  if (summary.method === "model") return summary.model ? `Summarised by ${summary.model}` : "Summarised by a language model";
  if (summary.method === "extractive") return "Key sentences from the book";
  return null;
}

/** When the summary last changed, as a date in the reader's locale; null when unknown. */
export function summaryDate(summary: Summary): string | null {
  if (!summary.updated_at) return null;
  const date = new Date(summary.updated_at);
  return Number.isNaN(date.getTime()) ? null : date.toLocaleDateString(undefined, { dateStyle: "medium" });
}

/** The text's paragraphs (separated by blank lines); single line breaks stay inside a paragraph. */
export function paragraphs(text: string): string[] {
  return text
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== "");
}

/**
 * How often (ms) a book is asked for again while its summary is pending, or false once it has
 * settled. An admin whose socket is up is told when it settles, so polling is only a fallback
 * there, in case a push was lost.
 */
export function summaryPollInterval(book: Book | undefined, pushed: boolean, pollInterval: number): number | false {
  if (book?.summary.status !== "pending") return false;
  return pushed ? pollInterval * 5 : Math.round(pollInterval * 1.5);
}

function time(value: string | null | undefined): number {
  const t = value ? Date.parse(value) : Number.NaN;
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

/**
 * The book an admin's upload or request answered, keeping the cached summary when it is a
 * later state of the same document's summary: the worker can settle a summary (and the push
 * refetch the book) before the answer that made it pending arrives.
 */
export function withNewestSummary(answered: Book, cached: Book | undefined): Book {
  if (cached?.id !== answered.id) return answered;
  const mine = answered.summary;
  const theirs = cached.summary;
  const sameDocument = (theirs.document_sha256 ?? null) === (mine.document_sha256 ?? null);
  return sameDocument && time(theirs.updated_at) > time(mine.updated_at) ? { ...answered, summary: theirs } : answered;
}

/** A summary settled (pushed to admins): the book and the lists that show it are asked for again. */
export function summarySettled(qc: QueryClient, change: SummarySettled): void {
  void qc.invalidateQueries({ queryKey: bookKeys.detail(change.book_id) });
  void qc.invalidateQueries({ queryKey: bookKeys.lists() });
}

/**
 * On (re)connecting, an admin may have missed pushes: the books in the cache whose summary is
 * pending are asked for again.
 */
export function catchUpOnSummaries(qc: QueryClient): void {
  void qc.invalidateQueries({
    queryKey: bookKeys.details(),
    predicate: (query) => (query.state.data as Book | undefined)?.summary.status === "pending",
  });
}
