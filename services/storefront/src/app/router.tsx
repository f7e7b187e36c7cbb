import { lazy } from "react";
import { createBrowserRouter, type RouteObject } from "react-router";
import { BookPage } from "../features/book/BookPage";
import { CartPage } from "../features/cart/CartPage";
import { CataloguePage } from "../features/catalogue/CataloguePage";
import { LoginPage } from "../features/auth/LoginPage";
import { RequireAuth } from "../features/auth/RequireAuth";
import { SignupPage } from "../features/auth/SignupPage";
import { Layout } from "./Layout";
import { NotFoundPage } from "./NotFoundPage";

// Pages a visitor rarely opens first come as separate chunks.
const AdminApp = lazy(() => import("../features/admin/AdminApp"));
const CheckoutPage = lazy(() => import("../features/checkout/CheckoutPage").then((m) => ({ default: m.CheckoutPage })));
const OrderPage = lazy(() => import("../features/orders/OrderPage").then((m) => ({ default: m.OrderPage })));
const MyOrdersPage = lazy(() => import("../features/orders/MyOrdersPage").then((m) => ({ default: m.MyOrdersPage })));
const ProfilePage = lazy(() => import("../features/profile/ProfilePage").then((m) => ({ default: m.ProfilePage })));

export const routes: RouteObject[] = [
  {
    element: <Layout />,
    children: [
      { index: true, element: <CataloguePage /> },
      { path: "books/:id", element: <BookPage /> },
      { path: "cart", element: <CartPage /> },
      { path: "login", element: <LoginPage /> },
      { path: "signup", element: <SignupPage /> },
      { path: "checkout", element: <RequireAuth><CheckoutPage /></RequireAuth> },
      { path: "orders", element: <RequireAuth><MyOrdersPage /></RequireAuth> },
      { path: "orders/:id", element: <RequireAuth><OrderPage /></RequireAuth> },
      { path: "profile", element: <RequireAuth><ProfilePage /></RequireAuth> },
      { path: "admin/*", element: <AdminApp /> },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
