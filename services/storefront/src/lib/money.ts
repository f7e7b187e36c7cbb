// Money travels as a decimal string with two places ("24.90"). The shop shows it with one
// currency sign, set here.
export const CURRENCY_SYMBOL = "$";

export function formatMoney(amount: string): string {
  const value = Number(amount);
  if (!Number.isFinite(value)) return amount;
  return `${CURRENCY_SYMBOL}${value.toFixed(2)}`;
}

/** Sums decimal strings in cents, so that 0.1 + 0.2 stays 0.30. */
export function sumMoney(amounts: readonly { price: string; quantity: number }[]): string {
  let cents = 0;
  for (const { price, quantity } of amounts) {
    cents += Math.round(Number(price) * 100) * quantity;
  }
  return (cents / 100).toFixed(2);
}
