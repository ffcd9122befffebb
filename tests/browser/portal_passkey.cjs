// The care-team portal in a real browser: Debian's Chromium, headless, driven by
// playwright-core, with Chromium's virtual WebAuthn authenticator (a platform passkey with
// user verification). Opens an invite link, registers a passkey, signs out, signs in again
// with the passkey, and fails on any Content-Security-Policy violation or page error.
//
//   NODE_PATH=DIR/node_modules node tests/browser/portal_passkey.cjs BASE_URL TOKEN [CHROMIUM]
//
// BASE_URL is http://localhost:PORT. Prints one JSON line {"ok":true,...} on success.
"use strict";

const { chromium } = require("playwright-core");

async function main() {
  const [base, token, executable] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: executable || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  const problems = [];
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") problems.push("console: " + m.text());
    });
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(r.status() + " " + r.url());
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    await page.goto(base + "/portal/invite/" + token);
    await page.click("#register");
    await page.waitForURL(base + "/portal/", { timeout: 15000 });
    const registered = await page.textContent(".who");

    await page.click("#signout");
    await page.waitForURL(base + "/portal/signin", { timeout: 15000 });
    const afterSignOut = await page.request.get(base + "/portal/api/session");

    await page.click("#signin");
    await page.waitForURL(base + "/portal/", { timeout: 15000 });
    const signedIn = await page.textContent(".who");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });

    if (problems.length) throw new Error(problems.join("; "));
    console.log(
      JSON.stringify({
        ok: true,
        registered: registered.trim(),
        signed_out_status: afterSignOut.status(),
        signed_in: signedIn.trim(),
        credentials: credentials.length,
        resident: credentials.every((c) => c.isResidentCredential),
      })
    );
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
