import { useState, type SubmitEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { FORMATS, type Book, type BookInput, type Format } from "../../api/types";
import { Alert, Button, buttonClass, EmptyState, ErrorState, FormError, LoadingState, PageHeader, SelectField, TextArea, TextField, TextLink } from "../../components/ui";
import { fieldErrors, isNotFound, problemOf } from "../../lib/problem";
import { useBook } from "../book/api";
import { FORMAT_LABELS } from "../catalogue/BookCard";
import { useDeleteBook, useSaveBook } from "./api";
import { CoverPanel, DocumentPanel } from "./BookFilePanels";
import { StockPanel } from "./StockPanel";
import { SummaryPanel } from "./SummaryPanel";

export function AdminNewBookPage() {
  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader title="Add a book" />
      <BookForm book={null} />
    </div>
  );
}

export function AdminEditBookPage() {
  const { id = "" } = useParams();
  const book = useBook(id);
  if (book.isPending) return <LoadingState label="Loading the book" />;
  if (book.isError) {
    if (isNotFound(book.error)) {
      return (
        <EmptyState title="Book not found">
          <TextLink to="/admin/books">Back to the books</TextLink>
        </EmptyState>
      );
    }
    return <ErrorState error={book.error} onRetry={() => void book.refetch()} />;
  }
  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader title={`Edit “${book.data.title}”`}>
        <TextLink to={`/books/${book.data.id}`}>See it in the shop</TextLink>
      </PageHeader>
      <div className="space-y-6">
        <StockPanel bookId={book.data.id} />
        <div className="grid gap-6 md:grid-cols-2">
          <CoverPanel book={book.data} />
          <DocumentPanel book={book.data} />
        </div>
        <SummaryPanel book={book.data} />
        {/* Started again when the details change (after a save), not when an upload does: a
            draft being typed survives a new cover. */}
        <BookForm key={JSON.stringify(draftOf(book.data))} book={book.data} />
        <DeleteBook book={book.data} />
      </div>
    </div>
  );
}

interface Draft {
  isbn: string;
  title: string;
  authors: string;
  publisher: string;
  format: Format;
  genre: string;
  price: string;
  description: string;
}

function draftOf(book: Book | null): Draft {
  return {
    isbn: book?.isbn ?? "",
    title: book?.title ?? "",
    authors: book?.authors.join(", ") ?? "",
    publisher: book?.publisher ?? "",
    format: book?.format ?? "paperback",
    genre: book?.genre ?? "",
    price: book?.price ?? "",
    description: book?.description ?? "",
  };
}

function toInput(d: Draft): BookInput {
  return {
    isbn: d.isbn.trim(),
    title: d.title.trim(),
    authors: d.authors
      .split(",")
      .map((a) => a.trim())
      .filter(Boolean),
    publisher: d.publisher.trim(),
    format: d.format,
    genre: d.genre.trim(),
    price: d.price.trim(),
    description: d.description,
  };
}

function BookForm({ book }: { book: Book | null }) {
  const [draft, setDraft] = useState(() => draftOf(book));
  const save = useSaveBook(book?.id ?? null);
  const navigate = useNavigate();
  const errors = fieldErrors(problemOf(save.error));
  const set = (field: keyof Draft) => (e: { target: { value: string } }) => setDraft({ ...draft, [field]: e.target.value });
  const authorsError = Object.entries(errors)
    .filter(([k]) => k === "authors" || k.startsWith("authors["))
    .map(([, v]) => v)
    .join(" ");

  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    save.mutate(toInput(draft), {
      onSuccess: (saved) => {
        if (!book) void navigate(`/admin/books/${saved.id}`, { state: { created: true } });
      },
    });
  };

  return (
    <form onSubmit={submit} noValidate className="space-y-4 rounded-xl border border-stone-200 bg-white p-6 shadow-sm">
      <h2 className="text-lg font-semibold text-stone-900">{book ? "Details" : "The book"}</h2>
      {save.isSuccess && book && <Alert tone="success">Saved.</Alert>}
      <FormError error={save.error} />
      <div className="grid gap-4 sm:grid-cols-2">
        <div className="sm:col-span-2">
          <TextField label="Title" value={draft.title} onChange={set("title")} error={errors.title} required />
        </div>
        <div className="sm:col-span-2">
          <TextField label="Authors" hint="Separate several authors with commas." value={draft.authors} onChange={set("authors")} error={authorsError || undefined} required />
        </div>
        <TextField label="ISBN" value={draft.isbn} onChange={set("isbn")} error={errors.isbn} required />
        <TextField label="Publisher" value={draft.publisher} onChange={set("publisher")} error={errors.publisher} required />
        <SelectField label="Format" value={draft.format} onChange={(e) => setDraft({ ...draft, format: e.target.value as Format })} error={errors.format}>
          {FORMATS.map((f) => (
            <option key={f} value={f}>
              {FORMAT_LABELS[f]}
            </option>
          ))}
        </SelectField>
        <TextField label="Genre" value={draft.genre} onChange={set("genre")} error={errors.genre} required />
        <TextField label="Price" inputMode="decimal" hint="For example 24.90" value={draft.price} onChange={set("price")} error={errors.price} required />
      </div>
      <TextArea label="Description" rows={6} value={draft.description} onChange={set("description")} error={errors.description} />
      <div className="flex flex-wrap gap-3">
        <Button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : book ? "Save changes" : "Add book"}
        </Button>
        <Link to="/admin/books" className={buttonClass("secondary")}>
          Back to the books
        </Link>
      </div>
    </form>
  );
}

function DeleteBook({ book }: { book: Book }) {
  const del = useDeleteBook();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  return (
    <section aria-labelledby="delete-heading" className="rounded-xl border border-red-200 bg-white p-6 shadow-sm">
      <h2 id="delete-heading" className="text-lg font-semibold text-stone-900">
        Remove from the catalogue
      </h2>
      <p className="mt-1 text-sm text-stone-700">Orders already placed keep their copy of the title and price.</p>
      <div className="mt-3">
        <FormError error={del.error} />
      </div>
      {confirming ? (
        <div className="mt-3 flex flex-wrap gap-3">
          <Button
            variant="danger"
            disabled={del.isPending}
            onClick={() => del.mutate(book.id, { onSuccess: () => void navigate("/admin/books") })}
          >
            Delete “{book.title}”
          </Button>
          <Button variant="secondary" onClick={() => setConfirming(false)}>
            Keep it
          </Button>
        </div>
      ) : (
        <Button variant="secondary" className="mt-3" onClick={() => setConfirming(true)}>
          Delete this book
        </Button>
      )}
    </section>
  );
}
