// The admin area: its own chunk, downloaded only when someone opens /admin.
import { Navigate, Route, Routes } from "react-router";
import { NotFoundPage } from "../../app/NotFoundPage";
import { RequireAuth } from "../auth/RequireAuth";
import { AdminEditBookPage, AdminNewBookPage } from "./AdminBookFormPage";
import { AdminBooksPage } from "./AdminBooksPage";
import { AdminLayout } from "./AdminLayout";
import { AdminOrdersPage } from "./AdminOrdersPage";
import { AdminUsersPage } from "./AdminUsersPage";

export default function AdminApp() {
  return (
    <RequireAuth role="admin">
      <Routes>
        <Route element={<AdminLayout />}>
          <Route index element={<Navigate to="/admin/books" replace />} />
          <Route path="books" element={<AdminBooksPage />} />
          <Route path="books/new" element={<AdminNewBookPage />} />
          <Route path="books/:id" element={<AdminEditBookPage />} />
          <Route path="orders" element={<AdminOrdersPage />} />
          <Route path="users" element={<AdminUsersPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Routes>
    </RequireAuth>
  );
}
