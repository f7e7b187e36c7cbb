// The summary of a book's document, on its edit page: where it stands (being written, ready with
// its text, failed with the reason) and a button that asks for a new one. A pending summary
// updates by itself: the book is asked for again until it settles, and the admin's socket says
// when it has.
import { useId, useState } from "react";
import type { Book, SummaryStatus } from "../../api/types";
import { Button, FormError } from "../../components/ui";
import { ApiError } from "../../lib/problem";
import { paragraphs, summaryMethod } from "../book/summary";
import { useRequestSummary } from "./api";

const STATUS_LABELS: Record<SummaryStatus, string> = {
  none: "None",
  pending: "Being written",
  ready: "Ready",
  failed: "Failed",
};

export function SummaryPanel({ book }: { book: Book }) {
  const ask = useRequestSummary(book.id);
  const headingId = useId();
  const hintId = useId();
  const { summary } = book;
  // A 409 means the server knows of no document; that holds until another one is uploaded.
  const [refusedFor, setRefusedFor] = useState<string | null | undefined>(undefined);
  const documentSha = book.document_sha256 ?? null;
  const noDocument = book.document_url == null || refusedFor === documentSha;
  const method = summaryMethod(summary);
  const text = summary.status === "ready" ? paragraphs(summary.text ?? "") : [];

  const request = () =>
    ask.mutate(undefined, {
      onError: (error) => {
        if (error instanceof ApiError && error.status === 409) setRefusedFor(documentSha);
      },
    });

  let content;
  if (summary.status === "pending") {
    content = <p className="text-sm text-stone-800">A summary is being written… This panel updates by itself.</p>;
  } else if (summary.status === "failed") {
    content = (
      <p className="text-sm text-red-900">{summary.reason ? `The summary failed: ${summary.reason}` : "The summary failed."}</p>
    );
  } else if (summary.status === "ready") {
    content =
      text.length > 0 ? (
        <div className="space-y-2 rounded-lg border border-stone-200 bg-stone-50 p-4">
          {text.map((paragraph, i) => (
            <p key={i} className="whitespace-pre-line text-sm leading-relaxed text-stone-800">
              {paragraph}
            </p>
          ))}
        </div>
      ) : (
        <p className="text-sm text-stone-700">The summary is empty.</p>
      );
  } else {
    content = <p className="text-sm text-stone-700">No summary: the book has no document.</p>;
  }

  return (
    <section aria-labelledby={headingId} aria-busy={ask.isPending || undefined} className="rounded-xl border border-stone-200 bg-white p-6 shadow-sm">
      <h2 id={headingId} className="text-lg font-semibold text-stone-900">
        Summary
      </h2>
      <dl className="mt-3 grid grid-cols-[6rem_1fr] gap-x-4 gap-y-1 text-sm">
        <dt className="font-medium text-stone-700">Status</dt>
        <dd aria-live="polite" className="font-semibold text-stone-900" data-testid="summary-status">
          {STATUS_LABELS[summary.status]}
        </dd>
        {summary.status === "ready" && method && (
          <>
            <dt className="font-medium text-stone-700">Made</dt>
            <dd className="text-stone-800">
              {summary.method === "extractive" ? `${method} (the built-in extractive summariser)` : method}
            </dd>
          </>
        )}
        {summary.status !== "none" && summary.updated_at && (
          <>
            <dt className="font-medium text-stone-700">Updated</dt>
            <dd className="text-stone-800">
              <time dateTime={summary.updated_at}>{new Date(summary.updated_at).toLocaleString()}</time>
            </dd>
          </>
        )}
      </dl>
      <div className="mt-3">{content}</div>
      <div className="mt-4 space-y-3 border-t border-stone-200 pt-4">
        {!noDocument && <FormError error={ask.error} />}
        <Button
          variant="secondary"
          disabled={noDocument || ask.isPending}
          aria-describedby={noDocument ? hintId : undefined}
          onClick={request}
        >
          {ask.isPending ? "Asking…" : "Ask for a new summary"}
        </Button>
        {noDocument && (
          <p id={hintId} className="text-sm text-stone-700">
            Upload a document first: the summary is made from the book’s document.
          </p>
        )}
      </div>
    </section>
  );
}
