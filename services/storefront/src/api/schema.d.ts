// Generated from docs/openapi.json by `npm run codegen` (openapi-typescript). Do not edit; regenerate instead.

export interface paths {
    "/api/v1/auth/jwks.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The public keys that verify access tokens (RFC 7517). */
        get: operations["jwks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Logs in with email and password. A wrong password and an unknown email get the same answer. */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Ends the session of the refresh cookie on the server and clears the cookie. */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Exchanges the refresh cookie for a new access token and a new refresh cookie. */
        post: operations["refresh"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Creates a customer account and logs it in. */
        post: operations["register"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/books": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Lists books with filters, sort and pagination. The answer carries a strong `ETag`
         *     (`If-None-Match` gets `304`) and comes gzip- or brotli-compressed when the client accepts it.
         */
        get: operations["list_books"];
        put?: never;
        /** Adds a book (admin only). */
        post: operations["create_book"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/books/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One book, with a strong `ETag` and compression as for the list. */
        get: operations["get_book"];
        put?: never;
        post?: never;
        /** Removes a book (admin only). */
        delete: operations["delete_book"];
        options?: never;
        head?: never;
        /** Changes some fields of a book (admin only). */
        patch: operations["update_book"];
        trace?: never;
    };
    "/api/v1/books/{id}/cover": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A book's cover as JPEG. Public; cached for a year under the versioned URL of the book's
         *     `cover_url`, and answered `304` to a matching `If-None-Match`.
         */
        get: operations["get_cover"];
        /**
         * Sets or replaces a book's cover (admin only): `multipart/form-data` with the image in the
         *     field `file`. JPEG, PNG or WebP, judged by content, at most 5 MiB and 6000×6000 pixels; it is
         *     decoded and stored re-encoded at two sizes, without its metadata.
         */
        put: operations["put_cover"];
        post?: never;
        /** Removes a book's cover (admin only). */
        delete: operations["delete_cover"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/books/{id}/document": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A book's document (admins, customers with a completed, shipped or delivered order for the
         *     book, and the worker with the service token). Supports one `Range` (and `If-Range`), and `If-None-Match`; saved under a name made
         *     from the book's title.
         */
        get: operations["get_document"];
        /**
         * Sets or replaces a book's document (admin only): `multipart/form-data` with the file in the
         *     field `file`. A PDF, an EPUB or UTF-8 text, judged by content, at most 50 MiB. Streamed to
         *     the store; memory stays bounded whatever the size.
         */
        put: operations["put_document"];
        post?: never;
        /** Removes a book's document (admin only). */
        delete: operations["delete_document"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/books/{id}/summary": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Stores the outcome of a summary (the worker, with the service token). Repeating it changes
         *     nothing but the time; an outcome for a document that has since been replaced is a 409.
         */
        put: operations["store_summary"];
        /**
         * Asks for a new summary of the book's document (admin only), for instance after a failure or
         *     with another model configured. The summary becomes `pending`; the worker settles it.
         */
        post: operations["request_summary"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/books/lookup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Several books at once, by id (what the orders service reads when orders are placed); ids of
         *     no book are left out of the answer.
         */
        post: operations["lookup_books"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/inventory/{book_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Units available of a book (0 for a book inventory has never heard of). */
        get: operations["get_stock"];
        /** Sets the units available of a book (admin only). */
        put: operations["set_stock"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/inventory/{book_id}/adjust": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Adds or removes units of a book (admin only); going below zero is a 409. */
        post: operations["adjust_stock"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/inventory/reservations/{order_id}/release": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Gives back the units of an order's reservation (bookstore services only). An order not seen
         *     yet is recorded as released, so a later reservation for it takes nothing.
         */
        post: operations["release"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/inventory/reservations/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Reserves the stock of several orders in one go (bookstore services only), each every line or
         *     none, in the order sent. Keyed by order id: a repeat answers the first answer again and
         *     changes nothing. A reservation that is not valid gets its problem in its place and the
         *     others are still decided.
         */
        post: operations["reserve_batch"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orders": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Orders, newest first: the caller's own, or everyone's for an admin. */
        get: operations["list_orders"];
        put?: never;
        /**
         * Places an order. Titles and prices are copied from the catalogue; the answer is `202`: the
         *     order is `pending` until the order worker has reserved its stock.
         */
        post: operations["place_order"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orders/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One order. */
        get: operations["get_order"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orders/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Cancels an order: its owner while it is pending, an admin while it is pending or completed. */
        post: operations["cancel_order"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orders/{id}/status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** An order's status alone, for cheap polling. */
        get: operations["get_status"];
        put?: never;
        /**
         * Sets an order's status: `completed` or `failed` by the order worker (service token);
         *     `shipped`, `delivered` and `cancelled` by an admin. Setting the status the order already
         *     has changes nothing and announces nothing.
         */
        post: operations["set_status"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orders/bought": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's newest order that bought a book (completed, shipped or delivered): the proof of
         *     purchase the catalogue asks for before it hands out a book's document.
         */
        get: operations["bought_order"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orders/pending": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's newest pending order containing a book: what a book page shows while the
         *     purchase is being processed.
         */
        get: operations["pending_order"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orders/statuses": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sets the status of several orders in one go (bookstore services only): each change exactly
         *     as `POST /api/v1/orders/{id}/status` with the service token would make it, written together.
         */
        post: operations["set_statuses"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every account, oldest first (admin only). */
        get: operations["list_users"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Changes a user's role or deactivates/reactivates them (admin only). Either change ends the
         *     user's sessions; an admin cannot change their own account this way.
         */
        patch: operations["update_user"];
        trace?: never;
    };
    "/api/v1/users/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's profile. */
        get: operations["get_me"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Changes the caller's display name or password. */
        patch: operations["update_me"];
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description The body of `POST /api/v1/inventory/{book_id}/adjust`. */
        AdjustStock: {
            /**
             * Format: int64
             * @description Units to add (negative: to remove), not 0, at most 1,000,000,000 either way.
             */
            delta: number;
        };
        /** @description The answer to a batch: one outcome per reservation, in the order they were sent. */
        BatchAnswer: {
            results: components["schemas"]["BatchOutcome"][];
        };
        /**
         * @description One reservation's outcome in a batch: inventory's answer, or the problem with its request
         *     (which changed nothing).
         */
        BatchOutcome: {
            problem?: components["schemas"]["Problem"] | null;
            reservation?: components["schemas"]["ReservationView"] | null;
        };
        /** @description A book's id in the catalogue: 1 to 36 characters, no spaces or control characters. */
        BookId: string;
        /**
         * @description The fields of a book as a client sends them: on `POST` every field but `description` is
         *     required (and not `null`); a `PATCH` changes the fields given and leaves `null` ones as they are.
         */
        BookInput: {
            /** @description 1 to 20 names, each 1 to 100 characters, not only spaces, no control characters. */
            authors?: string[] | null;
            /** @description At most 20000 characters; line breaks and tabs are the only control characters allowed. */
            description?: string | null;
            format?: ("hardcover" | "paperback" | "ebook" | "audiobook") | null;
            /** @description 1 to 64 characters, not only spaces, no control characters. */
            genre?: string | null;
            /** @description An ISBN-10 or ISBN-13 with a valid check digit, hyphens and spaces allowed. */
            isbn?: string | null;
            price?: components["schemas"]["Money"] | null;
            /** @description 1 to 200 characters, not only spaces, no control characters. */
            publisher?: string | null;
            /** @description 1 to 300 characters, not only spaces, no control characters. */
            title?: string | null;
        };
        /** @description A page of books with the genre facets of the whole result. */
        BookList: components["schemas"]["Page_BookView"] & {
            facets: components["schemas"]["Facets"];
        };
        /** @description A book as the API shows it. */
        BookView: {
            authors: string[];
            /**
             * Format: int32
             * @description Units available to order.
             */
            available: number;
            /** @description The same cover for lists and grids (300 px wide at most). */
            cover_thumbnail_url?: string | null;
            /**
             * @description The cover for the book's page (600 px wide at most), when there is one. The URL changes
             *     whenever the cover does, so its answer may be cached for good.
             */
            cover_url?: string | null;
            /** Format: date-time */
            created_at: string;
            description: string;
            /**
             * Format: int64
             * @description The document's size in bytes, when there is one.
             */
            document_bytes?: number | null;
            document_kind?: components["schemas"]["DocumentKind"] | null;
            /** @description The document's SHA-256 (lower-case hex), when there is one. */
            document_sha256?: string | null;
            /**
             * @description Where the book's document is downloaded (by admins and the customers who bought the
             *     book), when there is one.
             */
            document_url?: string | null;
            format: components["schemas"]["Format"];
            genre: string;
            id: string;
            in_stock: boolean;
            isbn: string;
            price: components["schemas"]["Money"];
            publisher: string;
            /** @description The summary of the document. */
            summary: components["schemas"]["SummaryView"];
            title: string;
            /** Format: date-time */
            updated_at: string;
        };
        /**
         * @description What a stored document is.
         * @enum {string}
         */
        DocumentKind: "pdf" | "epub" | "text";
        Facets: {
            /** @description Matching books per genre, ignoring the genre filter. */
            genres: components["schemas"]["GenreCount"][];
        };
        /**
         * @description How a book is published.
         * @enum {string}
         */
        Format: "hardcover" | "paperback" | "ebook" | "audiobook";
        /** @description How many books of a genre match. */
        GenreCount: {
            /** Format: int64 */
            count: number;
            genre: string;
        };
        /** @description Units of one book: a line of an order, of its `order.placed` event and of a reservation. */
        Line: {
            book_id: components["schemas"]["BookId"];
            /** Format: int32 */
            quantity: number;
        };
        LoginRequest: {
            /** @description Any text: one that is not an email address is a wrong login (401), not a bad request. */
            email: string;
            password: string;
        };
        /** @description The body of `POST /api/v1/books/lookup`. */
        Lookup: {
            /** @description 1 to 100 book ids; repeats count once. */
            ids: components["schemas"]["BookId"][];
        };
        /** @description The books a look-up found. */
        LookupAnswer: {
            /** @description The books of the ids that name one, in no particular order. */
            books: components["schemas"]["BookView"][];
        };
        /**
         * @description Decimal amount with at most two places, from 0.00 to 1000000.00
         * @example 24.90
         */
        Money: string;
        /**
         * @description An order's id: 1 to 36 characters, no spaces or control characters. Also the key of the
         *     order's reservation in inventory.
         */
        OrderId: string;
        /** @description One line of a new order. */
        OrderLineRequest: {
            book_id: string;
            /**
             * Format: int64
             * @description 1 to 100 units. Read as a wide integer so that 0 or 101 get a message naming the line
             *     rather than a type error.
             */
            quantity: number;
        };
        /** @description One line of an order, with the title and unit price copied at purchase time. */
        OrderLineView: {
            book_id: string;
            line_total: components["schemas"]["Money"];
            /** Format: int32 */
            quantity: number;
            title: string;
            unit_price: components["schemas"]["Money"];
        };
        /**
         * @description Where an order is in its life.
         * @enum {string}
         */
        OrderStatus: "pending" | "completed" | "failed" | "cancelled" | "shipped" | "delivered";
        /** @description An order as the API shows it. */
        OrderView: {
            /** Format: date-time */
            created_at: string;
            id: string;
            lines: components["schemas"]["OrderLineView"][];
            /** @description Why the order failed or was cancelled, when known (e.g. `out_of_stock`). */
            reason?: string | null;
            status: components["schemas"]["OrderStatus"];
            total: components["schemas"]["Money"];
            /** Format: date-time */
            updated_at: string;
            user_id: string;
        };
        /** @description One page of a list, with what the client needs to fetch the next. */
        Page_BookView: {
            items: {
                authors: string[];
                /**
                 * Format: int32
                 * @description Units available to order.
                 */
                available: number;
                /** @description The same cover for lists and grids (300 px wide at most). */
                cover_thumbnail_url?: string | null;
                /**
                 * @description The cover for the book's page (600 px wide at most), when there is one. The URL changes
                 *     whenever the cover does, so its answer may be cached for good.
                 */
                cover_url?: string | null;
                /** Format: date-time */
                created_at: string;
                description: string;
                /**
                 * Format: int64
                 * @description The document's size in bytes, when there is one.
                 */
                document_bytes?: number | null;
                document_kind?: components["schemas"]["DocumentKind"] | null;
                /** @description The document's SHA-256 (lower-case hex), when there is one. */
                document_sha256?: string | null;
                /**
                 * @description Where the book's document is downloaded (by admins and the customers who bought the
                 *     book), when there is one.
                 */
                document_url?: string | null;
                format: components["schemas"]["Format"];
                genre: string;
                id: string;
                in_stock: boolean;
                isbn: string;
                price: components["schemas"]["Money"];
                publisher: string;
                /** @description The summary of the document. */
                summary: components["schemas"]["SummaryView"];
                title: string;
                /** Format: date-time */
                updated_at: string;
            }[];
            /** Format: int64 */
            limit: number;
            /**
             * Format: int64
             * @description The next page number, null on the last page.
             */
            next_page?: number | null;
            /** Format: int64 */
            page: number;
            /**
             * Format: int64
             * @description Number of items matching the query across all pages.
             */
            total: number;
        };
        /** @description One page of a list, with what the client needs to fetch the next. */
        Page_OrderView: {
            items: {
                /** Format: date-time */
                created_at: string;
                id: string;
                lines: components["schemas"]["OrderLineView"][];
                /** @description Why the order failed or was cancelled, when known (e.g. `out_of_stock`). */
                reason?: string | null;
                status: components["schemas"]["OrderStatus"];
                total: components["schemas"]["Money"];
                /** Format: date-time */
                updated_at: string;
                user_id: string;
            }[];
            /** Format: int64 */
            limit: number;
            /**
             * Format: int64
             * @description The next page number, null on the last page.
             */
            next_page?: number | null;
            /** Format: int64 */
            page: number;
            /**
             * Format: int64
             * @description Number of items matching the query across all pages.
             */
            total: number;
        };
        /** @description One page of a list, with what the client needs to fetch the next. */
        Page_UserView: {
            items: {
                active: boolean;
                /** Format: date-time */
                created_at: string;
                display_name: string;
                email: string;
                id: string;
                role: components["schemas"]["Role"];
            }[];
            /** Format: int64 */
            limit: number;
            /**
             * Format: int64
             * @description The next page number, null on the last page.
             */
            next_page?: number | null;
            /** Format: int64 */
            page: number;
            /**
             * Format: int64
             * @description Number of items matching the query across all pages.
             */
            total: number;
        };
        /**
         * @description A new order. Only books and quantities: titles and prices come from the catalogue, and a
         *     body that tries to send them is refused (unknown fields).
         */
        PlaceOrder: {
            /** @description 1 to 50 lines, each book at most once. */
            lines: components["schemas"]["OrderLineRequest"][];
        };
        /**
         * @description A problem+json body, as RFC 9457 defines it, plus our stable `code`, per-field `errors` for
         *     validation failures and the `trace_id` of server errors.
         */
        Problem: {
            code: string;
            detail?: string | null;
            errors?: {
                [key: string]: string[];
            };
            /** Format: int32 */
            status: number;
            title: string;
            trace_id?: string | null;
            type: string;
        };
        RegisterRequest: {
            /**
             * @description 1 to 100 characters, not only spaces, no control characters (default: the email's part
             *     before the `@`).
             */
            display_name?: string | null;
            /**
             * Format: email
             * @description An email address, at most 254 characters (64 before the `@`); compared trimmed and
             *     lower-cased.
             */
            email: string;
            /** @description 10 to 128 characters, not a well-known password, not the email. */
            password: string;
            /** @description Only `customer` is accepted: sign-up never grants admin. */
            role?: "customer" | null;
        };
        /** @description The body of `POST /api/v1/inventory/reservations/batch`. */
        ReservationBatch: {
            /** @description 1 to 100 reservations, decided in this order, each checked on its own. */
            reservations: components["schemas"]["ReservationRequest"][];
        };
        /**
         * @description One line of a reservation request as a client sends it; checked by
         *     inventory's validation.
         */
        ReservationLineRequest: {
            /** @description The book, 1 to 36 characters, no spaces or control characters. */
            book_id: string;
            /**
             * Format: int64
             * @description Units, 1 to 1000.
             */
            quantity: number;
        };
        /**
         * @description One reservation of a batch: an order's lines. Fields are optional here only so that a missing
         *     one is reported by name with the others, instead of as a bare parse error.
         */
        ReservationRequest: {
            /** @description 1 to 50 lines; a book listed twice counts once with the quantities added. */
            lines: components["schemas"]["ReservationLineRequest"][];
            /**
             * @description The order, 1 to 36 characters, no spaces or control characters: the idempotency key of
             *     the reservation.
             */
            order_id: string;
        };
        /**
         * @description Where a reservation stands.
         * @enum {string}
         */
        ReservationStatus: "reserved" | "rejected" | "released";
        /** @description Inventory's answer for an order. The first answer is the answer: a repeat returns it again. */
        ReservationView: {
            /**
             * @description What was asked for, one line per book (repeated books merged), sorted by book id; empty
             *     for an order released before it was ever reserved.
             */
            lines: components["schemas"]["Line"][];
            order_id: components["schemas"]["OrderId"];
            /** @description `out_of_stock` when rejected, otherwise null. */
            reason?: string | null;
            status: components["schemas"]["ReservationStatus"];
        };
        /**
         * @description A user's role. Sign-up always gives `customer`; only an admin makes another admin.
         * @enum {string}
         */
        Role: "customer" | "admin";
        /** @description A new access token; the refresh token travels in an HttpOnly cookie. */
        SessionResponse: {
            access_token: string;
            /**
             * Format: int64
             * @description Seconds until the access token expires.
             */
            expires_in: number;
            token_type: string;
            user: components["schemas"]["UserView"];
        };
        /** @description A new status for an order. */
        SetStatus: {
            /**
             * @description Required with `failed` (e.g. `out_of_stock`), optional with `cancelled`, else absent: 1
             *     to 64 characters, not only spaces, no control characters.
             */
            reason?: string | null;
            status: components["schemas"]["OrderStatus"];
        };
        /** @description The body of `PUT /api/v1/inventory/{book_id}`. */
        SetStock: {
            /**
             * Format: int64
             * @description Units available, 0 to 1,000,000,000.
             */
            available: number;
        };
        /** @description The body of `POST /api/v1/orders/statuses`. */
        StatusBatch: {
            /** @description 1 to 100 changes, each decided on its own. */
            changes: components["schemas"]["StatusChangeRequest"][];
        };
        /** @description The answer to a batch of status changes: one outcome per change, in the order sent. */
        StatusBatchAnswer: {
            results: components["schemas"]["StatusOutcome"][];
        };
        /** @description One order's new status in a batch. */
        StatusChangeRequest: {
            order_id: components["schemas"]["OrderId"];
            /**
             * @description As for a single order: required with `failed`, else absent (1 to 64 characters, not
             *     only spaces, no control characters).
             */
            reason?: string | null;
            status: components["schemas"]["OrderStatus"];
        };
        /**
         * @description One change's outcome in a batch: the order's status as it now is (changed or, when it
         *     already had it, unchanged), or the problem the single endpoint would have answered (404, 409,
         *     422, or 503 `unavailable` when the order kept changing: try that change again), which changed
         *     nothing.
         */
        StatusOutcome: {
            order?: components["schemas"]["StatusView"] | null;
            problem?: components["schemas"]["Problem"] | null;
        };
        /** @description An order's status alone, for cheap polling. */
        StatusView: {
            id: components["schemas"]["OrderId"];
            reason?: string | null;
            status: components["schemas"]["OrderStatus"];
            /** Format: date-time */
            updated_at: string;
        };
        /** @description A book's stock as the API shows it. */
        StockView: {
            /**
             * Format: int64
             * @description Units available to order; 0 for a book inventory has never heard of.
             */
            available: number;
            book_id: string;
        };
        /**
         * @description What wrote a summary.
         * @enum {string}
         */
        SummaryMethod: "extractive" | "model";
        /** @description The body of `PUT /api/v1/books/{id}/summary`: the outcome for one document. */
        SummaryOutcome: {
            /**
             * @description The document the summary was made from; an outcome for a document since replaced is
             *     refused (409).
             */
            document_sha256: string;
            result: components["schemas"]["SummaryResult"];
        };
        /** @description How a summary attempt ended, as the worker reports it. */
        SummaryResult: {
            method: components["schemas"]["SummaryMethod"];
            /** @description The model, when `method` is `model`. */
            model?: string | null;
            /** @enum {string} */
            status: "ready";
            /** @description Plain text, 1 to 4000 characters, not only spaces. */
            text: string;
        } | {
            /** @description Why, for the admins: 1 to 500 characters, not only spaces. */
            reason: string;
            /** @enum {string} */
            status: "failed";
        };
        /**
         * @description Where a book's summary stands.
         * @enum {string}
         */
        SummaryStatus: "none" | "pending" | "ready" | "failed";
        /** @description A book's summary as the API shows it. */
        SummaryView: {
            /** @description The SHA-256 of the document it is (or will be) made from. */
            document_sha256?: string | null;
            method?: components["schemas"]["SummaryMethod"] | null;
            /** @description The model that wrote it, when a model did. */
            model?: string | null;
            /** @description Why it failed, when it did. */
            reason?: string | null;
            status: components["schemas"]["SummaryStatus"];
            /** @description The summary, plain text (never markup), when ready. */
            text?: string | null;
            /**
             * Format: date-time
             * @description When the state last changed.
             */
            updated_at?: string | null;
        };
        UpdateMeRequest: {
            current_password?: string | null;
            /** @description 1 to 100 characters, not only spaces, no control characters. */
            display_name?: string | null;
            /**
             * @description A new password, 10 to 128 characters; needs `current_password`. Ends every other session
             *     of the account; this one goes on.
             */
            new_password?: string | null;
        };
        UpdateUserRequest: {
            active?: boolean | null;
            role?: components["schemas"]["Role"] | null;
        };
        /** @description A user as the API shows it. */
        UserView: {
            active: boolean;
            /** Format: date-time */
            created_at: string;
            display_name: string;
            email: string;
            id: string;
            role: components["schemas"]["Role"];
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    jwks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description JSON Web Key Set */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginRequest"];
            };
        };
        responses: {
            /** @description Logged in; refresh cookie set */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionResponse"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Wrong email or password */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Account deactivated */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body of the wrong shape, or values that break a rule */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many attempts */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many password checks waiting; try again (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Logged out; refresh cookie cleared */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    refresh: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description New session tokens; refresh cookie rotated */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionResponse"];
                };
            };
            /** @description Missing, expired, revoked or reused refresh token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    register: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RegisterRequest"];
            };
        };
        responses: {
            /** @description Account created; refresh cookie set */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionResponse"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Email already registered */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Invalid fields */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many attempts */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many password checks waiting; try again (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_books: {
        parameters: {
            query?: {
                /**
                 * @description Part of an author's name, case-insensitive: at most 100 characters, not only spaces, no
                 *     control characters.
                 */
                author?: string;
                /** @description hardcover, paperback, ebook or audiobook. */
                format?: "hardcover" | "paperback" | "ebook" | "audiobook";
                /**
                 * @description Exact genre, case-insensitive: at most 64 characters, not only spaces, no control
                 *     characters.
                 */
                genre?: string;
                /** @description `true`: only books with units available; `false`: only those without. */
                in_stock?: boolean;
                /** @description Items per page, 1 to 100 (default 20). */
                limit?: number;
                /** @description Highest price, inclusive ("30.00"), not below `min_price`. */
                max_price?: components["schemas"]["Money"];
                /** @description Lowest price, inclusive ("10.00"). */
                min_price?: components["schemas"]["Money"];
                /** @description Page number, 1 to 10000 (default 1). */
                page?: number;
                /**
                 * @description Free text matched against title, authors and ISBN (every word must match): 1 to 10
                 *     words, at most 200 characters, no control characters.
                 */
                q?: string;
                /**
                 * @description relevance (default with `q`, and only with `q`), title (default otherwise), price_asc,
                 *     price_desc, newest.
                 */
                sort?: "relevance" | "title" | "price_asc" | "price_desc" | "newest";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BookList"];
                };
            };
            /** @description Not modified: `If-None-Match` names the current page */
            304: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid parameter */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    create_book: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BookInput"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BookView"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description ISBN already in the catalogue */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_book: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BookView"];
                };
            };
            /** @description Not modified: `If-None-Match` names the current book */
            304: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    delete_book: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No valid access token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    update_book: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BookInput"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BookView"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_cover: {
        parameters: {
            query?: {
                /** @description `small` (300 px wide, for lists) or `large` (600 px, the default). */
                size?: "small" | "large";
                /**
                 * @description The cover's version, as the book's `cover_url` carries it. With the current version the
                 *     answer may be cached for a year; without it, it is revalidated every time.
                 */
                v?: string;
            };
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The cover */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "image/jpeg": unknown;
                };
            };
            /** @description The client's copy is current */
            304: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Unknown query parameter, or a bad value */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No such book, or it has no cover */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The file store cannot be reached */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    put_cover: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": {
                    /**
                     * Format: binary
                     * @description The file. Its name and declared type are ignored.
                     */
                    file: string;
                };
            };
        };
        responses: {
            /** @description The book with its new cover */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BookView"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Larger than 5 MiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not multipart, or the file is not a JPEG, PNG or WebP image */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No file, or an image that cannot be decoded or is too large */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The file store cannot be reached */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    delete_cover: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The book has no cover (any more) */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No valid access token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_document: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The document (PDF, EPUB or UTF-8 text) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": unknown;
                };
            };
            /** @description The requested byte range */
            206: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": unknown;
                };
            };
            /** @description The client's copy is current */
            304: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The caller has not bought the book */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No such book, or it has no document */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The range starts past the end */
            416: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The file store or the orders service cannot be reached */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    put_document: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": {
                    /**
                     * Format: binary
                     * @description The file. Its name and declared type are ignored.
                     */
                    file: string;
                };
            };
        };
        responses: {
            /** @description The book with its new document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BookView"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Larger than 50 MiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not multipart, or the file is not a PDF, an EPUB or text */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No file, an empty one, or text that is not UTF-8 throughout */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The file store cannot be reached */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    delete_document: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The book has no document (any more) */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No valid access token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    store_summary: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SummaryOutcome"];
            };
        };
        responses: {
            /** @description Stored; the book with its summary */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BookView"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No service token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description A wrong service token */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The document has changed since */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    request_summary: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Asked for; the book with its summary pending */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BookView"];
                };
            };
            /** @description No valid access token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The book has no document */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    lookup_books: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Lookup"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LookupAnswer"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No ids, or more than 100 */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_stock: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id, 1 to 36 characters, no spaces or control characters */
                book_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StockView"];
                };
            };
            /** @description Invalid book id */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    set_stock: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id, 1 to 36 characters, no spaces or control characters */
                book_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SetStock"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StockView"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    adjust_stock: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Book id, 1 to 36 characters, no spaces or control characters */
                book_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AdjustStock"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StockView"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The stock would go below zero or above the maximum */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    release: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Order id, 1 to 36 characters, no spaces or control characters */
                order_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The reservation as it now stands */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReservationView"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    reserve_batch: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReservationBatch"];
            };
        };
        responses: {
            /** @description One outcome per reservation, in the order sent */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BatchAnswer"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No reservations, or more than 100 */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_orders: {
        parameters: {
            query?: {
                /** @description Items per page, 1 to 100 (default 20). */
                limit?: number;
                /** @description Page number, 1 to 10000 (default 1). */
                page?: number;
                /** @description Only orders with this status. */
                status?: components["schemas"]["OrderStatus"];
                /** @description Only this user's orders (admin; a customer only ever sees their own). */
                user_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_OrderView"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    place_order: {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 100 visible ASCII characters. The same key from the same user answers the same order. */
                "Idempotency-Key"?: string | null;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PlaceOrder"];
            };
        };
        responses: {
            /** @description Placed (or placed before with this key) */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrderView"];
                };
            };
            /** @description Malformed JSON or bad Idempotency-Key */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Idempotency-Key reused with different lines (`conflict`), or a limit of what one customer may hold or have pending reached (`order_limit`) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Invalid lines, per line */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many new orders from this customer; Retry-After says when to try again */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The catalogue cannot be reached */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_order: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Order id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrderView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No such order, or another user's */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    cancel_order: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Order id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Cancelled (or already cancelled) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrderView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No such order, or another user's */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The order can no longer be cancelled by the caller */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The order kept changing while it was being cancelled; try again (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_status: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Order id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StatusView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No such order, or another user's */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    set_status: {
        parameters: {
            query?: never;
            header?: {
                /** @description The service token of bookstore services (instead of an admin's access token) */
                "x-service-token"?: string | null;
            };
            path: {
                /** @description Order id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SetStatus"];
            };
        };
        responses: {
            /** @description The order with its new (or unchanged) status */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrderView"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Neither the service token nor an admin */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not a transition this caller may make from the current status */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The order kept changing while its status was being set; try again (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    bought_order: {
        parameters: {
            query: {
                /** @description The book the order must contain. */
                book_id: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrderView"];
                };
            };
            /** @description Missing book_id */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The caller has not bought that book */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    pending_order: {
        parameters: {
            query: {
                /** @description The book the order must contain. */
                book_id: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrderView"];
                };
            };
            /** @description Missing book_id */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No pending order with that book */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    set_statuses: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["StatusBatch"];
            };
        };
        responses: {
            /** @description One outcome per change, in the order sent */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StatusBatchAnswer"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No changes, or more than 100 */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    list_users: {
        parameters: {
            query?: {
                /** @description Only active (`true`) or deactivated (`false`) users. */
                active?: boolean;
                /** @description Items per page, 1 to 100 (default 20). */
                limit?: number;
                /** @description Page number, 1 to 10000 (default 1). */
                page?: number;
                /** @description Part of the email address, without control characters. */
                q?: string;
                /** @description Only users with this role (`customer` or `admin`). */
                role?: components["schemas"]["Role"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_UserView"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    update_user: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description User id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateUserRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserView"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No valid access token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Changing one's own account */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body of the wrong shape, or values that break a rule */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    get_me: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserView"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Account deactivated */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    update_me: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateMeRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserView"];
                };
            };
            /** @description Malformed JSON, or another bad request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body larger than the route's limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Body not sent as application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many current-password checks for this user */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unexpected server error (opaque, with a trace id) */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many password checks waiting; try again (Retry-After) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description The request took longer than the request timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
}
