// Turns API failures (RFC 9457 problem+json bodies, network errors) into words for people.
import type { Problem } from "../api/types";

export class ApiError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = "ApiError";
    this.problem = problem;
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string {
    return this.problem.code;
  }
}

function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "string" && typeof v.status === "number" && typeof v.title === "string";
}

/** The problem of a failed response: its body when it is problem+json, otherwise one made from the status. */
export function toProblem(body: unknown, response: Response): Problem {
  if (isProblem(body)) return body;
  return {
    type: "about:blank",
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    code: response.status >= 500 ? "internal" : "bad_request",
    detail: null,
  };
}

/** openapi-fetch's result turned into its data, or an ApiError thrown. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.error === undefined) return result.data as T;
  throw new ApiError(toProblem(result.error, result.response));
}

const MESSAGES: Record<string, string> = {
  invalid_credentials: "That email and password do not match an account.",
  account_deactivated: "This account has been deactivated. Contact the shop if you think this is a mistake.",
  email_taken: "An account with this email already exists. Log in instead.",
  isbn_taken: "Another book in the catalogue already has this ISBN.",
  rate_limited: "Too many attempts. Wait a minute, then try again.",
  forbidden: "You are not allowed to do this.",
  not_found: "We could not find what you asked for.",
  unauthenticated: "Your session has ended. Log in again to continue.",
  invalid_token: "Your session has ended. Log in again to continue.",
  unavailable: "The shop cannot take this right now. Try again in a moment.",
  timeout: "The shop took too long to answer. Try again.",
  payload_too_large: "That is more than the shop accepts in one go.",
  validation_failed: "Some of what you entered needs another look.",
  invalid_parameter: "Some of the search settings are not valid.",
};

function sentence(text: string): string {
  const t = text.trim();
  if (t === "") return t;
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** One sentence that tells the user what went wrong. */
export function problemMessage(problem: Problem): string {
  if (problem.code === "internal") {
    const ref = problem.trace_id ? ` (reference ${problem.trace_id})` : "";
    return `Something went wrong on our side${ref}. Try again in a moment.`;
  }
  if (problem.code === "conflict") {
    return problem.detail ? `This cannot be done now: ${problem.detail}.` : "This cannot be done now.";
  }
  const known = MESSAGES[problem.code];
  const hasFieldErrors = Object.keys(problem.errors ?? {}).length > 0;
  if (known) {
    if ((problem.code === "validation_failed" || problem.code === "invalid_parameter") && !hasFieldErrors && problem.detail) {
      return sentence(problem.detail);
    }
    return known;
  }
  return sentence(problem.detail ?? problem.title);
}

/** Per-field messages from `errors`, each field's messages joined into one sentence. */
export function fieldErrors(problem: Problem | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!problem?.errors) return out;
  for (const [field, messages] of Object.entries(problem.errors)) {
    if (messages.length > 0) out[field] = messages.map(sentence).join(" ");
  }
  return out;
}

/**
 * The words for the one field a request was about (an upload's `file`): the field's own
 * `errors` entry; else, when the server refused the body as a whole as too large (413) or of a
 * kind it does not take (415), its detail, which names the limit or the kinds; else the error in
 * general words.
 */
export function fieldMessage(error: unknown, field: string): string {
  if (error instanceof ApiError) {
    const own = fieldErrors(error.problem)[field];
    if (own) return own;
    if ((error.status === 413 || error.status === 415) && error.problem.detail) return sentence(error.problem.detail);
  }
  return describeError(error);
}

/** Words for any error a query or mutation can throw. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return problemMessage(error.problem);
  if (error instanceof TypeError) return "Cannot reach the shop. Check your connection and try again.";
  return "Something went wrong. Try again.";
}

export function problemOf(error: unknown): Problem | null {
  return error instanceof ApiError ? error.problem : null;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}
