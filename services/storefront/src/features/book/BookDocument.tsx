import { useId } from "react";
import type { Book } from "../../api/types";
import { Button } from "../../components/ui";
import { formatBytes } from "../../lib/bytes";
import { ApiError, describeError } from "../../lib/problem";
import { useSession } from "../auth/use-session";
import { DOCUMENT_KINDS, useBoughtOrder, useDownloadDocument } from "./api";

type DocumentFields = Pick<Book, "id" | "title" | "document_url" | "document_kind" | "document_bytes">;

/** "PDF, 1.2 MB" for a book with a document; null without one. */
export function documentSummary(book: DocumentFields): string | null {
  if (!book.document_url || !book.document_kind) return null;
  const kind = DOCUMENT_KINDS[book.document_kind].label;
  return book.document_bytes == null ? kind : `${kind}, ${formatBytes(book.document_bytes)}`;
}

/**
 * The book's document on its page: a Download button for an admin and for a reader who bought
 * the book, a note for a reader who has not (yet); nothing for a book without a document or for
 * someone not signed in.
 */
export function BookDocument({ book, className = "" }: { book: DocumentFields; className?: string }) {
  const state = useSession();
  const summary = documentSummary(book);
  const isAdmin = state.status === "authenticated" && state.user.role === "admin";
  const isCustomer = state.status === "authenticated" && !isAdmin;
  const bought = useBoughtOrder(book.id, isCustomer && summary !== null);

  if (summary === null || state.status !== "authenticated") return null;
  let content;
  if (isAdmin || bought.data) {
    content = <DownloadButton book={book} summary={summary} />;
  } else if (bought.isPending) {
    content = (
      <p role="status" className="text-sm text-stone-700">
        Checking your orders…
      </p>
    );
  } else if (bought.isError) {
    content = (
      <div role="alert" className="flex flex-wrap items-center gap-x-3 text-sm text-red-800">
        <p>We could not check whether you bought this book. {describeError(bought.error)}</p>
        <Button variant="ghost" className="px-2" onClick={() => void bought.refetch()}>
          Try again
        </Button>
      </div>
    );
  } else {
    content = (
      <p className="text-sm text-stone-700">The e-book ({summary}) becomes downloadable once your order is completed.</p>
    );
  }
  return <div className={className}>{content}</div>;
}

function downloadMessage(error: unknown): string {
  if (error instanceof ApiError && error.status === 403) {
    return "Only readers whose order for this book is completed can download it.";
  }
  if (error instanceof ApiError && error.status === 404) return "This book has no file to download any more.";
  return describeError(error);
}

export function DownloadButton({ book, summary }: { book: DocumentFields; summary: string }) {
  const download = useDownloadDocument(book);
  const errorId = useId();
  return (
    <div>
      <Button
        variant="secondary"
        disabled={download.isPending}
        aria-busy={download.isPending || undefined}
        aria-describedby={download.isError ? errorId : undefined}
        onClick={() => download.mutate()}
      >
        {download.isPending ? "Downloading…" : `Download (${summary})`}
      </Button>
      {download.isError && (
        <p id={errorId} role="alert" className="mt-1 text-sm text-red-800">
          {downloadMessage(download.error)}
        </p>
      )}
    </div>
  );
}
