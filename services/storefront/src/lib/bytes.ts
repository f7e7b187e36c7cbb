// File sizes for people: "820 bytes", "14 kB", "1.2 MB" (decimal units, as file managers show
// them). Limits are written as the API states them ("5 MiB").
const UNITS = ["kB", "MB", "GB"] as const;

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "";
  if (bytes < 1000) return bytes === 1 ? "1 byte" : `${bytes} bytes`;
  let value = bytes;
  let unit: string = UNITS[0];
  for (const u of UNITS) {
    value /= 1000;
    unit = u;
    if (value < 999.95) break;
  }
  const digits = value < 10 ? 1 : 0;
  return `${value.toFixed(digits).replace(/\.0$/, "")} ${unit}`;
}

export const MIB = 1024 * 1024;
