import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { mockFetch, problem, renderAt } from "../../testing/test-utils";
import { LoginPage } from "./LoginPage";
import { SignupPage } from "./SignupPage";

describe("sign-up and log-in forms", () => {
  it("shows each field's problem next to the field it names", async () => {
    mockFetch(() =>
      problem(422, "validation_failed", {
        errors: { email: ["is not an email address"], password: ["must be at least 10 characters"] },
      }),
    );
    const user = userEvent.setup();
    renderAt(<SignupPage />, { path: "/signup" });
    await user.type(screen.getByLabelText("Email"), "ada");
    await user.type(screen.getByLabelText("Password"), "short");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    const email = screen.getByLabelText("Email");
    expect(await screen.findByText("Is not an email address.")).toBeInTheDocument();
    expect(email).toHaveAttribute("aria-invalid", "true");
    expect(email).toHaveAccessibleDescription("Is not an email address.");
    expect(screen.getByLabelText("Password")).toHaveAccessibleDescription("Must be at least 10 characters.");
    expect(screen.getByRole("alert")).toHaveTextContent("Some of what you entered needs another look.");
  });

  it("says in words why a log-in failed", async () => {
    mockFetch(() => problem(401, "invalid_credentials"));
    const user = userEvent.setup();
    renderAt(<LoginPage />, { path: "/login" });
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "wrong password");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("That email and password do not match an account.");
  });
});
