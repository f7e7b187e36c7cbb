// Names for the generated schema types, so that features import `Book` rather than
// `components["schemas"]["BookView"]`. Nothing here is written by hand: every type is an alias.
import type { components, operations } from "./schema";

type Schemas = components["schemas"];

export type Book = Schemas["BookView"];
export type BookInput = Schemas["BookInput"];
export type BookPage = Schemas["Page_BookView"];
export type DocumentKind = Schemas["DocumentKind"];
export type Format = Schemas["Format"];
export type GenreCount = Schemas["GenreCount"];
export type Order = Schemas["OrderView"];
export type OrderPage = Schemas["Page_OrderView"];
export type OrderStatus = Schemas["OrderStatus"];
export type OrderLine = Schemas["OrderLineView"];
export type Problem = Schemas["Problem"];
export type Role = Schemas["Role"];
export type Session = Schemas["SessionResponse"];
export type Stock = Schemas["StockView"];
export type Summary = Schemas["SummaryView"];
export type SummaryMethod = Schemas["SummaryMethod"];
export type SummaryStatus = Schemas["SummaryStatus"];
export type User = Schemas["UserView"];
export type UserPage = Schemas["Page_UserView"];
export type UpdateMe = Schemas["UpdateMeRequest"];
export type BookListQuery = NonNullable<operations["list_books"]["parameters"]["query"]>;
export type OrderListQuery = NonNullable<operations["list_orders"]["parameters"]["query"]>;
export type UserListQuery = NonNullable<operations["list_users"]["parameters"]["query"]>;

export const FORMATS: readonly Format[] = ["hardcover", "paperback", "ebook", "audiobook"];
export const ORDER_STATUSES: readonly OrderStatus[] = [
  "pending",
  "completed",
  "failed",
  "cancelled",
  "shipped",
  "delivered",
];
