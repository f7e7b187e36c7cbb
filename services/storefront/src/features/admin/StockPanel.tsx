import { useState, type SubmitEvent } from "react";
import { Alert, Button, FormError, TextField } from "../../components/ui";
import { fieldErrors, problemOf } from "../../lib/problem";
import { useAdjustStock, useSetStock, useStock } from "./api";

export function StockPanel({ bookId }: { bookId: string }) {
  const stock = useStock(bookId);
  const setStock = useSetStock(bookId);
  const adjust = useAdjustStock(bookId);
  const [available, setAvailable] = useState("");
  const [delta, setDelta] = useState("");
  const [localError, setLocalError] = useState<{ available?: string; delta?: string }>({});
  const setErrors = fieldErrors(problemOf(setStock.error));
  const adjustErrors = fieldErrors(problemOf(adjust.error));

  const submitSet = (e: SubmitEvent) => {
    e.preventDefault();
    const n = Number(available);
    if (available.trim() === "" || !Number.isInteger(n) || n < 0) {
      setLocalError({ available: "Enter a whole number of copies, 0 or more." });
      return;
    }
    setLocalError({});
    adjust.reset();
    setStock.mutate(n, { onSuccess: () => setAvailable("") });
  };
  const submitAdjust = (e: SubmitEvent) => {
    e.preventDefault();
    const n = Number(delta);
    if (delta.trim() === "" || !Number.isInteger(n) || n === 0) {
      setLocalError({ delta: "Enter a whole number other than 0, such as 5 or -2." });
      return;
    }
    setLocalError({});
    setStock.reset();
    adjust.mutate(n, { onSuccess: () => setDelta("") });
  };

  return (
    <section aria-labelledby="stock-heading" className="rounded-xl border border-stone-200 bg-white p-6 shadow-sm">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="stock-heading" className="text-lg font-semibold text-stone-900">
          Stock
        </h2>
        <p role="status" className="text-stone-800">
          {stock.isPending ? "Loading…" : stock.isError ? "Unknown" : (
            <>
              <span className="text-2xl font-bold text-stone-900">{stock.data.available}</span> available
            </>
          )}
        </p>
      </div>
      {(setStock.isSuccess || adjust.isSuccess) && (
        <div className="mt-3">
          <Alert tone="success">Stock updated.</Alert>
        </div>
      )}
      <div className="mt-3 space-y-2">
        <FormError error={stock.error} />
        <FormError error={setStock.error && !setErrors.available ? setStock.error : null} />
        <FormError error={adjust.error && !adjustErrors.delta ? adjust.error : null} />
      </div>
      <div className="mt-4 grid gap-6 sm:grid-cols-2">
        <form onSubmit={submitSet} noValidate className="space-y-2">
          <TextField
            label="Set available copies to"
            inputMode="numeric"
            value={available}
            onChange={(e) => setAvailable(e.target.value)}
            error={localError.available ?? setErrors.available}
          />
          <Button type="submit" variant="secondary" disabled={setStock.isPending}>
            Set stock
          </Button>
        </form>
        <form onSubmit={submitAdjust} noValidate className="space-y-2">
          <TextField
            label="Add or remove copies"
            hint="Negative numbers remove copies."
            inputMode="numeric"
            value={delta}
            onChange={(e) => setDelta(e.target.value)}
            error={localError.delta ?? adjustErrors.delta}
          />
          <Button type="submit" variant="secondary" disabled={adjust.isPending}>
            Adjust stock
          </Button>
        </form>
      </div>
    </section>
  );
}
