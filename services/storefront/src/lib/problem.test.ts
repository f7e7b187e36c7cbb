import { formatBytes } from "./bytes";
import { filenameFrom, safeFilename } from "./download";
import { ApiError, describeError, fieldErrors, fieldMessage, problemMessage, toProblem, unwrap } from "./problem";

const base = { type: "urn:bookstore:problem:x", title: "T" };

describe("problem+json in words", () => {
  it("says each known code in words", () => {
    expect(problemMessage({ ...base, status: 401, code: "invalid_credentials" })).toBe(
      "That email and password do not match an account.",
    );
    expect(problemMessage({ ...base, status: 409, code: "email_taken" })).toMatch(/already exists/);
    expect(problemMessage({ ...base, status: 409, code: "conflict", detail: "only an admin can move an order from completed to cancelled" })).toBe(
      "This cannot be done now: only an admin can move an order from completed to cancelled.",
    );
    expect(problemMessage({ ...base, status: 500, code: "internal", trace_id: "abc123" })).toBe(
      "Something went wrong on our side (reference abc123). Try again in a moment.",
    );
  });

  it("falls back to the detail, as a sentence, for codes it does not know", () => {
    expect(problemMessage({ ...base, status: 418, code: "teapot", detail: "short and stout" })).toBe("Short and stout.");
    expect(problemMessage({ ...base, status: 422, code: "validation_failed", detail: "unknown field `is_admin`" })).toBe(
      "Unknown field `is_admin`.",
    );
  });

  it("maps per-field errors to one sentence per field", () => {
    const p = {
      ...base,
      status: 422,
      code: "validation_failed",
      errors: { email: ["is not an email address"], password: ["is too short", "is a common password"] },
    };
    expect(fieldErrors(p)).toEqual({
      email: "Is not an email address.",
      password: "Is too short. Is a common password.",
    });
    expect(problemMessage(p)).toBe("Some of what you entered needs another look.");
    expect(fieldErrors(null)).toEqual({});
  });

  it("makes a problem from any failed answer, and unwraps openapi-fetch results", () => {
    const response = new Response("oops", { status: 502, statusText: "Bad Gateway" });
    expect(toProblem("oops", response)).toMatchObject({ status: 502, code: "internal", title: "Bad Gateway" });
    expect(unwrap({ data: { a: 1 }, response: new Response(null, { status: 200 }) })).toEqual({ a: 1 });
    expect(() => unwrap({ error: { ...base, status: 404, code: "not_found" }, response: new Response(null, { status: 404 }) })).toThrow(
      ApiError,
    );
  });

  it("words an upload's refusal for its field: its own entry, else the detail of a 413 or 415", () => {
    const refused = (status: number, code: string, extra: object = {}) => new ApiError({ ...base, status, code, ...extra });
    expect(fieldMessage(refused(422, "validation_failed", { errors: { file: ["the file is empty"] } }), "file")).toBe("The file is empty.");
    expect(
      fieldMessage(refused(415, "unsupported_media_type", { detail: "the file is not a JPEG, PNG or WebP image (judged by its content)" }), "file"),
    ).toBe("The file is not a JPEG, PNG or WebP image (judged by its content).");
    expect(fieldMessage(refused(413, "payload_too_large", { detail: "the cover is larger than 5 MiB" }), "file")).toBe(
      "The cover is larger than 5 MiB.",
    );
    expect(fieldMessage(refused(403, "forbidden", { detail: "admins only" }), "file")).toBe("You are not allowed to do this.");
    expect(fieldMessage(new TypeError("Failed to fetch"), "file")).toMatch(/Cannot reach the shop/);
  });

  it("words network failures and unknown errors too", () => {
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/Cannot reach the shop/);
    expect(describeError(new Error("x"))).toBe("Something went wrong. Try again.");
  });
});

describe("files", () => {
  it("gives sizes in decimal units", () => {
    expect(formatBytes(1)).toBe("1 byte");
    expect(formatBytes(820)).toBe("820 bytes");
    expect(formatBytes(14_200)).toBe("14 kB");
    expect(formatBytes(1_234_567)).toBe("1.2 MB");
    expect(formatBytes(999_999)).toBe("1 MB");
    expect(formatBytes(52_428_800)).toBe("52 MB");
  });

  it("reads the file name from Content-Disposition, the UTF-8 form first", () => {
    expect(filenameFrom(`attachment; filename="Der Zauberberg.pdf"; filename*=UTF-8''Der%20Zauberberg%20%E2%80%93%20Band%201.pdf`)).toBe(
      "Der Zauberberg – Band 1.pdf",
    );
    expect(filenameFrom('attachment; filename="The \\"Hobbit\\".txt"')).toBe('The "Hobbit".txt');
    expect(filenameFrom("attachment; filename=plain.epub")).toBe("plain.epub");
    expect(filenameFrom("attachment")).toBeNull();
    expect(filenameFrom(null)).toBeNull();
  });

  it("makes a safe name from a title when the server gives none", () => {
    expect(safeFilename("AC/DC: Live?", ".pdf")).toBe("AC DC Live.pdf");
    expect(safeFilename("..hidden", ".txt")).toBe("hidden.txt");
    expect(safeFilename("///", ".epub")).toBe("download.epub");
  });
});
