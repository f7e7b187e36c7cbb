// The one API client: typed from the generated schema, authenticated through the session.
import createClient from "openapi-fetch";
import type { paths } from "../api/schema";
import { baseUrl, session } from "./session";

export const api = createClient<paths>({
  baseUrl: baseUrl(),
  credentials: "same-origin",
  fetch: (request) => session.authFetch(request),
});

/**
 * The options for an upload endpoint (`multipart/form-data`, the file in the field `file`),
 * sent through `api` like any call, so the bearer token and its refresh apply. The generated
 * schema types a binary field as a string, so `body` carries the file's name to satisfy it and
 * the serializer puts the file itself into the form; the browser sets the multipart boundary.
 */
export function fileBody(file: File) {
  return {
    body: { file: file.name },
    bodySerializer: () => {
      const form = new FormData();
      form.append("file", file, file.name);
      return form;
    },
  };
}

export { unwrap } from "./problem";
