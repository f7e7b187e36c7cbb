// The cover and the document of a book, on its edit page: what it has now, a file input that
// says what it takes, upload (busy while it goes), replace, and remove after a confirmation.
import { useId, useRef, useState, type ReactNode, type SubmitEvent } from "react";
import { flushSync } from "react-dom";
import type { Book } from "../../api/types";
import { BookCover, coverSource } from "../../components/BookCover";
import { Alert, Button, FileField, FormError } from "../../components/ui";
import { formatBytes, MIB } from "../../lib/bytes";
import { fieldMessage } from "../../lib/problem";
import { documentSummary, DownloadButton } from "../book/BookDocument";
import { useRemoveBookFile, useUploadBookFile, type BookFile } from "./api";

export const COVER_MAX_BYTES = 5 * MIB;
export const DOCUMENT_MAX_BYTES = 50 * MIB;

export function CoverPanel({ book }: { book: Book }) {
  const has = coverSource(book, "md") !== null;
  return (
    <FilePanel
      book={book}
      slot="cover"
      heading="Cover"
      has={has}
      label="Cover image (JPEG, PNG or WebP, at most 5 MiB)"
      hint="At most 6000 × 6000 pixels. The shop keeps it at 600 and 300 px wide, without its metadata."
      accept="image/jpeg,image/png,image/webp"
      maxBytes={COVER_MAX_BYTES}
      limit="5 MiB"
      current={
        <div className="flex items-center gap-4">
          <div className="w-24 shrink-0">
            {has ? <BookCover book={book} alt={`Current cover of ${book.title}`} /> : <BookCover book={book} size="sm" />}
          </div>
          <p className="text-sm text-stone-700">
            {has ? "The current cover, as the catalogue shows it." : "No cover yet: the shop shows a made-up one like this."}
          </p>
        </div>
      }
    />
  );
}

export function DocumentPanel({ book }: { book: Book }) {
  const summary = documentSummary(book);
  return (
    <FilePanel
      book={book}
      slot="document"
      heading="Document"
      has={summary !== null}
      label="Document (PDF, EPUB or plain UTF-8 text, at most 50 MiB)"
      hint="Readers can download it once an order of theirs for this book is completed."
      accept=".pdf,.epub,.txt,application/pdf,application/epub+zip,text/plain"
      maxBytes={DOCUMENT_MAX_BYTES}
      limit="50 MiB"
      current={
        summary === null ? (
          <p className="text-sm text-stone-700">No document yet.</p>
        ) : (
          <div className="space-y-2">
            <p className="text-sm text-stone-800">
              Current document: <span className="font-semibold text-stone-900">{summary}</span>
            </p>
            <DownloadButton book={book} summary={summary} />
          </div>
        )
      }
    />
  );
}

const NOUNS: Record<BookFile, string> = { cover: "cover", document: "document" };

function FilePanel({
  book,
  slot,
  heading,
  has,
  current,
  label,
  hint,
  accept,
  maxBytes,
  limit,
}: {
  book: Book;
  slot: BookFile;
  heading: string;
  has: boolean;
  current: ReactNode;
  label: string;
  hint: string;
  accept: string;
  maxBytes: number;
  limit: string;
}) {
  const upload = useUploadBookFile(book.id, slot);
  const remove = useRemoveBookFile(book.id, slot);
  const headingId = useId();
  const input = useRef<HTMLInputElement>(null);
  const removeButton = useRef<HTMLButtonElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [localError, setLocalError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<"uploaded" | "removed" | null>(null);
  const noun = NOUNS[slot];
  const busy = upload.isPending || remove.isPending;

  const choose = (chosen: File | null) => {
    setFile(chosen);
    setLocalError(null);
    setDone(null);
    upload.reset();
  };

  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    setDone(null);
    remove.reset();
    if (!file) {
      setLocalError(`Choose a file for the ${noun} first.`);
      return;
    }
    // The server would refuse it too, but only after the whole file has been sent.
    if (file.size > maxBytes) {
      setLocalError(`This file is ${formatBytes(file.size)}; a ${noun} can be at most ${limit}.`);
      return;
    }
    setLocalError(null);
    upload.mutate(file, {
      onSuccess: () => {
        setFile(null);
        if (input.current) input.current.value = "";
        setDone("uploaded");
      },
    });
  };

  const confirmRemove = () =>
    remove.mutate(undefined, {
      onSuccess: () => {
        flushSync(() => {
          setConfirming(false);
          setDone("removed");
        });
        input.current?.focus();
      },
    });

  const keep = () => {
    flushSync(() => setConfirming(false));
    removeButton.current?.focus();
  };

  const error = localError ?? (upload.isError ? fieldMessage(upload.error, "file") : undefined);
  const capitalised = noun.charAt(0).toUpperCase() + noun.slice(1);

  return (
    <section aria-labelledby={headingId} aria-busy={busy || undefined} className="rounded-xl border border-stone-200 bg-white p-6 shadow-sm">
      <h2 id={headingId} className="text-lg font-semibold text-stone-900">
        {heading}
      </h2>
      <div className="mt-3">{current}</div>
      <div aria-live="polite" className="mt-3 empty:hidden">
        {upload.isPending && file ? (
          <p className="text-sm text-stone-800">
            Uploading {file.name} ({formatBytes(file.size)})…
          </p>
        ) : done === "uploaded" ? (
          <Alert tone="success">{capitalised} saved.</Alert>
        ) : done === "removed" ? (
          <Alert tone="success">{capitalised} removed.</Alert>
        ) : null}
      </div>
      <form onSubmit={submit} noValidate className="mt-4 space-y-3">
        <FileField
          label={label}
          hint={hint}
          accept={accept}
          inputRef={input}
          error={error}
          disabled={upload.isPending}
          onChange={(e) => choose(e.target.files?.[0] ?? null)}
        />
        <Button type="submit" disabled={busy}>
          {upload.isPending ? (
            <>
              <span aria-hidden="true" className="size-4 animate-spin rounded-full border-2 border-white/40 border-t-white" />
              Uploading…
            </>
          ) : has ? (
            `Replace ${noun}`
          ) : (
            `Upload ${noun}`
          )}
        </Button>
      </form>
      {has && (
        <div className="mt-4 space-y-3 border-t border-stone-200 pt-4">
          <FormError error={remove.error} />
          {confirming ? (
            <div className="flex flex-wrap items-center gap-3">
              <p className="w-full text-sm text-stone-800">
                {slot === "cover"
                  ? "Remove the cover? The shop then shows a made-up one."
                  : "Remove the document? Nobody can download it any more, buyers included."}
              </p>
              <Button variant="danger" disabled={remove.isPending} onClick={confirmRemove}>
                {remove.isPending ? "Removing…" : `Yes, remove the ${noun}`}
              </Button>
              <Button variant="secondary" autoFocus onClick={keep}>
                Keep it
              </Button>
            </div>
          ) : (
            <Button
              ref={removeButton}
              variant="secondary"
              disabled={busy}
              onClick={() => {
                setDone(null);
                setConfirming(true);
              }}
            >
              Remove {noun}
            </Button>
          )}
        </div>
      )}
    </section>
  );
}
