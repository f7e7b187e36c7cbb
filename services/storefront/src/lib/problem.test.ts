import { ApiError, describeError, fieldErrors, problemMessage, toProblem, unwrap } from "./problem";

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

  it("words network failures and unknown errors too", () => {
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/Cannot reach the shop/);
    expect(describeError(new Error("x"))).toBe("Something went wrong. Try again.");
  });
});
