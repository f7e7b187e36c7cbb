// The one API client: typed from the generated schema, authenticated through the session.
import createClient from "openapi-fetch";
import type { paths } from "../api/schema";
import { baseUrl, session } from "./session";

export const api = createClient<paths>({
  baseUrl: baseUrl(),
  credentials: "same-origin",
  fetch: (request) => session.authFetch(request),
});

export { unwrap } from "./problem";
