import { createSession, type SessionDeps } from "./session";
import { json, problem, sessionBody } from "../testing/test-utils";

function api(url: string, init?: RequestInit) {
  return new Request(new URL(url, "http://localhost:3000"), init);
}

function setup(handler: (request: Request) => Response | Promise<Response>, extra: Partial<SessionDeps> = {}) {
  const calls: Request[] = [];
  const store = createSession({
    fetch: (request) => {
      calls.push(request);
      return Promise.resolve(handler(request));
    },
    ...extra,
  });
  return { store, calls };
}

describe("the session", () => {
  it("sends the access token as a bearer token", async () => {
    const { store, calls } = setup(() => json({}));
    store.accept(sessionBody("t1"));
    await store.authFetch(api("/api/v1/orders"));
    expect(calls[0]?.headers.get("authorization")).toBe("Bearer t1");
  });

  it("refreshes once on a 401 and retries the request with the new token", async () => {
    let refreshed = 0;
    const { store, calls } = setup((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/auth/refresh") {
        refreshed += 1;
        expect(request.credentials).toBe("same-origin");
        return json(sessionBody("t2"));
      }
      return request.headers.get("authorization") === "Bearer t2" ? json({ ok: true }) : problem(401, "invalid_token");
    });
    store.accept(sessionBody("t1"));
    const [a, b] = await Promise.all([
      store.authFetch(api("/api/v1/orders", { method: "POST", body: '{"lines":[]}' })),
      store.authFetch(api("/api/v1/users/me")),
    ]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(refreshed).toBe(1);
    const retried = calls.filter((c) => new URL(c.url).pathname === "/api/v1/orders");
    expect(retried).toHaveLength(2);
    expect(await retried[1]?.text()).toBe('{"lines":[]}');
    expect(store.currentToken()).toBe("t2");
  });

  it("refreshes before a request when the token is about to expire", async () => {
    let now = 0;
    const { store, calls } = setup(
      (request) => (new URL(request.url).pathname === "/api/v1/auth/refresh" ? json(sessionBody("fresh")) : json({})),
      { now: () => now },
    );
    store.accept(sessionBody("old", 900));
    now = 880_000; // 20 s left: inside the 30 s margin
    await store.authFetch(api("/api/v1/orders"));
    expect(calls.map((c) => new URL(c.url).pathname)).toEqual(["/api/v1/auth/refresh", "/api/v1/orders"]);
    expect(calls[1]?.headers.get("authorization")).toBe("Bearer fresh");
  });

  it("ends as expired when the refresh is refused, and leaves the failed answer to the caller", async () => {
    const { store } = setup((request) =>
      new URL(request.url).pathname === "/api/v1/auth/refresh" ? problem(401, "invalid_token") : problem(401, "invalid_token"),
    );
    store.accept(sessionBody("t1"));
    const response = await store.authFetch(api("/api/v1/orders"));
    expect(response.status).toBe(401);
    expect(store.getState()).toEqual({ status: "anonymous", expired: true });
    expect(store.currentToken()).toBeNull();
  });

  it("resumes a session from the refresh cookie at start-up, or starts anonymous", async () => {
    const signedIn = setup(() => json(sessionBody("t1")));
    await signedIn.store.restore();
    expect(signedIn.store.getState()).toMatchObject({ status: "authenticated", user: { email: "ada@example.com" } });

    const anonymous = setup(() => problem(401, "unauthenticated"));
    await anonymous.store.restore();
    expect(anonymous.store.getState()).toEqual({ status: "anonymous", expired: false });

    const offline = setup(() => Promise.reject(new TypeError("offline")));
    await offline.store.restore();
    expect(offline.store.getState()).toEqual({ status: "anonymous", expired: false });
  });

  it("takes a token another tab refreshed instead of refreshing again", async () => {
    const listeners: ((e: MessageEvent) => void)[] = [];
    const posted: unknown[] = [];
    const channel = {
      postMessage: (m: unknown) => posted.push(m),
      addEventListener: (_: "message", l: (e: MessageEvent) => void) => listeners.push(l),
    };
    const { store, calls } = setup(() => json({}), { channel });
    store.accept(sessionBody("mine"));
    expect(posted).toHaveLength(1);
    for (const l of listeners) l(new MessageEvent("message", { data: { type: "session", session: sessionBody("theirs"), at: Date.now() } }));
    expect(store.currentToken()).toBe("theirs");
    await store.authFetch(api("/api/v1/orders"));
    expect(calls).toHaveLength(1);
    for (const l of listeners) l(new MessageEvent("message", { data: { type: "ended", expired: false } }));
    expect(store.getState()).toEqual({ status: "anonymous", expired: false });
  });

  it("does not add a token to the auth endpoints", async () => {
    const { store, calls } = setup(() => json(sessionBody("t2")));
    store.accept(sessionBody("t1"));
    await store.authFetch(api("/api/v1/auth/login", { method: "POST" }));
    expect(calls[0]?.headers.get("authorization")).toBeNull();
  });
});
