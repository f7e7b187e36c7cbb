// Saving a file the app fetched itself (with the bearer token, so not through a plain link).

/**
 * The file name a `Content-Disposition` header gives: `filename*` (RFC 6266, UTF-8 and
 * percent-encoded) first, then `filename`; null when there is neither.
 */
export function filenameFrom(disposition: string | null): string | null {
  if (!disposition) return null;
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(disposition);
  if (extended?.[2]) {
    try {
      const name = decodeURIComponent(extended[2].trim());
      if (name.trim()) return name;
    } catch {
      // A malformed escape: fall back to the plain form.
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(disposition);
  const name = (plain?.[1]?.replace(/\\(.)/g, "$1") ?? plain?.[2] ?? "").trim();
  return name || null;
}

/** A file name made from a title: no path separators, quotes or control characters. */
export function safeFilename(title: string, extension: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this removes
  const base = title.replace(/[\\/:*?"<>|\u0000-\u001f\u007f]+/g, " ").replace(/\s+/g, " ").trim().replace(/^\.+/, "");
  return `${base || "download"}${extension}`;
}

/** Hands a blob to the browser as a download under `name`. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.rel = "noopener";
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL by now; keep it a little longer for slow browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
